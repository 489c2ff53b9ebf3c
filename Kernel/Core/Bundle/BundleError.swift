// Every way a bundle's bytes can be malformed, each with the offset, partition or channel it is about.
// (The parser checks structure only: the signature and the image digests are checked separately.)

/// A structural bundle error found by `BundleReader` (plan semantics are `PlanError`'s job).
public enum BundleError: Error, Equatable, Sendable {
    /// The buffer ends before byte `needed` (header, records, or the declared total length).
    case truncated(needed: UInt64, available: UInt64)
    case badMagic
    case unsupportedVersion(UInt16)
    case wrongHeaderSize(UInt16)
    case wrongRecordSize(UInt16)
    case tooManyPartitions(count: Int)
    /// The header's total length is shorter than the buffer (the bytes past it are not part of it).
    case trailingBytes(declared: UInt64, available: UInt64)
    /// A reserved or padding byte (bundle offset) is not zero.
    case reservedNotZero(offset: UInt64)
    case nameTooLong(partition: Int, length: Int)
    case tooManyHarts(partition: Int, count: Int)
    case bootargsTooLong(partition: Int, length: Int)
    case unknownFaultPolicy(partition: Int, value: UInt8)
    /// The key policy has bits set outside `KeyPolicy.all` (a key service this build does not know).
    case unknownKeyPolicy(partition: Int, value: UInt16)
    case imageMisaligned(partition: Int, offset: UInt64)
    /// The image's bytes extend past the bundle's total length.
    case imageOutOfBounds(partition: Int, offset: UInt64, length: UInt64)
    /// The image starts inside the manifest (header and records) or the signature after it.
    case imageOverlapsManifest(partition: Int, offset: UInt64)
    case imageOverlap(partition: Int, other: Int)
    /// Bytes from `end` to the declared total length belong to no image.
    case bytesAfterImages(end: UInt64, totalLength: UInt64)
    // Channel records (format version 3).
    case tooManyChannels(count: Int)
    case wrongChannelRecordSize(UInt16)
    case channelNameTooLong(channel: Int, length: Int)
    case unknownChannelKind(channel: Int, value: UInt8)
    case unknownChannelDirection(channel: Int, value: UInt8)
    /// `endpoint`'s access byte is neither read-only (1) nor read-write (3).
    case unknownChannelAccess(channel: Int, endpoint: Int, value: UInt8)
    /// The doorbell flag is neither 0 nor 1.
    case unknownDoorbellValue(channel: Int, value: UInt8)
    // The image kind byte (once reserved zero) and the initrd records (header initrd_count).
    case unknownImageKind(partition: Int, value: UInt8)
    case tooManyInitrds(count: Int)
    /// The initrd record size is not 96 (with initrds) or 0 (without).
    case wrongInitrdRecordSize(UInt16, count: Int)
    /// Initrd record `record` names partition `partition`, which the bundle does not have.
    case initrdUnknownPartition(record: Int, partition: Int)
    /// Initrd records must name partitions in increasing order, each at most once.
    case initrdOutOfOrder(record: Int, partition: Int)
    case initrdEmpty(partition: Int)
    /// The initrd overlaps an image or another initrd.
    case initrdOverlap(partition: Int)
    // The partition flags byte (once reserved zero) and the device records (header device_count).
    case unknownPartitionFlags(partition: Int, value: UInt8)
    /// The header's bundle flags (byte 52, once reserved) set a bit this reader does not know.
    case unknownBundleFlags(value: UInt8)
    case tooManyDevices(count: Int)
    /// The device record size is not 192 (with devices) or 0 (without).
    case wrongDeviceRecordSize(UInt16, count: Int)
    /// A device record's interrupt count, path length or compatible length is out of range, or it sets unknown flags.
    case malformedDeviceRecord(record: Int)

    /// The partition record the error is about, when there is one.
    public var partition: Int? {
        switch self {
        case .nameTooLong(let p, _), .tooManyHarts(let p, _), .bootargsTooLong(let p, _),
             .unknownFaultPolicy(let p, _), .unknownKeyPolicy(let p, _), .imageMisaligned(let p, _), .imageOutOfBounds(let p, _, _),
             .imageOverlapsManifest(let p, _), .imageOverlap(let p, _), .unknownImageKind(let p, _),
             .initrdEmpty(let p), .initrdOverlap(let p), .unknownPartitionFlags(let p, _):
            return p
        default:
            return nil
        }
    }

