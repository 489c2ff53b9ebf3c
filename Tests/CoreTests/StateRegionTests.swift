// State region tests: CRC-32C, record bytes, read/write, fallback, monotonic minimum, wrap, layout.
//
// Everything runs against the fake NOR flash in StateRegionFakeFlash.swift; the torn-write
// enumeration is in StateRegionTearTests.swift.

import Testing
@testable import BulkheadCore

// MARK: - Helpers

/// 4 blocks of 4 KiB; the state copies in blocks 2 and 3.
private func smallFlash() -> FakeNORFlash { FakeNORFlash(blocks: 4, eraseBlockSize: 4096) }
private let smallRegion = StateRegion(copyAOffset: 2 * 4096, copyBOffset: 3 * 4096)

private func array(_ bytes: StateRecordBytes) -> [UInt8] { (0..<StateRecord.size).map { bytes[$0] } }

private func recordBytes(_ array: [UInt8]) -> StateRecordBytes {
    var bytes = StateRecordBytes(repeating: 0)
    for i in 0..<StateRecord.size { bytes[i] = array[i] }
    return bytes
}

private func crc32c(_ bytes: [UInt8]) -> UInt32 { bytes.withUnsafeBytes { CRC32C.checksum($0) } }

/// Recomputes the checksum of a hand-edited record.
private func withFixedChecksum(_ bytes: [UInt8]) -> [UInt8] {
    var b = bytes
    let crc = crc32c(Array(b[0..<60]))
    for i in 0..<4 { b[60 + i] = UInt8(truncatingIfNeeded: crc >> UInt32(8 * i)) }
    return b
}

/// Puts raw record bytes into the flash directly (as if written by an earlier boot).
private func place(_ bytes: [UInt8], in flash: inout FakeNORFlash, at offset: Int) {
    for i in 0..<bytes.count { flash.bytes[offset + i] = bytes[i] }
}

private func place(_ record: StateRecord, in flash: inout FakeNORFlash, at offset: Int) {
    place(array(record.encode()), in: &flash, at: offset)
}

private func text(_ error: StateRegionError) -> String { var s = StringSink(); error.write(to: &s); return s.text }
private func text(_ error: FlashLayoutError) -> String { var s = StringSink(); error.write(to: &s); return s.text }
private func text(_ status: StateCopyStatus) -> String { var s = StringSink(); status.write(to: &s); return s.text }

// MARK: - CRC-32C

@Suite struct StateRegionCRCTests {
    @Test func checkValue() {
        #expect(crc32c(Array("123456789".utf8)) == 0xE306_9283)
        #expect(crc32c([]) == 0)
    }

    /// RFC 3720 (iSCSI), appendix B.4.
    @Test func rfc3720Vectors() {
        #expect(crc32c([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(crc32c([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(crc32c((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(crc32c((0..<32).map { UInt8(31 - $0) }) == 0x113F_DB5C)
    }

    @Test func incrementalEqualsOneShot() {
        let data = (0..<100).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        var reg = CRC32C.initialValue
        data[0..<33].withUnsafeBytes { reg = CRC32C.update(reg, with: $0) }
        data[33...].withUnsafeBytes { reg = CRC32C.update(reg, with: $0) }
        #expect(CRC32C.finish(reg) == crc32c(data))
    }
}

// MARK: - The record's bytes

@Suite struct StateRegionRecordTests {
    let sample = StateRecord(
        sequence: 0x0102_0304_0506_0708,
        state: BootState(minimumSecurityVersion: 0x1112_1314_1516_1718, bootAttemptsA: 0x2122_2324,
                         bootAttemptsB: 0x3132_3334, lastBootedSlot: .b, preferredSlot: .a))

