// Exception bit sets for hedeleg (and medeleg): bit n delegates exception code n.

/// A set of exceptions laid out as `hedeleg`/`medeleg`: bit n is exception code n.
public struct ExceptionSet: FlagSet {
    public var rawValue: UInt64
    @inline(__always) public init(rawValue: UInt64) { self.rawValue = rawValue }
    @inline(__always) public init(raw: UInt64) { self.rawValue = raw }
    public var raw: UInt64 { rawValue }

    /// The bit of one exception code.
    @inline(__always) public init(_ code: ExceptionCode) { rawValue = UInt64(1) << code.rawValue }

    @inline(__always) public func contains(_ code: ExceptionCode) -> Bool {
        contains(ExceptionSet(code))
    }

    /// Bits the spec requires to be writable in `hedeleg` (bit 0 is writable when IALIGN=32).
    public static let hedelegWritable: ExceptionSet =
        ExceptionSet(.instructionAccessFault) | ExceptionSet(.illegalInstruction) |
        ExceptionSet(.breakpoint) | ExceptionSet(.loadAddressMisaligned) |
        ExceptionSet(.loadAccessFault) | ExceptionSet(.storeAddressMisaligned) |
        ExceptionSet(.storeAccessFault) | ExceptionSet(.ecallFromU) |
        ExceptionSet(.instructionPageFault) | ExceptionSet(.loadPageFault) |
        ExceptionSet(.storePageFault) | ExceptionSet(.softwareCheck) | ExceptionSet(.hardwareError)

    /// Bits the spec makes read-only zero in `hedeleg`: these always reach HS-mode.
    public static let hedelegReadOnlyZero: ExceptionSet =
        ExceptionSet(.ecallFromHS) | ExceptionSet(.ecallFromVS) | ExceptionSet(.ecallFromM) |
        ExceptionSet(.doubleTrap) | ExceptionSet(.instructionGuestPageFault) |
        ExceptionSet(.loadGuestPageFault) | ExceptionSet(.virtualInstruction) |
        ExceptionSet(.storeGuestPageFault)

    /// Exceptions a guest handles itself: they concern only its own VS-stage state and user code
    /// (misaligned fetch, breakpoint, U-mode ecall, VS-stage page faults).
    public static let guestOwned: ExceptionSet =
        ExceptionSet(.instructionAddressMisaligned) | ExceptionSet(.breakpoint) |
        ExceptionSet(.ecallFromU) | ExceptionSet(.instructionPageFault) |
        ExceptionSet(.loadPageFault) | ExceptionSet(.storePageFault)
}

public typealias Hedeleg = ExceptionSet
public typealias Medeleg = ExceptionSet
