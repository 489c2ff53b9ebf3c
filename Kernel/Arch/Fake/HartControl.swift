// Fake arch: entering a guest records the entry and runs FakeMachine's guest loop on the hart's thread.
import BulkheadCore

enum HartControl {
    static func configureHypervisor(sstc: Bool, externalInterrupts: Bool) {}
    static func probeSstc() -> Bool { true }

    static func enter(frame: TrapFrame, hgatp: UInt64, pc: UInt64,
                      a0: UInt64, a1: UInt64, firstEntry: Bool, pendingInterrupts: UInt64 = 0) -> Never {
        let machine = FakeMachine.current
        machine.withLock {
            for n in 1..<32 { machine.registers[frame.hart][n] = 0 }
            machine.registers[frame.hart][10] = a0
            machine.registers[frame.hart][11] = a1
            machine.csrs[frame.hart].sepc = pc
            if firstEntry { machine.csrs[frame.hart].hvip = InterruptSet(raw: pendingInterrupts) }
        }
        machine.record(.entered(hart: frame.hart, pc: pc, a0: a0, a1: a1))
        machine.runGuest(frame.hart)
    }
}
