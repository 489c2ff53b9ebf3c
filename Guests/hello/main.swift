// hello: two vCPUs, the SBI timer, HSM start/stop, the boot count, and SRST shutdown or reboot.

import GuestRuntime
import Synchronization

/// Set by the secondary vCPU before it stops, so that vCPU 0 waits for it to have really run.
let secondaryRan = Atomic<Bool>(false)

@_cdecl("guest_main")
func guestMain(vcpu: UInt, dtb: UInt) {
    let boot = BootInfo(dtb: dtb)
    Console.line {
        $0.write("hello: vCPU "); $0.write(decimal: UInt64(vcpu))
        $0.write(" up, device tree at "); $0.write(hex: UInt64(dtb))
    }
    Console.line { $0.write("hello: boot "); $0.write(decimal: UInt64(boot.bootCount)) }

    let tick = (boot.timebaseFrequency ?? Timer.defaultFrequency) / 100        // 10 ms
    for n in 1...3 {
        Timer.sleep(ticks: tick)
        Console.line { $0.write("hello: timer tick "); $0.write(decimal: UInt64(n)) }
    }

    // Start the other vCPU (vCPU 1 under Bulkhead; under plain OpenSBI the boot hart may be 1).
    let other: UInt64 = vcpu == 0 ? 1 : 0
    let started = SBI.hartStart(other, startAddress: Guest.secondaryEntry, opaque: 0xB01D_FACE)
    if started.succeeded {
        waitUntilStopped(other, pollTicks: tick / 10)
    } else {
        Console.line {
            $0.write("hello: hart_start("); $0.write(decimal: other)
            $0.write(") failed, error "); $0.write(signed: started.error)
        }
    }

    if boot.bootargsContain("reboot-once") && boot.bootCount == 0 {
        Console.print("hello: rebooting")
        Guest.reboot()
    }
    Console.print("hello: done, shutting down")
    Guest.shutdown()
}

/// Polls hart_status(hart) until it is STOPPED after having run, for at most 200 polls.
func waitUntilStopped(_ hart: UInt64, pollTicks: UInt64) {
    for _ in 0..<200 {
        let status = SBI.hartStatus(hart)
        if secondaryRan.load(ordering: .acquiring) && status.succeeded && status.value == UInt64(HSMState.stopped.rawValue) {
            Console.line { $0.write("hello: vCPU "); $0.write(decimal: hart); $0.write(" stopped") }
            return
        }
        Timer.sleep(ticks: pollTicks)
    }
    Console.line { $0.write("hello: gave up waiting for vCPU "); $0.write(decimal: hart); $0.write(" to stop") }
}

@_cdecl("guest_secondary")
func guestSecondary(vcpu: UInt, opaque: UInt) {
    Console.line {
        $0.write("hello: vCPU "); $0.write(decimal: UInt64(vcpu))
        $0.write(" up (opaque "); $0.write(hex: UInt64(opaque)); $0.write(")")
    }
    secondaryRan.store(true, ordering: .releasing)
    let stopped = SBI.hartStop()
    Console.line { $0.write("hello: hart_stop failed, error "); $0.write(signed: stopped.error) }
}
