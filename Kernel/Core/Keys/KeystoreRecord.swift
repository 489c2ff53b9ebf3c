// The keystores' persisted form: one record in two flash copies, each partition's slots sealed under its keystore key (docs/keys.md).
//
// Record (little-endian), at the start of a keystore copy's erase block:
//   Offset  Size  Field
//        0     8  magic "BULKKEYS"
//        8     2  format_version (1)
//       10     2  entry_count (at most 16)
//       12     2  entry_size (624)
//       14     2  reserved, zero
//       16     8  sequence (the copy with the higher valid sequence is current)
//       24     4  crc32c of bytes 0..<24 and of the entries (detects torn writes; no protection)
//       28     4  reserved, zero
//       32     …  entries
// Entry:
//        0    16  partition name, zero padded
//       16     1  name length
//       17     3  reserved, zero
//       20    12  nonce (fresh from the DRBG for every write)
//       32   576  ChaCha20-Poly1305 (RFC 8439) ciphertext of the 8 slots (Keystore.swift), AAD = bytes 0..<20
//      608    16  tag
// A write builds the new record in a scratch buffer, erases the copy that is not current and
// programs it there with sequence + 1, so a torn write leaves the previous record current.
// Entries of partitions the running bundle does not have are carried over untouched.

public enum KeystoreRecord {
    public static let magic: UInt64 = 0x5359_454B_4B4C_5542     // "BULKKEYS" little-endian
    public static let version: UInt16 = 1
    public static let headerSize = 32
    public static let maxEntries = 16
    public static let nonceOffset = 20
    public static let ciphertextOffset = 32
    public static let tagSize = 16
    public static let entrySize = ciphertextOffset + PartitionKeystore.encodedSize + tagSize
    /// The largest record: the size of the buffers the caller provides.
    public static let maxSize = headerSize + maxEntries * entrySize

    /// What a copy holds.
    public enum CopyStatus: Equatable, Sendable { case valid(sequence: UInt64), erased, damaged }

    /// How `name`'s entry opened.
    public enum EntryStatus: Equatable, Sendable {
        case absent
        case opened
        /// Sealed under another key (another device, hypervisor or signer) or altered.
        case notAuthentic
        /// Authentic but not a well-formed set of slots.
        case malformed
    }

    /// The record at `bytes` (at least `maxSize`) checked: header, size and checksum.
    public static func status(_ bytes: UnsafeRawBufferPointer) -> CopyStatus {
        var erased = true
        var i = 0
        while i < headerSize { if bytes[i] != 0xFF { erased = false }; i += 1 }
        if erased { return .erased }
        let count = Int(get(bytes, 10, 2))
        guard get(bytes, 0, 8) == magic, get(bytes, 8, 2) == UInt64(version), count <= maxEntries,
              get(bytes, 12, 2) == UInt64(entrySize), get(bytes, 14, 2) == 0, get(bytes, 28, 4) == 0,
              get(bytes, 24, 4) == UInt64(checksum(bytes, count: count)) else { return .damaged }
        return .valid(sequence: get(bytes, 16, 8))
    }

    /// An empty record (no entries, sequence 0) in `bytes`.
    public static func makeEmpty(_ bytes: UnsafeMutableRawBufferPointer) {
        var i = 0
        while i < headerSize { bytes[i] = 0; i += 1 }
        put(bytes, 0, 8, magic); put(bytes, 8, 2, UInt64(version)); put(bytes, 12, 2, UInt64(entrySize))
        put(bytes, 24, 4, UInt64(checksum(UnsafeRawBufferPointer(bytes), count: 0)))
    }

    public static func entryCount(_ bytes: UnsafeRawBufferPointer) -> Int { Int(get(bytes, 10, 2)) }
    public static func sequence(_ bytes: UnsafeRawBufferPointer) -> UInt64 { get(bytes, 16, 8) }
    /// Bytes the record occupies.
    public static func size(_ bytes: UnsafeRawBufferPointer) -> Int { headerSize + entryCount(bytes) * entrySize }

    /// Opens `name`'s entry into `store` (left empty unless `.opened`).
    public static func open(_ bytes: UnsafeRawBufferPointer, name: PartitionName, key: UnsafeRawBufferPointer,
                            into store: inout PartitionKeystore) -> EntryStatus {
        guard let e = find(bytes, name) else { return .absent }
        let entry = UnsafeRawBufferPointer(rebasing: bytes[e..<(e + entrySize)])
        var plain = InlineArray<576, UInt8>(repeating: 0)
        let ok = withUnsafeMutableBytes(of: &plain) { p in
            ChaCha20Poly1305.open(key: key, nonce: UnsafeRawBufferPointer(rebasing: entry[nonceOffset..<ciphertextOffset]),
                                  aad: UnsafeRawBufferPointer(rebasing: entry[0..<nonceOffset]),
                                  ciphertext: UnsafeRawBufferPointer(rebasing: entry[ciphertextOffset..<(entrySize - tagSize)]),
                                  tag: UnsafeRawBufferPointer(rebasing: entry[(entrySize - tagSize)...]), plaintext: p)
        }
        defer { secureZero(&plain) }
        guard ok else { return .notAuthentic }
        return withUnsafeBytes(of: &plain) { store.decode($0) } ? .opened : .malformed
    }

