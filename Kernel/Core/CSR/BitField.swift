// Typed bit fields: one descriptor per CSR/PTE field, shared get/set on a `raw: UInt64` wrapper.

/// One field of a 64-bit register or table entry: bits `high...low`, as the spec draws them.
/// Fields are declared once per layout (e.g. `Hstatus.SPV`); service code never writes masks.
public struct BitField: Equatable, Sendable {
    /// Position of the field's least-significant bit.
    public let low: UInt64
    /// Number of bits, 1...64.
    public let width: UInt64

    /// The field occupying bits `high...low` (spec notation "high:low").
    @inline(__always) public init(bits high: UInt64, _ low: UInt64) {
        self.low = low
        self.width = high &- low &+ 1
    }

    /// A one-bit field.
    @inline(__always) public init(bit: UInt64) {
        self.low = bit
        self.width = 1
    }

    /// Position of the field's most-significant bit.
    @inline(__always) public var high: UInt64 { low &+ width &- 1 }

    /// The field's largest value (`width` ones), unshifted.
    @inline(__always) public var valueMask: UInt64 {
        width >= 64 ? UInt64.max : (UInt64(1) << width) &- 1
    }

    /// The field's bits in place within the register.
    @inline(__always) public var mask: UInt64 { valueMask << low }

    /// The field's value, shifted down to bit 0.
    @inline(__always) public func extract(from raw: UInt64) -> UInt64 {
        (raw >> low) & valueMask
    }

    /// `raw` with the field replaced by `value`. Bits of `value` above the field's width are dropped:
    /// callers that take wider input check it first (see `fits`).
    @inline(__always) public func insert(_ value: UInt64, into raw: UInt64) -> UInt64 {
        (raw & ~mask) | ((value & valueMask) << low)
    }

    /// Whether `value` can be stored in the field without losing bits.
    @inline(__always) public func fits(_ value: UInt64) -> Bool { value & ~valueMask == 0 }
}

/// A register or table-entry value held as its raw 64 bits; layouts declare `BitField`s on it.
public protocol RegisterValue: Equatable, Sendable {
    var raw: UInt64 { get set }
    init(raw: UInt64)
}

extension RegisterValue {
    /// The value of a multi-bit field.
    @inline(__always) public subscript(field: BitField) -> UInt64 {
        get { field.extract(from: raw) }
        set { raw = field.insert(newValue, into: raw) }
    }

    /// A one-bit field as a flag (for a wider field: whether any of its bits is set).
    @inline(__always) public subscript(flag field: BitField) -> Bool {
        get { raw & field.mask != 0 }
        set { raw = newValue ? raw | field.mask : raw & ~field.mask }
    }

    /// A copy with `field` set to `value` (bits beyond the field's width dropped).
    @inline(__always) public func with(_ field: BitField, _ value: UInt64) -> Self {
        var copy = self
        copy[field] = value
        return copy
    }

    /// A copy with the one-bit `field` set or cleared.
    @inline(__always) public func with(_ field: BitField, _ on: Bool) -> Self {
        var copy = self
        copy[flag: field] = on
        return copy
    }
}

/// The XLEN encoding shared by `misa`.MXL, `hstatus`.VSXL and `sstatus`/`vsstatus`.UXL.
public enum Xlen: UInt64, Sendable {
    case rv32 = 1
    case rv64 = 2
    case rv128 = 3
}

/// A set of single-bit flags in one raw value (interrupt sets, exception sets, permissions).
/// Used instead of `OptionSet`, whose `SetAlgebra` conformance drags Array into Embedded builds.
public protocol FlagSet: Equatable, Sendable {
    var rawValue: UInt64 { get set }
    init(rawValue: UInt64)
}

extension FlagSet {
    public static var empty: Self { Self(rawValue: 0) }
    @inline(__always) public var isEmpty: Bool { rawValue == 0 }
    @inline(__always) public func contains(_ other: Self) -> Bool { rawValue & other.rawValue == other.rawValue }
    @inline(__always) public func intersects(_ other: Self) -> Bool { rawValue & other.rawValue != 0 }
    @inline(__always) public func union(_ other: Self) -> Self { Self(rawValue: rawValue | other.rawValue) }
    @inline(__always) public func intersection(_ other: Self) -> Self { Self(rawValue: rawValue & other.rawValue) }
    @inline(__always) public func subtracting(_ other: Self) -> Self { Self(rawValue: rawValue & ~other.rawValue) }
    @inline(__always) public mutating func insert(_ other: Self) { rawValue |= other.rawValue }
    @inline(__always) public mutating func remove(_ other: Self) { rawValue &= ~other.rawValue }
    /// Union, for declaring sets without array literals (which would allocate in Embedded Swift).
    @inline(__always) public static func | (a: Self, b: Self) -> Self { Self(rawValue: a.rawValue | b.rawValue) }
}
