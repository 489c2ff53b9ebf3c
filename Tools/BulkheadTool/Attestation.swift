// `bulkhead attest verify` and `bulkhead attest device-key`: attestation reports on the host
// (docs/keys.md, "The attestation report" and "Attestation on the host").
//
// The report is parsed here independently of the hypervisor's writer, with strict checks of its
// header, and its signature is checked with swift-crypto's Ed25519 (RFC 8032). The device
// attestation key is recomputed from the hypervisor ELF and the device secret with Core's
// KeyChain, the code the hypervisor runs, so a mismatch with the boot log means a different
// hypervisor build or a different secret.
import BulkheadCore
import Crypto
import Foundation

/// The attestation report the hypervisor's `attest` writes (320 bytes, little-endian).
public struct AttestationReportFile: Equatable, Sendable {
    public static let size = 320
    /// How messages name a report read from standard input (`attest verify -`).
    public static let standardInputName = "standard input"

    /// The report bytes of hex text, in either form:
    ///
    /// - the vault guest's console lines, `vault: report OFFSET HEX` (32 bytes a line, also with
    ///   the hypervisor's `[vault] ` prefix); other lines, such as the rest of a console log, are
    ///   skipped, and the offsets must follow on from each other starting at 0 (`marker` names
    ///   the lines: the system report's are `vault: system OFFSET HEX`);
    /// - without such lines: hex digits only (either case), in any number of lines, spaces allowed.
    public static func bytes(fromHex input: [UInt8], marker: String = "vault: report ") throws(ToolError) -> [UInt8] {
        let lines = keyFileLines(String(decoding: input, as: UTF8.self))
        var bytes: [UInt8] = []
        var sawReportLine = false
        for (number, line) in lines.enumerated() {
            guard let range = line.range(of: marker) else { continue }
            sawReportLine = true
            let fields = line[range.upperBound...].split(separator: " ")
            guard fields.count == 2, let offset = Int(fields[0]), let chunk = parseHex(String(fields[1])), !chunk.isEmpty else {
                throw ToolError("line \(number + 1): expected \"\(marker)OFFSET HEX\", found \"\(line.prefix(80))\"")
            }
            guard offset == bytes.count else {
                throw ToolError("line \(number + 1): the report line at offset \(offset) does not follow on from the "
                                + "\(bytes.count) bytes before it (a line is missing or repeated)")
            }
            bytes += chunk
        }
        if sawReportLine { return bytes }
        let digits = lines.joined().filter { $0 != " " && $0 != "\t" }
        guard let plain = parseHex(digits), !plain.isEmpty else {
            throw ToolError("expected the report as hex digits, or the vault's \"\(marker)OFFSET HEX\" lines")
        }
        return plain
    }
    /// The signature covers bytes 0..<signedSize.
    public static let signedSize = 256
    public static let magic: [UInt8] = Array("BHAR".utf8)
    public static let version: UInt16 = 1
    public static let nameSize = 16
    public static let nonceSize = 32

    /// Field offsets (docs/keys.md).
    public enum Offset {
        public static let magic = 0, version = 4, length = 6, securityVersion = 8, identity = 16, name = 80
        public static let measurement = 96, policyDigest = 160, nonce = 224, signature = 256
    }

    public var securityVersion: UInt64
    /// SHA-512 of the hypervisor's [__kernel_start, __rodata_end) as loaded.
    public var identity: [UInt8]
    /// The 16 bytes of the name field, zero padding included.
    public var nameField: [UInt8]
    public var measurement: [UInt8]
    public var policyDigest: [UInt8]
    public var nonce: [UInt8]
    public var signature: [UInt8]
    /// Bytes 0..<256: what the signature signs.
    public var signedBytes: [UInt8]

