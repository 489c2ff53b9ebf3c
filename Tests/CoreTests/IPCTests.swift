// The IPC service and its message rings: queue semantics, every check of docs/hypercalls.md, partition info.

import Testing
@testable import BulkheadCore

private struct Rung: Equatable { var channel: Int; var partition: Int }

/// Three partitions (ping, pong, loner), each with 64 KiB of real host memory as its RAM, and
/// four channels: 0 "q" (queue, both ways, depth 2 x 64 B, doorbell), 1 "fwd" (queue ping -> pong,
/// depth 1 x 16 B), 2 "shm" (shared 4 KiB, ping rw / pong ro, doorbell), 3 "side" (queue pong-loner).
private final class World {
    static let ramSize = 0x1_0000
    var plan = PartitionPlan()
    let rams: [UnsafeMutableRawBufferPointer]
    let queues: UnsafeMutableRawBufferPointer
    var rung: [Rung] = []
    var masks: [UInt64] = [0, 0, 0]

    init() {
        rams = (0..<3).map { _ in
            let b = UnsafeMutableRawBufferPointer.allocate(byteCount: World.ramSize, alignment: 4096)
            b.initializeMemory(as: UInt8.self, repeating: 0)
            return b
        }
        queues = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(ChannelLimits.queueStorageCapacity), alignment: 16)
        for (i, name) in ["ping", "pong", "loner"].enumerated() {
            var p = PartitionSpec()
            p.name = name.utf8.withContiguousStorageIfAvailable { PartitionName(bytes: UnsafeRawBufferPointer($0))! }!
            p.memory = HostRegion(base: HostPhysAddr(UInt64(UInt(bitPattern: rams[i].baseAddress))), size: UInt64(World.ramSize))
            _ = plan.append(p)
        }
        func channel(_ name: String, _ kind: ChannelKind, _ a: UInt8, _ b: UInt8, depth: UInt32 = 0, message: UInt32 = 0,
                     size: UInt64 = 0, direction: ChannelDirection = .both, doorbell: Bool = false,
                     access: InlineArray<2, SharedAccess> = [.readWrite, .readWrite]) {
            var c = ChannelSpec()
            c.name = name.utf8.withContiguousStorageIfAvailable { ChannelName(bytes: UnsafeRawBufferPointer($0))! }!
            c.kind = kind; c.endpoints = [a, b]; c.depth = depth; c.messageSize = message; c.size = size
            c.direction = direction; c.doorbell = doorbell; c.access = access
            _ = plan.appendChannel(c)
        }
        channel("q", .queue, 0, 1, depth: 2, message: 64, doorbell: true)
        channel("fwd", .queue, 0, 1, depth: 1, message: 16, direction: .forward)
        channel("shm", .sharedMemory, 0, 1, size: 0x1000, doorbell: true, access: [.readWrite, .readOnly])
        channel("side", .queue, 1, 2, depth: 4, message: 8)
        for c in 0..<plan.channelCount where plan.channel(c).kind == .queue {
            let ch = plan.channel(c)
            for end in 0..<2 where ch.maySend(from: 1 - end) { ring(c, end).reset() }
        }
    }

    deinit {
        rams.forEach { $0.deallocate() }
        queues.deallocate()
    }

    func ring(_ c: Int, _ toEndpoint: Int) -> MessageRing {
        let ch = plan.channel(c)
        let offset = ChannelLayout(plan: plan).ringOffset(c, toEndpoint: toEndpoint, channel: ch.route)
        return MessageRing(base: queues.baseAddress! + Int(offset), depth: ch.depth, messageSize: ch.messageSize)
    }

    /// Calls as partition `p`.
    func call(_ p: Int, _ fid: BulkheadFunction, _ a0: UInt64 = 0, _ a1: UInt64 = 0, _ a2: UInt64 = 0) -> SBIResult {
        call(p, fid: fid.rawValue, a0, a1, a2)
    }
    func call(_ p: Int, fid: UInt64, _ a0: UInt64 = 0, _ a1: UInt64 = 0, _ a2: UInt64 = 0) -> SBIResult {
        var env = Env(world: self, partition: p)
        return BulkheadService.handle(BulkheadCall.decode(fid: fid, a0: a0, a1: a1, a2: a2), &env)
    }

    /// Guest-physical address `offset` bytes into partition `p`'s RAM, and its host bytes.
    func gpa(_ offset: Int) -> UInt64 { guestRAMBase.raw + UInt64(offset) }
    func bytes(_ p: Int, _ offset: Int, _ count: Int) -> [UInt8] { Array(rams[p][offset..<(offset + count)]) }
    func put(_ p: Int, _ offset: Int, _ bytes: [UInt8]) { for (i, b) in bytes.enumerated() { rams[p][offset + i] = b } }

    struct Env: IPCEnvironment, NoKeyServices {
        let world: World
        let partition: Int
        var memory: GuestMemory { GuestMemory(host: world.plan[partition].memory) }
        var channelCount: Int { world.plan.channelCount }
        func channel(_ id: Int) -> ChannelSpec { world.plan.channel(id) }
        var partitionName: PartitionName { world.plan[partition].name }
        func sharedWindow(_ id: Int) -> GuestPhysAddr { ChannelLayout(plan: world.plan).sharedWindow(id) }
        mutating func withRing<R>(channel id: Int, toEndpoint endpoint: Int, _ body: (MessageRing) -> R) -> R {
            body(world.ring(id, endpoint))
        }
        mutating func ringDoorbell(channel id: Int, partition p: Int) {
            world.rung.append(Rung(channel: id, partition: p))
            world.masks[p] |= 1 << UInt64(id)
        }
        mutating func takeDoorbells() -> UInt64 {
            defer { world.masks[partition] = 0 }
            return world.masks[partition]
        }

    }
}

