// `--json`: each command's result as one JSON object on standard output (docs/cli-json.md),
// encoded by Foundation's JSONEncoder from the Codable structs below.
import BulkheadCore
import Foundation

/// The object every `--json` command prints: what ran, whether it succeeded, every error and
/// warning (the lines standard error gets, without `error: `), and the command's result.
public struct JSONOutput<Result: Encodable>: Encodable {
    public var command: String
    public var ok: Bool
    public var errors: [String]
    public var warnings: [String]
    public var result: Result?

    /// The object as pretty-printed JSON with sorted keys, ending in a newline.
    public var text: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // The structs hold only strings, numbers, booleans and arrays: encoding cannot fail.
        let data = (try? encoder.encode(self)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// Runs `body`: its result, or the failure it throws, as a JSON object (`problem` also
    /// fails the run while keeping the result, as `inspect` does for a plan not valid for the board).
    public static func run(_ command: String,
                           _ body: () throws(ToolError) -> (result: Result, warnings: [String], problem: ToolError?))
        -> (output: JSONOutput, error: ToolError?) {
        do {
            let (result, warnings, problem) = try body()
            let errors = problem.map { $0.all.map(\.message) } ?? []
            return (JSONOutput(command: command, ok: problem == nil, errors: errors, warnings: warnings, result: result), problem)
        } catch {
            return (JSONOutput(command: command, ok: false, errors: error.all.map(\.message), warnings: [], result: nil), error)
        }
    }
}

/// `check --json`: the plan is valid for the board.
public struct CheckResult: Codable, Equatable, Sendable {
    public var file: String
    /// `qemu-virt (RAM 0x80000000 + 1 GiB, harts 0-7)`.
    public var board: String
    public var partitions: [String]
    public var channels: [String]
}

/// `verify --json`: the signature and every digest check out.
public struct VerifyResult: Codable, Equatable, Sendable {
    public var file: String
    public var publicKey: String
    public var keyID: String
    public var securityVersion: UInt64
    public var images: Int
}

/// `inspect --json`: the bundle's manifest as the hypervisor's reader parses it.
public struct InspectResult: Codable, Equatable, Sendable {
    public struct Partition: Codable, Equatable, Sendable {
        public var index: Int
        public var name: String
        public var harts: [UInt32]
        public var memoryBase: UInt64
        public var memorySize: UInt64
        public var entry: UInt64
        /// "bulkhead", "linux" or "payload".
        public var kind: String
        public var imageSize: Int
        public var imageLoadAddress: UInt64
        public var imageDigest: String
        public var initrdSize: Int
        public var initrdDigest: String?
        /// "stop" or "restart".
        public var onFault: String
        public var bootargs: String
        public var keys: [String]
        public var uart: Bool
        public var dmaTrusted: Bool
        public var devices: [String]
    }

    public struct Channel: Codable, Equatable, Sendable {
        public var index: Int
        public var name: String
        /// "queue" or "shared".
        public var kind: String
        /// The partition indices at endpoint 0 and 1.
        public var endpoints: [Int]
        /// "both" or "forward".
        public var direction: String
        public var depth: UInt32
        public var messageSize: UInt32
        public var size: UInt64
        /// "rw" or "ro" per endpoint, as written (shared memory only; empty for a queue).
        public var access: [String]
        public var doorbell: Bool
    }

    public var file: String
    public var formatVersion: Int
    public var length: Int
    public var securityVersion: UInt64
    public var keyID: String
    public var signature: String
    /// `[bundle] require_rollback_floor`: boots only where the anti-rollback floor is persistent.
    public var requireRollbackFloor: Bool
    public var partitions: [Partition]
    public var channels: [Channel]
    /// The board the plan was validated for, and whether it is valid there.
    public var board: String
    public var planValid: Bool
}

/// `flash-info --json`: what a bundle flash image holds.
public struct FlashInfoResult: Codable, Equatable, Sendable {
    public struct Slot: Codable, Equatable, Sendable {
        /// "A" or "B".
        public var slot: String
        /// "empty", "bundle, ..." or "not a valid bundle: ...", as the text listing says.
        public var status: String
    }

    public struct StateCopy: Codable, Equatable, Sendable {
        /// "A" or "B".
        public var copy: String
        public var status: String
    }

    public struct State: Codable, Equatable, Sendable {
        /// No copy is valid: the factory state is in force.
        public var factory: Bool
        public var minimumSecurityVersion: UInt64
        public var bootAttemptsA: Int
        public var bootAttemptsB: Int
        public var lastBootedSlot: String?
        public var preferredSlot: String?
    }

    public var file: String
    public var board: String
    public var size: Int
    /// The entry stub's status when the layout has one ("jump to 0x...", "erased", ...).
    public var entryStub: String?
    public var slots: [Slot]
    public var stateCopies: [StateCopy]
    public var state: State
    /// One line per keystore copy, as the text listing says.
    public var keystore: [String]
    /// "provisioned (fingerprint ...)", "not provisioned ..." or why the record is not valid.
    public var deviceSecret: String?
}

/// `attest verify --json`: the report's fields, its signature valid.
public struct AttestVerifyResult: Codable, Equatable, Sendable {
    public var file: String
    public var version: Int
    public var securityVersion: UInt64
    public var hypervisorIdentity: String
    public var partitionName: String
    public var measurement: String
    public var policyDigest: String
    public var nonce: String
    /// `--nonce` was given and matches.
    public var nonceChecked: Bool
    public var deviceKey: String
    /// With `--bundle`: what the policy holds, one line each, as the text listing says.
    public var policy: [String]
}
