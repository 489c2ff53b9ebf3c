// hstatus: the hypervisor status register (H extension), as a typed value.

/// `hstatus` (HSXLEN=64). Written by the Arch layer's CSR accessors; Core only builds and reads values.
public struct Hstatus: RegisterValue {
    public var raw: UInt64
    @inline(__always) public init(raw: UInt64) { self.raw = raw }
    @inline(__always) public init() { self.raw = 0 }

    // Field layout, bit positions as in the spec's hstatus figure (HSXLEN=64).
    /// Big-endian explicit accesses from VS-mode.
    public static let VSBE = BitField(bit: 5)
    /// Guest virtual address: the trap wrote a guest virtual address to `stval`.
    public static let GVA = BitField(bit: 6)
    /// Supervisor previous virtualization mode: V at the time of the trap; SRET sets V from it.
    public static let SPV = BitField(bit: 7)
    /// Supervisor previous virtual privilege: the nominal privilege of HLV/HLVX/HSV accesses.
    public static let SPVP = BitField(bit: 8)
    /// Hypervisor load/store instructions allowed in U-mode.
    public static let HU = BitField(bit: 9)
    /// Virtual guest external interrupt number (which `hgeip` bit drives VSEIP).
    public static let VGEIN = BitField(bits: 17, 12)
    /// Trap SFENCE.VMA / SINVAL.VMA / `satp` access in VS-mode (virtual-instruction exception).
    public static let VTVM = BitField(bit: 20)
    /// Trap WFI in VS-mode (virtual-instruction exception).
    public static let VTW = BitField(bit: 21)
    /// Trap SRET in VS-mode (virtual-instruction exception).
    public static let VTSR = BitField(bit: 22)
    /// Effective XLEN of VS-mode (`Xlen` encoding).
    public static let VSXL = BitField(bits: 33, 32)

    public var vsbe: Bool { get { self[flag: Self.VSBE] } set { self[flag: Self.VSBE] = newValue } }
    public var gva: Bool { get { self[flag: Self.GVA] } set { self[flag: Self.GVA] = newValue } }
    public var spv: Bool { get { self[flag: Self.SPV] } set { self[flag: Self.SPV] = newValue } }
    public var spvp: Bool { get { self[flag: Self.SPVP] } set { self[flag: Self.SPVP] = newValue } }
    public var hu: Bool { get { self[flag: Self.HU] } set { self[flag: Self.HU] = newValue } }
    public var vtvm: Bool { get { self[flag: Self.VTVM] } set { self[flag: Self.VTVM] = newValue } }
    public var vtw: Bool { get { self[flag: Self.VTW] } set { self[flag: Self.VTW] = newValue } }
    public var vtsr: Bool { get { self[flag: Self.VTSR] } set { self[flag: Self.VTSR] = newValue } }
    /// Guest external interrupt number, 0...63 (0: none selected). Wider values are truncated.
    public var vgein: UInt8 {
        get { UInt8(truncatingIfNeeded: self[Self.VGEIN]) }
        set { self[Self.VGEIN] = UInt64(newValue) }
    }
    /// `nil` when the field holds the reserved encoding 0.
    public var vsxl: Xlen? {
        get { Xlen(rawValue: self[Self.VSXL]) }
        set { self[Self.VSXL] = newValue?.rawValue ?? 0 }
    }
}
