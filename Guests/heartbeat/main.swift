// heartbeat: prints "heartbeat: N" every 50 ms forever, on the SBI timer; built again as update images (below).
//
// Bootargs `stamp`: each line also gives the time of its beat, "heartbeat: N at T ms" (T from the
// `time` counter), so a test can measure the gaps between beats from the console alone.
//
// Guests/guests.mk builds this source four times: `heartbeat` (the bundle's image) and three
// images for partition updates (Guests/updater; README "Updating one partition while the others run"):
//   heartbeat-v2        -D HEARTBEAT_V2       "heartbeat v2: N"; calls update_commit after its third beat
//   heartbeat-nocommit  -D HEARTBEAT_NOCOMMIT "heartbeat nocommit: N"; never commits (rolled back at its deadline)
//   heartbeat-fault     -D HEARTBEAT_FAULT    "heartbeat fault: N"; stores outside its RAM after its second beat

import GuestRuntime

#if HEARTBEAT_V2
let label: StaticString = "heartbeat v2: "
#elseif HEARTBEAT_NOCOMMIT
let label: StaticString = "heartbeat nocommit: "
#elseif HEARTBEAT_FAULT
let label: StaticString = "heartbeat fault: "
#else
let label: StaticString = "heartbeat: "
#endif

@_cdecl("guest_main")
func guestMain(vcpu: UInt, dtb: UInt) {
    let boot = BootInfo(dtb: dtb)
    let frequency = boot.timebaseFrequency ?? Timer.defaultFrequency
    let period = frequency / 20                 // 50 ms
    let stamp = boot.bootargsContain("stamp")
    var deadline = Timer.now()
    var beat: UInt64 = 1
    while true {
        deadline &+= period                  // absolute deadlines: no drift from printing
        Timer.sleep(until: deadline)
        let now = Timer.now()
        Console.line {
            $0.write(label); $0.write(decimal: beat)
            if stamp { $0.write(" at "); $0.write(decimal: now / (frequency / 1000)); $0.write(" ms") }
        }
        afterBeat(beat, memory: boot.memory)
        beat &+= 1
    }
}

/// What an update image does after beat `beat`; nothing for the bundle's heartbeat.
func afterBeat(_ beat: UInt64, memory: FDTRegion?) {
#if HEARTBEAT_V2
    // Healthy after three beats: keep this image (a no-op unless it runs on trial).
    guard beat == 3 else { return }
    do throws(Bulkhead.Failure) {
        try Bulkhead.updateCommit()
        Console.print("heartbeat v2: committed")
    } catch {
        Console.line { $0.write("heartbeat v2: update_commit: "); error.write(to: &$0) }
    }
#elseif HEARTBEAT_FAULT
    // A bad image: writes just past its RAM, a G-stage fault the hypervisor contains.
    guard beat == 2 else { return }
    let end = memory.map { $0.address &+ $0.size } ?? 0x8040_0000
    Console.line { $0.write("heartbeat fault: storing at "); $0.write(hex: end) }
    RawMemory.store64(end, 0xBAD)
#endif
}
