// hcounteren: which counters VS/VU-mode may read (others raise virtual-instruction exceptions).

/// `hcounteren` (32 bits, held in a UInt64): CY bit 0, TM bit 1, IR bit 2, HPMn bit n (3...31).
public struct Hcounteren: RegisterValue {
    public var raw: UInt64
    @inline(__always) public init(raw: UInt64) { self.raw = raw }
    @inline(__always) public init() { self.raw = 0 }

    /// `cycle`.
    public static let CY = BitField(bit: 0)
    /// `time`.
    public static let TM = BitField(bit: 1)
    /// `instret`.
    public static let IR = BitField(bit: 2)
    /// `hpmcounter3`...`hpmcounter31`; `nil` for other n.
    public static func HPM(_ n: UInt64) -> BitField? {
        guard n >= 3, n <= 31 else { return nil }
        return BitField(bit: n)
    }

    public var cy: Bool { get { self[flag: Self.CY] } set { self[flag: Self.CY] = newValue } }
    public var tm: Bool { get { self[flag: Self.TM] } set { self[flag: Self.TM] = newValue } }
    public var ir: Bool { get { self[flag: Self.IR] } set { self[flag: Self.IR] = newValue } }
}
