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
        #expect(throws: ToolError("\(path):13: partition #1 \"heartbeat\", field memory_base: the memory overlaps partition #0 \"hello\"",
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
             "partition #0 \"a\": unknown key \"colour\" (allowed: name, image, harts, memory_base, memory_size, entry, on_fault, bootargs, keys, kind, initrd, devices, dma, uart, update)"),
        ]
        for (body, expected) in cases {
            #expect(throws: ToolError(located("t.toml", "[[partition]]\n" + body, expected))) {
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
        #expect(throws: ToolError("unknown board \"pi\" (known boards: qemu-virt, spacemit-k3, eswin-eic7700x)")) { try BoardOptions(board: "pi").resolve() }
        #expect(throws: ToolError.self) { try BoardOptions(ramSize: "lots").resolve() }
        #expect(throws: ToolError.self) { try BoardOptions(ramSize: "0").resolve() }
        #expect(throws: ToolError("--harts: 0 is not between 1 and 64")) { try BoardOptions(harts: 0).resolve() }
    }

    // MARK: - [[channel]]

    /// Two partitions, "ping" and "pong", for the channel tables to join.
    static let twoPartitions = """
        [[partition]]
        name = "ping"
        image = "ping.bin"
        harts = [1]
        memory_base = 0x84000000
        memory_size = "16M"

        [[partition]]
        name = "pong"
        image = "pong.bin"
        harts = [2]
        memory_base = 0x85000000
        memory_size = "16M"

        """

    @Test func parsesTheDocumentedChannelExample() throws {
        let text = Self.twoPartitions + """
            [[channel]]
            name = "pingpong"            # a-z 0-9 - _, at most 16 bytes, unique among channels
            kind = "queue"               # "queue" or "shared"
            endpoints = ["ping", "pong"] # two partition names; endpoint 0 and endpoint 1
            direction = "both"           # optional: "both" (default) or "forward" (endpoint 0 -> 1 only)
            depth = 4                    # queue only: 1..64 messages waiting per direction
            message_size = 64            # queue only: 1..4096 bytes
            doorbell = true              # optional, default false

            [[channel]]
            name = "frame"
            kind = "shared"
            endpoints = ["pong", "ping"]
            direction = "forward"
            size = "4K"                  # shared only: bytes or K/M, multiple of 4 KiB, at most 2 MiB
            access = ["rw", "ro"]        # shared only, optional: per endpoint "rw" (default) or "ro"
            doorbell = false
            """
        let config = try Config.parse(text, file: "demo.toml")
        #expect(config.partitions.map(\.name) == ["ping", "pong"])
        #expect(config.channels == [
            ChannelConfig(name: "pingpong", kind: .queue, endpoints: ["ping", "pong"], direction: .both,
                          depth: 4, messageSize: 64, doorbell: true),
            ChannelConfig(name: "frame", kind: .sharedMemory, endpoints: ["pong", "ping"], direction: .forward,
                          size: 4096, access: [.readWrite, .readOnly], doorbell: false),
        ])
    }

    @Test func channelDefaultsAndSizeForms() throws {
        let text = Self.twoPartitions + """
            [[channel]]
            name = "q"
            kind = "queue"
            endpoints = ["pong", "ping"]
            depth = 1
            message_size = 4096

            [[channel]]
            name = "bytes"
            kind = "shared"
            endpoints = ["ping", "pong"]
            size = 8192

            [[channel]]
            name = "mega"
            kind = "shared"
            endpoints = ["ping", "pong"]
            size = "2M"
            access = ["ro", "rw"]
            """
        let channels = try Config.parse(text, file: "d.toml").channels
        #expect(channels == [
            .queue("q", ["pong", "ping"], depth: 1, messageSize: 4096),
            .shared("bytes", ["ping", "pong"], size: 8192),
            .shared("mega", ["ping", "pong"], size: 2 << 20, access: [.readOnly, .readWrite]),
        ])
        #expect(channels[0].direction == .both && !channels[0].doorbell && channels[0].size == 0)
        #expect(channels[1].access == [.readWrite, .readWrite] && channels[1].depth == 0 && channels[1].messageSize == 0)
        // A file of partitions only has no channels.
        #expect(try Config.parse(Self.twoPartitions, file: "p.toml").channels.isEmpty)
    }

    /// Every configuration-level channel error, from one `[[channel]]` table after two partitions.
    @Test func channelConfigErrors() {
        let queueKeys = "kind = \"queue\"\nendpoints = [\"ping\", \"pong\"]\ndepth = 4\nmessage_size = 64"
        let sharedKeys = "kind = \"shared\"\nendpoints = [\"ping\", \"pong\"]\nsize = \"4K\""
        let allowed = "(allowed: name, kind, endpoints, direction, depth, message_size, size, access, doorbell)"
        let pairOf = "expected an array of two strings, one per endpoint, e.g. [\"ping\", \"pong\"]"
        let accessPair = "expected an array of two strings, one per endpoint, e.g. [\"rw\", \"ro\"]"
        let cases: [(String, String)] = [
            ("name = 3\n" + queueKeys, "channel #0, field name: expected a string, found an integer"),
            (queueKeys, "channel #0: missing required key \"name\""),
            ("name = \"c\"\nendpoints = [\"ping\", \"pong\"]", "channel #0 \"c\": missing required key \"kind\""),
            ("name = \"c\"\nkind = \"pipe\"", "channel #0 \"c\", field kind: expected \"queue\" or \"shared\", found \"pipe\""),
            ("name = \"c\"\nkind = 1", "channel #0 \"c\", field kind: expected a string, found an integer"),
            ("name = \"c\"\nkind = \"queue\"\ndepth = 1\nmessage_size = 1", "channel #0 \"c\": missing required key \"endpoints\""),
            ("name = \"c\"\nkind = \"queue\"\nendpoints = \"ping\"", "channel #0 \"c\", field endpoints: \(pairOf), found a string (\"ping\")"),
            ("name = \"c\"\nkind = \"queue\"\nendpoints = [\"ping\"]", "channel #0 \"c\", field endpoints: \(pairOf), found 1 element"),
            ("name = \"c\"\nkind = \"queue\"\nendpoints = []", "channel #0 \"c\", field endpoints: \(pairOf), found 0 elements"),
            ("name = \"c\"\nkind = \"queue\"\nendpoints = [\"ping\", \"pong\", \"ping\"]",
             "channel #0 \"c\", field endpoints: \(pairOf), found 3 elements"),
            ("name = \"c\"\nkind = \"queue\"\nendpoints = [\"ping\", 2]",
             "channel #0 \"c\", field endpoints: \(pairOf), found an element that is an integer"),
            ("name = \"c\"\n" + queueKeys + "\ndirection = \"backward\"",
             "channel #0 \"c\", field direction: expected \"both\" or \"forward\", found \"backward\""),
            ("name = \"c\"\n" + queueKeys + "\ndirection = 1", "channel #0 \"c\", field direction: expected a string, found an integer"),
            ("name = \"c\"\n" + queueKeys + "\ndoorbell = 1", "channel #0 \"c\", field doorbell: expected true or false, found an integer"),
            ("name = \"c\"\n" + queueKeys + "\ndoorbell = \"yes\"",
             "channel #0 \"c\", field doorbell: expected true or false, found a string (\"yes\")"),
            ("name = \"c\"\nkind = \"queue\"\nendpoints = [\"ping\", \"pong\"]\nmessage_size = 64",
             "channel #0 \"c\": missing required key \"depth\" (a queue needs depth and message_size)"),
            ("name = \"c\"\nkind = \"queue\"\nendpoints = [\"ping\", \"pong\"]\ndepth = 4",
             "channel #0 \"c\": missing required key \"message_size\" (a queue needs depth and message_size)"),
            ("name = \"c\"\nkind = \"queue\"\nendpoints = [\"ping\", \"pong\"]\ndepth = \"4\"\nmessage_size = 64",
             "channel #0 \"c\", field depth: expected an integer, found a string (\"4\")"),
            ("name = \"c\"\nkind = \"queue\"\nendpoints = [\"ping\", \"pong\"]\ndepth = -1\nmessage_size = 64",
             "channel #0 \"c\", field depth: expected an integer, found the negative value -1"),
            ("name = \"c\"\nkind = \"queue\"\nendpoints = [\"ping\", \"pong\"]\ndepth = 4294967296\nmessage_size = 64",
             "channel #0 \"c\", field depth: 4294967296 is out of range (0 to 4294967295)"),
            ("name = \"c\"\nkind = \"queue\"\nendpoints = [\"ping\", \"pong\"]\ndepth = 4\nmessage_size = 1.5",
             "channel #0 \"c\", field message_size: expected an integer, found a floating-point number"),
            ("name = \"c\"\nkind = \"shared\"\nendpoints = [\"ping\", \"pong\"]",
             "channel #0 \"c\": missing required key \"size\" (a shared-memory channel needs its size)"),
            ("name = \"c\"\nkind = \"shared\"\nendpoints = [\"ping\", \"pong\"]\nsize = \"4Q\"",
             "channel #0 \"c\", field size: \"4Q\" is not a size: use an integer number of bytes or a string like \"16M\" (suffix K, M or G)"),
            ("name = \"c\"\nkind = \"shared\"\nendpoints = [\"ping\", \"pong\"]\nsize = true",
             "channel #0 \"c\", field size: expected an integer number of bytes or a string like \"16M\" (suffix K, M or G), found a boolean"),
            ("name = \"c\"\nkind = \"shared\"\nendpoints = [\"ping\", \"pong\"]\nsize = -4096",
             "channel #0 \"c\", field size: expected an integer, found the negative value -4096"),
            ("name = \"c\"\n" + sharedKeys + "\naccess = \"rw\"", "channel #0 \"c\", field access: \(accessPair), found a string (\"rw\")"),
            ("name = \"c\"\n" + sharedKeys + "\naccess = [\"rw\"]", "channel #0 \"c\", field access: \(accessPair), found 1 element"),
            ("name = \"c\"\n" + sharedKeys + "\naccess = [\"rw\", true]",
             "channel #0 \"c\", field access: \(accessPair), found an element that is a boolean"),
            ("name = \"c\"\n" + sharedKeys + "\naccess = [\"rw\", \"wo\"]",
             "channel #0 \"c\", field access: expected \"rw\" or \"ro\" for each endpoint, found \"wo\""),
            ("name = \"c\"\n" + queueKeys + "\ncolour = 1", "channel #0 \"c\": unknown key \"colour\" \(allowed)"),
            ("name = \"c\"\n" + queueKeys + "\ndept = 1", "channel #0 \"c\": unknown key \"dept\" (did you mean \"depth\"?) \(allowed)"),
            ("name = \"c\"\n" + queueKeys + "\nmesage_size = 1", "channel #0 \"c\": unknown key \"mesage_size\" (did you mean \"message_size\"?) \(allowed)"),
            ("name = \"c\"\n" + queueKeys + "\nimage = \"x\"", "channel #0 \"c\": unknown key \"image\" \(allowed)"),
        ]
        for (body, expected) in cases {
            #expect(throws: ToolError(located("t.toml", Self.twoPartitions + "[[channel]]\n" + body, expected))) {
                try Config.parse(Self.twoPartitions + "[[channel]]\n" + body, file: "t.toml")
            }
        }
    }

    /// The errors Core words: keys of the other kind, and endpoints that name no partition.
    @Test func channelConfigErrorsWordedByCore() {
        func error(_ toml: String) -> ToolError? {
            do { _ = try Config.parse(toml, file: "t.toml"); return nil } catch { return error }
        }
        let queue = "[[channel]]\nname = \"pp\"\nkind = \"queue\"\nendpoints = [\"ping\", \"pong\"]\ndepth = 4\nmessage_size = 64\n"
        let shared = "[[channel]]\nname = \"buf\"\nkind = \"shared\"\nendpoints = [\"ping\", \"pong\"]\nsize = 4096\n"
        let cases: [(String, PlanError, String)] = [
            (queue + "access = [\"rw\", \"ro\"]", .channelFieldNotForKind(channel: 0, field: .access),
             "channel #0 \"pp\", field access: \"access\" does not apply to this kind of channel (a queue has depth and message_size)"),
            (queue + "size = 0", .channelFieldNotForKind(channel: 0, field: .size),
             "channel #0 \"pp\", field size: \"size\" does not apply to this kind of channel (a queue has depth and message_size)"),
            (shared + "depth = 0", .channelFieldNotForKind(channel: 0, field: .depth),
             "channel #0 \"buf\", field depth: \"depth\" does not apply to this kind of channel (a shared-memory channel has size and access)"),
            (shared + "message_size = 8", .channelFieldNotForKind(channel: 0, field: .messageSize),
             "channel #0 \"buf\", field message_size: \"message_size\" does not apply to this kind of channel (a shared-memory channel has size and access)"),
            (queue.replacingOccurrences(of: "\"pong\"]", with: "\"pang\"]"), .channelUnknownPartition(channel: 0, endpoint: 1),
             "channel #0 \"pp\", field endpoints: endpoint 1 names no partition of the plan (\"pang\"; the partitions are \"ping\", \"pong\")"),
            (shared + queue.replacingOccurrences(of: "[\"ping\"", with: "[\"Ping\""), .channelUnknownPartition(channel: 1, endpoint: 0),
             "channel #1 \"pp\", field endpoints: endpoint 0 names no partition of the plan (\"Ping\"; the partitions are \"ping\", \"pong\")"),
        ]
        for (toml, planError, message) in cases {
            #expect(error(Self.twoPartitions + toml) == ToolError(located("t.toml", Self.twoPartitions + toml, message),
                                                                  planError: planError))
        }
        // Channels without partitions: the list of partitions is empty.
        #expect(error(queue)?.message
                == "t.toml:4: channel #0 \"pp\", field endpoints: endpoint 0 names no partition of the plan (\"ping\"; the plan has no partitions)")
        // Core shows only a name that fits a channel record (as for a partition's name).
        let long = queue.replacingOccurrences(of: "\"pp\"", with: "\"a-name-of-17-byte\"") + "size = 1"
        #expect(error(Self.twoPartitions + long)?.message
                == "t.toml:20: channel #0, field size: \"size\" does not apply to this kind of channel (a queue has depth and message_size)")
    }

    @Test func channelTablesAtTheTopLevel() {
        #expect(throws: ToolError("t.toml:14: \"channel\" must be an array of tables: write each one as [[channel]]")) {
            try Config.parse(Self.twoPartitions + "[channel]\nname = \"c\"\n", file: "t.toml")
        }
        #expect(throws: ToolError("t.toml:1: \"channel\" must be an array of tables: write each one as [[channel]]")) {
            try Config.parse("channel = 3\n" + Self.twoPartitions, file: "t.toml")
        }
        #expect(throws: ToolError("t.toml:14: unknown top-level key \"channels\" (did you mean \"channel\"?) (a plan holds only [[partition]] and [[channel]] tables, a [board] and a [bundle] table)")) {
            try Config.parse(Self.twoPartitions + "[[channels]]\nname = \"c\"\n", file: "t.toml")
        }
        #expect(throws: ToolError("t.toml:1: unknown top-level key \"partitions\" (did you mean \"partition\"?) (a plan holds only [[partition]] and [[channel]] tables, a [board] and a [bundle] table)")) {
            try Config.parse("[[partitions]]\nname = \"c\"\n", file: "t.toml")
        }
    }
}

