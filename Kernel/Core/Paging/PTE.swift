// The Sv39 page-table entry (also the G-stage Sv39x4 format) and leaf permissions.

/// Read/write/execute permissions of a leaf mapping (the PTE's R, W and X bits).
public struct PagePermissions: FlagSet {
    public var rawValue: UInt64
    @inline(__always) public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let read = PagePermissions(rawValue: 1 << 0)
    public static let write = PagePermissions(rawValue: 1 << 1)
    public static let execute = PagePermissions(rawValue: 1 << 2)

    public static let readOnly: PagePermissions = .read
    public static let readWrite: PagePermissions = .read | .write
    public static let readExecute: PagePermissions = .read | .execute
    public static let readWriteExecute: PagePermissions = .read | .write | .execute

    /// Whether a leaf may carry these permissions: at least one of R/X, and W only with R
    /// (R=0, W=1 is a reserved encoding).
    public var isValidLeaf: Bool {
        let known = PagePermissions.readWriteExecute
        guard subtracting(known).isEmpty, intersects(.read | .execute) else { return false }
        return !contains(.write) || contains(.read)
    }
}

/// An Sv39 page-table entry. G-stage (Sv39x4) tables use the same format.
public struct PTE: RegisterValue {
    public var raw: UInt64
    @inline(__always) public init(raw: UInt64) { self.raw = raw }

    // Field layout, bit positions as in the spec's Sv39 PTE figure.
    public static let V = BitField(bit: 0)
    public static let R = BitField(bit: 1)
    public static let W = BitField(bit: 2)
    public static let X = BitField(bit: 3)
    public static let U = BitField(bit: 4)
    public static let G = BitField(bit: 5)
    public static let A = BitField(bit: 6)
    public static let D = BitField(bit: 7)
    /// Reserved for supervisor software.
    public static let RSW = BitField(bits: 9, 8)
    /// PPN[2]:PPN[1]:PPN[0], 44 bits.
    public static let PPN = BitField(bits: 53, 10)
    public static let PPN0 = BitField(bits: 18, 10)
    public static let PPN1 = BitField(bits: 27, 19)
    public static let PPN2 = BitField(bits: 53, 28)
    /// Reserved: must be zero (a set bit makes the walk fault).
    public static let Reserved = BitField(bits: 60, 54)
    /// Page-based memory type (Svpbmt).
    public static let PBMT = BitField(bits: 62, 61)
    /// NAPOT translation contiguity (Svnapot).
    public static let N = BitField(bit: 63)

    /// An invalid (zero) entry.
    public static let invalid = PTE(raw: 0)

    public var v: Bool { self[flag: Self.V] }
    public var r: Bool { self[flag: Self.R] }
    public var w: Bool { self[flag: Self.W] }
    public var x: Bool { self[flag: Self.X] }
    public var u: Bool { self[flag: Self.U] }
    public var g: Bool { self[flag: Self.G] }
    public var a: Bool { self[flag: Self.A] }
    public var d: Bool { self[flag: Self.D] }
    public var ppn: UInt64 { self[Self.PPN] }

    /// V=1 and at least one of R/X: the entry maps a page.
    public var isLeaf: Bool { v && (r || x) }
    /// V=1 and R=W=X=0: the entry points to the next-level table.
    public var isTable: Bool { v && !r && !w && !x }

    /// The physical address the PPN names (page or next table).
    public var address: HostPhysAddr { HostPhysAddr(ppn << 12) }

    public var permissions: PagePermissions {
        var p = PagePermissions.empty
        if r { p.insert(.read) }
        if w { p.insert(.write) }
        if x { p.insert(.execute) }
        return p
    }

    /// A G-stage leaf mapping `address` with `permissions`. U=1 (G-stage accesses are checked as
    /// U-mode accesses), A=D=1 (no hardware or software A/D updates needed), G=0 (reserved in
    /// G-stage PTEs). `nil` when the address is not 4 KiB-aligned or beyond 56 bits, or the
    /// permissions are not a valid leaf encoding.
    public static func gStageLeaf(address: HostPhysAddr, permissions: PagePermissions) -> PTE? {
        guard permissions.isValidLeaf, let ppn = pageNumber(address) else { return nil }
        var e = PTE(raw: 0)
        e[flag: V] = true
        e[flag: R] = permissions.contains(.read)
        e[flag: W] = permissions.contains(.write)
        e[flag: X] = permissions.contains(.execute)
        e[flag: U] = true
        e[flag: A] = true
        e[flag: D] = true
        e[PPN] = ppn
        return e
    }

    /// A leaf of the hypervisor's own Sv39 table (HS-mode): U=0 (supervisor pages), G=1 (one
    /// address space on every hart), A=D=1 (RISC-V privileged spec §12.3.1: no A/D updates
    /// needed). `nil` like gStageLeaf.
    public static func hostLeaf(address: HostPhysAddr, permissions: PagePermissions) -> PTE? {
        guard var e = gStageLeaf(address: address, permissions: permissions) else { return nil }
        e[flag: U] = false
        e[flag: G] = true
        return e
    }

    /// A non-leaf entry pointing to the table at `next`. D, A and U are left clear as the spec
    /// requires for non-leaf PTEs. `nil` when `next` is not 4 KiB-aligned or beyond 56 bits.
    public static func table(next: HostPhysAddr) -> PTE? {
        guard let ppn = pageNumber(next) else { return nil }
        var e = PTE(raw: 0)
        e[flag: V] = true
        e[PPN] = ppn
        return e
    }

    @inline(__always) static func pageNumber(_ address: HostPhysAddr) -> UInt64? {
        guard address.isAligned(to: PageSize.base) else { return nil }
        let ppn = address.raw >> 12
        return PPN.fits(ppn) ? ppn : nil
    }
}
