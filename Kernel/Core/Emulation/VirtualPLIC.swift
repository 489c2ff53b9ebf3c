// One partition's emulated PLIC (riscv-plic-spec 1.0.0): the register model behind its trapped MMIO.
//
// The hypervisor claims a source on the physical PLIC and `raise`s it here; the guest then claims
// and completes it through this model, and its completion is mirrored to the physical PLIC. So a
// source that is pending or in service here is held claimed on the physical PLIC (its gateway
// forwards nothing new until that completion).
//
// Invariants (every mutation keeps them; none depends on guest input being in range):
//   - `owned` never changes and holds only IDs 1...255; `contextCount` is 0...8.
//   - pending, inService, every enable set and priority plane hold only owned sources:
//     a source of another partition reads 0 everywhere, ignores writes and is never claimed.
//   - A source's priority (0...7) is held bit-sliced: bit b of it is the source's bit in
//     `priorityBit<b>`. Priority 0 ("never interrupt") is in none of the three planes.
//   - Enable sets and thresholds of contexts >= `contextCount` stay empty / 0.
//   - Claim and wantsInterrupt are O(1) in the number of sources: candidates = pending & enables &
//     ~inService (4 words); for plane 2, 1, 0 the candidates narrow to those with the plane's bit
//     set, if any has it (a bit-sliced maximum), which leaves the sources of the highest priority;
//     the lowest set bit of the lowest word among them wins (the spec's tie-break: lowest ID), and
//     only if its priority exceeds the context's threshold. 3 x 4 ANDs, one trailingZeroBitCount.
//   - A guest offset or value indexes storage only after a range check, masked (`& 3`, `& 7`).
// Deviation noted: the spec says a claim "is not affected by the setting of the priority threshold
// register"; like QEMU's PLIC, this model only claims sources above the threshold, which is what
// the context's notification (`wantsInterrupt`) promises.

/// A set of interrupt source IDs 1...255 as a bitmap: bit (id % 64) of word (id / 64). Never holds 0.
public struct PLICSourceSet: Equatable, Sendable {
    public static let wordCount = 4
    public private(set) var words = InlineArray<4, UInt64>(repeating: 0)

    public init() {}

    /// Whether `source` is a representable ID (1...255).
    @inline(__always) public static func isValid(_ source: Int) -> Bool { source > 0 && source < 256 }

    public func contains(_ source: Int) -> Bool {
        guard Self.isValid(source) else { return false }
        return words[(source >> 6) & 3] >> UInt64(source & 63) & 1 != 0
    }

    /// Adds `source`; IDs outside 1...255 are ignored.
    public mutating func insert(_ source: Int) {
        guard Self.isValid(source) else { return }
        words[(source >> 6) & 3] |= UInt64(1) << UInt64(source & 63)
    }

    public mutating func remove(_ source: Int) {
        guard Self.isValid(source) else { return }
        words[(source >> 6) & 3] &= ~(UInt64(1) << UInt64(source & 63))
    }

    /// Inserts `source` when `member`, else removes it.
    public mutating func update(_ source: Int, _ member: Bool) {
        if member { insert(source) } else { remove(source) }
    }

    public mutating func removeAll() { words = InlineArray(repeating: 0) }

    public func union(_ other: PLICSourceSet) -> PLICSourceSet {
        var result = self
        for i in 0..<4 { result.words[i] |= other.words[i] }
        return result
    }

    public var isEmpty: Bool { words[0] | words[1] | words[2] | words[3] == 0 }
    /// The highest source in the set (0 when empty).
    public var highest: Int {
        var w = 3
        while w >= 0 {
            if words[w] != 0 { return w &* 64 &+ 63 &- words[w].leadingZeroBitCount }
            w &-= 1
        }
        return 0
    }

    /// The 64-bit word `index` (0...3); 0 outside.
    public func word(_ index: Int) -> UInt64 { index >= 0 && index < 4 ? words[index & 3] : 0 }

    /// The 32-bit PLIC register word `index` (sources 32*index...): 0 for words past source 255.
    public func word32(_ index: Int) -> UInt32 {
        guard index >= 0, index < 8 else { return 0 }
        return UInt32(truncatingIfNeeded: words[(index >> 1) & 3] >> UInt64((index & 1) * 32))
    }

