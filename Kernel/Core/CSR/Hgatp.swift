// hgatp: the G-stage translation root, VMID and mode, as a typed value.

/// `hgatp` (HSXLEN=64): MODE 63:60, VMID 57:44, PPN 43:0.
public struct Hgatp: RegisterValue {
    public var raw: UInt64
    @inline(__always) public init(raw: UInt64) { self.raw = raw }

    /// G-stage translation schemes (spec table "Encoding of hgatp MODE field", HSXLEN=64).
    public enum Mode: UInt64, Sendable {
        case bare = 0
        /// 41-bit guest-physical addresses, 16 KiB root table.
        case sv39x4 = 8
        case sv48x4 = 9
        case sv57x4 = 10
    }

    public static let MODE = BitField(bits: 63, 60)
    public static let VMID = BitField(bits: 57, 44)
    public static let PPN = BitField(bits: 43, 0)

    /// VMIDMAX for Sv39x4/Sv48x4/Sv57x4 is 14 bits; an implementation may keep fewer.
    public static let maxVMID: UInt16 = 0x3FFF
    /// Size and alignment of an x4 root table.
    public static let rootTableSize: UInt64 = 0x4000

    /// Bare: no G-stage translation (all other fields must be zero).
    public static let bare = Hgatp(raw: 0)

    /// An Sv39x4 `hgatp` for a root table at `root` tagged with `vmid`. `nil` when the root is not
    /// 16 KiB-aligned, lies beyond the 56-bit physical space, or `vmid` exceeds 14 bits.
    public init?(sv39x4Root root: HostPhysAddr, vmid: UInt16) {
        guard root.isAligned(to: Self.rootTableSize), vmid <= Self.maxVMID else { return nil }
        let ppn = root.raw >> 12
        guard Self.PPN.fits(ppn) else { return nil }
        var value = Hgatp(raw: 0)
        value[Self.MODE] = Mode.sv39x4.rawValue
        value[Self.VMID] = UInt64(vmid)
        value[Self.PPN] = ppn
        self = value
    }

    /// `nil` for a reserved MODE encoding.
    public var mode: Mode? { Mode(rawValue: self[Self.MODE]) }
    public var vmid: UInt16 { UInt16(truncatingIfNeeded: self[Self.VMID]) }
    public var ppn: UInt64 { self[Self.PPN] }
    /// Host-physical address of the root table.
    public var root: HostPhysAddr { HostPhysAddr(ppn << 12) }
}
