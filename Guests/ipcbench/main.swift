// ipcbench: IPC costs between two partitions on different harts, as machine-readable lines.
//
// One image, two roles by partition name: "sender" measures, "echo" answers (Tests/qemu/configs/
// ipc-bench.toml: a queue "bench-q" with doorbell and a 64 KiB shared window "bench-shm" with doorbell).
// The sender reads `instret` and `time` around each measure. Under -icount shift=0 both follow
// QEMU's one machine-wide instruction counter (`time`: 100 instructions per 10 MHz tick), so they
// count the instructions of both harts (guests, hypervisor, firmware) during the exchange:
//   message round trip: send 64 B, echo receives it and sends 64 B back, sender receives (both wake
//     on the doorbell the send rings);
//   doorbell round trip: notify, echo takes the interrupt, doorbells(), notify back;
//   shared-memory transfer: the sender writes 64 KiB into the window, rings; echo reads all of it
//     (checksum), writes the sum, rings back.
// Lines: `ipcbench: NAME-instret=N` and `ipcbench: NAME-time-x100=N` (per operation), and
// `ipcbench: shm-bytes=N` for the transfer size.

import GuestRuntime
import GuestArch

let warmup = 10
let messageRounds: UInt64 = 1000
let doorbellRounds: UInt64 = 1000
let transferRounds: UInt64 = 16
let blockOffset: UInt64 = 64
let blockBytes: UInt64 = 65536 - 64
/// Shared window words: command sequence, command (1 = ring back, 2 = checksum the block), answer sequence, answer.
let cmdSeq: UInt64 = 0, cmdKind: UInt64 = 8, ansSeq: UInt64 = 16, ansValue: UInt64 = 24

nonisolated(unsafe) var message = InlineArray<8, UInt64>(repeating: 0)
nonisolated(unsafe) var reply = InlineArray<8, UInt64>(repeating: 0)

@_cdecl("guest_main")
func guestMain(vcpu: UInt, dtb: UInt) {
    let me: PartitionInfo
    do throws(Bulkhead.Failure) { me = try Bulkhead.partitionInfo() } catch { fail("partition_info", error) }
    guard let queue = me.channel(named: "bench-q"), let shm = me.channel(named: "bench-shm"),
          shm.sharedSize >= blockOffset &+ blockBytes else {
        Console.print("ipcbench: channels bench-q and bench-shm (64 KiB) missing")
        Guest.shutdown(reason: .systemFailure)
    }
    if me.isNamed("echo") { echo(queue, shm) } else { sender(queue, shm) }
}

// MARK: Sender

func roundTrip(_ q: UInt16) {
    do throws(Bulkhead.Failure) {
        try withUnsafeBytes(of: &message) { (b) throws(Bulkhead.Failure) in try Bulkhead.send(q, b) }
        while true {
            do throws(Bulkhead.Failure) {
                _ = try withUnsafeMutableBytes(of: &reply) { (b) throws(Bulkhead.Failure) in try Bulkhead.receive(q, into: b) }
                return
            } catch {
                guard error.reason == .empty else { throw error }
            }
            _ = Bulkhead.waitForDoorbell()
        }
    } catch { fail("message round trip", error) }
}

/// Posts command `kind` with sequence `seq` in the window, rings, and waits for the answer.
func command(_ shm: ChannelInfo, _ kind: UInt64, _ seq: UInt64) -> UInt64 {
    let base = shm.sharedAddress
    RawMemory.store64(base &+ cmdKind, kind)
    guest_fence()
    RawMemory.store64(base &+ cmdSeq, seq)
    do throws(Bulkhead.Failure) { try Bulkhead.notify(shm.id) } catch { fail("notify", error) }
    while RawMemory.load64(base &+ ansSeq) != seq { _ = Bulkhead.waitForDoorbell() }
    guest_fence()
    return RawMemory.load64(base &+ ansValue)
}

func report(_ name: StaticString, instret: UInt64, ticks: UInt64, per count: UInt64) {
    Console.line {
        $0.write("ipcbench: "); $0.write(name); $0.write("-instret="); $0.write(decimal: (instret + count / 2) / count)
    }
    Console.line {
        $0.write("ipcbench: "); $0.write(name); $0.write("-time-x100="); $0.write(decimal: (ticks &* 100 + count / 2) / count)
    }
}

