// Inter-partition IPC (partition_info, send, receive, notify, doorbells): check a call against the caller's channels and memory, then act.
//
// docs/hypercalls.md is the contract. Every argument is validated, in the documented order,
// before anything changes; the first failure is the answer (an SBI error plus a BulkheadReason).
// Guest addresses are allegations: a buffer is touched only through the GuestBuffer that
// `GuestMemory.check` made after accepting the whole range in the caller's own RAM. Messages are
// copied from the caller's memory straight into the hypervisor's ring (once) and from the ring
// into the receiver's buffer.

/// What the IPC service needs from the hypervisor: the plan, the caller, ring access under a
/// lock, and doorbells; and, for the key calls, the key services' needs (KeyEnvironment).
/// The kernel implements it over real harts; host tests with a fake.
public protocol IPCEnvironment: KeyEnvironment, UpdateEnvironment {
    /// The calling partition's index in the plan.
    var partition: Int { get }
    /// The calling partition's RAM.
    var memory: GuestMemory { get }
    /// The plan's channel count and channels.
    var channelCount: Int { get }
    func channel(_ id: Int) -> ChannelSpec
    /// `channel(id).route`, which an environment may read without copying the whole spec.
    func route(_ id: Int) -> ChannelRoute
    /// The caller's partition name.
    var partitionName: PartitionName { get }
    /// Where both endpoints see shared channel `id`.
    func sharedWindow(_ id: Int) -> GuestPhysAddr
    /// Runs `body` on the ring carrying channel `id`'s messages to `endpoint`, holding its lock.
    mutating func withRing<R>(channel id: Int, toEndpoint endpoint: Int, _ body: (MessageRing) -> R) -> R
    /// Sets channel `id`'s bit in partition `p`'s doorbell mask and interrupts its vCPU 0.
    mutating func ringDoorbell(channel id: Int, partition p: Int)
    /// The caller's doorbell mask, cleared.
    mutating func takeDoorbells() -> UInt64
}

extension IPCEnvironment {
    public func route(_ id: Int) -> ChannelRoute { channel(id).route }
}

public enum IPCService {
    /// Performs one of the IPC calls for the caller (BulkheadService routes them here). Never
    /// traps on guest input.
    static func perform<E: IPCEnvironment>(_ call: BulkheadCall, _ env: inout E) throws(BulkheadReason) -> UInt64 {
        switch call {
        case .partitionInfo(let buffer, let length):
            return try writeInfo(buffer, length, &env)

        case .send(let id, let buffer, let length):
            let end = try endpoint(id, .queue, &env)
            guard end.channel.maySend(from: end.endpoint) else { throw .wrongDirection }
            guard buffer.isAligned(to: 8) else { throw .misaligned }
            guard length <= UInt64(end.channel.messageSize) else { throw .tooLong }
            guard let message = env.memory.check(GuestSlice(buffer, length: length)) else { throw .badAddress }
            let peer = end.channel.peer(of: end.endpoint)
            let sender = UInt8(truncatingIfNeeded: env.partition)
            let queued = env.withRing(channel: end.id, toEndpoint: 1 - end.endpoint) { ring in
                ring.push(length: UInt32(length), sender: sender) { _ = message.copyIn(to: $0) }
            }
            guard queued else { throw .full }
            if end.channel.doorbell { env.ringDoorbell(channel: end.id, partition: peer) }
            return 0

        case .receive(let id, let buffer, let length):
            let end = try endpoint(id, .queue, &env)
            guard end.channel.maySend(from: 1 - end.endpoint) else { throw .wrongDirection }
            guard buffer.isAligned(to: 8) else { throw .misaligned }
            guard let into = env.memory.check(GuestSlice(buffer, length: length)) else { throw .badAddress }
            let outcome = env.withRing(channel: end.id, toEndpoint: end.endpoint) { (ring) -> Result<UInt64, BulkheadReason> in
                guard let next = ring.peek() else { return .failure(.empty) }
                guard UInt64(next.length) <= length else { return .failure(.bufferTooSmall) }
                guard let message = ring.pop(drain: { _ = into.copyOut(from: $0) }) else { return .failure(.empty) }
                return .success(ReceivedMessage.pack(length: message.length, sender: message.sender))
            }
            return try outcome.get()

        case .notify(let id):
            let end = try endpoint(id, nil, &env)
            guard end.channel.doorbell else { throw .noDoorbell }
            env.ringDoorbell(channel: end.id, partition: end.channel.peer(of: end.endpoint))
            return 0

        case .doorbells:
            return env.takeDoorbells()

        default:
            throw .unknownFunction          // not an IPC call: BulkheadService sends it elsewhere
        }
    }

