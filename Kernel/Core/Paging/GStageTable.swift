// The G-stage (Sv39x4) table of one partition: build it, map ranges, walk it, give its hgatp.
//
// Invariants: the root is 16 KiB and 16 KiB-aligned (2048 entries); every other table is 4 KiB
// (512 entries); leaves always have U=1, A=1, D=1, G=0 and a valid R/W/X encoding; a range is
// mapped only after the whole range was checked to be unmapped. Tables are never freed.

/// The guest-physical address layout of Sv39x4: a 41-bit address split like an Sv39 virtual
/// address, with VPN[2] widened by 2 bits.
public enum Sv39x4 {
    /// Guest-physical addresses are 41 bits wide; bits 63:41 must be zero.
    public static let addressBits: UInt64 = 41
    /// One past the highest guest-physical address.
    public static let addressLimit: UInt64 = 1 << 41
    /// One past the highest physical address a PTE can name (56-bit physical addresses).
    public static let physicalLimit: UInt64 = 1 << 56

    public static let VPN2 = BitField(bits: 40, 30)
    public static let VPN1 = BitField(bits: 29, 21)
    public static let VPN0 = BitField(bits: 20, 12)
    public static let PageOffset = BitField(bits: 11, 0)

    /// Root table: 2048 entries, 16 KiB, 16 KiB-aligned.
    public static let rootEntries: UInt64 = 2048
    public static let rootSize: UInt64 = 0x4000
    /// Every other table: 512 entries, 4 KiB.
    public static let tableEntries: UInt64 = 512
    public static let tableSize: UInt64 = 0x1000
    public static let entrySize: UInt64 = 8

    /// The VPN field indexing the table at `level` (2 = root).
    @inline(__always) public static func vpn(level: Int) -> BitField {
        level >= 2 ? VPN2 : (level == 1 ? VPN1 : VPN0)
    }

    /// Bytes mapped by a leaf at `level`: 1 GiB, 2 MiB or 4 KiB.
    @inline(__always) public static func pageSize(level: Int) -> UInt64 {
        level >= 2 ? PageSize.giga : (level == 1 ? PageSize.mega : PageSize.base)
    }

    /// The in-page offset bits of a leaf at `level`.
    @inline(__always) public static func offset(level: Int) -> BitField {
        BitField(bits: VPN0.low &+ 9 &* UInt64(level) &- 1, 0)
    }
}

/// What one guest-physical address translates to.
public struct GStageTranslation: Equatable, Sendable {
    public var host: HostPhysAddr
    public var permissions: PagePermissions
    /// Size of the leaf that maps it: `PageSize.base`, `.mega` or `.giga`.
    public var pageSize: UInt64
    public init(host: HostPhysAddr, permissions: PagePermissions, pageSize: UInt64) {
        self.host = host; self.permissions = permissions; self.pageSize = pageSize
    }
}

/// One partition's G-stage translation: its root table and VMID. The tables themselves live in
/// a `PageTableMemory`, passed to each operation.
public struct GStageTable: Equatable, Sendable {
    public let root: HostPhysAddr
    public let vmid: UInt16

    /// Adopts an existing root. `nil` when `root` is not 16 KiB-aligned or beyond the 56-bit
    /// physical space, or `vmid` does not fit in 14 bits.
    public init?(root: HostPhysAddr, vmid: UInt16) {
        guard Hgatp(sv39x4Root: root, vmid: vmid) != nil else { return nil }
        self.root = root
        self.vmid = vmid
    }

    /// Allocates an empty (all-invalid) root table.
    public static func create<M: PageTableMemory>(vmid: UInt16, memory: inout M) throws(PagingError) -> GStageTable {
        guard vmid <= Hgatp.maxVMID else { throw .invalidVMID }
        guard let root = memory.allocate(bytes: Sv39x4.rootSize, alignment: Sv39x4.rootSize) else {
            throw .outOfTableMemory
        }
        guard let table = GStageTable(root: root, vmid: vmid) else { throw .unusableTableMemory }
        return table
    }

    /// The table mapping guest-physical `spec.ramBase ..< +spec.memory.size` to the partition's RAM
    /// at `spec.memory.base`, read/write/execute, with the largest pages the alignment allows; and
    /// each device partition `partition` owns in `devices` at its own address (guest-physical =
    /// host-physical), read/write, never executable. Nothing else: any other access faults.
    public static func buildPartition<M: PageTableMemory>(
        spec: PartitionSpec, devices: DeviceTable = DeviceTable(), partition: Int = 0, vmid: UInt16, memory: inout M
    ) throws(PagingError) -> GStageTable {
        let table = try create(vmid: vmid, memory: &memory)
        try table.map(guest: spec.ramBase, host: spec.memory.base, size: spec.memory.size,
                      permissions: .readWriteExecute, memory: &memory)
        var d = 0
        while d < devices.count {
            let device = devices[d]
            if Int(device.owner) == partition {
                try table.map(guest: device.guestAddress, host: device.region.base, size: device.region.size,
                              permissions: .readWrite, memory: &memory)
            }
            d += 1
        }
        return table
    }

