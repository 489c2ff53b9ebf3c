// Per-hart CSR set-up for running a guest in VS-mode, and entering it (privileged spec, chapter "Hypervisor Extension").
import BulkheadCore
import CArch

enum HartControl {
    /// Delegations and counters that hold for the life of the hart.
    static func configureHypervisor(sstc: Bool, externalInterrupts: Bool) {
        csr_write_hedeleg(Hedeleg.guestOwned.raw | ExceptionSet(.illegalInstruction).raw)
        csr_write_hideleg(InterruptSet.vsLevel.raw)
        csr_write_hcounteren(Hcounteren().with(Hcounteren.CY, true).with(Hcounteren.TM, true)
            .with(Hcounteren.IR, true).raw)
        csr_write_htimedelta(0)
        csr_write_hvip(0)
        csr_write_hie(0)
        csr_write_henvcfg(Henvcfg().with(Henvcfg.STCE, sstc).raw)
        // Hypervisor interrupts: IPIs from other harts always; the supervisor timer when it
        // stands in for a missing Sstc; the PLIC's supervisor external interrupt when partitions
        // own device interrupts. sstatus.SIE stays 0: interrupts are only taken from guests.
        csr_write_sie(InterruptSet.ssi.raw | (sstc ? 0 : InterruptSet.sti.raw) | (externalInterrupts ? InterruptSet.sei.raw : 0))
        HartCSR.installTrapVector()
    }

    /// Whether this hart has Sstc and the firmware lets us use it (henvcfg.STCE sticks).
    static func probeSstc() -> Bool {
        csr_write_henvcfg(Henvcfg().with(Henvcfg.STCE, true).raw)
        return Henvcfg(raw: csr_read_henvcfg()).stce
    }

    /// Loads the partition's address space and a clean VS state, then enters the guest at `pc`.
    static func enter(frame: TrapFrame, hgatp: UInt64, pc: UInt64,
                      a0: UInt64, a1: UInt64, firstEntry: Bool, pendingInterrupts: UInt64 = 0) -> Never {
        if firstEntry {
            csr_write_hgatp(hgatp)
            arch_hfence_gvma_all()
            csr_write_vsatp(0)
            csr_write_vsstatus(0)
            csr_write_vsie(0)
            csr_write_vstvec(0)
            csr_write_vsscratch(0)
            csr_write_hvip(pendingInterrupts)     // e.g. VSEIP still pending in the virtual PLIC
            csr_write_vstimecmp(UInt64.max)
            arch_hfence_vvma_all()
        }
        var n = 1
        while n < 32 { frame[n] = 0; n += 1 }
        frame[10] = a0
        frame[11] = a1
        var hstatus = Hstatus(raw: csr_read_hstatus())
        hstatus.spv = true
        hstatus.spvp = true
        hstatus.vtw = false
        csr_write_hstatus(hstatus.raw)
        var sstatus = Sstatus(raw: csr_read_sstatus())
        sstatus.spp = true
        sstatus.spie = false
        sstatus[Sstatus.FS] = Sstatus.ContextStatus.initial.rawValue   // guests may use the FPU
        csr_write_sstatus(sstatus.raw)
        csr_write_sepc(pc)
        arch_enter_guest_fresh(frame.pointer)
    }
}
