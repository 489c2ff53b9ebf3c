// Console input routing: the partition with input focus gets the keys; Ctrl-B then a digit moves the focus.
//
// Keys typed on the hypervisor's UART go to one partition at a time (the focus, initially the
// first partition that can read input). Ctrl-B (0x02) starts a command: a digit 0-7 gives the
// focus to that partition (by plan index), `s` asks the hypervisor for its status report (each
// stack's high-water mark), Ctrl-B again sends one Ctrl-B to the focused partition, anything
// else is dropped.
//
// Each partition has its own queue of `InputQueue.capacity` (256) bytes. The hypervisor moves
// keys from the UART into the focused partition's queue whenever a guest reads its console and,
// from the trap path, at least every millisecond while any hart traps, so keys typed while the
// partition is not reading wait there in order. When the queue is full the *newest* keys are
// dropped (as a 16550 drops what arrives on overrun): what was typed first is kept whole, and a
// guest that never reads cannot hold up the others. A partition's queue survives its restart.

/// A queue of input bytes for one partition (no heap).
public struct InputQueue: Sendable {
    public static let capacity = 256
    var bytes = InlineArray<256, UInt8>(repeating: 0)
    var head = 0
    public private(set) var count = 0
    public init() {}

    public var isEmpty: Bool { count == 0 }

    /// Adds `byte`; false when full (the byte is dropped, the queue unchanged).
    @discardableResult public mutating func push(_ byte: UInt8) -> Bool {
        guard count < Self.capacity else { return false }
        bytes[(head &+ count) % Self.capacity] = byte
        count += 1
        return true
    }

    public mutating func pop() -> UInt8? {
        guard count > 0 else { return nil }
        let byte = bytes[head]
        head = (head &+ 1) % Self.capacity
        count -= 1
        return byte
    }
}

/// What a typed byte did.
public enum InputEvent: Equatable, Sendable {
    /// Deliver `byte` to partition `partition`.
    case deliver(partition: Int, byte: UInt8)
    /// The focus moved to `partition`.
    case focus(partition: Int)
    /// Ctrl-B `s`: the operator asks for the hypervisor's status report.
    case status
    /// The byte was part of a command (or an invalid one) and goes nowhere.
    case none
}

/// The focus state machine (pure: the kernel feeds it bytes and acts on the events).
public struct ConsoleFocus: Sendable {
    public static let commandKey: UInt8 = 0x02      // Ctrl-B
    public private(set) var focused: Int
    var commandPending = false
    /// Partitions 0 ..< count exist.
    public let count: Int

    public init(count: Int, focused: Int = 0) { self.count = count; self.focused = focused }

    public mutating func feed(_ byte: UInt8) -> InputEvent {
        if commandPending {
            commandPending = false
            if byte == Self.commandKey { return .deliver(partition: focused, byte: byte) }
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                let p = Int(byte - UInt8(ascii: "0"))
                guard p < count else { return .none }
                focused = p
                return .focus(partition: p)
            }
            if byte == UInt8(ascii: "s") { return .status }
            return .none
        }
        if byte == Self.commandKey { commandPending = true; return .none }
        return .deliver(partition: focused, byte: byte)
    }
}
