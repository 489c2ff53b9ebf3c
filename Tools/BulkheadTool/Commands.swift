// The `bulkhead` subcommands' logic (pack, check, inspect); Tools/bulkhead/main.swift only parses arguments.
import BulkheadCore
import Foundation

public enum Commands {
    /// `bulkhead check CONFIG`: parse, load the images, validate. Returns a one-line summary.
    public static func check(configPath: String, board options: BoardOptions) throws(ToolError) -> String {
        let board = try options.resolve()
        let loaded = try PlanBuilder.load(configPath: configPath, board: board)
        let n = loaded.plan.count
        return "\(configPath): OK: \(n) partition\(n == 1 ? "" : "s") valid for \(board.summary)"
    }

    /// `bulkhead pack CONFIG -o OUTPUT`: check, encode, re-read, write. Returns a one-line summary.
    public static func pack(configPath: String, output: String, board options: BoardOptions) throws(ToolError) -> String {
        let board = try options.resolve()
        let loaded = try PlanBuilder.load(configPath: configPath, board: board)
        let bundle = BundleWriter.encode(plan: loaded.plan, images: loaded.images)
        guard UInt64(bundle.count) <= board.data.bundleMaxSize else {
            throw ToolError("\(configPath): the bundle would be \(bundle.count) bytes; \(board.data.nameString)'s staging "
                            + "area at \(hex(board.data.bundleAddress.raw)) holds \(Size.describe(board.data.bundleMaxSize))")
        }
        // The kernel's reader must accept what we write: check before anything reaches a board.
        let reread = bundle.withUnsafeBytes { (bytes) -> BundleError? in
            do throws(BundleError) { _ = try BundleReader(bytes: bytes); return nil } catch { return error }
        }
        if let reread { throw ToolError.bundle(reread, file: "internal error: the packed bundle") }
        do {
            try Data(bundle).write(to: URL(fileURLWithPath: output), options: .atomic)
        } catch {
            throw ToolError("\(output): cannot write the bundle: \(error.localizedDescription)")
        }
        let n = loaded.plan.count
        return "\(output): \(n) partition\(n == 1 ? "" : "s"), \(bundle.count) bytes (bundle format "
            + "\(BundleFormat.version)) for \(board.summary)"
    }

    /// What `bulkhead inspect` found: the listing, and the validation failure if the plan does
    /// not fit the board (a malformed bundle throws instead).
    public struct Inspection {
        public var report: String
        public var problem: ToolError?
    }

    /// `bulkhead inspect BUNDLE`: parse with Core's BundleReader, list, validate against the board.
    public static func inspect(bundlePath: String, board options: BoardOptions) throws(ToolError) -> Inspection {
        let board = try options.resolve()
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: bundlePath))
        } catch {
            throw ToolError("\(bundlePath): cannot read the bundle: \(PlanBuilder.reason(error, path: bundlePath))")
        }
        let bytes = [UInt8](data)
        return try inspect(bytes: bytes, file: bundlePath, board: board)
    }

    /// `inspect` over bytes already in memory.
    public static func inspect(bytes: [UInt8], file: String, board: ResolvedBoard) throws(ToolError) -> Inspection {
        let result = bytes.withUnsafeBytes { (raw) -> Result<Inspection, BundleError> in
            do throws(BundleError) {
                let reader = try BundleReader(bytes: raw)
                var report = describe(reader, file: file)
                var problem: ToolError?
                do throws(PlanError) {
                    try reader.plan.validate(for: board.limits)
                    report += "plan: valid for \(board.summary)\n"
                } catch {
                    problem = ToolError.plan(error, file: file, plan: reader.plan)
                    report += "plan: NOT valid for \(board.summary)\n"
                }
                return .success(Inspection(report: report, problem: problem))
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let inspection): return inspection
        case .failure(let error): throw ToolError.bundle(error, file: file)
        }
    }

    /// A human listing of every partition in `reader`.
    public static func describe(_ reader: BundleReader, file: String) -> String {
        let plan = reader.plan
        var out = "\(file): Bulkhead bundle, format version \(BundleFormat.version), "
            + "\(plan.count) partition\(plan.count == 1 ? "" : "s"), \(reader.totalLength) bytes\n"
        for p in 0..<plan.count {
            let spec = plan[p]
            let name = spec.name.withBytes { String(decoding: $0, as: UTF8.self) }
            let harts = (0..<spec.harts.count).map { String(spec.harts[$0]) }.joined(separator: ", ")
            let range = reader.imageRange(p)
            let end = spec.memory.base.raw &+ spec.memory.size
            out += "partition #\(p) \"\(name)\"\n"
            out += "  harts:     \(harts.isEmpty ? "(none)" : harts)   (vCPU i runs on the i-th hart)\n"
            out += "  memory:    \(hex(spec.memory.base.raw)) + \(Size.describe(spec.memory.size))"
                + "   [\(hex(spec.memory.base.raw)), \(hex(end)))\n"
            out += "  entry:     \(hex(spec.entry.raw)) (guest-physical)\n"
            out += "  image:     \(range.count) bytes at bundle offset \(hex(UInt64(range.offset)))"
                + ", loaded at \(hex(guestRAMBase.raw))\n"
            out += "  on fault:  \(spec.onFault == .restart ? "restart" : "stop")\n"
            let bootargs = spec.bootargs.withBytes { String(decoding: $0, as: UTF8.self) }
            out += "  bootargs:  \(bootargs.isEmpty ? "(none)" : "\"\(bootargs)\"")\n"
        }
        return out
    }
}
