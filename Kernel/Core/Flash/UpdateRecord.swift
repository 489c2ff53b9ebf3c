// The partition-update record: which stored update each partition has committed, and its floor (736 little-endian bytes, CRC-32C protected).
//
// Offset  Size  Field
//      0     8  magic "BULKUPDT"
//      8     2  format_version (1)
//     10     2  record_size (736)
//     12     4  reserved, zero
//     16     8  sequence (serial-number order, like the state record's)
//     24    64  manifest digest: the SHA-512 of the manifest of the bundle these updates belong to
//     88   640  8 entries of 80 bytes, one per partition index:
//                 +0  1  image slot in the update area (0xFF: none; the partition runs its bundle image)
//                 +1  3  reserved, zero
//                 +4  4  length of the stored update in bytes
//                 +8  8  its security version: also the partition's anti-rollback floor for updates
//                +16 64  SHA-512 of the stored update's bytes
//    728     4  reserved, zero
//    732     4  crc32c of bytes 0..<732
//
// Decoding checks, in order: erased (all 0xFF), magic, version, record size, checksum, then the
// entries: a slot is 0xFF or below `slotCount`, a stored length is 1 ... slot size, and no two
// partitions name the same slot. An entry with slot 0xFF is "none" whatever its other bytes.

/// The 736 bytes of one encoded update record.
public typealias UpdateRecordBytes = InlineArray<736, UInt8>

/// One partition's committed update in the update area.
public struct UpdateEntry: Equatable, Sendable {
    /// The image slot holding the update, or `UpdateEntry.none`.
    public var slot: UInt8
    public var length: UInt32
    public var securityVersion: UInt64
    public var digest: SHA512Digest

    public static let none: UInt8 = 0xFF
    public init(slot: UInt8 = UpdateEntry.none, length: UInt32 = 0, securityVersion: UInt64 = 0,
                digest: SHA512Digest = SHA512Digest(bytes: InlineArray(repeating: 0))) {
        self.slot = slot; self.length = length; self.securityVersion = securityVersion; self.digest = digest
    }
    public var isNone: Bool { slot == UpdateEntry.none }
}

/// What an update record copy holds, as read.
public enum UpdateRecordStatus: Equatable, Sendable {
    case valid(UpdateRecord)
    case erased, badMagic, unsupportedVersion, wrongSize, badChecksum
    /// The checksum holds but an entry names a slot past the area, a bad length, or a slot twice.
    case badEntry(partition: Int)

    public var record: UpdateRecord? {
        if case .valid(let r) = self { return r }
        return nil
    }
}

public struct UpdateRecord: Equatable, Sendable {
    public var sequence: UInt64
    public var manifestDigest: SHA512Digest
    public var entries: PerPartition<UpdateEntry>

    public init(sequence: UInt64, manifestDigest: SHA512Digest, entries: PerPartition<UpdateEntry> = PerPartition(repeating: UpdateEntry())) {
        self.sequence = sequence; self.manifestDigest = manifestDigest; self.entries = entries
    }

    public static func == (a: UpdateRecord, b: UpdateRecord) -> Bool {
        guard a.sequence == b.sequence, a.manifestDigest == b.manifestDigest else { return false }
        var p = 0
        while p < Limits.partitions { if a.entries[p] != b.entries[p] { return false }; p += 1 }
        return true
    }

    /// "BULKUPDT" as a little-endian u64.
    public static let magic: UInt64 = 0x5444_5055_4B4C_5542
    public static let formatVersion: UInt16 = 1
    public static let size = 736
    public static let checksumOffset = 732
    static let sequenceOffset = 16, manifestOffset = 24, entriesOffset = 88, entrySize = 80

    public func encode() -> UpdateRecordBytes {
        var b = UpdateRecordBytes(repeating: 0)
        UpdateRecord.put(UpdateRecord.magic, 8, &b, 0)
        UpdateRecord.put(UInt64(UpdateRecord.formatVersion), 2, &b, 8)
        UpdateRecord.put(UInt64(UpdateRecord.size), 2, &b, 10)
        UpdateRecord.put(sequence, 8, &b, UpdateRecord.sequenceOffset)
        var i = 0
        while i < 64 { b[UpdateRecord.manifestOffset + i] = manifestDigest.bytes[i]; i += 1 }
        var p = 0
        while p < Limits.partitions {
            let e = entries[p]
            let at = UpdateRecord.entriesOffset + p * UpdateRecord.entrySize
            b[at] = e.slot
            UpdateRecord.put(UInt64(e.length), 4, &b, at + 4)
            UpdateRecord.put(e.securityVersion, 8, &b, at + 8)
            i = 0
            while i < 64 { b[at + 16 + i] = e.digest.bytes[i]; i += 1 }
            p += 1
        }
        let crc = withUnsafeBytes(of: &b) { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<UpdateRecord.checksumOffset])) }
        UpdateRecord.put(UInt64(crc), 4, &b, UpdateRecord.checksumOffset)
        return b
    }

    /// Decodes one copy; `slotCount` and `slotSize` describe the area its entries must fit.
    public static func decode(_ bytes: UpdateRecordBytes, slotCount: Int, slotSize: Int) -> UpdateRecordStatus {
        var erased = true
        var i = 0
        while i < size { if bytes[i] != 0xFF { erased = false; break }; i += 1 }
        if erased { return .erased }
        guard get(bytes, 0, 8) == magic else { return .badMagic }
        guard get(bytes, 8, 2) == UInt64(formatVersion) else { return .unsupportedVersion }
        guard get(bytes, 10, 2) == UInt64(size) else { return .wrongSize }
        var copy = bytes
        let crc = withUnsafeBytes(of: &copy) { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<checksumOffset])) }
        guard get(bytes, checksumOffset, 4) == UInt64(crc) else { return .badChecksum }
        var record = UpdateRecord(sequence: get(bytes, sequenceOffset, 8), manifestDigest: SHA512Digest(bytes: InlineArray(repeating: 0)))
        i = 0
        while i < 64 { record.manifestDigest.bytes[i] = bytes[manifestOffset + i]; i += 1 }
        var used: UInt64 = 0
        var p = 0
        while p < Limits.partitions {
            let at = entriesOffset + p * entrySize
            var e = UpdateEntry(slot: bytes[at], length: UInt32(get(bytes, at + 4, 4)), securityVersion: get(bytes, at + 8, 8))
            i = 0
            while i < 64 { e.digest.bytes[i] = bytes[at + 16 + i]; i += 1 }
            if e.isNone {
                e = UpdateEntry()
            } else {
                let s = Int(e.slot)
                guard s < slotCount, s < 64, used & (1 << UInt64(s)) == 0, e.length > 0, Int(e.length) <= slotSize else {
                    return .badEntry(partition: p)
                }
                used |= 1 << UInt64(s)
            }
            record.entries[p] = e
            p += 1
        }
        return .valid(record)
    }

    static func put(_ value: UInt64, _ width: Int, _ b: inout UpdateRecordBytes, _ at: Int) {
        var i = 0
        while i < width { b[at + i] = UInt8(truncatingIfNeeded: value >> UInt64(8 * i)); i += 1 }
    }

    static func get(_ b: UpdateRecordBytes, _ at: Int, _ width: Int) -> UInt64 {
        var v: UInt64 = 0
        var i = width
        while i > 0 { i -= 1; v = v << 8 | UInt64(b[at + i]) }
        return v
    }
}
