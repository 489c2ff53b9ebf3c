// scause: the trap cause (interrupt bit + code) and the spec's exception and interrupt codes.

/// Exception codes (scause with Interrupt=0), from the privileged spec's cause table with the
/// H extension. Codes 14, 17 and 24+ are reserved or custom and have no case.
public enum ExceptionCode: UInt64, Sendable {
    case instructionAddressMisaligned = 0
    case instructionAccessFault = 1
    case illegalInstruction = 2
    case breakpoint = 3
    case loadAddressMisaligned = 4
    case loadAccessFault = 5
    case storeAddressMisaligned = 6
    case storeAccessFault = 7
    /// Environment call from U-mode or VU-mode.
    case ecallFromU = 8
    /// Environment call from HS-mode.
    case ecallFromHS = 9
    /// Environment call from VS-mode: a guest's SBI call or hypercall.
    case ecallFromVS = 10
    case ecallFromM = 11
    case instructionPageFault = 12
    case loadPageFault = 13
    case storePageFault = 15
    case doubleTrap = 16
    case softwareCheck = 18
    case hardwareError = 19
    case instructionGuestPageFault = 20
    case loadGuestPageFault = 21
    case virtualInstruction = 22
    case storeGuestPageFault = 23
}

/// Interrupt codes (scause with Interrupt=1). The same number is the bit position in
/// sip/sie/hip/hie/hvip/hideleg (see `InterruptSet`).
public enum InterruptCode: UInt64, Sendable {
    /// Supervisor software interrupt.
    case ssi = 1
    /// Virtual supervisor software interrupt.
    case vssi = 2
    /// Machine software interrupt.
    case msi = 3
    /// Supervisor timer interrupt.
    case sti = 5
    /// Virtual supervisor timer interrupt.
    case vsti = 6
    /// Machine timer interrupt.
    case mti = 7
    /// Supervisor external interrupt.
    case sei = 9
    /// Virtual supervisor external interrupt.
    case vsei = 10
    /// Machine external interrupt.
    case mei = 11
    /// Supervisor guest external interrupt.
    case sgei = 12
    /// Local counter-overflow interrupt.
    case lcofi = 13
}

/// What an `scause` value says, decoded once.
public enum TrapCause: Equatable, Sendable {
    case exception(ExceptionCode)
    case interrupt(InterruptCode)
    /// A reserved, custom or platform code: handled as a fault, never trusted further.
    case unknown(interrupt: Bool, code: UInt64)
}

/// `scause` (SXLEN=64): Interrupt bit 63, exception code 62:0.
public struct Scause: RegisterValue {
    public var raw: UInt64
    @inline(__always) public init(raw: UInt64) { self.raw = raw }

    public static let Interrupt = BitField(bit: 63)
    /// The spec's "Exception Code" field (for interrupts too).
    public static let Code = BitField(bits: 62, 0)

    public init(exception: ExceptionCode) { raw = exception.rawValue }
    public init(interrupt: InterruptCode) {
        raw = Self.Interrupt.insert(1, into: interrupt.rawValue)
    }

    public var isInterrupt: Bool { self[flag: Self.Interrupt] }
    public var code: UInt64 { self[Self.Code] }

    @inline(__always) public var cause: TrapCause {
        if isInterrupt {
            if let i = InterruptCode(rawValue: code) { return .interrupt(i) }
        } else {
            if let e = ExceptionCode(rawValue: code) { return .exception(e) }
        }
        return .unknown(interrupt: isInterrupt, code: code)
    }
}