    /// The caller's end of channel `id`, checked: it exists, the caller is an endpoint, and (when
    /// `kind` is given) the channel is of that kind.
    @inline(__always) static func endpoint<E: IPCEnvironment>(_ id: UInt64, _ kind: ChannelKind?, _ env: inout E)
        throws(BulkheadReason) -> (id: Int, channel: ChannelRoute, endpoint: Int) {
        guard id < UInt64(env.channelCount) else { throw .unknownChannel }
        let c = Int(id)
        let channel = env.route(c)
        guard let end = channel.endpoint(of: env.partition) else { throw .notEndpoint }
        if let kind, channel.kind != kind { throw .wrongKind }
        return (c, channel, end)
    }

    /// Writes the partition-info block (docs/hypercalls.md) into the caller's buffer.
    static func writeInfo<E: IPCEnvironment>(_ buffer: GuestPhysAddr, _ length: UInt64, _ env: inout E) throws(BulkheadReason) -> UInt64 {
        guard buffer.isAligned(to: 8) else { throw .misaligned }
        var mine = 0
        var c = 0
        while c < env.channelCount {
            if env.channel(c).endpoint(of: env.partition) != nil { mine += 1 }
            c += 1
        }
        let needed = UInt64(PartitionInfoLayout.headerSize + PartitionInfoLayout.entrySize * mine)
        guard length >= needed else { throw .bufferTooSmall }
        guard let block = env.memory.check(GuestSlice(buffer, length: needed)) else { throw .badAddress }
        var info = InlineArray<792, UInt8>(repeating: 0)      // PartitionInfoLayout.maxSize
        withUnsafeMutableBytes(of: &info) { bytes in
            guard let out = bytes.baseAddress, Int(needed) <= bytes.count else { return }
            fillInfo(out, mine: mine, &env)
            _ = block.copyOut(from: UnsafeRawBufferPointer(rebasing: bytes[0..<Int(needed)]))
        }
        return needed
    }

    /// The partition-info block for a caller that holds `mine` channels, at `out` (checked, large enough).
    static func fillInfo<E: IPCEnvironment>(_ out: UnsafeMutableRawPointer, mine: Int, _ env: inout E) {
        let needed = PartitionInfoLayout.headerSize + PartitionInfoLayout.entrySize * mine
        out.initializeMemory(as: UInt8.self, repeating: 0, count: Int(needed))
        typealias L = PartitionInfoLayout
        out.storeBytes(of: L.version.littleEndian, toByteOffset: L.versionOffset, as: UInt16.self)
        out.storeBytes(of: UInt16(env.partition).littleEndian, toByteOffset: L.partitionIDOffset, as: UInt16.self)
        out.storeBytes(of: UInt16(mine).littleEndian, toByteOffset: L.channelCountOffset, as: UInt16.self)
        out.storeBytes(of: UInt16(L.entrySize).littleEndian, toByteOffset: L.entrySizeOffset, as: UInt16.self)
        env.partitionName.withBytes { name in
            out.advanced(by: L.nameOffset).copyMemory(from: name.baseAddress ?? UnsafeRawPointer(out), byteCount: name.count)
        }
        var entry = out.advanced(by: L.headerSize)
        var c = 0
        while c < env.channelCount {
            let ch = env.channel(c)
            if let end = ch.endpoint(of: env.partition) {
                ch.name.withBytes { name in
                    entry.advanced(by: L.entryName).copyMemory(from: name.baseAddress ?? UnsafeRawPointer(entry), byteCount: name.count)
                }
                var flags: UInt8 = ch.doorbell ? L.EntryFlags.doorbell : 0
                let shared = ch.kind == .sharedMemory
                if shared ? ch.effectiveAccess(end) == .readWrite : ch.maySend(from: end) { flags |= L.EntryFlags.maySend }
                if !shared && ch.maySend(from: 1 - end) { flags |= L.EntryFlags.mayReceive }
                entry.storeBytes(of: UInt16(c).littleEndian, toByteOffset: L.entryID, as: UInt16.self)
                entry.storeBytes(of: ch.kind.rawValue, toByteOffset: L.entryKind, as: UInt8.self)
                entry.storeBytes(of: flags, toByteOffset: L.entryFlags, as: UInt8.self)
                entry.storeBytes(of: UInt8(end), toByteOffset: L.entryEndpoint, as: UInt8.self)
                entry.storeBytes(of: UInt8(truncatingIfNeeded: ch.peer(of: end)), toByteOffset: L.entryPeer, as: UInt8.self)
                entry.storeBytes(of: ch.depth.littleEndian, toByteOffset: L.entryDepth, as: UInt32.self)
                entry.storeBytes(of: ch.messageSize.littleEndian, toByteOffset: L.entryMessageSize, as: UInt32.self)
                if shared {
                    entry.storeBytes(of: env.sharedWindow(c).raw.littleEndian, toByteOffset: L.entrySharedAddress, as: UInt64.self)
                    entry.storeBytes(of: ch.size.littleEndian, toByteOffset: L.entrySharedSize, as: UInt64.self)
                }
                entry = entry.advanced(by: L.entrySize)
            }
            c += 1
        }
    }
}
