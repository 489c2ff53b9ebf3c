// The hypervisor-owned console: its own messages marked "[bulkhead]", guest lines tagged with the partition name.
// Lock order: the console lock is a leaf; nothing else is taken while holding it.
import BulkheadCore
import Synchronization

nonisolated(unsafe) var consoleUART = NS16550A(base: 0x1000_0000)
let consoleLock = Atomic<UInt32>(0)

@inline(__always) func withConsoleLock<R>(_ body: () -> R) -> R {
    while consoleLock.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged == false {}
    let result = body()
    consoleLock.store(0, ordering: .releasing)
    return result
}

/// Writes straight to the UART; callers hold the console lock.
struct UARTSink: TextSink {
    mutating func write(byte: UInt8) {
        if byte == 10 { consoleUART.put(13) }
        consoleUART.put(byte)
    }
}

/// Prints one hypervisor line: `[bulkhead] ...`.
func log(_ body: (inout UARTSink) -> Void) {
    withConsoleLock {
        var out = UARTSink()
        out.write("[bulkhead] ")
        body(&out)
        out.write(byte: 10)
    }
}

func log(_ text: StaticString) { log { $0.write(text) } }

/// Per-partition line buffers, so that each guest line reaches the UART whole and tagged.
/// A line longer than `GuestLine.capacity` bytes is printed in pieces of that size.
struct GuestLine {
    static let capacity = 200
    var bytes = InlineArray<200, UInt8>(repeating: 0)
    var count = 0
}
nonisolated(unsafe) var guestLines = InlineArray<8, GuestLine>(repeating: GuestLine())

/// Adds one byte of partition `p`'s output; a newline (or a full buffer) prints the line.
func guestConsolePut(partition p: Int, _ byte: UInt8) {
    withConsoleLock {
        if byte == 13 { return }
        if byte != 10 {
            guestLines[p].bytes[guestLines[p].count] = byte
            guestLines[p].count += 1
        }
        if byte == 10 || guestLines[p].count == GuestLine.capacity { flushGuestLine(p) }
    }
}

/// Prints partition `p`'s pending partial line, if any (caller holds the lock).
private func flushGuestLine(_ p: Int) {
    var out = UARTSink()
    out.write(byte: UInt8(ascii: "["))
    plan[p].name.withBytes { out.write(bytes: $0) }
    out.write("] ")
    var i = 0
    while i < guestLines[p].count { out.write(byte: guestLines[p].bytes[i]); i += 1 }
    out.write(byte: 10)
    guestLines[p].count = 0
}

/// Flushes a partial line when a partition stops, so nothing it printed is lost.
func guestConsoleFlush(partition p: Int) {
    withConsoleLock { if guestLines[p].count > 0 { flushGuestLine(p) } }
}

// MARK: Input (Core's ConsoleFocus: Ctrl-B then a digit moves the focus; README "Console input")

nonisolated(unsafe) var consoleFocus = ConsoleFocus(count: 0)
nonisolated(unsafe) var consoleInput = InlineArray<8, InputQueue>(repeating: InputQueue())

/// Sets up the focus once the plan is known: the first Linux partition, else partition 0.
func setUpConsoleInput() {
    var first = 0
    var p = plan.count - 1
    while p >= 0 { if plan[p].hasVirtualUART { first = p }; p -= 1 }
    consoleFocus = ConsoleFocus(count: plan.count, focused: first)
}

/// Moves every byte waiting in the UART's receiver to the partition with focus (caller holds the lock).
private func pollConsoleInput() {
    while let byte = consoleUART.get() {
        switch consoleFocus.feed(byte) {
        case .deliver(let p, let b): consoleInput[p].push(b)
        case .focus(let p):
            var out = UARTSink()
            out.write("\n[bulkhead] console input now goes to partition "); out.write(decimal: UInt64(p))
            out.write(" ("); plan[p].name.withBytes { out.write(bytes: $0) }; out.write(")\n")
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
