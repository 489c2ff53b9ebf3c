// keygen -> pack -> verify with swift-crypto; every tampering names its failure; key files; inspect.

import BulkheadCore
import Crypto
import Foundation
import Testing
@testable import BulkheadTool

/// A workspace with two raw images, a two-partition configuration and a key pair.
struct SignedSetup {
    let ws = Workspace()
    let key: SigningKeys.Generated
    let config: String
    let bundlePath: String
    let images: [[UInt8]] = [(0..<100).map { UInt8($0) }, (0..<37).map { UInt8(255 - $0) }]

    init(version: UInt64 = 5) throws {
        ws.write("one.bin", images[0])
        ws.write("two.bin", images[1])
        config = ws.config(partition("one", harts: "[1]", image: "one.bin")
                           + partition("two", harts: "[2]", base: "0x85000000", image: "two.bin"))
        key = try SigningKeys.generate(base: ws.directory + "/keys/vendor")
        bundlePath = ws.directory + "/bundle.bin"
        _ = try Commands.pack(configPath: config, output: bundlePath, keyPath: key.privatePath,
                              securityVersion: version, board: BoardOptions())
    }

    var bytes: [UInt8] { [UInt8](FileManager.default.contents(atPath: bundlePath)!) }

    /// Writes `bytes` as NAME and returns its path.
    func write(_ name: String, _ bytes: [UInt8]) -> String { ws.write(name, bytes); return ws.directory + "/" + name }

    /// The failure `verify` reports for `bytes` (nil when it succeeds).
    func verifyFailure(_ bytes: [UInt8], publicKey: String? = nil) -> ToolError? {
        let path = write("candidate.bin", bytes)
        do {
            _ = try Commands.verify(bundlePath: path, publicKeyPath: publicKey ?? key.publicPath)
            return nil
        } catch {
            return error
        }
    }

    /// Where partition `p`'s image lies in the packed bundle.
    func imageRange(_ p: Int) -> BundleRange { bytes.withUnsafeBytes { try! BundleReader(bytes: $0).imageRange(p) } }
}

