// Time for guests: the `time` counter and sleeping on the SBI timer without a trap handler.
//
// sleep: set_timer(deadline), enable sie.STIE while sstatus.SIE stays 0, and `wfi` until sip.STIP
// is set (wfi wakes on a pending enabled interrupt even when SIE = 0, and no trap is taken); then
// set_timer(UInt64.max) clears the pending interrupt. Under Bulkhead the guest sees its vsie/vsip.

import GuestArch

public enum Timer {
    /// The `time` counter frequency on QEMU virt (10 MHz); the device tree's /cpus
    /// timebase-frequency is authoritative (`BootInfo.timebaseFrequency`).
    public static let defaultFrequency: UInt64 = 10_000_000
    static let supervisorTimerBit: UInt64 = 1 << 5      // sie.STIE / sip.STIP

    /// The `time` CSR.
    @inline(__always) public static func now() -> UInt64 { guest_read_time() }

    /// Sleeps for `ticks` ticks of `time`.
    public static func sleep(ticks: UInt64) { sleep(until: now() &+ ticks) }

    /// Sleeps until `time` >= `deadline` (returns at once if it already is).
    public static func sleep(until deadline: UInt64) {
        guard SBI.setTimer(deadline).succeeded else {
            while now() < deadline {}            // no SBI timer: spin
            return
        }
        guest_set_sie(supervisorTimerBit)
        while guest_read_sip() & supervisorTimerBit == 0 { guest_wfi() }
        guest_clear_sie(supervisorTimerBit)
        _ = SBI.setTimer(UInt64.max)
    }
}
