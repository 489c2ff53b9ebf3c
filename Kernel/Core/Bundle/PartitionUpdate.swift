// Partition update format v1 (layout constants) and its strict parser: one partition's new image
// (and initrd), signed, bound to the partition's policy in the installed bundle.
//
// docs/bundle-format.md, "Partition updates", describes every byte. All integers little-endian.
//
//   header     288 bytes at offset 0: the signed message (fields, policy/image/initrd digests)
//   signature  64 bytes at 288: Ed25519 over the header
//   image      at 352, image_length bytes
//   initrd     at the next 8-byte boundary after the image (when initrd_length > 0), zero padding before it
//   end        total_length = the end of the last payload, exactly
//
// Invariants once `init` returns: the buffer is exactly `totalLength` bytes; every byte is in the
// header (signed), the signature, the image or initrd (each covered by a signed digest), or is zero
// padding. Every read follows a length check: no input makes the reader trap. It copies nothing.

/// Layout constants of partition update format version 1.
public enum PartitionUpdateFormat {
    /// "BHUPDATE" in ASCII, read as a little-endian 64-bit integer (a bundle starts "BULKHEAD").
    public static let magic: UInt64 = 0x4554_4144_5055_4842
    /// The only version this build reads and writes.
    public static let version: UInt16 = 1
    /// The header: the signed message.
    public static let headerSize = 288
    /// Where the image starts: after the header and the signature.
    public static let imageOffset = headerSize + BundleFormat.signatureSize

    /// Field offsets within the header.
    public enum Header {
        public static let magic = 0             // 8 bytes
        public static let version = 8           // u16
        public static let headerSize = 10       // u16, 288
        public static let partition = 12        // u8, the partition's index in the installed bundle
        public static let nameLength = 13       // u8, 1 ... 16
        public static let reserved0 = 14        // 2 bytes, zero
        public static let totalLength = 16      // u64
        public static let securityVersion = 24  // u64, the partition's own anti-rollback counter
        public static let keyID = 32            // 8 bytes, as in a bundle
        public static let name = 40             // 16 bytes, zero after nameLength
        public static let nameCapacity = 16
        public static let entry = 56            // u64, guest-physical entry of the new image
        public static let imageLength = 64      // u64, not zero
        public static let initrdLength = 72     // u64, 0: no initrd
        public static let policyDigest = 80     // 64 bytes, PartitionUpdateVerifier.policyDigest
        public static let imageDigest = 144     // 64 bytes, SHA-512 of the image
        public static let initrdDigest = 208    // 64 bytes, SHA-512 of the initrd; zero without one
        public static let reserved1 = 272       // 16 bytes, zero
        public static let end = 288
    }

    /// Whether `bytes` start with the update magic (a bundle starts with another).
    public static func hasMagic(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 8 && BundleReader.u64(bytes, Header.magic) == magic
    }

    /// Where the initrd starts after an image of `imageLength` bytes, and where the update ends;
    /// nil when the lengths overflow.
    public static func layout(imageLength: UInt64, initrdLength: UInt64) -> (initrdOffset: UInt64, total: UInt64)? {
        let (imageEnd, o1) = UInt64(imageOffset).addingReportingOverflow(imageLength)
        guard !o1 else { return nil }
        guard initrdLength > 0 else { return (imageEnd, imageEnd) }
        guard let start = BundleFormat.alignUp(imageEnd) else { return nil }
        let (end, o2) = start.addingReportingOverflow(initrdLength)
        return o2 ? nil : (start, end)
    }
}

/// A parsed partition update. It borrows `bytes`: the buffer must outlive the reader.
public struct PartitionUpdateReader {
    /// Exactly the update's bytes.
    public let bytes: UnsafeRawBufferPointer
    /// The partition's index and name in the installed bundle (allegations until verified).
    public let partition: Int
    public let name: PartitionName
    public let securityVersion: UInt64
    public let keyID: SigningKeyID
    public let entry: GuestPhysAddr
    public let imageRange: BundleRange
    /// Empty when the update carries no initrd.
    public let initrdRange: BundleRange

