// Configuration errors say the line of the field they concern, and a run reports all of them.
import BulkheadCore
@testable import BulkheadTool
import Foundation
import Testing

@Suite("CLI: configuration error lines, all errors at once")
struct ConfigLinesTests {
    @Test func linesOfHeadersAndKeys() {
        let text = """
            # a comment = not a key
            [[partition]]
            name = "a"  # name = "b"
            harts = [
              1,
              2,
            ]
            bootargs = \"\"\"
            memory_base = 3
            \"\"\"
            "memory_size" = "2M"
            entry.x = 1

            [[channel]]
            name = "c"
            [[partition]]
              image = 'x = [y'
            memory_base = 0x84000000
            [board]
            harts = 8
            """
        let lines = ConfigLines(text)
        #expect(lines.header("partition", 0) == 2)
        #expect(lines.line("partition", 0, key: "name") == 3)
        #expect(lines.line("partition", 0, key: "harts") == 4)
        #expect(lines.line("partition", 0, key: "bootargs") == 8)
        // Inside a multi-line string: not a key.
        #expect(lines.line("partition", 0, key: "memory_base") == nil)
        #expect(lines.line("partition", 0, key: "memory_size") == 11)
        #expect(lines.line("partition", 0, key: "entry") == 12)
        #expect(lines.header("channel", 0) == 14)
        #expect(lines.line("channel", 0, key: "name") == 15)
        #expect(lines.header("partition", 1) == 16)
        #expect(lines.line("partition", 1, key: "image") == 17)
        #expect(lines.line("partition", 1, key: "memory_base") == 18)
        #expect(lines.line("board", key: "harts") == 20)
        #expect(lines.locate("f.toml", "partition", 1, key: "harts") == "f.toml:16")
        #expect(lines.locate("f.toml", "partition", 5, key: "harts") == "f.toml")
        #expect(ConfigLines("[[partition]]\r\nname = 1\r\n").line("partition", 0, key: "name") == 2)
    }

    @Test func everyParseErrorIsReported() {
        let text = """
            [[partition]]
            name = "a"
            image = "a.bin"
            harts = [1]
            memory_base = "low"
            memory_size = "2M"
            colour = 3

            [[partition]]
            name = "b"
            image = "b.bin"
            harts = [2]
            memory_base = 0x86000000
            memory_size = "2Q"
            on_fault = "explode"

            [[channel]]
            name = "ab"
            kind = "queue"
            endpoints = ["a", "c"]
            depth = 4
            message_size = 64
            size = 4096
            """
        do {
            _ = try Config.parse(text, file: "t.toml")
            Issue.record("accepted")
        } catch {
            #expect(error.all.map(\.message) == [
                "t.toml:7: partition #0 \"a\": unknown key \"colour\" (allowed: \(Config.partitionKeys.joined(separator: ", ")))",
                "t.toml:5: partition #0 \"a\", field memory_base: expected an integer address, e.g. 0x84000000, found a string (\"low\")",
                "t.toml:14: partition #1 \"b\", field memory_size: \"2Q\" is not a size: use \(Size.syntax)",
                "t.toml:15: partition #1 \"b\", field on_fault: expected \"stop\" or \"restart\", found \"explode\"",
                "t.toml:23: channel #0 \"ab\", field size: \"size\" does not apply to this kind of channel (a queue has depth and message_size)",
                "t.toml:20: channel #0 \"ab\", field endpoints: endpoint 1 names no partition of the plan (\"c\"; the partitions are \"a\", \"b\")",
            ])
            #expect(error.exitCode == 1)
        }
    }

    /// Plan errors of several partitions, and an image that cannot be read, in one run; the
    /// built binary prints each on its own `error:` line and exits 1.
    @Test func everyPartitionsPlanErrorIsReported() throws {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("small.bin", [UInt8](repeating: 0x13, count: 64))
        let toml = partition("a", base: "0x84100000")
            + partition("b", harts: "[2]", image: "missing.bin", extra: "bootargs = \"x\"")
            + partition("c", harts: "[2, 9]", base: "0x86000000")
            + partition("d", harts: "[3]", base: "0x86000000", size: "\"3M\"")
            + partition("e", harts: "[0]", base: "0x88000000")
        let path = ws.config(toml)
        var messages: [String] = []
        do {
            _ = try Commands.check(configPath: path, board: BoardOptions())
        } catch {
            messages = error.all.map(\.message)
            #expect(error.exitCode == 1)
            #expect(error.planError == nil)
            #expect(error.all[1].planError == .memoryMisaligned(partition: 0, field: .memoryBase))
        }
        let expected = [
            "\(path):10: partition #1 \"b\", field image: cannot read \"missing.bin\" (\(ws.directory)/missing.bin): no such file",
            "\(path):5: partition #0 \"a\", field memory_base: the base is not a multiple of 2 MiB",
            "\(path):18: partition #2 \"c\", field harts: hart 9 does not exist on this board",
            "\(path):27: partition #3 \"d\", field memory_size: the size is not a multiple of 2 MiB",
        ]
        #expect(messages == expected)
        let run = try runBulkhead(["check", path])
        #expect(run.code == 1)
        #expect(run.err == expected.map { "error: \($0)\n" }.joined())
    }

    /// A later partition is checked against the earlier valid ones only: one that overlaps an
    /// invalid one is not reported twice, and numbers stay those of the file.
    @Test func laterPartitionsKeepTheirNumbers() {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("small.bin", [UInt8](repeating: 0x13, count: 64))
        let toml = partition("a", harts: "[1, 1]")
            + partition("b", harts: "[2]", base: "0x86000000")
            + partition("c", harts: "[3]", base: "0x86000000")
        let path = ws.config(toml)
        do {
            _ = try Commands.check(configPath: path, board: BoardOptions())
            Issue.record("accepted")
        } catch {
            #expect(error.all.map(\.message) == [
                "\(path):4: partition #0 \"a\", field harts: hart 1 is listed twice",
                "\(path):19: partition #2 \"c\", field memory_base: the memory overlaps partition #1 \"b\"",
            ])
            #expect(error.all.map(\.planError) == [.hartListedTwice(partition: 0, hart: 1),
                                                    .memoryOverlap(partition: 2, other: 1)])
        }
    }

    @Test func onlyFileErrorsExitTwo() {
        #expect(ToolError.collected([.io("a"), .io("b")])?.exitCode == 2)
        #expect(ToolError.collected([.io("a"), ToolError("b")])?.exitCode == 1)
        #expect(ToolError.collected([]) == nil)
    }
}
