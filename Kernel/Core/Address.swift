// Typed addresses: host-physical, guest-physical and guest-virtual addresses never mix.

/// An address in the machine's physical address space (what the hypervisor and devices see).
public struct HostPhysAddr: Equatable, Comparable, Sendable {
    public var raw: UInt64
    @inline(__always) public init(_ raw: UInt64) { self.raw = raw }
    public static func < (a: Self, b: Self) -> Bool { a.raw < b.raw }
    @inline(__always) public func adding(_ bytes: UInt64) -> Self { Self(raw &+ bytes) }
    @inline(__always) public func isAligned(to alignment: UInt64) -> Bool { raw & (alignment &- 1) == 0 }
}

/// An address in a partition's guest-physical space (what its G-stage table translates).
public struct GuestPhysAddr: Equatable, Comparable, Sendable {
    public var raw: UInt64
    @inline(__always) public init(_ raw: UInt64) { self.raw = raw }
    public static func < (a: Self, b: Self) -> Bool { a.raw < b.raw }
    @inline(__always) public func adding(_ bytes: UInt64) -> Self { Self(raw &+ bytes) }
    @inline(__always) public func isAligned(to alignment: UInt64) -> Bool { raw & (alignment &- 1) == 0 }
}

/// An address a guest's own (VS-stage) translation uses; the hypervisor never dereferences one.
public struct GuestVirtAddr: Equatable, Comparable, Sendable {
    public var raw: UInt64
    @inline(__always) public init(_ raw: UInt64) { self.raw = raw }
    public static func < (a: Self, b: Self) -> Bool { a.raw < b.raw }
}

/// A half-open range [base, base + size) of host-physical memory.
public struct HostRegion: Equatable, Sendable {
    public var base: HostPhysAddr
    public var size: UInt64
    public init(base: HostPhysAddr, size: UInt64) { self.base = base; self.size = size }
    /// One past the last byte; `nil` when the range wraps the 64-bit space.
    public var end: HostPhysAddr? {
        let (sum, overflow) = base.raw.addingReportingOverflow(size)
        return overflow ? nil : HostPhysAddr(sum)
    }
    public func overlaps(_ other: HostRegion) -> Bool {
        guard let e1 = end, let e2 = other.end, size > 0, other.size > 0 else { return false }
        return base < e2 && other.base < e1
    }
    public func contains(_ other: HostRegion) -> Bool {
        guard let e1 = end, let e2 = other.end else { return false }
        return base <= other.base && e2 <= e1
    }
}

/// Sizes used throughout: pages and superpages of Sv39/Sv39x4.
public enum PageSize {
    public static let base: UInt64 = 0x1000            // 4 KiB
    public static let mega: UInt64 = 0x20_0000         // 2 MiB
    public static let giga: UInt64 = 0x4000_0000       // 1 GiB
}