    /// Parses a buffer holding exactly one update (checks in the order of docs/bundle-format.md).
    public init(bytes b: UnsafeRawBufferPointer) throws(PartitionUpdateError) {
        typealias H = PartitionUpdateFormat.Header
        let available = UInt64(b.count)
        guard b.count >= 8 else { throw .truncated(needed: 8, available: available) }
        guard BundleReader.u64(b, H.magic) == PartitionUpdateFormat.magic else { throw .badMagic }
        guard b.count >= H.end else { throw .truncated(needed: UInt64(H.end), available: available) }
        let version = BundleReader.u16(b, H.version)
        guard version == PartitionUpdateFormat.version else { throw .unsupportedVersion(version) }
        let headerSize = BundleReader.u16(b, H.headerSize)
        guard Int(headerSize) == PartitionUpdateFormat.headerSize else { throw .wrongHeaderSize(headerSize) }
        let nameLength = Int(b[H.nameLength])
        guard nameLength >= 1 && nameLength <= H.nameCapacity else { throw .badNameLength(nameLength) }
        try Self.requireZero(b, H.reserved0, H.totalLength)
        try Self.requireZero(b, H.name + nameLength, H.name + H.nameCapacity)
        try Self.requireZero(b, H.reserved1, H.end)
        let imageLength = BundleReader.u64(b, H.imageLength)
        guard imageLength > 0 else { throw .emptyImage }
        let initrdLength = BundleReader.u64(b, H.initrdLength)
        if initrdLength == 0 { try Self.requireZero(b, H.initrdDigest, H.initrdDigest + BundleFormat.digestSize) }
        let declared = BundleReader.u64(b, H.totalLength)
        guard let layout = PartitionUpdateFormat.layout(imageLength: imageLength, initrdLength: initrdLength),
              layout.total == declared else {
            throw .wrongTotalLength(declared: declared, imageLength: imageLength, initrdLength: initrdLength)
        }
        guard declared <= available else { throw .truncated(needed: declared, available: available) }
        guard declared == available else { throw .trailingBytes(declared: declared, available: available) }
        // From here on every offset is at most b.count, so the Int conversions are exact.
        let imageEnd = PartitionUpdateFormat.imageOffset + Int(imageLength)
        try Self.requireZero(b, imageEnd, Int(layout.initrdOffset))
        bytes = b
        partition = Int(b[H.partition])
        name = PartitionName(bytes: UnsafeRawBufferPointer(rebasing: b[H.name..<(H.name + nameLength)])) ?? PartitionName()
        securityVersion = BundleReader.u64(b, H.securityVersion)
        keyID = SigningKeyID(raw: BundleReader.u64(b, H.keyID))
        entry = GuestPhysAddr(BundleReader.u64(b, H.entry))
        imageRange = BundleRange(offset: PartitionUpdateFormat.imageOffset, count: Int(imageLength))
        initrdRange = BundleRange(offset: Int(layout.initrdOffset), count: Int(initrdLength))
    }

    /// The signed message: the header.
    public var headerBytes: UnsafeRawBufferPointer { view(0, PartitionUpdateFormat.headerSize) }
    public var signature: UnsafeRawBufferPointer { view(PartitionUpdateFormat.headerSize, BundleFormat.signatureSize) }
    public var image: UnsafeRawBufferPointer { view(imageRange.offset, imageRange.count) }
    /// Empty without an initrd.
    public var initrd: UnsafeRawBufferPointer { view(initrdRange.offset, initrdRange.count) }
    public var policyDigest: UnsafeRawBufferPointer { view(PartitionUpdateFormat.Header.policyDigest, BundleFormat.digestSize) }
    public var imageDigest: UnsafeRawBufferPointer { view(PartitionUpdateFormat.Header.imageDigest, BundleFormat.digestSize) }
    public var initrdDigest: UnsafeRawBufferPointer { view(PartitionUpdateFormat.Header.initrdDigest, BundleFormat.digestSize) }

    /// `bytes[offset ..< offset + count]`; every range handed out lies inside `bytes` (see the invariants).
    private func view(_ offset: Int, _ count: Int) -> UnsafeRawBufferPointer {
        guard count > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
    }

    private static func requireZero(_ b: UnsafeRawBufferPointer, _ start: Int, _ end: Int) throws(PartitionUpdateError) {
        if let offset = BundleReader.firstNonZero(b, from: start, to: end) { throw .reservedNotZero(offset: UInt64(offset)) }
    }
}
