// `bulkhead attest verify --system`: the system report (docs/keys.md, "System report") checked on the host and shown for a person.
//
// The report is parsed with Core's strict reader (SystemReport.Reader, the format's one
// definition) and its signature is checked with swift-crypto's Ed25519 (RFC 8032), not Core's, so
// the hypervisor's signer and an independent verifier check each other. With --bundle, the
// revision, every partition's policy digest and measurement and the channel topology are
// recomputed from the bundle with Core's functions (PartitionUpdateVerifier.policyDigest,
// KeyChain.measurement) and the first difference is named.
import BulkheadCore
import Crypto
import Foundation

/// What `attest verify --system` found (`--json`: docs/cli-json.md).
public struct SystemVerifyResult: Codable, Equatable, Sendable {
    public struct Partition: Codable, Equatable, Sendable {
        public var index: Int
        public var name: String
        /// "bundle", "committed update" or "trial".
        public var image: String
        public var securityVersion: UInt64
        public var imageDigest: String
        public var measurement: String
        public var policyDigest: String
    }
    public struct Channel: Codable, Equatable, Sendable {
        public var id: Int
        public var name: String
        /// "queue" or "shared-memory".
        public var kind: String
        /// "both" or "forward" (only endpoint 0 sends or writes).
        public var direction: String
        /// Partition names at endpoint 0 and endpoint 1.
        public var endpoints: [String]
        public var depth: UInt32
        public var messageSize: UInt32
        public var sharedSize: UInt64
        /// "read-only" or "read-write" per endpoint (shared memory).
        public var access: [String]
        public var doorbell: Bool
    }
    public var file: String
    public var version: Int
    public var length: Int
    public var securityVersion: UInt64
    public var hypervisorIdentity: String
    public var manifestDigest: String
    public var nonce: String
    /// `--nonce` was given and matches.
    public var nonceChecked: Bool
    /// The partition that asked for the report.
    public var caller: String
    public var partitions: [Partition]
    public var channels: [Channel]
    public var deviceKey: String
    /// With `--bundle`: the bundle it matches.
    public var bundle: String?
}

extension Commands {
    /// How console lines carry a system report (Guests/vault: `vault: system OFFSET HEX`).
    public static let systemReportMarker = "vault: system "

