// htval and htinst: the faulting guest-physical address and the (transformed) trapping instruction.

/// `htval`: on a guest-page fault, zero or the faulting guest-physical address shifted right by 2.
public struct Htval: RegisterValue {
    public var raw: UInt64
    @inline(__always) public init(raw: UInt64) { self.raw = raw }

    /// Whether the hardware reported an address (it may write zero instead).
    public var hasAddress: Bool { raw != 0 }

    /// The faulting guest-physical address: `htval << 2 | stval & 3`. For faults of implicit
    /// VS-stage accesses (`htinst.isImplicitVSStageAccess`) the two low bits are zero instead.
    /// `nil` when htval is zero (no address reported).
    public func guestPhysicalAddress(stval: UInt64, htinst: Htinst = Htinst(raw: 0)) -> GuestPhysAddr? {
        guard hasAddress else { return nil }
        let low = htinst.isImplicitVSStageAccess ? 0 : stval & 3
        return GuestPhysAddr((raw << 2) | low)
    }
}

/// `htinst`: zero, a transformed standard instruction, a custom value, or a pseudoinstruction.
public struct Htinst: RegisterValue {
    public var raw: UInt64
    @inline(__always) public init(raw: UInt64) { self.raw = raw }

    /// The spec's pseudoinstruction values for guest-page faults of implicit VS-stage accesses.
    public enum Pseudoinstruction: UInt64, Sendable {
        /// 32-bit read for VS-stage address translation (VSXLEN=32).
        case read32 = 0x0000_2000
        /// 32-bit write (A/D update) for VS-stage address translation (VSXLEN=32).
        case write32 = 0x0000_2020
        /// 64-bit read for VS-stage address translation (VSXLEN=64).
        case read64 = 0x0000_3000
        /// 64-bit write (A/D update) for VS-stage address translation (VSXLEN=64).
        case write64 = 0x0000_3020
    }

    /// Bits 1:0 of a value: 11 for a transformed 32-bit instruction, 01 for a transformed compressed
    /// one, 00 for a pseudoinstruction.
    public static let Size = BitField(bits: 1, 0)
    /// Bits 63:32: zero for every value the spec defines today.
    public static let Upper = BitField(bits: 63, 32)

    public var isZero: Bool { raw == 0 }

    public var pseudoinstruction: Pseudoinstruction? { Pseudoinstruction(rawValue: raw) }

    /// The fault came from reading or updating a VS-level page table, not from the instruction.
    public var isImplicitVSStageAccess: Bool { pseudoinstruction != nil }

    /// The 32-bit encoding of the (transformed) trapping standard instruction, with bit 1 set as
    /// the spec says to; `nil` unless bit 0 is 1 and bits 63:32 are zero. The result is only a hint:
    /// callers still decode and validate it (and QEMU's htinst is unreliable on some faults).
    public var transformedInstruction: UInt32? {
        guard self[Self.Upper] == 0, raw & 1 == 1 else { return nil }
        return UInt32(truncatingIfNeeded: raw) | 0b10
    }

    /// The trapping instruction was compressed (bits 1:0 are 01).
    public var wasCompressed: Bool { self[Self.Upper] == 0 && self[Self.Size] == 0b01 }
}
