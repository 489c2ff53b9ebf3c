// Reserved memory: the regions no partition may be given, each marked as the firmware's or the hypervisor's.

/// Whose memory a reserved region is.
public enum ReservedKind: UInt8, Equatable, Sendable {
    /// Kept by the firmware: the device tree's /reserved-memory nodes and its memory reservation block.
    case firmware = 0
    /// The hypervisor's own: its image, the shared-memory pool and the bundle staging area (MemoryMap).
    case hypervisor = 1
}

/// One reserved region and whose it is.
public struct ReservedRegion: Equatable, Sendable {
    public var region: HostRegion
    public var kind: ReservedKind
    public init(_ region: HostRegion, kind: ReservedKind) { self.region = region; self.kind = kind }

    /// `firmware [0x80000000, 0x80040000)` or `the hypervisor (image, shared pool, bundle staging) [...)`.
    public func write<S: TextSink>(to out: inout S) {
        out.write(kind == .firmware ? "firmware [" : "the hypervisor (image, shared pool, bundle staging) [")
        out.write(hex: region.base.raw); out.write(", ")
        out.write(hex: region.base.raw &+ region.size); out.write(")")
    }
}

/// A fixed-capacity list of reserved regions (no heap): the firmware's, then the hypervisor's.
public struct ReservedRegions: Sendable {
    /// Room for `HostDescription.maxFirmwareReserved` firmware regions and the hypervisor's.
    public static let capacity = 20
    public var entries: InlineArray<20, ReservedRegion>
    public private(set) var count: Int

    public init() {
        entries = InlineArray(repeating: ReservedRegion(HostRegion(base: HostPhysAddr(0), size: 0), kind: .firmware))
        count = 0
    }

    /// A list holding one region of `kind`.
    public init(_ region: HostRegion, kind: ReservedKind) {
        self.init()
        _ = append(ReservedRegion(region, kind: kind))
    }

    /// Returns false when the list is already full.
    public mutating func append(_ region: ReservedRegion) -> Bool {
        guard count < Self.capacity else { return false }
        entries[count] = region; count += 1; return true
    }

    /// Entry `index` (callers keep `index < count`).
    public subscript(index: Int) -> ReservedRegion { entries[index] }

    /// The first region that overlaps `region`, if any.
    public func firstOverlap(with region: HostRegion) -> ReservedRegion? {
        var i = 0
        while i < count {
            if entries[i].region.overlaps(region) { return entries[i] }
            i += 1
        }
        return nil
    }
}
