// Console output over SBI: DBCN when the SBI implementation has it, legacy putchar otherwise.
// Lines are assembled in a fixed stack buffer and written in one go under a spinlock, so lines
// printed by different vCPUs never interleave. No heap: text is StaticString or TextSink output.

import GuestArch
import Synchronization

/// One line of text being assembled (at most `Line.capacity` bytes; the rest is cut off).
/// A `TextSink`, so `write(_:)`, `write(decimal:)` and `write(hex:)` come from BulkheadCore.
public struct Line: TextSink {
    public static let capacity = 160
    var bytes = InlineArray<160, UInt8>(repeating: 0)
    public private(set) var count = 0

    public init() {}

    public mutating func write(byte: UInt8) {
        guard count < Self.capacity else { return }
        bytes[count] = byte
        count &+= 1
    }

    /// Ends the line with a newline, cutting the text if it is full.
    mutating func terminate() {
        if count == Self.capacity { count = Self.capacity &- 1 }
        write(byte: 10)
    }

    /// A signed decimal, e.g. an SBI error code.
    public mutating func write(signed value: Int64) {
        if value < 0 { write(byte: UInt8(ascii: "-")) }
        write(decimal: value.magnitude)
    }
}

/// How the console reaches the SBI implementation; found by probing once.
private enum ConsoleKind: Int { case unknown = 0, debugConsole = 1, legacy = 2 }
private let consoleKind = Atomic<Int>(0)
private let consoleLock = Atomic<Bool>(false)

public enum Console {
    /// Prints `text` followed by a newline.
    public static func print(_ text: StaticString) {
        var line = Line()
        line.write(text)
        print(line)
    }

    /// Builds one line with `body` and prints it with a newline, e.g.
    /// `Console.line { $0.write("tick "); $0.write(decimal: n) }`.
    public static func line(_ body: (inout Line) -> Void) {
        var line = Line()
        body(&line)
        print(line)
    }

    /// Prints `line` followed by a newline, as one unit.
    public static func print(_ line: Line) {
        var line = line
        line.terminate()
        let count = line.count
        lock()
        withUnsafeBytes(of: &line.bytes) { write(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        unlock()
    }

    /// Writes raw bytes (no newline, no lock).
    public static func write(_ bytes: UnsafeRawBufferPointer) {
        if kind() == .debugConsole {
            var rest = bytes
            while rest.count > 0 {
                let result = SBI.consoleWrite(rest)
                guard result.succeeded, result.value > 0, result.value <= UInt64(rest.count) else { break }
                rest = UnsafeRawBufferPointer(rebasing: rest[Int(result.value)...])
            }
            if rest.count == 0 { return }
            for byte in rest { _ = SBI.consoleWriteByte(byte) }
        } else {
            for byte in bytes { _ = SBI.legacyPutchar(byte) }
        }
    }

    private static func kind() -> ConsoleKind {
        if let known = ConsoleKind(rawValue: consoleKind.load(ordering: .relaxed)), known != .unknown {
            return known
        }
        let probe = SBI.probeExtension(SBIExtension.dbcn)
        let found: ConsoleKind = probe.succeeded && probe.value != 0 ? .debugConsole : .legacy
        consoleKind.store(found.rawValue, ordering: .relaxed)
        return found
    }

    private static func lock() {
        while !consoleLock.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {}
    }

    private static func unlock() { consoleLock.store(false, ordering: .releasing) }
}
