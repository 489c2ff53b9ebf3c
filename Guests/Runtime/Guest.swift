// The guest's own lifecycle: vCPU entry for HSM, power off / reboot, parking, the unexpected-trap
// report, and raw memory accesses that are never optimised away.

import GuestArch

public enum Guest {
    /// Where SBI HSM hart_start should enter: crt0's `_secondary_start`, which calls the guest's
    /// `@_cdecl("guest_secondary") func(vcpu: UInt, opaque: UInt)`.
    public static var secondaryEntry: UInt64 { guest_secondary_entry() }

    /// `instret` read by the image's first instruction (0 unless the image records it; see bench).
    public static var firstInstret: UInt64 { guest_first_instret_value() }

    /// Powers the partition off through SRST; if that fails, reports the error and parks.
    public static func shutdown(reason: SBI.ResetReason = .none) -> Never {
        let result = SBI.systemReset(.shutdown, reason: reason)
        reportResetFailure(result)
    }

    /// Cold-reboots the partition through SRST; if that fails, reports the error and parks.
    public static func reboot() -> Never {
        let result = SBI.systemReset(.coldReboot)
        reportResetFailure(result)
    }

    private static func reportResetFailure(_ result: SBIResult) -> Never {
        Console.line { $0.write("system_reset failed, error "); $0.write(signed: result.error) }
        park()
    }

    /// Stops this vCPU for good: `wfi` with every interrupt disabled.
    public static func park() -> Never {
        guest_clear_sie(UInt64.max)
        while true { guest_wfi() }
    }
}

/// Exactly one load or store at a guest-physical address, with no check at all: for guests that
/// probe their isolation (a plain pointer access may be merged, moved or removed).
public enum RawMemory {
    public static func load64(_ address: UInt64) -> UInt64 { guest_load64(address) }
    public static func store64(_ address: UInt64, _ value: UInt64) { guest_store64(address, value) }
    public static func store8(_ address: UInt64, _ value: UInt8) { guest_store8(address, value) }
    public static func load32(_ address: UInt64) -> UInt32 { guest_load32(address) }
    public static func store32(_ address: UInt64, _ value: UInt32) { guest_store32(address, value) }
}

/// crt0's trap vector lands here: a guest takes no traps on purpose, so any trap is a bug.
@_cdecl("guest_trap")
func guestTrap(scause: UInt, sepc: UInt, stval: UInt) {
    Console.line {
        $0.write("unexpected trap: scause "); $0.write(hex: UInt64(scause))
        $0.write(" sepc "); $0.write(hex: UInt64(sepc))
        $0.write(" stval "); $0.write(hex: UInt64(stval))
    }
    Guest.shutdown(reason: .systemFailure)
}