func sender(_ queue: ChannelInfo, _ shm: ChannelInfo) {
    for i in 0..<8 { message[i] = UInt64(i) &* 0x0101_0101_0101_0101 }
    for _ in 0..<warmup { roundTrip(queue.id) }
    var i0 = guest_read_instret(), t0 = Timer.now()
    for _ in 0..<messageRounds { roundTrip(queue.id) }
    var i1 = guest_read_instret(), t1 = Timer.now()
    report("message-round-trip", instret: i1 &- i0, ticks: t1 &- t0, per: messageRounds)

    var seq: UInt64 = 1
    for _ in 0..<warmup { _ = command(shm, 1, seq); seq &+= 1 }
    i0 = guest_read_instret(); t0 = Timer.now()
    for _ in 0..<doorbellRounds { _ = command(shm, 1, seq); seq &+= 1 }
    i1 = guest_read_instret(); t1 = Timer.now()
    report("doorbell-round-trip", instret: i1 &- i0, ticks: t1 &- t0, per: doorbellRounds)

    let block = shm.sharedAddress &+ blockOffset
    var wrong: UInt64 = 0
    i0 = guest_read_instret(); t0 = Timer.now()
    for r in 0..<transferRounds {
        var sum: UInt64 = 0
        var o: UInt64 = 0
        while o < blockBytes {
            let v = o ^ r &* 0x9E37_79B9_7F4A_7C15
            RawMemory.store64(block &+ o, v)
            sum &+= v
            o &+= 8
        }
        if command(shm, 2, seq) != sum { wrong &+= 1 }
        seq &+= 1
    }
    i1 = guest_read_instret(); t1 = Timer.now()
    if wrong != 0 { Console.line { $0.write("ipcbench: shm checksum WRONG in "); $0.write(decimal: wrong); $0.write(" rounds") } }
    report("shm-transfer", instret: i1 &- i0, ticks: t1 &- t0, per: transferRounds)
    Console.line { $0.write("ipcbench: shm-bytes="); $0.write(decimal: blockBytes) }
    Console.print("ipcbench: done")
    Guest.shutdown()
}

// MARK: Echo

func echo(_ queue: ChannelInfo, _ shm: ChannelInfo) {
    let base = shm.sharedAddress
    var last: UInt64 = 0
    let queueBit = UInt64(1) << UInt64(queue.id), windowBit = UInt64(1) << UInt64(shm.id)
    var rung = queueBit | windowBit          // look at both before the first wait
    while true {
        // Only the channels whose doorbell rang (a message sent after this call rings again,
        // so the wait below returns at once and the next round sees it).
        rung |= (try? Bulkhead.doorbells()) ?? (queueBit | windowBit)
        // Queue: answer every waiting message.
        while rung & queueBit != 0 {
            var got = false
            do throws(Bulkhead.Failure) {
                _ = try withUnsafeMutableBytes(of: &reply) { (b) throws(Bulkhead.Failure) in try Bulkhead.receive(queue.id, into: b) }
                got = true
            } catch {
                guard error.reason == .empty else { fail("receive", error) }
            }
            if !got { break }
            do throws(Bulkhead.Failure) {
                try withUnsafeBytes(of: &reply) { (b) throws(Bulkhead.Failure) in try Bulkhead.send(queue.id, b) }
            } catch { fail("send", error) }
        }
        // Shared window: a new command.
        let seq = RawMemory.load64(base &+ cmdSeq)
        if rung & windowBit != 0 && seq != last {
            guest_fence()
            var answer: UInt64 = 0
            if RawMemory.load64(base &+ cmdKind) == 2 {
                let block = base &+ blockOffset
                var o: UInt64 = 0
                while o < blockBytes { answer &+= RawMemory.load64(block &+ o); o &+= 8 }
            }
            RawMemory.store64(base &+ ansValue, answer)
            guest_fence()
            RawMemory.store64(base &+ ansSeq, seq)
            last = seq
            do throws(Bulkhead.Failure) { try Bulkhead.notify(shm.id) } catch { fail("notify", error) }
        }
        rung = 0
        _ = Bulkhead.waitForDoorbell()
    }
}

func fail(_ what: StaticString, _ error: Bulkhead.Failure) -> Never {
    Console.line { $0.write("ipcbench: "); $0.write(what); $0.write(" failed: "); error.write(to: &$0) }
    Guest.shutdown(reason: .systemFailure)
}
