// ipccheck: one image, three roles chosen by partition name: the hostile-argument checker (any
// name but these two), "outsider" (a partition with no channel: every channel call is refused) and
// "helper" (sends one message on the forward queue q-help for the checker to receive).
//
// Every check prints `ipccheck: check LABEL: ERR/REASON ok` or `... MISMATCH (expected ...)`, then a
// summary `ipccheck: N checks passed, M failed`; afterwards the partition keeps running
// (`... still running K` every 100 ms). Tests/qemu/configs/ipc-checks.toml lays out the channels:
//   q-both  queue [ipccheck, heartbeat] both, depth 4, 64 B, doorbell   (heartbeat never receives)
//   q-help  queue [helper, ipccheck] forward, depth 2, 64 B             (helper sends one message)
//   shm     shared 4K [ipccheck rw, heartbeat ro], no doorbell
//   q-other queue [heartbeat, helper]                                   (ipccheck is not an endpoint)
// The checker's RAM is 2 MiB at guest-physical 0x80000000; another partition (heartbeat) lives at
// host-physical 0x84200000, which as a guest-physical address is simply outside the checker's RAM.

import GuestRuntime

let hypervisorAddress: UInt64 = 0x8020_0000
let otherPartitionAddress: UInt64 = 0x8420_0000
let send = BulkheadFunction.send.rawValue, receive = BulkheadFunction.receive.rawValue
let notify = BulkheadFunction.notify.rawValue, info = BulkheadFunction.partitionInfo.rawValue
let doorbells = BulkheadFunction.doorbells.rawValue

nonisolated(unsafe) var passed: UInt64 = 0
nonisolated(unsafe) var failed: UInt64 = 0

@_cdecl("guest_main")
func guestMain(vcpu: UInt, dtb: UInt) {
    let boot = BootInfo(dtb: dtb)
    let tick = (boot.timebaseFrequency ?? Timer.defaultFrequency) / 10       // 100 ms
    let me: PartitionInfo
    do throws(Bulkhead.Failure) { me = try Bulkhead.partitionInfo() } catch {
        Console.line { $0.write("ipccheck: partition_info failed: "); error.write(to: &$0) }
        Guest.shutdown(reason: .systemFailure)
    }
    let ram = boot.memory ?? FDTRegion(address: 0x8000_0000, size: 0x20_0000)
    if me.isNamed("outsider") {
        outsider(me)
    } else if me.isNamed("helper") {
        helper(me)
    } else {
        checker(me, ramBase: ram.address, ramEnd: ram.address &+ ram.size, tick: tick)
    }
    var n: UInt64 = 1
    while true {
        Timer.sleep(ticks: tick)
        Console.line { $0.write(text: me.name); $0.write(": still running "); $0.write(decimal: n) }
        n &+= 1
    }
}

/// One call with raw arguments and its expected outcome (error 0 = success, any value).
@discardableResult
func check(_ label: StaticString, _ fid: UInt64, _ a0: UInt64 = 0, _ a1: UInt64 = 0, _ a2: UInt64 = 0,
           expect error: SBIError?, _ reason: BulkheadReason?) -> SBIResult {
    let r = Bulkhead.call(fid, a0, a1, a2)
    let wantError = error?.rawValue ?? 0
    let ok = r.error == wantError && (reason == nil || r.value == reason!.rawValue)
    if ok { passed &+= 1 } else { failed &+= 1 }
    Console.line {
        $0.write("ipccheck: check "); $0.write(label); $0.write(": ")
        if r.error == 0 { $0.write("0/ok") } else { Bulkhead.Failure(error: r.error, rawReason: r.value).write(to: &$0) }
        if ok { $0.write(" ok") } else {
            $0.write(" MISMATCH (expected ")
            if let reason { Bulkhead.Failure(error: wantError, rawReason: reason.rawValue).write(to: &$0) } else { $0.write("0/ok") }
            $0.write(")")
        }
    }
    return r
}

