// ipcfuzz: 100,000 random Bulkhead hypercalls (random FIDs 0..19 and now and then any value, channel ids, near-valid and hostile
// addresses and lengths from an xorshift PRNG), each result checked against docs/hypercalls.md.
//
// Addresses the hypervisor may legitimately write to (receive, partition_info) are kept to a
// scratch buffer and the device-tree reserve at the top of RAM, so the fuzzer never scribbles on
// its own code or stack; everything else (other partitions, the hypervisor, shared windows, wrapping
// addresses) must be refused. Every result must be consistent: a0 one of the SBI codes, a reason in
// a1 whose standard error is a0, success only for a buffer wholly inside the caller's RAM.
// Prints progress, a summary (`ipcfuzz: done, ...`) and one line per inconsistency (`ipcfuzz: BAD ...`).
// With bootargs "stress" it calls for 60 s of guest time instead of 100,000 times (test_stress.py).

import GuestRuntime

let totalCalls: UInt64 = 100_000
let scratchSize = 65536
nonisolated(unsafe) var scratch = InlineArray<8192, UInt64>(repeating: 0)     // 64 KiB in .bss
nonisolated(unsafe) var state: UInt64 = 0x9E37_79B9_7F4A_7C15

/// xorshift64.
@inline(__always)
func random() -> UInt64 {
    state ^= state << 13
    state ^= state >> 7
    state ^= state << 17
    return state
}

@inline(__always)
func below(_ n: UInt64) -> UInt64 { random() % n }

nonisolated(unsafe) var ramBase: UInt64 = 0x8000_0000
nonisolated(unsafe) var ramEnd: UInt64 = 0x8020_0000
nonisolated(unsafe) var scratchBase: UInt64 = 0

func address() -> UInt64 {
    switch below(12) {
    case 0, 1: return scratchBase &+ below(UInt64(scratchSize - 4096))                       // maybe misaligned
    case 2, 3: return (scratchBase &+ below(UInt64(scratchSize - 4096))) & ~7                // aligned, valid
    case 4: return ramEnd &- 8 &- (below(4096) & ~7)                                         // top of RAM (tree reserve)
    case 5: return ramBase &- below(4096)                                                    // just below RAM
    case 6: return ramEnd &+ below(64) &* 8                                                  // 0x80200000: the hypervisor's address
    case 7: return 0x8420_0000 &+ below(0x20_0000)                                           // the victim's host-physical RAM
    case 8: return 0x4000_0000 &+ below(8192)                                                // shared windows
    case 9: return UInt64.max &- below(64)                                                   // wraps
    case 10: return below(0x1_0000)                                                          // low memory
    default: return random()
    }
}

func length() -> UInt64 {
    switch below(11) {
    case 0: return 0
    case 1: return 8
    case 2: return 64
    case 3: return 256
    case 4: return 257
    case 5: return 792
    case 6: return below(4096)
    case 7: return 1 << 32 | below(64)
    case 8: return UInt64.max &- below(8)
    case 9: return below(64)
    default: return random()
    }
}

func channel() -> UInt64 {
    switch below(8) {
    case 0: return random()
    case 1: return 1 << 32 | below(4)
    case 2: return below(20)
    default: return below(5)
    }
}

/// Counts per a0 (0, -1 ... -5, other) and per reason (0 ... 13, other).
nonisolated(unsafe) var errorCounts = InlineArray<7, UInt64>(repeating: 0)
nonisolated(unsafe) var reasonCounts = InlineArray<27, UInt64>(repeating: 0)
nonisolated(unsafe) var bad: UInt64 = 0
nonisolated(unsafe) var received: UInt64 = 0

func reportBad(_ what: StaticString, _ fid: UInt64, _ a0: UInt64, _ a1: UInt64, _ a2: UInt64, _ r: SBIResult) {
    bad &+= 1
    guard bad <= 20 else { return }
    Console.line {
        $0.write("ipcfuzz: BAD "); $0.write(what); $0.write(": fid "); $0.write(decimal: fid)
        $0.write(" a0 "); $0.write(hex: a0); $0.write(" a1 "); $0.write(hex: a1); $0.write(" a2 "); $0.write(hex: a2)
        $0.write(" -> "); $0.write(signed: r.error); $0.write("/"); $0.write(hex: r.value)
    }
}

/// Whether [address, address + length) lies wholly in our RAM (length 0: the address itself is in RAM).
/// Whether the buffer lies wholly in the caller's RAM (docs/hypercalls.md): an empty one may also
/// start at RAM's end, the empty range [end, end) (found by the 60 s stress run).
func inRAM(_ address: UInt64, _ length: UInt64) -> Bool {
    guard address >= ramBase, address <= ramEnd, address < ramEnd || length == 0 else { return false }
    return length <= ramEnd &- address
}

