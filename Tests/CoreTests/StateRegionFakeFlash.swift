// Host-only fake NOR flash for the state-region tests: NOR rules enforced, power loss on demand.

@testable import BulkheadCore

/// An array-backed NOR flash. Programming can only clear bits (a 0 → 1 bit fails the call),
/// erase sets a whole aligned block to 0xFF, erased bytes read as 0xFF.
///
/// Power loss: every programmed byte and every erase *step* (`eraseStep` bytes of a block) is one
/// unit of work. With `powerBudget = n`, the first `n` units complete and power is lost at unit
/// `n`: that unit is torn (see `TearMode`), the call returns false, and every later call fails
/// until `restorePower()`.
struct FakeNORFlash: FlashDevice {
    /// What a torn unit leaves behind.
    enum TearMode {
        /// The torn unit has no effect: the byte keeps its old value, the erase step is not done.
        case clean
        /// Undefined results, drawn from a generator seeded with `seed`: the torn byte gets a
        /// random subset of the bits it was clearing cleared; a torn erase leaves the torn step
        /// and the rest of the block random.
        case noisy(seed: UInt64)
    }

    var bytes: [UInt8]
    let eraseBlockSize: Int
    /// Bytes erased per unit of work.
    let eraseStep: Int
    var size: Int { bytes.count }

    /// Units left before power is lost; `nil`: power never fails.
    var powerBudget: Int?
    var tearMode: TearMode = .clean
    private(set) var poweredOff = false
    /// Units completed since creation (programmed bytes plus erase steps).
    private(set) var unitsDone = 0
    private(set) var eraseCount = 0
    /// Offsets of the erase blocks that `erase` or `program` has touched.
    private(set) var touchedBlocks: Set<Int> = []

    // Injected device faults (not power loss).
    var failReads = false
    var failErases = false
    var failPrograms = false
    /// `program` reports success but changes nothing (a device that ignores its commands).
    var ignorePrograms = false

    init(blocks: Int, eraseBlockSize: Int, eraseStep: Int? = nil) {
        self.eraseBlockSize = eraseBlockSize
        self.eraseStep = eraseStep ?? eraseBlockSize
        precondition(eraseBlockSize % self.eraseStep == 0)
        bytes = [UInt8](repeating: 0xFF, count: blocks * eraseBlockSize)
    }

    /// Starts a fresh record of touched blocks.
    mutating func forgetTouchedBlocks() { touchedBlocks = [] }

    /// Power comes back: the device works again, with no budget.
    mutating func restorePower() { poweredOff = false; powerBudget = nil }

    func read(offset: Int, into buffer: UnsafeMutableRawBufferPointer) -> Bool {
        guard !poweredOff, !failReads, offset >= 0, offset <= bytes.count - buffer.count else { return false }
        for i in 0..<buffer.count { buffer[i] = bytes[offset + i] }
        return true
    }

    mutating func erase(blockAt offset: Int) -> Bool {
        guard !poweredOff, !failErases, offset >= 0, offset % eraseBlockSize == 0,
              offset <= bytes.count - eraseBlockSize else { return false }
        eraseCount += 1
        touchedBlocks.insert(offset)
        var start = offset
        while start < offset + eraseBlockSize {
            if consumeUnitLosesPower() {
                switch tearMode {
                case .clean:
                    break
                case .noisy(let seed):
                    var rng = SplitMix64(seed: seed &+ UInt64(start))
                    bytes.withUnsafeMutableBytes { raw in
                        for i in start..<(offset + eraseBlockSize) { raw[i] = UInt8(truncatingIfNeeded: rng.next()) }
                    }
                }
                return false
            }
            let step = start..<(start + eraseStep)
            _ = bytes.withUnsafeMutableBytes { raw in
                UnsafeMutableRawBufferPointer(rebasing: raw[step]).initializeMemory(as: UInt8.self, repeating: 0xFF)
            }
            start += eraseStep
        }
        return true
    }

    mutating func program(offset: Int, bytes new: UnsafeRawBufferPointer) -> Bool {
        guard !poweredOff, !failPrograms, offset >= 0, offset <= bytes.count - new.count else { return false }
        if ignorePrograms { return true }
        if !new.isEmpty {
            touchedBlocks.insert(offset - offset % eraseBlockSize)
            touchedBlocks.insert((offset + new.count - 1) - (offset + new.count - 1) % eraseBlockSize)
        }
        for i in 0..<new.count {
            let old = bytes[offset + i]
            // NOR: a bit that is 0 cannot become 1 without an erase.
            guard old & new[i] == new[i] else { return false }
            if consumeUnitLosesPower() {
                if case .noisy(let seed) = tearMode {
                    var rng = SplitMix64(seed: seed &+ UInt64(offset + i))
                    let keep = UInt8(truncatingIfNeeded: rng.next())   // bits that stay 1 this time
                    bytes[offset + i] = old & (new[i] | keep)
                }
                return false
            }
            bytes[offset + i] = new[i]
        }
        return true
    }

    /// Counts one unit; true (and powered off) when the budget was already spent.
    private mutating func consumeUnitLosesPower() -> Bool {
        if let budget = powerBudget {
            if budget == 0 { poweredOff = true; return true }
            powerBudget = budget - 1
        }
        unitsDone += 1
        return false
    }
}
