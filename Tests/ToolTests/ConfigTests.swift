// The TOML configuration: a valid file parses; each sample bad config in Tests/configs gives its message.

import BulkheadCore
import Foundation
import Testing
@testable import BulkheadTool

/// Tests/configs, next to this test target.
let configsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("configs").path

@Suite("CLI: configuration files")
struct ConfigTests {
    @Test func parsesTheDocumentedExample() throws {
        let text = """
            # Bulkhead partition plan
            [[partition]]
            name = "hello"                 # a-z 0-9 - _, at most 16 bytes, unique
            image = "../build/guests/hello.bin"   # raw binary or ELF, relative to this file
            harts = [1, 2]                 # physical harts; vCPU i runs on harts[i]
            memory_base = 0x84000000       # host-physical, 2 MiB aligned
            memory_size = "16M"            # integer bytes or a string with K/M/G suffix; 2 MiB multiple
            entry = 0x80000000             # optional guest-physical entry (default: ELF entry or 0x80000000)
            on_fault = "restart"           # "stop" (default) or "restart"
            bootargs = "console=hvc0"      # optional

            [[partition]]
            name = "heartbeat"
            image = "hb.elf"
            harts = [3]
            memory_base = 0x85000000
            memory_size = 2097152
            """
        let config = try Config.parse(text, file: "demo.toml")
        #expect(config.partitions == [
            PartitionConfig(name: "hello", image: "../build/guests/hello.bin", harts: [1, 2], memoryBase: 0x8400_0000,
                            memorySize: 16 << 20, entry: 0x8000_0000, onFault: .restart, bootargs: "console=hvc0"),
            PartitionConfig(name: "heartbeat", image: "hb.elf", harts: [3], memoryBase: 0x8500_0000,
                            memorySize: 2 << 20, entry: nil, onFault: .stop, bootargs: ""),
        ])
    }

    @Test func emptyFileHasNoPartitions() throws {
        #expect(try Config.parse("# nothing\n", file: "e.toml").partitions.isEmpty)
    }

    @Test func sizeStrings() {
        #expect(Size.parse("16M") == 16 << 20)
        #expect(Size.parse("1G") == 1 << 30)
        #expect(Size.parse("512k") == 512 << 10)
        #expect(Size.parse("4096") == 4096)
        for bad in ["", "M", "16Q", "16 M", "-1", "1.5G", "0x10", "16MiB", "99999999999999999999", "17179869184G"] {
            #expect(Size.parse(bad) == nil, "\(bad)")
        }
        #expect(Size.describe(16 << 20) == "16 MiB")
        #expect(Size.describe(3 << 21) == "6 MiB")
        #expect(Size.describe(1 << 30) == "1 GiB")
        #expect(Size.describe(100) == "100 bytes")
    }

    /// Each sample in Tests/configs starts with `# expect: TEXT`: `check` must fail with a
    /// message that starts with the file and contains TEXT (or succeed, for `# expect: OK`).
    @Test(arguments: try! FileManager.default.contentsOfDirectory(atPath: configsDirectory)
        .filter { $0.hasSuffix(".toml") }.sorted())
    func sampleConfig(_ name: String) throws {
        let path = configsDirectory + "/" + name
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let firstLine = text.split(separator: "\n").first.map(String.init) ?? ""
        let prefix = "# expect: "
        try #require(firstLine.hasPrefix(prefix), "\(name) must start with \(prefix)")
        let expected = String(firstLine.dropFirst(prefix.count))
        do {
            let summary = try Commands.check(configPath: path, board: BoardOptions())
            #expect(expected == "OK", "\(name) passed: \(summary)")
        } catch {
            #expect(expected != "OK", "\(name): \(error.message)")
            #expect(error.message.hasPrefix(path), "\(error.message)")
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }

    @Test func theOverlapMessageIsExactlyTheDocumentedOne() {
        let path = configsDirectory + "/overlap.toml"
        #expect(throws: ToolError("\(path): partition #1 \"heartbeat\", field memory_base: the memory overlaps partition #0 \"hello\"",
                                  planError: .memoryOverlap(partition: 1, other: 0))) {
            try Commands.check(configPath: path, board: BoardOptions())
        }
    }

    /// Configuration-level errors, one per rule, from small inline files.
    @Test func configErrors() throws {
        let cases: [(String, String)] = [
            ("name = 3", "partition #0, field name: expected a string, found an integer"),
            ("name = \"a\"\nimage = \"i.bin\"\nharts = [1, \"2\"]\nmemory_base = 0\nmemory_size = 0",
             "partition #0 \"a\", field harts: expected an array of hart ids (integers), e.g. [1, 2], found an element that is a string (\"2\")"),
            ("name = \"a\"\nimage = \"i.bin\"\nharts = [-1]\nmemory_base = 0\nmemory_size = 0",
             "partition #0 \"a\", field harts: hart id -1 is out of range (0 to 4294967295)"),
            ("name = \"a\"\nimage = \"i.bin\"\nharts = [1]\nmemory_base = -5\nmemory_size = 0",
             "partition #0 \"a\", field memory_base: expected an integer address, e.g. 0x84000000, found the negative value -5"),
            ("name = \"a\"\nimage = \"i.bin\"\nharts = [1]\nmemory_base = \"0x84000000\"\nmemory_size = 0",
             "partition #0 \"a\", field memory_base: expected an integer address, e.g. 0x84000000, found a string (\"0x84000000\")"),
            ("name = \"a\"\nimage = \"i.bin\"\nharts = [1]\nmemory_base = 0\nmemory_size = 1.5",
             "partition #0 \"a\", field memory_size: expected an integer number of bytes or a string like \"16M\" (suffix K, M or G), found a floating-point number"),
            ("name = \"a\"\nimage = \"i.bin\"\nharts = [1]\nmemory_base = 0\nmemory_size = 0\nentry = true",
             "partition #0 \"a\", field entry: expected an integer guest-physical address, e.g. 0x80000000, found a boolean"),
            ("name = \"a\"\nimage = \"i.bin\"\nharts = [1]\nmemory_base = 0\nmemory_size = 0\non_fault = 1",
             "partition #0 \"a\", field on_fault: expected a string, found an integer"),
            ("name = \"a\"\nimage = \"i.bin\"\nharts = [1]\nmemory_base = 0\nmemory_size = 0\nbootargs = [\"x\"]",
             "partition #0 \"a\", field bootargs: expected a string, found an array"),
            ("name = \"a\"\nimage = \"\"\nharts = [1]\nmemory_base = 0\nmemory_size = 0",
             "partition #0 \"a\", field image: the path is empty"),
            ("name = \"a\"\nimage = \"i.bin\"\nmemory_base = 0\nmemory_size = 0",
             "partition #0 \"a\": missing required key \"harts\""),
            ("name = \"a\"\nimage = \"i.bin\"\nharts = [1]\nmemory_base = 0\nmemory_size = 0\ncolour = 1",
             "partition #0 \"a\": unknown key \"colour\" (allowed: name, image, harts, memory_base, memory_size, entry, on_fault, bootargs)"),
        ]
        for (body, expected) in cases {
            #expect(throws: ToolError("t.toml: \(expected)")) {
                try Config.parse("[[partition]]\n" + body, file: "t.toml")
            }
        }
    }

    @Test func syntaxErrorsNameTheLine() {
        do {
            _ = try Config.parse("[[partition]]\nname = \"a\"\nharts = [1,\n= 3\n", file: "s.toml")
            Issue.record("no error")
        } catch {
            #expect(error.message.hasPrefix("s.toml:4:"), "\(error.message)")
            #expect(error.message.contains("TOML syntax error"))
        }
    }

    @Test func boardOptions() throws {
        #expect(try BoardOptions().resolve().summary == "qemu-virt (RAM 0x80000000 + 1 GiB, harts 0-3)")
        let small = try BoardOptions(ramSize: "512M", harts: 2).resolve()
        #expect(small.limits.ram == HostRegion(base: HostPhysAddr(0x8000_0000), size: 512 << 20))
        #expect(small.limits.hartMask == 0b11)
        #expect(throws: ToolError("unknown board \"pi\" (known boards: qemu-virt)")) { try BoardOptions(board: "pi").resolve() }
        #expect(throws: ToolError.self) { try BoardOptions(ramSize: "lots").resolve() }
        #expect(throws: ToolError.self) { try BoardOptions(ramSize: "0").resolve() }
        #expect(throws: ToolError("--harts: 0 is not between 1 and 64")) { try BoardOptions(harts: 0).resolve() }
    }
}
