// Fake arch: the calling hart's CSRs, kept in FakeMachine.
import BulkheadCore

enum HartCSR {
    private static var machine: FakeMachine { FakeMachine.current }
    private static var hart: Int { FakeMachine.currentHart }
    private static func read<T>(_ field: (FakeMachine.HartCSRs) -> T) -> T { machine.withLock { field(machine.csrs[hart]) } }
    private static func write(_ change: (inout FakeMachine.HartCSRs) -> Void) { machine.withLock { change(&machine.csrs[hart]) } }

    static var scause: Scause { read { $0.scause } }
    static var stval: UInt64 { read { $0.stval } }
    static var htval: Htval { Htval(raw: read { $0.htval }) }
    static var sepc: UInt64 {
        get { read { $0.sepc } }
        set { write { $0.sepc = newValue } }
    }
    static var vsatp: UInt64 { read { $0.vsatp } }
    static var time: UInt64 { machine.withLock { machine.time } }

    static func enableInterrupts(_ set: InterruptSet) { write { $0.sie = set } }
    static func clearPending(_ set: InterruptSet) { write { $0.sip = InterruptSet(raw: $0.sip.raw & ~set.raw) } }
    static func raiseVirtual(_ set: InterruptSet) { write { $0.hvip = InterruptSet(raw: $0.hvip.raw | set.raw) } }
    static func lowerVirtual(_ set: InterruptSet) { write { $0.hvip = InterruptSet(raw: $0.hvip.raw & ~set.raw) } }
    static func setGuestTimer(_ deadline: UInt64) { write { $0.vstimecmp = deadline } }
    static func installTrapVector() {}
}
