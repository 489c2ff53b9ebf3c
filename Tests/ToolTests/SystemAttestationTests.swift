// `bulkhead attest verify --system`: a system report written by Core's writer (as the hypervisor
// writes it) from a packed bundle, checked by the CLI with swift-crypto: signature, nonce, bundle,
// every truncation and changed byte, the person's listing and the JSON result.

import BulkheadCore
import Crypto
import Foundation
import Testing
@testable import BulkheadTool

/// A packed bundle of two partitions ("a" with attest_system, "b") and two channels, and reports about it.
private struct SystemSetup {
    let ws = Workspace()
    let bundlePath: String
    let nonce: [UInt8] = (0..<32).map { UInt8(0x30 + $0) }

    init(keysOfB: String = "[\"derive\"]") throws {
        ws.write("a.bin", (0..<100).map { UInt8($0) })
        ws.write("b.bin", (0..<37).map { UInt8(255 - $0) })
        let config = ws.config(partition("a", harts: "[1]", image: "a.bin", extra: "keys = [\"attest_system\"]")
                               + partition("b", harts: "[2]", base: "0x85000000", image: "b.bin", extra: "keys = \(keysOfB)")
                               + channel("ab", extra: "direction = \"forward\"\ndoorbell = true")
                               + channel("buf", "b", "a", size: "\"8K\"", extra: "access = [\"rw\", \"ro\"]"))
        let key = try SigningKeys.generate(base: ws.directory + "/keys/vendor")
        bundlePath = ws.directory + "/bundle.bin"
        _ = try Commands.pack(configPath: config, output: bundlePath, keyPath: key.privatePath, securityVersion: 4, board: BoardOptions())
    }

    /// The report the hypervisor would write for this bundle (partition `p`'s entry changed by `edit`).
    func report(seed: [UInt8] = attestSeed, edit: (Int, inout SystemReport.Partition) -> Void = { _, _ in }) -> [UInt8] {
        let bytes = [UInt8](FileManager.default.contents(atPath: bundlePath)!)
        return bytes.withUnsafeBytes { raw in
            let bundle = try! BundleReader(bytes: raw)
            let plan = bundle.plan
            func digest(_ b: UnsafeRawBufferPointer) -> BulkheadCore.SHA512Digest {
                var d = InlineArray<64, UInt8>(repeating: 0)
                for i in 0..<64 { d[i] = b[i] }
                return BulkheadCore.SHA512Digest(bytes: d)
            }
            let identity = BulkheadCore.SHA512.hash(UnsafeRawBufferPointer(start: nil, count: 0))
            let system = SystemReport.System(securityVersion: bundle.securityVersion, identity: identity,
                                             manifestDigest: BundleVerifier.manifestDigest(bundle), partitionCount: plan.count,
                                             channelCount: plan.channelCount, caller: 0)
            let key = seed.withUnsafeBytes { Ed25519PrivateKey(seed: $0)! }
            var out = [UInt8](repeating: 0, count: SystemReport.maxSize)
            let n = out.withUnsafeMutableBytes { o in
                nonce.withUnsafeBytes { n in
                    SystemReport.write(into: o, nonce: n, system: system, partition: { p in
                        let spec = plan[p]
                        let image = digest(bundle.imageDigest(p))
                        let measurement = KeyChain.measurement(spec, imageDigest: image,
                                                               policyDigest: KeyChain.policyDigest(spec, devices: plan.devices, partition: p))
                        var e = SystemReport.Partition(name: spec.name, source: .bundle, securityVersion: bundle.securityVersion,
                                                       imageDigest: image, measurement: measurement,
                                                       policyDigest: PartitionUpdateVerifier.policyDigest(bundle: bundle, partition: p))
                        edit(p, &e)
                        return e
                    }, channel: { plan.channel($0) }, deviceKey: key)
                }
            }
            return Array(out[0..<n])
        }
    }

    func write(_ name: String, _ bytes: [UInt8]) -> String { ws.write(name, bytes); return ws.directory + "/" + name }

    /// The error `attest verify --system` gives for `bytes` (as hex on standard input), or nil.
    func failure(_ bytes: [UInt8], key: String? = nil, nonce: String? = nil, bundle: String? = nil) -> String? {
        let deviceKey = key ?? (try! publicKeyHex())
        do throws(ToolError) {
            _ = try Commands.attestVerifySystemResult(reportPath: "-", deviceKey: deviceKey, nonce: nonce,
                                                      bundlePath: bundle, standardInput: Array(hexString(bytes).utf8))
            return nil
        } catch {
            return error.message
        }
    }
}

