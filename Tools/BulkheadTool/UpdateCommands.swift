// `bulkhead pack-update`, and `inspect`/`verify` on a partition update (docs/bundle-format.md, "Partition updates").
import BulkheadCore
import Crypto
import Foundation

extension Commands {
    /// Whether `bytes` start with a partition update's magic ("BHUPDATE") rather than a bundle's.
    public static func isPartitionUpdate(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { PartitionUpdateFormat.hasMagic($0) }
    }

    /// Whether the file at `path` starts with a partition update's magic (false when it cannot be
    /// read: the bundle path then reports why).
    public static func isPartitionUpdateFile(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return isPartitionUpdate([UInt8]((try? handle.read(upToCount: 8)) ?? Data()))
    }

    /// `inspect` on the update file at `path`.
    public static func inspectUpdate(path: String) throws(ToolError) -> (report: String, result: InspectUpdateResult) {
        try inspectUpdate(bytes: try readBundle(path, what: "the update"), file: path)
    }

    /// `bulkhead pack-update CONFIG --partition NAME --key K --security-version N -o OUTPUT`: loads
    /// and validates the configuration exactly as `pack` does, packs its bundle in memory (never
    /// written) to take partition NAME's policy digest from it, then encodes and signs the update
    /// with NAME's image and initrd, re-reads and re-verifies it against that bundle, and writes it
    /// the way `pack` writes a bundle. Returns a one-line summary.
    /// With `image`, the update carries that file (raw or ELF, a path relative to the current
    /// directory) as NAME's image instead of the one the configuration names: the policy digest
    /// leaves the image out, so the same configuration packs the installed bundle and every update.
    public static func packUpdate(configPath: String, partition name: String, output: String, keyPath: String,
                                  securityVersion: UInt64, board options: BoardOptions,
                                  image: String? = nil) throws(ToolError) -> String {
        let key = try SigningKeys.loadPrivate(keyPath)
        var config = try PlanBuilder.read(configPath: configPath)
        if let image {
            guard let i = config.partitions.firstIndex(where: { $0.name == name }) else {
                throw ToolError("\(configPath): no partition named \"\(name)\" (--partition); the configuration has "
                                + config.partitions.map { "\"\($0.name)\"" }.joined(separator: ", "))
            }
            config.partitions[i].image = URL(fileURLWithPath: image).standardizedFileURL.path
        }
        let board = try options.filled(from: config.board).resolve()
        let loaded = try PlanBuilder.load(config, configPath: configPath, board: board)
        let names = (0..<loaded.plan.count).map { partitionName(loaded.plan, $0) }
        guard let p = names.firstIndex(of: name) else {
            throw ToolError("\(configPath): no partition named \"\(name)\" (--partition); the configuration has "
                            + names.map { "\"\($0)\"" }.joined(separator: ", "))
        }
        let bundle = try BundleSigning.encode(plan: loaded.plan, images: loaded.images, initrds: loaded.initrds,
                                              securityVersion: 0, key: key)
        let keyID = SigningKeys.keyID(of: key.publicKey)
        let initrd = loaded.initrds.isEmpty ? [] : loaded.initrds[p]
        let update = try withBytes(bundle) { (raw) throws(ToolError) -> [UInt8] in
            let reader: BundleReader
            do throws(BundleError) { reader = try BundleReader(bytes: raw) } catch {
                throw ToolError.bundle(error, file: "internal error: the packed bundle")
            }
            let policy = PartitionUpdateVerifier.policyDigest(bundle: reader, partition: p).withBytes { Array($0) }
            let bytes = try PartitionUpdateWriter.encode(
                partition: p, name: loaded.plan[p].name, entry: loaded.plan[p].entry, image: loaded.images[p], initrd: initrd,
                policyDigest: policy, securityVersion: securityVersion, keyID: keyID, digest: { BundleSigning.imageDigest($0) },
                sign: { (header: [UInt8]) throws(ToolError) -> [UInt8] in
                    do { return Array(try key.signature(for: header)) } catch {
                        throw ToolError("cannot sign the update: \(error)")
                    }
                })
            // The hypervisor's reader and checks must accept what we write.
            _ = try checkUpdate(bytes, file: "internal error: the packed update", key: key.publicKey, keyFile: keyPath,
                                bundle: reader, bundleFile: configPath)
            return bytes
        }
        try SafeFile.refuseOverwrite(output: output, option: "-o",
                                     inputs: packInputs(configPath: configPath, keyPath: keyPath, dtb: options.dtb,
                                                        config: loaded.config))
        try SafeFile.write(update, to: output, newMode: 0o644, what: "the update")
        return "\(output): partition update of #\(p) \"\(name)\", \(update.count) bytes (update format "
            + "\(PartitionUpdateFormat.version), security version \(securityVersion), signed by key id \(keyID.hex)) "
            + "for \(board.summary)"
    }

