// ping: exchanges messages with pong over a queue channel and over shared memory, each with a doorbell.
//
// Queue ("ping-queue"): ping sends a 64-byte message (word 0 = "PING", word 1 = round, then a
// pattern), waits for the doorbell, and checks pong's reply (word 0 = "PONG", every other word + 1).
// Shared memory ("ping-shm"): ping writes a value and a sequence number, rings pong's doorbell and
// waits for pong's answer (value XOR answerMask, written with the same sequence number).

import GuestRuntime
import GuestArch

let rounds: UInt64 = 5
let pingMagic: UInt64 = 0x474E_4950          // "PING"
let pongMagic: UInt64 = 0x474E_4F50          // "PONG"
let answerMask: UInt64 = 0x5A5A_5A5A_5A5A_5A5A
/// Shared-memory words: request sequence, request value, answer sequence, answer value.
let requestSeq: UInt64 = 0, requestValue: UInt64 = 8, answerSeq: UInt64 = 16, answerValue: UInt64 = 24

nonisolated(unsafe) var message = InlineArray<8, UInt64>(repeating: 0)
nonisolated(unsafe) var reply = InlineArray<8, UInt64>(repeating: 0)

@_cdecl("guest_main")
func guestMain(vcpu: UInt, dtb: UInt) {
    let second = BootInfo(dtb: dtb).timebaseFrequency ?? Timer.defaultFrequency
    let info: PartitionInfo
    do throws(Bulkhead.Failure) { info = try Bulkhead.partitionInfo() } catch {
        fail("partition_info", error)
    }
    Console.line {
        $0.write("ping: partition "); $0.write(decimal: UInt64(info.partitionID)); $0.write(" ("); $0.write(text: info.name)
        $0.write("), "); $0.write(decimal: UInt64(info.channelCount)); $0.write(" channels")
    }
    guard let queue = info.channel(named: "ping-queue"), queue.kind == .queue else {
        Console.print("ping: no queue channel ping-queue")
        Guest.shutdown(reason: .systemFailure)
    }
    guard let shared = info.channel(named: "ping-shm"), shared.kind == .sharedMemory, shared.sharedSize >= 32 else {
        Console.print("ping: no shared-memory channel ping-shm")
        Guest.shutdown(reason: .systemFailure)
    }

    for round in 1...rounds {
        exchangeOverQueue(queue, round: round, timeout: second)
        Console.line {
            $0.write("ping: round "); $0.write(decimal: round); $0.write(" ok via queue (64 bytes from partition ")
            $0.write(decimal: UInt64(queue.peer)); $0.write(")")
        }
    }
    for round in 1...rounds {
        let value = exchangeOverSharedMemory(shared, round: round, timeout: second)
        Console.line {
            $0.write("ping: round "); $0.write(decimal: round); $0.write(" ok via shared memory (value ")
            $0.write(hex: value); $0.write(" at "); $0.write(hex: shared.sharedAddress); $0.write(")")
        }
    }
    Console.line { $0.write("ping: done, "); $0.write(decimal: rounds); $0.write(" rounds via queue and via shared memory") }
    Guest.shutdown()
}

func exchangeOverQueue(_ queue: ChannelInfo, round: UInt64, timeout: UInt64) {
    for i in 0..<8 { message[i] = round &* 0x0101_0101 &+ UInt64(i) }
    message[0] = pingMagic
    message[1] = round
    do throws(Bulkhead.Failure) {
        try withUnsafeBytes(of: &message) { (bytes) throws(Bulkhead.Failure) in try Bulkhead.send(queue.id, bytes) }
    } catch { fail("send", error) }

    let deadline = Timer.now() &+ timeout
    while true {
        var got: Bulkhead.Received? = nil
        do throws(Bulkhead.Failure) {
            got = try withUnsafeMutableBytes(of: &reply) { (bytes) throws(Bulkhead.Failure) in try Bulkhead.receive(queue.id, into: bytes) }
        } catch {
            guard error.reason == .empty else { fail("receive", error) }
        }
        if let got {
            var ok = got.length == 64 && got.sender == queue.peer && reply[0] == pongMagic
            for i in 1..<8 where reply[i] != message[i] &+ 1 { ok = false }
            if !ok {
                Console.line {
                    $0.write("ping: round "); $0.write(decimal: round); $0.write(" BAD reply via queue: length ")
                    $0.write(decimal: got.length); $0.write(", sender "); $0.write(decimal: UInt64(got.sender))
                    $0.write(", word 0 "); $0.write(hex: reply[0])
                }
                Guest.shutdown(reason: .systemFailure)
            }
            return
        }
        if !Bulkhead.waitForDoorbell(until: deadline) { timedOut(round, "queue") }
    }
}

func exchangeOverSharedMemory(_ shared: ChannelInfo, round: UInt64, timeout: UInt64) -> UInt64 {
    let base = shared.sharedAddress
    let value = round &* 0x1111_1111 ^ 0xC0FF_EE00_0000_0000
    RawMemory.store64(base &+ requestValue, value)
    guest_fence()
    RawMemory.store64(base &+ requestSeq, round)
    do throws(Bulkhead.Failure) { try Bulkhead.notify(shared.id) } catch { fail("notify", error) }

    let deadline = Timer.now() &+ timeout
    while RawMemory.load64(base &+ answerSeq) != round {
        if !Bulkhead.waitForDoorbell(until: deadline) { timedOut(round, "shared memory") }
    }
    _ = try? Bulkhead.doorbells()
    guest_fence()
    let answer = RawMemory.load64(base &+ answerValue)
    if answer != value ^ answerMask {
        Console.line {
            $0.write("ping: round "); $0.write(decimal: round); $0.write(" BAD answer via shared memory: ")
            $0.write(hex: answer); $0.write(", expected "); $0.write(hex: value ^ answerMask)
        }
        Guest.shutdown(reason: .systemFailure)
    }
    return value
}

func timedOut(_ round: UInt64, _ how: StaticString) -> Never {
    Console.line { $0.write("ping: round "); $0.write(decimal: round); $0.write(" TIMEOUT waiting for pong via "); $0.write(how) }
    Guest.shutdown(reason: .systemFailure)
}

func fail(_ what: StaticString, _ error: Bulkhead.Failure) -> Never {
    Console.line { $0.write("ping: "); $0.write(what); $0.write(" failed: "); error.write(to: &$0) }
    Guest.shutdown(reason: .systemFailure)
}
