// Faults on request, only in the test kernel (make kernel-faults): proof that the hypervisor's page table catches each.
//
// Built with -D BULKHEAD_FAULT_INJECTION only; the product kernel has no trace of it. A guest's
// ecall with a7 = FaultInjection.eid (firmware-specific range, SBI spec v2.0 §3) and a6 = the
// fault makes the hypervisor itself do, on that hart: 0 overflow its stack, 1 write to its own
// code, 2 write to page 0 (unmapped), 3 jump into its data, 4 take the DRBG lock while holding the
// console lock (out of order), 5 write to the first byte of another partition's RAM, 6 write to
// the first byte of its own partition's RAM. Each must end in one FATAL line naming the cause (HostPaging.swift,
// SpinLock.swift) and the machine stopping (Tests/qemu/test_hardening.py).
import BulkheadCore

enum FaultInjection {
    /// 0x0A, then "FLT".
    static let eid: UInt64 = 0x0A46_4C54

    #if BULKHEAD_FAULT_INJECTION
    static func provoke(_ fault: UInt64, hart: Int) {
        log { out in out.write("fault injection: provoking fault "); out.write(decimal: fault) }
        switch fault {
        case 0: DeliberateFault.overflowStack()
        case 1: DeliberateFault.store(to: KernelImage.start &+ 0x100)
        case 2: DeliberateFault.store(to: 8)
        case 3: DeliberateFault.jump(to: KernelStorage.deviceTreeCopy.base.raw)
        case 4: consoleLock.withLock { drbgLock.withLock {} }
        case 5:
            let me = system.hartPartition[hart]
            var q = 0
            while q < plan.count && q == me { q += 1 }
            if q < plan.count { DeliberateFault.store(to: plan[q].memory.base.raw) } else { log("fault injection: no other partition") }
        case 6: DeliberateFault.store(to: plan[system.hartPartition[hart]].memory.base.raw)
        default: log("fault injection: unknown fault")
        }
    }
    #endif
}