    @Test func layoutIsByteExact() {
        let bytes = array(sample.encode())
        var expected: [UInt8] = Array("BULKSTAT".utf8)
        expected += [1, 0, 64, 0, 0, 0, 0, 0]
        expected += [0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01]
        expected += [0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11]
        expected += [0x24, 0x23, 0x22, 0x21, 0x34, 0x33, 0x32, 0x31]
        expected += [2, 1] + [UInt8](repeating: 0, count: 18)
        let crc = crc32c(expected)
        expected += [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: crc >> UInt32($0)) }
        #expect(bytes == expected)
        #expect(bytes.count == StateRecord.size)
    }

    @Test func magicConstantSpellsBULKSTAT() {
        let le = (0..<8).map { UInt8(truncatingIfNeeded: StateRecord.magic >> UInt64(8 * $0)) }
        #expect(le == Array("BULKSTAT".utf8))
    }

    @Test func roundTrip() {
        #expect(StateRecord.decode(sample.encode()) == .valid(sample))
        let factory = StateRecord(sequence: 1, state: .factory)
        #expect(StateRecord.decode(factory.encode()) == .valid(factory))
        let extremes = StateRecord(sequence: .max, state: BootState(minimumSecurityVersion: .max, bootAttemptsA: .max,
                                                                     bootAttemptsB: .max, lastBootedSlot: .a, preferredSlot: .b))
        #expect(StateRecord.decode(extremes.encode()) == .valid(extremes))
    }

    @Test func erasedAndZeroed() {
        #expect(StateRecord.decode(StateRecordBytes(repeating: 0xFF)) == .erased)
        #expect(StateRecord.decode(StateRecordBytes(repeating: 0)) == .badMagic)
    }

    @Test func wrongVersionAndSizeAreRejectedEvenWithAGoodChecksum() {
        var b = array(sample.encode())
        b[8] = 2
        #expect(StateRecord.decode(recordBytes(withFixedChecksum(b))) == .unsupportedVersion(2))
        b = array(sample.encode())
        b[10] = 32
        #expect(StateRecord.decode(recordBytes(withFixedChecksum(b))) == .wrongRecordSize(32))
    }

    /// Every single-bit error anywhere in the record makes it invalid, for the right reason.
    @Test func everySingleBitFlipIsDetected() {
        let good = array(sample.encode())
        for i in 0..<StateRecord.size {
            for bit in 0..<8 {
                var b = good
                b[i] ^= UInt8(1) << UInt8(bit)
                let status = StateRecord.decode(recordBytes(b))
                switch i {
                case 0..<8: #expect(status == .badMagic, "byte \(i) bit \(bit)")
                case 8..<10: #expect(status == .unsupportedVersion(UInt16(b[8]) | UInt16(b[9]) << 8), "byte \(i) bit \(bit)")
                case 10..<12: #expect(status == .wrongRecordSize(UInt16(b[10]) | UInt16(b[11]) << 8), "byte \(i) bit \(bit)")
                default:
                    guard case .badChecksum = status else { Issue.record("byte \(i) bit \(bit): \(status)"); continue }
                }
            }
        }
    }

    @Test func unknownSlotBytesReadAsNoneAndReservedBytesAreIgnored() {
        var b = array(sample.encode())
        b[40] = 7; b[41] = 0; b[50] = 0xAA; b[12] = 1
        guard case .valid(let record) = StateRecord.decode(recordBytes(withFixedChecksum(b))) else {
            Issue.record("expected a valid record"); return
        }
        #expect(record.state.lastBootedSlot == nil)
        #expect(record.state.preferredSlot == nil)
        #expect(record.state.minimumSecurityVersion == sample.state.minimumSecurityVersion)
    }

    @Test func statusDescriptions() {
        #expect(text(.erased) == "erased")
        #expect(text(.badChecksum(stored: 0, computed: 0x1F)) == "checksum mismatch (stored 0x0, computed 0x1f)")
        #expect(text(.valid(sample)) == "valid, sequence 72623859790382856")
        #expect(text(.unsupportedVersion(2)) == "format version 2 is not supported")
    }
}

// MARK: - Reading and writing

