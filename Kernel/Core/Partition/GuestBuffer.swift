// Guest memory as an allegation: a guest's claim (GuestSlice), checked once into a GuestBuffer, the only way a service reaches the bytes (by copying).

/// What a guest says: `length` bytes at guest-physical `address`. Nothing about it is trusted
/// until `GuestMemory.check` has accepted the whole range inside the caller's own RAM.
public struct GuestSlice: Equatable, Sendable {
    public var address: GuestPhysAddr
    public var length: UInt64
    public init(_ address: GuestPhysAddr, length: UInt64) { self.address = address; self.length = length }
}

/// How bytes move between a partition's RAM and hypervisor memory. Unset (host tests, the fake
/// arch): through the identity-mapped host address. The kernel sets it to copies with HLV/HSV
/// (Kernel/Arch/RISCV64/GuestAccess.swift), which go through the calling partition's own G-stage
/// table: the hypervisor's page table does not map that RAM while the partition runs.
public enum GuestAccess {
    /// Copies `count` bytes between `hypervisor` and the guest range at guest-physical `guest`
    /// (host-physical `host`): into the guest when `toGuest`, out of it otherwise.
    public typealias Copy = @convention(c) (_ hypervisor: UnsafeMutableRawPointer, _ guest: UInt64, _ host: UInt64,
                                            _ count: Int, _ toGuest: Bool) -> Void
    nonisolated(unsafe) public static var copy: Copy? = nil

    static func move(_ hypervisor: UnsafeMutableRawPointer, _ guest: GuestPhysAddr, _ host: HostPhysAddr, _ count: Int, toGuest: Bool) {
        if let copy { return copy(hypervisor, guest.raw, host.raw, count, toGuest) }
        guard let memory = UnsafeMutableRawPointer(bitPattern: UInt(host.raw)) else { return }
        if toGuest { memory.copyMemory(from: hypervisor, byteCount: count) } else { hypervisor.copyMemory(from: memory, byteCount: count) }
    }
}

/// A range of one partition's RAM that `GuestMemory.check` accepted: the only way a service
/// reaches guest memory, by copying in and out (GuestAccess). The guest may change its memory at
/// any time (another vCPU): a service copies a value in once and works on its copy.
public struct GuestBuffer: Sendable {
    /// Where the range starts in the partition's guest-physical space, and in host memory.
    public let guest: GuestPhysAddr
    public let host: HostPhysAddr
    public let count: Int

    init(guest: GuestPhysAddr, host: HostPhysAddr, count: Int) { self.guest = guest; self.host = host; self.count = count }

    /// An empty buffer (a zero-length argument).
    public static let empty = GuestBuffer(guest: GuestPhysAddr(0), host: HostPhysAddr(0), count: 0)

    /// Copies `destination.count` bytes from offset `offset` into hypervisor memory; false (and
    /// nothing copied) when they do not all lie inside the buffer.
    public func copyIn(to destination: UnsafeMutableRawBufferPointer, from offset: Int = 0) -> Bool {
        guard offset >= 0, offset <= count, destination.count <= count &- offset else { return false }
        if let to = destination.baseAddress, destination.count > 0 {
            GuestAccess.move(to, guest.adding(UInt64(offset)), host.adding(UInt64(offset)), destination.count, toGuest: false)
        }
        return true
    }

    /// Copies `source` into the buffer at `offset`; false (and nothing written) when it does not fit.
    public func copyOut(from source: UnsafeRawBufferPointer, at offset: Int = 0) -> Bool {
        guard offset >= 0, offset <= count, source.count <= count &- offset else { return false }
        if let from = source.baseAddress, source.count > 0 {
            GuestAccess.move(UnsafeMutableRawPointer(mutating: from), guest.adding(UInt64(offset)), host.adding(UInt64(offset)),
                             source.count, toGuest: true)
        }
        return true
    }

    /// Copies the buffer into hypervisor memory 256 bytes at a time, handing each piece to `body`.
    public func forEachChunk(_ body: (UnsafeRawBufferPointer) -> Void) {
        var chunk = InlineArray<256, UInt8>(repeating: 0)
        var done = 0
        while done < count {
            let n = min(256, count &- done)
            withUnsafeMutableBytes(of: &chunk) { raw in
                let piece = UnsafeMutableRawBufferPointer(rebasing: raw[0..<n])
                _ = copyIn(to: piece, from: done)
                body(UnsafeRawBufferPointer(piece))
            }
            done &+= n
        }
    }

    /// The little-endian value at `offset`, if it lies inside the buffer.
    public func load<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T? {
        guard offset >= 0, offset <= count, MemoryLayout<T>.size <= count &- offset else { return nil }
        var value = T.zero
        _ = withUnsafeMutableBytes(of: &value) { copyIn(to: $0, from: offset) }
        return T(littleEndian: value)
    }
}

extension GuestMemory {
    /// The buffer `slice` names, or nil unless every byte of it lies in this partition's RAM.
    public func check(_ slice: GuestSlice) -> GuestBuffer? {
        guard let host = hostAddress(of: slice.address, length: slice.length), slice.length <= UInt64(Int.max) else { return nil }
        return GuestBuffer(guest: slice.address, host: host, count: Int(slice.length))
    }
}
