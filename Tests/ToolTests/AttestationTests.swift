// `bulkhead attest verify` (report parsing, signature, nonce, device key files) and
// `bulkhead attest device-key` (the hypervisor identity from an ELF, the key from the secret).

import BulkheadCore
import Crypto
import Foundation
import Testing
@testable import BulkheadTool

/// A fixed device key for the tests: seed bytes 0x40 ... 0x5f.
let attestSeed: [UInt8] = (0..<32).map { UInt8(0x40 + $0) }

/// Builds and signs a report as docs/keys.md lays it out.
func makeReport(seed: [UInt8] = attestSeed, securityVersion: UInt64 = 0x0102_0304_0506_0708, name: [UInt8] = Array("vault".utf8),
                nonce: [UInt8] = (0..<32).map { UInt8(0xA0 + $0) }, version: UInt16 = 1, length: UInt16 = 320,
                policy: [UInt8] = (0..<64).map { UInt8(0xC0 + $0) }) throws -> [UInt8] {
    var r = [UInt8](repeating: 0, count: 256)
    r.replaceSubrange(0..<4, with: Array("BHAR".utf8))
    r[4] = UInt8(version & 0xFF); r[5] = UInt8(version >> 8)
    r[6] = UInt8(length & 0xFF); r[7] = UInt8(length >> 8)
    for i in 0..<8 { r[8 + i] = UInt8(truncatingIfNeeded: securityVersion >> UInt64(8 * i)) }
    for i in 0..<64 { r[16 + i] = UInt8(i) }                   // identity 00 01 ... 3f
    r.replaceSubrange(80..<(80 + name.count), with: name)
    for i in 0..<64 { r[96 + i] = UInt8(0x80 + i) }            // measurement 80 ... bf
    r.replaceSubrange(160..<224, with: policy)                 // policy digest (default c0 ... ff)
    r.replaceSubrange(224..<256, with: nonce)
    let key = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
    return r + Array(try key.signature(for: r))
}

func publicKeyHex(_ seed: [UInt8] = attestSeed) throws -> String {
    hexString(try Curve25519.Signing.PrivateKey(rawRepresentation: seed).publicKey.rawRepresentation)
}

func hexOf(_ range: Range<Int>) -> String { hexString(range.map { UInt8($0) }) }

/// Appends a section header table with .symtab and .strtab holding `symbols` to an ELFBuilder image.
func withSymbols(_ elf: [UInt8], _ symbols: [(String, UInt64)]) -> [UInt8] {
    var out = elf
    func put(_ at: Int, _ value: UInt64, _ width: Int) {
        for i in 0..<width { out[at + i] = UInt8(truncatingIfNeeded: value >> UInt64(8 * i)) }
    }
    var strtab: [UInt8] = [0]
    var symtab = [UInt8](repeating: 0, count: 24)              // the null symbol
    for (name, value) in symbols {
        var entry = [UInt8](repeating: 0, count: 24)
        for i in 0..<4 { entry[i] = UInt8(truncatingIfNeeded: strtab.count >> (8 * i)) }
        entry[4] = 0x10                                        // STB_GLOBAL, STT_NOTYPE
        entry[6] = 0xF1                                        // SHN_ABS
        for i in 0..<8 { entry[8 + i] = UInt8(truncatingIfNeeded: value >> UInt64(8 * i)) }
        symtab += entry
        strtab += Array(name.utf8) + [0]
    }
    let symtabOffset = out.count
    out += symtab
    let strtabOffset = out.count
    out += strtab
    while out.count % 8 != 0 { out.append(0) }
    let shoff = out.count
    out += [UInt8](repeating: 0, count: 3 * 64)
    // [1] .symtab: type 2, link 2, entsize 24; [2] .strtab: type 3.
    put(shoff + 64 + 0x04, 2, 4); put(shoff + 64 + 0x18, UInt64(symtabOffset), 8); put(shoff + 64 + 0x20, UInt64(symtab.count), 8)
    put(shoff + 64 + 0x28, 2, 4); put(shoff + 64 + 0x38, 24, 8)
    put(shoff + 128 + 0x04, 3, 4); put(shoff + 128 + 0x18, UInt64(strtabOffset), 8); put(shoff + 128 + 0x20, UInt64(strtab.count), 8)
    put(0x28, UInt64(shoff), 8); put(0x3A, 64, 2); put(0x3C, 3, 2)
    return out
}

