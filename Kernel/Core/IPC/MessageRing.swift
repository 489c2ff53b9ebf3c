// One direction of a message queue: a ring of fixed-size slots in hypervisor memory.
//
// Layout (all in the ring's own memory, little-endian): a 16-byte header (head: u32, count: u32,
// 8 bytes reserved), then `depth` slots of `ChannelLimits.slotSize(messageSize:)` bytes, each an
// 8-byte slot header (length: u32, sender: u8, 3 reserved) and the message.
// Invariants: 0 <= head < depth, 0 <= count <= depth; the waiting messages are the `count` slots
// from `head` on, oldest first. The caller serialises access (the kernel holds the ring's lock);
// nothing here allocates or traps: every offset is below `depth * slotSize`.

/// A view of one ring's memory. It does not own the memory.
public struct MessageRing {
    public static let headerSize = 16
    static let headOffset = 0, countOffset = 4
    static let slotLengthOffset = 0, slotSenderOffset = 4, slotHeaderSize = 8

    public let base: UnsafeMutableRawPointer
    public let depth: UInt32
    public let messageSize: UInt32

    public init(base: UnsafeMutableRawPointer, depth: UInt32, messageSize: UInt32) {
        self.base = base; self.depth = depth; self.messageSize = messageSize
    }

    /// The bytes a ring of this shape occupies.
    public static func byteSize(depth: UInt32, messageSize: UInt32) -> UInt64 {
        UInt64(headerSize) + UInt64(depth) * UInt64(ChannelLimits.slotSize(messageSize: messageSize))
    }

    var slotSize: Int { Int(ChannelLimits.slotSize(messageSize: messageSize)) }
    var head: UInt32 {
        get { base.load(fromByteOffset: Self.headOffset, as: UInt32.self) }
        nonmutating set { base.storeBytes(of: newValue, toByteOffset: Self.headOffset, as: UInt32.self) }
    }
    /// Messages waiting.
    public var count: UInt32 {
        get { base.load(fromByteOffset: Self.countOffset, as: UInt32.self) }
        nonmutating set { base.storeBytes(of: newValue, toByteOffset: Self.countOffset, as: UInt32.self) }
    }

    /// Empties the ring (at boot, and whenever its channel is set up again).
    public func reset() { head = 0; count = 0 }

    private func slot(_ index: UInt32) -> UnsafeMutableRawPointer {
        base.advanced(by: Self.headerSize + Int(index % max(depth, 1)) * slotSize)
    }

    /// Whether another message fits.
    public var isFull: Bool { count >= depth }

    /// Copies `length` bytes from `from` into a new slot stamped with `sender`. False (nothing
    /// changed) when the ring is full or the message is longer than `messageSize`.
    public func push(from: UnsafeRawPointer, length: UInt32, sender: UInt8) -> Bool {
        push(length: length, sender: sender) { $0.copyMemory(from: UnsafeRawBufferPointer(start: from, count: $0.count)) }
    }

    /// As `push(from:)`, with `fill` writing the message's `length` bytes into the new slot.
    public func push(length: UInt32, sender: UInt8, fill: (UnsafeMutableRawBufferPointer) -> Void) -> Bool {
        guard depth > 0, count < depth, head < depth, length <= messageSize else { return false }
        let s = slot(head &+ count)
        s.storeBytes(of: length, toByteOffset: Self.slotLengthOffset, as: UInt32.self)
        s.storeBytes(of: UInt32(sender), toByteOffset: Self.slotSenderOffset, as: UInt32.self)
        fill(UnsafeMutableRawBufferPointer(start: s.advanced(by: Self.slotHeaderSize), count: Int(length)))
        count &+= 1
        return true
    }

    /// The oldest message's length and sender, if any.
    public func peek() -> (length: UInt32, sender: UInt8)? {
        guard count > 0, count <= depth, head < depth else { return nil }
        let s = slot(head)
        let length = min(s.load(fromByteOffset: Self.slotLengthOffset, as: UInt32.self), messageSize)
        let sender = UInt8(truncatingIfNeeded: s.load(fromByteOffset: Self.slotSenderOffset, as: UInt32.self))
        return (length, sender)
    }

    /// Copies the oldest message to `to` (which must hold `peek()!.length` bytes) and removes it.
    public func pop(into to: UnsafeMutableRawPointer) -> (length: UInt32, sender: UInt8)? {
        pop { to.copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(to), byteCount: $0.count) }
    }

    /// As `pop(into:)`, with `drain` reading the oldest message's bytes before the slot is freed.
    public func pop(drain: (UnsafeRawBufferPointer) -> Void) -> (length: UInt32, sender: UInt8)? {
        guard let message = peek() else { return nil }
        drain(UnsafeRawBufferPointer(start: slot(head).advanced(by: Self.slotHeaderSize), count: Int(message.length)))
        head = (head &+ 1) % depth
        count &-= 1
        return message
    }
}
