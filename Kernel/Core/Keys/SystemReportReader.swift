// The strict parser and signature check of a system report (SystemReport.swift, docs/keys.md): every field checked, nothing copied.
//
// Checks, in order: the header's length, magic, version, header size, entry sizes, reserved
// bytes and counts; the declared total length against the counts and the buffer (no byte
// missing, none extra); then each partition entry (name, image source, reserved bytes) and each
// channel entry (name, kind, direction, endpoints, access, doorbell, reserved). The first failure
// is thrown. Every read follows a length check: no input makes it trap. The signature is checked
// separately (`verify`), over exactly the bytes before it.

extension SystemReport {
    /// Why a report is refused.
    public enum Failure: Error, Equatable, Sendable {
        case truncated(needed: Int, available: Int)
        case badMagic
        case unsupportedVersion(UInt16)
        case wrongHeaderSize(UInt16)
        case wrongEntrySize(partition: UInt16, channel: UInt16)
        /// A reserved byte at this offset is not zero.
        case reservedNotZero(offset: Int)
        case badPartitionCount(Int)
        case badChannelCount(Int)
        case badCaller(Int)
        /// The header's total length is not what the counts give.
        case wrongTotalLength(declared: Int, expected: Int)
        /// Bytes follow the signature.
        case trailingBytes(expected: Int, available: Int)
        /// Partition entry `index`'s name is empty, too long, not a-z 0-9 - _ or not zero padded.
        case badPartitionName(index: Int)
        case badImageSource(index: Int, value: UInt8)
        case badChannelName(index: Int)
        /// A channel entry's kind, direction, endpoints, access or doorbell byte is not a value a plan can hold.
        case badChannel(index: Int, offset: Int)
    }

    /// A parsed report. It borrows `bytes`: the buffer must outlive the reader.
    public struct Reader {
        public let bytes: UnsafeRawBufferPointer
        public let partitionCount: Int
        public let channelCount: Int
        public let caller: Int
        public let securityVersion: UInt64

        public init(bytes b: UnsafeRawBufferPointer) throws(Failure) {
            typealias H = Header
            guard b.count >= H.end else { throw .truncated(needed: H.end, available: b.count) }
            guard Self.u32(b, H.magic) == magic else { throw .badMagic }
            let v = Self.u16(b, H.version)
            guard v == version else { throw .unsupportedVersion(v) }
            let hs = Self.u16(b, H.headerSize)
            guard Int(hs) == headerSize else { throw .wrongHeaderSize(hs) }
            let pe = Self.u16(b, H.partitionEntrySize), ce = Self.u16(b, H.channelEntrySize)
            guard Int(pe) == partitionEntrySize, Int(ce) == channelEntrySize else { throw .wrongEntrySize(partition: pe, channel: ce) }
            try Self.requireZero(b, H.reserved0, H.reserved0 + 1)
            try Self.requireZero(b, H.reserved1, H.reserved1 + 4)
            let pc = Int(b[H.partitionCount]), cc = Int(b[H.channelCount]), caller = Int(b[H.caller])
            guard pc >= 1 && pc <= maxPartitions else { throw .badPartitionCount(pc) }
            guard cc <= maxChannels else { throw .badChannelCount(cc) }
            guard caller < pc else { throw .badCaller(caller) }
            let expected = size(partitions: pc, channels: cc)
            let declared = Int(Self.u32(b, H.totalLength))
            guard declared == expected else { throw .wrongTotalLength(declared: declared, expected: expected) }
            guard b.count >= expected else { throw .truncated(needed: expected, available: b.count) }
            guard b.count == expected else { throw .trailingBytes(expected: expected, available: b.count) }
            var p = 0
            while p < pc {
                let at = headerSize + p * partitionEntrySize
                guard Self.isName(b, at + PartitionEntry.name) else { throw .badPartitionName(index: p) }
                let source = b[at + PartitionEntry.source]
                guard ImageSource(rawValue: source) != nil else { throw .badImageSource(index: p, value: source) }
                try Self.requireZero(b, at + PartitionEntry.reserved, at + PartitionEntry.securityVersion)
                p += 1
            }
            var c = 0
            while c < cc {
                let at = headerSize + pc * partitionEntrySize + c * channelEntrySize
                guard Self.isName(b, at + ChannelEntry.name) else { throw .badChannelName(index: c) }
                typealias E = ChannelEntry
                guard ChannelKind(rawValue: b[at + E.kind]) != nil else { throw .badChannel(index: c, offset: at + E.kind) }
                guard ChannelDirection(rawValue: b[at + E.direction]) != nil else { throw .badChannel(index: c, offset: at + E.direction) }
                let e0 = Int(b[at + E.endpoints]), e1 = Int(b[at + E.endpoints + 1])
                guard e0 < pc else { throw .badChannel(index: c, offset: at + E.endpoints) }
                guard e1 < pc, e1 != e0 else { throw .badChannel(index: c, offset: at + E.endpoints + 1) }
                guard SharedAccess(rawValue: b[at + E.access]) != nil else { throw .badChannel(index: c, offset: at + E.access) }
                guard SharedAccess(rawValue: b[at + E.access + 1]) != nil else { throw .badChannel(index: c, offset: at + E.access + 1) }
                guard b[at + E.doorbell] <= 1 else { throw .badChannel(index: c, offset: at + E.doorbell) }
                try Self.requireZero(b, at + E.reserved, at + E.reserved + 1)
                c += 1
            }
            bytes = b
            partitionCount = pc
            channelCount = cc
            self.caller = caller
            securityVersion = Self.u64(b, H.securityVersion)
        }

