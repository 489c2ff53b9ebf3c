// The state record: 64 fixed little-endian bytes, CRC-32C protected (docs/flash-layout.md).
//
// Offset  Size  Field
//      0     8  magic "BULKSTAT"
//      8     2  format_version (1)
//     10     2  record_size (64)
//     12     4  reserved, zero
//     16     8  sequence
//     24     8  minimum_security_version
//     32     4  boot_attempts_a
//     36     4  boot_attempts_b
//     40     1  last_booted_slot (0 none, 1 A, 2 B)
//     41     1  preferred_slot (0 none, 1 A, 2 B)
//     42    18  reserved, zero
//     60     4  crc32c of bytes 0..<60
//
// Decoding checks, in order: erased (all 0xFF), magic, version, record size, checksum. Reserved
// bytes are written as zero and not checked on read (the checksum covers them); a slot byte
// other than 1 or 2 reads as "none".

/// The 64 bytes of one encoded state record.
public typealias StateRecordBytes = InlineArray<64, UInt8>

/// One state record: a `BootState` plus the sequence number that orders the two copies.
public struct StateRecord: Equatable, Sendable {
    /// Grows by one with every write (wrapping); the copy with the higher one is the newest.
    public var sequence: UInt64
    public var state: BootState

    public init(sequence: UInt64, state: BootState) { self.sequence = sequence; self.state = state }

    /// "BULKSTAT" as a little-endian u64: the bytes 42 55 4C 4B 53 54 41 54.
    public static let magic: UInt64 = 0x5441_5453_4B4C_5542
    /// The only format version this build reads and writes.
    public static let formatVersion: UInt16 = 1
    /// Bytes in a record.
    public static let size = 64
    /// Offset of the CRC-32C; the checksum covers bytes `0..<checksumOffset`.
    public static let checksumOffset = 60

    // Field offsets (see the table at the top of this file).
    static let versionOffset = 8, sizeOffset = 10, sequenceOffset = 16, minimumOffset = 24
    static let attemptsAOffset = 32, attemptsBOffset = 36, lastBootedOffset = 40, preferredOffset = 41

    /// The record's bytes: reserved bytes zero, checksum last.
    public func encode() -> StateRecordBytes {
        var bytes = StateRecordBytes(repeating: 0)
        StateRecord.put(StateRecord.magic, 8, into: &bytes, at: 0)
        StateRecord.put(UInt64(StateRecord.formatVersion), 2, into: &bytes, at: StateRecord.versionOffset)
        StateRecord.put(UInt64(StateRecord.size), 2, into: &bytes, at: StateRecord.sizeOffset)
        StateRecord.put(sequence, 8, into: &bytes, at: StateRecord.sequenceOffset)
        StateRecord.put(state.minimumSecurityVersion, 8, into: &bytes, at: StateRecord.minimumOffset)
        StateRecord.put(UInt64(state.bootAttemptsA), 4, into: &bytes, at: StateRecord.attemptsAOffset)
        StateRecord.put(UInt64(state.bootAttemptsB), 4, into: &bytes, at: StateRecord.attemptsBOffset)
        bytes[StateRecord.lastBootedOffset] = state.lastBootedSlot?.rawValue ?? 0
        bytes[StateRecord.preferredOffset] = state.preferredSlot?.rawValue ?? 0
        StateRecord.put(UInt64(StateRecord.checksum(of: bytes)), 4, into: &bytes, at: StateRecord.checksumOffset)
        return bytes
    }

    /// What a copy's 64 bytes hold: a valid record, or why they are not one.
    public static func decode(_ bytes: StateRecordBytes) -> StateCopyStatus {
        var allErased = true
        for i in 0..<size where bytes[i] != 0xFF { allErased = false; break }
        if allErased { return .erased }
        guard get(bytes, at: 0, 8) == magic else { return .badMagic }
        let version = UInt16(truncatingIfNeeded: get(bytes, at: versionOffset, 2))
        guard version == formatVersion else { return .unsupportedVersion(version) }
        let recordSize = UInt16(truncatingIfNeeded: get(bytes, at: sizeOffset, 2))
        guard Int(recordSize) == size else { return .wrongRecordSize(recordSize) }
        let stored = UInt32(truncatingIfNeeded: get(bytes, at: checksumOffset, 4))
        let computed = checksum(of: bytes)
        guard stored == computed else { return .badChecksum(stored: stored, computed: computed) }
        let state = BootState(
            minimumSecurityVersion: get(bytes, at: minimumOffset, 8),
            bootAttemptsA: UInt32(truncatingIfNeeded: get(bytes, at: attemptsAOffset, 4)),
            bootAttemptsB: UInt32(truncatingIfNeeded: get(bytes, at: attemptsBOffset, 4)),
            lastBootedSlot: BootSlot(recordByte: bytes[lastBootedOffset]),
            preferredSlot: BootSlot(recordByte: bytes[preferredOffset]))
        return .valid(StateRecord(sequence: get(bytes, at: sequenceOffset, 8), state: state))
    }

    /// The CRC-32C of bytes `0..<checksumOffset`.
    static func checksum(of bytes: StateRecordBytes) -> UInt32 {
        withUnsafeBytes(of: bytes) { raw in
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<checksumOffset]))
        }
    }

    /// Stores the low `width` bytes of `value` little-endian at `offset`.
    private static func put(_ value: UInt64, _ width: Int, into bytes: inout StateRecordBytes, at offset: Int) {
        var i = 0
        while i < width {
            bytes[offset + i] = UInt8(truncatingIfNeeded: value >> UInt64(8 * i))
            i += 1
        }
    }

    /// Loads `width` bytes little-endian from `offset`.
    private static func get(_ bytes: StateRecordBytes, at offset: Int, _ width: Int) -> UInt64 {
        var value: UInt64 = 0
        var i = width
        while i > 0 {
            i -= 1
            value = (value << 8) | UInt64(bytes[offset + i])
        }
        return value
    }
}

/// What one copy of the state region holds.
public enum StateCopyStatus: Equatable, Sendable {
    /// A record with the right magic, version, size and checksum.
    case valid(StateRecord)
    /// Every byte is 0xFF: never written, or erased and not yet programmed.
    case erased
    /// The first 8 bytes are not "BULKSTAT" (and the copy is not erased).
    case badMagic
    /// A format version this build does not read.
    case unsupportedVersion(UInt16)
    /// A record size other than 64.
    case wrongRecordSize(UInt16)
    /// The stored CRC-32C does not match the bytes: a torn or decayed write.
    case badChecksum(stored: UInt32, computed: UInt32)

    /// The record, when the copy is valid.
    public var record: StateRecord? {
        if case .valid(let record) = self { return record }
        return nil
    }

    /// Writes a short description, e.g. `checksum mismatch (stored 0x0, computed 0x1f)`.
    public func write<S: TextSink>(to out: inout S) {
        switch self {
        case .valid(let record):
            out.write("valid, sequence "); out.write(decimal: record.sequence)
        case .erased:
            out.write("erased")
        case .badMagic:
            out.write("not a state record (bad magic)")
        case .unsupportedVersion(let v):
            out.write("format version "); out.write(decimal: UInt64(v)); out.write(" is not supported")
        case .wrongRecordSize(let s):
            out.write("record size "); out.write(decimal: UInt64(s)); out.write(" is not 64")
        case .badChecksum(let stored, let computed):
            out.write("checksum mismatch (stored "); out.write(hex: UInt64(stored))
            out.write(", computed "); out.write(hex: UInt64(computed)); out.write(")")
        }
    }
}
