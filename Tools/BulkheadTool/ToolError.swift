// The CLI's single error type: a complete, user-facing message naming the file, partition and key.
import BulkheadCore

/// A failure of a `bulkhead` command. `message` is printed as is (no "error:" prefix).
public struct ToolError: Error, Equatable, CustomStringConvertible {
    public var message: String
    /// The plan validation error behind this failure, if that is what it was.
    public var planError: PlanError?
    /// The bundle format error behind this failure, if that is what it was.
    public var bundleError: BundleError?
    /// The signature or digest check that failed, if that is what it was.
    public var signatureProblem: SignatureProblem?
    /// What went wrong: the input (exit code 1) or reading or writing a file (exit code 2).
    public var kind: Kind

    /// The kinds of failure, each with its own exit code (README.md, "Exit codes").
    public enum Kind: Equatable, Sendable {
        /// Bad configuration, bad bundle, bad key, failed verification: exit code 1.
        case invalidInput
        /// A file that cannot be read or written: exit code 2.
        case io
    }

    public init(_ message: String, planError: PlanError? = nil, bundleError: BundleError? = nil,
                signatureProblem: SignatureProblem? = nil, kind: Kind = .invalidInput) {
        self.message = message; self.planError = planError; self.bundleError = bundleError
        self.signatureProblem = signatureProblem; self.kind = kind
    }

    /// A file that cannot be read or written (exit code 2).
    public static func io(_ message: String) -> ToolError { ToolError(message, kind: .io) }

    /// `PATH: cannot read WHAT: <plain reason>` for `error` thrown by Foundation or the system.
    public static func cannotRead(_ path: String, _ what: String, _ error: Error) -> ToolError {
        .io("\(path): cannot read \(what): \(FileReason.reason(error, path: path))")
    }

    public var description: String { message }

    /// The process exit code for this failure.
    public var exitCode: Int32 { ToolError.exitCode(kind) }

    /// The documented exit codes: 0 success, 1 invalid input, 2 I/O error, 64 usage (a bad command
    /// line, reported by ArgumentParser with its own code, EX_USAGE).
    public static func exitCode(_ kind: Kind) -> Int32 {
        switch kind {
        case .invalidInput: return 1
        case .io: return 2
        }
    }
    public static let exitSuccess: Int32 = 0
    public static let exitUsage: Int32 = 64

    /// `FILE: <PlanError text>`, with partition names taken from `plan`.
    static func plan(_ error: PlanError, file: String, plan: PartitionPlan, suffix: String = "") -> ToolError {
        var sink = StringSink()
        error.write(to: &sink, plan: plan)
        return ToolError("\(file): \(sink.text)\(suffix)", planError: error)
    }

    /// `FILE: <BundleError text>`.
    static func bundle(_ error: BundleError, file: String) -> ToolError {
        var sink = StringSink()
        error.write(to: &sink)
        return ToolError("\(file): \(sink.text)", bundleError: error)
    }
}

/// Where a configuration error is: `partition #1 "heartbeat", field memory_size`.
struct ConfigLocation {
    var file: String
    var partition: Int
    var name: String?

    /// `FILE: partition #i "name"`.
    var prefix: String {
        var s = "\(file): partition #\(partition)"
        if let name { s += " \"\(name)\"" }
        return s
    }

    func error(_ text: String) -> ToolError { ToolError("\(prefix): \(text)") }
    func error(field: String, _ text: String) -> ToolError { ToolError("\(prefix), field \(field): \(text)") }
    /// A file named by `field` that cannot be read (exit code 2).
    func ioError(field: String, _ text: String) -> ToolError { .io("\(prefix), field \(field): \(text)") }
}
