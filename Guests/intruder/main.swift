// intruder: on boot K it tries escape K (past its RAM, the hypervisor, the UART, address 0); each should fault.

import GuestRuntime

/// Where the hypervisor itself lives (host-physical); the intruder's 2 MiB of RAM never covers it.
let hypervisorAddress: UInt64 = 0x8020_0000
let uartAddress: UInt64 = 0x1000_0000

@_cdecl("guest_main")
func guestMain(vcpu: UInt, dtb: UInt) {
    let boot = BootInfo(dtb: dtb)
    let attempt = boot.bootCount
    switch attempt {
    case 0:
        guard let ram = boot.memory else {
            Console.print("intruder: no /memory node in my device tree")
            Guest.shutdown(reason: .systemFailure)
        }
        let address = ram.address &+ ram.size
        announce(attempt) { $0.write("read just past my RAM at "); $0.write(hex: address) }
        breach(attempt, read: RawMemory.load64(address))
    case 1:
        announce(attempt) { $0.write("write to the hypervisor at "); $0.write(hex: hypervisorAddress) }
        RawMemory.store64(hypervisorAddress, 0xDEAD_BEEF_DEAD_BEEF)
        breach(attempt, read: nil)
    case 2:
        announce(attempt) { $0.write("write to the UART at "); $0.write(hex: uartAddress) }
        RawMemory.store8(uartAddress, UInt8(ascii: "!"))
        breach(attempt, read: nil)
    case 3:
        announce(attempt) { $0.write("read from address 0x0") }
        breach(attempt, read: RawMemory.load64(0))
    default:
        Console.print("intruder: all attempts were contained")
        Guest.shutdown()
    }
}

func announce(_ attempt: UInt32, _ what: (inout Line) -> Void) {
    Console.line { line in
        line.write("intruder: attempt "); line.write(decimal: UInt64(attempt)); line.write(": ")
        what(&line)
    }
}

/// The access went through: nothing the hypervisor allows should get here.
func breach(_ attempt: UInt32, read value: UInt64?) -> Never {
    Console.line { line in
        line.write("intruder: BREACH!!! attempt "); line.write(decimal: UInt64(attempt))
        line.write(" was NOT contained")
        if let value { line.write(" (read "); line.write(hex: value); line.write(")") }
    }
    Guest.shutdown(reason: .systemFailure)
}
