// Console output rules: guest output gathered into tagged lines; a partial line (a prompt) shown after an idle time.
//
// Every partition's output is buffered per partition and reaches the console as whole lines,
// each starting with the partition's tag `[name] `, so that lines of different partitions and of
// the hypervisor never mix. A line is printed when:
//   - its newline arrives (a carriage return is dropped: the console adds its own);
//   - its buffer is full (`GuestLineBuffer.capacity` bytes);
//   - it has not grown for `ConsoleTiming.idle` (50 ms of timebase): a prompt such as U-Boot's
//     `=> ` or a shell's `# ` that waits for input without a newline.
// A line printed without its newline (full, or idle) leaves the console's current line *open*
// for that partition (`ConsoleCursor`). What follows:
//   - more output of the same partition, while nothing else was printed, continues that line
//     without a new tag: a prompt and the echo of what is typed at it stay one line
//     (`[uboot] => version`);
//   - any other output (the hypervisor's, another partition's) first ends the open line with a
//     newline; the partition's next output then starts a new line with its tag again.
// So every line of the console starts with a tag, and a partition's line is only ever split
// where another source printed in between.

/// One partition's pending output line (no heap). The kernel keeps one per partition.
public struct GuestLineBuffer: Sendable {
    public static let capacity = 200
    var bytes = InlineArray<200, UInt8>(repeating: 0)
    public private(set) var count = 0
    /// The `time` value at which the pending bytes last grew (meaningful when `count > 0`).
    public private(set) var lastExtended: UInt64 = 0

    public init() {}

    /// What `append` asks the caller to print.
    public enum Flush: Equatable, Sendable {
        /// Nothing yet: the byte is pending.
        case none
        /// The pending bytes and a newline: a complete line.
        case line
        /// The pending bytes without a newline: the buffer is full.
        case full
    }

    /// Adds one byte of output at time `now`.
    public mutating func append(_ byte: UInt8, now: UInt64) -> Flush {
        if byte == 13 { return .none }
        if byte == 10 { return .line }
        bytes[count] = byte
        count &+= 1
        lastExtended = now
        return count == Self.capacity ? .full : .none
    }

    /// Whether a partial line is pending and has not grown for `idle` ticks at `now`.
    public func isIdle(now: UInt64, idle: UInt64) -> Bool {
        count > 0 && now &- lastExtended >= idle
    }

    /// When the pending partial line becomes idle (nil when nothing is pending).
    public func idleDeadline(idle: UInt64) -> UInt64? {
        count > 0 ? lastExtended &+ idle : nil
    }

    /// Hands the pending bytes to `body`, then empties the buffer.
    public mutating func drain(_ body: (UInt8) -> Void) {
        var i = 0
        while i < count { body(bytes[i]); i &+= 1 }
        count = 0
    }
}

/// Which source the console's current (physical) line belongs to, and so what must be written
/// before the next output (see the rules at the top of this file).
public struct ConsoleCursor: Sendable {
    /// The partition whose partial line is open, or -1: the console is at the start of a line.
    public private(set) var openPartition = -1

    public init() {}

    /// What to write before a piece of output.
    public struct Lead: Equatable, Sendable {
        /// End the open line first (another source's line is open).
        public var newline: Bool
        /// Start with the partition's tag.
        public var tag: Bool
    }

    /// Before partition `p`'s output: `complete` says whether the piece ends with its newline
    /// (else the line stays open for `p`).
    public mutating func partitionOutput(_ p: Int, complete: Bool) -> Lead {
        let continues = openPartition == p
        let lead = Lead(newline: openPartition >= 0 && !continues, tag: !continues)
        openPartition = complete ? -1 : p
        return lead
    }

    /// Before a whole line of the hypervisor's: whether to end an open line first.
    public mutating func hypervisorLine() -> Bool {
        let open = openPartition >= 0
        openPartition = -1
        return open
    }
}