    /// Replaces the 32-bit word `index` (0...7) with `value`; other indices are ignored, and so is
    /// bit 0 of word 0 (source 0 does not exist).
    public mutating func setWord32(_ index: Int, _ value: UInt32) {
        guard index >= 0, index < 8 else { return }
        let shift = UInt64((index & 1) * 32)
        let bits = index == 0 ? value & ~1 : value
        let word = words[(index >> 1) & 3] & ~(UInt64(0xFFFF_FFFF) << shift)
        words[(index >> 1) & 3] = word | UInt64(bits) << shift
    }

    public static func == (a: PLICSourceSet, b: PLICSourceSet) -> Bool {
        a.words[0] == b.words[0] && a.words[1] == b.words[1] && a.words[2] == b.words[2] && a.words[3] == b.words[3]
    }
}

/// What a guest write means for the physical PLIC.
public enum PLICWriteEffect: Equatable, Sendable {
    /// Nothing to mirror (also for thresholds, which only this model applies).
    case none
    /// The guest completed `source`, which it had claimed: complete it on the physical PLIC.
    case complete(source: Int)
    /// An owned source's priority changed to `value` (0...7). Optional to mirror: the model applies it.
    case priority(source: Int, value: UInt32)
    /// The owned bits of 32-bit enable word `word` on virtual context `context` changed to `bits`
    /// (other partitions' bits are 0: merge them in). Optional to mirror: the model applies it.
    case enableWord(context: Int, word: Int, bits: UInt32)
}

/// One partition's PLIC: context i is the S-mode context of the partition's vCPU i.
/// After any write, or a `raise`, the contexts whose `wantsInterrupt` changed need VSEIP updated.
public struct VirtualPLIC: Sendable {
    public static let maxSources = 256
    public static let maxContexts = 8
    /// Priorities are 3 bits (QEMU virt): 0 "never interrupt", 1 lowest ... 7 highest.
    public static let priorityMask: UInt32 = 7

    /// The sources this partition owns (its devices' interrupts).
    public let owned: PLICSourceSet
    /// The partition's vCPUs: contexts 0..<contextCount exist.
    public let contextCount: Int
    /// Sources raised by the hypervisor and not yet claimed by the guest.
    public private(set) var pending = PLICSourceSet()
    /// Sources the guest claimed and has not completed.
    public private(set) var inService = PLICSourceSet()
    // Named planes, not an InlineArray: a non-mutating read of an InlineArray at a run-time index
    // copies the whole array to the stack (-Osize), and claims run on the trap path.
    private var priorityBit0 = PLICSourceSet()
    private var priorityBit1 = PLICSourceSet()
    private var priorityBit2 = PLICSourceSet()
    private var enables = InlineArray<8, PLICSourceSet>(repeating: PLICSourceSet())
    private var thresholds = InlineArray<8, UInt8>(repeating: 0)

    /// A PLIC for `contextCount` vCPUs (clamped to 0...8) exposing the sources in `owned`.
    public init(owned: PLICSourceSet, contextCount: Int) {
        self.owned = owned
        self.contextCount = min(max(contextCount, 0), Self.maxContexts)
    }

    /// The priority of `source`; 0 when not owned.
    public func priority(of source: Int) -> UInt32 {
        (priorityBit0.contains(source) ? 1 : 0) | (priorityBit1.contains(source) ? 2 : 0)
            | (priorityBit2.contains(source) ? 4 : 0)
    }

    public func threshold(of context: Int) -> UInt32 {
        hasContext(context) ? UInt32(thresholds[context & 7]) : 0
    }

    /// The hypervisor claimed `source` on the physical PLIC: make it pending. False when not owned.
    public mutating func raise(source: Int) -> Bool {
        guard owned.contains(source) else { return false }
        pending.insert(source)
        return true
    }

    /// The source `context` would claim now: pending, enabled there, not in service, priority above
    /// the context's threshold; highest priority, then lowest ID. 0 when none.
    public func claimable(context: Int) -> Int {
        guard hasContext(context) else { return 0 }
        let enabled = enables[context & 7]
        var c0 = pending.word(0) & enabled.word(0) & ~inService.word(0)
        var c1 = pending.word(1) & enabled.word(1) & ~inService.word(1)
        var c2 = pending.word(2) & enabled.word(2) & ~inService.word(2)
        var c3 = pending.word(3) & enabled.word(3) & ~inService.word(3)
        for plane in 0..<3 {
            let bits = plane == 0 ? priorityBit2 : plane == 1 ? priorityBit1 : priorityBit0
            let t0 = c0 & bits.word(0), t1 = c1 & bits.word(1), t2 = c2 & bits.word(2), t3 = c3 & bits.word(3)
            if t0 | t1 | t2 | t3 != 0 { (c0, c1, c2, c3) = (t0, t1, t2, t3) }
        }
        let source = c0 != 0 ? c0.trailingZeroBitCount : c1 != 0 ? 64 &+ c1.trailingZeroBitCount
            : c2 != 0 ? 128 &+ c2.trailingZeroBitCount : c3 != 0 ? 192 &+ c3.trailingZeroBitCount : 0
        return priority(of: source) > UInt32(thresholds[context & 7]) ? source : 0
    }

