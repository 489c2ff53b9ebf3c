// hvfault: asks a test kernel (make kernel-faults) to fault inside the hypervisor; its bootargs name the fault.
//
// bootargs "overflow", "write-code", "unmapped", "execute-data", "lock-order", "other-ram" or "own-ram" select the fault
// (Kernel/Boot/FaultInjection.swift). The product kernel does not know the call: it answers
// SBI_ERR_NOT_SUPPORTED, which this guest reports.

import GuestRuntime
import GuestArch

let faultInjectionEID: UInt64 = 0x0A46_4C54

@_cdecl("guest_main")
func guestMain(vcpu: UInt, dtb: UInt) {
    let boot = BootInfo(dtb: dtb)
    var fault: UInt64 = 0
    var name: StaticString = "overflow"
    if boot.bootargsContain("write-code") { fault = 1; name = "write-code" }
    if boot.bootargsContain("unmapped") { fault = 2; name = "unmapped" }
    if boot.bootargsContain("execute-data") { fault = 3; name = "execute-data" }
    if boot.bootargsContain("lock-order") { fault = 4; name = "lock-order" }
    if boot.bootargsContain("other-ram") { fault = 5; name = "other-ram" }
    if boot.bootargsContain("own-ram") { fault = 6; name = "own-ram" }
    Console.line { $0.write("hvfault: asking the hypervisor for fault "); $0.write(name) }
    let r = guest_ecall(faultInjectionEID, fault, 0, 0, 0, 0, 0, 0)     // a6 = the fault
    Console.line { $0.write("hvfault: the hypervisor returned error "); $0.write(signed: r.error) }
    Guest.shutdown()
}
