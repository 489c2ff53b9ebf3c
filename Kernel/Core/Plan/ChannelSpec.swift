// Inter-partition channels as the configuration and the manifest declare them: queues and shared memory.
//
// A channel joins two different partitions, its endpoints 0 and 1. A message queue carries
// copied messages (at most `depth` waiting per direction, each at most `messageSize` bytes); a
// shared-memory channel maps `size` bytes into both partitions, read-only or read-write per
// endpoint. `direction == .forward` lets only endpoint 0 send (or write, for shared memory:
// endpoint 1 is then read-only); `.both` lets both. With `doorbell`, `notify` raises a virtual
// supervisor software interrupt in the peer. Channel ids are indices in the plan's channel list.

/// What a channel carries.
public enum ChannelKind: UInt8, Sendable {
    case queue = 1
    case sharedMemory = 2
}

/// Which endpoints may send (queue) or write (shared memory).
public enum ChannelDirection: UInt8, Sendable {
    /// Both endpoints.
    case both = 0
    /// Endpoint 0 to endpoint 1 only.
    case forward = 1
}

/// How an endpoint maps a shared-memory channel.
public enum SharedAccess: UInt8, Sendable {
    case readOnly = 1
    case readWrite = 3
}

public typealias ChannelName = FixedText<16>

/// One channel.
public struct ChannelSpec: Sendable {
    public var name = ChannelName()
    public var kind = ChannelKind.queue
    /// The partitions at endpoint 0 and endpoint 1 (indices into the plan).
    public var endpoints: InlineArray<2, UInt8> = [0, 0]
    public var direction = ChannelDirection.both
    /// Queue: messages that may wait per direction, and the largest message in bytes.
    public var depth: UInt32 = 0
    public var messageSize: UInt32 = 0
    /// Shared memory: bytes mapped (a multiple of 4 KiB) and each endpoint's access.
    public var size: UInt64 = 0
    public var access: InlineArray<2, SharedAccess> = [.readWrite, .readWrite]
    /// Whether `notify` on this channel raises an interrupt in the peer.
    public var doorbell = false

    public init() {}

    /// What the IPC calls need of the channel (ChannelRoute).
    @inline(__always) public var route: ChannelRoute {
        ChannelRoute(endpoint0: endpoints[0], endpoint1: endpoints[1], kind: kind, direction: direction,
                     doorbell: doorbell, depth: depth, messageSize: messageSize)
    }

    /// The endpoint (0 or 1) partition `p` holds on this channel, if any.
    public func endpoint(of p: Int) -> Int? { route.endpoint(of: p) }

    /// The partition at the other end from `endpoint`.
    public func peer(of endpoint: Int) -> Int { route.peer(of: endpoint) }

    /// Whether `endpoint` may send on this queue (or write this shared memory).
    public func maySend(from endpoint: Int) -> Bool { route.maySend(from: endpoint) }

    /// The access `endpoint` maps this shared memory with (a forward channel's endpoint 1 only reads).
    public func effectiveAccess(_ endpoint: Int) -> SharedAccess {
        maySend(from: endpoint) ? access[endpoint & 1] : .readOnly
    }

    /// Bytes of hypervisor queue storage the channel needs: one ring per endpoint that can
    /// receive (the ring for messages *to* endpoint 1 first, then the one to endpoint 0).
    public var queueStorage: UInt64 {
        guard kind == .queue else { return 0 }
        let rings: UInt64 = direction == .both ? 2 : 1
        return rings * MessageRing.byteSize(depth: depth, messageSize: messageSize)
    }
}

/// The part of a channel the IPC calls read on every call (its endpoints, kind, direction,
/// doorbell and queue sizes): 16 bytes, passed in registers, so the hot path never copies a
/// whole ChannelSpec (its name makes it 51 bytes, a memcpy per call).
public struct ChannelRoute: Sendable {
    public var endpoint0: UInt8, endpoint1: UInt8
    public var kind: ChannelKind
    public var direction: ChannelDirection
    public var doorbell: Bool
    public var depth: UInt32
    public var messageSize: UInt32

    /// The endpoint (0 or 1) partition `p` holds on this channel, if any.
    @inline(__always) public func endpoint(of p: Int) -> Int? {
        if Int(endpoint0) == p { return 0 }
        if Int(endpoint1) == p { return 1 }
        return nil
    }

    /// The partition at the other end from `endpoint`.
    @inline(__always) public func peer(of endpoint: Int) -> Int { Int(endpoint == 0 ? endpoint1 : endpoint0) }