@Suite struct StateRegionTests {
    @Test func fakeFlashKeepsNORRules() {
        var flash = smallFlash()
        var out = [UInt8](repeating: 0, count: 4)
        let readOK = out.withUnsafeMutableBytes { flash.read(offset: 100, into: $0) }
        #expect(readOK && out == [0xFF, 0xFF, 0xFF, 0xFF])
        let first = [UInt8(0x0F)].withUnsafeBytes { flash.program(offset: 100, bytes: $0) }
        let second = [UInt8(0x07)].withUnsafeBytes { flash.program(offset: 100, bytes: $0) }  // clears one more bit
        let third = [UInt8(0xF0)].withUnsafeBytes { flash.program(offset: 100, bytes: $0) }   // 0 → 1 fails
        #expect(first && second && !third)
        #expect(flash.bytes[100] == 0x07)
        let misaligned = flash.erase(blockAt: 100)                                           // not a block start
        let aligned = flash.erase(blockAt: 0)
        #expect(!misaligned && aligned)
        #expect(flash.bytes[100] == 0xFF)
    }

    @Test func blankFlashIsTheFactoryState() throws {
        let reading = try smallRegion.read(from: smallFlash())
        #expect(reading.result == .blankOrCorrupt)
        #expect(reading.isBlankOrCorrupt)
        #expect(reading.state == .factory)
        #expect(reading.state.minimumSecurityVersion == 0)
        #expect(reading.state.firstSlot == .a)
        #expect(reading.copyA == .erased && reading.copyB == .erased)
        #expect(reading.nextWriteCopy == .a && reading.nextSequence == 1)
    }

    @Test func writeThenReadRoundTrip() throws {
        var flash = smallFlash()
        let state = BootState(minimumSecurityVersion: 9, bootAttemptsA: 2, bootAttemptsB: 1, lastBootedSlot: .b, preferredSlot: .b)
        let written = try smallRegion.update(in: &flash) { $0 = state }
        #expect(written.result == .record(StateRecord(sequence: 1, state: state), copy: .a))
        let reading = try smallRegion.read(from: flash)
        #expect(reading == written)
        #expect(reading.state == state)
        #expect(reading.copyB == .erased)
        // The record sits at the start of copy A's block.
        #expect(Array(flash.bytes[(2 * 4096)..<(2 * 4096 + 64)]) == array(StateRecord(sequence: 1, state: state).encode()))
    }

    @Test func writesAlternateBetweenCopies() throws {
        var flash = smallFlash()
        for i in 1...7 {
            let reading = try smallRegion.update(in: &flash) { $0.bootAttemptsB = UInt32(i) }
            let copy: StateCopy = i % 2 == 1 ? .a : .b
            #expect(reading.result == .record(StateRecord(sequence: UInt64(i), state: BootState(bootAttemptsB: UInt32(i))), copy: copy))
            #expect(flash.eraseCount == i)
            if i > 1 {
                // The other copy still holds the previous state, one sequence number lower.
                #expect(reading.status(copy.other) == .valid(StateRecord(sequence: UInt64(i - 1), state: BootState(bootAttemptsB: UInt32(i - 1)))))
            }
        }
    }

    @Test func anUnchangedStateIsNotWritten() throws {
        var flash = smallFlash()
        try smallRegion.update(in: &flash) { $0 = .factory }      // blank already reads as factory
        #expect(flash.eraseCount == 0)
        try smallRegion.setPreferredSlot(.b, in: &flash)
        try smallRegion.setPreferredSlot(.b, in: &flash)
        #expect(flash.eraseCount == 1)
    }

    @Test func aCorruptNewestCopyFallsBackToTheOlder() throws {
        var flash = smallFlash()
        try smallRegion.raiseMinimumSecurityVersion(to: 3, in: &flash)   // A, sequence 1
        try smallRegion.raiseMinimumSecurityVersion(to: 4, in: &flash)   // B, sequence 2
        flash.bytes[3 * 4096 + 61] ^= 0x01                               // B's checksum
        var reading = try smallRegion.read(from: flash)
        #expect(reading.result == .record(StateRecord(sequence: 1, state: BootState(minimumSecurityVersion: 3)), copy: .a))
        guard case .badChecksum = reading.copyB else { Issue.record("copy B: \(reading.copyB)"); return }

        // Damage to the body instead of the checksum field is caught the same way.
        flash.bytes[3 * 4096 + 61] ^= 0x01
        #expect(try smallRegion.read(from: flash).newestCopy == .b)
        flash.bytes[3 * 4096 + 24] ^= 0x80                               // B's minimum security version
        reading = try smallRegion.read(from: flash)
        #expect(reading.newestCopy == .a && reading.state.minimumSecurityVersion == 3)

        // The next write replaces the damaged copy, not the only good one.
        reading = try smallRegion.raiseMinimumSecurityVersion(to: 5, in: &flash)
        #expect(reading.result == .record(StateRecord(sequence: 2, state: BootState(minimumSecurityVersion: 5)), copy: .b))
        #expect(reading.copyA.record?.state.minimumSecurityVersion == 3)

        // Both damaged: blank/corrupt, which the caller treats as the factory state.
        flash.bytes[2 * 4096 + 30] ^= 0x04
        flash.bytes[3 * 4096 + 0] = 0
        reading = try smallRegion.read(from: flash)
        #expect(reading.result == .blankOrCorrupt && reading.state == .factory)
        #expect(reading.copyB == .badMagic)
    }