func checker(_ me: PartitionInfo, ramBase: UInt64, ramEnd: UInt64, tick: UInt64) {
    guard let both = me.channel(named: "q-both"), let help = me.channel(named: "q-help"),
          let shm = me.channel(named: "shm") else {
        Console.print("ipccheck: channels q-both, q-help and shm missing")
        Guest.shutdown(reason: .systemFailure)
    }
    let q = UInt64(both.id), h = UInt64(help.id), s = UInt64(shm.id)
    // The first channel id that is not ours (q-other).
    var foreign: UInt64 = 0
    while foreign == q || foreign == h || foreign == s { foreign += 1 }
    // A scratch buffer in the middle of our RAM, well away from the image, stacks and device tree.
    let buf = ramBase &+ (ramEnd &- ramBase) / 2
    Console.line {
        $0.write("ipccheck: partition "); $0.write(decimal: UInt64(me.partitionID)); $0.write(", channels q-both=")
        $0.write(decimal: q); $0.write(" q-help="); $0.write(decimal: h); $0.write(" shm="); $0.write(decimal: s)
        $0.write(" foreign="); $0.write(decimal: foreign)
    }

    check("unknown channel 16", send, 16, buf, 8, expect: .invalidParam, .unknownChannel)
    check("unknown channel 2^32 + q-both", send, 1 << 32 | q, buf, 8, expect: .invalidParam, .unknownChannel)
    check("unknown channel max", receive, UInt64.max, buf, 64, expect: .invalidParam, .unknownChannel)
    check("unknown channel notify", notify, 0xFFFF, expect: .invalidParam, .unknownChannel)
    check("not an endpoint send", send, foreign, buf, 8, expect: .denied, .notEndpoint)
    check("not an endpoint receive", receive, foreign, buf, 64, expect: .denied, .notEndpoint)
    check("not an endpoint notify", notify, foreign, expect: .denied, .notEndpoint)
    check("wrong kind send on shared memory", send, s, buf, 8, expect: .invalidParam, .wrongKind)
    check("wrong kind receive on shared memory", receive, s, buf, 64, expect: .invalidParam, .wrongKind)
    check("wrong direction send on forward channel", send, h, buf, 8, expect: .denied, .wrongDirection)
    check("misaligned send", send, q, buf &+ 4, 8, expect: .invalidParam, .misaligned)
    check("misaligned receive", receive, q, buf &+ 1, 64, expect: .invalidParam, .misaligned)
    check("too long", send, q, buf, 65, expect: .invalidParam, .tooLong)
    check("too long 2^32", send, q, buf, 1 << 32, expect: .invalidParam, .tooLong)
    check("buffer outside RAM at 0x0", send, q, 0, 8, expect: .invalidAddress, .badAddress)
    check("buffer just below RAM", send, q, ramBase &- 8, 8, expect: .invalidAddress, .badAddress)
    check("buffer across the end of RAM", send, q, ramEnd &- 8, 16, expect: .invalidAddress, .badAddress)
    check("buffer in hypervisor memory 0x80200000", send, q, hypervisorAddress, 64, expect: .invalidAddress, .badAddress)
    check("buffer in another partition 0x84200000", send, q, otherPartitionAddress, 64, expect: .invalidAddress, .badAddress)
    check("buffer wrapping past 2^64", send, q, 0xFFFF_FFFF_FFFF_FFF8, 16, expect: .invalidAddress, .badAddress)
    check("receive into hypervisor memory", receive, h, hypervisorAddress, 64, expect: .invalidAddress, .badAddress)
    check("receive into another partition", receive, h, otherPartitionAddress, 64, expect: .invalidAddress, .badAddress)
    check("partition_info misaligned", info, buf &+ 4, 792, expect: .invalidParam, .misaligned)
    check("partition_info buffer too small", info, buf, 16, expect: .invalidParam, .bufferTooSmall)
    check("partition_info outside RAM", info, 0x1000, 792, expect: .invalidAddress, .badAddress)
    check("partition_info across the end of RAM", info, ramEnd &- 16, 792, expect: .invalidAddress, .badAddress)
    check("no doorbell on shm", notify, s, expect: .invalidParam, .noDoorbell)
    check("no doorbell on q-help", notify, h, expect: .invalidParam, .noDoorbell)
    check("unknown function 24", 24, q, buf, 8, expect: .notSupported, .unknownFunction)
    check("unknown function 31", 31, expect: .notSupported, .unknownFunction)
    check("unknown function 2^63", 1 << 63, expect: .notSupported, .unknownFunction)
    check("empty queue", receive, q, buf, 64, expect: .failed, .empty)
    check("partition_info", info, buf, 792, expect: nil, nil)
    check("doorbells", doorbells, expect: nil, nil)
    check("notify with doorbell", notify, q, expect: nil, nil)

    // The helper's message on q-help: too small a buffer leaves it queued, then it is received.
    let deadline = Timer.now() &+ tick &* 20
    while Bulkhead.call(receive, h, buf, 0).value == BulkheadReason.empty.rawValue && Timer.now() < deadline {
        Timer.sleep(ticks: tick / 100)
    }
    check("receive buffer too small", receive, h, buf, 16, expect: .invalidParam, .bufferTooSmall)
    let got = check("receive the helper's message", receive, h, buf, 64, expect: nil, nil)
    if got.error == 0 {
        let length = ReceivedMessage.length(got.value), sender = ReceivedMessage.sender(got.value)
        let word = RawMemory.load64(buf)
        let ok = length == 64 && sender == help.peer && word == 0x504C_4548     // "HELP"
        if ok { passed &+= 1 } else { failed &+= 1 }
        Console.line {
            $0.write("ipccheck: check helper's message: length "); $0.write(decimal: UInt64(length))
            $0.write(", sender "); $0.write(decimal: UInt64(sender)); $0.write(", word 0 "); $0.write(hex: word)
            $0.write(ok ? " ok" : " MISMATCH")
        }
    }
    check("receive after the message", receive, h, buf, 64, expect: .failed, .empty)

    // Shared memory: mapped read-write at the address partition_info gives.
    RawMemory.store64(shm.sharedAddress, 0x5348_4D5F_4F4B_2121)
    let back = RawMemory.load64(shm.sharedAddress)
    let shmOK = back == 0x5348_4D5F_4F4B_2121 && shm.sharedSize == 4096 && shm.maySend
    if shmOK { passed &+= 1 } else { failed &+= 1 }
    Console.line {
        $0.write("ipccheck: check shared memory at "); $0.write(hex: shm.sharedAddress); $0.write(" size ")
        $0.write(decimal: shm.sharedSize); $0.write(shmOK ? ": write/read ok" : ": MISMATCH")
    }

    // Fill q-both (the heartbeat never receives): depth sends succeed, then `full`.
    var sent: UInt64 = 0
    while sent < UInt64(both.depth) {
        let r = check("send while room", send, q, buf, 64, expect: nil, nil)
        if r.error != 0 { break }
        sent += 1
    }
    check("send to a full queue", send, q, buf, 64, expect: .failed, .full)
    check("send to a full queue again", send, q, buf, 8, expect: .failed, .full)
    Console.line { $0.write("ipccheck: queue q-both full after "); $0.write(decimal: sent); $0.write(" messages (depth ")
        $0.write(decimal: UInt64(both.depth)); $0.write(")") }

    Console.line {
        $0.write("ipccheck: "); $0.write(decimal: passed); $0.write(" checks passed, "); $0.write(decimal: failed); $0.write(" failed")
    }
}

