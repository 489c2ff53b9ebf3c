// The hypervisor's own Sv39 table (HS-mode satp): identity mappings with per-region permissions.
//
// RISC-V privileged spec §12.4 (Sv39): three levels, 4 KiB tables, 39-bit virtual addresses whose
// bits 63:39 equal bit 38. The hypervisor maps host-physical addresses to themselves, so only
// addresses below 2^38 can be mapped (bit 38 clear), and a walk is the same as Sv39x4's for them
// (GStageTable.mapChecked): the root is the first 512 entries of what would be an Sv39x4 root.
// Leaves are supervisor pages (U=0), global, with A and D set. What is not mapped faults.

public struct HostPageTable: Equatable, Sendable {
    /// satp.MODE for Sv39 (privileged spec §12.1.11).
    public static let sv39Mode: UInt64 = 8
    /// One past the highest address an identity mapping can reach.
    public static let addressLimit: UInt64 = 1 << 38

    public let root: HostPhysAddr

    /// Allocates an empty root table (4 KiB).
    public static func create<M: PageTableMemory>(memory: inout M) throws(PagingError) -> HostPageTable {
        guard let root = memory.allocate(bytes: Sv39x4.tableSize, alignment: Sv39x4.tableSize) else {
            throw .outOfTableMemory
        }
        guard PTE.pageNumber(root) != nil else { throw .unusableTableMemory }
        return HostPageTable(root: root)
    }

    /// Maps `region` to itself with `permissions`, with the largest pages its alignment allows,
    /// after checking that no part of it is mapped.
    public func map<M: PageTableMemory>(_ region: HostRegion, _ permissions: PagePermissions, memory: inout M) throws(PagingError) {
        guard region.size > 0 else { throw .emptyRange }
        guard region.base.isAligned(to: PageSize.base), region.size % PageSize.base == 0 else { throw .misaligned }
        guard permissions.isValidLeaf else { throw .invalidPermissions }
        let (end, overflow) = region.base.raw.addingReportingOverflow(region.size)
        guard !overflow, end <= Self.addressLimit else { throw .virtualAddressTooLarge }
        try GStageTable.mapChecked(root: root, from: region.base.raw, to: end, host: region.base.raw, leaf: { (h) -> PTE? in
            PTE.hostLeaf(address: h, permissions: permissions)
        }, memory: &memory)
    }

    /// The satp value that selects this table (Sv39, ASID 0).
    public var satp: UInt64 { Self.sv39Mode << 60 | root.raw >> 12 }

    /// The permissions and page size an HS-mode access to `address` finds, as the hardware walks
    /// the table; `nil` when it would take a page fault.
    public func translate<M: PageTableMemory>(_ address: UInt64, memory: M) -> (permissions: PagePermissions, pageSize: UInt64)? {
        guard address < Self.addressLimit else { return nil }
        var table = root
        var level = 2
        while true {
            let entry = PTE(raw: memory.load(GStageTable.entryAddress(table: table, guest: address, level: level)))
            guard entry.v, entry[PTE.Reserved] == 0, entry.r || !entry.w else { return nil }
            if entry.isLeaf {
                let size = Sv39x4.pageSize(level: level)
                guard !entry.u, entry.address.isAligned(to: size),
                      entry.address.raw == Sv39x4.offset(level: level).insert(0, into: address) else { return nil }
                return (entry.permissions, size)
            }
            guard level > 0 else { return nil }
            table = entry.address
            level -= 1
        }
    }
}