/// The console's clock rules, in timebase ticks.
public struct ConsoleTiming: Sendable {
    /// A partial line that has not grown for this long is printed (50 ms).
    public let idle: UInt64
    /// How often the trap path drains the physical UART's receiver into the input queues (1 ms),
    /// well within the time a 16-byte receive FIFO takes to fill at 115200 baud (1.4 ms).
    public let inputPoll: UInt64

    public init(timebaseFrequency: UInt32) {
        let hz = UInt64(max(timebaseFrequency, 1000))
        idle = hz / 20
        inputPoll = hz / 1000
    }

    /// When the console next needs service after one at `now`: the next input poll, or an
    /// earlier idle deadline of a pending partial line.
    public func nextService(after now: UInt64, earliestIdle: UInt64?) -> UInt64 {
        let poll = now &+ inputPoll
        guard let earliestIdle else { return poll }
        return min(poll, earliestIdle)
    }
}

/// All partitions' output lines and the console's cursor: what the kernel's console does with
/// guest output, as pure code (the kernel adds its lock, the UART and the clock). Every method
/// writes to `out` what must reach the console now; `name` gives partition `p`'s tag.
public struct GuestConsole: Sendable {
    public var lines = PerPartition<GuestLineBuffer>(repeating: GuestLineBuffer())
    public var cursor = ConsoleCursor()
    public var timing: ConsoleTiming

    public init(timing: ConsoleTiming) { self.timing = timing }

    /// One byte of partition `p`'s output at time `now`. Returns the time at which the line
    /// becomes idle when the byte left a partial line pending (nil when nothing is pending).
    public mutating func put<S: TextSink>(_ byte: UInt8, partition p: Int, now: UInt64, to out: inout S,
                                          name: (Int) -> PartitionName) -> UInt64? {
        guard p >= 0 && p < Limits.partitions else { return nil }
        switch lines[p].append(byte, now: now) {
        case .none: return lines[p].idleDeadline(idle: timing.idle)
        case .line: print(p, complete: true, to: &out, name: name)
        case .full: print(p, complete: false, to: &out, name: name)
        }
        return nil
    }

    /// Prints the partial lines of partitions 0 ..< `count` that are idle at `now` (leaving each
    /// open); returns the earliest idle deadline among lines still pending.
    public mutating func flushIdle<S: TextSink>(now: UInt64, count: Int, to out: inout S,
                                                name: (Int) -> PartitionName) -> UInt64? {
        var earliest: UInt64? = nil
        var p = 0
        while p < count && p < Limits.partitions {
            if lines[p].isIdle(now: now, idle: timing.idle) { print(p, complete: false, to: &out, name: name) }
            if let deadline = lines[p].idleDeadline(idle: timing.idle) { earliest = min(earliest ?? deadline, deadline) }
            p &+= 1
        }
        return earliest
    }

    /// Prints partition `p`'s pending bytes as a complete line (it stops: nothing may be lost).
    public mutating func flush<S: TextSink>(partition p: Int, to out: inout S, name: (Int) -> PartitionName) {
        guard p >= 0 && p < Limits.partitions, lines[p].count > 0 else { return }
        print(p, complete: true, to: &out, name: name)
    }

    /// Before a line of the hypervisor's own: ends an open partial line.
    public mutating func beginHypervisorLine<S: TextSink>(to out: inout S) {
        if cursor.hypervisorLine() { out.write(byte: 10) }
    }

    /// Partition `p`'s pending bytes, tagged unless they continue its open line, and a newline
    /// when `complete`.
    mutating func print<S: TextSink>(_ p: Int, complete: Bool, to out: inout S, name: (Int) -> PartitionName) {
        let lead = cursor.partitionOutput(p, complete: complete)
        if lead.newline { out.write(byte: 10) }
        if lead.tag {
            out.write(byte: UInt8(ascii: "["))
            name(p).withBytes { out.write(bytes: $0) }
            out.write("] ")
        }
        lines[p].drain { out.write(byte: $0) }
        if complete { out.write(byte: 10) }
    }
}