/// A partition with no channel: every channel id is either not ours or unknown; doorbells is 0.
func outsider(_ me: PartitionInfo) {
    Console.line {
        $0.write("outsider: partition "); $0.write(decimal: UInt64(me.partitionID)); $0.write(", ")
        $0.write(decimal: UInt64(me.channelCount)); $0.write(" channels")
    }
    var buffer = InlineArray<8, UInt64>(repeating: 0)
    let buf = withUnsafeMutableBytes(of: &buffer) { UInt64(UInt(bitPattern: $0.baseAddress)) }
    var existing: UInt64 = 0, wrong: UInt64 = 0
    var id: UInt64 = 0
    while id < 20 {
        let s = Bulkhead.call(send, id, buf, 8)
        let r = Bulkhead.call(receive, id, buf, 64)
        let n = Bulkhead.call(notify, id)
        let denied = SBIError.denied.rawValue, invalid = SBIError.invalidParam.rawValue
        let deniedAll = all3(s, r, n, denied, .notEndpoint)
        let unknownAll = all3(s, r, n, invalid, .unknownChannel)
        if deniedAll && id == existing {
            existing += 1
            Console.line { $0.write("outsider: channel "); $0.write(decimal: id); $0.write(": send, receive, notify refused -4/not_endpoint") }
        } else if !unknownAll || id < existing {
            wrong += 1
            Console.line {
                $0.write("outsider: channel "); $0.write(decimal: id); $0.write(": UNEXPECTED send ")
                $0.write(signed: s.error); $0.write("/"); $0.write(decimal: s.value); $0.write(" receive ")
                $0.write(signed: r.error); $0.write("/"); $0.write(decimal: r.value); $0.write(" notify ")
                $0.write(signed: n.error); $0.write("/"); $0.write(decimal: n.value)
            }
        }
        id += 1
    }
    Console.line { $0.write("outsider: channels "); $0.write(decimal: existing); $0.write(" to 19 refused -3/unknown_channel") }
    let d = Bulkhead.call(doorbells)
    let f = Bulkhead.call(24, 0, buf, 8)
    if d.error != 0 || d.value != 0 { wrong += 1 }
    if f.error != SBIError.notSupported.rawValue || f.value != BulkheadReason.unknownFunction.rawValue { wrong += 1 }
    if me.channelCount != 0 { wrong += 1 }
    Console.line {
        $0.write("outsider: doorbells "); $0.write(signed: d.error); $0.write("/"); $0.write(hex: d.value)
        $0.write(", function 24 "); $0.write(signed: f.error); $0.write("/"); $0.write(decimal: f.value)
    }
    if wrong == 0 { Console.print("outsider: every call refused as expected") }
    else { Console.line { $0.write("outsider: "); $0.write(decimal: wrong); $0.write(" UNEXPECTED results") } }
}