    /// The partition name: the name field up to its first zero byte.
    public var name: String {
        String(decoding: nameField.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// Parses a report strictly: exactly 320 bytes, magic "BHAR", version 1, length 320. Errors
    /// name `file` and the field. The signature is not checked here (`verify` does).
    public static func parse(_ bytes: [UInt8], file: String) throws(ToolError) -> AttestationReportFile {
        guard bytes.count == size else {
            throw ToolError("\(file): an attestation report is exactly \(size) bytes; the file is \(Size.describe(UInt64(bytes.count)))")
        }
        func u16(_ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
        func field(_ at: Int, _ count: Int) -> [UInt8] { Array(bytes[at..<(at + count)]) }
        let foundMagic = field(Offset.magic, 4)
        guard foundMagic == magic else {
            throw ToolError("\(file): magic (offset 0): expected \"BHAR\" (42 48 41 52), found \(describeMagic(foundMagic)): "
                            + "not an attestation report")
        }
        let foundVersion = u16(Offset.version)
        guard foundVersion == version else {
            throw ToolError("\(file): version (offset 4): \(foundVersion) is not supported (this tool reads version \(version))")
        }
        let length = u16(Offset.length)
        guard length == UInt16(size) else {
            throw ToolError("\(file): length (offset 6): the header says \(length) bytes; a version 1 report is \(size)")
        }
        var security: UInt64 = 0
        for i in (0..<8).reversed() { security = security << 8 | UInt64(bytes[Offset.securityVersion + i]) }
        return AttestationReportFile(securityVersion: security, identity: field(Offset.identity, 64),
                                 nameField: field(Offset.name, nameSize), measurement: field(Offset.measurement, 64),
                                 policyDigest: field(Offset.policyDigest, 64), nonce: field(Offset.nonce, nonceSize),
                                 signature: field(Offset.signature, 64), signedBytes: field(0, signedSize))
    }

    /// `"BHSL" (42 48 53 4c)`: printable magic bytes quoted, always with their hex.
    static func describeMagic(_ bytes: [UInt8]) -> String {
        let hexBytes = bytes.map { hexString([$0]) }.joined(separator: " ")
        if bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return "\"\(String(decoding: bytes, as: UTF8.self))\" (\(hexBytes))" }
        return hexBytes
    }

    /// Whether the signature verifies over bytes 0..<256 with `deviceKey` (Ed25519, RFC 8032).
    public func isSigned(by deviceKey: Curve25519.Signing.PublicKey) -> Bool {
        deviceKey.isValidSignature(signature, for: signedBytes)
    }

    /// Why the name field is not a partition name (nil when it is one): a name of 1 to 16 bytes
    /// of a-z 0-9 - _, followed only by zero bytes.
    public var nameProblem: String? {
        let name = nameField.prefix { $0 != 0 }
        if name.isEmpty { return "the name is empty" }
        if nameField.dropFirst(name.count).contains(where: { $0 != 0 }) { return "bytes after the name's end are not zero" }
        let allowed: (UInt8) -> Bool = { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D || $0 == 0x5F }
        if let bad = name.firstIndex(where: { !allowed($0) }) {
            return "byte \(bad) (0x\(hexString([name[bad]]))) is not one of a-z 0-9 - _"
        }
        return nil
    }
}

/// The device attestation key: the public key files `attest verify` reads, and its derivation
/// from the hypervisor ELF and the device secret (`attest device-key`).
public enum DeviceAttestationKey {
    /// The first line of the file `attest device-key -o` writes. It differs from a signing public
    /// key's (`SigningKeys.publicHeader`), so neither kind of key can stand in for the other:
    /// `verify --public-key` and `key trust-anchors` refuse a device key, `attest verify
    /// --device-key` refuses a signing key, and `-o` never overwrites a signing key.
    public static let fileHeader = "BULKHEAD DEVICE ATTESTATION PUBLIC KEY"

    /// A public key from `--device-key`: 64 hex digits given directly, or a file holding them
    /// (one line), or a device key file ("BULKHEAD DEVICE ATTESTATION PUBLIC KEY", then the hex).
    public static func load(_ argument: String) throws(ToolError) -> Curve25519.Signing.PublicKey {
        if let bytes = parseHex(argument), bytes.count == 32, !FileManager.default.fileExists(atPath: argument) {
            return try key(bytes, source: "--device-key")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: argument))
        } catch {
            if argument.count == 64 || argument.count > 40 && argument.allSatisfy(\.isHexDigit) {
                throw ToolError("--device-key: \"\(argument)\" is neither 64 hex digits (the 32-byte public key) nor a readable file")
            }
            throw ToolError.cannotRead(argument, "the device key", error)
        }
        return try parseFile([UInt8](data), file: argument)
    }