/// The attestation public key computed without Core: swift-crypto's HKDF<SHA512> with the labels of docs/keys.md.
func independentDeviceKey(secret: [UInt8], identity: [UInt8]) throws -> String {
    let prk = HKDF<Crypto.SHA512>.extract(inputKeyMaterial: SymmetricKey(data: secret), salt: Array("Bulkhead hypervisor CDI v1".utf8))
    let cdi = HKDF<Crypto.SHA512>.expand(pseudoRandomKey: prk, info: identity, outputByteCount: 64)
    let seed = HKDF<Crypto.SHA512>.expand(pseudoRandomKey: cdi, info: Array("Bulkhead attestation key v1".utf8), outputByteCount: 32)
    let key = try seed.withUnsafeBytes { try Curve25519.Signing.PrivateKey(rawRepresentation: Array($0)) }
    return hexString(key.publicKey.rawRepresentation)
}

@Suite("CLI: attestation reports and the device attestation key")
struct AttestationTests {
    // MARK: attest verify

    /// --bundle: the report's policy digest is recomputed from the partition of that name, and the
    /// verifier sees its DMA trust and devices; another policy (no DMA trust) is refused.
    @Test func verifyAgainstABundleShowsDMATrustAndDevices() throws {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("g.bin", [0x13, 0, 0, 0])
        let config = ws.config("""
            [[partition]]
            name = "rtc"
            image = "g.bin"
            harts = [0]
            memory_base = 0x84000000
            memory_size = "2M"
            devices = ["/soc/rtc@101000"]
            dma = "trusted"
            """)
        let key = try SigningKeys.generate(base: ws.directory + "/keys/test")
        _ = try Commands.pack(configPath: config, output: ws.directory + "/b.bin", keyPath: key.privatePath,
                              securityVersion: 0, board: BoardOptions())
        let bundle = [UInt8](try Data(contentsOf: URL(fileURLWithPath: ws.directory + "/b.bin")))
        let plan = try bundle.withUnsafeBytes { try BundleReader(bytes: $0).plan }
        let digest = KeyChain.policyDigest(plan[0], devices: plan.devices, partition: 0).withBytes { Array($0) }
        ws.write("r.bin", try makeReport(name: Array("rtc".utf8), policy: digest))
        let out = try Commands.attestVerify(reportPath: ws.directory + "/r.bin", deviceKey: try publicKeyHex(),
                                            bundlePath: ws.directory + "/b.bin")
        #expect(out.hasSuffix("""
            policy: matches partition #0 "rtc" of \(ws.directory)/b.bin
              keys: none
              dma: trusted (its DMA-capable devices can reach all memory)
              device: /soc/rtc@101000 (google,goldfish-rtc) 0x101000 + 4 KiB, PLIC interrupt 11
            """))
        // The same partition without DMA trust has another digest: the report does not match it.
        var other = plan[0]
        other.flags.dmaTrusted = false
        let untrusted = KeyChain.policyDigest(other, devices: plan.devices, partition: 0).withBytes { Array($0) }
        #expect(untrusted != digest)
        ws.write("u.bin", try makeReport(name: Array("rtc".utf8), policy: untrusted))
        #expect(throws: ToolError("\(ws.directory)/u.bin: policy digest (offset 160) is not that of partition #0 \"rtc\" in "
                                  + "\(ws.directory)/b.bin (\(hexString(digest))): another policy, devices or DMA trust")) {
            try Commands.attestVerify(reportPath: ws.directory + "/u.bin", deviceKey: try publicKeyHex(),
                                      bundlePath: ws.directory + "/b.bin")
        }
        ws.write("n.bin", try makeReport(name: Array("vault".utf8), policy: digest))
        #expect(throws: ToolError("\(ws.directory)/b.bin: has no partition \"vault\" (the report's partition)")) {
            try Commands.attestVerify(reportPath: ws.directory + "/n.bin", deviceKey: try publicKeyHex(),
                                      bundlePath: ws.directory + "/b.bin")
        }
    }

    @Test func verifyPrintsTheFields() throws {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("r.bin", try makeReport())
        let path = ws.directory + "/r.bin"
        let key = try publicKeyHex()
        let expected = """
            \(path): attestation report
            version: 1
            security version: 72623859790382856
            hypervisor identity: \(hexOf(0..<64))
            partition name: vault
            partition measurement: \(hexOf(0x80..<0xC0))
            policy digest: \(hexOf(0xC0..<0x100))
            nonce: \(hexOf(0xA0..<0xC0))
            signature: valid (device key \(key.prefix(16))...)
            """
        #expect(try Commands.attestVerify(reportPath: path, deviceKey: key) == expected)
        // With the right nonce (either case of hex digits).
        let withNonce = try Commands.attestVerify(reportPath: path, deviceKey: key, nonce: hexOf(0xA0..<0xC0).uppercased())
        #expect(withNonce.contains("nonce: \(hexOf(0xA0..<0xC0)) (matches --nonce)\n"))
        // A 16-byte name uses the whole field.
        ws.write("long.bin", try makeReport(name: Array("abcdefghij-_0189".utf8)))
        #expect(try Commands.attestVerify(reportPath: ws.directory + "/long.bin", deviceKey: key).contains("\npartition name: abcdefghij-_0189\n"))
    }

    @Test func everySingleByteCorruptionFails() throws {
        let report = try makeReport()
        let key = try Curve25519.Signing.PublicKey(rawRepresentation: try #require(parseHex(try publicKeyHex())))
        #expect(try AttestationReportFile.parse(report, file: "r").isSigned(by: key))
        for offset in 0..<320 {
            for flip: UInt8 in [0x01, 0x80, 0xFF] {
                var bad = report
                bad[offset] ^= flip
                if let parsed = try? AttestationReportFile.parse(bad, file: "r") {
                    #expect(offset >= 8, "offset \(offset) passed the header checks")
                    #expect(!parsed.isSigned(by: key), "offset \(offset) ^ \(flip) still verifies")
                }
            }
        }
        // Through the command: the error names the report.
        let ws = Workspace()
        defer { ws.remove() }
        let hexKey = try publicKeyHex()
        for offset in [8, 16, 80, 96, 160, 224, 255, 256, 300, 319] {
            var bad = report
            bad[offset] ^= 0x04
            ws.write("bad.bin", bad)
            let path = ws.directory + "/bad.bin"
            #expect(throws: ToolError("\(path): the signature does not verify with the device key (\(hexKey))")) {
                try Commands.attestVerify(reportPath: path, deviceKey: hexKey)
            }
        }
    }

    @Test func anotherKeyDoesNotVerify() throws {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("r.bin", try makeReport())
        let other = try publicKeyHex((0..<32).map { UInt8(0x41 + $0) })
        #expect(throws: ToolError("\(ws.directory)/r.bin: the signature does not verify with the device key (\(other))")) {
            try Commands.attestVerify(reportPath: ws.directory + "/r.bin", deviceKey: other)
        }
    }

    @Test func headerErrors() throws {
        let good = try makeReport()
        func error(_ bytes: [UInt8]) -> String? {
            do { _ = try AttestationReportFile.parse(bytes, file: "r.bin"); return nil } catch { return error.message }
        }
        #expect(error(good) == nil)
        #expect(error(Array(good.prefix(319))) == "r.bin: an attestation report is exactly 320 bytes; the file is 319 bytes")
        #expect(error(good + [0]) == "r.bin: an attestation report is exactly 320 bytes; the file is 321 bytes")
        #expect(error([]) == "r.bin: an attestation report is exactly 320 bytes; the file is 0 bytes")
        var magic = good
        magic.replaceSubrange(0..<4, with: Array("BHSL".utf8))
        #expect(error(magic) == "r.bin: magic (offset 0): expected \"BHAR\" (42 48 41 52), found \"BHSL\" (42 48 53 4c): not an attestation report")
        magic[0] = 0
        #expect(error(magic) == "r.bin: magic (offset 0): expected \"BHAR\" (42 48 41 52), found 00 48 53 4c: not an attestation report")
        #expect(error(try makeReport(version: 2)) == "r.bin: version (offset 4): 2 is not supported (this tool reads version 1)")
        #expect(error(try makeReport(version: 0x100)) == "r.bin: version (offset 4): 256 is not supported (this tool reads version 1)")
        #expect(error(try makeReport(length: 256)) == "r.bin: length (offset 6): the header says 256 bytes; a version 1 report is 320")

        // Through the command, with a missing file too.
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("short.bin", Array(good.prefix(100)))
        let key = try publicKeyHex()
        #expect(throws: ToolError("\(ws.directory)/short.bin: an attestation report is exactly 320 bytes; the file is 100 bytes")) {
            try Commands.attestVerify(reportPath: ws.directory + "/short.bin", deviceKey: key)
        }
        #expect(throws: ToolError.io("\(ws.directory)/none.bin: cannot read the attestation report: no such file")) {
            try Commands.attestVerify(reportPath: ws.directory + "/none.bin", deviceKey: key)
        }
    }

    @Test func signedButMalformedNames() throws {
        let ws = Workspace()
        defer { ws.remove() }
        let key = try publicKeyHex()
        let cases: [([UInt8], String)] = [
            ([], "the name is empty"),
            (Array("ab".utf8) + [0, 0x63], "bytes after the name's end are not zero"),
            (Array("Vault".utf8), "byte 0 (0x56) is not one of a-z 0-9 - _"),
        ]
        for (name, problem) in cases {
            ws.write("n.bin", try makeReport(name: name))
            #expect(throws: ToolError("\(ws.directory)/n.bin: partition name (offset 80): \(problem)")) {
                try Commands.attestVerify(reportPath: ws.directory + "/n.bin", deviceKey: key)
            }
        }
    }

    @Test func nonceChecks() throws {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("r.bin", try makeReport())
        let path = ws.directory + "/r.bin", key = try publicKeyHex()
        let other = String(repeating: "00", count: 32)
        #expect(throws: ToolError("\(path): nonce (offset 224): the report holds \(hexOf(0xA0..<0xC0)), not the expected \(other) "
                                  + "(a replayed or another request's report)")) {
            try Commands.attestVerify(reportPath: path, deviceKey: key, nonce: other)
        }
        for bad in ["", "00", String(repeating: "0", count: 63), String(repeating: "g", count: 64), String(repeating: "0", count: 66)] {
            #expect(throws: ToolError("--nonce: expected the 32-byte nonce as 64 hex digits, found \"\(bad)\"")) {
                try Commands.attestVerify(reportPath: path, deviceKey: key, nonce: bad)
            }
        }
    }

    @Test func deviceKeyFormats() throws {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("r.bin", try makeReport())
        let path = ws.directory + "/r.bin", key = try publicKeyHex()
        func verifies(_ deviceKey: String) throws -> Bool {
            try Commands.attestVerify(reportPath: path, deviceKey: deviceKey).hasSuffix("signature: valid (device key \(key.prefix(16))...)")
        }
        #expect(try verifies(key))
        #expect(try verifies(key.uppercased()))
        ws.write("one.pub", Array((key + "\n").utf8))
        #expect(try verifies(ws.directory + "/one.pub"))
        ws.write("bare.pub", Array(("  " + key + "\r\n\n").utf8))
        #expect(try verifies(ws.directory + "/bare.pub"))
        ws.write("two.pub", Array("BULKHEAD DEVICE ATTESTATION PUBLIC KEY\n\(key)\n".utf8))
        #expect(try verifies(ws.directory + "/two.pub"))
        // A bundle-signing public key is not a device key, even with the right bytes.
        ws.write("signing.pub", Array("BULKHEAD ED25519 PUBLIC KEY\n\(key)\n".utf8))
        #expect(throws: ToolError("\(ws.directory)/signing.pub: this is a bundle-signing public key (\"BULKHEAD ED25519 "
                                  + "PUBLIC KEY\", from `bulkhead keygen`), not a device attestation key; --device-key needs "
                                  + "the key `bulkhead attest device-key -o` writes (\"BULKHEAD DEVICE ATTESTATION PUBLIC KEY\")")) {
            try Commands.attestVerify(reportPath: path, deviceKey: ws.directory + "/signing.pub")
        }
        // The file `attest device-key -o` writes.
        let pub = try Curve25519.Signing.PublicKey(rawRepresentation: try #require(parseHex(key)))
        try Commands.writePublicKey(pub, to: ws.directory + "/written.pub")
        #expect(try verifies(ws.directory + "/written.pub"))
        #expect(try String(contentsOfFile: ws.directory + "/written.pub", encoding: .utf8)
                == "BULKHEAD DEVICE ATTESTATION PUBLIC KEY\n\(key)\n")
        // verify --public-key and pack --key refuse it: it is no bundle-signing key.
        #expect(throws: ToolError("\(ws.directory)/written.pub: this is a device attestation key (from `bulkhead attest "
                                  + "device-key`), not a bundle-signing key: --public-key needs the public key file "
                                  + "(NAME.pub), never the private key")) {
            try SigningKeys.loadPublic(ws.directory + "/written.pub")
        }
        #expect(throws: ToolError("\(ws.directory)/written.pub: this is a device attestation key (from `bulkhead attest "
                                  + "device-key`), not a bundle-signing key: --key needs the private key file (NAME.key); "
                                  + "the .pub file is for verify")) {
            try SigningKeys.loadPrivate(ws.directory + "/written.pub")
        }
        // -o never replaces a bundle-signing public key (which `make kernel TRUST_KEYS=` would trust).
        let signingBefore = FileManager.default.contents(atPath: ws.directory + "/signing.pub")
        #expect(throws: ToolError("-o: \(ws.directory)/signing.pub is a bundle-signing public key (from `bulkhead keygen`); "
                                  + "it is not overwritten with a device attestation key (choose another file, e.g. device.pub)")) {
            try Commands.writePublicKey(pub, to: ws.directory + "/signing.pub")
        }
        #expect(FileManager.default.contents(atPath: ws.directory + "/signing.pub") == signingBefore)

        ws.write("private.key", Array("BULKHEAD ED25519 PRIVATE KEY\n\(hexString(attestSeed))\n".utf8))
        #expect(throws: ToolError("\(ws.directory)/private.key: this is a private key; --device-key needs the device's public attestation key")) {
            try Commands.attestVerify(reportPath: path, deviceKey: ws.directory + "/private.key")
        }
        let format = "a device key file holds the 32-byte public key as 64 hex digits (one line), or is a device "
            + "attestation key file (\"BULKHEAD DEVICE ATTESTATION PUBLIC KEY\", then the hex; `bulkhead attest device-key -o` writes it)"
        ws.write("three.pub", Array("BULKHEAD DEVICE ATTESTATION PUBLIC KEY\n\(key)\n\(key)\n".utf8))
        #expect(throws: ToolError("\(ws.directory)/three.pub: not a device key file: \(format)")) {
            try Commands.attestVerify(reportPath: path, deviceKey: ws.directory + "/three.pub")
        }
        ws.write("empty.pub", [])
        #expect(throws: ToolError("\(ws.directory)/empty.pub: not a device key file: \(format)")) {
            try Commands.attestVerify(reportPath: path, deviceKey: ws.directory + "/empty.pub")
        }
        ws.write("short.pub", Array(key.dropLast(2).utf8))
        #expect(throws: ToolError("\(ws.directory)/short.pub: line 1: expected the 32-byte public key as 64 hex digits, found \"\(key.dropLast(2))\"")) {
            try Commands.attestVerify(reportPath: path, deviceKey: ws.directory + "/short.pub")
        }
        let almost = String(key.dropLast()) + "x"
        #expect(throws: ToolError("--device-key: \"\(almost)\" is neither 64 hex digits (the 32-byte public key) nor a readable file")) {
            try Commands.attestVerify(reportPath: path, deviceKey: almost)
        }
        #expect(throws: ToolError.io("\(ws.directory)/missing.pub: cannot read the device key: no such file")) {
            try Commands.attestVerify(reportPath: path, deviceKey: ws.directory + "/missing.pub")
        }
        // -o never replaces something that is not a public key file.
        #expect(throws: ToolError("-o: \(ws.directory)/private.key exists and is not a device attestation key file; it is not overwritten")) {
            try Commands.writePublicKey(pub, to: ws.directory + "/private.key")
        }
    }

    // MARK: attest device-key

    @Test func identityCoversTheRangeAsLoaded() throws {
        typealias Segment = DeviceAttestationKey.Segment
        let segments = [
            Segment(address: 0x1000, fileBytes: [1, 2, 3, 4], memorySize: 4),
            Segment(address: 0x1008, fileBytes: [5, 6], memorySize: 6),     // .bss-like tail 0x100a..<0x100e
            Segment(address: 0x1010, fileBytes: [7, 8, 9, 10], memorySize: 4),
        ]
        // A gap (0x1004..<0x1008), a zeroed tail, and the range cutting the last segment.
        let bytes = try DeviceAttestationKey.loadedBytes(segments: segments, start: 0x1000, end: 0x1012)
        #expect(bytes == [1, 2, 3, 4, 0, 0, 0, 0, 5, 6, 0, 0, 0, 0, 0, 0, 7, 8])
        // A range starting inside a segment, and one before any segment.
        #expect(try DeviceAttestationKey.loadedBytes(segments: segments, start: 0x1002, end: 0x1009) == [3, 4, 0, 0, 0, 0, 5])
        #expect(try DeviceAttestationKey.loadedBytes(segments: segments, start: 0xFFE, end: 0x1001) == [0, 0, 1])
        // The identity is SHA-512 of those bytes.
        let identity = try DeviceAttestationKey.identity(segments: segments, start: 0x1000, end: 0x1012)
        #expect(identity == Array(Crypto.SHA512.hash(data: bytes)))
        #expect(throws: ToolError("the identity range [0x1000, 0x1000) is empty: __rodata_end must lie above __kernel_start")) {
            try DeviceAttestationKey.loadedBytes(segments: segments, start: 0x1000, end: 0x1000)
        }
    }

    @Test func deviceKeyMatchesAnIndependentDerivation() throws {
        let identity = (0..<64).map { UInt8(0xF0 ^ $0) }
        let key = try DeviceAttestationKey.publicKey(secret: testSecret, identity: identity)
        #expect(hexString(key.rawRepresentation) == (try independentDeviceKey(secret: testSecret, identity: identity)))
        // Core's Ed25519 (what the hypervisor signs with) gets the same public key from Core's seed.
        var seed = DeviceAttestationKey.seed(secret: testSecret, identity: identity)
        let core = try #require(seed.withUnsafeBytes { Ed25519PrivateKey(seed: $0) })
        let coreKey = core.withPublicKeyBytes { Array($0) }
        #expect(coreKey == Array(key.rawRepresentation))
        seed = []
        // Another secret or another identity gives another key.
        var otherSecret = testSecret
        otherSecret[0] ^= 1
        var otherIdentity = identity
        otherIdentity[63] ^= 1
        #expect(try DeviceAttestationKey.publicKey(secret: otherSecret, identity: identity).rawRepresentation != key.rawRepresentation)
        #expect(try DeviceAttestationKey.publicKey(secret: testSecret, identity: otherIdentity).rawRepresentation != key.rawRepresentation)
    }

    /// A hand-built hypervisor ELF: .text at 0x80200000, a gap, .rodata, then .data and .bss.
    static func kernelELF(symbols: [(String, UInt64)] = [("_start", 0x8020_0000), ("__kernel_start", 0x8020_0000),
                                                          ("__rodata_end", 0x8020_0108)]) -> [UInt8] {
        let text: [UInt8] = [0x13, 0, 0, 0, 0x6F, 0, 0, 0]
        let rodata: [UInt8] = Array("read-only".utf8)
        let elf = ELFBuilder.image(segments: [(0x8020_0000, text, 8), (0x8020_0100, rodata + [0, 0, 0, 0, 0, 0, 0], 16),
                                              (0x8020_0200, [9, 9], 0x1000)], entry: 0x8020_0000)
        return withSymbols(elf, symbols)
    }

    @Test func deviceKeyFromAHandBuiltELF() throws {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("k.elf", Self.kernelELF())
        let parsed = try KernelELF.parse(Self.kernelELF(), path: "k.elf")
        #expect(parsed.start == 0x8020_0000 && parsed.end == 0x8020_0108)
        // .text, zeros up to .rodata, and .rodata up to __rodata_end (8 of its bytes).
        let expectedBytes: [UInt8] = [0x13, 0, 0, 0, 0x6F, 0, 0, 0] + [UInt8](repeating: 0, count: 0xF8) + Array("read-onl".utf8)
        let identity = Array(Crypto.SHA512.hash(data: expectedBytes))
        #expect(try parsed.identity() == identity)

        // --secret-file and --flash give the same key, the independent one; -o writes it.
        ws.write("s.secret", Array((testSecretHex + "\n").utf8))
        let expectedKey = try independentDeviceKey(secret: testSecret, identity: identity)
        let fingerprint = DeviceSecretFile.fingerprint(testSecret)
        let fromFile = try Commands.attestDeviceKey(identity: .kernel(ws.directory + "/k.elf"), secret: .file(ws.directory + "/s.secret"),
                                                    output: ws.directory + "/device.pub")
        #expect(fromFile == """
            hypervisor identity: \(hexString(identity.prefix(8)))... (SHA-512 of [0x80200000, 0x80200108), 264 bytes of \(ws.directory)/k.elf as loaded)
            device secret: \(ws.directory)/s.secret (fingerprint \(fingerprint))
            device attestation key: \(expectedKey)
            wrote \(ws.directory)/device.pub
            """)
        #expect(try String(contentsOfFile: ws.directory + "/device.pub", encoding: .utf8)
                == "BULKHEAD DEVICE ATTESTATION PUBLIC KEY\n\(expectedKey)\n")
        let image = ws.directory + "/f.img"
        try Commands.provision(imagePath: image, secret: testSecret, force: false)
        let fromFlash = try Commands.attestDeviceKey(identity: .kernel(ws.directory + "/k.elf"), secret: .flash(image),
                                                     output: ws.directory + "/device.pub")   // replaces the public key file
        #expect(fromFlash.contains("\ndevice secret: \(image)'s device-secret block (fingerprint \(fingerprint))\n"))
        #expect(fromFlash.contains("\ndevice attestation key: \(expectedKey)\n"))
        #expect(!fromFlash.contains(testSecretHex) && !fromFile.contains(testSecretHex))

        // A report signed by that key verifies with the file.
        let seed = DeviceAttestationKey.seed(secret: testSecret, identity: identity)
        ws.write("r.bin", try makeReport(seed: seed))
        #expect(try Commands.attestVerify(reportPath: ws.directory + "/r.bin", deviceKey: ws.directory + "/device.pub")
                .hasSuffix("signature: valid (device key \(expectedKey.prefix(16))...)"))

        // An image without a secret.
        let blank = ws.directory + "/blank.img"
        _ = try Commands.flash(imagePath: blank, request: FlashRequest(resetState: true), create: true)
        #expect(throws: ToolError("\(blank): device secret: not provisioned (the block is erased); `bulkhead provision` writes one")) {
            try Commands.attestDeviceKey(identity: .kernel(ws.directory + "/k.elf"), secret: .flash(blank))
        }
    }

    @Test func monitorDeviceKeyDependsOnTheSecretAlone() throws {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("s.secret", Array((testSecretHex + "\n").utf8))
        // Reference with swift-crypto: seed = HKDF-SHA512(salt "Bulkhead monitor device key v1", secret, no info).
        let seed = HKDF<Crypto.SHA512>.deriveKey(inputKeyMaterial: SymmetricKey(data: testSecret),
                                                 salt: Array("Bulkhead monitor device key v1".utf8), info: [UInt8](), outputByteCount: 32)
        let expected = try Curve25519.Signing.PrivateKey(rawRepresentation: seed.withUnsafeBytes { Array($0) }).publicKey
        let out = try Commands.attestDeviceKey(identity: .monitorDevice, secret: .file(ws.directory + "/s.secret"),
                                               output: ws.directory + "/monitor.pub")
        #expect(out.contains("monitor device key: \(hexString(expected.rawRepresentation))\n"))
        #expect(!out.contains("hypervisor identity"))
        let written = try DeviceAttestationKey.parseFile([UInt8](Data(contentsOf: URL(fileURLWithPath: ws.directory + "/monitor.pub"))), file: "monitor.pub")
        #expect(written.rawRepresentation == expected.rawRepresentation)
    }

    @Test func deviceKeyUnderTheSecureMonitorHashesTheMeasuredImage() throws {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("s.secret", Array((testSecretHex + "\n").utf8))
        let image: [UInt8] = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let identity = Array(Crypto.SHA512.hash(data: image))
        let expectedKey = try independentDeviceKey(secret: testSecret, identity: identity)
        // The raw image: the whole file is measured.
        ws.write("bulkhead.bin", image)
        let raw = try Commands.attestDeviceKey(identity: .monitorImage(ws.directory + "/bulkhead.bin"),
                                               secret: .file(ws.directory + "/s.secret"))
        #expect(raw.hasPrefix("hypervisor identity: \(hexString(identity.prefix(8)))... (the secure monitor's measurement: "
                              + "SHA-512 of 5000 bytes of \(ws.directory)/bulkhead.bin)"))
        #expect(raw.hasSuffix("device attestation key: \(expectedKey)"))
        // The signed next stage: the header is skipped, bytes after the image are not measured.
        var header = [UInt8](repeating: 0, count: 4096)
        header.replaceSubrange(0..<8, with: Array("BHNEXT01".utf8))
        header.replaceSubrange(24..<32, with: [0x88, 0x13, 0, 0, 0, 0, 0, 0])     // 5000
        ws.write("bulkhead.signed", header + image + [1, 2, 3])
        let signed = try Commands.attestDeviceKey(identity: .monitorImage(ws.directory + "/bulkhead.signed"),
                                                  secret: .file(ws.directory + "/s.secret"))
        #expect(signed.contains("SHA-512 of 5000 bytes of \(ws.directory)/bulkhead.signed after its signed header)"))
        #expect(signed.hasSuffix("device attestation key: \(expectedKey)"))
        // The plain-firmware identity of the same hypervisor is another one, so another key.
        #expect(try independentDeviceKey(secret: testSecret, identity: Array(Crypto.SHA512.hash(data: header + image))) != expectedKey)
        // A header whose image is cut off, and an empty file.
        ws.write("cut.signed", header + Array(image.prefix(4999)))
        #expect(throws: ToolError("\(ws.directory)/cut.signed: the signed header gives an image of 5000 bytes, but 4999 follow "
                                  + "the 4096-byte header")) {
            try Commands.attestDeviceKey(identity: .monitorImage(ws.directory + "/cut.signed"), secret: .file(ws.directory + "/s.secret"))
        }
        ws.write("empty.bin", [])
        #expect(throws: ToolError("\(ws.directory)/empty.bin: the file is empty: no image to measure")) {
            try Commands.attestDeviceKey(identity: .monitorImage(ws.directory + "/empty.bin"), secret: .file(ws.directory + "/s.secret"))
        }
    }

    @Test func kernelELFErrors() throws {
        func error(_ file: [UInt8]) -> String? {
            do { _ = try KernelELF.parse(file, path: "k.elf"); return nil } catch { return error.message }
        }
        #expect(error(Self.kernelELF()) == nil)
        let noSymtab = ELFBuilder.image(segments: [(0x8020_0000, [1, 2, 3, 4], 4)], entry: 0x8020_0000)
        #expect(error(noSymtab) == "k.elf: the ELF file has no symbol table (.symtab), so __kernel_start and __rodata_end cannot be "
                + "found (was it stripped? use the linker's output, build/bulkhead.elf)")
        #expect(error(Self.kernelELF(symbols: [("__kernel_start", 0x8020_0000)]))
                == "k.elf: the symbol table has no __rodata_end (Linker/kernel.ld defines both; is this the hypervisor ELF?)")
        #expect(error(Self.kernelELF(symbols: [("_start", 1)]))
                == "k.elf: the symbol table has no __kernel_start and __rodata_end (Linker/kernel.ld defines both; is this the hypervisor ELF?)")
        #expect(error(Self.kernelELF(symbols: [("__kernel_start", 0x8020_0100), ("__rodata_end", 0x8020_0100)]))
                == "k.elf: __rodata_end (0x80200100) does not lie above __kernel_start (0x80200100)")
        #expect(error(Self.kernelELF(symbols: [("__kernel_start", 0x8020_0000), ("__rodata_end", 0x8020_0108), ("__kernel_start", 4)]))
                == "k.elf: __kernel_start is defined twice in the symbol table (0x80200000 and 0x4)")
        #expect(error(ELFBuilder.image(segments: [(0x8020_0000, [1], 1)], entry: 0, machine: 62))
                == "k.elf: not a RISC-V ELF file (e_machine is 62, RISC-V is 243)")
        #expect(error([1, 2, 3]) == "k.elf: not an ELF file (the hypervisor's build/bulkhead.elf is expected)")
        // Every truncation fails cleanly (never traps).
        let good = Self.kernelELF()
        for n in 4..<good.count { #expect(error(Array(good[0..<n])) != nil, "\(n) bytes") }
    }

    @Test func theRealHypervisorELF() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("build/bulkhead.elf").path
        guard let data = FileManager.default.contents(atPath: path) else { return }   // not built: nothing to check
        let kernel = try KernelELF.parse([UInt8](data), path: path)
        #expect(kernel.start == 0x8020_0000)
        #expect(kernel.end > kernel.start && kernel.end - kernel.start < 16 << 20)
        #expect(kernel.segments.contains { $0.address == 0x8020_0000 })
        #expect(try kernel.identity().count == 64)
    }
}
