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