@Suite("CLI: keys, signing and verification")
struct SigningTests {
    @Test func keygenPackVerify() throws {
        let s = try SignedSetup()
        defer { s.ws.remove() }
        let summary = try Commands.verify(bundlePath: s.bundlePath, publicKeyPath: s.key.publicPath)
        #expect(summary == "\(s.bundlePath): OK: the signature by key id \(s.key.keyID.hex) verifies with "
                + "\(s.key.publicPath), and all 2 images match their SHA-512 digests (security version 5)")
        // Checked independently of BundleSigning: swift-crypto on the raw layout of the document.
        let b = s.bytes
        let publicKey = try SigningKeys.loadPublic(s.key.publicPath)
        let manifestLength = 64 + 2 * 320
        #expect(publicKey.isValidSignature(b[manifestLength..<(manifestLength + 64)], for: b[0..<manifestLength]))
        #expect(Array(b[32..<40]) == Array(Crypto.SHA512.hash(data: publicKey.rawRepresentation).prefix(8)))
        #expect(b[24] == 5 && b[25..<32].allSatisfy { $0 == 0 })
        for p in 0..<2 {
            let r = 64 + 320 * p
            // Format 4's chunked digest; these images are one chunk each: SHA-512 of their SHA-512.
            #expect(Array(b[(r + 224)..<(r + 288)]) == Array(Crypto.SHA512.hash(data: Array(Crypto.SHA512.hash(data: s.images[p])))))
        }
    }

    @Test func flippedImageByteNamesThePartition() throws {
        let s = try SignedSetup()
        defer { s.ws.remove() }
        for p in 0..<2 {
            let range = s.imageRange(p)
            for at in [range.offset, range.offset + range.count - 1] {
                var b = s.bytes
                b[at] ^= 0x01
                let failure = s.verifyFailure(b)
                #expect(failure?.signatureProblem == .digestMismatch(partition: p))
                let name = p == 0 ? "one" : "two"
                #expect(failure?.message.contains("candidate.bin: digest mismatch for partition #\(p) \"\(name)\": the image's digest is ") == true)
            }
        }
    }

    @Test func flippedSignatureOrManifestByteIsABadSignature() throws {
        let s = try SignedSetup()
        defer { s.ws.remove() }
        let manifestLength = 64 + 2 * 320
        // Every signature byte, and manifest fields the parser accepts any value of (the security
        // version, memory, entry, a digest): all must break the signature.
        var positions = Array(manifestLength..<(manifestLength + 64))
        positions += [24, 31, 64 + 56, 64 + 72, 64 + 224, 384 + 287]
        for at in positions {
            var b = s.bytes
            b[at] ^= 0x20
            let failure = s.verifyFailure(b)
            #expect(failure?.signatureProblem == .badSignature, "byte \(at)")
            #expect(failure?.message.hasPrefix("\(s.ws.directory)/candidate.bin: bad signature: the Ed25519 signature over the manifest") == true)
        }
    }

    @Test func wrongKeyAndForgedKeyID() throws {
        let s = try SignedSetup()
        defer { s.ws.remove() }
        let other = try SigningKeys.generate(base: s.ws.directory + "/keys/other")
        let failure = s.verifyFailure(s.bytes, publicKey: other.publicPath)
        #expect(failure?.signatureProblem == .wrongKey(bundle: s.key.keyID, given: other.keyID))
        #expect(failure?.message == "\(s.ws.directory)/candidate.bin: wrong key: the manifest names signing key id "
                + "\(s.key.keyID.hex), but \(other.publicPath) is key id \(other.keyID.hex)")
        // A bundle re-labelled with the other key's id still fails: the signature is not that key's.
        var relabelled = s.bytes
        BundleWriter.put(&relabelled, 32, other.keyID.raw, 8)
        #expect(s.verifyFailure(relabelled, publicKey: other.publicPath)?.signatureProblem == .badSignature)
    }

    @Test func malformedBundlesAreRefusedByTheCoreReader() throws {
        let s = try SignedSetup()
        defer { s.ws.remove() }
        let b = s.bytes
        #expect(s.verifyFailure(b + [0])?.bundleError == .trailingBytes(declared: UInt64(b.count), available: UInt64(b.count + 1)))
        #expect(s.verifyFailure(Array(b.dropLast()))?.bundleError == .truncated(needed: UInt64(b.count), available: UInt64(b.count - 1)))
        var v1 = b
        v1[8] = 1
        #expect(s.verifyFailure(v1)?.bundleError == .unsupportedVersion(1))
        #expect(throws: ToolError.io("\(s.ws.directory)/none.bin: cannot read the bundle: no such file")) {
            try Commands.verify(bundlePath: s.ws.directory + "/none.bin", publicKeyPath: s.key.publicPath)
        }
    }

    @Test func inspectShowsVersionKeyIDAndDigests() throws {
        let s = try SignedSetup(version: 42)
        defer { s.ws.remove() }
        let inspection = try Commands.inspect(bundlePath: s.bundlePath, board: BoardOptions())
        #expect(inspection.problem == nil)
        let report = inspection.report
        #expect(report.contains("format version 4, 2 partitions"))
        #expect(report.contains("security version: 42\n"))
        #expect(report.contains("signing key id:   \(s.key.keyID.hex)\n"))
        #expect(report.contains("manifest:         704 bytes at 0x0 (signed)\n"))
        for p in 0..<2 {
            #expect(report.contains("  digest:    \(hexString(Crypto.SHA512.hash(data: Array(Crypto.SHA512.hash(data: s.images[p])))))\n"))
        }
        let b = s.bytes
        #expect(report.contains("signature:        \(hexString(b[704..<768]))\n"))
    }

    @Test func keyFiles() throws {
        let ws = Workspace()
        defer { ws.remove() }
        let generated = try SigningKeys.generate(base: ws.directory + "/a/b/dev.key")   // .key is dropped
        #expect(generated.privatePath == ws.directory + "/a/b/dev.key" && generated.publicPath == ws.directory + "/a/b/dev.pub")
        let attributes = try FileManager.default.attributesOfItem(atPath: generated.privatePath)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let privateText = String(decoding: FileManager.default.contents(atPath: generated.privatePath)!, as: UTF8.self)
        let publicText = String(decoding: FileManager.default.contents(atPath: generated.publicPath)!, as: UTF8.self)
        let privateKey = try SigningKeys.loadPrivate(generated.privatePath)
        let publicKey = try SigningKeys.loadPublic(generated.publicPath)
        #expect(privateText == "BULKHEAD ED25519 PRIVATE KEY\n\(hexString(privateKey.rawRepresentation))\n")
        #expect(publicText == "BULKHEAD ED25519 PUBLIC KEY\n\(hexString(publicKey.rawRepresentation))\n")
        #expect(privateKey.publicKey.rawRepresentation == publicKey.rawRepresentation)
        #expect(SigningKeys.keyID(of: publicKey) == generated.keyID)
        let summary = try Commands.keygen(output: ws.directory + "/k")
        let id = SigningKeys.keyID(of: try SigningKeys.loadPublic(ws.directory + "/k.pub"))
        #expect(summary.hasSuffix("\nkey id: \(id.hex)"))

        // Never overwritten.
        #expect(throws: ToolError("\(generated.privatePath): already exists; keygen never overwrites a key (remove it or choose another name)")) {
            try SigningKeys.generate(base: ws.directory + "/a/b/dev")
        }
        #expect(FileManager.default.contents(atPath: generated.privatePath) == Data(privateText.utf8))

        // RFC 8032 test 1's seed gives its public key: the seed is what the file holds.
        let seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
        ws.write("rfc.key", Array("BULKHEAD ED25519 PRIVATE KEY\n\(seed)\n".utf8))
        #expect(hexString(try SigningKeys.loadPrivate(ws.directory + "/rfc.key").publicKey.rawRepresentation)
                == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        ws.write("upper.key", Array("BULKHEAD ED25519 PRIVATE KEY\n\(seed.uppercased())".utf8))   // no final newline
        #expect(try SigningKeys.loadPrivate(ws.directory + "/upper.key").rawRepresentation == parseHex(seed).map { Data($0) })

        // Errors name the file and what is wrong.
        func failure(_ text: String, publicKey: Bool = false) -> String? {
            ws.write("bad", Array(text.utf8))
            do {
                if publicKey { _ = try SigningKeys.loadPublic(ws.directory + "/bad") } else { _ = try SigningKeys.loadPrivate(ws.directory + "/bad") }
                return nil
            } catch {
                return error.message.replacingOccurrences(of: ws.directory + "/", with: "")
            }
        }
        #expect(failure(publicText) == "bad: this is a public key: --key needs the private key file (NAME.key); the .pub file is for verify")
        #expect(failure(privateText, publicKey: true) == "bad: this is a private key: --public-key needs the public key file (NAME.pub), never the private key")
        #expect(failure("ssh-ed25519 AAAA\n") == "bad: line 1: not a Bulkhead private key file (the first line must be \"BULKHEAD ED25519 PRIVATE KEY\")")
        #expect(failure("BULKHEAD ED25519 PRIVATE KEY\n\(seed)\nextra\n") == "bad: expected exactly 2 lines (\"BULKHEAD ED25519 PRIVATE KEY\" and 64 hex digits), found 3")
        #expect(failure("BULKHEAD ED25519 PRIVATE KEY\n\(seed.dropLast(2))\n") == "bad: line 2: expected the 32-byte key as 64 hex digits, found \"\(seed.dropLast(2))\"")
        #expect(failure("BULKHEAD ED25519 PRIVATE KEY\n\(seed.dropLast())g\n") == "bad: line 2: expected the 32-byte key as 64 hex digits, found \"\(seed.dropLast())g\"")
        #expect(failure("BULKHEAD ED25519 PRIVATE KEY\n") == "bad: expected exactly 2 lines (\"BULKHEAD ED25519 PRIVATE KEY\" and 64 hex digits), found 1")
        #expect(throws: ToolError.io("\(ws.directory)/missing.key: cannot read the private key: no such file")) {
            try SigningKeys.loadPrivate(ws.directory + "/missing.key")
        }
    }

    @Test func packRefusesAPublicKeyAndWritesNothing() throws {
        let s = try SignedSetup()
        defer { s.ws.remove() }
        let output = s.ws.directory + "/out.bin"
        #expect(throws: ToolError("\(s.key.publicPath): this is a public key: --key needs the private key file (NAME.key); the .pub file is for verify")) {
            try Commands.pack(configPath: s.config, output: output, keyPath: s.key.publicPath, securityVersion: 1, board: BoardOptions())
        }
        #expect(!FileManager.default.fileExists(atPath: output))
    }
}
