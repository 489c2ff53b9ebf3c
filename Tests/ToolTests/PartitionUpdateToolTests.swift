// pack-update -> verify / inspect (library and CLI), the policy binding to a bundle packed from the same configuration, and Core's verifier on CLI-signed updates.

import BulkheadCore
import Crypto
import Foundation
import Testing
@testable import BulkheadTool

/// SignedSetup's workspace (two partitions, "one" and "two", and a bundle) plus an update of "two".
private struct UpdateSetup {
    let s: SignedSetup
    let updatePath: String
    let newImage: [UInt8] = (0..<61).map { UInt8(truncatingIfNeeded: $0 &* 5) }

    init() throws {
        s = try SignedSetup()
        // The new release of "two": another image, the same configuration otherwise.
        s.ws.write("two.bin", newImage)
        updatePath = s.ws.directory + "/update.bin"
        _ = try Commands.packUpdate(configPath: s.config, partition: "two", output: updatePath, keyPath: s.key.privatePath,
                                    securityVersion: 7, board: BoardOptions())
    }

    var bytes: [UInt8] { [UInt8](FileManager.default.contents(atPath: updatePath)!) }

    /// `verify`'s failure message for `bytes` (nil when it succeeds), optionally against `bundle`.
    func verifyFailure(_ bytes: [UInt8], bundle: String? = nil, publicKey: String? = nil) -> String? {
        let path = s.write("candidate-update.bin", bytes)
        do {
            _ = try Commands.verifyUpdate(path: path, publicKeyPath: publicKey ?? s.key.publicPath, bundlePath: bundle)
            return nil
        } catch {
            return error.message
        }
    }
}

