// The hypervisor-owned console: its own messages marked "[bulkhead]", guest lines tagged with the partition name.
// Lock: the console lock (SpinLock.swift, rank console, the last).
import BulkheadCore
import Synchronization

@inline(__always) func withConsoleLock<R>(_ body: () -> R) -> R { consoleLock.withLock(body) }

/// Writes straight to the UART; callers hold the console lock.
struct UARTSink: TextSink {
    /// Not inlined: every message writes through here, and inlining the UART's register access at
    /// each call site cost about 80 KB of code.
    @inline(never) mutating func write(byte: UInt8) {
        guard let uart = system.consoleUART else {
            if byte == 10 { Firmware.consoleWrite(13) }
            return Firmware.consoleWrite(byte)
        }
        if byte == 10 { uart.put(13) }
        uart.put(byte)
    }
}

/// Prints one hypervisor line: `[bulkhead] ...` (after ending a partition's open partial line).
func log(_ body: (inout UARTSink) -> Void) {
    withConsoleLock {
        var out = UARTSink()
        guestConsole.beginHypervisorLine(to: &out)
        out.write("[bulkhead] ")
        body(&out)
        out.write(byte: 10)
    }
}

func log(_ text: StaticString) { log { $0.write(text) } }

/// Prints one FATAL line without the console lock: the fatal paths may run on a hart that holds
/// it (a trap taken inside `log`), and waiting for it there would hang the machine instead of
/// stopping it. Another hart's line may interleave; the machine stops right after.
func logFatal(_ body: (inout UARTSink) -> Void) {
    var out = UARTSink()
    out.write(byte: 10)
    out.write("[bulkhead] FATAL: ")
    body(&out)
    out.write(byte: 10)
}

// MARK: Output (Core's GuestConsole; the rules are at the top of Core/Console/ConsoleOutput.swift)

/// Every partition's pending line and the console's cursor (under the console lock).
nonisolated(unsafe) var guestConsole = GuestConsole(timing: ConsoleTiming(timebaseFrequency: 10_000_000))
/// The `time` at which the console next needs service from the trap path (`consoleService`):
/// an input poll or a partial line's idle deadline. Read without the lock; written under it.
let consoleServiceDue = Atomic<UInt64>(0)

private func partitionName(_ p: Int) -> PartitionName { plan[p].name }

/// Adds one byte of partition `p`'s output; a newline (or a full buffer) prints the line.
func guestConsolePut(partition p: Int, _ byte: UInt8) {
    withUnsafeBytes(of: byte) { guestConsolePut(partition: p, $0) }
}

/// The bytes a partition wrote in one call (SBI DBCN console_write), under one console lock, so
/// that no idle flush on another hart can split a line the guest wrote whole (as one that ran
/// while this hart was between two bytes could, on a loaded host). At most 256 bytes per lock.
func guestConsolePut(partition p: Int, _ bytes: UnsafeRawBufferPointer) {
    var start = 0
    while start < bytes.count {
        let end = min(bytes.count, start + 256)
        let now = HartCSR.time
        withConsoleLock {
            var out = UARTSink()
            var i = start
            while i < end {
                // A partial line pending: make sure the trap path looks at it once it is idle.
                if let deadline = guestConsole.put(bytes[i], partition: p, now: now, to: &out, name: partitionName),
                   consoleServiceDue.load(ordering: .relaxed) > deadline {
                    consoleServiceDue.store(deadline, ordering: .relaxed)
                }
                i += 1
            }
        }
        start = end
    }
}

/// A (re)loaded partition's virtual UART starts from its reset state, as after a machine reset;
/// keys already queued for it stay queued.
func resetVirtualUART(partition p: Int) {
    withConsoleLock { virtualUARTs[p] = VirtualUART() }
}

/// Flushes a partial line when a partition stops, so nothing it printed is lost.
func guestConsoleFlush(partition p: Int) {
    withConsoleLock {
        var out = UARTSink()
        guestConsole.flush(partition: p, to: &out, name: partitionName)
    }
}

/// Called on every trap from a guest (one load and compare when nothing is due): at most once
/// per input poll period, drains the UART's receiver into the input queues and prints every
/// partial line that has been idle for the idle time. Skipped when another hart holds the
/// console lock (a later trap comes round again).
@inline(__always) func consoleService() {
    let now = HartCSR.time
    guard now >= consoleServiceDue.load(ordering: .relaxed) else { return }
    serviceConsole(now: now)
}

private func serviceConsole(now: UInt64) {
    guard consoleLock.tryLock() else { return }
    pollConsoleInput()
    var out = UARTSink()
    let earliest = guestConsole.flushIdle(now: now, count: plan.count, to: &out, name: partitionName)
    consoleServiceDue.store(guestConsole.timing.nextService(after: now, earliestIdle: earliest), ordering: .relaxed)
    consoleLock.unlock()
}

// MARK: Input (Core's ConsoleFocus: Ctrl-B then a digit moves the focus, Ctrl-B s reports status; README "Console input")

nonisolated(unsafe) var consoleFocus = ConsoleFocus(count: 0)
nonisolated(unsafe) var consoleInput = PerPartition<InputQueue>(repeating: InputQueue())

/// Sets up the focus once the plan is known: the first partition with the virtual UART (a Linux
/// partition, or one with `uart = true`), else partition 0; and the console's timing.
func setUpConsoleInput() {
    guestConsole.timing = ConsoleTiming(timebaseFrequency: system.timebaseFrequency)
    var first = 0
    var p = plan.count - 1
    while p >= 0 { if plan[p].hasVirtualUART { first = p }; p -= 1 }
    consoleFocus = ConsoleFocus(count: plan.count, focused: first)
}

/// Moves every byte waiting in the UART's receiver to the partition with focus (caller holds the
/// lock). Called when a guest reads its virtual UART or the SBI console, and from the trap path
/// every `ConsoleTiming.inputPoll` (consoleService), so keys are taken from the UART's small
/// FIFO even while no guest reads; they wait in the partition's InputQueue (its bound and drop
/// rule: ConsoleInput.swift).
private func pollConsoleInput() {
    while let byte = system.consoleUART?.get() {
        switch consoleFocus.feed(byte) {
        case .deliver(let p, let b): consoleInput[p].push(b)
        case .focus(let p):
            var out = UARTSink()
            guestConsole.beginHypervisorLine(to: &out)
            out.write("[bulkhead] console input now goes to partition "); out.write(decimal: UInt64(p))
            out.write(" ("); plan[p].name.withBytes { out.write(bytes: $0) }; out.write(")\n")
        case .status:
            var out = UARTSink()
            guestConsole.beginHypervisorLine(to: &out)
            writeStatusReport(to: &out)
        case .none: break
        }
    }
}

/// Whether partition `p` has input waiting (caller holds the console lock).
func consoleInputWaiting(_ p: Int) -> Bool {
    pollConsoleInput()
    return !consoleInput[p].isEmpty
}

/// Partition `p`'s next input byte (caller holds the console lock).
func takeConsoleInput(_ p: Int) -> UInt8? {
    pollConsoleInput()
    return consoleInput[p].pop()
}