    /// The contexts that can take `source` now (enabled there, not in service, priority above the
    /// context's threshold), as a mask (bit i = context i): after `raise`, each of them wants an
    /// interrupt. Mutating only so that the enables are read in place (no copy on the trap path).
    public mutating func contextsTaking(source: Int) -> UInt8 {
        guard owned.contains(source), !inService.contains(source) else { return 0 }
        let level = priority(of: source)
        var mask: UInt8 = 0
        var context = 0
        while context < contextCount && context < Self.maxContexts {
            if enables[context & 7].contains(source) && level > UInt32(thresholds[context & 7]) { mask |= 1 << UInt8(context) }
            context &+= 1
        }
        return mask
    }

    /// Whether vCPU `context`'s external interrupt (VSEIP) should be asserted.
    public func wantsInterrupt(context: Int) -> Bool { claimable(context: context) != 0 }

    /// The contexts that want an interrupt now, as a mask: bit i is context i.
    public func contextsWanting() -> UInt8 {
        var mask: UInt8 = 0
        for context in 0..<Self.maxContexts where wantsInterrupt(context: context) { mask |= 1 << UInt8(context & 7) }
        return mask
    }

    /// A guest load of the 32-bit register at `offset`. Reading claim/complete claims.
    public mutating func read(offset: UInt64) -> UInt32 {
        switch PLICRegister.decode(offset: offset) {
        case .priority(let source): return priority(of: source)
        case .pending(let word): return pending.word32(word)
        case .enable(let context, let word): return hasContext(context) ? enables[context & 7].word32(word) : 0
        case .threshold(let context): return threshold(of: context)
        case .claimComplete(let context): return UInt32(truncatingIfNeeded: claim(context: context))
        case .reserved: return 0
        }
    }

    /// A guest store of `value` to the 32-bit register at `offset`.
    public mutating func write(offset: UInt64, value: UInt32) -> PLICWriteEffect {
        switch PLICRegister.decode(offset: offset) {
        case .priority(let source):
            return setPriority(source: source, value: value & Self.priorityMask)
        case .enable(let context, let word):
            guard hasContext(context), word < 8 else { return .none }
            let bits = value & owned.word32(word)
            guard bits != enables[context & 7].word32(word) else { return .none }
            enables[context & 7].setWord32(word, bits)
            return .enableWord(context: context, word: word, bits: bits)
        case .threshold(let context):
            if hasContext(context) { thresholds[context & 7] = UInt8(truncatingIfNeeded: value & Self.priorityMask) }
            return .none
        case .claimComplete(let context):
            return complete(context: context, source: Int(value))
        case .pending, .reserved:
            return .none
        }
    }

    /// The guest's claim on `context`: the claimable source leaves pending and enters service.
    public mutating func claim(context: Int) -> Int {
        let source = claimable(context: context)
        if source != 0 {
            pending.remove(source)
            inService.insert(source)
        }
        return source
    }

    /// The guest's completion of `source` on `context`: ignored unless the source is enabled there
    /// (spec, "Interrupt Completion") and in service.
    public mutating func complete(context: Int, source: Int) -> PLICWriteEffect {
        guard hasContext(context), enables[context & 7].contains(source), inService.contains(source) else {
            return .none
        }
        inService.remove(source)
        return .complete(source: source)
    }

    /// Partition restart: priorities, enables, thresholds, pending and in-service all to 0. Returns
    /// the sources held claimed on the physical PLIC (pending or in service): complete each there.
    @discardableResult
    public mutating func reset() -> PLICSourceSet {
        let held = pending.union(inService)
        self = VirtualPLIC(owned: owned, contextCount: contextCount)
        return held
    }

    private func hasContext(_ context: Int) -> Bool { context >= 0 && context < contextCount }

    private mutating func setPriority(source: Int, value: UInt32) -> PLICWriteEffect {
        guard owned.contains(source), priority(of: source) != value else { return .none }
        priorityBit0.update(source, value & 1 != 0)
        priorityBit1.update(source, value & 2 != 0)
        priorityBit2.update(source, value & 4 != 0)
        return .priority(source: source, value: value)
    }
}
