// Bundle format v3: byte layout of the signed bundle (manifest = header + partition, channel,
// initrd and device records; signature; images).
//
// All integers are little-endian. docs/bundle-format.md describes every byte; this file is the
// single place the offsets are written down in code (reader and writer both use it).
//
//   header            64 bytes at offset 0                                   \
//   partition records partitionCount x 320 bytes at offset 64                 | the manifest: the bytes
//   channel records   channelCount x 64 bytes after the partition records    |  the signature covers
//   initrd records    initrdCount x 96 bytes after the channel records       |
//   device records    deviceCount x 192 bytes after the initrd records       /
//   signature         64 bytes at manifestLength(partitionCount:channelCount:)
//   images            each 8-byte aligned, after the signature, ending exactly at totalLength

/// Layout constants of bundle format version 4 (version 3's layout, chunked image digests: ImageDigest).
public enum BundleFormat {
    /// "BULKHEAD" in ASCII, read as a little-endian 64-bit integer.
    public static let magic: UInt64 = 0x4441_4548_4B4C_5542
    /// The only format version this build reads and writes (versions 1 to 3 are refused).
    public static let version: UInt16 = 4
    public static let headerSize = 64
    /// A partition record.
    public static let recordSize = 320
    /// A channel record.
    public static let channelRecordSize = 64
    /// An initrd record (present only when the header's initrd_count is not 0).
    public static let initrdRecordSize = 96
    /// A device record (present only when the header's device_count is not 0).
    public static let deviceRecordSize = 192
    /// An Ed25519 signature (RFC 8032: R then S, 32 bytes each).
    public static let signatureSize = 64
    /// A SHA-512 digest.
    public static let digestSize = 64
    /// A signing key id: the first 8 bytes of SHA-512(32-byte Ed25519 public key).
    public static let keyIDSize = 8
    /// Every image offset is a multiple of this.
    public static let imageAlignment = 8

    /// Field offsets within the header.
    public enum Header {
        public static let magic = 0             // 8 bytes
        public static let version = 8           // u16
        public static let headerSize = 10       // u16
        public static let recordSize = 12       // u16
        public static let partitionCount = 14   // u16
        public static let totalLength = 16      // u64
        public static let securityVersion = 24  // u64, anti-rollback
        public static let keyID = 32            // 8 bytes
        public static let channelCount = 40     // u16, at most ChannelLimits.maxChannels
        public static let channelRecordSize = 42 // u16, BundleFormat.channelRecordSize
        public static let initrdCount = 44      // u16, at most PlanLimits.maxPartitions (0: none)
        public static let initrdRecordSize = 46 // u16, BundleFormat.initrdRecordSize, or 0 when initrdCount is 0
        public static let deviceCount = 48      // u16, at most DeviceLimits.maxDevices (0: none)
        public static let deviceRecordSize = 50 // u16, BundleFormat.deviceRecordSize, or 0 when deviceCount is 0
        public static let flags = 52            // u8, BundleFlags (bits outside BundleFlags.all zero)
        public static let reserved = 53         // 11 bytes, zero
        public static let reservedEnd = 64
    }

    /// Field offsets within one partition record.
    public enum Record {
        public static let nameLength = 0        // u8, at most PlanLimits.maxNameLength
        public static let hartCount = 1         // u8, at most PlanLimits.maxHartsPerPartition
        public static let onFault = 2           // u8, a FaultPolicy raw value
        public static let imageKind = 3         // u8, an ImageKind raw value (0 flat, 1 Linux Image, 2 payload)
        public static let bootargsLength = 4    // u16, at most PlanLimits.maxBootargsLength
        public static let keyPolicy = 6         // u16, a KeyPolicy raw value (bits outside KeyPolicy.all zero)
        public static let name = 8              // 16 bytes, zero after nameLength
        public static let nameCapacity = 16
        public static let harts = 24            // 8 x u32 hart ids, zero after hartCount
        public static let hartSlots = 8
        public static let memoryBase = 56       // u64, host-physical
        public static let memorySize = 64       // u64
        public static let entry = 72            // u64, guest-physical
        public static let imageOffset = 80      // u64, from the start of the bundle
        public static let imageLength = 88      // u64
        public static let bootargs = 96         // 128 bytes, zero after bootargsLength
        public static let bootargsCapacity = 128
        public static let imageDigest = 224     // 64 bytes, SHA-512 of the image's imageLength bytes
        public static let flags = 288           // u8, PartitionFlags (bit 0 dma trusted, bit 1 uart; others zero)
        public static let updateTargets = 289   // u8, bit q: the partition may update partition q (`update = [...]`)
        public static let reserved2 = 290       // 30 bytes, zero
        public static let end = 320
    }

