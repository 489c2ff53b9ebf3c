// The partition-update area: the record's encoding, choosing the copy in force, free slots, the floor, and power cuts at every unit of work.

import Testing
@testable import BulkheadCore

@Suite("Partition update area (flash)")
struct UpdateAreaTests {
    /// 64 KiB blocks: copy A in block 1, copy B in block 3 (blocks 0 and 2 are neighbours that
    /// must never change), two 1 MiB image slots from block 4, one spare block at the end.
    static let block = 0x1_0000
    static let area = UpdateArea(recordA: FlashRange(offset: block, size: block), recordB: FlashRange(offset: 3 * block, size: block),
                                 images: FlashRange(offset: 4 * block, size: 2 * UpdateArea.slotSize))
    static func flash(eraseStep: Int? = nil) -> FakeNORFlash { FakeNORFlash(blocks: 37, eraseBlockSize: block, eraseStep: eraseStep) }

    static func digest(_ b: UInt8) -> SHA512Digest { SHA512Digest(bytes: InlineArray(repeating: b)) }
    static let manifest = digest(0x4D)

    static func record(_ entries: [(partition: Int, slot: UInt8, version: UInt64)], manifest: SHA512Digest = manifest,
                       sequence: UInt64 = 0) -> UpdateRecord {
        var r = UpdateRecord(sequence: sequence, manifestDigest: manifest)
        for e in entries { r.entries[e.partition] = UpdateEntry(slot: e.slot, length: 600, securityVersion: e.version, digest: digest(e.slot)) }
        return r
    }

