// The system report: the device's revision, every partition's measurement and policy and the channel topology, signed by the device key (docs/keys.md).
//
// Layout (version 1, little-endian; docs/keys.md, "System report"): a 192-byte header, one
// 224-byte entry per partition in manifest order, one 40-byte entry per channel in manifest
// order (the channel id is its index), then the Ed25519 signature (RFC 8032) over every byte
// before it. The counts are bounded by the plan's limits (8 partitions, 16 channels), so a
// report is at most `maxSize` bytes and the writer builds it on the stack: no heap. The writer
// signs its own copy and only then copies it out, so the caller never sees a half-written or
// unsigned report, and the signed bytes cannot change between Ed25519's two passes over them.

public enum SystemReport {
    public static let magic: UInt32 = 0x5253_4842          // "BHSR" little-endian
    public static let version: UInt16 = 1
    public static let headerSize = 192
    public static let partitionEntrySize = 224
    public static let channelEntrySize = 40
    public static let signatureSize = 64
    public static let nonceSize = 32
    public static let maxPartitions = Limits.partitions
    public static let maxChannels = ChannelLimits.maxChannels
    /// The largest report: 8 partitions and 16 channels (2,688 bytes).
    public static let maxSize = headerSize + partitionEntrySize * 8 + channelEntrySize * 16 + signatureSize

    /// Header fields.
    public enum Header {
        public static let magic = 0                 // u32 "BHSR"
        public static let version = 4               // u16
        public static let headerSize = 6            // u16, 192
        public static let totalLength = 8           // u32, the whole report with its signature
        public static let partitionCount = 12       // u8, 1 ... 8
        public static let channelCount = 13         // u8, 0 ... 16
        public static let caller = 14               // u8, the index of the partition that asked
        public static let reserved0 = 15            // u8, zero
        public static let partitionEntrySize = 16   // u16, 224
        public static let channelEntrySize = 18     // u16, 40
        public static let reserved1 = 20            // u32, zero
        public static let securityVersion = 24      // u64, the bundle's security version
        public static let nonce = 32                // 32 bytes, the caller's
        public static let identity = 64             // 64 bytes, the hypervisor identity
        public static let manifestDigest = 128      // 64 bytes, SHA-512 of the bundle's signed manifest
        public static let end = 192
    }

    /// Partition entry fields.
    public enum PartitionEntry {
        public static let name = 0                  // 16 bytes, zero padded
        public static let source = 16               // u8, ImageSource
        public static let reserved = 17             // 7 bytes, zero
        public static let securityVersion = 24      // u64, the committed image's security version
        public static let imageDigest = 32          // 64 bytes, the committed image's digest (as in the manifest)
        public static let measurement = 96          // 64 bytes, the running partition's measurement
        public static let policyDigest = 160        // 64 bytes, PartitionUpdateVerifier.policyDigest
        public static let end = 224
    }

    /// Channel entry fields.
    public enum ChannelEntry {
        public static let name = 0                  // 16 bytes, zero padded
        public static let kind = 16                 // u8, ChannelKind
        public static let direction = 17            // u8, ChannelDirection
        public static let endpoints = 18            // 2 × u8, partition indices
        public static let access = 20               // 2 × u8, SharedAccess per endpoint
        public static let doorbell = 22             // u8, 0 or 1
        public static let reserved = 23             // u8, zero
        public static let depth = 24                // u32
        public static let messageSize = 28          // u32
        public static let sharedSize = 32           // u64
        public static let end = 40
    }

    /// Which image a partition's revision names.
    public enum ImageSource: UInt8, Sendable {
        /// The image of the installed bundle, at the bundle's security version.
        case bundle = 0
        /// A committed partition update, at the update's own security version.
        case committedUpdate = 1
        /// The committed image (either of the above) while a newer one runs on trial: the
        /// measurement is the trial image's, the digest and version the committed one's.
        case trial = 2
    }

    /// One partition's part of the report.
    public struct Partition: Sendable {
        public var name: PartitionName
        public var source: ImageSource
        public var securityVersion: UInt64
        public var imageDigest: SHA512Digest
        public var measurement: SHA512Digest
        public var policyDigest: SHA512Digest
        public init(name: PartitionName, source: ImageSource, securityVersion: UInt64, imageDigest: SHA512Digest,
                    measurement: SHA512Digest, policyDigest: SHA512Digest) {
            self.name = name; self.source = source; self.securityVersion = securityVersion
            self.imageDigest = imageDigest; self.measurement = measurement; self.policyDigest = policyDigest
        }
    }

    /// What the header holds besides the nonce.
    public struct System: Sendable {
        public var securityVersion: UInt64
        public var identity: SHA512Digest
        public var manifestDigest: SHA512Digest
        public var partitionCount: Int
        public var channelCount: Int
        public var caller: Int
        public init(securityVersion: UInt64, identity: SHA512Digest, manifestDigest: SHA512Digest,
                    partitionCount: Int, channelCount: Int, caller: Int) {
            self.securityVersion = securityVersion; self.identity = identity; self.manifestDigest = manifestDigest
            self.partitionCount = partitionCount; self.channelCount = channelCount; self.caller = caller
        }
    }

