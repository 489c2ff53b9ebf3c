// The PLIC register map against riscv-plic-spec 1.0.0's numbers, and one partition's virtual PLIC:
// ownership, claim/complete, thresholds, per-context isolation, reset.

import Testing
@testable import BulkheadCore

private func sources(_ ids: Int...) -> PLICSourceSet {
    var set = PLICSourceSet()
    for id in ids { set.insert(id) }
    return set
}

/// A guest's view of one partition's PLIC (a class, so that `#expect` can hold its mutating accesses).
private final class Guest {
    var plic: VirtualPLIC

    /// Owns sources 1, 2, 3, 10, 33, 64, 130 and 200 (not 5: another partition's), two vCPUs.
    init(owned: PLICSourceSet = sources(1, 2, 3, 10, 33, 64, 130, 200), contexts: Int = 2) {
        plic = VirtualPLIC(owned: owned, contextCount: contexts)
    }

    func read(_ offset: UInt64) -> UInt32 { plic.read(offset: offset) }
    func write(_ offset: UInt64, _ value: UInt32) -> PLICWriteEffect { plic.write(offset: offset, value: value) }
    func raise(_ source: Int) -> Bool { plic.raise(source: source) }
    func wants(_ context: Int = 0) -> Bool { plic.wantsInterrupt(context: context) }
    func taking(_ source: Int) -> UInt8 { plic.contextsTaking(source: source) }
    func reset() -> PLICSourceSet { plic.reset() }
    func setPriority(_ source: Int, _ value: UInt32) { _ = write(PLICLayout.priority(source: source), value) }
    func setThreshold(_ value: UInt32, _ context: Int = 0) { _ = write(PLICLayout.threshold(context: context), value) }
    func enable(_ source: Int, context: Int = 0) {
        let offset = PLICLayout.enable(context: context, word: source / 32)
        _ = write(offset, read(offset) | 1 << UInt32(source % 32))
    }
    func claim(_ context: Int = 0) -> UInt32 { read(PLICLayout.claimComplete(context: context)) }
    func complete(_ source: UInt32, _ context: Int = 0) -> PLICWriteEffect {
        write(PLICLayout.claimComplete(context: context), source)
    }
    /// Give `source` a priority, enable it on context 0 and raise it.
    func arm(_ source: Int, priority: UInt32) {
        setPriority(source, priority)
        enable(source)
        _ = raise(source)
    }
}

@Suite("Virtual PLIC: register map and one partition's model")
struct VirtualPLICTests {
    /// The trap path's shortcut: the contexts that can take a newly raised source are exactly
    /// those that then want an interrupt because of it.
    @Test func contextsTakingASource() {
        let g = Guest()
        g.setPriority(10, 2)
        #expect(g.taking(10) == 0)                       // enabled nowhere
        g.enable(10, context: 1)
        _ = g.raise(10)
        #expect(g.taking(10) == 0b10)
        #expect(!g.wants(0) && g.wants(1))
        g.enable(10, context: 0)
        #expect(g.taking(10) == 0b11)
        g.setThreshold(2, 0)                             // priority 2 is not above threshold 2
        #expect(g.taking(10) == 0b10)
        #expect(g.claim(1) == 10)
        #expect(g.taking(10) == 0)                       // in service: nobody takes it again yet
        #expect(g.taking(5) == 0)                        // another partition's source
        g.setPriority(33, 0)
        g.enable(33, context: 1)
        #expect(g.taking(33) == 0)                       // priority 0 never interrupts
    }

