// Fake arch: a hart's saved guest registers, kept in FakeMachine.
struct TrapFrame {
    let hart: Int

    subscript(n: Int) -> UInt64 {
        get { n == 0 ? 0 : FakeMachine.current.withLock { FakeMachine.current.registers[hart][n] } }
        nonmutating set { if n != 0 { FakeMachine.current.withLock { FakeMachine.current.registers[hart][n] = newValue } } }
    }

    static func of(hart: Int) -> TrapFrame { TrapFrame(hart: hart) }
}