    @Test func aNewestCopyInAnUnknownFormatIsIgnored() throws {
        var flash = smallFlash()
        place(StateRecord(sequence: 4, state: BootState(minimumSecurityVersion: 2)), in: &flash, at: 2 * 4096)
        var future = array(StateRecord(sequence: 5, state: BootState(minimumSecurityVersion: 3)).encode())
        future[8] = 2
        place(withFixedChecksum(future), in: &flash, at: 3 * 4096)
        let reading = try smallRegion.read(from: flash)
        #expect(reading.newestCopy == .a && reading.state.minimumSecurityVersion == 2)
        #expect(reading.copyB == .unsupportedVersion(2))
    }

    // MARK: Monotonic minimum security version

    @Test func theMinimumSecurityVersionOnlyRises() throws {
        var flash = smallFlash()
        #expect(try smallRegion.raiseMinimumSecurityVersion(to: 5, in: &flash).state.minimumSecurityVersion == 5)
        let before = flash.bytes
        #expect(throws: StateRegionError.minimumVersionDecrease(stored: 5, requested: 3)) {
            try smallRegion.raiseMinimumSecurityVersion(to: 3, in: &flash)
        }
        #expect(throws: StateRegionError.minimumVersionDecrease(stored: 5, requested: 0)) {
            try smallRegion.update(in: &flash) { $0 = .factory }
        }
        #expect(throws: StateRegionError.minimumVersionDecrease(stored: 5, requested: 4)) {
            try smallRegion.recordBootSuccess(.b, securityVersion: 4, in: &flash)
        }
        #expect(flash.bytes == before)                                   // refusals write nothing
        try smallRegion.raiseMinimumSecurityVersion(to: 5, in: &flash)   // equal: nothing to write
        #expect(flash.bytes == before)
        #expect(try smallRegion.raiseMinimumSecurityVersion(to: 7, in: &flash).state.minimumSecurityVersion == 7)
        #expect(try smallRegion.recordBootSuccess(.a, securityVersion: 7, in: &flash).state.minimumSecurityVersion == 7)
        #expect(try smallRegion.recordBootSuccess(.a, securityVersion: .max, in: &flash).state.minimumSecurityVersion == .max)
        #expect(text(.minimumVersionDecrease(stored: 5, requested: 3))
                == "state region: refusing to lower the minimum security version from 5 to 3")
    }

    // MARK: Boot bookkeeping

    @Test func bootAttemptsCountAndReset() throws {
        var flash = smallFlash()
        try smallRegion.recordBootAttempt(.a, in: &flash)
        try smallRegion.recordBootAttempt(.a, in: &flash)
        var reading = try smallRegion.recordBootAttempt(.b, in: &flash)
        #expect(reading.state.bootAttemptsA == 2 && reading.state.bootAttemptsB == 1)
        reading = try smallRegion.recordBootSuccess(.b, securityVersion: 4, in: &flash)
        #expect(reading.state == BootState(minimumSecurityVersion: 4, bootAttemptsA: 2, bootAttemptsB: 0, lastBootedSlot: .b))
        #expect(reading.record?.sequence == 4)
        reading = try smallRegion.setPreferredSlot(.b, in: &flash)
        #expect(reading.state.firstSlot == .b)
    }

    @Test func bootAttemptsSaturate() throws {
        var flash = smallFlash()
        try smallRegion.update(in: &flash) { $0.bootAttemptsA = .max - 1 }
        #expect(try smallRegion.recordBootAttempt(.a, in: &flash).state.bootAttemptsA == .max)
        let erases = flash.eraseCount
        #expect(try smallRegion.recordBootAttempt(.a, in: &flash).state.bootAttemptsA == .max)
        #expect(flash.eraseCount == erases)                              // saturated: nothing changed
    }

    // MARK: Sequence numbers

    @Test func serialNumberOrdering() {
        #expect(StateRegion.isNewer(1, than: 0))
        #expect(!StateRegion.isNewer(0, than: 1))
        #expect(!StateRegion.isNewer(5, than: 5))
        #expect(StateRegion.isNewer(0, than: .max))                      // across the wrap
        #expect(!StateRegion.isNewer(.max, than: 0))
        #expect(StateRegion.isNewer(3, than: .max - 2))
        #expect(!StateRegion.isNewer(1 << 63, than: 0) && !StateRegion.isNewer(0, than: 1 << 63))
    }

    @Test func theSequenceNumberWrapsSafely() throws {
        var flash = smallFlash()
        place(StateRecord(sequence: .max - 1, state: BootState(minimumSecurityVersion: 1)), in: &flash, at: 2 * 4096)
        place(StateRecord(sequence: .max, state: BootState(minimumSecurityVersion: 2)), in: &flash, at: 3 * 4096)
        #expect(try smallRegion.read(from: flash).newestCopy == .b)
        var reading = try smallRegion.raiseMinimumSecurityVersion(to: 3, in: &flash)
        #expect(reading.result == .record(StateRecord(sequence: 0, state: BootState(minimumSecurityVersion: 3)), copy: .a))
        reading = try smallRegion.raiseMinimumSecurityVersion(to: 4, in: &flash)
        #expect(reading.result == .record(StateRecord(sequence: 1, state: BootState(minimumSecurityVersion: 4)), copy: .b))
        #expect(try smallRegion.read(from: flash).state.minimumSecurityVersion == 4)
    }

    @Test func equalSequencesPreferCopyAAndTheNextWriteGoesToB() throws {
        var flash = smallFlash()
        place(StateRecord(sequence: 7, state: BootState(minimumSecurityVersion: 1)), in: &flash, at: 2 * 4096)
        place(StateRecord(sequence: 7, state: BootState(minimumSecurityVersion: 2)), in: &flash, at: 3 * 4096)
        var reading = try smallRegion.read(from: flash)
        #expect(reading.newestCopy == .a && reading.state.minimumSecurityVersion == 1)
        reading = try smallRegion.raiseMinimumSecurityVersion(to: 2, in: &flash)
        #expect(reading.result == .record(StateRecord(sequence: 8, state: BootState(minimumSecurityVersion: 2)), copy: .b))
    }

    // MARK: Layout and device failures

    @Test func layoutsThatDoNotFitTheDeviceAreRefused() {
        let flash = smallFlash()
        #expect(throws: StateRegionError.copyMisaligned(.a, offset: 100)) {
            try StateRegion(copyAOffset: 100, copyBOffset: 4096).read(from: flash)
        }
        #expect(throws: StateRegionError.copyMisaligned(.b, offset: -4096)) {
            try StateRegion(copyAOffset: 0, copyBOffset: -4096).read(from: flash)
        }
        #expect(throws: StateRegionError.copyOutOfBounds(.b, offset: 4 * 4096)) {
            try StateRegion(copyAOffset: 0, copyBOffset: 4 * 4096).read(from: flash)
        }
        #expect(throws: StateRegionError.copiesShareEraseBlock(offset: 4096)) {
            try StateRegion(copyAOffset: 4096, copyBOffset: 4096).read(from: flash)
        }
        var tiny = FakeNORFlash(blocks: 4, eraseBlockSize: 32)
        #expect(throws: StateRegionError.eraseBlockTooSmall(32)) {
            try StateRegion(copyAOffset: 0, copyBOffset: 32).update(in: &tiny) { $0.bootAttemptsA = 1 }
        }
        #expect(tiny.eraseCount == 0)
        #expect(text(.copiesShareEraseBlock(offset: 4096)) == "state region: both copies are in the erase block at 0x1000")
    }

    @Test func deviceFailuresAreTypedErrors() throws {
        var flash = smallFlash()
        flash.failReads = true
        #expect(throws: StateRegionError.readFailed(.a)) { try smallRegion.read(from: flash) }
        flash.failReads = false

        flash.failErases = true
        #expect(throws: StateRegionError.eraseFailed(.a)) { try smallRegion.recordBootAttempt(.a, in: &flash) }
        flash.failErases = false

        flash.failPrograms = true
        #expect(throws: StateRegionError.programFailed(.a)) { try smallRegion.recordBootAttempt(.a, in: &flash) }
        flash.failPrograms = false

        try smallRegion.recordBootAttempt(.a, in: &flash)                // A, sequence 1
        flash.ignorePrograms = true
        #expect(throws: StateRegionError.verifyFailed(.b)) { try smallRegion.recordBootAttempt(.a, in: &flash) }
        flash.ignorePrograms = false
        #expect(try smallRegion.read(from: flash).state.bootAttemptsA == 1)
        #expect(text(.eraseFailed(.b)) == "state copy B: erase failed")
    }
}

