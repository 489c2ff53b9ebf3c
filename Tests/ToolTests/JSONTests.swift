// `--json` on check, inspect, verify, flash-info and attest verify: one JSON object on standard
// output, decoded here against the documented schema (docs/cli-json.md).
import BulkheadCore
import Crypto
@testable import BulkheadTool
import Foundation
import Testing

/// The envelope every `--json` command prints, decoded with the command's result type.
struct DecodedOutput<Result: Decodable>: Decodable {
    var command: String
    var ok: Bool
    var errors: [String]
    var warnings: [String]
    var result: Result?
}

@Suite("CLI: --json")
struct JSONTests {
    /// Runs the built binary and decodes its standard output (which must be one JSON object).
    private func json<R: Decodable>(_ type: R.Type, _ arguments: [String]) throws -> (code: Int32, output: DecodedOutput<R>, err: String) {
        let run = try runBulkhead(arguments)
        let output = try JSONDecoder().decode(DecodedOutput<R>.self, from: Data(run.out.utf8))
        return (run.code, output, run.err)
    }

    /// A workspace with a key pair, a two-partition configuration with a channel, and its bundle.
    private func packed() throws -> (ws: Workspace, config: String, bundle: String, publicKey: String) {
        let ws = Workspace()
        ws.write("small.bin", [UInt8](repeating: 0x13, count: 64))
        let config = ws.config(partition("a", extra: "keys = [\"derive\", \"seal\"]\nbootargs = \"x=1\"")
                               + partition("b", harts: "[2]", base: "0x85000000")
                               + channel("ab", size: "\"4K\"", extra: "access = [\"rw\", \"ro\"]"))
        let key = try SigningKeys.generate(base: ws.directory + "/k")
        _ = try Commands.pack(configPath: config, output: ws.directory + "/b.bin", keyPath: key.privatePath,
                              securityVersion: 7, board: BoardOptions())
        return (ws, config, ws.directory + "/b.bin", key.publicPath)
    }