    @Test func offsetsMatchTheSpec() {
        #expect(PLICLayout.priority(source: 1) == 0x4 && PLICLayout.priority(source: 1023) == 0xFFC)
        #expect(PLICLayout.pending(word: 0) == 0x1000 && PLICLayout.pending(word: 31) == 0x107C)
        #expect(PLICLayout.enable(context: 0, word: 0) == 0x2000 && PLICLayout.enable(context: 0, word: 31) == 0x207C)
        #expect(PLICLayout.enable(context: 1, word: 0) == 0x2080 && PLICLayout.enable(context: 2, word: 1) == 0x2104)
        #expect(PLICLayout.enable(context: 15871, word: 0) == 0x1F_1F80)
        #expect(PLICLayout.threshold(context: 0) == 0x20_0000 && PLICLayout.claimComplete(context: 0) == 0x20_0004)
        #expect(PLICLayout.threshold(context: 1) == 0x20_1000 && PLICLayout.claimComplete(context: 1) == 0x20_1004)
        #expect(PLICLayout.threshold(context: 15871) == 0x3FF_F000 && PLICLayout.claimComplete(context: 15871) == 0x3FF_F004)
        #expect(PLICLayout.span == 0x400_0000)
        // decode is the inverse of the offsets.
        let registers: [PLICRegister] = [.priority(source: 1), .priority(source: 1023), .pending(word: 0),
                                         .pending(word: 31), .enable(context: 0, word: 0), .enable(context: 1, word: 0),
                                         .enable(context: 15871, word: 31), .threshold(context: 0),
                                         .threshold(context: 15871), .claimComplete(context: 1),
                                         .claimComplete(context: 15871)]
        for register in registers {
            let offset = register.offset
            #expect(offset != nil && PLICRegister.decode(offset: offset ?? 1) == register)
        }
        #expect(PLICRegister.decode(offset: 0x4) == .priority(source: 1))
        #expect(PLICRegister.decode(offset: 0x2084) == .enable(context: 1, word: 1))
        #expect(PLICRegister.decode(offset: 0x201004) == .claimComplete(context: 1))
    }

    @Test func reservedAndMisalignedOffsetsDecodeToReserved() {
        for offset: UInt64 in [0x0, 0x1, 0x2, 0x6, 0x1001, 0x1080, 0x1FFC, 0x2082, 0x1F_2000, 0x1F_FFFC,
                               0x20_0008, 0x20_0FFC, 0x20_1002, 0x3FF_F008, 0x400_0000, 0x400_0004, .max, .max - 3] {
            #expect(PLICRegister.decode(offset: offset) == .reserved)
        }
        #expect(PLICRegister.reserved.offset == nil && PLICRegister.priority(source: 0).offset == nil)
        #expect(PLICRegister.enable(context: 15872, word: 0).offset == nil && PLICRegister.pending(word: 32).offset == nil)
    }

    @Test func priorityMasksToThreeBits() {
        let guest = Guest()
        #expect(guest.write(0x4, 0xFFFF_FFFD) == .priority(source: 1, value: 5))
        #expect(guest.read(0x4) == 5)
        #expect(guest.write(0x4, 5) == .none)  // unchanged: nothing to mirror
        #expect(guest.write(0x4, 8) == .priority(source: 1, value: 0))
        #expect(guest.read(0x4) == 0)
        #expect(guest.write(PLICLayout.threshold(context: 0), 0xF) == .none)
        #expect(guest.read(PLICLayout.threshold(context: 0)) == 7)
    }

    @Test func sourceOfAnotherPartitionIsInvisible() {
        let guest = Guest()
        #expect(guest.write(PLICLayout.priority(source: 5), 7) == .none)
        #expect(guest.read(PLICLayout.priority(source: 5)) == 0)
        #expect(!guest.raise(5) && guest.read(0x1000) == 0)
        #expect(guest.write(0x2000, 0xFFFF_FFFF) == .enableWord(context: 0, word: 0, bits: 0x40E))
        #expect(guest.read(0x2000) & 1 << 5 == 0)
        #expect(guest.claim() == 0 && !guest.wants())
        #expect(guest.complete(5) == .none)
        // Sources past the model's 255 and the map's 1023 are just as harmless.
        #expect(!guest.raise(256) && !guest.raise(-1) && !guest.raise(0))
        #expect(guest.read(PLICLayout.priority(source: 1000)) == 0)
        #expect(guest.write(PLICLayout.enable(context: 0, word: 31), .max) == .none)
        #expect(guest.complete(0xFFFF_FFFF) == .none && guest.complete(0) == .none)
    }