@Suite("CLI: attest verify --system")
struct SystemAttestationTests {
    @Test func acceptsTheReportAndShowsItForAPerson() throws {
        let s = try SystemSetup()
        defer { s.ws.remove() }
        let report = s.report()
        #expect(report.count == 192 + 2 * 224 + 2 * 40 + 64)
        // swift-crypto agrees with Core's signer on the exact bytes.
        let key = try Curve25519.Signing.PrivateKey(rawRepresentation: attestSeed).publicKey
        #expect(key.isValidSignature(report.suffix(64), for: report.dropLast(64)))
        let path = s.write("system.bin", report)
        let text = try Commands.attestVerifySystem(reportPath: path, deviceKey: try publicKeyHex(), nonce: hexString(s.nonce),
                                                   bundlePath: s.bundlePath)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.first == "\(path): system report, version 1, \(report.count) bytes")
        #expect(lines.contains("security version: 4"))
        #expect(lines.contains("nonce: \(hexString(s.nonce)) (matches --nonce)"))
        #expect(lines.contains("requested by: #0 \"a\""))
        #expect(lines.contains("  #0 \"a\": bundle image, security version 4"))
        #expect(lines.contains("  #1 \"b\": bundle image, security version 4"))
        #expect(lines.contains("  #0 \"ab\": queue, a -> b, depth 4, messages up to 64 bytes, doorbell"))
        #expect(lines.contains("  #1 \"buf\": shared-memory, b <-> a, 8 KiB (read-write / read-only)"))
        #expect(lines.contains { $0.hasPrefix("bundle: matches \(s.bundlePath) ") })
        #expect(lines.last == "signature: valid (device key \(try publicKeyHex().prefix(16))...)")
        // The JSON result carries the same fields (docs/cli-json.md).
        let r = try Commands.attestVerifySystemResult(reportPath: path, deviceKey: try publicKeyHex(), bundlePath: s.bundlePath)
        #expect(r.partitions.map(\.name) == ["a", "b"] && r.channels.map(\.name) == ["ab", "buf"])
        #expect(r.channels[1].endpoints == ["b", "a"] && r.channels[1].access == ["read-write", "read-only"] && r.channels[1].sharedSize == 8192)
        #expect(r.bundle == s.bundlePath && !r.nonceChecked && r.caller == "#0 \"a\"")
        #expect(r.manifestDigest == hexString(Array(report[128..<192])))
    }

    @Test func refusesAnotherKeyAnotherNonceAndAnotherBundle() throws {
        let s = try SystemSetup()
        defer { s.ws.remove() }
        let report = s.report()
        #expect(s.failure(report) == nil)
        let otherKey = try publicKeyHex((0..<32).map { UInt8($0) })
        #expect(s.failure(report, key: otherKey) == "standard input: the signature does not verify with the device key (\(otherKey))")
        #expect(s.failure(s.report(seed: (0..<32).map { UInt8($0) }))?.contains("the signature does not verify") == true)
        #expect(s.failure(report, nonce: hexString([UInt8](repeating: 0, count: 32)))?.contains("not the expected") == true)
        #expect(s.failure(report, nonce: "12") == "--nonce: expected the 32-byte nonce as 64 hex digits, found \"12\"")
        // Partition b's policy differs in this bundle (another key service): named.
        let other = try SystemSetup(keysOfB: "[\"seal\"]")
        defer { other.ws.remove() }
        #expect(s.failure(report, bundle: other.bundlePath)
                == "standard input: partition #1 \"b\"'s policy (harts, memory, kind, flags, keys, channels or devices) differs from \(other.bundlePath)")
        // Its image (a report about another image, signed as well): named.
        var changedImage = s.report { p, e in if p == 1 { e.imageDigest = BulkheadCore.SHA512.hash(UnsafeRawBufferPointer(start: nil, count: 0)) } }
        #expect(s.failure(changedImage, bundle: s.bundlePath) == "standard input: partition #1 \"b\"'s image digest differs from \(s.bundlePath)")
        // A committed partition update is not in the bundle: only its policy is compared.
        changedImage = s.report { p, e in
            if p == 1 { e.source = .committedUpdate; e.securityVersion = 9; e.imageDigest = BulkheadCore.SHA512.hash(UnsafeRawBufferPointer(start: nil, count: 0)) }
        }
        let path = s.write("updated.bin", changedImage)
        let text = try Commands.attestVerifySystem(reportPath: path, deviceKey: try publicKeyHex(), bundlePath: s.bundlePath)
        #expect(text.contains("  #1 \"b\": committed update image, security version 9\n"))
        let measured = s.report { p, e in if p == 0 { e.measurement = e.policyDigest } }
        #expect(s.failure(measured, bundle: s.bundlePath)?.contains("partition #0 \"a\"'s measurement") == true)
    }

    @Test func refusesEveryTruncationAndEveryChangedByte() throws {
        let s = try SystemSetup()
        defer { s.ws.remove() }
        let report = s.report()
        for count in 1..<report.count {
            let why = s.failure(Array(report[0..<count]))
            #expect(why?.hasPrefix("standard input: not a valid system report: it is cut off: \(count) bytes") == true, "\(count) bytes: \(why ?? "accepted")")
        }
        #expect(s.failure(report + [0]) == "standard input: not a valid system report: 1 bytes follow the \(report.count)-byte report")
        for at in 0..<report.count {
            var bad = report
            bad[at] ^= 0x04
            #expect(s.failure(bad) != nil, "byte \(at)")
        }
    }

    @Test func readsTheVaultsConsoleLines() throws {
        let s = try SystemSetup()
        defer { s.ws.remove() }
        let report = s.report()
        var console = "[bulkhead] partition vault started\n[vault] vault: attest_system report \(report.count) bytes\n"
        for offset in stride(from: 0, to: report.count, by: 32) {
            console += "[vault] vault: system \(offset) \(hexString(Array(report[offset..<min(offset + 32, report.count)])))\n"
        }
        let r = try Commands.attestVerifySystemResult(reportPath: "-", deviceKey: try publicKeyHex(), standardInput: Array(console.utf8))
        #expect(r.file == "standard input" && r.length == report.count)
        let gap = console.replacingOccurrences(of: "[vault] vault: system 64 ", with: "[vault] vault: system 96 ")
        #expect(throws: ToolError("standard input: line 5: the report line at offset 96 does not follow on from the 64 bytes before it "
                                  + "(a line is missing or repeated)")) {
            try Commands.attestVerifySystemResult(reportPath: "-", deviceKey: try publicKeyHex(), standardInput: Array(gap.utf8))
        }
    }
}
