// heartbeat: prints "heartbeat: N" every 50 ms forever, on the SBI timer.

import GuestRuntime

@_cdecl("guest_main")
func guestMain(vcpu: UInt, dtb: UInt) {
    let period = (BootInfo(dtb: dtb).timebaseFrequency ?? Timer.defaultFrequency) / 20     // 50 ms
    var deadline = Timer.now()
    var beat: UInt64 = 1
    while true {
        deadline &+= period                  // absolute deadlines: no drift from printing
        Timer.sleep(until: deadline)
        Console.line { $0.write("heartbeat: "); $0.write(decimal: beat) }
        beat &+= 1
    }
}