/// `FILE:LINE: MESSAGE`, as the CLI reports a configuration error: LINE is where the message's
/// `field K` (or `unknown key "K"`) is written in the table the message names (`partition #i` or
/// `channel #i`, counted in `toml`), else that table's `[[...]]` line.
func located(_ file: String, _ toml: String, _ message: String) -> String {
    guard let table = message.firstMatch(of: /^(partition|channel) #([0-9]+)/) else { return "\(file): \(message)" }
    let key = message.firstMatch(of: /, field ([a-z_]+):/).map { String($0.1) }
        ?? message.firstMatch(of: /: unknown key "([^"]+)"/).map { String($0.1) }
    var current = ("", -1)
    var counts: [String: Int] = [:]
    var header: Int?
    for (n, line) in toml.components(separatedBy: "\n").enumerated() {
        if line.hasPrefix("[[") {
            let name = String(line.dropFirst(2).prefix { $0 != "]" })
            current = (name, counts[name, default: 0])
            counts[name, default: 0] += 1
            if current == (String(table.1), Int(table.2)!) { header = n + 1 }
        } else if current == (String(table.1), Int(table.2)!), let key, line.hasPrefix(key + " =") {
            return "\(file):\(n + 1): \(message)"
        }
    }
    return "\(file):\(header ?? 0): \(message)"
}
