// sstatus (and vsstatus, same layout): the supervisor status register, as a typed value.

/// `sstatus` / `vsstatus` (SXLEN=64). The Arch layer reads and writes the raw value.
public struct Sstatus: RegisterValue {
    public var raw: UInt64
    @inline(__always) public init(raw: UInt64) { self.raw = raw }
    @inline(__always) public init() { self.raw = 0 }

    /// Context status encoding of the FS, VS and XS fields.
    public enum ContextStatus: UInt64, Sendable {
        case off = 0, initial = 1, clean = 2, dirty = 3
    }

    // Field layout, bit positions as in the spec's sstatus figure (SXLEN=64).
    /// Supervisor interrupt enable.
    public static let SIE = BitField(bit: 1)
    /// Supervisor previous interrupt enable.
    public static let SPIE = BitField(bit: 5)
    /// Big-endian explicit accesses from U-mode.
    public static let UBE = BitField(bit: 6)
    /// Supervisor previous privilege: 1 = S (or VS), 0 = U (or VU).
    public static let SPP = BitField(bit: 8)
    /// Vector context status.
    public static let VS = BitField(bits: 10, 9)
    /// Floating-point context status.
    public static let FS = BitField(bits: 14, 13)
    /// Other extension context status (read-only summary).
    public static let XS = BitField(bits: 16, 15)
    /// Permit supervisor access to user memory.
    public static let SUM = BitField(bit: 18)
    /// Make executable readable.
    public static let MXR = BitField(bit: 19)
    /// Previous expected-landing-pad state (Zicfilp).
    public static let SPELP = BitField(bit: 23)
    /// Supervisor disable-trap (Ssdbltrp).
    public static let SDT = BitField(bit: 24)
    /// Effective XLEN of U-mode (`Xlen` encoding).
    public static let UXL = BitField(bits: 33, 32)
    /// Some context (FS, VS or XS) is dirty (read-only summary).
    public static let SD = BitField(bit: 63)

    public var sie: Bool { get { self[flag: Self.SIE] } set { self[flag: Self.SIE] = newValue } }
    public var spie: Bool { get { self[flag: Self.SPIE] } set { self[flag: Self.SPIE] = newValue } }
    public var ube: Bool { get { self[flag: Self.UBE] } set { self[flag: Self.UBE] = newValue } }
    public var spp: Bool { get { self[flag: Self.SPP] } set { self[flag: Self.SPP] = newValue } }
    public var sum: Bool { get { self[flag: Self.SUM] } set { self[flag: Self.SUM] = newValue } }
    public var mxr: Bool { get { self[flag: Self.MXR] } set { self[flag: Self.MXR] = newValue } }
    public var spelp: Bool { get { self[flag: Self.SPELP] } set { self[flag: Self.SPELP] = newValue } }
    public var sdt: Bool { get { self[flag: Self.SDT] } set { self[flag: Self.SDT] = newValue } }
    public var sd: Bool { self[flag: Self.SD] }
    public var fs: ContextStatus {
        get { ContextStatus(rawValue: self[Self.FS]) ?? .off }
        set { self[Self.FS] = newValue.rawValue }
    }
    public var vs: ContextStatus {
        get { ContextStatus(rawValue: self[Self.VS]) ?? .off }
        set { self[Self.VS] = newValue.rawValue }
    }
    public var xs: ContextStatus { ContextStatus(rawValue: self[Self.XS]) ?? .off }
    /// `nil` when the field holds the reserved encoding 0.
    public var uxl: Xlen? {
        get { Xlen(rawValue: self[Self.UXL]) }
        set { self[Self.UXL] = newValue?.rawValue ?? 0 }
    }
}

/// `vsstatus` has the same layout as `sstatus`.
public typealias Vsstatus = Sstatus
