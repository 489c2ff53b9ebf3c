// devprobe: on boot K it reads the K-th address of `devprobe=ADDR,ADDR,...` in its bootargs (another partition's device, the PLIC); each read should fault.

import GuestRuntime

@_cdecl("guest_main")
func guestMain(vcpu: UInt, dtb: UInt) {
    let boot = BootInfo(dtb: dtb)
    guard let address = target(boot.bootargs, index: Int(boot.bootCount)) else {
        Console.line { $0.write("devprobe: all "); $0.write(decimal: UInt64(boot.bootCount)); $0.write(" attempts were contained") }
        Guest.shutdown()
    }
    Console.line { $0.write("devprobe: attempt "); $0.write(decimal: UInt64(boot.bootCount)); $0.write(": read "); $0.write(hex: address) }
    let value = RawMemory.load32(address)
    Console.line {
        $0.write("devprobe: BREACH: read "); $0.write(hex: address); $0.write(" = "); $0.write(hex: UInt64(value))
    }
    Guest.shutdown(reason: .systemFailure)
}

/// The `index`-th comma-separated hex address after "devprobe=" in `args`, if there is one.
func target(_ args: UnsafeRawBufferPointer, index: Int) -> UInt64? {
    let key: StaticString = "devprobe="
    var start = -1
    key.withUTF8Buffer { needle in
        var i = 0
        while i &+ needle.count <= args.count && start < 0 {
            var j = 0
            while j < needle.count && args[i &+ j] == needle[j] { j &+= 1 }
            if j == needle.count { start = i &+ needle.count }
            i &+= 1
        }
    }
    guard start >= 0 else { return nil }
    var i = start
    var field = 0
    while i < args.count && args[i] != UInt8(ascii: " ") {
        var value: UInt64 = 0
        var digits = 0
        if i &+ 1 < args.count && args[i] == UInt8(ascii: "0") && args[i &+ 1] | 0x20 == UInt8(ascii: "x") { i &+= 2 }
        while i < args.count, let digit = hexDigit(args[i]) { value = value << 4 | digit; digits &+= 1; i &+= 1 }
        if field == index { return digits > 0 ? value : nil }
        guard i < args.count, args[i] == UInt8(ascii: ",") else { return nil }
        i &+= 1
        field &+= 1
    }
    return nil
}

func hexDigit(_ c: UInt8) -> UInt64? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt64(c &- UInt8(ascii: "0"))
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt64(c &- UInt8(ascii: "a") &+ 10)
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt64(c &- UInt8(ascii: "A") &+ 10)
    default: return nil
    }
}
