// Every PlanError reached through the CLI path (TOML file -> images -> plan -> validate), with its message.

import BulkheadCore
import Foundation
import Testing
@testable import BulkheadTool

/// A scratch directory holding a configuration file and its images.
struct Workspace {
    let directory: String

    init() {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("bulkhead-tests-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ bytes: [UInt8]) {
        FileManager.default.createFile(atPath: directory + "/" + name, contents: Data(bytes))
    }

    /// Writes `toml` as `plan.toml` and returns its path.
    func config(_ toml: String) -> String {
        let path = directory + "/plan.toml"
        write("plan.toml", Array(toml.utf8))
        return path
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

/// One `[[partition]]` table; `extra` lines are appended verbatim.
func partition(_ name: String, harts: String = "[1]", base: String = "0x84000000", size: String = "\"16M\"",
               image: String = "small.bin", extra: String = "") -> String {
    """
    [[partition]]
    name = "\(name)"
    image = "\(image)"
    harts = \(harts)
    memory_base = \(base)
    memory_size = \(size)
    \(extra)

    """
}

/// One `[[channel]]` table: a queue by default (depth 4, 64-byte messages), or shared memory when
/// `size` is given; `extra` lines are appended verbatim.
func channel(_ name: String, _ a: String = "a", _ b: String = "b", depth: String? = "4", messageSize: String? = "64",
             size: String? = nil, extra: String = "") -> String {
    var lines = ["[[channel]]", "name = \"\(name)\"", "kind = \"\(size == nil ? "queue" : "shared")\"",
                 "endpoints = [\"\(a)\", \"\(b)\"]"]
    if let size { lines.append("size = \(size)") } else {
        if let depth { lines.append("depth = \(depth)") }
        if let messageSize { lines.append("message_size = \(messageSize)") }
    }
    if !extra.isEmpty { lines.append(extra) }
    return lines.joined(separator: "\n") + "\n\n"
}

@Suite("CLI: plan errors from TOML")
struct PlanErrorTests {
    /// Runs `check` on `toml` (with `small.bin`, 64 bytes, and `empty.bin`, 0 bytes) and returns the error.
    func checkError(_ toml: String, harts: Int? = nil) -> (path: String, error: ToolError?) {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("small.bin", [UInt8](repeating: 0x13, count: 64))
        ws.write("empty.bin", [])
        let path = ws.config(toml)
        do {
            _ = try Commands.check(configPath: path, board: BoardOptions(harts: harts))
            return (path, nil)
        } catch {
            return (path, error)
        }
    }

    /// `line`: the line the message names, when it is about no partition or channel.
    func expectPlanError(_ toml: String, _ expected: PlanError, _ message: String, harts: Int? = nil, line: Int? = nil,
                         sourceLocation: SourceLocation = #_sourceLocation) {
        let (path, error) = checkError(toml, harts: harts)
        #expect(error?.planError == expected, sourceLocation: sourceLocation)
        #expect(error?.message == (line.map { "\(path):\($0): \(message)" } ?? located(path, toml, message)),
                sourceLocation: sourceLocation)
    }

    @Test func validPlanPasses() {
        let (_, error) = checkError(partition("a") + partition("b", harts: "[2, 3]", base: "0x85000000"))
        #expect(error == nil)
    }

    @Test func updatePolicy() throws {
        let ok = partition("a", extra: "update = [\"b\"]") + partition("b", harts: "[2]", base: "0x85000000")
        #expect(checkError(ok).error == nil)
        let parsed = try Config.parse(ok, file: "u.toml")
        #expect(parsed.partitions.map(\.update) == [["b"], []])
        expectPlanError(partition("a", extra: "update = [\"a\"]"), .updateTargetSelf(partition: 0),
                        "partition #0 \"a\", field update: a partition cannot update itself (its image would be replaced under the call): give the policy to another partition")
        let (path, unknown) = checkError(partition("a", extra: "update = [\"c\"]") + partition("b", harts: "[2]", base: "0x85000000"))
        #expect(unknown?.message.hasPrefix(path) == true)
        #expect(unknown?.message.hasSuffix("partition #0 \"a\", field update: \"c\" names no partition of the configuration (partitions: \"a\", \"b\")") == true)
        #expect(throws: ToolError.self) { try Config.parse(partition("a", extra: "update = \"b\""), file: "u.toml") }
        #expect(throws: ToolError.self) { try Config.parse(partition("a", extra: "update = [\"b\", \"b\"]"), file: "u.toml") }
    }

    @Test func memoryOverlap() {
        expectPlanError(partition("hello") + partition("heartbeat", harts: "[2]", base: "0x84800000"),
                        .memoryOverlap(partition: 1, other: 0),
                        "partition #1 \"heartbeat\", field memory_base: the memory overlaps partition #0 \"hello\"")
    }

    @Test func memoryOutOfRange() {
        expectPlanError(partition("a", base: "0xC0000000"), .memoryOutOfRange(partition: 0),
                        "partition #0 \"a\", field memory_base: the memory [0xc0000000, 0xc1000000) lies outside the board's RAM")
        // Partly outside: the last 2 MiB of 1 GiB plus 14 more.
        expectPlanError(partition("a", base: "0xBFE00000"), .memoryOutOfRange(partition: 0),
                        "partition #0 \"a\", field memory_base: the memory [0xbfe00000, 0xc0e00000) lies outside the board's RAM")
    }

    @Test func memoryReserved() {
        let hypervisor = ReservedRegion(HostRegion(base: HostPhysAddr(0x8020_0000), size: 0x3E0_0000), kind: .hypervisor)
        expectPlanError(partition("a", base: "0x82000000"), .memoryReserved(partition: 0, reserved: hypervisor),
                        "partition #0 \"a\", field memory_base: the memory [0x82000000, 0x83000000) overlaps memory reserved for "
                        + "the hypervisor (image, shared pool, bundle staging) [0x80200000, 0x84000000)")
        let firmware = ReservedRegion(HostRegion(base: HostPhysAddr(0x8000_0000), size: 0x20_0000), kind: .firmware)
        expectPlanError(partition("a", base: "0x80000000"), .memoryReserved(partition: 0, reserved: firmware),
                        "partition #0 \"a\", field memory_base: the memory [0x80000000, 0x81000000) overlaps memory reserved for "
                        + "firmware [0x80000000, 0x80200000)")
    }

    @Test func misalignedBaseAndSize() {
        let (_, base) = checkError(partition("a", base: "0x84100000"))
        #expect(base?.planError == .memoryMisaligned(partition: 0, field: .memoryBase))
        #expect(base?.message.contains("partition #0 \"a\", field memory_base: the base is not a multiple of") == true)
        let (_, size) = checkError(partition("a", size: "\"3M\""))
        #expect(size?.planError == .memoryMisaligned(partition: 0, field: .memorySize))
        #expect(size?.message.contains("partition #0 \"a\", field memory_size: the size is not a multiple of") == true)
    }

    @Test func memoryEmpty() {
        expectPlanError(partition("a", size: "0"), .memoryEmpty(partition: 0),
                        "partition #0 \"a\", field memory_size: the memory size is zero")
    }

    @Test func harts() {
        expectPlanError(partition("a", harts: "[1, 1]"), .hartListedTwice(partition: 0, hart: 1),
                        "partition #0 \"a\", field harts: hart 1 is listed twice")
        expectPlanError(partition("a", harts: "[1, 2]") + partition("b", harts: "[3, 2]", base: "0x85000000"),
                        .hartShared(partition: 1, hart: 2, owner: 0),
                        "partition #1 \"b\", field harts: hart 2 is already given to partition #0 \"a\"")
        expectPlanError(partition("a", harts: "[4]"), .hartNotOnBoard(partition: 0, hart: 4),
                        "partition #0 \"a\", field harts: hart 4 does not exist on this board")
        expectPlanError(partition("a", harts: "[2]"), .hartNotOnBoard(partition: 0, hart: 2),
                        "partition #0 \"a\", field harts: hart 2 does not exist on this board", harts: 2)
        expectPlanError(partition("a", harts: "[]"), .noHarts(partition: 0),
                        "partition #0 \"a\", field harts: no harts are listed")
        expectPlanError(partition("a", harts: "[0, 1, 2, 3, 4, 5, 6, 7, 8]"), .tooManyHarts(partition: 0),
                        "partition #0 \"a\", field harts: more than 8 harts are listed (9 are)", harts: 16)
    }

    @Test func images() {
        expectPlanError(partition("a", image: "empty.bin"), .emptyImage(partition: 0),
                        "partition #0 \"a\", field image: the image is empty")
        // 2 MiB of RAM leaves 2 MiB - 64 KiB for the image; a 32 KiB .bss pushes the ELF past it.
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("big.elf", ELFBuilder.image(segments: [(0x8000_0000, [0x13, 0, 0, 0], 0x1F_8000)], entry: 0x8000_0000))
        let path = ws.config(partition("a", size: "\"2M\"", image: "big.elf"))
        #expect(throws: ToolError("\(path):3: partition #0 \"a\", field image: the image (2064384 bytes) does not fit in the 2031616 bytes available below the device tree",
                                  planError: .imageTooLarge(partition: 0, imageSize: 0x1F_8000, limit: 0x1F_0000))) {
            try Commands.check(configPath: path, board: BoardOptions())
        }
    }

