// stress: one role per partition (bootargs) for the stress test: a message storm, its echo, and HSM/RFENCE/reboot churn.
//
// "sender": for 60 s of guest time, sends numbered 64-byte messages over the queue "storm" as fast
//   as the echo answers, waiting on the doorbell; each reply must carry the next number (a lost,
//   duplicated or reordered message is reported), then prints the round trips and its guest time.
// "echo": answers every message on "storm" with the same bytes, forever.
// "churn" (two vCPUs): vCPU 0 starts vCPU 1 (SBI HSM), which sends remote fences (SBI RFENCE) to
//   both vCPUs and stops; vCPU 0 waits for it to stop, prints a flood of console lines, and does it
//   again; it reboots its partition (SBI SRST) every 8 s of guest time, 6 times, then churns until
//   62 s of guest time have passed since the machine started and prints its count.
// Any broken expectation prints a line with "BAD" (Tests/qemu/test_stress.py fails on it).

import GuestRuntime
import Synchronization

let stormSeconds: UInt64 = 60
nonisolated(unsafe) var message = InlineArray<8, UInt64>(repeating: 0)
nonisolated(unsafe) var reply = InlineArray<8, UInt64>(repeating: 0)
let secondaryRounds = Atomic<UInt64>(0)

@_cdecl("guest_main")
func guestMain(vcpu: UInt, dtb: UInt) {
    let boot = BootInfo(dtb: dtb)
    let second = boot.timebaseFrequency ?? Timer.defaultFrequency
    if boot.bootargsContain("churn") { churn(boot: boot, second: second) }
    let info: PartitionInfo
    do throws(Bulkhead.Failure) { info = try Bulkhead.partitionInfo() } catch { fail("partition_info", error) }
    guard let storm = info.channel(named: "storm") else {
        Console.print("stress: BAD: no channel named storm")
        Guest.shutdown(reason: .systemFailure)
    }
    if boot.bootargsContain("sender") { send(storm, second: second) }
    echo(storm)
}

func send(_ storm: ChannelInfo, second: UInt64) -> Never {
    let start = Timer.now()
    let end = start &+ stormSeconds &* second
    var n: UInt64 = 0
    var bad: UInt64 = 0
    Console.line { $0.write("stress: sender: storming for "); $0.write(decimal: stormSeconds); $0.write(" s of guest time") }
    while Timer.now() < end {
        n &+= 1
        for i in 0..<8 { message[i] = n &* 8 &+ UInt64(i) }
        do throws(Bulkhead.Failure) {
            try withUnsafeBytes(of: &message) { (b) throws(Bulkhead.Failure) in try Bulkhead.send(storm.id, b) }
        } catch { fail("send", error) }
        while true {
            if receiveReply(storm) != nil { break }
            // 30 s: this finds a lost message, not a slow one (seven vCPUs may share two loaded host
            // cores, and guest time is host time).
            if !Bulkhead.waitForDoorbell(until: Timer.now() &+ 30 &* second) {
                Console.line { $0.write("stress: sender: BAD: no reply to message "); $0.write(decimal: n); $0.write(" within 30 s") }
                Guest.shutdown(reason: .systemFailure)
            }
        }
        _ = try? Bulkhead.doorbells()
        if reply[0] != n &* 8 {
            bad &+= 1
            Console.line {
                $0.write("stress: sender: BAD: reply "); $0.write(decimal: reply[0] / 8); $0.write(" to message "); $0.write(decimal: n)
            }
        }
        if n % 2000 == 0 { Console.line { $0.write("stress: sender: "); $0.write(decimal: n); $0.write(" round trips") } }
    }
    Console.line {
        $0.write("stress: sender: done, "); $0.write(decimal: n); $0.write(" round trips in ")
        $0.write(decimal: (Timer.now() &- start) / second); $0.write(" s of guest time, ")
        $0.write(decimal: bad); $0.write(" lost, duplicated or reordered")
    }
    Guest.park()
}

