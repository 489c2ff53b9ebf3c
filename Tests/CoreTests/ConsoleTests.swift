// The console for any guest: output lines and the idle flush (GuestConsole), the input queue's
// bound, payload images, and the device tree of a `uart = true` partition that is not Linux.

import Testing
@testable import BulkheadCore

private func name(_ s: String) -> PartitionName { Array(s.utf8).withUnsafeBytes { PartitionName(bytes: $0)! } }
private let names = [name("uboot"), name("beat")]
private func tag(_ p: Int) -> PartitionName { names[p] }

/// A console as the kernel runs it: 10 MHz timebase (idle 500,000 ticks, input poll 10,000).
private struct Console {
    var console = GuestConsole(timing: ConsoleTiming(timebaseFrequency: 10_000_000))
    var out = StringSink()
    var text: String { String(decoding: out.bytes, as: UTF8.self) }

    /// Partition `p` writes `s` at `now`; returns the idle deadline the last byte left, if any.
    @discardableResult mutating func put(_ p: Int, _ s: String, at now: UInt64) -> UInt64? {
        var deadline: UInt64? = nil
        for b in s.utf8 { deadline = console.put(b, partition: p, now: now, to: &out, name: tag) }
        return deadline
    }
    mutating func service(at now: UInt64) -> UInt64? { console.flushIdle(now: now, count: 2, to: &out, name: tag) }
    mutating func flush(_ p: Int) { console.flush(partition: p, to: &out, name: tag) }
    mutating func log(_ s: StaticString) {
        console.beginHypervisorLine(to: &out)
        out.write("[bulkhead] "); out.write(s); out.write(byte: 10)
    }
}

@Suite("Console: tagged lines, the idle flush of partial lines, input queues")
struct ConsoleTests {
    @Test func timingFromTheTimebase() {
        let t = ConsoleTiming(timebaseFrequency: 10_000_000)
        #expect(t.idle == 500_000 && t.inputPoll == 10_000)            // 50 ms and 1 ms
        #expect(t.nextService(after: 100, earliestIdle: nil) == 10_100)
        #expect(t.nextService(after: 100, earliestIdle: 5_000) == 5_000)
        #expect(t.nextService(after: 100, earliestIdle: 20_000) == 10_100)
        #expect(ConsoleTiming(timebaseFrequency: 0).inputPoll == 1)     // never a zero period
    }

    @Test func wholeLinesAreTaggedAndCarriageReturnsDropped() {
        var c = Console()
        let got1 = c.put(0, "U-Boot 2025.01\r\n", at: 10)
        #expect(got1 == nil)
        let got2 = c.put(1, "heartbeat: 1\n", at: 11)
        #expect(got2 == nil)
        #expect(c.text == "[uboot] U-Boot 2025.01\n[beat] heartbeat: 1\n")
        // A pending partial line is not shown before it is idle, whatever else prints.
        let got3 = c.put(0, "=> ", at: 1_000)
        #expect(got3 == 501_000)
        c.put(1, "heartbeat: 2\n", at: 2_000)
        let got4 = c.service(at: 500_999)
        #expect(got4 == 501_000)
        #expect(c.text == "[uboot] U-Boot 2025.01\n[beat] heartbeat: 1\n[beat] heartbeat: 2\n")
    }

    @Test func anIdlePromptAppearsAndItsEchoContinuesTheLine() {
        var c = Console()
        c.put(0, "=> ", at: 1_000)
        let got5 = c.service(at: 501_000)
        #expect(got5 == nil)                          // idle: shown, nothing pending
        #expect(c.text == "[uboot] => ")
        #expect(c.console.cursor.openPartition == 0)
        // What is typed is echoed: it continues the open line, untagged.
        c.put(0, "ver", at: 600_000)
        let got6 = c.service(at: 1_100_000)
        #expect(got6 == nil)
        c.put(0, "sion\r\n", at: 1_200_000)
        c.put(0, "U-Boot 2025.01\r\n", at: 1_300_000)
        #expect(c.text == "[uboot] => version\n[uboot] U-Boot 2025.01\n")
        #expect(c.console.cursor.openPartition == -1)
    }