    /// The Sv39x4 `hgatp` value selecting this table with its VMID.
    public var hgatp: Hgatp {
        // init(root:vmid:) and create() only admit values Hgatp accepts.
        Hgatp(sv39x4Root: root, vmid: vmid) ?? .bare
    }

    /// The Sv39x4 `hgatp` value selecting this table under another VMID; `nil` above 14 bits.
    public func hgatp(vmid: UInt16) -> Hgatp? { Hgatp(sv39x4Root: root, vmid: vmid) }

    // MARK: Mapping

    /// Maps `guest ..< guest + size` to `host ..< host + size`, using at each step the largest
    /// page (1 GiB, 2 MiB, 4 KiB) to which both addresses are aligned and that fits in what remains.
    /// Checks every argument and that no part of the range is mapped before writing anything.
    public func map<M: PageTableMemory>(
        guest: GuestPhysAddr, host: HostPhysAddr, size: UInt64,
        permissions: PagePermissions, memory: inout M
    ) throws(PagingError) {
        guard size > 0 else { throw .emptyRange }
        guard guest.isAligned(to: PageSize.base), host.isAligned(to: PageSize.base),
              size % PageSize.base == 0 else { throw .misaligned }
        guard permissions.isValidLeaf else { throw .invalidPermissions }
        let (guestEnd, guestOverflow) = guest.raw.addingReportingOverflow(size)
        guard !guestOverflow, guestEnd <= Sv39x4.addressLimit else { throw .guestAddressTooLarge }
        let (hostEnd, hostOverflow) = host.raw.addingReportingOverflow(size)
        guard !hostOverflow, hostEnd <= Sv39x4.physicalLimit else { throw .hostAddressTooLarge }

        try Self.mapChecked(root: root, from: guest.raw, to: guestEnd, host: host.raw, leaf: { (h) -> PTE? in
            PTE.gStageLeaf(address: h, permissions: permissions)
        }, memory: &memory)
    }

    /// Maps `start ..< end` (page aligned, below 2^41) to `host ...` in the tables under `root`,
    /// with the leaves `leaf` encodes, after checking that none of it is mapped. Shared with the
    /// hypervisor's own table (HostPageTable: Sv39 walks an address below 2^39 exactly as Sv39x4
    /// does, through the first 512 root entries).
    static func mapChecked<M: PageTableMemory>(
        root: HostPhysAddr, from start: UInt64, to end: UInt64, host: UInt64,
        leaf: (HostPhysAddr) -> PTE?, memory: inout M
    ) throws(PagingError) {
        try requireUnmapped(root: root, from: start, to: end, memory: memory)
        var g = start
        var h = host
        while g < end {
            var level = Self.largestLevel(guest: g, host: h, remaining: end &- g)
            var table = root
            var current = 2
            while true {
                let slot = Self.entryAddress(table: table, guest: g, level: current)
                let entry = PTE(raw: memory.load(slot))
                if current == level {
                    if entry.isTable && level > 0 {
                        // A table already covers this slot (none of its leaves lie in the range,
                        // as checked above): use smaller pages inside it.
                        level -= 1
                        table = entry.address
                        current -= 1
                        continue
                    }
                    guard !entry.v else { throw .overlap(GuestPhysAddr(g)) }
                    guard let leaf = leaf(HostPhysAddr(h)) else { throw .hostAddressTooLarge }
                    memory.store(leaf.raw, at: slot)
                    break
                }
                if entry.isTable {
                    table = entry.address
                } else if entry.v {
                    throw entry.isLeaf ? .overlap(GuestPhysAddr(g)) : .corruptTable(GuestPhysAddr(g))
                } else {
                    table = try Self.newTable(at: slot, memory: &memory)
                }
                current -= 1
            }
            let step = Sv39x4.pageSize(level: level)
            g &+= step
            h &+= step
        }
    }

