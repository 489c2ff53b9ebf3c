// bench: machine-readable instruction counts: instret at guest entry and the cost of a null SBI call.

import GuestArch
import GuestRuntime

let calls: UInt64 = 1000

@_cdecl("guest_main")
func guestMain(vcpu: UInt, dtb: UInt) {
    let first = Guest.firstInstret
    // Two loops identical but for the ecall (base get_spec_version); their difference is the calls.
    let withCalls = guest_bench_null_sbi_loop(calls)
    let empty = guest_bench_empty_loop(calls)
    let perCall = withCalls > empty ? (withCalls - empty + calls / 2) / calls : 0
    Console.line { $0.write("bench: first-instret="); $0.write(decimal: first) }
    Console.line { $0.write("bench: null-sbi-call="); $0.write(decimal: perCall) }
    Guest.shutdown()
}
