// Where page tables live: the memory protocol the G-stage builder uses, and a bump pool over RAM.

/// Memory that holds page tables, addressed by host-physical address. Used as a generic
/// parameter (never an existential). The kernel uses `PageTablePool`; host tests use a fake.
public protocol PageTableMemory {
    /// `bytes` of zeroed memory aligned to `alignment` (a power of two), or `nil` when exhausted.
    mutating func allocate(bytes: UInt64, alignment: UInt64) -> HostPhysAddr?
    /// The 64-bit entry at `at` (8-byte aligned, inside memory this object allocated).
    func load(_ at: HostPhysAddr) -> UInt64
    /// Writes the 64-bit entry at `at` (8-byte aligned, inside memory this object allocated).
    mutating func store(_ value: UInt64, at: HostPhysAddr)
}

/// A bump allocator over one region of RAM that the hypervisor addresses directly (it runs with
/// an identity-mapped table, so a host-physical address is also a pointer). Tables are never freed: a
/// partition's tables live as long as the partition's plan. Loads and stores outside the region
/// or misaligned are ignored (a load reads as an invalid entry), so a corrupt entry can never make
/// the walker touch other memory.
public struct PageTablePool: PageTableMemory {
    public let region: HostRegion
    /// Bytes handed out so far (including alignment padding).
    public private(set) var used: UInt64

    /// `nil` when the region is empty, starts at address 0, or wraps the address space.
    public init?(region: HostRegion) {
        guard region.size > 0, region.base.raw != 0, region.end != nil else { return nil }
        self.region = region
        self.used = 0
    }

    public var remaining: UInt64 { region.size &- used }

    public mutating func allocate(bytes: UInt64, alignment: UInt64) -> HostPhysAddr? {
        guard bytes > 0, bytes <= UInt64.max &- 7, alignment > 0, alignment & (alignment &- 1) == 0
        else { return nil }
        let length = (bytes &+ 7) & ~7
        let (cursor, o1) = region.base.raw.addingReportingOverflow(used)
        let (bumped, o2) = cursor.addingReportingOverflow(alignment &- 1)
        guard !o1, !o2 else { return nil }
        let start = bumped & ~(alignment &- 1)
        let offset = start &- region.base.raw
        guard offset <= region.size, length <= region.size &- offset else { return nil }
        used = offset &+ length
        var a = start
        while a < start &+ length {
            rawStore(0, at: a)
            a &+= 8
        }
        return HostPhysAddr(start)
    }

    public func load(_ at: HostPhysAddr) -> UInt64 {
        guard contains(at), let p = UnsafePointer<UInt64>(bitPattern: UInt(at.raw)) else { return 0 }
        return p.pointee
    }

    public mutating func store(_ value: UInt64, at: HostPhysAddr) {
        guard contains(at) else { return }
        rawStore(value, at: at.raw)
    }

    @inline(__always) func contains(_ at: HostPhysAddr) -> Bool {
        at.raw & 7 == 0 && at.raw >= region.base.raw && at.raw &- region.base.raw < region.size
            && region.size &- (at.raw &- region.base.raw) >= 8
    }

    @inline(__always) func rawStore(_ value: UInt64, at: UInt64) {
        guard let p = UnsafeMutablePointer<UInt64>(bitPattern: UInt(at)) else { return }
        p.pointee = value
    }
}