    @Test func pendingBitsAreReadableAndReadOnly() {
        let guest = Guest()
        #expect(guest.raise(3) && guest.raise(33) && guest.raise(200))
        #expect(guest.read(0x1000) == 1 << 3 && guest.read(0x1004) == 1 << 1)
        #expect(guest.read(0x1018) == 1 << 8)  // 200 = 6 * 32 + 8
        #expect(guest.write(0x1000, 0) == .none && guest.read(0x1000) == 1 << 3)
        #expect(guest.read(0x1020) == 0 && guest.read(0x107C) == 0)
    }

    @Test func claimPicksHighestPriorityThenLowestID() {
        let guest = Guest()
        guest.arm(10, priority: 2)
        guest.arm(33, priority: 6)
        guest.arm(3, priority: 6)
        guest.arm(1, priority: 0)  // priority 0: never claimable
        #expect(guest.claim() == 3)  // tie at 6: lowest ID
        #expect(guest.read(0x1000) & 1 << 3 == 0)  // the claim cleared its pending bit
        #expect(guest.claim() == 33 && guest.claim() == 10)
        #expect(guest.claim() == 0)  // source 1 stays pending, priority 0
        #expect(guest.plic.pending.contains(1) && guest.plic.inService == sources(3, 10, 33))
    }

    @Test func thresholdMasksPrioritiesAtOrBelowIt() {
        let guest = Guest()
        guest.arm(2, priority: 3)
        _ = guest.write(PLICLayout.threshold(context: 0), 3)
        #expect(!guest.wants() && guest.claim() == 0)
        _ = guest.write(PLICLayout.threshold(context: 0), 2)
        #expect(guest.wants() && guest.claim() == 2)
    }

    @Test func noDoubleClaimWhileInService() {
        let guest = Guest()
        for source in [3, 64, 130, 200] {  // one in each bitmap word
            guest.arm(source, priority: 1)
            #expect(guest.claim() == UInt32(source))
            #expect(guest.raise(source))  // raised again before completion
            #expect(guest.claim() == 0 && !guest.wants())
            #expect(guest.complete(UInt32(source)) == .complete(source: source))
            #expect(guest.claim() == UInt32(source))
            #expect(guest.complete(UInt32(source)) == .complete(source: source))
        }
    }

    @Test func completeOnlyForAnEnabledSourceInService() {
        let guest = Guest()
        guest.arm(130, priority: 4)
        #expect(guest.complete(130) == .none)  // pending, not in service
        #expect(guest.claim() == 130)
        #expect(guest.complete(130, 1) == .none)  // not enabled on context 1: ignored
        #expect(guest.plic.inService.contains(130))
        #expect(guest.complete(130) == .complete(source: 130))
        #expect(guest.complete(130) == .none && guest.plic.inService.isEmpty)
        // Disabled after the claim: the completion is ignored (spec), the source stays in service.
        guest.arm(2, priority: 1)
        #expect(guest.claim() == 2)
        #expect(guest.write(0x2000, 0) == .enableWord(context: 0, word: 0, bits: 0))
        #expect(guest.complete(2) == .none && guest.plic.inService.contains(2))
    }

    @Test func contextsAreIsolated() {
        let guest = Guest()
        guest.arm(10, priority: 1)
        #expect(guest.wants() && !guest.wants(1))
        #expect(guest.plic.contextsWanting() == 0b01 && guest.claim(1) == 0)
        guest.enable(10, context: 1)
        #expect(guest.plic.contextsWanting() == 0b11)
        _ = guest.write(PLICLayout.threshold(context: 1), 7)
        #expect(guest.plic.contextsWanting() == 0b01 && guest.plic.threshold(of: 0) == 0)
        #expect(guest.claim(0) == 10 && guest.plic.contextsWanting() == 0)
    }

