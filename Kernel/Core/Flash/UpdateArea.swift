// The power-fail-safe partition-update area: two copies of the update record, and image slots holding signed partition updates.
//
// Why a power cut at any point leaves every partition with exactly one committed image:
// - A new update is written (`writeImage`) only to a slot that no entry of the newest record
//   names, so the committed images are never touched; until a record names the slot, what it
//   holds does not matter.
// - The record is switched (`commit`) like the state region's: the copy that is not the newest is
//   erased and programmed with sequence = newest + 1, and it is invalid (erased, or its checksum
//   does not hold) until all its bytes are in place. A cut leaves the old newest record in force
//   (the old images) or the new one (the new image), never neither.
// - Every write is read back and compared. Reading never treats an unreadable copy as blank.
// - `commit` never lowers a partition's floor (its entry's security version) for the same bundle;
//   a record for another bundle's manifest is replaced whole (that bundle's updates are void).
// Nothing allocates; the flash device is a generic parameter.

/// Why the update area cannot be read or written.
public enum UpdateAreaError: Error, Equatable, Sendable {
    /// The board has no update area, or its slots are not whole erase blocks inside the device.
    case noArea
    case readFailed(offset: Int)
    case eraseFailed(offset: Int)
    case programFailed(offset: Int)
    /// What was written does not read back.
    case verifyFailed(offset: Int)
    /// The slot is past the area, or the newest record names it (a committed image).
    case slotUnavailable(Int)
    /// The bytes do not fit one slot.
    case tooLarge(Int)
    /// The new record would lower partition `partition`'s floor for the same bundle.
    case floorDecrease(partition: Int)
}

/// Both record copies as read, and the one in force.
public struct UpdateReading: Equatable, Sendable {
    public let copyA: UpdateRecordStatus
    public let copyB: UpdateRecordStatus
    /// The newest valid copy (`a` when the sequences are equal); nil when neither is valid.
    public let newest: StateCopy?

    public init(copyA: UpdateRecordStatus, copyB: UpdateRecordStatus) {
        self.copyA = copyA
        self.copyB = copyB
        switch (copyA.record, copyB.record) {
        case (nil, nil): newest = nil
        case (_?, nil): newest = .a
        case (nil, _?): newest = .b
        case (let a?, let b?): newest = StateRegion.isNewer(b.sequence, than: a.sequence) ? .b : .a
        }
    }

    /// The record in force: the newest valid copy's (nil: no partition has a committed update).
    public var record: UpdateRecord? {
        switch newest {
        case .a?: return copyA.record
        case .b?: return copyB.record
        case nil: return nil
        }
    }

    /// The record in force for the bundle with `manifest`: a record of another bundle counts as
    /// none (its updates were for that bundle's partitions).
    public func record(for manifest: SHA512Digest) -> UpdateRecord? {
        guard let r = record, r.manifestDigest == manifest else { return nil }
        return r
    }

    public var nextWriteCopy: StateCopy { newest?.other ?? .a }
    public var nextSequence: UInt64 { record.map { $0.sequence &+ 1 } ?? 1 }
}

public struct UpdateArea: Equatable, Sendable {
    public var recordA: FlashRange
    public var recordB: FlashRange
    public var images: FlashRange

    /// Bytes in one image slot: the largest update update_stage accepts (UpdateLimits.stagingSize).
    public static let slotSize = 1 << 20

    public init(recordA: FlashRange, recordB: FlashRange, images: FlashRange) {
        self.recordA = recordA; self.recordB = recordB; self.images = images
    }

    /// Whether the board has an update area at all.
    public var isPresent: Bool { recordA.size > 0 && recordB.size > 0 && images.size >= UpdateArea.slotSize }
    public var slotCount: Int { min(images.size / UpdateArea.slotSize, 64) }
    /// The byte offset of image slot `slot` in the device.
    public func slotOffset(_ slot: Int) -> Int { images.offset + slot * UpdateArea.slotSize }

    func recordOffset(_ copy: StateCopy) -> Int { copy == .a ? recordA.offset : recordB.offset }

    func checkLayout<F: FlashDevice>(for flash: F) throws(UpdateAreaError) {
        let block = flash.eraseBlockSize
        guard isPresent, block > 0, block >= UpdateRecord.size, UpdateArea.slotSize % block == 0,
              recordA.offset % block == 0, recordB.offset % block == 0, images.offset % block == 0,
              recordA.offset >= 0, recordB.offset >= 0, images.offset >= 0,
              recordA.offset + recordA.size <= flash.size, recordB.offset + recordB.size <= flash.size,
              images.offset + images.size <= flash.size else { throw .noArea }
    }

    // MARK: Reading

    public func read<F: FlashDevice>(from flash: F) throws(UpdateAreaError) -> UpdateReading {
        try checkLayout(for: flash)
        return UpdateReading(copyA: try readCopy(.a, flash), copyB: try readCopy(.b, flash))
    }