    /// The key in a device key file's bytes (see `load`).
    public static func parseFile(_ bytes: [UInt8], file: String) throws(ToolError) -> Curve25519.Signing.PublicKey {
        let format = "a device key file holds the 32-byte public key as 64 hex digits (one line), or is a device "
            + "attestation key file (\"\(fileHeader)\", then the hex; `bulkhead attest device-key -o` writes it)"
        guard bytes.count <= 4096, let text = String(bytes: bytes, encoding: .utf8) else {
            throw ToolError("\(file): not a device key file: \(format)")
        }
        // The key file's lines (CRLF read as LF, as for signing keys), trimmed.
        var lines = keyFileLines(text).map(\.trimmingSpaces)
        while lines.last == "" { lines.removeLast() }
        let hexLine: String
        switch lines.count {
        case 1:
            hexLine = lines[0]
        case 2 where lines[0] == fileHeader:
            hexLine = lines[1]
        case 2 where lines[0] == SigningKeys.publicHeader:
            throw ToolError("\(file): this is a bundle-signing public key (\"\(SigningKeys.publicHeader)\", from `bulkhead "
                            + "keygen`), not a device attestation key; --device-key needs the key `bulkhead attest device-key "
                            + "-o` writes (\"\(fileHeader)\")")
        case 2 where lines[0] == SigningKeys.privateHeader:
            throw ToolError("\(file): this is a private key; --device-key needs the device's public attestation key")
        default:
            throw ToolError("\(file): not a device key file: \(format)")
        }
        guard let key = parseHex(hexLine), key.count == 32 else {
            throw ToolError("\(file): line \(lines.count): expected the 32-byte public key as 64 hex digits, "
                            + "found \"\(hexLine.prefix(80))\"")
        }
        return try Self.key(key, source: file)
    }

    static func key(_ bytes: [UInt8], source: String) throws(ToolError) -> Curve25519.Signing.PublicKey {
        do {
            return try Curve25519.Signing.PublicKey(rawRepresentation: bytes)
        } catch {
            throw ToolError("\(source): not a usable Ed25519 public key: \(error)")
        }
    }

    /// One PT_LOAD segment as loaded: `fileBytes` at `address`, then zeros up to `memorySize`.
    public struct Segment: Equatable, Sendable {
        public var address: UInt64
        public var fileBytes: [UInt8]
        public var memorySize: UInt64
        public init(address: UInt64, fileBytes: [UInt8], memorySize: UInt64) {
            self.address = address; self.fileBytes = fileBytes; self.memorySize = memorySize
        }
    }

    /// The largest identity range accepted (a sanity bound, far above any hypervisor build).
    public static let maximumIdentitySize: UInt64 = 64 << 20

    /// The memory [start, end) as the segments load it: each segment's file bytes, zeros for its
    /// .bss part and for any address no segment covers.
    public static func loadedBytes(segments: [Segment], start: UInt64, end: UInt64) throws(ToolError) -> [UInt8] {
        guard start < end else {
            throw ToolError("the identity range [\(hex(start)), \(hex(end))) is empty: __rodata_end must lie above __kernel_start")
        }
        guard end - start <= maximumIdentitySize else {
            throw ToolError("the identity range [\(hex(start)), \(hex(end))) is \(end - start) bytes, more than the "
                            + "\(maximumIdentitySize) a hypervisor image may have")
        }
        var out = [UInt8](repeating: 0, count: Int(end - start))
        for (i, s) in segments.enumerated() where !s.fileBytes.isEmpty {
            let fileEnd = s.address &+ UInt64(s.fileBytes.count)
            guard fileEnd >= s.address else { throw ToolError("segment \(i) wraps around the address space") }
            let lo = max(s.address, start), hi = min(fileEnd, end)
            guard lo < hi else { continue }
            let from = Int(lo - s.address)
            out.replaceSubrange(Int(lo - start)..<Int(hi - start), with: s.fileBytes[from..<(from + Int(hi - lo))])
        }
        return out
    }