@Suite("CLI: partition updates (pack-update, inspect, verify)")
struct PartitionUpdateToolTests {
    @Test func packVerifyAgainstTheInstalledBundle() throws {
        let u = try UpdateSetup()
        defer { u.s.ws.remove() }
        let result = try Commands.verifyUpdate(path: u.updatePath, publicKeyPath: u.s.key.publicPath, bundlePath: u.s.bundlePath)
        #expect(result == VerifyUpdateResult(file: u.updatePath, publicKey: u.s.key.publicPath, keyID: u.s.key.keyID.hex,
                                             securityVersion: 7, partition: 1, partitionName: "two", bundle: u.s.bundlePath))
        #expect(Commands.verifyUpdateSummary(result).hasPrefix("\(u.updatePath): OK: partition update of #1 \"two\" (security version 7)"))
        // The layout, checked with swift-crypto independently of the writer.
        let b = u.bytes
        let key = try SigningKeys.loadPublic(u.s.key.publicPath)
        #expect(Array(b[0..<8]) == Array("BHUPDATE".utf8))
        #expect(key.isValidSignature(b[288..<352], for: b[0..<288]))
        #expect(Array(b[352...]) == u.newImage && b.count == 352 + u.newImage.count)
        // The image digest of bundle format 4: one chunk, so SHA-512 of its SHA-512.
        #expect(Array(b[144..<208]) == Array(Crypto.SHA512.hash(data: Array(Crypto.SHA512.hash(data: u.newImage)))))
        #expect(Array(b[32..<40]) == Array(Crypto.SHA512.hash(data: key.rawRepresentation).prefix(8)))
    }

    @Test func imageOptionPacksAnotherImageForTheSamePolicy() throws {
        // The installed bundle's configuration, unchanged; the new release of "two" beside it.
        let s = try SignedSetup()
        defer { s.ws.remove() }
        let release: [UInt8] = (0..<45).map { UInt8(truncatingIfNeeded: $0 &* 3 &+ 1) }
        let image = s.write("two-v2.bin", release)
        let output = s.ws.directory + "/two-v2.update"
        _ = try Commands.packUpdate(configPath: s.config, partition: "two", output: output, keyPath: s.key.privatePath,
                                    securityVersion: 2, board: BoardOptions(), image: image)
        let result = try Commands.verifyUpdate(path: output, publicKeyPath: s.key.publicPath, bundlePath: s.bundlePath)
        #expect(result.partition == 1 && result.securityVersion == 2)
        let b = [UInt8](FileManager.default.contents(atPath: output)!)
        #expect(Array(b[352...]) == release)
        #expect([UInt8](FileManager.default.contents(atPath: s.ws.directory + "/two.bin")!) == s.images[1])
        // --image names a partition the configuration must have, and is never the output.
        #expect(throws: ToolError.self) {
            try Commands.packUpdate(configPath: s.config, partition: "three", output: s.ws.directory + "/x.update",
                                    keyPath: s.key.privatePath, securityVersion: 2, board: BoardOptions(), image: image)
        }
        #expect(throws: ToolError.self) {
            try Commands.packUpdate(configPath: s.config, partition: "two", output: image, keyPath: s.key.privatePath,
                                    securityVersion: 2, board: BoardOptions(), image: image)
        }
        #expect([UInt8](FileManager.default.contents(atPath: image)!) == release)
    }

    @Test func coreVerifierAcceptsTheCLIUpdate() throws {
        let u = try UpdateSetup()
        defer { u.s.ws.remove() }
        let key = try SigningKeys.loadPublic(u.s.key.publicPath)
        var anchors = TrustAnchors()
        _ = anchors.add(Array(key.rawRepresentation).withUnsafeBytes { TrustAnchor(publicKey: $0)! })
        let bundle = u.s.bytes
        let update = u.bytes
        func verdict(floor: UInt64) -> PartitionUpdateError? {
            bundle.withUnsafeBytes { rawBundle in
                update.withUnsafeBytes { raw in
                    do throws(PartitionUpdateError) {
                        try PartitionUpdateVerifier.verify(update: try PartitionUpdateReader(bytes: raw),
                                                           installed: try! BundleReader(bytes: rawBundle),
                                                           trustAnchors: anchors, revoked: RevokedKeys(), floor: floor)
                        return nil
                    } catch { return error }
                }
            }
        }
        #expect(verdict(floor: 6) == nil)
        #expect(verdict(floor: 7) == .versionNotAboveFloor(version: 7, floor: 7))
    }

    @Test func policyChangeIsRefused() throws {
        let u = try UpdateSetup()
        defer { u.s.ws.remove() }
        // A bundle whose "two" has another hart: the update was packed for another policy.
        let changed = u.s.ws.config(partition("one", harts: "[1]", image: "one.bin")
                                    + partition("two", harts: "[3]", base: "0x85000000", image: "two.bin"))
        let otherBundle = u.s.ws.directory + "/other.bin"
        _ = try Commands.pack(configPath: changed, output: otherBundle, keyPath: u.s.key.privatePath, securityVersion: 5,
                              board: BoardOptions())
        let message = u.verifyFailure(u.bytes, bundle: otherBundle)
        #expect(message?.hasPrefix("\(u.s.ws.directory)/candidate-update.bin: policy changed: partition #1 \"two\"'s policy") == true, "\(message ?? "")")
        #expect(message?.hasSuffix("(bundle \(otherBundle))") == true)
        // An update of "one" (index 0) checked against the original bundle is fine.
        let onePath = u.s.ws.directory + "/one-update.bin"
        _ = try Commands.packUpdate(configPath: changed, partition: "one", output: onePath, keyPath: u.s.key.privatePath,
                                    securityVersion: 1, board: BoardOptions())
        _ = try Commands.verifyUpdate(path: onePath, publicKeyPath: u.s.key.publicPath, bundlePath: u.s.bundlePath)
    }

    @Test func tamperingAndWrongKey() throws {
        let u = try UpdateSetup()
        defer { u.s.ws.remove() }
        let candidate = "\(u.s.ws.directory)/candidate-update.bin"
        var header = u.bytes
        header[24] ^= 1   // the security version
        #expect(u.verifyFailure(header)?.hasPrefix("\(candidate): bad signature: the Ed25519 signature over the update header") == true)
        var image = u.bytes
        image[image.count - 1] ^= 1
        #expect(u.verifyFailure(image) == "\(candidate): digest mismatch: the image does not match its digest in the update header")
        #expect(u.verifyFailure(Array(u.bytes.dropLast())) == "\(candidate): the update is truncated: \(u.bytes.count) bytes needed, \(u.bytes.count - 1) available")
        let other = try SigningKeys.generate(base: u.s.ws.directory + "/keys/other")
        #expect(u.verifyFailure(u.bytes, publicKey: other.publicPath)
                == "\(candidate): wrong key: the update names signing key id \(u.s.key.keyID.hex), but \(other.publicPath) is key id \(other.keyID.hex)")
    }

    @Test func unknownPartitionAndOutputRules() throws {
        let u = try UpdateSetup()
        defer { u.s.ws.remove() }
        #expect(throws: ToolError("\(u.s.config): no partition named \"three\" (--partition); the configuration has \"one\", \"two\"")) {
            try Commands.packUpdate(configPath: u.s.config, partition: "three", output: u.s.ws.directory + "/x.bin",
                                    keyPath: u.s.key.privatePath, securityVersion: 1, board: BoardOptions())
        }
        // Like pack: never over an input.
        do {
            _ = try Commands.packUpdate(configPath: u.s.config, partition: "two", output: u.s.key.privatePath,
                                        keyPath: u.s.key.privatePath, securityVersion: 1, board: BoardOptions())
            Issue.record("pack-update wrote over its key")
        } catch {
            #expect(error.message.contains("this is the private key (--key)"), "\(error.message)")
        }
    }

    @Test func inspectListsTheUpdate() throws {
        let u = try UpdateSetup()
        defer { u.s.ws.remove() }
        let (report, result) = try Commands.inspectUpdate(path: u.updatePath)
        #expect(report.hasPrefix("\(u.updatePath): partition update, format version 1, \(u.bytes.count) bytes\npartition:        #1 \"two\"\n"))
        #expect(report.contains("image:            61 bytes at 0x160, digest \(hexString(Crypto.SHA512.hash(data: Array(Crypto.SHA512.hash(data: u.newImage)))))\n"))
        #expect(report.contains("initrd:           none\n"))
        #expect(result.update && result.partition == 1 && result.partitionName == "two" && result.securityVersion == 7
                && result.imageSize == 61 && result.initrdDigest == nil && result.entry == 0x8000_0000)
        #expect(Commands.isPartitionUpdateFile(u.updatePath) && !Commands.isPartitionUpdateFile(u.s.bundlePath))
    }

    @Test func commandLine() throws {
        let u = try UpdateSetup()
        defer { u.s.ws.remove() }
        let out = u.s.ws.directory + "/cli-update.bin"
        let packed = try runBulkhead(["pack-update", u.s.config, "--partition", "one", "--key", u.s.key.privatePath,
                                      "--version", "3", "-o", out])
        #expect(packed.code == 0, "\(packed.err)")
        #expect(packed.out.hasPrefix("\(out): partition update of #0 \"one\""))
        let verified = try runBulkhead(["verify", out, "--public-key", u.s.key.publicPath, "--bundle", u.s.bundlePath, "--json"])
        #expect(verified.code == 0, "\(verified.err)")
        let json = try JSONSerialization.jsonObject(with: Data(verified.out.utf8)) as? [String: Any]
        #expect(json?["ok"] as? Bool == true && json?["command"] as? String == "verify")
        #expect((json?["result"] as? [String: Any])?["partitionName"] as? String == "one")
        let inspected = try runBulkhead(["inspect", out, "--json"])
        #expect(inspected.code == 0, "\(inspected.err)")
        let result = (try JSONSerialization.jsonObject(with: Data(inspected.out.utf8)) as? [String: Any])?["result"] as? [String: Any]
        #expect(result?["update"] as? Bool == true && result?["securityVersion"] as? Int == 3)
        // --bundle on a bundle is refused; a policy mismatch exits 1.
        let misuse = try runBulkhead(["verify", u.s.bundlePath, "--public-key", u.s.key.publicPath, "--bundle", u.s.bundlePath])
        #expect(misuse.code == 1 && misuse.err.contains("--bundle applies to a partition update only"))
    }
}