    /// Writes into `out` (`maxSize` bytes) the record `current` with `name`'s entry replaced by
    /// `store` sealed under `key` with `nonce` (dropped when the store is blank), sequence + 1.
    /// Returns the new record's size, or nil when it would hold more than `maxEntries`.
    public static func replacing(_ current: UnsafeRawBufferPointer, name: PartitionName, store: PartitionKeystore,
                                 key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer,
                                 into out: UnsafeMutableRawBufferPointer) -> Int? {
        let existing = find(current, name)
        var count = 0
        var i = 0
        while i < entryCount(current) {
            let at = headerSize + i * entrySize
            if at != existing {
                UnsafeMutableRawBufferPointer(rebasing: out[(headerSize + count * entrySize)...])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: current[at..<(at + entrySize)]))
                count += 1
            }
            i += 1
        }
        if !store.isBlank {
            guard count < maxEntries else { return nil }
            let entry = UnsafeMutableRawBufferPointer(rebasing: out[(headerSize + count * entrySize)..<(headerSize + (count + 1) * entrySize)])
            var j = 0
            while j < ciphertextOffset { entry[j] = 0; j += 1 }
            name.withBytes { n in UnsafeMutableRawBufferPointer(rebasing: entry[0..<n.count]).copyMemory(from: n) }
            entry[16] = UInt8(truncatingIfNeeded: name.count)
            UnsafeMutableRawBufferPointer(rebasing: entry[nonceOffset..<ciphertextOffset]).copyMemory(from: nonce)
            var plain = InlineArray<576, UInt8>(repeating: 0)
            withUnsafeMutableBytes(of: &plain) { store.encode(into: $0) }
            _ = withUnsafeBytes(of: &plain) { p in
                ChaCha20Poly1305.seal(key: key, nonce: nonce, aad: UnsafeRawBufferPointer(rebasing: entry[0..<nonceOffset]),
                                      plaintext: p, ciphertext: UnsafeMutableRawBufferPointer(rebasing: entry[ciphertextOffset..<(entrySize - tagSize)]),
                                      tag: UnsafeMutableRawBufferPointer(rebasing: entry[(entrySize - tagSize)...]))
            }
            secureZero(&plain)
            count += 1
        }
        var h = 0
        while h < headerSize { out[h] = 0; h += 1 }
        put(out, 0, 8, magic); put(out, 8, 2, UInt64(version)); put(out, 10, 2, UInt64(count))
        put(out, 12, 2, UInt64(entrySize)); put(out, 16, 8, sequence(current) &+ 1)
        put(out, 24, 4, UInt64(checksum(UnsafeRawBufferPointer(out), count: count)))
        return headerSize + count * entrySize
    }

    /// The name of entry `index` (its bytes; names are not sealed).
    public static func withEntryName<R>(_ bytes: UnsafeRawBufferPointer, _ index: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        let at = headerSize + index * entrySize
        return body(UnsafeRawBufferPointer(rebasing: bytes[at..<(at + min(Int(bytes[at + 16]), 16))]))
    }

    /// The offset of `name`'s entry, if the record has one.
    static func find(_ bytes: UnsafeRawBufferPointer, _ name: PartitionName) -> Int? {
        var i = 0
        while i < entryCount(bytes) {
            let at = headerSize + i * entrySize
            let entryName = withEntryName(bytes, i) { PartitionName(bytes: $0) }
            if entryName?.equals(name) == true && Int(bytes[at + 16]) == name.count { return at }
            i += 1
        }
        return nil
    }

    static func checksum(_ bytes: UnsafeRawBufferPointer, count: Int) -> UInt32 {
        let header = CRC32C.update(CRC32C.initialValue, with: UnsafeRawBufferPointer(rebasing: bytes[0..<24]))
        return CRC32C.finish(CRC32C.update(header, with: UnsafeRawBufferPointer(rebasing: bytes[headerSize..<(headerSize + count * entrySize)])))
    }

    static func get(_ b: UnsafeRawBufferPointer, _ at: Int, _ width: Int) -> UInt64 {
        var v: UInt64 = 0
        var i = width
        while i > 0 { i -= 1; v = v << 8 | UInt64(b[at + i]) }
        return v
    }

    static func put(_ b: UnsafeMutableRawBufferPointer, _ at: Int, _ width: Int, _ value: UInt64) {
        var i = 0
        while i < width { b[at + i] = UInt8(truncatingIfNeeded: value >> UInt64(8 * i)); i += 1 }
    }
}