    /// The hypervisor identity: SHA-512 (Core's, as the hypervisor computes it) of `loadedBytes`.
    public static func identity(segments: [Segment], start: UInt64, end: UInt64) throws(ToolError) -> [UInt8] {
        let bytes = try loadedBytes(segments: segments, start: start, end: end)
        let digest = bytes.withUnsafeBytes { BulkheadCore.SHA512.hash($0) }
        return (0..<64).map { digest.bytes[$0] }
    }

    /// The 32-byte Ed25519 seed of the device attestation key, with Core's KeyChain:
    /// attestationSeed(hypervisorCDI(secret, identity)). The caller must not show it.
    static func seed(secret: [UInt8], identity: [UInt8]) -> [UInt8] {
        var fixedSecret = SecretBytes(repeating: 0)
        for i in 0..<32 { fixedSecret[i] = secret[i] }
        var digest = InlineArray<64, UInt8>(repeating: 0)
        for i in 0..<64 { digest[i] = identity[i] }
        var cdi = KeyChain.hypervisorCDI(secret: fixedSecret, identity: SHA512Digest(bytes: digest))
        var seed = KeyChain.attestationSeed(hypervisorCDI: cdi)
        let out = (0..<32).map { seed[$0] }
        withUnsafeMutableBytes(of: &seed) { secureZero($0) }
        withUnsafeMutableBytes(of: &cdi) { secureZero($0) }
        withUnsafeMutableBytes(of: &fixedSecret) { secureZero($0) }
        return out
    }

    /// The secure monitor's device public key for a device secret (32 bytes), with Core's
    /// KeyChain.monitorDeviceSeed: it depends on the secret alone (docs/monitor.md).
    public static func monitorPublicKey(secret: [UInt8]) throws(ToolError) -> Curve25519.Signing.PublicKey {
        guard secret.count == 32 else { throw ToolError("internal error: a device secret is 32 bytes") }
        var fixedSecret = SecretBytes(repeating: 0)
        for i in 0..<32 { fixedSecret[i] = secret[i] }
        var seedBytes = KeyChain.monitorDeviceSeed(secret: fixedSecret)
        var seed = (0..<32).map { seedBytes[$0] }
        withUnsafeMutableBytes(of: &seedBytes) { secureZero($0) }
        withUnsafeMutableBytes(of: &fixedSecret) { secureZero($0) }
        defer { for i in seed.indices { seed[i] = 0 } }
        do {
            return try Curve25519.Signing.PrivateKey(rawRepresentation: seed).publicKey
        } catch {
            throw ToolError("internal error: swift-crypto refuses the monitor's seed: \(error)")
        }
    }

    /// The device attestation public key for a device secret (32 bytes) and a hypervisor identity (64).
    public static func publicKey(secret: [UInt8], identity: [UInt8]) throws(ToolError) -> Curve25519.Signing.PublicKey {
        guard secret.count == 32, identity.count == 64 else {
            throw ToolError("internal error: a device secret is 32 bytes and an identity 64")
        }
        var seed = seed(secret: secret, identity: identity)
        defer { for i in seed.indices { seed[i] = 0 } }
        do {
            return try Curve25519.Signing.PrivateKey(rawRepresentation: seed).publicKey
        } catch {
            throw ToolError("internal error: swift-crypto refuses the attestation seed: \(error)")
        }
    }
}

/// What the hypervisor ELF holds for its identity: the PT_LOAD segments and the two symbols.
public struct KernelELF: Equatable, Sendable {
    public var segments: [DeviceAttestationKey.Segment]
    /// `__kernel_start` and `__rodata_end` from the symbol table.
    public var start: UInt64
    public var end: UInt64

    public static let startSymbol = "__kernel_start"
    public static let endSymbol = "__rodata_end"

