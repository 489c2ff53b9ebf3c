// rtc: owns QEMU virt's goldfish RTC: reads the time, then takes three alarm interrupts through its virtual PLIC.
//
// Goldfish RTC registers (QEMU hw/rtc/goldfish_rtc.c's documented interface, 32-bit): TIME_LOW 0x00
// (reading it latches TIME_HIGH), TIME_HIGH 0x04, ALARM_LOW 0x08 (writing it arms the alarm at
// ALARM_HIGH:ALARM_LOW ns), ALARM_HIGH 0x0c, IRQ_ENABLED 0x10, CLEAR_ALARM 0x14, ALARM_STATUS 0x18,
// CLEAR_INTERRUPT 0x1c. Time is nanoseconds since 1970.
// Prints, per alarm, the instructions retired between its last instruction before the trap and the
// first of its handler: the interrupt's path through the hypervisor (make bench counts it under icount).

import GuestRuntime

private enum Goldfish {
    static let timeLow: UInt64 = 0x00, timeHigh: UInt64 = 0x04, alarmLow: UInt64 = 0x08, alarmHigh: UInt64 = 0x0c
    static let irqEnabled: UInt64 = 0x10, clearInterrupt: UInt64 = 0x1c
}

private func readTime(_ rtc: Device) -> UInt64 {
    let low = UInt64(RawMemory.load32(rtc.base &+ Goldfish.timeLow))
    return UInt64(RawMemory.load32(rtc.base &+ Goldfish.timeHigh)) << 32 | low
}

@_cdecl("guest_main")
func guestMain(vcpu: UInt, dtb: UInt) {
    guard let rtc = Device(dtb: dtb, compatible: "google,goldfish-rtc"), rtc.interrupt != 0 else {
        Console.line { $0.write("rtc: no goldfish RTC with an interrupt in my device tree") }
        Guest.shutdown(reason: .systemFailure)
    }
    guard let plic = PLICClient(dtb: dtb, vcpu: Int(vcpu)) else {
        Console.line { $0.write("rtc: no PLIC in my device tree") }
        Guest.shutdown(reason: .systemFailure)
    }
    let now = readTime(rtc)
    Console.line {
        $0.write("rtc: device at "); $0.write(hex: rtc.base); $0.write(", PLIC source "); $0.write(decimal: UInt64(rtc.interrupt))
        $0.write("; time "); $0.write(decimal: now / 1_000_000_000); $0.write(" s since 1970")
    }
    plic.setPriority(source: rtc.interrupt, 1)
    plic.enable(source: rtc.interrupt)
    plic.setThreshold(0)
    RawMemory.store32(rtc.base &+ Goldfish.irqEnabled, 1)
    var alarm: UInt64 = 1
    while alarm <= 3 {
        let at = readTime(rtc) &+ 20_000_000                      // 20 ms from now
        RawMemory.store32(rtc.base &+ Goldfish.alarmHigh, UInt32(truncatingIfNeeded: at >> 32))
        RawMemory.store32(rtc.base &+ Goldfish.alarmLow, UInt32(truncatingIfNeeded: at))
        let (cause, latency) = PLICClient.spinForExternalInterrupt()
        guard cause == PLICClient.externalInterruptCause else {
            Console.line { $0.write("rtc: unexpected interrupt, scause "); $0.write(hex: cause) }
            Guest.shutdown(reason: .systemFailure)
        }
        let source = plic.claim()
        RawMemory.store32(rtc.base &+ Goldfish.clearInterrupt, 1)
        plic.complete(source)
        Console.line {
            $0.write("rtc: alarm "); $0.write(decimal: alarm); $0.write(" interrupt, source "); $0.write(decimal: UInt64(source))
            $0.write(", latency "); $0.write(decimal: latency); $0.write(" instructions")
        }
        guard source == rtc.interrupt else { Guest.shutdown(reason: .systemFailure) }
        alarm &+= 1
    }
    Console.line { $0.write("rtc: done") }
    Guest.shutdown()
}