    /// Throws `.overlap` at the first mapped address in `start ..< end`. No side effects.
    static func requireUnmapped<M: PageTableMemory>(root: HostPhysAddr, from start: UInt64, to end: UInt64, memory: M) throws(PagingError) {
        var g = start
        while g < end {
            var table = root
            var level = 2
            while true {
                let entry = PTE(raw: memory.load(Self.entryAddress(table: table, guest: g, level: level)))
                if !entry.v {
                    // Nothing under this entry: skip to the start of the next one.
                    let size = Sv39x4.pageSize(level: level)
                    g = Sv39x4.offset(level: level).insert(0, into: g) &+ size
                    break
                }
                if entry.isLeaf { throw .overlap(GuestPhysAddr(g)) }
                guard entry.isTable, level > 0 else { throw .corruptTable(GuestPhysAddr(g)) }
                table = entry.address
                level -= 1
            }
        }
    }

    /// The leaf level (2, 1 or 0) of the largest page that starts at `guest`/`host` and fits.
    static func largestLevel(guest: UInt64, host: UInt64, remaining: UInt64) -> Int {
        var level = 2
        while level > 0 {
            let size = Sv39x4.pageSize(level: level)
            if remaining >= size && guest % size == 0 && host % size == 0 { return level }
            level -= 1
        }
        return 0
    }

    /// Allocates a zeroed 4 KiB table and links it from `slot`.
    static func newTable<M: PageTableMemory>(at slot: HostPhysAddr, memory: inout M) throws(PagingError) -> HostPhysAddr {
        guard let next = memory.allocate(bytes: Sv39x4.tableSize, alignment: Sv39x4.tableSize) else {
            throw .outOfTableMemory
        }
        guard let link = PTE.table(next: next) else { throw .unusableTableMemory }
        memory.store(link.raw, at: slot)
        return next
    }

    /// Address of the entry that translates `guest` in the table at `level` starting at `table`.
    @inline(__always) static func entryAddress(table: HostPhysAddr, guest: UInt64, level: Int) -> HostPhysAddr {
        table.adding(Sv39x4.vpn(level: level).extract(from: guest) &* Sv39x4.entrySize)
    }

    // MARK: Walking

    /// Walks the tables as the hardware would for a G-stage access (every access checked as U-mode).
    /// `nil` when the walk would raise a guest-page fault: address beyond 41 bits, invalid entry,
    /// reserved bits or encodings, U=0, or a misaligned superpage.
    public func translate<M: PageTableMemory>(_ guest: GuestPhysAddr, memory: M) -> GStageTranslation? {
        guard guest.raw < Sv39x4.addressLimit else { return nil }
        var table = root
        var level = 2
        while true {
            let entry = PTE(raw: memory.load(Self.entryAddress(table: table, guest: guest.raw, level: level)))
            guard entry.v, entry[PTE.Reserved] == 0, entry.r || !entry.w else { return nil }
            if entry.isLeaf {
                let size = Sv39x4.pageSize(level: level)
                guard entry.u, entry.address.isAligned(to: size) else { return nil }
                let offset = Sv39x4.offset(level: level).extract(from: guest.raw)
                return GStageTranslation(host: entry.address.adding(offset),
                                         permissions: entry.permissions, pageSize: size)
            }
            guard level > 0 else { return nil }
            table = entry.address
            level -= 1
        }
    }

    /// Calls `table` for every table page (root first, with its level: 2 = root) and `leaf` for
    /// every valid leaf (with the guest address it maps and its page size), in address order.
    public func forEachEntry<M: PageTableMemory>(
        memory: M,
        table: (HostPhysAddr, Int) -> Void,
        leaf: (GuestPhysAddr, PTE, UInt64) -> Void
    ) {
        table(root, 2)
        visit(table: root, level: 2, base: 0, memory: memory, onTable: table, onLeaf: leaf)
    }

    private func visit<M: PageTableMemory>(
        table: HostPhysAddr, level: Int, base: UInt64, memory: M,
        onTable: (HostPhysAddr, Int) -> Void, onLeaf: (GuestPhysAddr, PTE, UInt64) -> Void
    ) {
        let count = level == 2 ? Sv39x4.rootEntries : Sv39x4.tableEntries
        let size = Sv39x4.pageSize(level: level)
        var i: UInt64 = 0
        while i < count {
            let entry = PTE(raw: memory.load(table.adding(i &* Sv39x4.entrySize)))
            let guest = base &+ i &* size
            if entry.isLeaf {
                onLeaf(GuestPhysAddr(guest), entry, size)
            } else if entry.isTable && level > 0 {
                onTable(entry.address, level - 1)
                visit(table: entry.address, level: level - 1, base: guest, memory: memory,
                      onTable: onTable, onLeaf: onLeaf)
            }
            i &+= 1
        }
    }
}
