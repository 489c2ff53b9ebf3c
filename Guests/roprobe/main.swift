// roprobe: checks that a read-only shared-memory endpoint can read but never write its window.
// The writable end stores a value and keeps printing what it sees; the read-only end reads the
// value, then tries to overwrite it (the hypervisor must stop it with a guest-page fault).

import GuestRuntime

let value: UInt64 = 0x5AFE_C0DE_0000_0001

@_cdecl("guest_main")
func guestMain(vcpu: UInt, dtb: UInt) {
    let period = (BootInfo(dtb: dtb).timebaseFrequency ?? Timer.defaultFrequency) / 20       // 50 ms
    let me: PartitionInfo
    do throws(Bulkhead.Failure) { me = try Bulkhead.partitionInfo() } catch {
        Console.line { $0.write("roprobe: partition_info failed: "); error.write(to: &$0) }
        Guest.shutdown(reason: .systemFailure)
    }
    guard let window = me.channel(named: "ro-window"), window.kind == .sharedMemory else {
        Console.line { $0.write("roprobe: no ro-window channel") }
        Guest.shutdown(reason: .systemFailure)
    }
    var deadline = Timer.now()
    if window.maySend {
        RawMemory.store64(window.sharedAddress, value)
        var round: UInt64 = 1
        while true {
            deadline &+= period
            Timer.sleep(until: deadline)
            Console.line { $0.write("roprobe: writer "); $0.write(decimal: round); $0.write(" sees "); $0.write(hex: RawMemory.load64(window.sharedAddress)) }
            round &+= 1
        }
    }
    while RawMemory.load64(window.sharedAddress) == 0 {
        deadline &+= period
        Timer.sleep(until: deadline)
    }
    Console.line { $0.write("roprobe: reader read "); $0.write(hex: RawMemory.load64(window.sharedAddress)); $0.write(", now writing") }
    RawMemory.store64(window.sharedAddress, 0xBAD)
    Console.line { $0.write("roprobe: BREACH: wrote a read-only window") }
    Guest.shutdown()
}