    /// Whether `endpoint` may send on this queue (or write this shared memory).
    @inline(__always) public func maySend(from endpoint: Int) -> Bool { direction == .both || endpoint == 0 }
}

/// Channel limits, shared by the CLI, the bundle format and the kernel.
public enum ChannelLimits {
    public static let maxChannels = 16
    public static let maxDepth: UInt32 = 64
    public static let maxMessageSize: UInt32 = 4096
    /// All queues together hold at most this many bytes of hypervisor memory.
    public static let queueStorageCapacity: UInt64 = 0x2_0000
    /// A shared-memory channel's size is a multiple of this, and at most `maxSharedSize`.
    public static let sharedAlignment: UInt64 = PageSize.base
    public static let maxSharedSize: UInt64 = 0x20_0000
    /// Where shared-memory channels appear in every partition's guest-physical space: a channel
    /// whose memory lies at offset `o` of the board's shared pool is mapped at this base + `o`
    /// in both its partitions (below guest RAM at 0x8000_0000, so it never overlaps it).
    public static let sharedWindowBase = GuestPhysAddr(0x4000_0000)

    /// A queue slot: an 8-byte header (length, sender), then the message, rounded up to 8 bytes.
    public static func slotSize(messageSize: UInt32) -> UInt32 {
        8 &+ ((messageSize &+ 7) & ~7)
    }
}

/// Where each channel's memory lies: shared windows in the board's pool, queue rings in the
/// hypervisor's queue storage. Computed from the plan alone, so the CLI and the kernel agree.
public struct ChannelLayout: Sendable {
    /// Per channel: offset of its shared memory in the pool, or of its first ring in queue
    /// storage (the ring to endpoint 1; the ring to endpoint 0 follows it on a `.both` channel).
    public var offsets: InlineArray<16, UInt64> = InlineArray(repeating: 0)
    public var sharedBytes: UInt64 = 0
    public var queueBytes: UInt64 = 0

    /// No channels (before the plan is known).
    public init() {}

    public init(plan: PartitionPlan) {
        var c = 0
        while c < plan.channelCount {
            let channel = plan.channel(c)
            if channel.kind == .sharedMemory {
                offsets[c] = sharedBytes
                sharedBytes &+= channel.size
            } else {
                offsets[c] = queueBytes
                queueBytes &+= channel.queueStorage
            }
            c += 1
        }
    }

    /// Where, in queue storage, the ring carrying messages to `endpoint` of channel `c` starts.
    public func ringOffset(_ c: Int, toEndpoint endpoint: Int, channel: ChannelRoute) -> UInt64 {
        endpoint == 1 ? offsets[c & 15] : offsets[c & 15] &+ MessageRing.byteSize(depth: channel.depth, messageSize: channel.messageSize)
    }

    /// The guest-physical address both endpoints see channel `c`'s shared memory at.
    public func sharedWindow(_ c: Int) -> GuestPhysAddr {
        ChannelLimits.sharedWindowBase.adding(offsets[c & 15])
    }
}

/// One shared-memory channel as one of its endpoints maps it.
public struct SharedWindow: Sendable {
    public var channel = 0
    public var name = ChannelName()
    /// Guest-physical address (the same in both endpoints) and size.
    public var address = ChannelLimits.sharedWindowBase
    public var size: UInt64 = 0
    /// Offset of its memory in the board's shared pool.
    public var poolOffset: UInt64 = 0
    public var writable = false
    public init() {}
}

/// The shared-memory channels partition `p` maps, in channel order.
public struct SharedWindows: Sendable {
    public var windows: InlineArray<16, SharedWindow> = InlineArray(repeating: SharedWindow())
    public private(set) var count = 0

    /// No windows.
    public init() {}

    public init(plan: PartitionPlan, partition p: Int) {
        let layout = ChannelLayout(plan: plan)
        var c = 0
        while c < plan.channelCount {
            let ch = plan.channel(c)
            if ch.kind == .sharedMemory, let end = ch.endpoint(of: p) {
                var w = SharedWindow()
                w.channel = c; w.name = ch.name; w.address = layout.sharedWindow(c); w.size = ch.size
                w.poolOffset = layout.offsets[c & 15]; w.writable = ch.effectiveAccess(end) == .readWrite
                windows[count & 15] = w
                count += 1
            }
            c += 1
        }
    }

    public subscript(i: Int) -> SharedWindow { windows[i & 15] }
}