    /// Parses `bytes` with Core's reader, checks the key id, the signature (swift-crypto) and the
    /// digests; with `bundle`, also Core's partition, policy and fit checks. Returns the update's summary.
    static func checkUpdate(_ bytes: [UInt8], file: String, key: Curve25519.Signing.PublicKey, keyFile: String,
                            bundle: BundleReader?, bundleFile: String?) throws(ToolError) -> VerifyUpdateResult {
        try withBytes(bytes) { (raw) throws(ToolError) -> VerifyUpdateResult in
            let update: PartitionUpdateReader
            do throws(PartitionUpdateError) { update = try PartitionUpdateReader(bytes: raw) } catch {
                throw updateError(error, file: file)
            }
            let given = SigningKeys.keyID(of: key)
            guard update.keyID == given else {
                throw ToolError("\(file): wrong key: the update names signing key id \(update.keyID.hex), but \(keyFile) is key id \(given.hex)")
            }
            guard key.isValidSignature(Data(update.signature), for: Data(update.headerBytes)) else {
                throw updateError(.badSignature(update.keyID), file: file, detail: " (\(keyFile))")
            }
            do throws(PartitionUpdateError) {
                try PartitionUpdateVerifier.checkDigests(update: update)
                if let bundle {
                    try PartitionUpdateVerifier.checkTarget(update: update, installed: bundle)
                    try PartitionUpdateVerifier.checkFit(update: update, installed: bundle)
                }
            } catch {
                throw updateError(error, file: file, plan: bundle?.plan ?? PartitionPlan(),
                                  detail: bundleFile.map { " (bundle \($0))" } ?? "")
            }
            return VerifyUpdateResult(file: file, publicKey: keyFile, keyID: update.keyID.hex, securityVersion: update.securityVersion,
                                      partition: update.partition, partitionName: update.name.withBytes { String(decoding: $0, as: UTF8.self) },
                                      bundle: bundleFile)
        }
    }

    /// `FILE: <PartitionUpdateError's message><detail>`.
    static func updateError(_ error: PartitionUpdateError, file: String, plan: PartitionPlan = PartitionPlan(),
                            detail: String = "") -> ToolError {
        var sink = StringSink()
        error.write(to: &sink, plan: plan)
        return ToolError("\(file): \(sink.text)\(detail)")
    }

    /// `bulkhead verify UPDATE --public-key K [--bundle B]`.
    public static func verifyUpdate(path: String, publicKeyPath: String, bundlePath: String?) throws(ToolError) -> VerifyUpdateResult {
        let bytes = try readBundle(path, what: "the update")
        let key = try SigningKeys.loadPublic(publicKeyPath)
        guard let bundlePath else {
            return try checkUpdate(bytes, file: path, key: key, keyFile: publicKeyPath, bundle: nil, bundleFile: nil)
        }
        let bundleBytes = try readBundle(bundlePath)
        return try withBytes(bundleBytes) { (raw) throws(ToolError) -> VerifyUpdateResult in
            let reader: BundleReader
            do throws(BundleError) { reader = try BundleReader(bytes: raw) } catch { throw ToolError.bundle(error, file: bundlePath) }
            return try checkUpdate(bytes, file: path, key: key, keyFile: publicKeyPath, bundle: reader, bundleFile: bundlePath)
        }
    }

