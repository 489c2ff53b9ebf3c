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

    public init(_ message: String, planError: PlanError? = nil, bundleError: BundleError? = nil,
                signatureProblem: SignatureProblem? = nil) {
        self.message = message; self.planError = planError; self.bundleError = bundleError
        self.signatureProblem = signatureProblem
    }

    public var description: String { message }

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
}
