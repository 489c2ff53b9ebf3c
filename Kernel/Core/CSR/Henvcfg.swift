// henvcfg: the execution environment of V=1 (fences, cache-block ops, Svpbmt, Sstc, ...).

/// `henvcfg` (64 bits).
public struct Henvcfg: RegisterValue {
    public var raw: UInt64
    @inline(__always) public init(raw: UInt64) { self.raw = raw }
    @inline(__always) public init() { self.raw = 0 }

    /// Encoding of the CBIE field (Zicbom).
    public enum CacheBlockInvalidate: UInt64, Sendable {
        case illegal = 0, flush = 1, invalidate = 3
    }

    /// Fence of I/O implies memory.
    public static let FIOM = BitField(bit: 0)
    /// Landing pads (Zicfilp) enabled in VS-mode.
    public static let LPE = BitField(bit: 2)
    /// Shadow stacks (Zicfiss) enabled in VS-mode.
    public static let SSE = BitField(bit: 3)
    /// Cache-block invalidate instruction enable (Zicbom).
    public static let CBIE = BitField(bits: 5, 4)
    /// Cache-block clean and flush enable (Zicbom).
    public static let CBCFE = BitField(bit: 6)
    /// Cache-block zero enable (Zicboz).
    public static let CBZE = BitField(bit: 7)
    /// Pointer masking mode (Ssnpm).
    public static let PMM = BitField(bits: 33, 32)
    /// Double-trap enable (Ssdbltrp).
    public static let DTE = BitField(bit: 59)
    /// Hardware A/D updating for VS-stage translation (Svadu).
    public static let ADUE = BitField(bit: 61)
    /// Svpbmt available to VS-stage translation.
    public static let PBMTE = BitField(bit: 62)
    /// `stimecmp`/`vstimecmp` (Sstc) enabled.
    public static let STCE = BitField(bit: 63)

    public var fiom: Bool { get { self[flag: Self.FIOM] } set { self[flag: Self.FIOM] = newValue } }
    public var cbcfe: Bool { get { self[flag: Self.CBCFE] } set { self[flag: Self.CBCFE] = newValue } }
    public var cbze: Bool { get { self[flag: Self.CBZE] } set { self[flag: Self.CBZE] = newValue } }
    public var adue: Bool { get { self[flag: Self.ADUE] } set { self[flag: Self.ADUE] = newValue } }
    public var pbmte: Bool { get { self[flag: Self.PBMTE] } set { self[flag: Self.PBMTE] = newValue } }
    public var stce: Bool { get { self[flag: Self.STCE] } set { self[flag: Self.STCE] = newValue } }
    /// `nil` for the reserved encoding 2.
    public var cbie: CacheBlockInvalidate? {
        get { CacheBlockInvalidate(rawValue: self[Self.CBIE]) }
        set { self[Self.CBIE] = newValue?.rawValue ?? 0 }
    }
}
