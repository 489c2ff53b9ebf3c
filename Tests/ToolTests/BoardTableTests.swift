// The configuration's [board] table: board, harts and RAM when the command line gives none.
import BulkheadCore
@testable import BulkheadTool
import Foundation
import Testing

@Suite("CLI: the [board] table")
struct BoardTableTests {
    private static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    @Test func parsesAndFillsWhatTheCommandLineLeavesOut() throws {
        let config = try Config.parse("[board]\nboard = \"qemu-virt\"\nharts = 8\nram_size = \"2G\"\n", file: "b.toml")
        #expect(config.board == BoardTable(board: "qemu-virt", harts: 8, ramSize: String(2 << 30)))
        let filled = BoardOptions().filled(from: config.board)
        #expect(try filled.resolve().summary == "qemu-virt (RAM 0x80000000 + 2 GiB, harts 0-7)")
        // The command line wins.
        let given = BoardOptions(ramSize: "1G", harts: 2).filled(from: config.board)
        #expect(try given.resolve().summary == "qemu-virt (RAM 0x80000000 + 1 GiB, harts 0-1)")
        #expect(try Config.parse("[board]\nram_size = 536870912\n", file: "b.toml").board == BoardTable(ramSize: "536870912"))
        #expect(try Config.parse("# no board\n", file: "b.toml").board == nil)
    }

    @Test func errorsNameTheLine() {
        let text = "[board]\nboard = \"qemu-vrit\"\nharts = 65\nram_size = \"1X\"\ncpus = 2\n"
        do {
            _ = try Config.parse(text, file: "b.toml")
            Issue.record("accepted")
        } catch {
            #expect(error.all.map(\.message) == [
                "b.toml:5: [board]: unknown key \"cpus\" (allowed: board, harts, ram_size)",
                "b.toml:2: [board], field board: unknown board \"qemu-vrit\" (did you mean \"qemu-virt\"?) (known boards: qemu-virt, spacemit-k3, eswin-eic7700x)",
                "b.toml:3: [board], field harts: 65 is not between 1 and 64",
                "b.toml:4: [board], field ram_size: \"1X\" is not a size: use \(Size.syntax)",
            ])
        }
        #expect(throws: ToolError("b.toml:1: \"board\" must be a table: write it as [board]")) {
            try Config.parse("board = \"qemu-virt\"\n", file: "b.toml")
        }
        #expect(throws: ToolError("b.toml:2: [board], field harts: expected the number of harts (1 to 64), found a string (\"8\")")) {
            try Config.parse("[board]\nharts = \"8\"\n", file: "b.toml")
        }
        #expect(throws: ToolError("b.toml:2: [board], field ram_size: the RAM size is zero")) {
            try Config.parse("[board]\nram_size = 0\n", file: "b.toml")
        }
    }

    /// Guests/demo.toml says harts = 8: `check` passes without --harts (with stand-in images),
    /// and a --harts on the command line wins.
    @Test func theDemoChecksOutOfTheBox() throws {
        let ws = Workspace()
        defer { ws.remove() }
        let text = try String(contentsOfFile: Self.repository + "/Guests/demo.toml", encoding: .utf8)
        try FileManager.default.createDirectory(atPath: ws.directory + "/Guests", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: ws.directory + "/build/guests", withIntermediateDirectories: true)
        for guest in ["hello", "heartbeat", "intruder", "ping", "pong", "vault", "tenant", "updater"] {
            ws.write("build/guests/\(guest).bin", [UInt8](repeating: 0x13, count: 64))
        }
        // The updater's initrd, its list of updates (`make updates`): an empty list.
        try FileManager.default.createDirectory(atPath: ws.directory + "/build/updates", withIntermediateDirectories: true)
        ws.write("build/updates/demo-updater.img", [UInt8](repeating: 0, count: 8))
        ws.write("Guests/demo.toml", Array(text.utf8))
        let path = ws.directory + "/Guests/demo.toml"
        #expect(try Commands.check(configPath: path, board: BoardOptions()).hasSuffix("valid for qemu-virt (RAM 0x80000000 + 1 GiB, harts 0-7)"))
        #expect(throws: ToolError.self) { try Commands.check(configPath: path, board: BoardOptions(harts: 4)) }
        let run = try runBulkhead(["check", path])
        #expect(run.code == 0, "\(run.err)")
    }
}
