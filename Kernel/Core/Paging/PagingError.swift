// Every way building or extending a G-stage table can fail.

/// A G-stage mapping failure. No error leaves a mapping half-checked: overlap and argument errors
/// are found before anything is written. Only `outOfTableMemory` and `unusableTableMemory` can
/// leave part of a request mapped; the table must then be discarded.
public enum PagingError: Error, Equatable, Sendable {
    /// The size is zero.
    case emptyRange
    /// The guest address, host address or size is not a multiple of 4 KiB.
    case misaligned
    /// The guest range reaches beyond the 41-bit Sv39x4 guest-physical space.
    case guestAddressTooLarge
    /// An identity mapping of the hypervisor's Sv39 table reaches 2^38, where Sv39's virtual
    /// addresses stop being equal to the physical ones (bit 38 is sign-extended).
    case virtualAddressTooLarge
    /// The host range reaches beyond the 56-bit physical space a PTE can name.
    case hostAddressTooLarge
    /// No R and no X, or W without R (a reserved encoding).
    case invalidPermissions
    /// Part of the range is already mapped; the first such guest address.
    case overlap(GuestPhysAddr)
    /// The page-table memory is exhausted.
    case outOfTableMemory
    /// The page-table memory returned a block that is misaligned or beyond the 56-bit physical
    /// space a PTE (or hgatp) can name.
    case unusableTableMemory
    /// The VMID does not fit hgatp's 14-bit field.
    case invalidVMID
    /// A non-leaf entry where the format allows none (at the last level): the table is corrupt.
    case corruptTable(GuestPhysAddr)
}

extension PagingError {
    /// One line saying what went wrong, for the boot log.
    public func write<S: TextSink>(to out: inout S) {
        switch self {
        case .emptyRange: out.write("an empty range")
        case .misaligned: out.write("a range that is not page aligned")
        case .guestAddressTooLarge: out.write("a guest-physical range beyond 2^41")
        case .virtualAddressTooLarge: out.write("a range at or beyond 2^38, which Sv39 cannot map to itself")
        case .hostAddressTooLarge: out.write("a physical range beyond 2^56")
        case .invalidPermissions: out.write("an invalid permission encoding")
        case .overlap(let a): out.write("two mappings overlap at "); out.write(hex: a.raw)
        case .outOfTableMemory: out.write("the page-table memory is exhausted")
        case .unusableTableMemory: out.write("the page-table memory is not usable for tables")
        case .invalidVMID: out.write("a VMID wider than 14 bits")
        case .corruptTable(let a): out.write("a corrupt table entry at "); out.write(hex: a.raw)
        }
    }
}