    /// `attest verify --system`: parses the report strictly, checks its signature with the device
    /// key, the nonce when given, and the bundle when given. `reportPath` "-" reads hex from
    /// standard input (`standardInput`, when given, stands in for it).
    public static func attestVerifySystemResult(reportPath: String, deviceKey: String, nonce expectedNonce: String? = nil,
                                                bundlePath: String? = nil, standardInput: [UInt8]? = nil) throws(ToolError) -> SystemVerifyResult {
        let expected = try expectedNonceBytes(expectedNonce)
        let key = try DeviceAttestationKey.load(deviceKey)
        let (file, bytes) = try readSystemReport(reportPath, standardInput: standardInput)
        let result = bytes.withUnsafeBytes { raw -> Result<SystemVerifyResult, ToolError> in
            do throws(ToolError) {
                let reader: SystemReport.Reader
                do throws(SystemReport.Failure) { reader = try SystemReport.Reader(bytes: raw) } catch {
                    throw ToolError("\(file): not a valid system report: \(describe(error))")
                }
                guard key.isValidSignature(Array(reader.signature), for: Array(reader.signedBytes)) else {
                    throw ToolError("\(file): the signature does not verify with the device key (\(hexString(key.rawRepresentation)))")
                }
                if let expected, expected != Array(reader.nonce) {
                    throw ToolError("\(file): nonce (offset \(SystemReport.Header.nonce)): the report holds \(hexString(Array(reader.nonce))), "
                                    + "not the expected \(hexString(expected)) (a replayed or another request's report)")
                }
                var r = fields(reader, file: file, key: key, nonceChecked: expected != nil)
                if let bundlePath {
                    try compare(reader, bundlePath: bundlePath, file: file)
                    r.bundle = bundlePath
                }
                return .success(r)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// `attest verify --system` for a person: the header, one block per partition, one line per channel.
    public static func attestVerifySystem(reportPath: String, deviceKey: String, nonce: String? = nil,
                                          bundlePath: String? = nil, standardInput: [UInt8]? = nil) throws(ToolError) -> String {
        let r = try attestVerifySystemResult(reportPath: reportPath, deviceKey: deviceKey, nonce: nonce, bundlePath: bundlePath,
                                             standardInput: standardInput)
        return describe(r).joined(separator: "\n")
    }

    /// With `--monitor-key` and `--certificate`: the chain monitor key → certificate → device
    /// attestation key → system report, as `attest verify --monitor-key` checks a partition's report.
    public static func attestVerifySystemChain(reportPath: String, monitorKey: String, certificatePath: String,
                                               nonce: String? = nil, bundlePath: String? = nil) throws(ToolError) -> String {
        let (r, chain) = try verifiedThroughChain(monitorKey: monitorKey, certificatePath: certificatePath,
                                                  link: "system report", target: "system report",
                                                  identity: { $0.hypervisorIdentity }) { (key) throws(ToolError) in
            try attestVerifySystemResult(reportPath: reportPath, deviceKey: key, nonce: nonce, bundlePath: bundlePath)
        }
        return ([chain] + describe(r)).joined(separator: "\n")
    }

    static func describe(_ r: SystemVerifyResult) -> [String] {
        var lines = [
            "\(r.file): system report, version \(r.version), \(r.length) bytes",
            "security version: \(r.securityVersion)",
            "hypervisor identity: \(r.hypervisorIdentity)",
            "manifest digest: \(r.manifestDigest)",
            "nonce: \(r.nonce)" + (r.nonceChecked ? " (matches --nonce)" : ""),
            "requested by: \(r.caller)",
            "partitions: \(r.partitions.count)",
        ]
        for p in r.partitions {
            lines += ["  #\(p.index) \"\(p.name)\": \(p.image) image, security version \(p.securityVersion)",
                      "    image digest: \(p.imageDigest)",
                      "    measurement: \(p.measurement)",
                      "    policy digest: \(p.policyDigest)"]
        }
        lines.append("channels: \(r.channels.count)")
        for c in r.channels {
            let arrow = c.direction == "forward" ? "->" : "<->"
            var line = "  #\(c.id) \"\(c.name)\": \(c.kind), \(c.endpoints[0]) \(arrow) \(c.endpoints[1])"
            if c.kind == "queue" {
                line += ", depth \(c.depth), messages up to \(c.messageSize) bytes"
            } else {
                line += ", \(Size.describe(c.sharedSize)) (\(c.access[0]) / \(c.access[1]))"
            }
            if c.doorbell { line += ", doorbell" }
            lines.append(line)
        }
        if let bundle = r.bundle {
            let updated = r.partitions.filter { $0.image != "bundle" }.map { "#\($0.index)" }
            if updated.isEmpty {
                lines.append("bundle: matches \(bundle) (manifest, security version, every partition's image, policy and "
                             + "measurement, every channel)")
            } else {
                lines.append("bundle: matches \(bundle) (manifest, security version, every partition's policy, every channel, "
                             + "and the image and measurement of each partition running its bundle image; "
                             + "\(updated.joined(separator: ", ")) run\(updated.count == 1 ? "s" : "") a partition update, "
                             + "which the bundle does not hold)")
            }
        }
        lines.append("signature: valid (device key \(r.deviceKey.prefix(16))...)")
        return lines
    }

    static func expectedNonceBytes(_ text: String?) throws(ToolError) -> [UInt8]? {
        guard let text else { return nil }
        guard let bytes = parseHex(text), bytes.count == SystemReport.nonceSize else {
            throw ToolError("--nonce: expected the 32-byte nonce as 64 hex digits, found \"\(text.prefix(80))\"")
        }
        return bytes
    }

    /// The report's bytes and how messages name it.
    static func readSystemReport(_ path: String, standardInput: [UInt8]?) throws(ToolError) -> (String, [UInt8]) {
        if path == "-" || path == AttestationReportFile.standardInputName {
            let name = AttestationReportFile.standardInputName
            let text = standardInput ?? [UInt8](FileHandle.standardInput.readDataToEndOfFile())
            do {
                return (name, try AttestationReportFile.bytes(fromHex: text, marker: systemReportMarker))
            } catch {
                throw ToolError("\(name): \(error.message)")
            }
        }
        do {
            return (path, [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
        } catch {
            throw ToolError.cannotRead(path, "the system report", error)
        }
    }

    static func fields(_ r: SystemReport.Reader, file: String, key: Curve25519.Signing.PublicKey, nonceChecked: Bool) -> SystemVerifyResult {
        typealias P = SystemReport.PartitionEntry
        typealias C = SystemReport.ChannelEntry
        func name(_ b: UnsafeRawBufferPointer) -> String { String(decoding: b.prefix(16).prefix { $0 != 0 }, as: UTF8.self) }
        func hexField(_ b: UnsafeRawBufferPointer, _ at: Int, _ count: Int) -> String { hexString(Array(b[at..<(at + count)])) }
        func u32(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt32 { (0..<4).reversed().reduce(0) { $0 << 8 | UInt32(b[at + $1]) } }
        func u64(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt64 { (0..<8).reversed().reduce(0) { $0 << 8 | UInt64(b[at + $1]) } }
        let partitions = (0..<r.partitionCount).map { p -> SystemVerifyResult.Partition in
            let e = r.partitionEntry(p)
            let image: String
            switch SystemReport.ImageSource(rawValue: e[P.source]) {
            case .bundle?: image = "bundle"
            case .committedUpdate?: image = "committed update"
            case .trial?: image = "trial"
            case nil: image = "unknown"      // not reached: the reader refuses other values
            }
            return SystemVerifyResult.Partition(index: p, name: name(e), image: image, securityVersion: u64(e, P.securityVersion),
                                                imageDigest: hexField(e, P.imageDigest, 64), measurement: hexField(e, P.measurement, 64),
                                                policyDigest: hexField(e, P.policyDigest, 64))
        }
        let channels = (0..<r.channelCount).map { c -> SystemVerifyResult.Channel in
            let e = r.channelEntry(c)
            let access = (0..<2).map { SharedAccess(rawValue: e[C.access + $0]) == .readOnly ? "read-only" : "read-write" }
            return SystemVerifyResult.Channel(
                id: c, name: name(e), kind: e[C.kind] == ChannelKind.queue.rawValue ? "queue" : "shared-memory",
                direction: e[C.direction] == ChannelDirection.forward.rawValue ? "forward" : "both",
                endpoints: (0..<2).map { partitions[Int(e[C.endpoints + $0])].name },
                depth: u32(e, C.depth), messageSize: u32(e, C.messageSize), sharedSize: u64(e, C.sharedSize),
                access: access, doorbell: e[C.doorbell] == 1)
        }
        return SystemVerifyResult(file: file, version: Int(SystemReport.version), length: r.bytes.count,
                                  securityVersion: r.securityVersion, hypervisorIdentity: hexString(Array(r.identity)),
                                  manifestDigest: hexString(Array(r.manifestDigest)), nonce: hexString(Array(r.nonce)),
                                  nonceChecked: nonceChecked, caller: "#\(r.caller) \"\(partitions[r.caller].name)\"",
                                  partitions: partitions, channels: channels, deviceKey: hexString(key.rawRepresentation))
    }

    /// `--bundle`: the report describes this bundle. Throws naming the first field that differs.
    static func compare(_ r: SystemReport.Reader, bundlePath: String, file: String) throws(ToolError) {
        let bytes = try readBundle(bundlePath)
        let outcome = bytes.withUnsafeBytes { raw -> ToolError? in
            let bundle: BundleReader
            do throws(BundleError) { bundle = try BundleReader(bytes: raw) } catch { return ToolError.bundle(error, file: bundlePath) }
            return difference(r, bundle, bundlePath: bundlePath, file: file)
        }
        if let outcome { throw outcome }
    }

    /// The first way the report differs from `bundle`, or nil: the counts, each partition (name,
    /// policy, then for a bundle image its digest, security version and measurement), each
    /// channel, and last the security version and the manifest digest.
    static func difference(_ r: SystemReport.Reader, _ bundle: BundleReader, bundlePath: String, file: String) -> ToolError? {
        typealias P = SystemReport.PartitionEntry
        typealias C = SystemReport.ChannelEntry
        func digest(_ d: BulkheadCore.SHA512Digest) -> [UInt8] { d.withBytes { Array($0) } }
        func field(_ b: UnsafeRawBufferPointer, _ at: Int, _ n: Int) -> [UInt8] { Array(b[at..<(at + n)]) }
        func differs(_ what: String) -> ToolError { ToolError("\(file): \(what) differs from \(bundlePath)") }
        let plan = bundle.plan
        guard r.partitionCount == plan.count, r.channelCount == plan.channelCount else {
            return differs("the number of partitions or channels (\(r.partitionCount) and \(r.channelCount); the bundle has "
                           + "\(plan.count) and \(plan.channelCount))")
        }
        for p in 0..<plan.count {
            let e = r.partitionEntry(p)
            let spec = plan[p]
            let name = partitionName(plan, p)
            var expectedName = Array(name.utf8)
            expectedName += [UInt8](repeating: 0, count: 16 - expectedName.count)
            guard field(e, P.name, 16) == expectedName else { return differs("partition #\(p)'s name (the bundle's is \"\(name)\")") }
            let what = "partition #\(p) \"\(name)\""
            guard field(e, P.policyDigest, 64) == digest(PartitionUpdateVerifier.policyDigest(bundle: bundle, partition: p)) else {
                return differs("\(what)'s policy (harts, memory, kind, flags, keys, channels or devices)")
            }
            // A partition running a partition update is not in the bundle's images: only its policy is checked.
            guard e[P.source] == SystemReport.ImageSource.bundle.rawValue else { continue }
            guard field(e, P.imageDigest, 64) == Array(bundle.imageDigest(p)) else { return differs("\(what)'s image digest") }
            let securityVersion = (0..<8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64(e[P.securityVersion + $1]) }
            guard securityVersion == bundle.securityVersion else {
                return differs("\(what)'s security version (\(securityVersion), the bundle's is \(bundle.securityVersion))")
            }
            var image = InlineArray<64, UInt8>(repeating: 0)
            for i in 0..<64 { image[i] = bundle.imageDigest(p)[i] }
            let measurement = KeyChain.measurement(spec, imageDigest: BulkheadCore.SHA512Digest(bytes: image),
                                                   policyDigest: KeyChain.policyDigest(spec, devices: plan.devices, partition: p),
                                                   initrdDigest: bundle.initrdDigest(p))
            guard field(e, P.measurement, 64) == digest(measurement) else {
                return differs("\(what)'s measurement (its name, image, key policy, fault policy, devices or initrd)")
            }
        }
        for c in 0..<plan.channelCount {
            let e = r.channelEntry(c)
            let ch = plan.channel(c)
            var expected = [UInt8](repeating: 0, count: SystemReport.channelEntrySize)
            ch.name.withBytes { for (i, b) in $0.enumerated() { expected[C.name + i] = b } }
            expected[C.kind] = ch.kind.rawValue
            expected[C.direction] = ch.direction.rawValue
            expected[C.endpoints] = ch.endpoints[0]; expected[C.endpoints + 1] = ch.endpoints[1]
            expected[C.access] = ch.access[0].rawValue; expected[C.access + 1] = ch.access[1].rawValue
            expected[C.doorbell] = ch.doorbell ? 1 : 0
            for i in 0..<4 { expected[C.depth + i] = UInt8(truncatingIfNeeded: ch.depth >> UInt32(8 * i)) }
            for i in 0..<4 { expected[C.messageSize + i] = UInt8(truncatingIfNeeded: ch.messageSize >> UInt32(8 * i)) }
            for i in 0..<8 { expected[C.sharedSize + i] = UInt8(truncatingIfNeeded: ch.size >> UInt64(8 * i)) }
            if Array(e) != expected {
                let name = ch.name.withBytes { String(decoding: $0, as: UTF8.self) }
                return differs("channel #\(c) \"\(name)\" (name, kind, direction, endpoints, size, access or doorbell)")
            }
        }
        // Last, so that a partition or channel that differs is named first.
        if r.securityVersion != bundle.securityVersion {
            return differs("the security version (\(r.securityVersion), the bundle's is \(bundle.securityVersion))")
        }
        if Array(r.manifestDigest) != digest(BundleVerifier.manifestDigest(bundle)) {
            return differs("the manifest digest (the system runs another bundle: another signing key or security version)")
        }
        return nil
    }

    static func describe(_ f: SystemReport.Failure) -> String {
        switch f {
        case .truncated(let needed, let available):
            return "it is cut off: \(available) bytes, \(needed) needed"
        case .badMagic: return "magic (offset 0): expected \"BHSR\" (42 48 53 52)"
        case .unsupportedVersion(let v): return "version (offset 4): \(v) is not supported (this tool reads version 1)"
        case .wrongHeaderSize(let n): return "header size (offset 6): \(n), not \(SystemReport.headerSize)"
        case .wrongEntrySize(let p, let c):
            return "entry sizes (offsets 16, 18): \(p) and \(c), not \(SystemReport.partitionEntrySize) and \(SystemReport.channelEntrySize)"
        case .reservedNotZero(let at): return "reserved byte at offset \(at) is not zero"
        case .badPartitionCount(let n): return "partition count (offset 12): \(n), not 1 to \(SystemReport.maxPartitions)"
        case .badChannelCount(let n): return "channel count (offset 13): \(n), more than \(SystemReport.maxChannels)"
        case .badCaller(let n): return "caller (offset 14): partition #\(n) does not exist"
        case .wrongTotalLength(let declared, let expected):
            return "length (offset 8): \(declared) bytes, but the counts give \(expected)"
        case .trailingBytes(let expected, let available):
            return "\(available - expected) bytes follow the \(expected)-byte report"
        case .badPartitionName(let p): return "partition entry #\(p): the name is not 1 to 16 of a-z 0-9 - _ followed by zero bytes"
        case .badImageSource(let p, let v): return "partition entry #\(p): image source \(v) is not 0, 1 or 2"
        case .badChannelName(let c): return "channel entry #\(c): the name is not 1 to 16 of a-z 0-9 - _ followed by zero bytes"
        case .badChannel(let c, let at): return "channel entry #\(c): the byte at offset \(at) is not a valid value"
        }
    }
}
