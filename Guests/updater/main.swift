// updater: applies the partition updates carried in its initrd (update_stage/apply/status) and reports each outcome.
//
// Its initrd is a list of signed partition updates (`bulkhead pack-update` files) laid end to end,
// each starting 8-byte aligned (zero padding between them); the list ends at the initrd's end or
// at the first entry without the "BHUPDATE" magic (a zero word: an empty list). Each update names
// its target partition (header byte 12, docs/bundle-format.md "Partition updates").
//
// Bootargs (space-separated, all optional):
//   apply=0,2       which updates of the list to apply, in that order (default: all, in list order)
//   deadline=MS     the trial deadline passed to update_apply (default 0: the hypervisor's 10 s)
//   wait=MS         wait MS milliseconds before the first update (the demo lets heartbeat run a while first)
//
// For each update: stage it from the initrd in 4 KiB chunks, apply it, then poll update_status
// every 100 ms until the target has committed or been rolled back. Then it shuts itself down.
// Console lines (Tests/qemu/test_update.py waits for them):
//   updater: update K: NAME version V, L bytes, for partition #P
//   updater: NAME v2 applied, on trial
//   updater: NAME: committed, version V
//   updater: NAME rolled back: reason R (name), back to version V
//   updater: NAME v2: refused: reason R (name)
//   updater: NAME: still runs version V                  (after a refusal, from update_status)
//   updater: done: C committed, B rolled back, F refused

import GuestRuntime

let chunkSize = 4096
let magic: StaticString = "BHUPDATE"

/// One update of the initrd's list.
struct Entry {
    var bytes: UnsafeRawBufferPointer
    var target: Int { Int(bytes[12]) }
    var version: UInt64 { u64(bytes, 24) }
    var nameLength: Int { min(Int(bytes[13]), 16) }
}

func u64(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt64 {
    var v: UInt64 = 0
    var i = 7
    while i >= 0 { v = v << 8 | UInt64(b[at &+ i]); i &-= 1 }
    return v
}

/// The `index`-th update of the list in `initrd`, or nil past its end.
func entry(_ index: Int, in initrd: UnsafeRawBufferPointer) -> Entry? {
    var offset = 0
    var n = 0
    while offset &+ 24 <= initrd.count {
        let hasMagic = magic.withUTF8Buffer { m in
            var i = 0
            while i < m.count && initrd[offset &+ i] == m[i] { i &+= 1 }
            return i == m.count
        }
        guard hasMagic else { return nil }
        let length = u64(initrd, offset &+ 16)
        guard length >= 24, length <= UInt64(initrd.count &- offset) else { return nil }
        if n == index { return Entry(bytes: UnsafeRawBufferPointer(rebasing: initrd[offset..<(offset &+ Int(length))])) }
        offset &+= (Int(length) &+ 7) & ~7
        n &+= 1
    }
    return nil
}

/// The value of `key` (e.g. "deadline=") in the bootargs as a list of decimal numbers; calls
/// `body` with each. Returns false when the key is absent.
@discardableResult
func numbers(_ key: StaticString, in args: UnsafeRawBufferPointer, _ body: (UInt64) -> Void) -> Bool {
    key.withUTF8Buffer { k in
        var start = 0
        while start &+ k.count <= args.count {
            let atWord = start == 0 || args[start &- 1] == UInt8(ascii: " ")
            var i = 0
            while i < k.count && args[start &+ i] == k[i] { i &+= 1 }
            if atWord && i == k.count {
                var at = start &+ k.count
                var value: UInt64 = 0
                var digits = 0
                while at <= args.count {
                    let c = at < args.count ? args[at] : UInt8(ascii: " ")
                    if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") {
                        value = value &* 10 &+ UInt64(c &- UInt8(ascii: "0")); digits &+= 1
                    } else {
                        if digits > 0 { body(value) }
                        value = 0; digits = 0
                        if c != UInt8(ascii: ",") { break }
                    }
                    at &+= 1
                }
                return true
            }
            start &+= 1
        }
        return false
    }
}

extension Line {
    mutating func write(entryName e: Entry) {
        write(bytes: UnsafeRawBufferPointer(rebasing: e.bytes[40..<(40 &+ e.nameLength)]))
    }

    mutating func write(reason raw: UInt64) {
        write("reason "); write(decimal: raw)
        if let r = BulkheadReason(rawValue: raw) { write(" ("); write(r.name); write(")") }
    }
}

struct Tally { var committed = 0, rolledBack = 0, refused = 0 }

