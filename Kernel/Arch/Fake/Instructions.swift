// Fake arch: wfi waits for the hart's IPI; fences and satp do nothing on the host.
import BulkheadCore
enum Instructions {
    static func waitForInterrupt() { FakeMachine.current.waitForInterrupt(FakeMachine.currentHart) }
    static func fenceWritesBeforeDevice() {}
    static func fenceI() {}
    static func hfenceVVMA() {}
    static func hfenceVVMA(asid: UInt64) {}
    static func selectHostTable(satp: UInt64) {}
    static func tryReadSeed() -> UInt64 { .max }
    /// A stack address of the calling hart's stack (the lock-order checks find the hart from it).
    static var stackPointer: UInt64 { HartStacks.base(hart: min(FakeMachine.currentHart, Limits.harts - 1)) &+ 0x100 }
}
