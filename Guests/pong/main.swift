// pong: answers ping over the queue channel and over shared memory, sleeping in wfi between doorbells.
//
// Each wake-up: `doorbells()` says which channels rang; every waiting queue message is answered
// (word 0 = "PONG", every other word + 1) and a new shared-memory request (sequence number changed)
// is answered in place (value XOR answerMask) with a doorbell back. See Guests/ping.
// `send` queues the message and then rings the doorbell, so a message can be received before its
// ring: pong then waits (one second at most) until `doorbells()` reports the queue's bit, and says
// "doorbell rang" for every message whose ring it read, "doorbell TIMEOUT" otherwise.

import GuestRuntime
import GuestArch

let pingMagic: UInt64 = 0x474E_4950          // "PING"
let pongMagic: UInt64 = 0x474E_4F50          // "PONG"
let answerMask: UInt64 = 0x5A5A_5A5A_5A5A_5A5A
let requestSeq: UInt64 = 0, requestValue: UInt64 = 8, answerSeq: UInt64 = 16, answerValue: UInt64 = 24

nonisolated(unsafe) var request = InlineArray<8, UInt64>(repeating: 0)
nonisolated(unsafe) var answer = InlineArray<8, UInt64>(repeating: 0)

@_cdecl("guest_main")
func guestMain(vcpu: UInt, dtb: UInt) {
    let second = BootInfo(dtb: dtb).timebaseFrequency ?? Timer.defaultFrequency
    let info: PartitionInfo
    do throws(Bulkhead.Failure) { info = try Bulkhead.partitionInfo() } catch { fail("partition_info", error) }
    guard let queue = info.channel(named: "ping-queue"), let shared = info.channel(named: "ping-shm"),
          shared.sharedSize >= 32 else {
        Console.print("pong: channels ping-queue and ping-shm missing")
        Guest.shutdown(reason: .systemFailure)
    }
    Console.line {
        $0.write("pong: partition "); $0.write(decimal: UInt64(info.partitionID)); $0.write(", queue channel ")
        $0.write(decimal: UInt64(queue.id)); $0.write(", shared memory channel "); $0.write(decimal: UInt64(shared.id))
        $0.write(" at "); $0.write(hex: shared.sharedAddress); $0.write(", waiting for doorbells")
    }
    var lastSeq: UInt64 = 0
    while true {
        var rang: UInt64 = 0
        do throws(Bulkhead.Failure) { rang = try Bulkhead.doorbells() } catch { fail("doorbells", error) }
        answerQueue(queue, rang: &rang, timeout: second)
        let seq = RawMemory.load64(shared.sharedAddress &+ requestSeq)
        if seq != lastSeq {
            guest_fence()
            let value = RawMemory.load64(shared.sharedAddress &+ requestValue)
            RawMemory.store64(shared.sharedAddress &+ answerValue, value ^ answerMask)
            guest_fence()
            RawMemory.store64(shared.sharedAddress &+ answerSeq, seq)
            do throws(Bulkhead.Failure) { try Bulkhead.notify(shared.id) } catch { fail("notify", error) }
            Console.line {
                $0.write("pong: round "); $0.write(decimal: seq); $0.write(" answered via shared memory (doorbell ")
                $0.write(rang & shared.doorbellBit != 0 ? "rang" : "not yet read"); $0.write(")")
            }
            lastSeq = seq
        }
        _ = Bulkhead.waitForDoorbell()
    }
}

/// Answers every message waiting on `queue`; `rang` holds the doorbell bits read and not yet
/// accounted for (each message takes the queue's bit, waiting for it when its ring is still to come).
func answerQueue(_ queue: ChannelInfo, rang: inout UInt64, timeout: UInt64) {
    while true {
        var got: Bulkhead.Received
        do throws(Bulkhead.Failure) {
            got = try withUnsafeMutableBytes(of: &request) { (b) throws(Bulkhead.Failure) in try Bulkhead.receive(queue.id, into: b) }
        } catch {
            if error.reason == .empty { return }
            fail("receive", error)
        }
        let heard = awaitRing(queue.doorbellBit, rang: &rang, deadline: Timer.now() &+ timeout)
        guard got.length == 64, request[0] == pingMagic else {
            Console.line {
                $0.write("pong: BAD message via queue: length "); $0.write(decimal: got.length)
                $0.write(", word 0 "); $0.write(hex: request[0])
            }
            continue
        }
        answer[0] = pongMagic
        for i in 1..<8 { answer[i] = request[i] &+ 1 }
        do throws(Bulkhead.Failure) {
            try withUnsafeBytes(of: &answer) { (b) throws(Bulkhead.Failure) in try Bulkhead.send(queue.id, b) }
        } catch { fail("send", error) }
        Console.line {
            $0.write("pong: round "); $0.write(decimal: request[1]); $0.write(" echoed via queue (from partition ")
            $0.write(decimal: UInt64(got.sender)); $0.write(", doorbell "); $0.write(heard ? "rang" : "TIMEOUT"); $0.write(")")
        }
    }
}

/// Takes `bit` out of `rang`, first reading doorbells (and waiting for them until `deadline`) while
/// it is not there. False when the deadline passed without the ring.
func awaitRing(_ bit: UInt64, rang: inout UInt64, deadline: UInt64) -> Bool {
    while rang & bit == 0 {
        do throws(Bulkhead.Failure) { rang |= try Bulkhead.doorbells() } catch { fail("doorbells", error) }
        if rang & bit == 0 && !Bulkhead.waitForDoorbell(until: deadline) { return false }
    }
    rang &= ~bit
    return true
}

func fail(_ what: StaticString, _ error: Bulkhead.Failure) -> Never {
    Console.line { $0.write("pong: "); $0.write(what); $0.write(" failed: "); error.write(to: &$0) }
    Guest.shutdown(reason: .systemFailure)
}
