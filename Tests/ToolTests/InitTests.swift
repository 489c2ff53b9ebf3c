// `bulkhead init`: a starter configuration that `check` accepts as written; never overwrites.
@testable import BulkheadTool
import Foundation
import Testing

@Suite("CLI: init")
struct InitTests {
    @Test func theStarterChecksAsWritten() throws {
        let ws = Workspace()
        defer { ws.remove() }
        let path = ws.directory + "/plan.toml"
        let run = try runBulkhead(["init", path])
        #expect(run.code == 0, "\(run.err)")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == Commands.starterConfiguration)
        ws.write("guest.bin", [UInt8](repeating: 0x13, count: 64))
        let check = try runBulkhead(["check", path])
        #expect(check.code == 0, "\(check.err)")
        #expect(check.out == "\(path): OK: 1 partition valid for qemu-virt (RAM 0x80000000 + 1 GiB, harts 0-3)\n")
        // The commented second partition and channel are valid too, once uncommented.
        let uncommented = Commands.starterConfiguration.components(separatedBy: "\n").map { line in
            line.hasPrefix("# [[") || line.hasPrefix("# name") || line.hasPrefix("# image") || line.hasPrefix("# harts")
                || line.hasPrefix("# memory_") || line.hasPrefix("# kind") || line.hasPrefix("# endpoints")
                || line.hasPrefix("# depth") || line.hasPrefix("# message_size") ? String(line.dropFirst(2)) : line
        }.joined(separator: "\n")
        ws.write("two.toml", Array(uncommented.utf8))
        ws.write("other.bin", [UInt8](repeating: 0x13, count: 64))
        #expect(try Commands.check(configPath: ws.directory + "/two.toml", board: BoardOptions())
                == "\(ws.directory)/two.toml: OK: 2 partitions, 1 channel valid for qemu-virt (RAM 0x80000000 + 1 GiB, harts 0-3)")
    }

    @Test func neverOverwrites() throws {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("mine.toml", Array("# my plan\n".utf8))
        let run = try runBulkhead(["init", ws.directory + "/mine.toml"])
        #expect(run.code == 1)
        #expect(run.err == "error: \(ws.directory)/mine.toml: already exists: `bulkhead init` never overwrites a file (give another FILE)\n")
        #expect(try String(contentsOfFile: ws.directory + "/mine.toml", encoding: .utf8) == "# my plan\n")
        // Nor through a symlink, even a dangling one.
        try FileManager.default.createSymbolicLink(atPath: ws.directory + "/link.toml", withDestinationPath: ws.directory + "/gone.toml")
        #expect(throws: ToolError.self) { try Commands.initConfiguration(path: ws.directory + "/link.toml") }
        #expect(!FileManager.default.fileExists(atPath: ws.directory + "/gone.toml"))
        #expect(throws: ToolError.self) { try Commands.initConfiguration(path: ws.directory + "/") }
    }
}