@_cdecl("guest_main")
func guestMain(vcpu: UInt, dtb: UInt) {
    let boot = BootInfo(dtb: dtb)
    if let ram = boot.memory { ramBase = ram.address; ramEnd = ram.address &+ ram.size }
    scratchBase = withUnsafeMutableBytes(of: &scratch) { UInt64(UInt(bitPattern: $0.baseAddress)) }
    let channels: UInt64
    do throws(Bulkhead.Failure) { channels = UInt64(try Bulkhead.partitionInfo().channelCount) } catch {
        Console.line { $0.write("ipcfuzz: partition_info failed: "); error.write(to: &$0) }
        Guest.shutdown(reason: .systemFailure)
    }
    let stress = boot.bootargsContain("stress")
    let end = Timer.now() &+ 60 &* (boot.timebaseFrequency ?? Timer.defaultFrequency)
    Console.line {
        $0.write("ipcfuzz: ")
        if stress { $0.write("60 s of") } else { $0.write(decimal: totalCalls) }
        $0.write(" random calls, RAM "); $0.write(hex: ramBase)
        $0.write(" to "); $0.write(hex: ramEnd); $0.write(", scratch at "); $0.write(hex: scratchBase)
        $0.write(", "); $0.write(decimal: channels); $0.write(" channels")
    }
    var n: UInt64 = 0
    while stress ? Timer.now() < end : n < totalCalls {
        let fid = below(64) == 0 ? random() : below(20)   // the sixteen functions and four unknown ones
        var a0 = channel(), a1 = address(), a2 = length()
        if fid == BulkheadFunction.partitionInfo.rawValue { a0 = address(); a1 = length() }
        let r = Bulkhead.call(fid, a0, a1, a2)
        judge(fid, a0, a1, a2, r)
        n &+= 1
        if n % 20_000 == 0 { Console.line { $0.write("ipcfuzz: "); $0.write(decimal: n); $0.write(" calls") } }
    }
    Console.line {
        $0.write("ipcfuzz: done, "); $0.write(decimal: n); $0.write(" calls: "); $0.write(decimal: errorCounts[0])
        $0.write(" ok ("); $0.write(decimal: received); $0.write(" messages received), ")
        $0.write(decimal: bad); $0.write(" inconsistent")
    }
    Console.line {
        $0.write("ipcfuzz: errors")
        for e in 1..<7 { $0.write(" "); $0.write(signed: -Int64(e)); $0.write(":"); $0.write(decimal: errorCounts[e]) }
    }
    // Two lines: a guest console line holds at most 160 bytes.
    for first in stride(from: 1, to: 27, by: 13) {
        Console.line {
            $0.write("ipcfuzz: reasons")
            for r in first..<(first + 13) { $0.write(" "); $0.write(decimal: UInt64(r)); $0.write(":"); $0.write(decimal: reasonCounts[r]) }
        }
    }
    Guest.park()
}

func judge(_ fid: UInt64, _ a0: UInt64, _ a1: UInt64, _ a2: UInt64, _ r: SBIResult) {
    let e = r.error
    errorCounts[e <= 0 && e >= -5 ? Int(-e) : 6] &+= 1
    if e < -5 || e > 0 { reportBad("non-SBI error code", fid, a0, a1, a2, r); return }
    if e != 0 {
        reasonCounts[r.value <= 25 ? Int(r.value) : 26] &+= 1
        guard let reason = BulkheadReason(rawValue: r.value) else { reportBad("unknown reason", fid, a0, a1, a2, r); return }
        if reason.sbiError.rawValue != e { reportBad("reason does not match the error", fid, a0, a1, a2, r) }
        // The update calls (16-19) are offered only when some partition has an `update` policy;
        // this bundle has none, so they are refused as unknown like any other FID.
        let known: Bool
        switch BulkheadFunction(rawValue: fid) {
        case nil, .updateStage?, .updateApply?, .updateStatus?, .updateCommit?: known = false
        default: known = true
        }
        if !known && reason != .unknownFunction { reportBad("unknown function not refused as such", fid, a0, a1, a2, r) }
        if known && reason == .unknownFunction { reportBad("known function refused as unknown", fid, a0, a1, a2, r) }
        // The fuzzer's policy lists no key service: every key call is refused by policy first.
        if fid >= 5 && fid <= 15 && reason != .policyDenied { reportBad("key call not refused by policy", fid, a0, a1, a2, r) }
        if (fid == 1 || fid == 2 || fid == 3) && a0 >= 16 && reason != .unknownChannel {
            reportBad("channel id >= 16 not unknown", fid, a0, a1, a2, r)
        }
        return
    }
    switch fid {
    case 0:
        if !inRAM(a0, r.value) || r.value > a1 || r.value < 24 { reportBad("partition_info accepted", fid, a0, a1, a2, r) }
    case 1:
        if !inRAM(a1, a2) || a0 >= 16 || a1 & 7 != 0 { reportBad("send accepted", fid, a0, a1, a2, r) }
    case 2:
        received &+= 1
        let length = ReceivedMessage.length(r.value)
        if !inRAM(a1, UInt64(length)) || UInt64(length) > a2 || a0 >= 16 || a1 & 7 != 0 {
            reportBad("receive accepted", fid, a0, a1, a2, r)
        }
    case 3:
        if a0 >= 16 { reportBad("notify accepted", fid, a0, a1, a2, r) }
    case 4:
        break
    default:
        reportBad("unknown function accepted", fid, a0, a1, a2, r)
    }
}