func echo(_ storm: ChannelInfo) -> Never {
    Console.print("stress: echo: answering")
    while true {
        if let got = receiveReply(storm) {
            do throws(Bulkhead.Failure) {
                try withUnsafeBytes(of: &reply) { (b) throws(Bulkhead.Failure) in
                    try Bulkhead.send(storm.id, UnsafeRawBufferPointer(rebasing: b[0..<got.length]))
                }
            } catch { fail("send", error) }
        } else {
            _ = try? Bulkhead.doorbells()
            _ = Bulkhead.waitForDoorbell()
        }
    }
}

func churn(boot: BootInfo, second: UInt64) -> Never {
    let start = Timer.now()
    Console.line { $0.write("stress: churn: boot "); $0.write(decimal: UInt64(boot.bootCount)) }
    var round: UInt64 = 0
    let finalBoot = boot.bootCount >= 6
    while finalBoot ? Timer.now() < 62 &* second : Timer.now() &- start < 8 &* second {
        round &+= 1
        let started = SBI.hartStart(1, startAddress: Guest.secondaryEntry, opaque: round)
        guard started.succeeded else {
            Console.line { $0.write("stress: churn: BAD: hart_start failed "); $0.write(signed: started.error) }
            Guest.shutdown(reason: .systemFailure)
        }
        let deadline = Timer.now() &+ 30 &* second      // a lost start or stop, not a slow one
        while secondaryRounds.load(ordering: .acquiring) < round || SBI.hartStatus(1).value != UInt64(HSMState.stopped.rawValue) {
            if Timer.now() > deadline {
                Console.line { $0.write("stress: churn: BAD: vCPU 1 did not stop within 30 s in round "); $0.write(decimal: round) }
                Guest.shutdown(reason: .systemFailure)
            }
        }
        for i in 0..<4 {
            Console.line {
                $0.write("stress: churn: flood "); $0.write(decimal: round); $0.write("."); $0.write(decimal: UInt64(i))
                $0.write(" the quick brown fox jumps over the lazy dog 0123456789")
            }
        }
    }
    Console.line {
        $0.write("stress: churn: "); $0.write(decimal: round); $0.write(" HSM rounds in boot "); $0.write(decimal: UInt64(boot.bootCount))
    }
    if !finalBoot { Guest.reboot() }
    Guest.park()
}

@_cdecl("guest_secondary")
func guestSecondary(vcpu: UInt, opaque: UInt) {
    // Remote fences to both vCPUs (SBI spec v2.0, RFENCE extension).
    let fence = SBI.remoteSfenceVMA(hartMask: 1, hartMaskBase: 0, start: 0, size: UInt64.max)
    let fenceI = SBI.remoteFenceI(hartMask: 3, hartMaskBase: 0)
    if !fence.succeeded || !fenceI.succeeded {
        Console.line { $0.write("stress: churn: BAD: remote fence failed "); $0.write(signed: fence.error); $0.write(" "); $0.write(signed: fenceI.error) }
    }
    secondaryRounds.store(UInt64(opaque), ordering: .releasing)
    let stopped = SBI.hartStop()
    Console.line { $0.write("stress: churn: BAD: hart_stop failed "); $0.write(signed: stopped.error) }
}

/// The next message on `storm` into `reply`, or nil when none is waiting.
func receiveReply(_ storm: ChannelInfo) -> Bulkhead.Received? {
    do throws(Bulkhead.Failure) {
        return try withUnsafeMutableBytes(of: &reply) { (b) throws(Bulkhead.Failure) in try Bulkhead.receive(storm.id, into: b) }
    } catch {
        guard error.reason == .empty else { fail("receive", error) }
        return nil
    }
}

func fail(_ what: StaticString, _ error: Bulkhead.Failure) -> Never {
    Console.line { $0.write("stress: BAD: "); $0.write(what); $0.write(" failed: "); error.write(to: &$0) }
    Guest.shutdown(reason: .systemFailure)
}