    /// The length of a report with these counts (signature included).
    public static func size(partitions: Int, channels: Int) -> Int {
        headerSize + partitionEntrySize * partitions + channelEntrySize * channels + signatureSize
    }

    /// Writes the report into `out` and signs it with `deviceKey`. `partition(p)` and
    /// `channel(c)` give the entries in manifest order. Returns the length written, or 0 (nothing
    /// written) when `out` is too small, the nonce is not 32 bytes, or a count or the caller is
    /// out of range.
    public static func write(into out: UnsafeMutableRawBufferPointer, nonce: UnsafeRawBufferPointer, system: System,
                             partition: (Int) -> Partition, channel: (Int) -> ChannelSpec,
                             deviceKey: Ed25519PrivateKey) -> Int {
        let pc = system.partitionCount, cc = system.channelCount
        guard pc >= 1, pc <= maxPartitions, cc >= 0, cc <= maxChannels, system.caller >= 0, system.caller < pc,
              nonce.count == nonceSize, let base = out.baseAddress else { return 0 }
        let total = size(partitions: pc, channels: cc)
        guard out.count >= total else { return 0 }
        var report = InlineArray<2688, UInt8>(repeating: 0)
        withUnsafeMutableBytes(of: &report) { r in
            typealias H = Header
            put32(magic, r, H.magic)
            put16(version, r, H.version)
            put16(UInt16(headerSize), r, H.headerSize)
            put32(UInt32(total), r, H.totalLength)
            r[H.partitionCount] = UInt8(pc)
            r[H.channelCount] = UInt8(cc)
            r[H.caller] = UInt8(system.caller)
            put16(UInt16(partitionEntrySize), r, H.partitionEntrySize)
            put16(UInt16(channelEntrySize), r, H.channelEntrySize)
            put64(system.securityVersion, r, H.securityVersion)
            copy(nonce, r, H.nonce)
            system.identity.withBytes { copy($0, r, H.identity) }
            system.manifestDigest.withBytes { copy($0, r, H.manifestDigest) }
            var p = 0
            while p < pc {
                let at = headerSize + p * partitionEntrySize
                let e = partition(p)
                e.name.withBytes { copy($0, r, at + PartitionEntry.name) }
                r[at + PartitionEntry.source] = e.source.rawValue
                put64(e.securityVersion, r, at + PartitionEntry.securityVersion)
                e.imageDigest.withBytes { copy($0, r, at + PartitionEntry.imageDigest) }
                e.measurement.withBytes { copy($0, r, at + PartitionEntry.measurement) }
                e.policyDigest.withBytes { copy($0, r, at + PartitionEntry.policyDigest) }
                p += 1
            }
            var c = 0
            while c < cc {
                let at = headerSize + pc * partitionEntrySize + c * channelEntrySize
                let ch = channel(c)
                ch.name.withBytes { copy($0, r, at + ChannelEntry.name) }
                r[at + ChannelEntry.kind] = ch.kind.rawValue
                r[at + ChannelEntry.direction] = ch.direction.rawValue
                r[at + ChannelEntry.endpoints] = ch.endpoints[0]
                r[at + ChannelEntry.endpoints + 1] = ch.endpoints[1]
                r[at + ChannelEntry.access] = ch.access[0].rawValue
                r[at + ChannelEntry.access + 1] = ch.access[1].rawValue
                r[at + ChannelEntry.doorbell] = ch.doorbell ? 1 : 0
                put32(ch.depth, r, at + ChannelEntry.depth)
                put32(ch.messageSize, r, at + ChannelEntry.messageSize)
                put64(ch.size, r, at + ChannelEntry.sharedSize)
                c += 1
            }
            let signed = total - signatureSize
            let signature = deviceKey.sign(message: UnsafeRawBufferPointer(rebasing: r[0..<signed]))
            signature.withBytes { copy($0, r, signed) }
        }
        withUnsafeBytes(of: &report) { base.copyMemory(from: $0.baseAddress!, byteCount: total) }
        return total
    }

    static func put16(_ v: UInt16, _ r: UnsafeMutableRawBufferPointer, _ at: Int) {
        r.storeBytes(of: v.littleEndian, toByteOffset: at, as: UInt16.self)
    }
    static func put32(_ v: UInt32, _ r: UnsafeMutableRawBufferPointer, _ at: Int) {
        r.storeBytes(of: v.littleEndian, toByteOffset: at, as: UInt32.self)
    }
    static func put64(_ v: UInt64, _ r: UnsafeMutableRawBufferPointer, _ at: Int) {
        r.storeBytes(of: v.littleEndian, toByteOffset: at, as: UInt64.self)
    }
    static func copy(_ bytes: UnsafeRawBufferPointer, _ r: UnsafeMutableRawBufferPointer, _ at: Int) {
        if bytes.count > 0 { UnsafeMutableRawBufferPointer(rebasing: r[at..<(at + bytes.count)]).copyMemory(from: bytes) }
    }
}
