// Fake arch: the SBI firmware below the hypervisor, its calls recorded in FakeMachine.
import BulkheadCore

enum Firmware {
    /// Any other SBI call: the fake firmware has no such extension.
    static func call(_ eid: UInt64, _ fid: UInt64, _ a0: UInt64 = 0, _ a1: UInt64 = 0, _ a2: UInt64 = 0) -> SBIResult {
        .failure(.notSupported)
    }
    static func startHart(_ hart: UInt64, at address: UInt64) -> Int64 { SBIError.notSupported.rawValue }
    static func sendIPI(toHart hart: UInt64) {
        FakeMachine.current.record(.firmwareIPI(hart: Int(hart)))
        FakeMachine.current.sendIPI(toHart: Int(hart))
    }
    static func consoleWrite(_ byte: UInt8) { FakeMachine.current.consoleWrite(byte) }
    static func setTimer(_ deadline: UInt64) { FakeMachine.current.record(.firmwareTimer(hart: FakeMachine.currentHart, deadline: deadline)) }
    static func shutdown(failure: Bool) -> Never {
        FakeMachine.current.record(.firmwareShutdown(failure: failure))
        while true { FakeMachine.current.waitForInterrupt(Limits.harts) }
    }
    static func machineIDs() -> (vendor: UInt64, arch: UInt64, implementation: UInt64) { (0, 0, 0) }
}