// MARK: - The QEMU virt layout

@Suite struct StateRegionLayoutTests {
    @Test func qemuVirtLayout() throws {
        let layout = FlashLayout.qemuVirt
        try layout.validate()
        #expect(layout.eraseBlockSize == 256 * 1024)
        #expect(layout.deviceSize == 32 * 1024 * 1024)
        #expect(layout.address(.entryStub) == HostPhysAddr(0x2200_0000))
        #expect(layout.entryStub.size == layout.eraseBlockSize)
        #expect(layout.address(.slotA) == HostPhysAddr(0x2204_0000))
        #expect(layout.address(.slotB) == HostPhysAddr(0x22C4_0000))
        #expect(layout.slotA.size == 12 * 1024 * 1024 && layout.slotB.size == 12 * 1024 * 1024)
        #expect(layout.address(.updateRecordA) == HostPhysAddr(0x2384_0000) && layout.address(.updateRecordB) == HostPhysAddr(0x2388_0000))
        #expect(layout.address(.updateImages) == HostPhysAddr(0x238C_0000) && layout.updateImages.size == 5 * UpdateArea.slotSize)
        #expect(layout.address(.stateA) == HostPhysAddr(0x23F8_0000))
        #expect(layout.address(.stateB) == HostPhysAddr(0x23FC_0000))
        #expect(layout.range(.b) == layout.slotB)
        // Each state copy is exactly one erase block, its own; copy B ends the device.
        #expect(layout.stateA.size == layout.eraseBlockSize && layout.stateB.size == layout.eraseBlockSize)
        #expect(layout.stateA.offset / layout.eraseBlockSize != layout.stateB.offset / layout.eraseBlockSize)
        #expect(layout.stateB.offset + layout.stateB.size == layout.deviceSize)
        #expect(layout.stateRegion == StateRegion(copyAOffset: 0x1F8_0000, copyBOffset: 0x1FC_0000))
    }

