// The Swift entry points trap.S calls: a trap from a guest (Trap.swift), and a trap in the hypervisor itself.
import CArch

@_cdecl("bulkhead_trap")
func archGuestTrap(_ raw: UnsafeMutablePointer<hart_frame_t>) -> UnsafeMutablePointer<hart_frame_t> {
    guestTrap(TrapFrame(pointer: raw))
    return raw
}

@_cdecl("bulkhead_fatal_trap")
func archHypervisorTrap() { hypervisorTrap() }
