// The fake arch's machine for host tests: each hart a host thread, its CSRs and registers in memory, firmware calls and guest entries recorded.
//
// Kernel/Arch/Fake supplies the same names as Kernel/Arch/RISCV64 (HartCSR, Instructions, TrapFrame,
// HartControl, Firmware, SharedWords, ...), so Kernel/Boot compiles unchanged against it
// (Package.swift's KernelOnFakeArch). A hart "runs its guest" in `runGuest`: it waits there for
// an IPI or a trap a test posts, and takes it through the kernel's own `guestTrap`. Everything
// the machine holds is guarded by `lock`, the fake atomics included.
import BulkheadCore
import Foundation

/// What the kernel did that a test can observe.
enum FakeEvent: Equatable {
    /// The hart entered its guest (HartControl.enter) at `pc` with a0 and a1.
    case entered(hart: Int, pc: UInt64, a0: UInt64, a1: UInt64)
    /// A posted trap was handled and the hart went back to its guest with these registers.
    case resumed(hart: Int, a0: UInt64, a1: UInt64, sepc: UInt64)
    /// SBI calls to the firmware.
    case firmwareIPI(hart: Int)
    case firmwareTimer(hart: Int, deadline: UInt64)
    case firmwareShutdown(failure: Bool)
}

/// A trap a test makes a hart's guest take: the CSRs trap.S would find and the guest's registers.
struct FakeTrap {
    var scause: Scause
    var stval: UInt64 = 0
    var htval: UInt64 = 0
    var registers: [Int: UInt64] = [:]
}

final class FakeMachine: @unchecked Sendable {
    /// The machine a test installed (a new one for each scenario).
    nonisolated(unsafe) static var installed = FakeMachine()
    /// The machine the calling thread belongs to: a hart's thread keeps its own machine after a
    /// test installs the next one.
    static var current: FakeMachine { (Thread.current.threadDictionary["bulkhead.machine"] as? FakeMachine) ?? installed }

    let lock = NSRecursiveLock()
    private(set) var events: [FakeEvent] = []
    private(set) var console: [UInt8] = []
    /// Set when a test is done with this machine: its harts stop for good at their next wait.
    private var retired = false

    struct HartCSRs {
        var scause = Scause(raw: 0), stval: UInt64 = 0, htval: UInt64 = 0, sepc: UInt64 = 0, vsatp: UInt64 = 0
        var sie = InterruptSet(raw: 0), sip = InterruptSet(raw: 0), hvip = InterruptSet(raw: 0)
        var vstimecmp: UInt64 = .max
    }
    var csrs = [HartCSRs](repeating: HartCSRs(), count: Limits.harts + 1)
    var registers = [[UInt64]](repeating: [UInt64](repeating: 0, count: 32), count: Limits.harts)
    private var ipiPending = [Bool](repeating: false, count: Limits.harts)
    private var posted = [[FakeTrap]](repeating: [], count: Limits.harts)
    var time: UInt64 = 0
    /// Per hart: how long its wfi sleeps before it looks at its IPIs (a slow hart, to provoke races).
    var wfiDelay = [UInt32](repeating: 0, count: Limits.harts + 1)

    /// The kernel's fixed storage (KernelMemory.swift), zeroed.
    let storage = FakeStorage()

    init() {}