@_cdecl("guest_main")
func guestMain(vcpu: UInt, dtb: UInt) {
    let boot = BootInfo(dtb: dtb)
    let frequency = boot.timebaseFrequency ?? Timer.defaultFrequency
    guard let initrd = boot.initrd else {
        Console.print("updater: no initrd: no updates to apply")
        Guest.shutdown()
    }
    var deadline: UInt64 = 0
    numbers("deadline=", in: boot.bootargs) { deadline = $0 }

    var wait: UInt64 = 0
    numbers("wait=", in: boot.bootargs) { wait = $0 }
    if wait > 0 { Timer.sleep(ticks: wait &* (frequency / 1000)) }

    var tally = Tally()
    let chosen = numbers("apply=", in: boot.bootargs) { index in
        apply(Int(clamping: index), initrd: initrd, deadline: deadline, frequency: frequency, tally: &tally)
    }
    if !chosen {
        var index = 0
        while entry(index, in: initrd) != nil {
            apply(index, initrd: initrd, deadline: deadline, frequency: frequency, tally: &tally)
            index &+= 1
        }
    }
    Console.line {
        $0.write("updater: done: "); $0.write(decimal: UInt64(tally.committed)); $0.write(" committed, ")
        $0.write(decimal: UInt64(tally.rolledBack)); $0.write(" rolled back, ")
        $0.write(decimal: UInt64(tally.refused)); $0.write(" refused")
    }
    Guest.shutdown()
}

/// Stages, applies and follows update `index` of the list.
func apply(_ index: Int, initrd: UnsafeRawBufferPointer, deadline: UInt64, frequency: UInt64, tally: inout Tally) {
    guard let e = entry(index, in: initrd) else {
        Console.line { $0.write("updater: no update "); $0.write(decimal: UInt64(index)); $0.write(" in the initrd") }
        return
    }
    let target = e.target
    Console.line {
        $0.write("updater: update "); $0.write(decimal: UInt64(index)); $0.write(": "); $0.write(entryName: e)
        $0.write(" version "); $0.write(decimal: e.version); $0.write(", "); $0.write(decimal: UInt64(e.bytes.count))
        $0.write(" bytes, for partition #"); $0.write(decimal: UInt64(target))
    }
    func refused(_ failure: Bulkhead.Failure) {
        tally.refused &+= 1
        Console.line {
            $0.write("updater: "); $0.write(entryName: e); $0.write(" v"); $0.write(decimal: e.version)
            $0.write(": refused: "); $0.write(reason: failure.rawReason)
        }
        // Nothing changed: the target still runs the version it ran (when the policy lets us ask).
        if let status = try? Bulkhead.updateStatus(target: target) {
            Console.line {
                $0.write("updater: "); $0.write(entryName: e); $0.write(": still runs version "); $0.write(decimal: status.securityVersion)
            }
        }
    }
    let poll = frequency / 10                   // 100 ms
    do throws(Bulkhead.Failure) {
        var offset = 0
        while offset < e.bytes.count {
            let n = min(chunkSize, e.bytes.count &- offset)
            try Bulkhead.updateStage(target: target, offset: offset,
                                     UnsafeRawBufferPointer(rebasing: e.bytes[offset..<(offset &+ n)]))
            offset &+= n
        }
        // busy: another update (or a restart of the target) is in progress; try again a little later.
        var attempts = 0
        while true {
            do throws(Bulkhead.Failure) {
                try Bulkhead.updateApply(target: target, length: e.bytes.count, deadlineMilliseconds: deadline)
                break
            } catch {
                attempts &+= 1
                guard error.reason == .busy, attempts < 50 else { throw error }
                Timer.sleep(ticks: poll)
            }
        }
    } catch {
        refused(error)
        return
    }
    Console.line {
        $0.write("updater: "); $0.write(entryName: e); $0.write(" v"); $0.write(decimal: e.version); $0.write(" applied, on trial")
    }
    while true {
        Timer.sleep(ticks: poll)
        let status: Bulkhead.UpdateStatus
        do throws(Bulkhead.Failure) { status = try Bulkhead.updateStatus(target: target) } catch {
            Console.line { $0.write("updater: update_status: "); error.write(to: &$0) }
            tally.refused &+= 1
            return
        }
        switch status.state {
        case Bulkhead.UpdateStatus.trial:
            continue
        case Bulkhead.UpdateStatus.committed:
            tally.committed &+= 1
            Console.line {
                $0.write("updater: "); $0.write(entryName: e); $0.write(": committed, version "); $0.write(decimal: status.securityVersion)
            }
        case Bulkhead.UpdateStatus.rolledBack:
            tally.rolledBack &+= 1
            Console.line {
                $0.write("updater: "); $0.write(entryName: e); $0.write(" rolled back: "); $0.write(reason: status.reason)
                $0.write(", back to version "); $0.write(decimal: status.securityVersion)
            }
        default:
            Console.line {
                $0.write("updater: "); $0.write(entryName: e); $0.write(": state "); $0.write(decimal: UInt64(status.state))
                $0.write(", "); $0.write(reason: status.reason)
            }
        }
        return
    }
}