func all3(_ a: SBIResult, _ b: SBIResult, _ c: SBIResult, _ error: Int64, _ reason: BulkheadReason) -> Bool {
    a.error == error && a.value == reason.rawValue && b.error == error && b.value == reason.rawValue
        && c.error == error && c.value == reason.rawValue
}

/// Sends one 64-byte message ("HELP") on q-help; receiving on it is refused (forward channel, endpoint 0).
func helper(_ me: PartitionInfo) {
    guard let help = me.channel(named: "q-help") else {
        Console.print("helper: no channel q-help")
        return
    }
    var message = InlineArray<8, UInt64>(repeating: 0x0707_0707_0707_0707)
    message[0] = 0x504C_4548
    let buf = withUnsafeMutableBytes(of: &message) { UInt64(UInt(bitPattern: $0.baseAddress)) }
    let s = Bulkhead.call(send, UInt64(help.id), buf, 64)
    let r = Bulkhead.call(receive, UInt64(help.id), buf, 64)
    Console.line {
        $0.write("helper: send on q-help: "); $0.write(signed: s.error)
        $0.write("; receive on q-help: "); Bulkhead.Failure(error: r.error, rawReason: r.value).write(to: &$0)
        let ok = s.error == 0 && r.error == SBIError.denied.rawValue && r.value == BulkheadReason.wrongDirection.rawValue
        $0.write(ok ? " ok" : " MISMATCH")
    }
}