private func failure(_ reason: BulkheadReason) -> SBIResult { reason.result }

@Suite("IPC: message rings")
struct MessageRingTests {
    @Test func fifoWithWrapAroundAndSenderStamps() {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: Int(MessageRing.byteSize(depth: 3, messageSize: 10)), alignment: 16)
        defer { memory.deallocate() }
        let ring = MessageRing(base: memory, depth: 3, messageSize: 10)
        ring.reset()
        var out = [UInt8](repeating: 0, count: 10)
        #expect(ring.peek() == nil && ring.pop(into: &out) == nil)
        for round in 0..<5 {                                        // wraps around the 3 slots
            let a: [UInt8] = [UInt8(round), 1, 2], b: [UInt8] = Array(repeating: UInt8(round), count: 10)
            #expect(ring.push(from: a, length: 3, sender: 7))
            #expect(ring.push(from: b, length: 10, sender: 5))
            #expect(ring.push(from: a, length: 0, sender: 1))
            #expect(ring.isFull && !ring.push(from: a, length: 1, sender: 1))   // full: refused, unchanged
            #expect(ring.count == 3)
            #expect(ring.peek()! == (3, 7))
            #expect(ring.pop(into: &out)! == (3, 7) && Array(out[0..<3]) == a)
            #expect(ring.pop(into: &out)! == (10, 5) && out == b)
            #expect(ring.pop(into: &out)! == (0, 1))
            #expect(ring.count == 0 && ring.pop(into: &out) == nil)
        }
        #expect(!ring.push(from: out, length: 11, sender: 0))      // longer than the message size
        #expect(ring.count == 0)
    }

    @Test func slotsAndStorageAreAsDocumented() {
        #expect(ChannelLimits.slotSize(messageSize: 64) == 72 && ChannelLimits.slotSize(messageSize: 1) == 16)
        #expect(MessageRing.byteSize(depth: 2, messageSize: 64) == 16 + 2 * 72)
        var c = ChannelSpec(); c.kind = .queue; c.depth = 2; c.messageSize = 64
        #expect(c.queueStorage == 2 * (16 + 2 * 72))
        c.direction = .forward
        #expect(c.queueStorage == 16 + 2 * 72)
    }
}

@Suite("IPC: the Bulkhead extension's service")
struct IPCServiceTests {
    @Test func sendAndReceiveCopyAndStampTheSender() {
        let w = World()
        w.put(0, 0x100, Array("hello, pong".utf8))
        #expect(w.call(0, .send, 0, w.gpa(0x100), 11) == .success(0))
        #expect(w.rung == [Rung(channel: 0, partition: 1)])          // the doorbell rang at pong
        w.put(0, 0x100, Array("HELLO, PONG".utf8))                   // changing the buffer now changes nothing
        #expect(w.call(0, .receive, 0, w.gpa(0x200), 64) == failure(.empty))   // ping's own inbox is empty
        #expect(w.call(1, .receive, 0, w.gpa(0x200), 64) == .success(ReceivedMessage.pack(length: 11, sender: 0)))
        #expect(w.bytes(1, 0x200, 11) == Array("hello, pong".utf8))
        #expect(w.call(1, .receive, 0, w.gpa(0x200), 64) == failure(.empty))
        // And back: pong -> ping, stamped 1.
        #expect(w.call(1, .send, 0, w.gpa(0x300), 64) == .success(0))
        #expect(w.call(0, .receive, 0, w.gpa(0x400), 64) == .success(ReceivedMessage.pack(length: 64, sender: 1)))
        #expect(w.call(1, .doorbells) == .success(1) && w.call(1, .doorbells) == .success(0))   // read and cleared
        #expect(w.call(0, .doorbells) == .success(1))
    }

