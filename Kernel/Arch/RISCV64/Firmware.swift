// Calls from the hypervisor down to the SBI firmware (OpenSBI): IPIs, hart start, timer, reset.
import BulkheadCore
import CArch

enum Firmware {
    @inline(__always) static func call(_ eid: UInt64, _ fid: UInt64, _ a0: UInt64 = 0, _ a1: UInt64 = 0,
                                       _ a2: UInt64 = 0) -> SBIResult {
        let r = arch_sbi_call(eid, fid, a0, a1, a2, 0, 0, 0)
        return SBIResult(error: r.error, value: r.value)
    }
    /// SBI HSM hart_start for a physical hart (SBI spec v2.0 §9.1).
    static func startHart(_ hart: UInt64, at address: UInt64) -> Int64 {
        call(0x48534D, 0, hart, address, 0).error
    }
    /// SBI IPI send_ipi to one physical hart (SBI spec v2.0 §7.1).
    static func sendIPI(toHart hart: UInt64) {
        _ = call(0x735049, 0, 1, hart)
    }
    /// One byte to the firmware's console, for when the device tree names no UART the hypervisor
    /// drives (or before it is read): SBI DBCN console_write_byte (SBI spec v2.0 §12.3), else the
    /// legacy console_putchar (§5.2) of firmware older than DBCN.
    static func consoleWrite(_ byte: UInt8) {
        if call(0x4442434E, 2, UInt64(byte)).error != 0 { _ = call(0x01, 0, UInt64(byte)) }
    }
    /// SBI TIME set_timer (SBI spec v2.0 §6.1): programs this hart's supervisor timer.
    static func setTimer(_ deadline: UInt64) { _ = call(0x54494D45, 0, deadline) }
    /// SBI SRST system_reset (SBI spec v2.0 §10.1): type 0 = shutdown; reason 1 = system failure.
    static func shutdown(failure: Bool) -> Never {
        _ = call(0x53525354, 0, 0, failure ? 1 : 0)
        while true { arch_wfi() }
    }
    static func machineIDs() -> (vendor: UInt64, arch: UInt64, implementation: UInt64) {
        (call(0x10, 4).value, call(0x10, 5).value, call(0x10, 6).value)
    }
}