    @Test func theStateRegionWorksOnTheFullQEMUGeometry() throws {
        let layout = FlashLayout.qemuVirt
        var flash = FakeNORFlash(blocks: layout.deviceSize / layout.eraseBlockSize, eraseBlockSize: layout.eraseBlockSize)
        #expect(try layout.stateRegion.read(from: flash).isBlankOrCorrupt)
        try layout.stateRegion.recordBootSuccess(.b, securityVersion: 2, in: &flash)
        try layout.stateRegion.raiseMinimumSecurityVersion(to: 3, in: &flash)
        let reading = try layout.stateRegion.read(from: flash)
        #expect(reading.newestCopy == .b && reading.state.minimumSecurityVersion == 3)
        #expect(flash.eraseCount == 2)                                   // only the two state blocks
        #expect(flash.bytes[layout.stateA.offset - 1] == 0xFF && flash.bytes[layout.stateA.offset + 64] == 0xFF)
    }

    @Test func badLayoutsAreRefused() {
        let q = FlashLayout.qemuVirt
        var l = q
        l.slotB.offset = 0x0B0_0000
        #expect(throws: FlashLayoutError.overlap(.slotA, .slotB)) { try l.validate() }
        l = q; l.updateImages.offset = 0x188_0000
        #expect(throws: FlashLayoutError.overlap(.updateRecordB, .updateImages)) { try l.validate() }
        l = q; l.stateA = l.stateB
        #expect(throws: FlashLayoutError.overlap(.stateA, .stateB)) { try l.validate() }
        l = q; l.stateB.offset = 0x1FC_1000
        #expect(throws: FlashLayoutError.misaligned(.stateB)) { try l.validate() }
        l = q; l.stateA.size = 0x8_0000
        #expect(throws: FlashLayoutError.stateCopyNotOneBlock(.stateA)) { try l.validate() }
        l = q; l.stateB.offset = 0x200_0000
        #expect(throws: FlashLayoutError.outOfBounds(.stateB)) { try l.validate() }
        l = q; l.slotA.size = 0
        #expect(throws: FlashLayoutError.empty(.slotA)) { try l.validate() }
        l = q; l.slotA.offset = 0x2_0000
        #expect(throws: FlashLayoutError.misaligned(.slotA)) { try l.validate() }
        l = q; l.slotA.offset = 0
        #expect(throws: FlashLayoutError.overlap(.entryStub, .slotA)) { try l.validate() }
        l = q; l.entryStub.size = 0; l.slotA.offset = 0
        #expect(throws: Never.self) { try l.validate() }                  // a layout without a stub
        l = q; l.eraseBlockSize = 0x3_0000
        #expect(throws: FlashLayoutError.badGeometry(deviceSize: 0x200_0000, eraseBlockSize: 0x3_0000)) { try l.validate() }
        #expect(text(FlashLayoutError.overlap(.slotB, .stateA)) == "flash layout: state copy A overlaps slot B")
        #expect(text(FlashLayoutError.overlap(.entryStub, .slotA)) == "flash layout: slot A overlaps the entry stub")
    }

