// Guest memory as an allegation: a guest's claim (GuestSlice), checked once into a GuestBuffer, the only way a service reaches the bytes.

/// What a guest says: `length` bytes at guest-physical `address`. Nothing about it is trusted
/// until `GuestMemory.check` has accepted the whole range inside the caller's own RAM.
public struct GuestSlice: Equatable, Sendable {
    public var address: GuestPhysAddr
    public var length: UInt64
    public init(_ address: GuestPhysAddr, length: UInt64) { self.address = address; self.length = length }
}

/// A range of one partition's RAM that `GuestMemory.check` accepted. It is the only place a host
/// pointer to guest memory is made: services copy in and out through it, or work on its bytes
/// inside `withBytes`/`withMutableBytes`, whose pointer does not outlive the call. The guest may
/// change its memory at any time (another vCPU): a service that reads a value twice copies it in
/// first.
public struct GuestBuffer: Sendable {
    /// Where the range starts in the hypervisor's view (identity-mapped host memory).
    public let host: HostPhysAddr
    public let count: Int

    init(host: HostPhysAddr, count: Int) { self.host = host; self.count = count }

    /// The bytes, valid only during `body` (an empty buffer keeps its checked address).
    @inline(__always)
    public func withMutableBytes<R, E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(bitPattern: UInt(host.raw)), count: count))
    }

    @inline(__always)
    public func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try withMutableBytes { (b) throws(E) -> R in try body(UnsafeRawBufferPointer(b)) }
    }

    /// Copies `destination.count` bytes from offset `offset` into hypervisor memory; false (and
    /// nothing copied) when they do not all lie inside the buffer.
    public func copyIn(to destination: UnsafeMutableRawBufferPointer, from offset: Int = 0) -> Bool {
        guard offset >= 0, offset <= count, destination.count <= count &- offset else { return false }
        if destination.count > 0 { withBytes { destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset ..< offset &+ destination.count])) } }
        return true
    }

    /// Copies `source` into the buffer at `offset`; false (and nothing written) when it does not fit.
    public func copyOut(from source: UnsafeRawBufferPointer, at offset: Int = 0) -> Bool {
        guard offset >= 0, offset <= count, source.count <= count &- offset else { return false }
        if source.count > 0 {
            withMutableBytes { UnsafeMutableRawBufferPointer(rebasing: $0[offset ..< offset &+ source.count]).copyMemory(from: source) }
        }
        return true
    }

    /// The little-endian value at `offset`, if it lies inside the buffer.
    public func load<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T? {
        guard offset >= 0, offset <= count, MemoryLayout<T>.size <= count &- offset else { return nil }
        return withBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }
}

extension GuestMemory {
    /// The buffer `slice` names, or nil unless every byte of it lies in this partition's RAM.
    public func check(_ slice: GuestSlice) -> GuestBuffer? {
        guard let host = hostAddress(of: slice.address, length: slice.length), slice.length <= UInt64(Int.max) else { return nil }
        return GuestBuffer(host: host, count: Int(slice.length))
    }
}