    @Test func otherOutputEndsAnOpenLineAndTheRestIsTaggedAgain() {
        var c = Console()
        c.put(0, "Hit any key:  2 ", at: 0)
        _ = c.service(at: 500_000)
        c.put(1, "heartbeat: 7\n", at: 600_000)
        c.put(0, "\u{8}\u{8}\u{8} 1 ", at: 700_000)
        _ = c.service(at: 1_200_000)
        c.log("partition uboot asked for a reboot (SBI SRST)")
        c.log("partition uboot restarting (boot 1)")
        #expect(c.text == "[uboot] Hit any key:  2 \n[beat] heartbeat: 7\n[uboot] \u{8}\u{8}\u{8} 1 \n"
                + "[bulkhead] partition uboot asked for a reboot (SBI SRST)\n[bulkhead] partition uboot restarting (boot 1)\n")
        // Every line starts with a tag.
        #expect(c.text.split(separator: "\n").allSatisfy { $0.hasPrefix("[") })
    }

    @Test func theIdleTimeRestartsWithEveryByte() {
        var c = Console()
        c.put(0, "ab", at: 0)
        let got7 = c.put(0, "c", at: 400_000)
        #expect(got7 == 900_000)
        let got8 = c.service(at: 500_000)
        #expect(got8 == 900_000)                      // not idle: the line grew at 400,000
        #expect(c.text.isEmpty)
        let got9 = c.service(at: 900_000)
        #expect(got9 == nil)
        #expect(c.text == "[uboot] abc")
    }

    @Test func aFullBufferIsPrintedAndTheLineStaysOpen() {
        var c = Console()
        let long = String(repeating: "x", count: GuestLineBuffer.capacity)
        c.put(0, long, at: 0)
        #expect(c.text == "[uboot] " + long)
        c.put(0, "yz\n", at: 1)
        #expect(c.text == "[uboot] " + long + "yz\n")
    }

    @Test func aStoppingPartitionsPartialLineIsCompleted() {
        var c = Console()
        c.put(1, "half", at: 0)
        c.flush(1)
        c.flush(0)                                                      // nothing pending: nothing
        c.log("partition beat stopped")
        #expect(c.text == "[beat] half\n[bulkhead] partition beat stopped\n")
        // An open line is ended by the hypervisor's next line.
        c.put(0, "# ", at: 0)
        _ = c.service(at: 500_000)
        c.log("partition uboot stopped")
        #expect(c.text.hasSuffix("[uboot] # \n[bulkhead] partition uboot stopped\n"))
        // Out-of-range partitions are ignored.
        var sink = StringSink()
        let got10 = c.console.put(65, partition: 8, now: 0, to: &sink, name: tag)
        #expect(got10 == nil && sink.bytes.isEmpty)
    }

    @Test func inputQueueKeepsTheOldestKeysUpToItsBound() {
        var queue = InputQueue()
        #expect(InputQueue.capacity == 256)
        for i in 0..<300 { let kept = queue.push(UInt8(truncatingIfNeeded: i)); #expect(kept == (i < 256)) }
        #expect(queue.count == 256)
        for i in 0..<256 { let byte = queue.pop(); #expect(byte == UInt8(i)) }   // the newest 44 were dropped
        let got11 = queue.pop()
        #expect(got11 == nil && queue.isEmpty)
        // Wrap-around keeps the order.
        for round in 0..<3 {
            for i in 0..<200 { let kept = queue.push(UInt8(truncatingIfNeeded: i + round)); #expect(kept) }
            for i in 0..<200 { let byte = queue.pop(); #expect(byte == UInt8(truncatingIfNeeded: i + round)) }
        }
    }
}

/// A one-vCPU partition `name` with 64 MiB at 0x88000000.
private func spec(_ kind: ImageKind = .flat, uart: Bool = false, entry: UInt64 = 0x8000_0000, imageSize: UInt64 = 0x1000) -> PartitionSpec {
    var s = PartitionSpec()
    s.name = name("uboot")
    _ = s.harts.append(1)
    s.memory = HostRegion(base: HostPhysAddr(0x8800_0000), size: 0x400_0000)
    s.imageKind = kind
    s.entry = GuestPhysAddr(entry)
    s.imageSize = imageSize
    s.flags.uart = uart
    return s
}

private func deviceTree(_ s: PartitionSpec) throws -> [UInt8] {
    var buffer = [UInt8](repeating: 0, count: Int(PlanLimits.deviceTreeReserve))
    let isa = Array("rv64imafdc_zicsr_zifencei_sstc".utf8), mmu = Array("riscv,sv57".utf8)
    let size = try buffer.withUnsafeMutableBytes { out in
        try isa.withUnsafeBytes { i in try mmu.withUnsafeBytes { m in
            try GuestDeviceTree.build(into: out, spec: s, isa: i, mmuType: m, timebaseFrequency: 10_000_000, bootCount: 0)
        } }
    }
    return Array(buffer[0..<size])
}

@Suite("Any guest with uart = true: device tree, payload images")
struct UARTPartitionTests {
    @Test func aFlatPartitionWithUARTGetsTheSerialNodeAndStdoutPath() throws {
        let s = spec(uart: true)
        #expect(s.hasVirtualUART && s.imageKind == .flat)
        try deviceTree(s).withUnsafeBytes { raw in
            let reader = try FDTReader(raw)
            let chosen = try reader.node("/chosen")
            #expect(try reader.property("stdout-path", in: chosen).string().text == "/serial@10000000")
            let serial = try reader.node("/serial@10000000")
            let compatible = [UInt8](try reader.property("compatible", in: serial).value)
            #expect(compatible == Array("altr,16550-FIFO128\0ns16550a\0".utf8))
            let reg = [UInt8](try reader.property("reg", in: serial).value)
            #expect(reg == [0, 0, 0, 0, 0x10, 0, 0, 0] + [0, 0, 0, 0, 0, 0, 1, 0])   // 0x10000000 + 0x100
            #expect(try reader.property("clock-frequency", in: serial).u32() == 3_686_400)
            #expect(try reader.findProperty("interrupts", in: serial) == nil)          // polled
            // The stdout-path names a node that exists (a reader follows it to the UART).
            #expect(try reader.findNode("/serial@10000000") != nil)
            #expect(try reader.findNode("/bulkhead-console") != nil)
        }
    }

    @Test func withoutUARTTheConsoleIsSBIAndThereIsNoSerialNode() throws {
        let s = spec()
        #expect(!s.hasVirtualUART)
        try deviceTree(s).withUnsafeBytes { raw in
            let reader = try FDTReader(raw)
            #expect(try reader.property("stdout-path", in: try reader.node("/chosen")).string().text == "/bulkhead-console")
            #expect(try reader.findNode("/serial@10000000") == nil)
        }
        // A payload with uart = true, like U-Boot, gets it too; so does every Linux partition.
        #expect(spec(.payload, uart: true, entry: 0x8020_0000).hasVirtualUART)
        #expect(spec(.linux, entry: 0x8020_0000).hasVirtualUART)
    }

    @Test func aPayloadIsLoadedAtItsEntry() throws {
        let board = KnownBoards.qemuVirt.defaultLimits
        func check(_ s: PartitionSpec) -> PlanError? {
            var plan = PartitionPlan()
            _ = plan.append(s)
            do throws(PlanError) { try plan.validate(for: board); return nil } catch { return error }
        }
        let uboot = spec(.payload, uart: true, entry: 0x8020_0000, imageSize: 956_664)
        #expect(uboot.imageLoadOffset == 0x20_0000)
        #expect(spec(.flat, entry: 0x8000_0100).imageLoadOffset == 0)
        #expect(check(uboot) == nil)
        #expect(check(spec(.payload, entry: 0x8000_0000)) == nil)
        #expect(check(spec(.payload, entry: 0x8020_0800)) == .payloadEntryMisaligned(partition: 0))   // not a page
        #expect(check(spec(.payload, entry: 0x7FFF_F000)) == .payloadEntryMisaligned(partition: 0))   // below RAM
        #expect(check(spec(.payload, entry: 0x83FF_0000)) == .payloadEntryMisaligned(partition: 0))   // the device tree
        // The image may not reach the device tree (the top 64 KiB).
        #expect(check(spec(.payload, entry: 0x83FE_0000, imageSize: 0x1_0000)) == nil)
        #expect(check(spec(.payload, entry: 0x83FE_0000, imageSize: 0x1_0001))
                == .imageTooLarge(partition: 0, imageSize: 0x1_0001, limit: 0x1_0000))
        var plan = PartitionPlan()
        _ = plan.append(uboot)
        var message = StringSink()
        PlanError.payloadEntryMisaligned(partition: 0).write(to: &message, plan: plan)
        #expect(String(decoding: message.bytes, as: UTF8.self) == "partition #0 \"uboot\", field entry: a payload is loaded at its entry, "
                + "which must be a 4 KiB boundary inside its RAM, below the initrd and the device tree")
    }

    @Test func aPayloadsKindAndFlagsSurviveTheBundle() throws {
        var plan = PartitionPlan()
        _ = plan.append(spec(.payload, uart: true, entry: 0x8020_0000, imageSize: 16))
        let image = [UInt8](repeating: 0x13, count: 16)
        let bytes = BundleWriter.encode(plan: plan, images: [image], initrds: [], securityVersion: 1, keyID: SigningKeyID(raw: 7),
                                        digest: { _ in [UInt8](repeating: 1, count: 64) }, sign: { _ in [UInt8](repeating: 2, count: 64) })
        #expect(bytes[64 + 3] == 2)                                       // image_kind 2: payload
        try bytes.withUnsafeBytes { raw throws in
            let reader = try BundleReader(bytes: raw)
            #expect(reader.plan[0].imageKind == .payload && reader.plan[0].flags.uart)
            #expect(reader.plan[0].entry == GuestPhysAddr(0x8020_0000) && reader.plan[0].imageLoadOffset == 0x20_0000)
        }
    }
}