    /// Reads a 64-bit little-endian RISC-V ELF executable: its PT_LOAD segments (at their physical
    /// addresses, which must equal the virtual ones: the hypervisor runs untranslated) and the
    /// values of `__kernel_start` and `__rodata_end` from its .symtab.
    public static func parse(_ file: [UInt8], path: String) throws(ToolError) -> KernelELF {
        func fail(_ text: String) -> ELFFile.Failure { ELFFile.Failure(text) }
        do throws(ELFFile.Failure) {
            let elf = try ELFFile(file, notELF: "not an ELF file (the hypervisor's build/bulkhead.elf is expected)")
            // The hypervisor is a position-independent executable (ET_DYN) since it relocates itself;
            // its identity covers code and read-only data, which relocation does not change.
            guard elf.type == ELFFile.etExec || elf.type == ELFFile.etDyn else {
                throw fail("not an executable ELF file (e_type is \(elf.type); ET_EXEC, 2, or ET_DYN, 3, expected)")
            }
            let loaded = try elf.loadSegments()
            for s in loaded where s.virtualAddress != s.physicalAddress {
                throw fail("segment \(s.index): virtual address \(hex(s.virtualAddress)) differs from its physical address "
                           + "\(hex(s.physicalAddress)) (the hypervisor runs untranslated, so they must be equal)")
            }
            guard !loaded.isEmpty else { throw fail("the file has no loadable (PT_LOAD) segment") }
            let segments = loaded.map {
                DeviceAttestationKey.Segment(address: $0.physicalAddress, fileBytes: Array(file[$0.fileBytes]), memorySize: $0.memorySize)
            }
            guard let found = try elf.symbols(named: [startSymbol, endSymbol]) else {
                throw fail("the ELF file has no symbol table (.symtab), so \(startSymbol) and \(endSymbol) cannot be found "
                           + "(was it stripped? use the linker's output, build/bulkhead.elf)")
            }
            guard let start = found[startSymbol], let end = found[endSymbol] else {
                let missing = [startSymbol, endSymbol].filter { found[$0] == nil }.joined(separator: " and ")
                throw fail("the symbol table has no \(missing) (Linker/kernel.ld defines both; is this the hypervisor ELF?)")
            }
            guard start < end else {
                throw fail("\(endSymbol) (\(hex(end))) does not lie above \(startSymbol) (\(hex(start)))")
            }
            return KernelELF(segments: segments, start: start, end: end)
        } catch {
            throw ToolError("\(path): \(error.description)")
        }
    }

    /// The hypervisor identity of this ELF as loaded.
    public func identity() throws(ToolError) -> [UInt8] {
        try DeviceAttestationKey.identity(segments: segments, start: start, end: end)
    }
}

extension Commands {
    /// `bulkhead attest verify --device-key KEY REPORT [--nonce HEX]`: parses the report
    /// strictly, checks its signature with the device key, and the nonce when one is given.
    /// Returns the report's fields, one per line.
    public static func attestVerify(reportPath: String, deviceKey: String, nonce expectedNonce: String? = nil,
                                    bundlePath: String? = nil, standardInput: [UInt8]? = nil) throws(ToolError) -> String {
        let r = try attestVerifyResult(reportPath: reportPath, deviceKey: deviceKey, nonce: expectedNonce, bundlePath: bundlePath,
                                       standardInput: standardInput)
        return describe(r).joined(separator: "\n")
    }

    /// `attest verify`'s lines for a verified report.
    static func describe(_ r: AttestVerifyResult) -> [String] {
        [
            "\(r.file): attestation report",
            "version: \(r.version)",
            "security version: \(r.securityVersion)",
            "hypervisor identity: \(r.hypervisorIdentity)",
            "partition name: \(r.partitionName)",
            "partition measurement: \(r.measurement)",
            "policy digest: \(r.policyDigest)",
            "nonce: \(r.nonce)" + (r.nonceChecked ? " (matches --nonce)" : ""),
            "signature: valid (device key \(r.deviceKey.prefix(16))...)",
        ] + r.policy
    }