    static func bytes(_ seed: UInt8, count: Int = 600) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) } }

    static func slotBytes(_ flash: FakeNORFlash, _ slot: Int, count: Int = 600) -> [UInt8] {
        Array(flash.bytes[area.slotOffset(slot) ..< area.slotOffset(slot) + count])
    }

    @Test func theRecordRoundTripsAndEveryChangedByteIsRefused() {
        let r = Self.record([(1, 0, 7), (5, 1, 2)], sequence: 9)
        let encoded = r.encode()
        #expect(UpdateRecord.decode(encoded, slotCount: 2, slotSize: UpdateArea.slotSize) == .valid(r))
        for i in 0..<UpdateRecord.size {
            var changed = encoded
            changed[i] ^= 0x20
            let status = UpdateRecord.decode(changed, slotCount: 2, slotSize: UpdateArea.slotSize)
            #expect(status.record == nil, "byte \(i)")
        }
        // A copy torn anywhere (its tail still erased) is never valid.
        for cut in stride(from: 0, to: UpdateRecord.size, by: 7) {
            var torn = encoded
            for i in cut..<UpdateRecord.size { torn[i] = 0xFF }
            #expect(UpdateRecord.decode(torn, slotCount: 2, slotSize: UpdateArea.slotSize).record == nil, "cut at \(cut)")
        }
        #expect(UpdateRecord.decode(UpdateRecordBytes(repeating: 0xFF), slotCount: 2, slotSize: UpdateArea.slotSize) == .erased)
    }

    @Test func entriesMustNameSlotsOfTheAreaOnceWithAPlausibleLength() {
        let outside = Self.record([(0, 2, 1)])
        #expect(UpdateRecord.decode(outside.encode(), slotCount: 2, slotSize: UpdateArea.slotSize) == .badEntry(partition: 0))
        let twice = Self.record([(0, 1, 1), (3, 1, 1)])
        #expect(UpdateRecord.decode(twice.encode(), slotCount: 2, slotSize: UpdateArea.slotSize) == .badEntry(partition: 3))
        var empty = Self.record([(2, 0, 1)])
        empty.entries[2].length = 0
        #expect(UpdateRecord.decode(empty.encode(), slotCount: 2, slotSize: UpdateArea.slotSize) == .badEntry(partition: 2))
        var huge = Self.record([(2, 0, 1)])
        huge.entries[2].length = UInt32(UpdateArea.slotSize + 1)
        #expect(UpdateRecord.decode(huge.encode(), slotCount: 2, slotSize: UpdateArea.slotSize) == .badEntry(partition: 2))
    }

    @Test func aBlankAreaHasNoRecordAndTheNewestValidCopyIsInForce() throws {
        var flash = Self.flash()
        let blank = try Self.area.read(from: flash)
        #expect(blank.record == nil && blank.nextWriteCopy == .a && blank.nextSequence == 1)
        let first = try Self.area.commit(Self.record([(1, 0, 1)]), after: blank, to: &flash)
        #expect(first.newest == .a && first.record?.sequence == 1)
        let second = try Self.area.commit(Self.record([(1, 1, 2)]), after: first, to: &flash)
        #expect(second.newest == .b && second.record?.entries[1].slot == 1 && second.record?.sequence == 2)
        // Copy B decays: copy A (older, valid) is in force again.
        flash.bytes[3 * Self.block + 100] ^= 1
        let decayed = try Self.area.read(from: flash)
        #expect(decayed.newest == .a && decayed.record?.entries[1].slot == 0)
        // Serial-number order across the wrap.
        var wrapA = Self.record([(1, 0, 1)], sequence: UInt64.max)
        var wrapB = Self.record([(1, 1, 2)], sequence: 0)
        var f2 = Self.flash()
        withUnsafeBytes(of: wrapA.encode()) { _ = f2.program(offset: Self.block, bytes: $0) }
        withUnsafeBytes(of: wrapB.encode()) { _ = f2.program(offset: 3 * Self.block, bytes: $0) }
        #expect(try Self.area.read(from: f2).newest == .b)
        wrapA.sequence = 5; wrapB.sequence = 5
        #expect(UpdateReading(copyA: .valid(wrapA), copyB: .valid(wrapB)).newest == .a)
        // Neighbouring blocks were never touched.
        #expect(flash.bytes[0..<Self.block].allSatisfy { $0 == 0xFF } && flash.bytes[2 * Self.block ..< 3 * Self.block].allSatisfy { $0 == 0xFF })
    }

    @Test func aRecordOfAnotherBundleCountsAsNone() throws {
        var flash = Self.flash()
        let r = try Self.area.commit(Self.record([(1, 0, 9)]), after: try Self.area.read(from: flash), to: &flash)
        #expect(r.record(for: Self.manifest)?.entries[1].securityVersion == 9)
        #expect(r.record(for: Self.digest(1)) == nil)
        // A new bundle's record replaces it whole, floors included.
        let next = try Self.area.commit(Self.record([], manifest: Self.digest(1)), after: r, to: &flash)
        #expect(next.record(for: Self.digest(1))?.entries[1].isNone == true)
    }

    @Test func theFloorNeverFallsForTheSameBundle() throws {
        var flash = Self.flash()
        let r = try Self.area.commit(Self.record([(1, 0, 5)]), after: try Self.area.read(from: flash), to: &flash)
        #expect(throws: UpdateAreaError.floorDecrease(partition: 1)) { try Self.area.commit(Self.record([(1, 1, 4)]), after: r, to: &flash) }
        #expect(throws: UpdateAreaError.floorDecrease(partition: 1)) { try Self.area.commit(Self.record([]), after: r, to: &flash) }
        #expect(try Self.area.read(from: flash) == r)           // nothing written
        #expect(try Self.area.commit(Self.record([(1, 1, 5)]), after: r, to: &flash).record?.entries[1].slot == 1)
    }

    @Test func aCommittedSlotIsNeverWrittenAndFreeSlotsSkipItAndTheTrials() throws {
        var flash = Self.flash()
        let r = try Self.area.commit(Self.record([(1, 0, 1)]), after: try Self.area.read(from: flash), to: &flash)
        #expect(Self.area.freeSlot(in: r.record) == 1)
        #expect(Self.area.freeSlot(in: r.record, reserved: 0b10) == nil)
        #expect(Self.area.freeSlot(in: nil) == 0)
        let bytes = Self.bytes(3)
        #expect(throws: UpdateAreaError.slotUnavailable(0)) {
            try bytes.withUnsafeBytes { try Self.area.writeImage(slot: 0, bytes: $0, after: r, to: &flash) }
        }
        #expect(throws: UpdateAreaError.slotUnavailable(2)) {
            try bytes.withUnsafeBytes { try Self.area.writeImage(slot: 2, bytes: $0, after: r, to: &flash) }
        }
        let tooLarge = [UInt8](repeating: 1, count: UpdateArea.slotSize + 1)
        #expect(throws: UpdateAreaError.tooLarge(UpdateArea.slotSize + 1)) {
            try tooLarge.withUnsafeBytes { try Self.area.writeImage(slot: 1, bytes: $0, after: r, to: &flash) }
        }
        try bytes.withUnsafeBytes { try Self.area.writeImage(slot: 1, bytes: $0, after: r, to: &flash) }
        #expect(Self.slotBytes(flash, 1) == bytes)
        // A length that is no whole number of words: the tail stays erased.
        let odd = Self.bytes(5, count: 613)
        try odd.withUnsafeBytes { try Self.area.writeImage(slot: 1, bytes: $0, after: r, to: &flash) }
        #expect(Self.slotBytes(flash, 1, count: 613) == odd && Self.slotBytes(flash, 1, count: 640)[613...].allSatisfy { $0 == 0xFF })
        // A device that drops programs is caught by the read-back.
        flash.ignorePrograms = true
        #expect(throws: UpdateAreaError.verifyFailed(offset: Self.area.slotOffset(1))) {
            try Self.bytes(4).withUnsafeBytes { try Self.area.writeImage(slot: 1, bytes: $0, after: r, to: &flash) }
        }
        flash.ignorePrograms = false
        flash.failReads = true
        #expect(throws: UpdateAreaError.readFailed(offset: Self.block)) { try Self.area.read(from: flash) }
    }

    @Test func aBoardWithoutTheAreaHasNone() {
        let none = UpdateArea(recordA: FlashRange(offset: 0, size: 0), recordB: FlashRange(offset: 0, size: 0), images: FlashRange(offset: 0, size: 0))
        #expect(!none.isPresent)
        #expect(throws: UpdateAreaError.noArea) { try none.read(from: Self.flash()) }
        #expect(FlashLayout.qemuVirt.updateArea.isPresent && FlashLayout.qemuVirt.updateArea.slotCount == 5)
        #expect(throws: Never.self) { try FlashLayout.qemuVirt.validate() }
    }

    /// An update of partition 1 (committed: v1 in slot 0) to v2: the image into slot 1, then the
    /// record. Power is cut at every unit of work of both steps; reading afterwards gives the old
    /// committed image intact or the new one complete, and the update can then be done again.
    @Test(arguments: [nil, 0x4000] as [Int?])
    func aPowerCutAtAnyPointLeavesTheOldOrTheNewImageCommitted(eraseStep: Int?) throws {
        var start = Self.flash(eraseStep: eraseStep)
        let old = Self.bytes(1), new = Self.bytes(2)
        let area = Self.area
        let blank = try area.read(from: start)
        try old.withUnsafeBytes { try area.writeImage(slot: 0, bytes: $0, after: blank, to: &start) }
        try area.commit(Self.record([(1, 0, 1)]), after: blank, to: &start)
        start.forgetTouchedBlocks()
        func update(_ flash: inout FakeNORFlash) throws {
            let reading = try area.read(from: flash)
            guard let slot = area.freeSlot(in: reading.record) else { throw UpdateAreaError.slotUnavailable(-1) }
            try new.withUnsafeBytes { try area.writeImage(slot: slot, bytes: $0, after: reading, to: &flash) }
            try area.commit(Self.record([(1, UInt8(slot), 2)]), after: reading, to: &flash)
        }
        var probe = start
        try update(&probe)
        let units = probe.unitsDone - start.unitsDone
        #expect(units > new.count + UpdateRecord.size)
        for cut in 0..<units {
            var flash = start
            flash.powerBudget = cut
            #expect(throws: (any Error).self) { try update(&flash) }
            flash.restorePower()
            let reading = try area.read(from: flash)
            let entry = try #require(reading.record?.entries[1])
            if entry.securityVersion == 1 {
                #expect(entry.slot == 0 && Self.slotBytes(flash, 0) == old, "cut \(cut)")
            } else {
                #expect(entry.securityVersion == 2 && entry.slot == 1 && Self.slotBytes(flash, 1) == new, "cut \(cut)")
            }
            // The next attempt goes through.
            if entry.securityVersion == 1 { try update(&flash) }
            #expect(try area.read(from: flash).record?.entries[1].securityVersion == 2)
            #expect(flash.bytes[0..<Self.block].allSatisfy { $0 == 0xFF }, "a neighbour block changed at cut \(cut)")
        }
    }
}
