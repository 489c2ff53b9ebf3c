// ipcvictim: the fuzzer's peer. Fills 64 KiB of its RAM and its shared window (which the fuzzer
// maps read-only) with a pattern, checksums both, then every 50 ms drains its queue from the
// fuzzer, sends one message back, and re-checks: `ipcvictim: intact N` or `ipcvictim: CORRUPTED ...`.

import GuestRuntime

nonisolated(unsafe) var pattern = InlineArray<8192, UInt64>(repeating: 0)   // 64 KiB in .bss
nonisolated(unsafe) var inbox = InlineArray<64, UInt64>(repeating: 0)       // 512 B: the fuzz-q message size is 256

func fill(_ word: Int) -> UInt64 { UInt64(word) &* 0x9E37_79B9_7F4A_7C15 ^ 0x0123_4567_89AB_CDEF }

func checksum(_ base: UInt64, words: Int) -> UInt64 {
    var sum: UInt64 = 0xCBF2_9CE4_8422_2325
    var i = 0
    while i < words { sum = (sum ^ RawMemory.load64(base &+ UInt64(i) &* 8)) &* 0x100_0000_01B3; i += 1 }
    return sum
}

@_cdecl("guest_main")
func guestMain(vcpu: UInt, dtb: UInt) {
    let period = (BootInfo(dtb: dtb).timebaseFrequency ?? Timer.defaultFrequency) / 20       // 50 ms
    let me: PartitionInfo
    do throws(Bulkhead.Failure) { me = try Bulkhead.partitionInfo() } catch {
        Console.line { $0.write("ipcvictim: partition_info failed: "); error.write(to: &$0) }
        Guest.shutdown(reason: .systemFailure)
    }
    let queue = me.channel(named: "fuzz-q")
    let shared = me.channel(named: "fuzz-shm")
    let back = me.channel(named: "fuzz-fwd")
    let base = withUnsafeMutableBytes(of: &pattern) { UInt64(UInt(bitPattern: $0.baseAddress)) }
    let inboxBase = withUnsafeMutableBytes(of: &inbox) { UInt64(UInt(bitPattern: $0.baseAddress)) }
    for i in 0..<8192 { pattern[i] = fill(i) }
    let sharedWords = Int(min(shared?.sharedSize ?? 0, 4096) / 8)
    if let shared { for i in 0..<sharedWords { RawMemory.store64(shared.sharedAddress &+ UInt64(i) &* 8, ~fill(i)) } }
    let sum = checksum(base, words: 8192)
    let sharedSum = shared.map { checksum($0.sharedAddress, words: sharedWords) } ?? 0
    Console.line {
        $0.write("ipcvictim: 64 KiB at "); $0.write(hex: base); $0.write(" checksum "); $0.write(hex: sum)
        $0.write(", shared "); $0.write(decimal: UInt64(sharedWords * 8)); $0.write(" bytes at ")
        $0.write(hex: shared?.sharedAddress ?? 0); $0.write(" checksum "); $0.write(hex: sharedSum)
    }
    var check: UInt64 = 1
    var drained: UInt64 = 0
    var deadline = Timer.now()
    while true {
        deadline &+= period
        Timer.sleep(until: deadline)
        if let queue {
            while true {
                let r = Bulkhead.call(BulkheadFunction.receive.rawValue, UInt64(queue.id), inboxBase, 512)
                guard r.error == 0 else { break }
                if ReceivedMessage.sender(r.value) != queue.peer || ReceivedMessage.length(r.value) > 256 {
                    Console.line { $0.write("ipcvictim: CORRUPTED message header "); $0.write(hex: r.value) }
                }
                drained &+= 1
            }
            _ = Bulkhead.call(BulkheadFunction.send.rawValue, UInt64(queue.id), inboxBase, 64)
        }
        if let back { _ = Bulkhead.call(BulkheadFunction.send.rawValue, UInt64(back.id), inboxBase, 64) }
        let now = checksum(base, words: 8192)
        let sharedNow = shared.map { checksum($0.sharedAddress, words: sharedWords) } ?? 0
        if now == sum && sharedNow == sharedSum {
            Console.line {
                $0.write("ipcvictim: intact "); $0.write(decimal: check); $0.write(" ("); $0.write(decimal: drained)
                $0.write(" messages from the fuzzer)")
            }
        } else {
            Console.line {
                $0.write("ipcvictim: CORRUPTED check "); $0.write(decimal: check); $0.write(": buffer "); $0.write(hex: now)
                $0.write(" (was "); $0.write(hex: sum); $0.write("), shared "); $0.write(hex: sharedNow)
                $0.write(" (was "); $0.write(hex: sharedSum); $0.write(")")
            }
        }
        check &+= 1
    }
}
