// The SBI environment of one vCPU: how Core's SBI services reach the console, timers and other harts.
import BulkheadCore
import CArch

struct VCPUEnvironment: SBIEnvironment {
    let hart: Int
    let partition: Int
    let vcpu: Int
    var vcpuCount: Int { plan[partition].harts.count }
    var memory: GuestMemory { GuestMemory(host: plan[partition].memory) }
    var machineIDs: (vendor: UInt64, arch: UInt64, implementation: UInt64) { firmwareMachineIDs }

    init(hart: Int) {
        self.hart = hart
        partition = hartPartition[hart]
        vcpu = hartVCPU[hart]
    }

    func hartOf(_ v: Int) -> Int { Int(plan[partition].harts[v]) }

    mutating func consoleWrite(byte: UInt8) { guestConsolePut(partition: partition, byte) }

    mutating func consoleWrite(host from: HostPhysAddr, length: UInt64) {
        guard let bytes = UnsafePointer<UInt8>(bitPattern: UInt(from.raw)) else { return }
        var i = 0
        while UInt64(i) < length { guestConsolePut(partition: partition, bytes[i]); i += 1 }
    }

    mutating func consoleRead() -> UInt8? { nil }   // input focus arrives with the Linux issue

    mutating func setTimer(_ deadline: UInt64) {
        if sstcAvailable {
            csr_write_vstimecmp(deadline)
        } else {
            csr_clear_hvip(InterruptSet.vsti.raw)
            Firmware.setTimer(deadline)
        }
    }

    mutating func sendIPI(vcpus: UInt64) {
        forEach(vcpus) { v in
            if v == vcpu { csr_set_hvip(InterruptSet.vssi.raw) }
            else { Mailbox(hart: hartOf(v)).post(Request.vssip) }
        }
    }

    mutating func remoteFence(vcpus: UInt64, kind: FenceKind) {
        let bit = kind == .instruction ? Request.fenceI : Request.fenceVVMA
        let me = Mailbox(hart: hart)
        forEach(vcpus) { v in
            if v == vcpu {
                if kind == .instruction { arch_fence_i() } else { arch_hfence_vvma_all() }
                return
            }
            let target = Mailbox(hart: hartOf(v))
            target.post(bit)
            // Wait for the target to perform it; serve our own fences meanwhile so two harts
            // fencing each other cannot deadlock.
            while target.pending & bit != 0 { me.serviceFences() }
        }
    }

    func hsmState(of v: Int) -> HSMState { Mailbox(hart: hartOf(v)).state }

    mutating func startVCPU(_ v: Int, at pc: UInt64, opaque: UInt64) -> Bool {
        let target = Mailbox(hart: hartOf(v))
        guard !isBusy(partition), target.compareAndSetState(.stopped, .startPending) else { return false }
        target.requestStart(at: pc, opaque: opaque)
        return true
    }

    private func forEach(_ mask: UInt64, _ body: (Int) -> Void) {
        var v = 0
        while v < vcpuCount {
            if mask & (1 << UInt64(v)) != 0 { body(v) }
            v += 1
        }
    }
}