    func withLock<R>(_ body: () throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    func record(_ event: FakeEvent) { withLock { events.append(event) } }
    func consoleWrite(_ byte: UInt8) { withLock { console.append(byte) } }
    var consoleText: String { withLock { String(decoding: console, as: UTF8.self) } }

    /// The hart the calling thread is (`Limits.harts`, the boot hart's slot, on a test's own thread).
    static var currentHart: Int { (Thread.current.threadDictionary["bulkhead.hart"] as? Int) ?? Limits.harts }

    // MARK: harts

    /// Starts hart `hart` on a thread of its own running `body` (for example PartitionControl.hartMain).
    func startHart(_ hart: Int, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread {
            Thread.current.threadDictionary["bulkhead.hart"] = hart
            Thread.current.threadDictionary["bulkhead.machine"] = self
            body()
        }
        thread.stackSize = 1 << 22
        thread.start()
    }

    /// The IPI the firmware or an ACLINT store would deliver: sets the hart's SSIP.
    func sendIPI(toHart hart: Int) {
        withLock {
            ipiPending[hart] = true
            csrs[hart].sip = InterruptSet(raw: csrs[hart].sip.raw | InterruptSet.ssi.raw)
        }
    }

    /// Makes hart `hart`'s guest take `trap` (when it next runs its guest).
    func post(_ trap: FakeTrap, toHart hart: Int) { withLock { posted[hart].append(trap) } }

    /// wfi: returns once an IPI is pending or after a short wait (wfi may return at any time).
    func waitForInterrupt(_ hart: Int) {
        if withLock({ retired }) { blockForever() }
        let delay = withLock { wfiDelay[min(hart, Limits.harts)] }
        if delay != 0 { usleep(delay) }
        if hart < Limits.harts, withLock({ () -> Bool in let p = ipiPending[hart]; ipiPending[hart] = false; return p }) { return }
        usleep(50)
    }

    /// The hart's guest: takes IPIs and posted traps through the kernel's trap handler. Never returns.
    func runGuest(_ hart: Int) -> Never {
        while true {
            if withLock({ retired }) { blockForever() }
            let next: FakeTrap? = withLock {
                if ipiPending[hart] {
                    ipiPending[hart] = false
                    return FakeTrap(scause: Scause(interrupt: .ssi))
                }
                return posted[hart].isEmpty ? nil : posted[hart].removeFirst()
            }
            guard let trap = next else { usleep(50); continue }
            withLock {
                csrs[hart].scause = trap.scause
                csrs[hart].stval = trap.stval
                csrs[hart].htval = trap.htval
                for (n, value) in trap.registers { registers[hart][n] = value }
            }
            guestTrap(TrapFrame.of(hart: hart))
            if trap.scause.raw != Scause(interrupt: .ssi).raw {
                withLock {
                    events.append(.resumed(hart: hart, a0: registers[hart][10], a1: registers[hart][11], sepc: csrs[hart].sepc))
                }
            }
        }
    }

    /// A test is done with this machine: its harts stop at their next wait.
    func retire() { withLock { retired = true } }

    private func blockForever() -> Never {
        while true { sleep(3600) }
    }
}

/// The fixed storage areas and shared words, allocated once per machine.
final class FakeStorage: @unchecked Sendable {
    let image = FakeStorage.allocate(0x10000)
    let stacks = FakeStorage.allocate((Int(HartStacks.guardSize) + Int(HartStacks.size)) * Limits.harts)
    let bootStack = FakeStorage.allocate(Int(HartStacks.guardSize) + Int(HartStacks.bootSize))
    let hostPageTables = FakeStorage.allocate(0x60000)
    let guestPageTablePool = FakeStorage.allocate(0x40000)
    let ipcQueues = FakeStorage.allocate(0x20000)
    let deviceTreeCopy = FakeStorage.allocate(0x20000)
    let systemConfig = FakeStorage.allocate(0x1000)
    let keystoreBuffers = FakeStorage.allocate(2 * 0x2800)
    /// Per hart: request, HSM state (UInt32 each), start pc, opaque, SSWI register (UInt64 each).
    let mailboxes = FakeStorage.allocate(32 * Limits.harts)
    /// Per partition: busy, boot count, stopped, PLIC lock.
    let partitions = FakeStorage.allocate(16 * Limits.partitions)
    let locks = FakeStorage.allocate(4 * 8)
    let heldRanks = FakeStorage.allocate(4 * (Limits.harts + 1))
    let ringLocks = FakeStorage.allocate(4 * 32)
    let doorbells = FakeStorage.allocate(8 * 8)
    let bootWork = FakeStorage.allocate(8 * 4)

    init() {
        // The stacks are painted as entry.S paints them.
        for region in [stacks, bootStack] {
            let words = region.count / 8
            for i in 0..<words { region.storeBytes(of: HartStacks.paint, toByteOffset: i * 8, as: UInt64.self) }
        }
    }

    static func allocate(_ count: Int) -> UnsafeMutableRawBufferPointer {
        var memory: UnsafeMutableRawPointer? = nil
        posix_memalign(&memory, 4096, count)
        let buffer = UnsafeMutableRawBufferPointer(start: memory!, count: count)
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        return buffer
    }

    func address(_ region: UnsafeMutableRawBufferPointer, _ offset: Int = 0) -> UInt64 {
        UInt64(UInt(bitPattern: region.baseAddress!) + UInt(offset))
    }
}