    @Test func aFullQueueIsReportedAndNothingIsLost() {
        let w = World()
        #expect(w.call(0, .send, 0, w.gpa(0), 8) == .success(0))
        #expect(w.call(0, .send, 0, w.gpa(8), 8) == .success(0))
        #expect(w.call(0, .send, 0, w.gpa(16), 8) == failure(.full))
        #expect(w.rung.count == 2)                                   // no doorbell for the refused one
        #expect(w.ring(0, 1).count == 2)
        #expect(w.call(1, .receive, 0, w.gpa(0x100), 8) == .success(ReceivedMessage.pack(length: 8, sender: 0)))
        #expect(w.call(0, .send, 0, w.gpa(16), 8) == .success(0))
    }

    @Test func everyCheckHasItsOwnError() {
        let w = World()
        let outside = w.gpa(World.ramSize - 8)                       // 8 bytes fit, 16 do not
        let pongHost = w.plan[1].memory.base.raw                     // pong's RAM as a host address
        let cases: [(String, Int, UInt64, UInt64, UInt64, UInt64, BulkheadReason)] = [
            ("unknown channel", 0, BulkheadFunction.send.rawValue, 4, w.gpa(0), 8, .unknownChannel),
            ("huge channel id", 0, BulkheadFunction.receive.rawValue, UInt64.max, w.gpa(0), 8, .unknownChannel),
            ("not an endpoint", 2, BulkheadFunction.send.rawValue, 0, w.gpa(0), 8, .notEndpoint),
            ("notify, not an endpoint", 2, BulkheadFunction.notify.rawValue, 2, 0, 0, .notEndpoint),
            ("send on shared memory", 0, BulkheadFunction.send.rawValue, 2, w.gpa(0), 8, .wrongKind),
            ("receive on shared memory", 1, BulkheadFunction.receive.rawValue, 2, w.gpa(0), 8, .wrongKind),
            ("send against a forward channel", 1, BulkheadFunction.send.rawValue, 1, w.gpa(0), 8, .wrongDirection),
            ("receive at the sending end", 0, BulkheadFunction.receive.rawValue, 1, w.gpa(0), 16, .wrongDirection),
            ("misaligned send", 0, BulkheadFunction.send.rawValue, 0, w.gpa(4), 8, .misaligned),
            ("misaligned receive", 1, BulkheadFunction.receive.rawValue, 0, w.gpa(1), 8, .misaligned),
            ("too long", 0, BulkheadFunction.send.rawValue, 1, w.gpa(0), 17, .tooLong),
            ("send buffer past the end of RAM", 0, BulkheadFunction.send.rawValue, 0, outside, 16, .badAddress),
            ("send buffer in another partition", 0, BulkheadFunction.send.rawValue, 0, pongHost, 8, .badAddress),
            ("send buffer at the hypervisor's address", 0, BulkheadFunction.send.rawValue, 0, 0x8020_0000, 8, .badAddress),
            ("receive buffer wraps the address space", 1, BulkheadFunction.receive.rawValue, 0, UInt64.max - 7, 64, .badAddress),
            ("receive with nothing waiting", 1, BulkheadFunction.receive.rawValue, 0, w.gpa(0), 64, .empty),
            ("notify without a doorbell", 0, BulkheadFunction.notify.rawValue, 1, 0, 0, .noDoorbell),
            ("unknown function", 0, 99, 0, 0, 0, .unknownFunction),
        ]
        for (label, p, fid, a0, a1, a2, reason) in cases {
            #expect(w.call(p, fid: fid, a0, a1, a2) == failure(reason), "\(label)")
        }
        #expect(w.rung.isEmpty && w.ring(0, 1).count == 0 && w.ring(0, 0).count == 0 && w.ring(1, 1).count == 0)
        // The error codes are the standard SBI ones, with the reason in a1.
        #expect(failure(.notEndpoint) == SBIResult(error: -4, value: 2))
        #expect(failure(.badAddress) == SBIResult(error: -5, value: 7))
        #expect(failure(.full) == SBIResult(error: -1, value: 8))
        #expect(failure(.unknownFunction) == SBIResult(error: -2, value: 13))
    }

