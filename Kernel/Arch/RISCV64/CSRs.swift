// This hart's CSRs as the rest of the kernel uses them, typed (privileged spec: "Supervisor-Level ISA", "Hypervisor Extension").
import BulkheadCore
import CArch

enum HartCSR {
    /// scause: why the trap was taken.
    static var scause: Scause { Scause(raw: csr_read_scause()) }
    /// stval: the faulting address or instruction bits of the trap.
    static var stval: UInt64 { csr_read_stval() }
    /// htval: a guest-page fault's guest-physical address, shifted right by 2.
    static var htval: Htval { Htval(raw: csr_read_htval()) }
    /// sepc: where the guest resumes.
    static var sepc: UInt64 {
        get { csr_read_sepc() }
        set { csr_write_sepc(newValue) }
    }
    /// vsatp: the guest's own address translation.
    static var vsatp: UInt64 { csr_read_vsatp() }
    /// time (Zicntr), in timebase ticks.
    static var time: UInt64 { csr_read_time() }

    /// sie: the hypervisor interrupts this hart takes (replaces the whole set).
    static func enableInterrupts(_ set: InterruptSet) { csr_write_sie(set.raw) }
    /// sip: acknowledges pending supervisor interrupts (only SSIP is writable there).
    static func clearPending(_ set: InterruptSet) { csr_clear_sip(set.raw) }
    /// hvip: raises interrupts in the guest.
    static func raiseVirtual(_ set: InterruptSet) { csr_set_hvip(set.raw) }
    /// hvip: withdraws interrupts from the guest.
    static func lowerVirtual(_ set: InterruptSet) { csr_clear_hvip(set.raw) }
    /// vstimecmp (Sstc): the guest's timer deadline.
    static func setGuestTimer(_ deadline: UInt64) { csr_write_vstimecmp(deadline) }
    /// stvec: traps go to trap.S's vector.
    static func installTrapVector() { csr_write_stvec(trap_vector_address()) }
}
