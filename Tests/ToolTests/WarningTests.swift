// Key files with CRLF line endings read alike on every command; an image that looks like a
// Linux Image or a gzip file, packed without kind = "linux", gets a warning.
import BulkheadCore
import Crypto
@testable import BulkheadTool
import Foundation
import Testing

@Suite("CLI: CRLF key files, image kind warnings")
struct WarningTests {
    /// `text` with every "\n" turned into "\r\n".
    private func crlf(_ path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try Data(text.replacingOccurrences(of: "\n", with: "\r\n").utf8).write(to: URL(fileURLWithPath: path))
    }

    @Test func crlfKeyFilesReadAsTheSameKeys() throws {
        let ws = Workspace()
        defer { ws.remove() }
        let generated = try SigningKeys.generate(base: ws.directory + "/k")
        let privateKey = try SigningKeys.loadPrivate(generated.privatePath)
        let publicKey = try SigningKeys.loadPublic(generated.publicPath)
        try crlf(generated.privatePath)
        try crlf(generated.publicPath)
        #expect(try String(contentsOfFile: generated.publicPath, encoding: .utf8).contains("\r\n"))
        #expect(try SigningKeys.loadPrivate(generated.privatePath).rawRepresentation == privateKey.rawRepresentation)
        #expect(try SigningKeys.loadPublic(generated.publicPath).rawRepresentation == publicKey.rawRepresentation)
        // The device key file and the device secret file read CRLF the same way.
        let hex = hexString(publicKey.rawRepresentation)
        let deviceKey = Array("\(DeviceAttestationKey.fileHeader)\r\n\(hex)\r\n".utf8)
        #expect(try DeviceAttestationKey.parseFile(deviceKey, file: "d.pub").rawRepresentation == publicKey.rawRepresentation)
        #expect(try DeviceSecretFile.parse(Array("\(hex)\r\n".utf8), file: "s") == Array(publicKey.rawRepresentation))
        // A key file with a stray "\r" inside a line is still refused, naming the line.
        ws.write("bad.pub", Array("\(SigningKeys.publicHeader)\n\(hex)\r\r\n".utf8))
        #expect(throws: ToolError("\(ws.directory)/bad.pub: line 2: expected the 32-byte key as 64 hex digits, found \"\(hex)\r\"")) {
            try SigningKeys.loadPublic(ws.directory + "/bad.pub")
        }
    }

    /// The warnings `check` gives for `image` as partition "a"'s image, with `extra` lines.
    private func warnings(_ image: [UInt8], extra: String = "") throws -> [String] {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("img", image)
        let path = ws.config(partition("a", image: "img", extra: extra))
        return try PlanBuilder.load(configPath: path, board: try BoardOptions().resolve()).warnings
            .map { $0.replacingOccurrences(of: ws.directory + "/", with: "") }
    }

    @Test func linuxImagesAndGzipWithoutKindLinuxAreWarnedAbout() throws {
        var linux = [UInt8](repeating: 0, count: 256)
        linux[8] = 0x00; linux[9] = 0x00; linux[10] = 0x20  // text_offset 2 MiB
        linux[16] = 0x00; linux[17] = 0x00; linux[18] = 0x40  // image_size 4 MiB
        linux.replaceSubrange(56..<60, with: Array("RSC".utf8) + [0x05])
        #expect(try warnings(linux) == [
            "warning: plan.toml:3: partition #0 \"a\", field image: \"img\" is a RISC-V Linux Image (magic \"RSC\\x05\" at offset 56), "
                + "but the partition does not say kind = \"linux\": it would be loaded and entered as a flat image, not at the "
                + "Image's text_offset",
        ])
        #expect(try warnings(linux, extra: "kind = \"payload\"\nentry = 0x80200000").count == 1)
        #expect(try warnings(linux, extra: "kind = \"linux\"").isEmpty)
        let gzip: [UInt8] = [0x1F, 0x8B, 0x08, 0x00] + [UInt8](repeating: 0x13, count: 60)
        #expect(try warnings(gzip) == [
            "warning: plan.toml:3: partition #0 \"a\", field image: \"img\" is gzip-compressed (it starts with 1f 8b): the "
                + "partition would enter the compressed bytes as code; give the uncompressed image (for Linux, "
                + "arch/riscv/boot/Image with kind = \"linux\")",
        ])
        #expect(try warnings([UInt8](repeating: 0x13, count: 64)).isEmpty)
    }

    /// The built binary prints the warning on standard error and still succeeds.
    @Test func checkPrintsTheWarning() throws {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("img", [0x1F, 0x8B] + [UInt8](repeating: 0x13, count: 62))
        let path = ws.config(partition("a", image: "img"))
        let run = try runBulkhead(["check", path])
        #expect(run.code == 0)
        #expect(run.err.hasPrefix("warning: \(path):3: partition #0 \"a\", field image: \"img\" is gzip-compressed"))
    }
}