    /// Field offsets within one channel record.
    public enum ChannelRecord {
        public static let nameLength = 0        // u8, at most ChannelName's capacity (16)
        public static let kind = 1              // u8, a ChannelKind raw value (1 queue, 2 shared memory)
        public static let endpoints = 2         // 2 x u8 partition indices (endpoint 0, endpoint 1)
        public static let direction = 4         // u8, a ChannelDirection raw value (0 both, 1 forward)
        public static let access = 5            // 2 x u8 SharedAccess raw values (1 ro, 3 rw), per endpoint
        public static let doorbell = 7          // u8, 0 or 1
        public static let name = 8              // 16 bytes, zero after nameLength
        public static let nameCapacity = 16
        public static let depth = 24            // u32, queue: messages waiting per direction
        public static let messageSize = 28      // u32, queue: largest message in bytes
        public static let size = 32             // u64, shared memory: bytes mapped
        public static let reserved = 40         // 24 bytes, zero
        public static let end = 64
    }

    /// Field offsets within one initrd record (one per partition that has an initrd, in partition order).
    public enum InitrdRecord {
        public static let partition = 0         // u8, the partition's index
        public static let reserved0 = 1         // 7 bytes, zero
        public static let offset = 8            // u64, from the start of the bundle, 8-byte aligned
        public static let length = 16           // u64, non-zero
        public static let reserved1 = 24        // 8 bytes, zero
        public static let digest = 32           // 64 bytes, SHA-512 of the initrd's length bytes
        public static let end = 96
    }

    /// Field offsets within one device record (one per device, in the plan's device order).
    public enum DeviceRecord {
        public static let owner = 0             // u8, the owning partition's index
        public static let interruptCount = 1    // u8, at most DeviceLimits.maxInterrupts
        public static let flags = 2             // u8, bit 0: DMA-capable; others zero
        public static let pathLength = 3        // u8, 1 ... 64
        public static let compatibleLength = 4  // u8, 0 ... 48
        public static let reserved0 = 5         // 3 bytes, zero
        public static let base = 8              // u64, host-physical = guest-physical MMIO base
        public static let size = 16             // u64
        public static let interrupts = 24       // 4 x u32 PLIC sources, zero after interruptCount
        public static let reserved1 = 40        // 24 bytes, zero
        public static let path = 64             // 64 bytes, zero after pathLength
        public static let pathCapacity = 64
        public static let compatible = 128      // 48 bytes, zero after compatibleLength
        public static let compatibleCapacity = 48
        public static let reserved2 = 176       // 16 bytes, zero
        public static let end = 192
    }

    /// Where partition record `index` starts.
    @inline(__always) public static func recordOffset(_ index: Int) -> Int { headerSize &+ index &* recordSize }

    /// Where channel record `index` starts, after `partitionCount` partition records.
    @inline(__always) public static func channelRecordOffset(_ index: Int, partitionCount: Int) -> Int {
        recordOffset(partitionCount) &+ index &* channelRecordSize
    }