    @Test func contextsBeyondTheVCPUsAreIgnored() {
        let guest = Guest()
        guest.arm(10, priority: 1)
        for context in [2, 7, 8, 15871] {
            #expect(guest.write(PLICLayout.enable(context: context, word: 0), .max) == .none)
            #expect(guest.read(PLICLayout.enable(context: context, word: 0)) == 0)
            _ = guest.write(PLICLayout.threshold(context: context), 1)
            #expect(guest.read(PLICLayout.threshold(context: context)) == 0)
            #expect(guest.claim(context) == 0 && !guest.wants(context))
        }
        #expect(!guest.wants(-1) && guest.claim(-1) == 0)
        #expect(VirtualPLIC(owned: sources(1), contextCount: 100).contextCount == 8)
        #expect(VirtualPLIC(owned: sources(1), contextCount: -3).contextCount == 0)
    }

    @Test func wantsInterruptFollowsEachCondition() {
        let guest = Guest()
        #expect(!guest.wants())
        #expect(guest.raise(33))
        #expect(!guest.wants())  // priority 0, not enabled
        guest.setPriority(33, 1)
        #expect(!guest.wants())  // not enabled
        guest.enable(33)
        #expect(guest.wants())
        guest.setPriority(33, 0)
        #expect(!guest.wants())
        guest.setPriority(33, 7)
        #expect(guest.claim() == 33 && !guest.wants())
        #expect(guest.complete(33) == .complete(source: 33) && !guest.wants())
    }

    @Test func resetClearsStateAndReturnsPhysicallyHeldSources() {
        let guest = Guest()
        guest.arm(1, priority: 5)
        guest.arm(200, priority: 7)
        _ = guest.write(PLICLayout.threshold(context: 1), 4)
        #expect(guest.claim() == 200)
        let held = guest.reset()
        #expect(held == sources(1, 200))  // 1 pending, 200 in service
        #expect(guest.plic.pending.isEmpty && guest.plic.inService.isEmpty)
        #expect(guest.read(PLICLayout.priority(source: 1)) == 0 && guest.read(0x2000) == 0)
        #expect(guest.read(PLICLayout.enable(context: 0, word: 6)) == 0)
        #expect(guest.read(PLICLayout.threshold(context: 1)) == 0)
        #expect(guest.plic.owned == sources(1, 2, 3, 10, 33, 64, 130, 200) && guest.plic.contextCount == 2)
        #expect(guest.reset().isEmpty)
    }

    @Test func claimAcrossAllFourWords() {
        var all = PLICSourceSet()
        for id in 0..<300 { all.insert(id) }                          // 0 and 256... are dropped
        let guest = Guest(owned: all, contexts: 1)
        #expect(guest.plic.owned.word(0) == ~1 && guest.plic.owned.word(3) == .max && guest.plic.owned.word(4) == 0)
        var raw = PLICSourceSet()
        raw.setWord32(0, .max)
        raw.setWord32(8, .max)
        #expect(raw.word(0) == 0xFFFF_FFFE && !raw.contains(0) && raw.word32(8) == 0)
        for word in 0..<8 { _ = guest.write(PLICLayout.enable(context: 0, word: word), .max) }
        // Every source pending at priority 1 except 200 (3) and 255 and 64 (2).
        for id in 1..<256 {
            guest.setPriority(id, id == 200 ? 3 : (id == 255 || id == 64 ? 2 : 1))
            _ = guest.raise(id)
        }
        #expect(guest.claim() == 200 && guest.claim() == 64 && guest.claim() == 255)
        var expected = 1
        while expected < 256 {
            if expected != 64 && expected != 200 && expected != 255 { #expect(guest.claim() == UInt32(expected)) }
            expected += 1
        }
        #expect(guest.claim() == 0 && guest.plic.pending.isEmpty && guest.plic.inService == all)
    }
}