    @Test func aBufferTooSmallLeavesTheMessageQueued() {
        let w = World()
        #expect(w.call(0, .send, 0, w.gpa(0), 40) == .success(0))
        #expect(w.call(1, .receive, 0, w.gpa(0x100), 39) == failure(.bufferTooSmall))
        #expect(w.call(1, .receive, 0, w.gpa(0x100), 40) == .success(ReceivedMessage.pack(length: 40, sender: 0)))
    }

    @Test func notifyRingsThePeer() {
        let w = World()
        #expect(w.call(1, .notify, 2) == .success(0))
        #expect(w.call(0, .notify, 2) == .success(0))
        #expect(w.rung == [Rung(channel: 2, partition: 0), Rung(channel: 2, partition: 1)])
        #expect(w.call(0, .doorbells) == .success(1 << 2))
    }

    @Test func partitionInfoDescribesTheCallersChannels() {
        let w = World()
        let info = 0x800
        #expect(w.call(0, .partitionInfo, w.gpa(info), 1000) == .success(UInt64(24 + 48 * 3)))
        func u16(_ o: Int) -> Int { Int(w.rams[0][info + o]) | Int(w.rams[0][info + o + 1]) << 8 }
        func u64(_ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(w.rams[0][info + o + $1]) << (8 * UInt64($1)) } }
        #expect(u16(0) == 1 && u16(2) == 0 && u16(4) == 3 && u16(6) == 48)
        #expect(w.bytes(0, info + 8, 16) == Array("ping".utf8) + [UInt8](repeating: 0, count: 12))
        // Entry 0: "q" — queue, may send and receive, doorbell, endpoint 0, peer 1, 2 x 64.
        #expect(w.bytes(0, info + 24, 2) == Array("q".utf8) + [0])
        #expect(u16(24 + 16) == 0 && w.rams[0][info + 24 + 18] == 1 && w.rams[0][info + 24 + 19] == 0b111)
        #expect(w.rams[0][info + 24 + 20] == 0 && w.rams[0][info + 24 + 21] == 1)
        #expect(w.rams[0][info + 24 + 24] == 2 && w.rams[0][info + 24 + 28] == 64)
        // Entry 1: "fwd" — ping may only send.
        #expect(u16(72 + 16) == 1 && w.rams[0][info + 72 + 19] == 0b001)
        // Entry 2: "shm" — shared, writable by ping, at the window base, 4 KiB.
        #expect(u16(120 + 16) == 2 && w.rams[0][info + 120 + 18] == 2 && w.rams[0][info + 120 + 19] == 0b101)
        #expect(u64(120 + 32) == ChannelLimits.sharedWindowBase.raw && u64(120 + 40) == 0x1000)
        // pong: "shm" read-only, "fwd" receive-only, plus "side"; loner only "side".
        #expect(w.call(1, .partitionInfo, w.gpa(info), 1000) == .success(UInt64(24 + 48 * 4)))
        #expect(w.rams[1][info + 72 + 19] == 0b010 && w.rams[1][info + 120 + 19] == 0b100)
        #expect(w.call(2, .partitionInfo, w.gpa(info), 1000) == .success(UInt64(24 + 48)))
        // Its own errors.
        #expect(w.call(0, .partitionInfo, w.gpa(info), 24 + 48 * 3 - 1) == failure(.bufferTooSmall))
        #expect(w.call(0, .partitionInfo, w.gpa(info + 4), 1000) == failure(.misaligned))
        #expect(w.call(0, .partitionInfo, w.gpa(World.ramSize - 64), 1000) == failure(.badAddress))
    }

    @Test func theExtensionIsDecodedAndProbed() {
        #expect(BulkheadExtension.eid == 0x0A00_4248)
        #expect(SBICall.decode(a0: 3, a1: 0x8000_1000, a2: 64, a3: 0, a6: 1, a7: 0x0A00_4248)
                == .bulkhead(.send(channel: 3, buffer: GuestPhysAddr(0x8000_1000), length: 64)))
        #expect(SBICall.decode(a0: 0, a1: 0, a2: 0, a3: 0, a6: 99, a7: 0x0A00_4248) == .bulkhead(.unknown(fid: 99)))
        #expect(SBICall.isImplemented(extension: 0x0A00_4248))
    }
}