    /// Where initrd record `index` starts, after the partition and channel records.
    @inline(__always) public static func initrdRecordOffset(_ index: Int, partitionCount: Int, channelCount: Int) -> Int {
        channelRecordOffset(channelCount, partitionCount: partitionCount) &+ index &* initrdRecordSize
    }

    /// Where device record `index` starts, after the partition, channel and initrd records.
    @inline(__always) public static func deviceRecordOffset(_ index: Int, partitionCount: Int, channelCount: Int,
                                                           initrdCount: Int) -> Int {
        initrdRecordOffset(initrdCount, partitionCount: partitionCount, channelCount: channelCount) &+ index &* deviceRecordSize
    }

    /// The manifest's length (header + partition, channel, initrd and device records): the
    /// signed range is `[0, manifestLength)`. The header alone fixes it, so a verifier can
    /// authenticate the records before decoding them.
    @inline(__always) public static func manifestLength(partitionCount: Int, channelCount: Int, initrdCount: Int = 0,
                                                       deviceCount: Int = 0) -> Int {
        deviceRecordOffset(deviceCount, partitionCount: partitionCount, channelCount: channelCount, initrdCount: initrdCount)
    }

    /// Where the images may start: right after the signature (a multiple of 8 for every count).
    @inline(__always) public static func imagesStart(partitionCount: Int, channelCount: Int, initrdCount: Int = 0,
                                                    deviceCount: Int = 0) -> Int {
        manifestLength(partitionCount: partitionCount, channelCount: channelCount, initrdCount: initrdCount,
                       deviceCount: deviceCount) &+ signatureSize
    }

    /// The manifest's length of a bundle without channels. Prefer the two-count form (or
    /// `BundleReader.manifestRange`): this one is wrong for a bundle that declares channels.
    @available(*, deprecated, message: "pass the channel count too: manifestLength(partitionCount:channelCount:)")
    @inline(__always) public static func manifestLength(partitionCount: Int) -> Int {
        manifestLength(partitionCount: partitionCount, channelCount: 0)
    }

    /// Where the images may start in a bundle without channels (see `manifestLength(partitionCount:)`).
    @available(*, deprecated, message: "pass the channel count too: imagesStart(partitionCount:channelCount:)")
    @inline(__always) public static func imagesStart(partitionCount: Int) -> Int {
        imagesStart(partitionCount: partitionCount, channelCount: 0)
    }

    /// `value` rounded up to a multiple of `imageAlignment` (`nil` on overflow).
    public static func alignUp(_ value: UInt64) -> UInt64? {
        let (sum, overflow) = value.addingReportingOverflow(UInt64(imageAlignment - 1))
        return overflow ? nil : sum & ~UInt64(imageAlignment - 1)
    }
}

/// The id of an Ed25519 signing key: the first 8 bytes of SHA-512 of its 32-byte public key,
/// kept in `raw` as those bytes read little-endian (byte 0 is the low byte). Written in hex in
/// byte order, e.g. `4c8a…` for bytes 4C 8A ….
public struct SigningKeyID: Equatable, Hashable, Sendable {
    public var raw: UInt64
    public init(raw: UInt64) { self.raw = raw }

    /// The id whose bytes are the first 8 of `bytes` (e.g. a SHA-512 digest of the public key);
    /// `nil` when fewer than 8 bytes are given.
    public init?(prefixOf bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= BundleFormat.keyIDSize else { return nil }
        var v: UInt64 = 0
        var i = BundleFormat.keyIDSize
        while i > 0 { i -= 1; v = v << 8 | UInt64(bytes[i]) }
        raw = v
    }

    /// Byte `index` (0 ..< 8) of the id as stored in a bundle.
    public func byte(_ index: Int) -> UInt8 { UInt8(truncatingIfNeeded: raw >> UInt64(8 * (index & 7))) }

    /// Writes the 16 lowercase hex digits, in byte order.
    public func write<S: TextSink>(to out: inout S) {
        var i = 0
        while i < BundleFormat.keyIDSize { out.write(hexByte: byte(i)); i += 1 }
    }
}