    /// `attest verify`'s checks, and the report's fields (for `attest verify --json`).
    /// `reportPath` "-" reads the report as hex text from standard input (`standardInput`, when
    /// given, stands in for it): what the vault guest prints (AttestationReportFile.bytes(fromHex:)).
    public static func attestVerifyResult(reportPath: String, deviceKey: String, nonce expectedNonce: String? = nil,
                                          bundlePath: String? = nil, standardInput: [UInt8]? = nil) throws(ToolError) -> AttestVerifyResult {
        var expected: [UInt8]?
        if let expectedNonce {
            guard let bytes = parseHex(expectedNonce), bytes.count == AttestationReportFile.nonceSize else {
                throw ToolError("--nonce: expected the 32-byte nonce as 64 hex digits, found \"\(expectedNonce.prefix(80))\"")
            }
            expected = bytes
        }
        let key = try DeviceAttestationKey.load(deviceKey)
        let bytes: [UInt8]
        let reportPath = reportPath == "-" ? AttestationReportFile.standardInputName : reportPath
        if reportPath == AttestationReportFile.standardInputName {
            let text = standardInput ?? [UInt8](FileHandle.standardInput.readDataToEndOfFile())
            do {
                bytes = try AttestationReportFile.bytes(fromHex: text)
            } catch {
                throw ToolError("\(reportPath): \(error.message)")
            }
        } else {
            do {
                bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: reportPath)))
            } catch {
                throw ToolError.cannotRead(reportPath, "the attestation report", error)
            }
        }
        let report = try AttestationReportFile.parse(bytes, file: reportPath)
        guard report.isSigned(by: key) else {
            throw ToolError("\(reportPath): the signature does not verify with the device key "
                            + "(\(hexString(key.rawRepresentation)))")
        }
        if let problem = report.nameProblem {
            throw ToolError("\(reportPath): partition name (offset 80): \(problem)")
        }
        if let expected, expected != report.nonce {
            throw ToolError("\(reportPath): nonce (offset 224): the report holds \(hexString(report.nonce)), "
                            + "not the expected \(hexString(expected)) (a replayed or another request's report)")
        }
        var policy: [String] = []
        if let bundlePath { policy = try policyLines(report, bundlePath: bundlePath, reportPath: reportPath) }
        return AttestVerifyResult(file: reportPath, version: Int(AttestationReportFile.version),
                                  securityVersion: report.securityVersion, hypervisorIdentity: hexString(report.identity),
                                  partitionName: report.name, measurement: hexString(report.measurement),
                                  policyDigest: hexString(report.policyDigest), nonce: hexString(report.nonce),
                                  nonceChecked: expected != nil, deviceKey: hexString(key.rawRepresentation), policy: policy)
    }

    /// With `--bundle`: the report's policy digest recomputed from the partition of that name in
    /// the bundle (KeyChain.policyDigest, docs/keys.md), and what it attests: key services, DMA
    /// trust, devices. Throws when the partition is missing or the digest differs.
    static func policyLines(_ report: AttestationReportFile, bundlePath: String, reportPath: String) throws(ToolError) -> [String] {
        let bytes = try readBundle(bundlePath)
        let parsed = bytes.withUnsafeBytes { (raw) -> Result<PartitionPlan, BundleError> in
            do throws(BundleError) { return .success(try BundleReader(bytes: raw).plan) } catch { return .failure(error) }
        }
        let plan: PartitionPlan
        switch parsed {
        case .success(let p): plan = p
        case .failure(let error): throw ToolError.bundle(error, file: bundlePath)
        }
        guard let p = (0..<plan.count).first(where: { partitionName(plan, $0) == report.name }) else {
            throw ToolError("\(bundlePath): has no partition \"\(report.name)\" (the report's partition)")
        }
        let spec = plan[p]
        let digest = KeyChain.policyDigest(spec, devices: plan.devices, partition: p)
        let expected = digest.withBytes { Array($0) }
        guard expected == report.policyDigest else {
            throw ToolError("\(reportPath): policy digest (offset 160) is not that of partition #\(p) \"\(report.name)\" in "
                            + "\(bundlePath) (\(hexString(expected))): another policy, devices or DMA trust")
        }
        var lines = ["policy: matches partition #\(p) \"\(report.name)\" of \(bundlePath)",
                     "  keys: \(spec.keyPolicy.raw == 0 ? "none" : KeyServices.describe(spec.keyPolicy))",
                     "  dma: " + (spec.flags.dmaTrusted ? "trusted (its DMA-capable devices can reach all memory)" : "none")]
        for d in 0..<plan.devices.count where Int(plan.devices[d].owner) == p {
            lines.append("  device: " + describeDevice(plan.devices[d]))
        }
        return lines
    }

    /// Where `attest device-key` takes the device secret from.
    public enum SecretSource: Equatable, Sendable {
        /// The device-secret block of a flash image (`--flash`).
        case flash(String)
        /// A 64-hex-digit secret file (`--secret-file`, as for `bulkhead provision`).
        case file(String)
    }

    /// What `attest device-key` takes the hypervisor identity from.
    public enum IdentitySource: Equatable, Sendable {
        /// The hypervisor ELF (`--kernel`): SHA-512 of its text and rodata as loaded, the identity
        /// it computes itself under a plain firmware.
        case kernel(String)
        /// The image the secure monitor measured (`--monitor-image`): SHA-512 of the raw image
        /// (`build/bulkhead.bin`), or of the image behind a signed next-stage header (docs/monitor.md).
        case monitorImage(String)
        /// No next stage at all (`--monitor`): the secure monitor's own device key, from the
        /// device secret alone, which signs the monitor's certificates (docs/monitor.md).
        case monitorDevice

        var path: String {
            switch self { case .kernel(let p), .monitorImage(let p): return p; case .monitorDevice: return "" }
        }
    }

    /// `bulkhead attest device-key (--kernel ELF | --monitor-image IMAGE) (--flash IMAGE |
    /// --secret-file FILE) [-o NAME.pub]`: the device attestation public key the hypervisor derives
    /// on the device with that secret. Never shows the secret or the seed.
    public static func attestDeviceKey(identity identitySource: IdentitySource, secret source: SecretSource,
                                       output: String? = nil, board boardName: String = "qemu-virt") throws(ToolError) -> String {
        var secret: [UInt8]
        let secretLine: String
        switch source {
        case .file(let path):
            secret = try DeviceSecretFile.load(path: path)
            secretLine = "device secret: \(path) (fingerprint \(DeviceSecretFile.fingerprint(secret)))"
        case .flash(let path):
            let board = try BoardOptions(board: boardName).resolve()
            let layout = try board.flashLayout()
            guard layout.deviceSecret.size > 0 else {
                throw ToolError("\(path): \(board.data.nameString)'s flash has no device-secret block: use --secret-file")
            }
            let image = try FlashImage.load(path: path, layout: layout)
            let (status, stored) = deviceSecret(in: image, layout: layout)
            guard status == .valid else {
                throw ToolError("\(path): device secret: \(describe(status)); `bulkhead provision` writes one")
            }
            secret = stored
            secretLine = "device secret: \(path)'s device-secret block (fingerprint \(DeviceSecretFile.fingerprint(secret)))"
        }
        defer { for i in secret.indices { secret[i] = 0 } }
        let key: Curve25519.Signing.PublicKey
        var lines: [String]
        if identitySource == .monitorDevice {
            key = try DeviceAttestationKey.monitorPublicKey(secret: secret)
            lines = [secretLine, "monitor device key: \(hexString(key.rawRepresentation))"]
        } else {
            let (identity, identityLine) = try hypervisorIdentity(identitySource)
            key = try DeviceAttestationKey.publicKey(secret: secret, identity: identity)
            lines = [identityLine, secretLine, "device attestation key: \(hexString(key.rawRepresentation))"]
        }
        if let output {
            var inputs = identitySource == .monitorDevice ? [] : [identitySource.input]
            switch source {
            case .file(let path): inputs.append(SafeFile.Input("the device secret file (--secret-file)", path))
            case .flash(let path): inputs.append(SafeFile.Input("the flash image (--flash)", path))
            }
            try SafeFile.refuseOverwrite(output: output, option: "-o", inputs: inputs)
            try writePublicKey(key, to: output)
            lines.append("wrote \(output)")
        }
        return lines.joined(separator: "\n")
    }

    /// The identity and its one-line description ("hypervisor identity: ...").
    static func hypervisorIdentity(_ source: IdentitySource) throws(ToolError) -> ([UInt8], String) {
        switch source {
        case .kernel(let path):
            let elfData: Data
            do {
                elfData = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw ToolError.cannotRead(path, "the hypervisor ELF", error)
            }
            let kernel = try KernelELF.parse([UInt8](elfData), path: path)
            let identity: [UInt8]
            do {
                identity = try kernel.identity()
            } catch {
                throw ToolError("\(path): \(error.message)")
            }
            return (identity, "hypervisor identity: \(hexString(identity.prefix(8)))... (SHA-512 of [\(hex(kernel.start)), "
                + "\(hex(kernel.end))), \(Size.describe(kernel.end - kernel.start)) of \(path) as loaded)")
        case .monitorDevice:
            throw ToolError("internal error: the monitor's device key has no hypervisor identity")
        case .monitorImage(let path):
            let data: [UInt8]
            do {
                data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            } catch {
                throw ToolError.cannotRead(path, "the image the secure monitor measured", error)
            }
            let image = try MonitorImage.measured(data, path: path)
            let identity = Array(Crypto.SHA512.hash(data: image.bytes))
            return (identity, "hypervisor identity: \(hexString(identity.prefix(8)))... (the secure monitor's measurement: "
                + "SHA-512 of \(Size.describe(UInt64(image.bytes.count))) of \(path)\(image.signed ? " after its signed header" : ""))")
        }
    }

    /// Writes `key` as a "BULKHEAD DEVICE ATTESTATION PUBLIC KEY" file. An existing file is
    /// replaced only when it already holds a device key (so a signing public key, which
    /// `make kernel TRUST_KEYS=` would trust, a private key or anything else is never overwritten).
    static func writePublicKey(_ key: Curve25519.Signing.PublicKey, to path: String) throws(ToolError) {
        if FileManager.default.fileExists(atPath: path) {
            let existing = (try? Data(contentsOf: URL(fileURLWithPath: path))).map { [UInt8]($0) } ?? []
            if existing.starts(with: Array((SigningKeys.publicHeader + "\n").utf8)) {
                throw ToolError("-o: \(path) is a bundle-signing public key (from `bulkhead keygen`); it is not overwritten "
                                + "with a device attestation key (choose another file, e.g. device.pub)")
            }
            do {
                _ = try DeviceAttestationKey.parseFile(existing, file: path)
            } catch {
                throw ToolError("-o: \(path) exists and is not a device attestation key file; it is not overwritten")
            }
        }
        let text = SigningKeys.fileText(header: DeviceAttestationKey.fileHeader, key: key.rawRepresentation)
        try SafeFile.write(Array(text.utf8), to: path, newMode: 0o644, what: "the public key")
    }
}

