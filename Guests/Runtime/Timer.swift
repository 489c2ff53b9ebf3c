// Time for guests: the `time` counter and sleeping on the SBI timer without a trap handler.
//
// sleep: set_timer(deadline), enable sie.STIE, take the timer interrupt (guest_wait_interrupt in
// crt0.S returns from the trap without a full handler), then set_timer(UInt64.max) clears it.

import GuestArch

public enum Timer {
    /// The `time` counter frequency on QEMU virt (10 MHz); the device tree's /cpus
    /// timebase-frequency is authoritative (`BootInfo.timebaseFrequency`).
    public static let defaultFrequency: UInt64 = 10_000_000
    static let supervisorTimerBit: UInt64 = 1 << 5      // sie.STIE / sip.STIP
    static let timerInterruptCause: UInt64 = 1 << 63 | 5  // scause of a supervisor timer interrupt

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
        while now() < deadline {
            let cause = guest_wait_interrupt()
            if cause != timerInterruptCause { guestTrap(scause: UInt(cause), sepc: 0, stval: 0) }
        }
        guest_clear_sie(supervisorTimerBit)
        _ = SBI.setTimer(UInt64.max)
    }
}