        /// The bytes the signature covers, and the signature.
        public var signedBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[0..<(bytes.count - signatureSize)]) }
        public var signature: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[(bytes.count - signatureSize)...]) }

        /// Whether the Ed25519 signature (RFC 8032 §5.1.7) verifies with `deviceKey`.
        public func isSigned(by deviceKey: Ed25519PublicKey) -> Bool {
            Ed25519.verify(signature: signature, message: signedBytes, publicKey: deviceKey)
        }

        public var nonce: UnsafeRawBufferPointer { field(Header.nonce, nonceSize) }
        public var identity: UnsafeRawBufferPointer { field(Header.identity, 64) }
        public var manifestDigest: UnsafeRawBufferPointer { field(Header.manifestDigest, 64) }

        /// Partition entry `p` (below `partitionCount`).
        public func partitionEntry(_ p: Int) -> UnsafeRawBufferPointer {
            field(headerSize + p * partitionEntrySize, partitionEntrySize)
        }

        /// Channel entry `c` (below `channelCount`).
        public func channelEntry(_ c: Int) -> UnsafeRawBufferPointer {
            field(headerSize + partitionCount * partitionEntrySize + c * channelEntrySize, channelEntrySize)
        }

        func field(_ at: Int, _ count: Int) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[at..<(at + count)]) }

        /// 1 to 16 bytes of a-z 0-9 - _ at `at`, then zero bytes up to 16.
        static func isName(_ b: UnsafeRawBufferPointer, _ at: Int) -> Bool {
            var n = 0
            while n < 16 && b[at + n] != 0 {
                let ch = b[at + n]
                guard (ch >= 0x61 && ch <= 0x7A) || (ch >= 0x30 && ch <= 0x39) || ch == 0x2D || ch == 0x5F else { return false }
                n += 1
            }
            guard n > 0 else { return false }
            var i = n
            while i < 16 { if b[at + i] != 0 { return false }; i += 1 }
            return true
        }

        static func requireZero(_ b: UnsafeRawBufferPointer, _ from: Int, _ to: Int) throws(Failure) {
            var i = from
            while i < to { if b[i] != 0 { throw .reservedNotZero(offset: i) }; i += 1 }
        }

        static func u16(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt16 { UInt16(b[at]) | UInt16(b[at + 1]) << 8 }
        static func u32(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt32 { UInt32(u16(b, at)) | UInt32(u16(b, at + 2)) << 16 }
        static func u64(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt64 { UInt64(u32(b, at)) | UInt64(u32(b, at + 4)) << 32 }
    }
}