    /// The channel record the error is about, when there is one.
    public var channel: Int? {
        switch self {
        case .channelNameTooLong(let c, _), .unknownChannelKind(let c, _), .unknownChannelDirection(let c, _),
             .unknownChannelAccess(let c, _, _), .unknownDoorbellValue(let c, _):
            return c
        default:
            return nil
        }
    }

    /// Writes a one-line description, e.g. `partition record #1: the image overlaps partition #0's image`.
    public func write<S: TextSink>(to out: inout S) {
        if let p = partition { out.write("partition record #"); out.write(decimal: p); out.write(": ") }
        if let c = channel { out.write("channel record #"); out.write(decimal: c); out.write(": ") }
        switch self {
        case .truncated(let needed, let available):
            out.write("the bundle is truncated: "); out.write(decimal: needed); out.write(" bytes needed, ")
            out.write(decimal: available); out.write(" available")
        case .badMagic:
            out.write("not a Bulkhead bundle (the first 8 bytes are not \"BULKHEAD\")")
        case .unsupportedVersion(let v):
            out.write("format version "); out.write(decimal: UInt64(v)); out.write(" is not supported (this build reads version ")
            out.write(decimal: UInt64(BundleFormat.version))
            if v == 1 { out.write(", signed; version 1 bundles are unsigned: repack with `bulkhead pack --key`") }
            if v == 2 { out.write(", which adds channel records: repack with this `bulkhead pack`") }
            if v == 3 { out.write(", whose image digests are chunked: repack with this `bulkhead pack`") }
            out.write(")")
        case .wrongHeaderSize(let s):
            out.write("the header size is "); out.write(decimal: UInt64(s)); out.write(" bytes; format version ")
            out.write(decimal: UInt64(BundleFormat.version)); out.write(" has "); out.write(decimal: BundleFormat.headerSize)
        case .wrongRecordSize(let s):
            out.write("the partition record size is "); out.write(decimal: UInt64(s)); out.write(" bytes; format version ")
            out.write(decimal: UInt64(BundleFormat.version)); out.write(" has "); out.write(decimal: BundleFormat.recordSize)
        case .tooManyPartitions(let n):
            out.write("the bundle has "); out.write(decimal: n); out.write(" partitions; at most ")
            out.write(decimal: PlanLimits.maxPartitions); out.write(" are supported")
        case .trailingBytes(let declared, let available):
            out.write("the header declares "); out.write(decimal: declared); out.write(" bytes but ")
            out.write(decimal: available); out.write(" were given (trailing bytes)")
        case .reservedNotZero(let offset):
            out.write("the reserved or padding byte at offset "); out.write(hex: offset); out.write(" is not zero")
        case .nameTooLong(_, let n):
            out.write("the name length "); out.write(decimal: n); out.write(" exceeds ")
            out.write(decimal: PlanLimits.maxNameLength)
        case .tooManyHarts(_, let n):
            out.write("the hart count "); out.write(decimal: n); out.write(" exceeds ")
            out.write(decimal: PlanLimits.maxHartsPerPartition)
        case .bootargsTooLong(_, let n):
            out.write("the boot arguments length "); out.write(decimal: n); out.write(" exceeds ")
            out.write(decimal: PlanLimits.maxBootargsLength)
        case .unknownFaultPolicy(_, let v):
            out.write("unknown fault policy value "); out.write(decimal: UInt64(v))
        case .unknownKeyPolicy(_, let v):
            out.write("the key policy "); out.write(hex: UInt64(v)); out.write(" sets bits outside the known key services (")
            var i = 0
            while let (service, name) = KeyPolicy.entry(i) {
                if i > 0 { out.write(", ") }
                out.write(name); out.write(" "); out.write(hex: UInt64(service.raw))
                i += 1
            }
            out.write(")")
        case .imageMisaligned(_, let offset):
            out.write("the image offset "); out.write(hex: offset); out.write(" is not a multiple of ")
            out.write(decimal: BundleFormat.imageAlignment)
        case .imageOutOfBounds(_, let offset, let length):
            out.write("the image ("); out.write(decimal: length); out.write(" bytes at offset "); out.write(hex: offset)
            out.write(") extends past the end of the bundle")
        case .imageOverlapsManifest(_, let offset):
            out.write("the image offset "); out.write(hex: offset); out.write(" lies inside the manifest or its signature")
        case .imageOverlap(_, let other):
            out.write("the image overlaps the image of partition #"); out.write(decimal: other)
        case .bytesAfterImages(let end, let total):
            out.write("bytes "); out.write(hex: end); out.write(" to "); out.write(hex: total)
            out.write(" belong to no image")
        case .tooManyChannels(let n):
            out.write("the bundle has "); out.write(decimal: n); out.write(" channels; at most ")
            out.write(decimal: ChannelLimits.maxChannels); out.write(" are supported")
        case .wrongChannelRecordSize(let s):
            out.write("the channel record size is "); out.write(decimal: UInt64(s)); out.write(" bytes; format version ")
            out.write(decimal: UInt64(BundleFormat.version)); out.write(" has "); out.write(decimal: BundleFormat.channelRecordSize)
        case .channelNameTooLong(_, let n):
            out.write("the name length "); out.write(decimal: n); out.write(" exceeds ")
            out.write(decimal: BundleFormat.ChannelRecord.nameCapacity)
        case .unknownChannelKind(_, let v):
            out.write("unknown channel kind value "); out.write(decimal: UInt64(v)); out.write(" (1 = queue, 2 = shared memory)")
        case .unknownChannelDirection(_, let v):
            out.write("unknown direction value "); out.write(decimal: UInt64(v)); out.write(" (0 = both, 1 = forward)")
        case .unknownChannelAccess(_, let e, let v):
            out.write("unknown access value "); out.write(decimal: UInt64(v)); out.write(" for endpoint ")
            out.write(decimal: e); out.write(" (1 = read-only, 3 = read-write)")
        case .unknownDoorbellValue(_, let v):
            out.write("the doorbell flag is "); out.write(decimal: UInt64(v)); out.write(", not 0 or 1")
        case .unknownImageKind(_, let v):
            out.write("unknown image kind value "); out.write(decimal: UInt64(v)); out.write(" (0 = flat, 1 = Linux Image, 2 = payload)")
        case .tooManyInitrds(let n):
            out.write("the bundle has "); out.write(decimal: n); out.write(" initrd records; at most ")
            out.write(decimal: PlanLimits.maxPartitions); out.write(" (one per partition) are supported")
        case .wrongInitrdRecordSize(let s, let n):
            Self.writeRecordSize(&out, "initrd", size: s, count: n, expected: BundleFormat.initrdRecordSize)
        case .initrdUnknownPartition(let r, let p):
            out.write("initrd record #"); out.write(decimal: r); out.write(" names partition #"); out.write(decimal: p)
            out.write(", which the bundle does not have")
        case .initrdOutOfOrder(let r, let p):
            out.write("initrd record #"); out.write(decimal: r); out.write(" names partition #"); out.write(decimal: p)
            out.write(" out of order (initrd records name partitions in increasing order, each once)")
        case .initrdEmpty:
            out.write("the initrd is empty (a partition without an initrd has no initrd record)")
        case .initrdOverlap:
            out.write("the initrd overlaps an image or another initrd")
        case .unknownPartitionFlags(_, let v):
            out.write("the flags "); out.write(hex: UInt64(v)); out.write(" set bits outside dma-trusted (0x1) and uart (0x2)")
        case .unknownBundleFlags(let v):
            out.write("the bundle flags "); out.write(hex: UInt64(v)); out.write(" set bits outside require-rollback-floor (0x1)")
        case .tooManyDevices(let n):
            out.write("the bundle has "); out.write(decimal: n); out.write(" device records; at most ")
            out.write(decimal: DeviceLimits.maxDevices); out.write(" are supported")
        case .wrongDeviceRecordSize(let s, let n):
            Self.writeRecordSize(&out, "device", size: s, count: n, expected: BundleFormat.deviceRecordSize)
        case .malformedDeviceRecord(let r):
            out.write("device record #"); out.write(decimal: r)
            out.write(": its interrupt count, path length, compatible length or flags are out of range")
        }
    }

    /// `the KIND record size is S bytes; with N KIND records it must be E` (0 when N is 0).
    private static func writeRecordSize<S: TextSink>(_ out: inout S, _ kind: StaticString, size: UInt16, count: Int,
                                                     expected: Int) {
        out.write("the "); out.write(kind); out.write(" record size is "); out.write(decimal: UInt64(size))
        out.write(" bytes; with "); out.write(decimal: count); out.write(" "); out.write(kind)
        out.write(" records it must be "); out.write(decimal: count == 0 ? 0 : expected)
    }
}