    /// The stub is `auipc t0, hi; jalr x0, lo(t0)` (RISC-V unprivileged spec 2.4, 2.5): decode
    /// the fields back and check they add up to the target.
    @Test func theEntryStubJumpsToTheHypervisor() throws {
        func target(_ layout: FlashLayout) throws -> UInt64 {
            let (auipc, jalr) = try #require(layout.entryStubInstructions())
            #expect(auipc & 0x7F == 0x17 && (auipc >> 7) & 0x1F == 5)                       // AUIPC t0
            #expect(jalr & 0x7F == 0x67 && (jalr >> 7) & 0x1F == 0 && (jalr >> 12) & 7 == 0) // JALR x0
            #expect((jalr >> 15) & 0x1F == 5)                                                // base t0
            let hi = Int64(Int32(bitPattern: auipc & 0xFFFF_F000))
            let lo = Int64(Int32(bitPattern: jalr) >> 20)
            return UInt64(bitPattern: Int64(bitPattern: layout.address(.entryStub).raw) + hi + lo)
        }
        let q = FlashLayout.qemuVirt
        #expect(q.entryStubInstructions()! == (0x5E20_0297, 0x0002_8067))
        #expect(try target(q) == 0x8020_0000)
        var l = q
        l.entryTarget = HostPhysAddr(0x2200_0FFC)                      // lo negative, hi rounded up
        #expect(try target(l) == 0x2200_0FFC)
        l.entryTarget = HostPhysAddr(0x21FF_F804)                      // backwards
        #expect(try target(l) == 0x21FF_F804)
        l.entryTarget = HostPhysAddr(0x1_2000_0000)                    // beyond +2 GiB
        #expect(l.entryStubInstructions() == nil)
        l = q; l.entryStub.size = 0
        #expect(l.entryStubInstructions() == nil)
    }
}