extension Commands.IdentitySource {
    /// The input `-o` must never overwrite.
    var input: SafeFile.Input {
        switch self {
        case .kernel(let path): return SafeFile.Input("the hypervisor ELF (--kernel)", path)
        case .monitorImage(let path): return SafeFile.Input("the image (--monitor-image)", path)
        case .monitorDevice: return SafeFile.Input("nothing (--monitor)", "")
        }
    }
}

/// The bytes the secure monitor measures in a file (docs/monitor.md): the image behind a signed
/// next-stage header (magic "BHNEXT01", image size at offset 24, the image from offset 4096), or the
/// whole file when it is a raw image such as build/bulkhead.bin.
public struct MonitorImage: Equatable, Sendable {
    public static let headerSize = 4096
    public static let magic = Array("BHNEXT01".utf8)

    public var bytes: [UInt8]
    /// Whether the file had a signed next-stage header.
    public var signed: Bool

    public static func measured(_ file: [UInt8], path: String) throws(ToolError) -> MonitorImage {
        guard file.count >= magic.count, Array(file[0..<magic.count]) == magic else {
            guard !file.isEmpty else { throw ToolError("\(path): the file is empty: no image to measure") }
            return MonitorImage(bytes: file, signed: false)
        }
        guard file.count >= 32 else {
            throw ToolError("\(path): signed next-stage header cut off at \(file.count) bytes (the image size is at offset 24)")
        }
        var size: UInt64 = 0
        for i in (24..<32).reversed() { size = size << 8 | UInt64(file[i]) }
        let available = UInt64(max(0, file.count - headerSize))
        guard size > 0, size <= available else {
            throw ToolError("\(path): the signed header gives an image of \(size) bytes, but \(available) follow the "
                            + "\(headerSize)-byte header")
        }
        return MonitorImage(bytes: Array(file[headerSize..<(headerSize + Int(size))]), signed: true)
    }
}
