// Trap entry from a guest: decode the cause once, hand it to one service, resume or contain.
import BulkheadCore

/// A trap from a guest (TrapEntry.swift, after trap.S saved its registers in `frame`). Inlined
/// into the entry point, its one caller.
@inline(__always) func guestTrap(_ frame: TrapFrame) {
    let hart = frame.hart
    consoleService()      // Console.swift: idle partial lines, console input (cheap unless due)
    switch HartCSR.scause.cause {
    case .exception(.ecallFromVS):
        handleSBI(frame, hart: hart)
    case .interrupt(.ssi):
        HartCSR.clearPending(.ssi)
        serviceMailbox(hart)
    case .interrupt(.sei):
        handleExternalInterrupt(hart: hart)
    case .interrupt(.sti):
        // Only without Sstc: our timer stands in for the guest's; pass it on as VSTIP.
        Firmware.setTimer(UInt64.max)
        HartCSR.raiseVirtual(.vsti)
    case .exception(let code) where code == .loadGuestPageFault || code == .storeGuestPageFault:
        if let gpa = HartCSR.htval.guestPhysicalAddress(stval: HartCSR.stval),
           emulateMMIO(frame, hart: hart, address: gpa, store: code == .storeGuestPageFault) { break }
        contain(.exception(code), hart: hart)
    case let cause:
        contain(cause, hart: hart)
    }
}

@inline(__always) private func handleSBI(_ frame: TrapFrame, hart: Int) {
    let eid = frame[Reg.a7]
    #if BULKHEAD_FAULT_INJECTION
    if eid == FaultInjection.eid { FaultInjection.provoke(frame[Reg.a6], hart: hart) }
    #endif
    let call = SBICall.decode(a0: frame[Reg.a0], a1: frame[Reg.a1], a2: frame[Reg.a2], a3: frame[Reg.a3], a4: frame[Reg.a4],
                              a6: frame[Reg.a6], a7: eid)
    var env = VCPUEnvironment(hart: hart)
    switch SBIDispatch.handle(call, &env) {
    case .resume(let result):
        frame[Reg.a0] = UInt64(bitPattern: result.error)
        if eid >= SBIExtension.base { frame[Reg.a1] = result.value }   // legacy calls return in a0 only
        HartCSR.sepc = HartCSR.sepc &+ 4
    case .stopVCPU:
        PartitionControl.park(hart)
    case .resumeAt(let address, let opaque):
        PartitionControl.enterFresh(hart: hart, pc: address, a1: opaque)
    case .shutdownPartition:
        logPartition(env.partition, "shut down by its guest (SBI SRST)")
        PartitionControl.stop(fromHart: hart, restart: false, trial: .trialReset)
    case .rebootPartition:
        logPartition(env.partition, "asked for a reboot (SBI SRST)")
        PartitionControl.stop(fromHart: hart, restart: true, trial: .trialReset)
    }
}

/// Acts on requests other harts posted for this one.
private func serviceMailbox(_ hart: Int) {
    let box = Mailbox(hart: hart)
    box.serviceFences()
    let pending = box.pending
    if pending & Request.vssip != 0 {
        box.clear(Request.vssip)
        HartCSR.raiseVirtual(.vssi)
    }
    if pending & Request.vseip != 0 {
        box.clear(Request.vseip)
        refreshVSEIP(hart: hart)
    }
    if pending & Request.park != 0 {
        box.clear(Request.park)
        PartitionControl.park(hart)
    }
}

/// A guest did something it may not: log it, then apply its partition's fault policy.
private func contain(_ cause: TrapCause, hart: Int) -> Never {
    let p = system.hartPartition[hart]
    let stval = HartCSR.stval
    let address = HartCSR.htval.guestPhysicalAddress(stval: stval)
    let policy = plan[p].onFault
    log { out in
        out.write("fault: partition "); plan[p].name.withBytes { out.write(bytes: $0) }
        out.write(" vCPU "); out.write(decimal: UInt64(system.hartVCPU[hart]))
        out.write(": "); writeCause(cause, &out)
        if case .exception(.virtualInstruction) = cause {
            // stval holds the faulting instruction's bits (privileged spec, "Hypervisor Extension").
            out.write(", instruction bits "); out.write(hex: stval)
        } else if let gpa = address { out.write(" at guest address "); out.write(hex: gpa.raw) }
        else { out.write(" at guest virtual address "); out.write(hex: stval) }
        out.write(", pc "); out.write(hex: HartCSR.sepc)
        out.write(policy == .restart ? "; policy: restart" : "; policy: stop")
    }
    PartitionControl.stop(fromHart: hart, restart: policy == .restart, trial: .trialFaulted)
}

private func writeCause<S: TextSink>(_ cause: TrapCause, _ out: inout S) {
    switch cause {
    case .exception(.instructionGuestPageFault): out.write("instruction guest-page fault")
    case .exception(.loadGuestPageFault): out.write("load guest-page fault")
    case .exception(.storeGuestPageFault): out.write("store/AMO guest-page fault")
    case .exception(.virtualInstruction): out.write("virtual instruction")
    case .exception(.loadAccessFault): out.write("load access fault")
    case .exception(.storeAccessFault): out.write("store/AMO access fault")
    case .exception(.instructionAccessFault): out.write("instruction access fault")
    case .exception(let code): out.write("exception "); out.write(decimal: code.rawValue)
    case .interrupt(let code): out.write("unexpected interrupt "); out.write(decimal: code.rawValue)
    case .unknown(let interrupt, let code):
        out.write(interrupt ? "unknown interrupt " : "unknown exception "); out.write(decimal: code)
    }
}

func logPartition(_ p: Int, _ what: StaticString) {
    log { out in out.write("partition "); plan[p].name.withBytes { out.write(bytes: $0) }; out.write(" "); out.write(what) }
}

/// A trap taken in the hypervisor itself: a kernel bug. Reports and stops the machine.
func hypervisorTrap() {
    logFatal { out in
        out.write("trap in the hypervisor: scause "); out.write(hex: HartCSR.scause.raw)
        out.write(", sepc "); out.write(hex: HartCSR.sepc); out.write(", stval "); out.write(hex: HartCSR.stval)
        writeHostFaultCause(scause: HartCSR.scause.raw, address: HartCSR.stval, to: &out)
    }
    powerOffAfterFailure()
}

/// Register numbers of the SBI calling convention (a0..a7 = x10..x17).
enum Reg {
    static let a0 = 10, a1 = 11, a2 = 12, a3 = 13, a4 = 14, a6 = 16, a7 = 17
}