    /// `verify`'s one-line summary of an update.
    public static func verifyUpdateSummary(_ r: VerifyUpdateResult) -> String {
        "\(r.file): OK: partition update of #\(r.partition) \"\(r.partitionName)\" (security version \(r.securityVersion)): "
            + "the signature by key id \(r.keyID) verifies with \(r.publicKey), and the image (and initrd, if any) matches its "
            + "image digest"
            + (r.bundle.map { "; it names that partition of \($0), carries its policy digest and fits its memory" } ?? "")
    }

    /// `bulkhead inspect UPDATE`: the update's fields as Core's reader parses them (nothing verified).
    public static func inspectUpdate(bytes: [UInt8], file: String) throws(ToolError) -> (report: String, result: InspectUpdateResult) {
        try withBytes(bytes) { (raw) throws(ToolError) -> (report: String, result: InspectUpdateResult) in
            let u: PartitionUpdateReader
            do throws(PartitionUpdateError) { u = try PartitionUpdateReader(bytes: raw) } catch { throw updateError(error, file: file) }
            let name = u.name.withBytes { String(decoding: $0, as: UTF8.self) }
            let result = InspectUpdateResult(
                file: file, update: true, formatVersion: Int(PartitionUpdateFormat.version), length: bytes.count,
                partition: u.partition, partitionName: name, securityVersion: u.securityVersion, keyID: u.keyID.hex,
                signature: hexString(u.signature), entry: u.entry.raw, imageSize: u.imageRange.count,
                imageDigest: hexString(u.imageDigest), initrdSize: u.initrdRange.count,
                initrdDigest: u.initrdRange.count > 0 ? hexString(u.initrdDigest) : nil, policyDigest: hexString(u.policyDigest))
            var report = "\(file): partition update, format version \(PartitionUpdateFormat.version), \(bytes.count) bytes\n"
            report += "partition:        #\(u.partition) \"\(name)\"\n"
            report += "security version: \(u.securityVersion) (the partition's own; above its floor to be accepted)\n"
            report += "key id:           \(u.keyID.hex)\n"
            report += "signature:        \(result.signature) (over bytes 0 to \(hex(UInt64(PartitionUpdateFormat.headerSize)))"
                + "; not checked: use `bulkhead verify`)\n"
            report += "entry:            \(hex(u.entry.raw))\n"
            report += "image:            \(u.imageRange.count) bytes at \(hex(UInt64(u.imageRange.offset))), digest \(result.imageDigest)\n"
            if let initrd = result.initrdDigest {
                report += "initrd:           \(u.initrdRange.count) bytes at \(hex(UInt64(u.initrdRange.offset))), digest \(initrd)\n"
            } else {
                report += "initrd:           none\n"
            }
            report += "policy digest:    \(result.policyDigest)\n"
            return (report, result)
        }
    }
}

/// `body` over `bytes`' storage, keeping the typed error (`withUnsafeBytes` rethrows untyped).
private func withBytes<T>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(ToolError) -> T) throws(ToolError) -> T {
    let result = bytes.withUnsafeBytes { (raw) -> Result<T, ToolError> in
        do throws(ToolError) { return .success(try body(raw)) } catch { return .failure(error) }
    }
    return try result.get()
}

/// `verify --json` on a partition update: the signature and digests check out (and, with
/// `--bundle`, the binding to that bundle's partition).
public struct VerifyUpdateResult: Codable, Equatable, Sendable {
    public var file: String
    public var publicKey: String
    public var keyID: String
    public var securityVersion: UInt64
    public var partition: Int
    public var partitionName: String
    /// The bundle whose partition and policy the update was checked against (`--bundle`).
    public var bundle: String?
}

/// `inspect --json` on a partition update: its fields as Core's reader parses them.
public struct InspectUpdateResult: Codable, Equatable, Sendable {
    public var file: String
    /// Always true: tells an update's result from a bundle's (which has no such field).
    public var update: Bool
    public var formatVersion: Int
    public var length: Int
    public var partition: Int
    public var partitionName: String
    public var securityVersion: UInt64
    public var keyID: String
    public var signature: String
    public var entry: UInt64
    public var imageSize: Int
    public var imageDigest: String
    public var initrdSize: Int
    public var initrdDigest: String?
    public var policyDigest: String
}