/// The two flash copies of the keystore record.
public struct KeystoreRegion: Sendable {
    public var copyA: FlashRange
    public var copyB: FlashRange
    public init(copyA: FlashRange, copyB: FlashRange) { self.copyA = copyA; self.copyB = copyB }

    /// What `load` found.
    public struct Loaded: Equatable, Sendable {
        public var statusA: KeystoreRecord.CopyStatus
        public var statusB: KeystoreRecord.CopyStatus
        /// The copy now current (0 = A, 1 = B), nil when neither is valid (an empty record then).
        public var current: Int?
    }

    /// Reads both copies and leaves the current record in `record` (`maxSize` bytes; an empty
    /// record when neither copy is valid). A copy that cannot be read counts as damaged.
    public func load<F: FlashDevice>(_ flash: F, into record: UnsafeMutableRawBufferPointer) -> Loaded {
        let a = readCopy(flash, copyA, into: record)
        let b = readCopy(flash, copyB, into: record)
        var current: Int? = nil
        switch (a, b) {
        case (.valid(let sa), .valid(let sb)): current = sb > sa ? 1 : 0
        case (.valid, _): current = 0
        case (_, .valid): current = 1
        default: break
        }
        switch current {
        case 1: break                                   // copy B, read last, is in `record`
        case 0: _ = readCopy(flash, copyA, into: record)
        default: KeystoreRecord.makeEmpty(record)
        }
        return Loaded(statusA: a, statusB: b, current: current)
    }

    /// Erases the copy that is not `current` and programs `record` (`size` bytes) there; false
    /// when a step failed (the previous copy is still current then).
    public func write<F: FlashDevice>(_ flash: inout F, _ record: UnsafeRawBufferPointer, size: Int, current: Int?) -> Bool {
        let target = current == 0 ? copyB : copyA
        guard size <= target.size else { return false }
        var offset = 0
        while offset < target.size {
            guard flash.erase(blockAt: target.offset + offset) else { return false }
            offset += flash.eraseBlockSize
        }
        return flash.program(offset: target.offset, bytes: UnsafeRawBufferPointer(rebasing: record[0..<size]))
    }

    /// One keystore change as a transaction: `change` runs on a copy of `store`; the copy is
    /// sealed under `key` with `nonce` into a new record in `scratch` (`maxSize` bytes) and
    /// written to flash; only then do `store`, `record` and `current` take the new values.
    /// Throws what `change` throws, `keystoreFull` when the record has no room for another
    /// entry, `storageFailed` when the flash write failed.
    public func update<F: FlashDevice>(_ store: inout PartitionKeystore, name: PartitionName, key: UnsafeRawBufferPointer,
                                       nonce: UnsafeRawBufferPointer, record: UnsafeMutableRawBufferPointer,
                                       scratch: UnsafeMutableRawBufferPointer, current: inout Int?, flash: inout F,
                                       _ change: (inout PartitionKeystore) throws(BulkheadReason) -> UInt64) throws(BulkheadReason) -> UInt64 {
        var copy = store
        defer { copy.wipe() }
        let result = try change(&copy)
        guard let size = KeystoreRecord.replacing(UnsafeRawBufferPointer(record), name: name, store: copy, key: key,
                                                  nonce: nonce, into: scratch) else { throw .keystoreFull }
        guard write(&flash, UnsafeRawBufferPointer(scratch), size: size, current: current) else { throw .storageFailed }
        UnsafeMutableRawBufferPointer(rebasing: record[0..<size]).copyMemory(from: UnsafeRawBufferPointer(rebasing: scratch[0..<size]))
        current = KeystoreRegion.next(after: current)
        store = copy
        return result
    }

    /// The copy `write` just wrote becomes current.
    public static func next(after current: Int?) -> Int { current == 0 ? 1 : 0 }

    private func readCopy<F: FlashDevice>(_ flash: F, _ range: FlashRange, into record: UnsafeMutableRawBufferPointer) -> KeystoreRecord.CopyStatus {
        guard range.size >= KeystoreRecord.maxSize,
              flash.read(offset: range.offset, into: UnsafeMutableRawBufferPointer(rebasing: record[0..<KeystoreRecord.headerSize])) else { return .damaged }
        let count = KeystoreRecord.entryCount(UnsafeRawBufferPointer(record))
        if count <= KeystoreRecord.maxEntries {
            let size = KeystoreRecord.headerSize + count * KeystoreRecord.entrySize
            guard flash.read(offset: range.offset + KeystoreRecord.headerSize,
                             into: UnsafeMutableRawBufferPointer(rebasing: record[KeystoreRecord.headerSize..<size])) else { return .damaged }
        }
        return KeystoreRecord.status(UnsafeRawBufferPointer(record))
    }
}
