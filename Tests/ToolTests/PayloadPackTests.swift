// The CLI side of payloads (kind = "payload", e.g. U-Boot's u-boot.bin): loaded and entered at
// `entry`, with `uart = true` for the virtual 16550; and their errors.

import BulkheadCore
import Foundation
import Testing
@testable import BulkheadTool

@Suite("CLI: payload partitions")
struct PayloadPackTests {
    @Test func packsAPayloadAtItsEntryWithTheUART() throws {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("small.bin", [0x13, 0, 0, 0])
        let uboot = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        ws.write("u-boot.bin", uboot)
        let config = ws.config(partition("beat", harts: "[0]", size: "\"2M\"")
            + partition("uboot", harts: "[1]", base: "0x88000000", size: "\"64M\"", image: "u-boot.bin",
                        extra: "kind = \"payload\"\nentry = 0x80200000\nuart = true"))
        let output = ws.directory + "/bundle.bin"
        let key = try SigningKeys.generate(base: ws.directory + "/keys/test")
        _ = try Commands.pack(configPath: config, output: output, keyPath: key.privatePath, securityVersion: 1, board: BoardOptions())
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: output)))
        try bytes.withUnsafeBytes { raw throws in
            let reader = try BundleReader(bytes: raw)
            let spec = reader.plan[1]
            #expect(spec.imageKind == .payload && spec.entry == GuestPhysAddr(0x8020_0000))
            #expect(spec.imageLoadOffset == 0x20_0000 && spec.imageSize == 5000)   // no padding in the bundle
            #expect(spec.flags.uart && spec.hasVirtualUART)
            #expect([UInt8](reader.image(1)) == uboot)
            #expect(!reader.plan[0].hasVirtualUART)
        }
        let report = try Commands.inspect(bundlePath: output, board: BoardOptions()).report
        #expect(report.contains("loaded at 0x80200000 (a payload, at its entry)"))
    }

    @Test func payloadErrors() throws {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("small.bin", [0x13, 0, 0, 0])
        func failure(_ extra: String, size: String = "\"16M\"") -> String {
            let config = ws.config(partition("ub", size: size, extra: extra))
            do {
                _ = try PlanBuilder.load(configPath: config, board: try BoardOptions().resolve())
                return "accepted"
            } catch { return error.description.replacingOccurrences(of: ws.directory + "/", with: "") }
        }
        #expect(failure("kind = \"payload\"\nentry = 0x80200000") == "accepted")
        #expect(failure("kind = \"payload\"\nentry = 0x80000000\nuart = true") == "accepted")
        #expect(failure("kind = \"payload\"") == "plan.toml:1: partition #0 \"ub\", field entry: a payload is loaded and entered at its entry: give it, e.g. entry = 0x80200000")
        #expect(failure("kind = \"payload\"\nentry = 0x80200010") == "plan.toml:8: partition #0 \"ub\", field entry: a payload is loaded at its entry, which must be a 4 KiB boundary inside its RAM, below the initrd and the device tree")
        #expect(failure("kind = \"payload\"\nentry = 0x81000000") == "plan.toml:8: partition #0 \"ub\", field entry: a payload is loaded at its entry, which must be a 4 KiB boundary inside its RAM, below the initrd and the device tree")
        #expect(failure("uart = \"yes\"") == "plan.toml:7: partition #0 \"ub\", field uart: expected true or false, found a string (\"yes\")")
    }
}
