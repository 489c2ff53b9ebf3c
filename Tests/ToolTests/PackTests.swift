// ELF flattening on hand-built ELF files, and pack -> Core BundleReader / inspect round trips.

import BulkheadCore
import Foundation
import Testing
@testable import BulkheadTool

/// Builds minimal ELF64 little-endian RISC-V executables: one PT_LOAD per segment.
enum ELFBuilder {
    /// `segments`: (physical address, file bytes, memory size).
    static func image(segments: [(UInt64, [UInt8], UInt64)], entry: UInt64, machine: UInt16 = 243, type: UInt16 = 2,
                      extraHeaders: [(type: UInt32, address: UInt64)] = []) -> [UInt8] {
        let headerCount = segments.count + extraHeaders.count
        var out = [UInt8](repeating: 0, count: 64 + 56 * headerCount)
        func put(_ at: Int, _ value: UInt64, _ width: Int) {
            for i in 0..<width { out[at + i] = UInt8(truncatingIfNeeded: value >> UInt64(8 * i)) }
        }
        out.replaceSubrange(0..<4, with: [0x7F, 0x45, 0x4C, 0x46])
        out[4] = 2; out[5] = 1; out[6] = 1
        put(0x10, UInt64(type), 2); put(0x12, UInt64(machine), 2); put(0x14, 1, 4)
        put(0x18, entry, 8); put(0x20, 64, 8); put(0x34, 64, 2); put(0x36, 56, 2); put(0x38, UInt64(headerCount), 2)
        // Extra (non-load) headers first, then the PT_LOAD ones with their data after the table.
        for (i, h) in extraHeaders.enumerated() {
            let ph = 64 + 56 * i
            put(ph, UInt64(h.type), 4); put(ph + 0x10, h.address, 8); put(ph + 0x18, h.address, 8)
            put(ph + 0x28, 0x1000, 8)
        }
        for (i, s) in segments.enumerated() {
            let ph = 64 + 56 * (extraHeaders.count + i)
            let offset = out.count
            out += s.1
            put(ph, 1, 4); put(ph + 4, 7, 4); put(ph + 0x08, UInt64(offset), 8)
            put(ph + 0x10, s.0, 8); put(ph + 0x18, s.0, 8)
            put(ph + 0x20, UInt64(s.1.count), 8); put(ph + 0x28, s.2, 8); put(ph + 0x30, 8, 8)
        }
        return out
    }
}

@Suite("CLI: ELF images and packing")
struct PackTests {
    @Test func flattensSegmentsWithGapsAndBss() throws {
        let text: [UInt8] = [0x13, 0, 0, 0, 0x6F, 0, 0, 0]
        let data: [UInt8] = [1, 2, 3, 4]
        let elf = ELFBuilder.image(segments: [(0x8000_0000, text, 8), (0x8000_1000, data, 16)], entry: 0x8000_0004,
                                   extraHeaders: [(type: 0x6474_E551, address: 0)])   // PT_GNU_STACK is ignored
        let flat = try ELFImage.flatten(elf, ramSize: 16 << 20)
        #expect(flat.entry == 0x8000_0004)
        #expect(flat.bytes.count == 0x1010)
        #expect(Array(flat.bytes[0..<8]) == text)
        #expect(flat.bytes[8..<0x1000].allSatisfy { $0 == 0 })
        #expect(Array(flat.bytes[0x1000..<0x1004]) == data)
        #expect(flat.bytes[0x1004..<0x1010].allSatisfy { $0 == 0 })
    }

    @Test func firstSegmentAboveRAMBaseIsPrecededByZeros() throws {
        let elf = ELFBuilder.image(segments: [(0x8020_0000, [0xAA, 0xBB], 2)], entry: 0x8020_0000)
        let flat = try ELFImage.flatten(elf, ramSize: 16 << 20)
        #expect(flat.bytes.count == 0x20_0002)
        #expect(flat.bytes[0x20_0000] == 0xAA && flat.bytes[0..<0x20_0000].allSatisfy { $0 == 0 })
    }

