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
    /// Further errors found in the same run (a configuration's errors are all reported at once),
    /// each printed on its own `error:` line after this one.
    public var more: [ToolError] = []

    /// This error and the further ones, in the order found.
    public var all: [ToolError] { [ToolError(message, planError: planError, bundleError: bundleError,
                                             signatureProblem: signatureProblem, kind: kind)] + more }

    /// All of `errors` as one failure (the first carries the others in `more`): exit code 2 only
    /// when every one is a file that cannot be read, else 1. `nil` when there are none.
    static func collected(_ errors: [ToolError]) -> ToolError? {
        let flat = errors.flatMap(\.all)
        guard var first = flat.first else { return nil }
        first.more = Array(flat.dropFirst())
        if flat.contains(where: { $0.kind == .invalidInput }) { first.kind = .invalidInput }
        return first
    }

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

    /// Two failures are equal when their first errors are (`more` is not compared: compare `all`
    /// for every error of a run).
    public static func == (a: ToolError, b: ToolError) -> Bool {
        a.message == b.message && a.planError == b.planError && a.bundleError == b.bundleError
            && a.signatureProblem == b.signatureProblem && a.kind == b.kind
    }

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

    /// `FILE: <PlanError text>`, with partition names taken from `plan`; `FILE:LINE:` when `lines`
    /// knows where the field the error is about is written.
    static func plan(_ error: PlanError, file: String, plan: PartitionPlan, suffix: String = "",
                     lines: ConfigLines = ConfigLines()) -> ToolError {
        var sink = StringSink()
        error.write(to: &sink, plan: plan)
        return ToolError("\(lines.locate(error, file: file)): \(sink.text)\(suffix)", planError: error)
    }

    /// `FILE: <BundleError text>`.
    static func bundle(_ error: BundleError, file: String) -> ToolError {
        var sink = StringSink()
        error.write(to: &sink)
        return ToolError("\(file): \(sink.text)", bundleError: error)
    }
}

/// Where a configuration error is: `FILE:LINE: partition #1 "heartbeat", field memory_size`.
struct ConfigLocation {
    var file: String
    var partition: Int
    var name: String?
    /// Where the configuration's keys are written (empty: messages name the file only).
    var lines = ConfigLines()

    /// `FILE:LINE: partition #i "name"`, with the line of `key` (else of the table's header).
    func prefix(_ key: String?) -> String {
        var s = "\(lines.locate(file, "partition", partition, key: key)): partition #\(partition)"
        if let name { s += " \"\(name)\"" }
        return s
    }

    /// An error about the whole table (at its `[[partition]]` line).
    func error(_ text: String) -> ToolError { ToolError("\(prefix(nil)): \(text)") }
    /// An error about key `key`, at its line, that names no field (an unknown key).
    func error(key: String, _ text: String) -> ToolError { ToolError("\(prefix(key)): \(text)") }
    func error(field: String, _ text: String) -> ToolError { ToolError("\(prefix(field)), field \(field): \(text)") }
    /// A file named by `field` that cannot be read (exit code 2).
    func ioError(field: String, _ text: String) -> ToolError { .io("\(prefix(field)), field \(field): \(text)") }
}
