// What the hypervisor remembers across boots: the anti-rollback minimum, boot attempts, slot choice.

/// One of the two bundle slots in flash.
public enum BootSlot: UInt8, Equatable, Sendable {
    case a = 1
    case b = 2

    /// The slot that is not this one.
    public var other: BootSlot { self == .a ? .b : .a }

    /// The slot a state-record byte names: 1 is A, 2 is B, anything else none.
    public init?(recordByte: UInt8) { self.init(rawValue: recordByte) }
}

/// The contents of the state region, apart from the bookkeeping (magic, version, sequence, CRC).
///
/// The factory state (`BootState()`) is what a blank or fully corrupt state region reads as:
/// minimum security version 0 (every correctly signed bundle is accepted), no boot attempts,
/// no slot booted yet, no preferred slot (the boot flow then tries slot A first).
public struct BootState: Equatable, Sendable {
    /// Bundles whose security version is below this never boot. It only ever grows: see
    /// `StateRegion.raiseMinimumSecurityVersion(to:in:)`.
    public var minimumSecurityVersion: UInt64
    /// Boots of slot A started since it last booted successfully (saturates at `UInt32.max`).
    public var bootAttemptsA: UInt32
    /// Boots of slot B started since it last booted successfully (saturates at `UInt32.max`).
    public var bootAttemptsB: UInt32
    /// The slot that booted successfully last; `nil` before the first success.
    public var lastBootedSlot: BootSlot?
    /// The slot to try first; `nil` means slot A.
    public var preferredSlot: BootSlot?

    public init(minimumSecurityVersion: UInt64 = 0, bootAttemptsA: UInt32 = 0, bootAttemptsB: UInt32 = 0,
                lastBootedSlot: BootSlot? = nil, preferredSlot: BootSlot? = nil) {
        self.minimumSecurityVersion = minimumSecurityVersion
        self.bootAttemptsA = bootAttemptsA
        self.bootAttemptsB = bootAttemptsB
        self.lastBootedSlot = lastBootedSlot
        self.preferredSlot = preferredSlot
    }

    /// The state of a device whose state region was never written (or is unreadable as a whole).
    public static var factory: BootState { BootState() }

    /// The boot attempts counted for `slot`.
    public func bootAttempts(_ slot: BootSlot) -> UInt32 {
        slot == .a ? bootAttemptsA : bootAttemptsB
    }

    /// Sets the boot attempts counted for `slot`.
    public mutating func setBootAttempts(_ slot: BootSlot, _ count: UInt32) {
        if slot == .a { bootAttemptsA = count } else { bootAttemptsB = count }
    }

    /// The slot the boot flow tries first.
    public var firstSlot: BootSlot { preferredSlot ?? .a }
}
