// SBI v2.0 constants (SBI spec: "Binary Encoding", each extension's chapter) and the call/result types.

/// Standard SBI error codes (SBI spec v2.0, table "Standard SBI Errors").
public enum SBIError: Int64, Sendable {
    case failed = -1
    case notSupported = -2
    case invalidParam = -3
    case denied = -4
    case invalidAddress = -5
    case alreadyAvailable = -6
    case alreadyStarted = -7
    case alreadyStopped = -8
    case noShmem = -9
}

/// What goes back to the guest in a0 (error) and a1 (value).
public struct SBIResult: Equatable, Sendable {
    public var error: Int64
    public var value: UInt64
    public init(error: Int64, value: UInt64) { self.error = error; self.value = value }
    public static func success(_ value: UInt64 = 0) -> SBIResult { SBIResult(error: 0, value: value) }
    public static func failure(_ e: SBIError) -> SBIResult { SBIResult(error: e.rawValue, value: 0) }
}

/// Extension ids (SBI spec v2.0).
public enum SBIExtension {
    public static let legacySetTimer: UInt64 = 0x00
    public static let legacyPutchar: UInt64 = 0x01
    public static let legacyGetchar: UInt64 = 0x02
    public static let base: UInt64 = 0x10
    public static let time: UInt64 = 0x5449_4D45     // "TIME"
    public static let ipi: UInt64 = 0x0073_5049      // "sPI"
    public static let rfence: UInt64 = 0x5246_4E43   // "RFNC"
    public static let hsm: UInt64 = 0x0048_534D      // "HSM"
    public static let srst: UInt64 = 0x5352_5354     // "SRST"
    public static let pmu: UInt64 = 0x0050_4D55      // "PMU"
    public static let dbcn: UInt64 = 0x4442_434E     // "DBCN"
}

/// The SBI specification version we implement: 2.0 (major in bits 30:24, minor in 23:0).
public let sbiSpecVersion: UInt64 = 2 << 24
/// SBI implementation id. The SBI spec's registry has no entry for Bulkhead; we answer with this
/// value ("BH" in ASCII) and document it in the README.
public let sbiImplementationID: UInt64 = 0x4248
/// Bulkhead's own version as the SBI implementation version (major << 16 | minor).
public let sbiImplementationVersion: UInt64 = 0 << 16 | 1

/// SBI HSM hart states (SBI spec v2.0, "Hart State Management Extension").
public enum HSMState: UInt32, Sendable {
    case started = 0
    case stopped = 1
    case startPending = 2
    case stopPending = 3
    case suspended = 4
    case suspendPending = 5
    case resumePending = 6
}