    @Test func entryOutsideImage() {
        expectPlanError(partition("a", extra: "entry = 0x80000040"), .entryOutsideImage(partition: 0),
                        "partition #0 \"a\", field entry: the entry point lies outside the loaded image")
        expectPlanError(partition("a", extra: "entry = 0x7FFFFFFE"), .entryOutsideImage(partition: 0),
                        "partition #0 \"a\", field entry: the entry point lies outside the loaded image")
    }

    @Test func entryMisaligned() {
        expectPlanError(partition("a", extra: "entry = 0x80000001"), .entryMisaligned(partition: 0),
                        "partition #0 \"a\", field entry: the entry point is not 2-byte aligned "
                            + "(RISC-V instructions start on even addresses)")
    }

    @Test func memoryOverFourGiBBreaksTheLimit() {
        let message = "partition #0 \"a\", field memory_size: the memory size (5 GiB) breaks the 4 GiB limit: "
            + "a partition has at most that much RAM"
        // On the 1 GiB board: the 4 GiB rule, not "outside the board's RAM".
        expectPlanError(partition("a", size: "\"5G\""), .memoryTooLarge(partition: 0), message)
        // On a 16 GiB board, where it would fit.
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("small.bin", [UInt8](repeating: 0x13, count: 64))
        let path = ws.config(partition("a", size: "\"5G\""))
        #expect(throws: ToolError("\(path):6: \(message)", planError: .memoryTooLarge(partition: 0))) {
            try Commands.check(configPath: path, board: BoardOptions(ramSize: "16G"))
        }
    }

    @Test func names() {
        expectPlanError(partition("a") + partition("a", harts: "[2]", base: "0x85000000"),
                        .duplicateName(partition: 1, first: 0),
                        "partition #1 \"a\", field name: the name is already used by partition #0")
        expectPlanError(partition("Hello"), .invalidNameCharacter(partition: 0),
                        "partition #0 \"Hello\", field name: names may use only a-z, 0-9, '-' and '_'")
        expectPlanError(partition(""), .emptyName(partition: 0), "partition #0, field name: the name is empty")
        expectPlanError(partition("a-name-of-17-byte"), .nameTooLong(partition: 0),
                        "partition #0, field name: the name is longer than 16 bytes (\"a-name-of-17-byte\" is 17 bytes)")
    }

    @Test func bootargsTooLong() {
        let long = String(repeating: "x", count: 129)
        expectPlanError(partition("a", extra: "bootargs = \"\(long)\""), .bootargsTooLong(partition: 0),
                        "partition #0 \"a\", field bootargs: boot arguments are longer than 128 bytes (they are 129)")
    }

    @Test func partitionCount() {
        expectPlanError("# empty\n", .noPartitions, "the plan has no partitions")
        let nine = (0..<9).map { partition("p\($0)", harts: "[\($0)]", base: "0x\(String(0x8400_0000 + $0 * 0x100_0000, radix: 16))") }
        expectPlanError(nine.joined(), .tooManyPartitions(count: 9), "the plan has 9 partitions; at most 8 are supported", harts: 16,
                        line: 57)  // the 9th [[partition]]
    }

    // MARK: - Channels

    /// Partitions "a" (hart 1) and "b" (hart 2).
    var twoPartitions: String { partition("a") + partition("b", harts: "[2]", base: "0x85000000") }

    @Test func validChannelsPass() {
        let (_, error) = checkError(twoPartitions + channel("ab") + channel("buf", "b", "a", size: "\"2M\"", extra: "access = [\"rw\", \"ro\"]")
                                    + channel("fwd", extra: "direction = \"forward\"\ndoorbell = true"))
        #expect(error == nil)
    }

    @Test func channelNames() {
        expectPlanError(twoPartitions + channel(""), .channelEmptyName(channel: 0), "channel #0, field name: the name is empty")
        expectPlanError(twoPartitions + channel("AB"), .channelInvalidNameCharacter(channel: 0),
                        "channel #0 \"AB\", field name: names may use only a-z, 0-9, '-' and '_'")
        expectPlanError(twoPartitions + channel("ab") + channel("ab", "b", "a"), .channelDuplicateName(channel: 1, first: 0),
                        "channel #1 \"ab\", field name: the name is already used by channel #0 \"ab\"")
        let (path, long) = checkError(twoPartitions + channel("a-name-of-17-byte"))
        #expect(long == ToolError("\(path):16: channel #0, field name: the name is longer than 16 bytes (\"a-name-of-17-byte\" is 17 bytes)"))
    }

    @Test func channelEndpoints() {
        expectPlanError(twoPartitions + channel("ab", "a", "a"), .channelSameEndpoints(channel: 0),
                        "channel #0 \"ab\", field endpoints: both endpoints are the same partition")
        expectPlanError(twoPartitions + channel("ab", "c", "a"), .channelUnknownPartition(channel: 0, endpoint: 0),
                        "channel #0 \"ab\", field endpoints: endpoint 0 names no partition of the plan (\"c\"; the partitions are \"a\", \"b\")")
    }

    @Test func channelQueueFields() {
        expectPlanError(twoPartitions + channel("ab", depth: "0"), .channelDepthOutOfRange(channel: 0, depth: 0),
                        "channel #0 \"ab\", field depth: the depth 0 is not between 1 and 64")
        expectPlanError(twoPartitions + channel("ab", depth: "65"), .channelDepthOutOfRange(channel: 0, depth: 65),
                        "channel #0 \"ab\", field depth: the depth 65 is not between 1 and 64")
        expectPlanError(twoPartitions + channel("ab", messageSize: "0"), .channelMessageSizeOutOfRange(channel: 0, size: 0),
                        "channel #0 \"ab\", field message_size: the message size 0 is not between 1 and 4096 bytes")
        expectPlanError(twoPartitions + channel("ab", messageSize: "4097"), .channelMessageSizeOutOfRange(channel: 0, size: 4097),
                        "channel #0 \"ab\", field message_size: the message size 4097 is not between 1 and 4096 bytes")
        expectPlanError(twoPartitions + channel("ab", extra: "access = [\"rw\", \"rw\"]"), .channelFieldNotForKind(channel: 0, field: .access),
                        "channel #0 \"ab\", field access: \"access\" does not apply to this kind of channel (a queue has depth and message_size)")
        let big = ChannelSpec.queueFor(depth: 64, messageSize: 4096)
        expectPlanError(twoPartitions + channel("big", depth: "64", messageSize: "4096"),
                        .queueStorageExhausted(channel: 0, needed: big, capacity: ChannelLimits.queueStorageCapacity),
                        "channel #0 \"big\", field depth: the queues need \(big) bytes of hypervisor memory in all; 128 KiB are available")
    }

    @Test func channelSharedFields() {
        for (size, bytes) in [("0", UInt64(0)), ("\"6K\"", 6144), ("\"4M\"", 4 << 20), ("4097", 4097)] {
            expectPlanError(twoPartitions + channel("buf", size: size), .channelSizeInvalid(channel: 0, size: bytes),
                            "channel #0 \"buf\", field size: the size \(bytes) is not a non-zero multiple of 4 KiB of at most 2 MiB")
        }
        expectPlanError(twoPartitions + channel("buf", size: "4096", extra: "depth = 1"), .channelFieldNotForKind(channel: 0, field: .depth),
                        "channel #0 \"buf\", field depth: \"depth\" does not apply to this kind of channel (a shared-memory channel has size and access)")
        // qemu-virt's pool holds 8 MiB: the fifth 2 MiB channel does not fit.
        let five = (0..<5).map { channel("s\($0)", size: "\"2M\"") }.joined()
        expectPlanError(twoPartitions + five, .sharedPoolExhausted(channel: 4, needed: 10 << 20, capacity: 8 << 20),
                        "channel #4 \"s4\", field size: the shared-memory channels need 10 MiB in all; the board's pool holds 8 MiB")
    }

    @Test func channelCount() {
        let seventeen = (0..<17).map { channel("c\($0)", depth: "1", messageSize: "8") }.joined()
        expectPlanError(twoPartitions + seventeen, .tooManyChannels(count: 17), "the plan has 17 channels; at most 16 are supported",
                        line: 127)  // the 17th [[channel]]
        let sixteen = (0..<16).map { channel("c\($0)", depth: "1", messageSize: "8") }.joined()
        #expect(checkError(twoPartitions + sixteen).error == nil)
    }

    @Test func partitionErrorsComeBeforeChannelErrors() {
        // Partition-level behaviour is unchanged by channels: the overlap is reported, not the depth.
        expectPlanError(partition("a") + partition("b", harts: "[2]", base: "0x84800000") + channel("ab", depth: "0"),
                        .memoryOverlap(partition: 1, other: 0),
                        "partition #1 \"b\", field memory_base: the memory overlaps partition #0 \"a\"")
    }
}

extension ChannelSpec {
    /// The queue storage a two-way queue of `depth` messages of `messageSize` bytes needs.
    static func queueFor(depth: UInt32, messageSize: UInt32) -> UInt64 {
        var c = ChannelSpec()
        c.kind = .queue; c.depth = depth; c.messageSize = messageSize
        return c.queueStorage
    }
}