    @Test func rejectsBadELFFiles() {
        let ok = ELFBuilder.image(segments: [(0x8000_0000, [1, 2, 3, 4], 4)], entry: 0x8000_0000)
        func failure(_ file: [UInt8], ramSize: UInt64 = 16 << 20) -> String? {
            do { _ = try ELFImage.flatten(file, ramSize: ramSize); return nil } catch { return error.description }
        }
        #expect(failure(ok) == nil)
        #expect(failure(ELFBuilder.image(segments: [(0x8000_0000, [1], 1)], entry: 0, machine: 62))
                == "not a RISC-V ELF file (e_machine is 62, RISC-V is 243)")
        #expect(failure(ELFBuilder.image(segments: [(0x8000_0000, [1], 1)], entry: 0, type: 3))
                == "not an executable ELF file (e_type is 3; ET_EXEC, 2, expected)")
        var class32 = ok; class32[4] = 1
        #expect(failure(class32) == "not a 64-bit ELF file (ELFCLASS64 expected)")
        #expect(failure(ELFBuilder.image(segments: [], entry: 0)) == "the file has no loadable (PT_LOAD) segment")
        #expect(failure(ELFBuilder.image(segments: [(0x7FFF_F000, [1], 1)], entry: 0))
                == "segment 0 at [0x7ffff000, 0x7ffff001) lies outside the partition's guest RAM [0x80000000, 0x81000000)")
        #expect(failure(ELFBuilder.image(segments: [(0x80FF_FFF0, [1], 0x20)], entry: 0))
                == "segment 0 at [0x80fffff0, 0x81000010) lies outside the partition's guest RAM [0x80000000, 0x81000000)")
        #expect(failure(ELFBuilder.image(segments: [(0x8000_0000, [1, 2], 8), (0x8000_0004, [3], 1)], entry: 0))
                == "segment 1 at [0x80000004, 0x80000005) overlaps segment 0")
        #expect(failure(ELFBuilder.image(segments: [(0x8000_0000, [1, 2, 3], 2)], entry: 0))
                == "segment 0 has more file bytes (3) than memory bytes (2)")
        // Every truncation of a valid file fails cleanly (never traps).
        for n in 4..<ok.count { #expect(failure(Array(ok[0..<n])) != nil, "\(n) bytes") }
    }

    @Test func elfErrorsNameTheFilePartitionAndKey() throws {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("far.elf", ELFBuilder.image(segments: [(0x8200_0000, [1], 1)], entry: 0x8200_0000))
        let path = ws.config(partition("far", image: "far.elf"))
        #expect(throws: ToolError("\(path):3: partition #0 \"far\", field image: \"far.elf\" is not a usable ELF image: segment 0 at [0x82000000, 0x82000001) lies outside the partition's guest RAM [0x80000000, 0x81000000)")) {
            try Commands.check(configPath: path, board: BoardOptions())
        }
    }

    @Test func packThenReadWithCoreReader() throws {
        let ws = Workspace()
        defer { ws.remove() }
        let raw = (0..<100).map { UInt8($0) }
        ws.write("raw.bin", raw)
        try FileManager.default.createDirectory(atPath: ws.directory + "/sub", withIntermediateDirectories: true)
        let elf = ELFBuilder.image(segments: [(0x8000_0000, [0x13, 0, 0, 0], 4), (0x8000_0100, [7, 7], 0x10)],
                                   entry: 0x8000_0000)
        ws.write("sub/guest.elf", elf)
        let toml = partition("raw", harts: "[1, 2]", image: "raw.bin", extra: "on_fault = \"restart\"\nbootargs = \"console=hvc0\"")
            + partition("elf", harts: "[3]", base: "0x85000000", size: "\"2M\"", image: "sub/guest.elf", extra: "entry = 0x80000100")
            + partition("elf2", harts: "[0]", base: "0x85200000", size: "2097152", image: "./sub/../sub/guest.elf")
        let config = ws.config(toml)
        let output = ws.directory + "/bundle.bin"
        let key = try SigningKeys.generate(base: ws.directory + "/keys/test")
        let summary = try Commands.pack(configPath: config, output: output, keyPath: key.privatePath, securityVersion: 7,
                                        board: BoardOptions())
        #expect(summary.contains("3 partitions"))
        #expect(summary.contains("security version 7, signed by key id \(key.keyID.hex)"))

        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: output)))
        try bytes.withUnsafeBytes { buffer throws in
            let reader = try BundleReader(bytes: buffer)
            let plan = reader.plan
            #expect(plan.count == 3)
            #expect(reader.securityVersion == 7 && reader.keyID == key.keyID)
            #expect(plan[0].name.withBytes { String(decoding: $0, as: UTF8.self) } == "raw")
            #expect(plan[0].harts.count == 2 && plan[0].harts[0] == 1 && plan[0].harts[1] == 2)
            #expect(plan[0].memory == HostRegion(base: HostPhysAddr(0x8400_0000), size: 16 << 20))
            #expect(plan[0].entry == GuestPhysAddr(0x8000_0000))
            #expect(plan[0].onFault == .restart)
            #expect(plan[0].bootargs.withBytes { String(decoding: $0, as: UTF8.self) } == "console=hvc0")
            #expect([UInt8](reader.image(0)) == raw)
            #expect(plan[1].entry == GuestPhysAddr(0x8000_0100))    // explicit entry wins over the ELF's
            #expect(plan[2].entry == GuestPhysAddr(0x8000_0000))    // the ELF entry
            #expect(plan[1].onFault == .stop && plan[1].bootargs.count == 0)
            let flat = [UInt8](reader.image(1))
            #expect(flat.count == 0x110 && Array(flat[0..<4]) == [0x13, 0, 0, 0] && Array(flat[0x100..<0x102]) == [7, 7])
            #expect([UInt8](reader.image(2)) == flat)
            try plan.validate(for: KnownBoards.qemuVirt.defaultLimits)
        }

        let inspection = try Commands.inspect(bundlePath: output, board: BoardOptions())
        #expect(inspection.problem == nil)
        #expect(inspection.report.contains("partition #0 \"raw\""))
        #expect(inspection.report.contains("memory:    0x84000000 + 16 MiB"))
        #expect(inspection.report.contains("bootargs:  \"console=hvc0\""))
        #expect(inspection.report.contains("on fault:  restart"))
        #expect(inspection.report.contains("plan: valid for qemu-virt"))

        // The same bundle on a two-hart board: listed, then reported invalid.
        let small = try Commands.inspect(bundlePath: output, board: BoardOptions(harts: 2))
        #expect(small.problem?.planError == .hartNotOnBoard(partition: 0, hart: 2))

        // A damaged bundle is rejected by the Core reader with its message.
        ws.write("bad.bin", bytes + [0])
        #expect(throws: ToolError("\(ws.directory)/bad.bin: the header declares \(bytes.count) bytes but \(bytes.count + 1) were given (trailing bytes)",
                                  bundleError: .trailingBytes(declared: UInt64(bytes.count), available: UInt64(bytes.count + 1)))) {
            try Commands.inspect(bundlePath: ws.directory + "/bad.bin", board: BoardOptions())
        }
    }

    @Test func packWithChannelsThenReadAndInspect() throws {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("small.bin", [UInt8](repeating: 0x13, count: 64))
        let toml = partition("ping") + partition("pong", harts: "[2]", base: "0x85000000")
            + channel("pingpong", "ping", "pong", extra: "doorbell = true")
            + channel("frame", "pong", "ping", size: "\"8K\"", extra: "direction = \"forward\"\naccess = [\"rw\", \"ro\"]")
            + channel("log", "ping", "pong", depth: "1", messageSize: "4096", extra: "direction = \"forward\"")
        let config = ws.config(toml)
        let output = ws.directory + "/bundle.bin"
        let key = try SigningKeys.generate(base: ws.directory + "/keys/test")
        let check = try Commands.check(configPath: config, board: BoardOptions())
        #expect(check.contains("OK: 2 partitions, 3 channels valid for qemu-virt"))
        let summary = try Commands.pack(configPath: config, output: output, keyPath: key.privatePath, securityVersion: 1,
                                        board: BoardOptions())
        #expect(summary.contains("2 partitions, 3 channels, 1088 bytes (bundle format 4,"))

        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: output)))
        // header 64 + 2 partition records + 3 channel records, signature, two 64-byte images.
        #expect(bytes.count == 64 + 640 + 192 + 64 + 128)
        #expect(bytes[40] == 3 && bytes[41] == 0 && bytes[42] == 64 && bytes[43] == 0)
        try bytes.withUnsafeBytes { buffer throws in
            let reader = try BundleReader(bytes: buffer)
            let plan = reader.plan
            #expect(reader.manifestRange.count == 896 && reader.signatureRange.offset == 896)
            #expect(plan.channelCount == 3)
            let pingpong = plan.channel(0), frame = plan.channel(1), log = plan.channel(2)
            #expect(pingpong.name.withBytes { String(decoding: $0, as: UTF8.self) } == "pingpong")
            #expect(pingpong.kind == .queue && pingpong.endpoints[0] == 0 && pingpong.endpoints[1] == 1)
            #expect(pingpong.direction == .both && pingpong.depth == 4 && pingpong.messageSize == 64 && pingpong.doorbell)
            #expect(pingpong.size == 0)
            #expect(frame.kind == .sharedMemory && frame.endpoints[0] == 1 && frame.endpoints[1] == 0)
            #expect(frame.direction == .forward && frame.size == 8192 && frame.depth == 0 && !frame.doorbell)
            #expect(frame.access[0] == .readWrite && frame.access[1] == .readOnly)
            #expect(log.direction == .forward && log.depth == 1 && log.messageSize == 4096)
            try plan.validate(for: KnownBoards.qemuVirt.defaultLimits)
        }

        let inspection = try Commands.inspect(bundlePath: output, board: BoardOptions())
        #expect(inspection.problem == nil)
        let report = inspection.report
        #expect(report.contains("format version 4, 2 partitions, 3 channels, 1088 bytes\n"))
        #expect(report.contains("manifest:         896 bytes at 0x0 (signed)\n"))
        #expect(report.contains("""
            channel #0 "pingpong"
              kind:      queue, both directions
              endpoints: 0 = partition #0 "ping", 1 = partition #1 "pong"
              queue:     depth 4 x 64-byte messages per direction (\(pingpongStorage) bytes of hypervisor memory)
              doorbell:  yes (notify interrupts the peer)
            channel #1 "frame"
              kind:      shared memory, forward (only endpoint 0 writes)
              endpoints: 0 = partition #1 "pong", 1 = partition #0 "ping"
              memory:    8 KiB at guest-physical 0x40000000 in both partitions
              access:    endpoint 0 rw, endpoint 1 ro
              doorbell:  no
            channel #2 "log"
              kind:      queue, forward (endpoint 0 sends, endpoint 1 receives)
              endpoints: 0 = partition #0 "ping", 1 = partition #1 "pong"
              queue:     depth 1 x 4096-byte messages (\(logStorage) bytes of hypervisor memory)
              doorbell:  no

            """))
        #expect(report.hasSuffix("plan: valid for qemu-virt (RAM 0x80000000 + 1 GiB, harts 0-3)\n"))

        // A bundle whose plan breaks a channel rule is listed, then reported invalid (the reader
        // leaves plan rules to validation): endpoint 1 of "pingpong" set to partition 7.
        var bad = bytes
        bad[BundleFormat.channelRecordOffset(0, partitionCount: 2) + BundleFormat.ChannelRecord.endpoints + 1] = 7
        let listed = try Commands.inspect(bytes: bad, file: "bad.bin", board: try BoardOptions().resolve())
        #expect(listed.report.contains("endpoints: 0 = partition #0 \"ping\", 1 = partition #7 (not in the plan)"))
        #expect(listed.problem == ToolError("bad.bin: channel #0 \"pingpong\", field endpoints: endpoint 1 names no partition of the plan",
                                            planError: .channelUnknownPartition(channel: 0, endpoint: 1)))
        // A malformed channel record is the reader's error.
        bad = bytes
        bad[BundleFormat.channelRecordOffset(2, partitionCount: 2) + BundleFormat.ChannelRecord.kind] = 9
        #expect(throws: ToolError("bad.bin: channel record #2: unknown channel kind value 9 (1 = queue, 2 = shared memory)",
                                  bundleError: .unknownChannelKind(channel: 2, value: 9))) {
            try Commands.inspect(bytes: bad, file: "bad.bin", board: try BoardOptions().resolve())
        }
    }

    /// The queue storage of the channels in `packWithChannelsThenReadAndInspect`.
    private var pingpongStorage: UInt64 { ChannelSpec.queueFor(depth: 4, messageSize: 64) }
    private var logStorage: UInt64 { ChannelSpec.queueFor(depth: 1, messageSize: 4096) / 2 }

    @Test func packWritesNothingForAnInvalidPlan() {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("small.bin", [1, 2, 3, 4])
        let config = ws.config(partition("a", harts: "[9]"))
        let output = ws.directory + "/out.bin"
        let key = try! SigningKeys.generate(base: ws.directory + "/k")
        #expect(throws: ToolError.self) {
            try Commands.pack(configPath: config, output: output, keyPath: key.privatePath, securityVersion: 0, board: BoardOptions())
        }
        #expect(!FileManager.default.fileExists(atPath: output))
    }
}