    private func readCopy<F: FlashDevice>(_ copy: StateCopy, _ flash: F) throws(UpdateAreaError) -> UpdateRecordStatus {
        var bytes = UpdateRecordBytes(repeating: 0)
        let at = recordOffset(copy)
        guard withUnsafeMutableBytes(of: &bytes, { flash.read(offset: at, into: $0) }) else { throw .readFailed(offset: at) }
        return UpdateRecord.decode(bytes, slotCount: slotCount, slotSize: UpdateArea.slotSize)
    }

    /// A slot that no entry of `record` names and that is not in `reserved` (a bit per slot: the
    /// kernel's trials not committed yet); nil when every slot is taken.
    public func freeSlot(in record: UpdateRecord?, reserved: UInt64 = 0) -> Int? {
        var used = reserved
        if let record {
            var p = 0
            while p < Limits.partitions {
                if !record.entries[p].isNone { used |= 1 << UInt64(record.entries[p].slot) }
                p += 1
            }
        }
        var s = 0
        while s < slotCount {
            if used & (1 << UInt64(s)) == 0 { return s }
            s += 1
        }
        return nil
    }

    // MARK: Writing

    /// Erases slot `slot` and programs `bytes` there, then reads them back. Refuses a slot that the
    /// newest record in `reading` names (a committed image is never touched).
    public func writeImage<F: FlashDevice>(slot: Int, bytes: UnsafeRawBufferPointer, after reading: UpdateReading,
                                           to flash: inout F) throws(UpdateAreaError) {
        try checkLayout(for: flash)
        guard slot >= 0, slot < slotCount else { throw .slotUnavailable(slot) }
        if let record = reading.record {
            var p = 0
            while p < Limits.partitions {
                if !record.entries[p].isNone && Int(record.entries[p].slot) == slot { throw .slotUnavailable(slot) }
                p += 1
            }
        }
        guard bytes.count > 0, bytes.count <= UpdateArea.slotSize else { throw .tooLarge(bytes.count) }
        let start = slotOffset(slot)
        let block = flash.eraseBlockSize
        var at = start
        while at < start + bytes.count {
            guard flash.erase(blockAt: at) else { throw .eraseFailed(offset: at) }
            at += block
        }
        // In pieces from the stack, the last one padded with 0xFF (erased: no bit changes) to a
        // whole number of 8-byte words: bus-wide drivers program whole words only.
        var piece = InlineArray<256, UInt8>(repeating: 0xFF)
        var done = 0
        while done < bytes.count {
            let n = min(256, bytes.count - done)
            let padded = (n + 7) & ~7
            let ok = withUnsafeMutableBytes(of: &piece) { (p) -> Bool in
                var i = 0
                while i < padded { p[i] = i < n ? bytes[done + i] : 0xFF; i += 1 }
                return flash.program(offset: start + done, bytes: UnsafeRawBufferPointer(rebasing: p[0..<padded]))
            }
            guard ok else { throw .programFailed(offset: start + done) }
            done += n
        }
        try verify(bytes, at: start, flash)
    }

    /// Whether the device holds `bytes` at `offset` (read back in pieces on the stack).
    func verify<F: FlashDevice>(_ bytes: UnsafeRawBufferPointer, at offset: Int, _ flash: F) throws(UpdateAreaError) {
        var piece = InlineArray<256, UInt8>(repeating: 0)
        var done = 0
        while done < bytes.count {
            let n = min(256, bytes.count - done)
            let same = withUnsafeMutableBytes(of: &piece) { (p) -> Bool? in
                let window = UnsafeMutableRawBufferPointer(rebasing: p[0..<n])
                guard flash.read(offset: offset + done, into: window) else { return nil }
                var i = 0
                while i < n { if window[i] != bytes[done + i] { return false }; i += 1 }
                return true
            }
            guard let same else { throw .readFailed(offset: offset + done) }
            guard same else { throw .verifyFailed(offset: offset + done) }
            done += n
        }
    }

    /// Writes `record`'s entries and manifest digest as the new record (sequence = newest + 1) to
    /// the copy that is not the newest, and reads the area back to confirm. For the same bundle no
    /// entry's security version may fall. Returns the area as it now reads.
    @discardableResult
    public func commit<F: FlashDevice>(_ record: UpdateRecord, after reading: UpdateReading,
                                       to flash: inout F) throws(UpdateAreaError) -> UpdateReading {
        try checkLayout(for: flash)
        if let current = reading.record(for: record.manifestDigest) {
            var p = 0
            while p < Limits.partitions {
                let old = current.entries[p], new = record.entries[p]
                if !old.isNone && (new.isNone || new.securityVersion < old.securityVersion) { throw .floorDecrease(partition: p) }
                p += 1
            }
        }
        var next = record
        next.sequence = reading.nextSequence
        let target = reading.nextWriteCopy
        let at = recordOffset(target)
        let bytes = next.encode()
        guard flash.erase(blockAt: at) else { throw .eraseFailed(offset: at) }
        let programmed = withUnsafeBytes(of: bytes) { flash.program(offset: at, bytes: $0) }
        guard programmed else { throw .programFailed(offset: at) }
        let after = try read(from: flash)
        guard after.newest == target, after.record == next else { throw .verifyFailed(offset: at) }
        return after
    }
}