    @Test func check() throws {
        let (ws, config, _, _) = try packed()
        defer { ws.remove() }
        let good = try json(CheckResult.self, ["check", config, "--json"])
        #expect(good.code == 0)
        #expect(good.output.command == "check" && good.output.ok && good.output.errors.isEmpty)
        #expect(good.output.result == CheckResult(file: config, board: "qemu-virt (RAM 0x80000000 + 1 GiB, harts 0-3)",
                                                  partitions: ["a", "b"], channels: ["ab"]))
        // Invalid: every error, no result, exit code 1; the errors also on standard error.
        let bad = ws.config(partition("a", base: "0x84100000") + partition("b", harts: "[9]", base: "0x85000000"))
        let failed = try json(CheckResult.self, ["check", bad, "--json"])
        #expect(failed.code == 1)
        #expect(!failed.output.ok && failed.output.result == nil)
        #expect(failed.output.errors == ["\(bad):5: partition #0 \"a\", field memory_base: the base is not a multiple of 2 MiB",
                                         "\(bad):11: partition #1 \"b\", field harts: hart 9 does not exist on this board"])
        #expect(failed.err == failed.output.errors.map { "error: \($0)\n" }.joined())
    }

    @Test func inspectAndVerify() throws {
        let (ws, _, bundle, publicKey) = try packed()
        defer { ws.remove() }
        let inspected = try json(InspectResult.self, ["inspect", bundle, "--json"])
        #expect(inspected.code == 0 && inspected.output.ok)
        let result = try #require(inspected.output.result)
        #expect(result.securityVersion == 7 && result.planValid && result.formatVersion == Int(BundleFormat.version))
        #expect(result.partitions.map(\.name) == ["a", "b"])
        let a = result.partitions[0]
        #expect(a.harts == [1] && a.memoryBase == 0x8400_0000 && a.memorySize == 16 << 20 && a.entry == 0x8000_0000)
        #expect(a.kind == "bulkhead" && a.imageSize == 64 && a.keys == ["derive", "seal"] && a.bootargs == "x=1")
        #expect(a.imageDigest == hexString(SHA512.hash(data: Array(SHA512.hash(data: [UInt8](repeating: 0x13, count: 64))))))   // one chunk
        #expect(a.initrdDigest == nil && !a.uart && !a.dmaTrusted && a.devices.isEmpty && a.onFault == "stop")
        #expect(result.channels == [InspectResult.Channel(index: 0, name: "ab", kind: "shared", endpoints: [0, 1], direction: "both",
                                                          depth: 0, messageSize: 0, size: 4096, access: ["rw", "ro"], doorbell: false)])
        // The plan not valid for a 2-hart board: the listing, and the error, exit code 1.
        let small = try json(InspectResult.self, ["inspect", bundle, "--json", "--harts", "2"])
        #expect(small.code == 1 && !small.output.ok && small.output.result?.planValid == false)
        #expect(small.output.errors == ["\(bundle): partition #1 \"b\", field harts: hart 2 does not exist on this board"])

        let verified = try json(VerifyResult.self, ["verify", bundle, "--public-key", publicKey, "--json"])
        #expect(verified.code == 0 && verified.output.ok)
        #expect(verified.output.result?.securityVersion == 7 && verified.output.result?.images == 2)
        #expect(verified.output.result?.keyID == SigningKeys.keyID(of: try SigningKeys.loadPublic(publicKey)).hex)
        let missing = try json(VerifyResult.self, ["verify", ws.directory + "/none.bin", "--public-key", publicKey, "--json"])
        #expect(missing.code == 2 && !missing.output.ok)
        #expect(missing.output.errors == ["\(ws.directory)/none.bin: cannot read the bundle: no such file"])
    }

    @Test func flashInfo() throws {
        let (ws, _, bundle, _) = try packed()
        defer { ws.remove() }
        let image = ws.directory + "/flash.img"
        _ = try Commands.flash(imagePath: image, request: FlashRequest(write: .init(slot: .a, bundlePath: bundle), prefer: .set(.b)),
                               create: true)
        let info = try json(FlashInfoResult.self, ["flash-info", image, "--json"])
        #expect(info.code == 0 && info.output.ok)
        let result = try #require(info.output.result)
        #expect(result.board == "qemu-virt" && result.size == 32 << 20)
        #expect(result.slots.map(\.slot) == ["A", "B"] && result.slots[1].status == "empty")
        #expect(result.slots[0].status.hasPrefix("bundle, 2 partitions"))
        #expect(result.state.preferredSlot == "B" && result.state.minimumSecurityVersion == 0 && result.state.lastBootedSlot == nil)
        // The text listing is the same findings.
        #expect(try Commands.flashInfo(imagePath: image).contains("slot B: empty"))
        let notFlash = try json(FlashInfoResult.self, ["flash-info", bundle, "--json"])
        #expect(notFlash.code != 0 && !notFlash.output.ok && notFlash.output.result == nil)
    }

    @Test func attestVerify() throws {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("r.bin", try makeReport())
        let key = hexString(try Curve25519.Signing.PrivateKey(rawRepresentation: attestSeed).publicKey.rawRepresentation)
        let nonce = hexString((0..<32).map { UInt8(0xA0 + $0) })
        let run = try json(AttestVerifyResult.self, ["attest", "verify", ws.directory + "/r.bin", "--device-key", key,
                                                     "--nonce", nonce, "--json"])
        #expect(run.code == 0 && run.output.ok && run.output.command == "attest verify")
        let result = try #require(run.output.result)
        #expect(result.partitionName == "vault" && result.securityVersion == 0x0102_0304_0506_0708 && result.version == 1)
        #expect(result.nonce == nonce && result.nonceChecked && result.deviceKey == key)
        #expect(result.hypervisorIdentity == hexString((0..<64).map { UInt8($0) }))
        let wrong = try json(AttestVerifyResult.self, ["attest", "verify", ws.directory + "/r.bin", "--device-key", key,
                                                       "--nonce", String(repeating: "0", count: 64), "--json"])
        #expect(wrong.code == 1 && !wrong.output.ok && wrong.output.errors.first?.contains("nonce (offset 224)") == true)
    }
}
