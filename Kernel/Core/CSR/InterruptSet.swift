// Interrupt bit sets for sip/sie, hip/hie, hvip, hideleg and vsip/vsie: bit n is interrupt code n.

/// A set of interrupts laid out as the standard portion (bits 15:0) of `sip`/`sie`, `hip`/`hie`,
/// `hvip`, `hideleg`, `mideleg`, `vsip`/`vsie`: the pending (xIP) or enable (xIE) bit of interrupt
/// code n is bit n.
public struct InterruptSet: FlagSet {
    public var rawValue: UInt64
    @inline(__always) public init(rawValue: UInt64) { self.rawValue = rawValue }
    @inline(__always) public init(raw: UInt64) { self.rawValue = raw }
    public var raw: UInt64 { rawValue }

    /// The bit of one interrupt code.
    @inline(__always) public init(_ code: InterruptCode) { rawValue = UInt64(1) << code.rawValue }

    /// SSIP / SSIE, bit 1.
    public static let ssi = InterruptSet(.ssi)
    /// VSSIP / VSSIE, bit 2.
    public static let vssi = InterruptSet(.vssi)
    /// STIP / STIE, bit 5.
    public static let sti = InterruptSet(.sti)
    /// VSTIP / VSTIE, bit 6.
    public static let vsti = InterruptSet(.vsti)
    /// SEIP / SEIE, bit 9.
    public static let sei = InterruptSet(.sei)
    /// VSEIP / VSEIE, bit 10.
    public static let vsei = InterruptSet(.vsei)
    /// SGEIP / SGEIE, bit 12.
    public static let sgei = InterruptSet(.sgei)
    /// LCOFIP / LCOFIE, bit 13.
    public static let lcofi = InterruptSet(.lcofi)

    /// The VS-level interrupts (VSSI, VSTI, VSEI): the writable bits of `hvip` and the standard
    /// writable bits of `hideleg`.
    public static let vsLevel: InterruptSet = .vssi | .vsti | .vsei
    /// The HS-level supervisor interrupts (SSI, STI, SEI).
    public static let sLevel: InterruptSet = .ssi | .sti | .sei

    @inline(__always) public func contains(_ code: InterruptCode) -> Bool {
        contains(InterruptSet(code))
    }
}

public typealias Sip = InterruptSet
public typealias Sie = InterruptSet
public typealias Hip = InterruptSet
public typealias Hie = InterruptSet
public typealias Hvip = InterruptSet
public typealias Hideleg = InterruptSet
