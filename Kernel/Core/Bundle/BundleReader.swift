// Strict parser of bundle format v3: bytes in; the plan (partitions and channels), the signed
// manifest range, the signature, the security version, the key id, and each image's range and
// expected digest out (nothing copied).
//
// Invariants once `init` returns: `[0, manifestLength)` is the header plus `plan.count` partition
// records plus `plan.channelCount` channel records, and the 64-byte signature follows it; every image range lies inside `bytes`, at or after the
// end of the signature, 8-byte aligned, and no two non-empty ranges overlap; every byte after the
// signature lies in an image or is zero padding; the last image ends at the declared total
// length. So every byte is signed, the signature, covered by an image digest, or zero. Every read
// is preceded by a length check, so no input can make the reader index out of bounds or trap.
// The reader does not check the signature or the digests (that needs SHA-512 and Ed25519), nor
// the plan's rules (`PartitionPlan.validate` does: e.g. a channel endpoint naming no partition).

/// A byte range within the bundle (an image, the manifest, the signature, a digest).
public struct BundleRange: Equatable, Sendable {
    public var offset: Int
    public var count: Int
    public init(offset: Int, count: Int) { self.offset = offset; self.count = count }
}

/// A parsed bundle. It borrows `bytes`: the buffer must outlive the reader.
public struct BundleReader {
    /// Exactly the bundle's bytes (`totalLength` of them).
    public let bytes: UnsafeRawBufferPointer
    /// The plan the records describe (not yet validated against a board: see `PartitionPlan.validate`).
    public let plan: PartitionPlan
    /// The anti-rollback counter the manifest declares.
    public let securityVersion: UInt64
    /// The id of the key the manifest says signed it (an allegation until the signature is checked).
    public let keyID: SigningKeyID
    private let ranges: PerPartition<BundleRange>
    /// Per partition: its initrd's range (empty: none) and where its initrd record lies.
    private let initrdRanges: PerPartition<BundleRange>
    private let initrdRecords: PerPartition<BundleRange>
    /// How many initrd records the manifest holds.
    public let initrdCount: Int
    /// How many device records the manifest holds (`plan.devices.count`).
    public var deviceCount: Int { plan.devices.count }

    /// Parses a buffer that holds exactly one bundle: a byte after its declared end is an error.
    public init(bytes: UnsafeRawBufferPointer) throws(BundleError) {
        let total = try BundleReader.declaredLength(bytes)
        let available = UInt64(bytes.count)
        guard total <= available else { throw .truncated(needed: total, available: available) }
        guard total == available else { throw .trailingBytes(declared: total, available: available) }
        var plan = PartitionPlan()
        var ranges = PerPartition<BundleRange>(repeating: BundleRange(offset: 0, count: 0))
        var initrds = PerPartition<BundleRange>(repeating: BundleRange(offset: 0, count: 0))
        var records = PerPartition<BundleRange>(repeating: BundleRange(offset: 0, count: 0))
        try BundleReader.parse(bytes, into: &plan, ranges: &ranges, initrds: &initrds, initrdRecords: &records)
        self.bytes = bytes
        self.plan = plan
        self.ranges = ranges
        self.initrdRanges = initrds
        self.initrdRecords = records
        self.initrdCount = Int(BundleReader.u16(bytes, BundleFormat.Header.initrdCount))
        self.securityVersion = BundleReader.u64(bytes, BundleFormat.Header.securityVersion)
        self.keyID = SigningKeyID(raw: BundleReader.u64(bytes, BundleFormat.Header.keyID))
    }

    /// Parses the bundle at the start of a staging area (the loader's destination), whose length
    /// is taken from the header; the rest of the staging area is ignored.
    public init(staging: UnsafeRawBufferPointer) throws(BundleError) {
        let total = try BundleReader.declaredLength(staging)
        let available = UInt64(staging.count)
        guard total <= available else { throw .truncated(needed: total, available: available) }
        try self.init(bytes: UnsafeRawBufferPointer(rebasing: staging[0..<Int(total)]))
    }

    /// The bundle's length in bytes.
    public var totalLength: Int { bytes.count }

    /// The signed range: the header, the partition, channel and initrd records, from offset 0.
    public var manifestRange: BundleRange {
        BundleRange(offset: 0, count: BundleFormat.manifestLength(partitionCount: plan.count, channelCount: plan.channelCount,
                                                                  initrdCount: initrdCount, deviceCount: deviceCount))
    }

    /// The signed bytes (the message of the Ed25519 signature), a view into `bytes`.
    public var manifestBytes: UnsafeRawBufferPointer { view(manifestRange) }

    /// Where the 64-byte Ed25519 signature lies: right after the manifest.
    public var signatureRange: BundleRange {
        BundleRange(offset: manifestRange.count, count: BundleFormat.signatureSize)
    }

    /// The signature's 64 bytes (R then S), a view into `bytes`.
    public var signature: UnsafeRawBufferPointer { view(signatureRange) }

    /// Partition `index`'s image within `bytes`; empty when `index` is not a partition.
    public func imageRange(_ index: Int) -> BundleRange {
        guard index >= 0 && index < plan.count else { return BundleRange(offset: 0, count: 0) }
        return ranges[index]
    }

    /// Where channel `index`'s record lies (inside the manifest); empty when `index` is not a channel.
    public func channelRecordRange(_ index: Int) -> BundleRange {
        guard index >= 0 && index < plan.channelCount else { return BundleRange(offset: 0, count: 0) }
        return BundleRange(offset: BundleFormat.channelRecordOffset(index, partitionCount: plan.count),
                           count: BundleFormat.channelRecordSize)
    }

    /// Partition `index`'s image bytes (a view into `bytes`); empty when `index` is not a partition.
    public func image(_ index: Int) -> UnsafeRawBufferPointer { view(imageRange(index)) }

    /// Where partition `index`'s expected SHA-512 digest lies (inside its record, so signed);
    /// empty when `index` is not a partition.
    public func imageDigestRange(_ index: Int) -> BundleRange {
        guard index >= 0 && index < plan.count else { return BundleRange(offset: 0, count: 0) }
        return BundleRange(offset: BundleFormat.recordOffset(index) + BundleFormat.Record.imageDigest,
                           count: BundleFormat.digestSize)
    }

    /// Partition `index`'s expected SHA-512 digest (64 bytes, a view into `bytes`); empty when
    /// `index` is not a partition.
    public func imageDigest(_ index: Int) -> UnsafeRawBufferPointer { view(imageDigestRange(index)) }

    /// Partition `index`'s initrd within `bytes`; empty when it has none (or `index` is not a partition).
    public func initrdRange(_ index: Int) -> BundleRange {
        guard index >= 0 && index < plan.count else { return BundleRange(offset: 0, count: 0) }
        return initrdRanges[index]
    }

    /// Partition `index`'s initrd bytes (a view into `bytes`; empty when it has none).
    public func initrd(_ index: Int) -> UnsafeRawBufferPointer { view(initrdRange(index)) }

    /// Partition `index`'s expected initrd SHA-512 (64 bytes inside its initrd record, so signed);
    /// empty when it has no initrd.
    public func initrdDigest(_ index: Int) -> UnsafeRawBufferPointer {
        guard index >= 0 && index < plan.count, initrdRanges[index].count > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return view(BundleRange(offset: initrdRecords[index].offset + BundleFormat.InitrdRecord.digest, count: BundleFormat.digestSize))
    }

    /// `bytes[range]`; every range this type hands out lies inside `bytes` (see the invariants).
    private func view(_ r: BundleRange) -> UnsafeRawBufferPointer {
        guard r.count > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(rebasing: bytes[r.offset..<(r.offset + r.count)])
    }

    // MARK: - Parsing

    /// Checks the header (magic, version, sizes, counts, reserved bytes) and returns the declared
    /// total length, which covers at least the manifest and the signature.
    static func declaredLength(_ b: UnsafeRawBufferPointer) throws(BundleError) -> UInt64 {
        guard b.count >= 8 else { throw .truncated(needed: 8, available: UInt64(b.count)) }
        guard u64(b, BundleFormat.Header.magic) == BundleFormat.magic else { throw .badMagic }
        guard b.count >= BundleFormat.headerSize else {
            throw .truncated(needed: UInt64(BundleFormat.headerSize), available: UInt64(b.count))
        }
        let version = u16(b, BundleFormat.Header.version)
        guard version == BundleFormat.version else { throw .unsupportedVersion(version) }
        let headerSize = u16(b, BundleFormat.Header.headerSize)
        guard Int(headerSize) == BundleFormat.headerSize else { throw .wrongHeaderSize(headerSize) }
        let recordSize = u16(b, BundleFormat.Header.recordSize)
        guard Int(recordSize) == BundleFormat.recordSize else { throw .wrongRecordSize(recordSize) }
        let count = Int(u16(b, BundleFormat.Header.partitionCount))
        guard count <= PlanLimits.maxPartitions else { throw .tooManyPartitions(count: count) }
        let channelRecordSize = u16(b, BundleFormat.Header.channelRecordSize)
        guard Int(channelRecordSize) == BundleFormat.channelRecordSize else { throw .wrongChannelRecordSize(channelRecordSize) }
        let channels = Int(u16(b, BundleFormat.Header.channelCount))
        guard channels <= ChannelLimits.maxChannels else { throw .tooManyChannels(count: channels) }
        let initrds = Int(u16(b, BundleFormat.Header.initrdCount))
        guard initrds <= PlanLimits.maxPartitions else { throw .tooManyInitrds(count: initrds) }
        let initrdRecordSize = u16(b, BundleFormat.Header.initrdRecordSize)
        guard Int(initrdRecordSize) == (initrds > 0 ? BundleFormat.initrdRecordSize : 0) else {
            throw .wrongInitrdRecordSize(initrdRecordSize, count: initrds)
        }
        let devices = Int(u16(b, BundleFormat.Header.deviceCount))
        guard devices <= DeviceLimits.maxDevices else { throw .tooManyDevices(count: devices) }
        let deviceRecordSize = u16(b, BundleFormat.Header.deviceRecordSize)
        guard Int(deviceRecordSize) == (devices > 0 ? BundleFormat.deviceRecordSize : 0) else {
            throw .wrongDeviceRecordSize(deviceRecordSize, count: devices)
        }
        guard b[BundleFormat.Header.flags] & ~BundleFlags.all == 0 else {
            throw .unknownBundleFlags(value: b[BundleFormat.Header.flags])
        }
        try requireZero(b, from: BundleFormat.Header.reserved, to: BundleFormat.Header.reservedEnd)
        let total = u64(b, BundleFormat.Header.totalLength)
        let imagesStart = UInt64(BundleFormat.imagesStart(partitionCount: count, channelCount: channels, initrdCount: initrds,
                                                          deviceCount: devices))
        guard total >= imagesStart else { throw .truncated(needed: imagesStart, available: total) }
        return total
    }

    /// Decodes the records of a buffer whose header `declaredLength` accepted and whose length
    /// equals the declared total (partition records, then channel records); then checks the image layout.
    private static func parse(_ b: UnsafeRawBufferPointer, into plan: inout PartitionPlan,
                              ranges: inout PerPartition<BundleRange>, initrds: inout PerPartition<BundleRange>,
                              initrdRecords: inout PerPartition<BundleRange>) throws(BundleError) {
        let count = Int(u16(b, BundleFormat.Header.partitionCount))
        let channels = Int(u16(b, BundleFormat.Header.channelCount))
        let initrdCount = Int(u16(b, BundleFormat.Header.initrdCount))
        let deviceCount = Int(u16(b, BundleFormat.Header.deviceCount))
        plan.flags = BundleFlags(raw: b[BundleFormat.Header.flags])
        let total = UInt64(b.count)
        let imagesStart = UInt64(BundleFormat.imagesStart(partitionCount: count, channelCount: channels, initrdCount: initrdCount,
                                                          deviceCount: deviceCount))
        var p = 0
        while p < count {
            let r = BundleFormat.recordOffset(p)
            typealias R = BundleFormat.Record
            var spec = PartitionSpec()

            let nameLength = Int(b[r + R.nameLength])
            guard nameLength <= PlanLimits.maxNameLength else { throw .nameTooLong(partition: p, length: nameLength) }
            let hartCount = Int(b[r + R.hartCount])
            guard hartCount <= PlanLimits.maxHartsPerPartition else { throw .tooManyHarts(partition: p, count: hartCount) }
            let policyValue = b[r + R.onFault]
            guard let policy = FaultPolicy(rawValue: policyValue) else {
                throw .unknownFaultPolicy(partition: p, value: policyValue)
            }
            spec.onFault = policy
            let kindValue = b[r + R.imageKind]
            guard let kind = ImageKind(rawValue: kindValue) else { throw .unknownImageKind(partition: p, value: kindValue) }
            spec.imageKind = kind
            let bootargsLength = Int(u16(b, r + R.bootargsLength))
            guard bootargsLength <= PlanLimits.maxBootargsLength else {
                throw .bootargsTooLong(partition: p, length: bootargsLength)
            }
            let keyPolicy = KeyPolicy(raw: u16(b, r + R.keyPolicy))
            guard keyPolicy.isKnown else { throw .unknownKeyPolicy(partition: p, value: keyPolicy.raw) }
            spec.keyPolicy = keyPolicy

            // The lengths were checked against the capacities above, so these always succeed.
            let nameStart = r + R.name
            spec.name = PartitionName(bytes: UnsafeRawBufferPointer(rebasing: b[nameStart..<(nameStart + nameLength)])) ?? PartitionName()
            try requireZero(b, from: nameStart + nameLength, to: nameStart + R.nameCapacity)

            var h = 0
            while h < hartCount { _ = spec.harts.append(u32(b, r + R.harts + 4 * h)); h += 1 }
            try requireZero(b, from: r + R.harts + 4 * hartCount, to: r + R.harts + 4 * R.hartSlots)

            spec.memory = HostRegion(base: HostPhysAddr(u64(b, r + R.memoryBase)), size: u64(b, r + R.memorySize))
            spec.entry = GuestPhysAddr(u64(b, r + R.entry))

            let bootStart = r + R.bootargs
            spec.bootargs = Bootargs(bytes: UnsafeRawBufferPointer(rebasing: b[bootStart..<(bootStart + bootargsLength)])) ?? Bootargs()
            try requireZero(b, from: bootStart + bootargsLength, to: bootStart + R.bootargsCapacity)
            // The digest (bytes R.imageDigest ..< R.flags) may hold any value.
            let flags = PartitionFlags(raw: b[r + R.flags])
            guard flags.raw & ~PartitionFlags.known == 0 else { throw .unknownPartitionFlags(partition: p, value: flags.raw) }
            spec.flags = flags
            spec.updateTargets = b[r + R.updateTargets]   // checked by plan validation
            try requireZero(b, from: r + R.reserved2, to: r + R.end)

            // The image: aligned, inside the bundle, after the signature, apart from earlier images.
            let offset = u64(b, r + R.imageOffset)
            let length = u64(b, r + R.imageLength)
            let range = try payloadRange(offset: offset, length: length, total: total, imagesStart: imagesStart, partition: p)
            var q = 0
            while q < p {
                if overlaps(range, ranges[q]) { throw .imageOverlap(partition: p, other: q) }
                q += 1
            }
            ranges[p] = range
            spec.imageSize = length
            _ = plan.append(spec)
            p += 1
        }
        var c = 0
        while c < channels {
            _ = plan.appendChannel(try parseChannel(b, c, at: BundleFormat.channelRecordOffset(c, partitionCount: count)))
            c += 1
        }
        var i = 0
        var previous = -1
        while i < initrdCount {
            typealias I = BundleFormat.InitrdRecord
            let r = BundleFormat.initrdRecordOffset(i, partitionCount: count, channelCount: channels)
            let p = Int(b[r + I.partition])
            guard p < count else { throw .initrdUnknownPartition(record: i, partition: p) }
            guard p > previous else { throw .initrdOutOfOrder(record: i, partition: p) }
            previous = p
            try requireZero(b, from: r + I.reserved0, to: r + I.offset)
            try requireZero(b, from: r + I.reserved1, to: r + I.digest)
            let offset = u64(b, r + I.offset)
            let length = u64(b, r + I.length)
            guard length > 0 else { throw .initrdEmpty(partition: p) }
            let range = try payloadRange(offset: offset, length: length, total: total, imagesStart: imagesStart, partition: p)
            var q = 0
            while q < count {
                if overlaps(range, ranges[q]) || overlaps(range, initrds[q]) { throw .initrdOverlap(partition: p) }
                q += 1
            }
            initrds[p] = range
            initrdRecords[p] = BundleRange(offset: r, count: BundleFormat.initrdRecordSize)
            var spec = plan[p]
            spec.initrdSize = length
            plan.partitions[p] = spec
            i += 1
        }
        var d = 0
        while d < deviceCount {
            let r = BundleFormat.deviceRecordOffset(d, partitionCount: count, channelCount: channels, initrdCount: initrdCount)
            _ = plan.devices.append(try parseDevice(b, d, at: r))
            d += 1
        }
        try checkCoverage(b, count: count, ranges: ranges, initrds: initrds, from: Int(imagesStart))
    }

    /// Decodes device record `d` at offset `r` (inside the manifest). The owner, region and
    /// interrupts may hold any value: plan validation checks them against the plan and the board.
    private static func parseDevice(_ b: UnsafeRawBufferPointer, _ d: Int, at r: Int) throws(BundleError) -> DeviceSpec {
        typealias D = BundleFormat.DeviceRecord
        var device = DeviceSpec()
        device.owner = b[r + D.owner]
        let interruptCount = Int(b[r + D.interruptCount])
        let flags = b[r + D.flags]
        let pathLength = Int(b[r + D.pathLength])
        let compatibleLength = Int(b[r + D.compatibleLength])
        guard interruptCount <= DeviceLimits.maxInterrupts, flags <= 1, pathLength >= 1, pathLength <= D.pathCapacity,
              compatibleLength <= D.compatibleCapacity else { throw .malformedDeviceRecord(record: d) }
        device.dmaCapable = flags == 1
        try requireZero(b, from: r + D.reserved0, to: r + D.base)
        device.region = HostRegion(base: HostPhysAddr(u64(b, r + D.base)), size: u64(b, r + D.size))
        device.interruptCount = interruptCount
        var i = 0
        while i < interruptCount { device.interrupts[i] = u32(b, r + D.interrupts + 4 * i); i += 1 }
        try requireZero(b, from: r + D.interrupts + 4 * interruptCount, to: r + D.path)
        // The lengths were checked against the capacities above, so these always succeed.
        device.path = DevicePath(bytes: UnsafeRawBufferPointer(rebasing: b[(r + D.path)..<(r + D.path + pathLength)])) ?? DevicePath()
        try requireZero(b, from: r + D.path + pathLength, to: r + D.compatible)
        device.compatible = DeviceCompatible(
            bytes: UnsafeRawBufferPointer(rebasing: b[(r + D.compatible)..<(r + D.compatible + compatibleLength)])) ?? DeviceCompatible()
        try requireZero(b, from: r + D.compatible + compatibleLength, to: r + D.end)
        return device
    }

    /// A payload (image or initrd) range: 8-byte aligned, inside the bundle, after the signature.
    private static func payloadRange(offset: UInt64, length: UInt64, total: UInt64, imagesStart: UInt64,
                                     partition p: Int) throws(BundleError) -> BundleRange {
        guard offset % UInt64(BundleFormat.imageAlignment) == 0 else { throw .imageMisaligned(partition: p, offset: offset) }
        let (end, overflow) = offset.addingReportingOverflow(length)
        guard !overflow, end <= total else { throw .imageOutOfBounds(partition: p, offset: offset, length: length) }
        guard offset >= imagesStart else { throw .imageOverlapsManifest(partition: p, offset: offset) }
        // offset and end are at most `total`, which is the buffer's Int count.
        return BundleRange(offset: Int(offset), count: Int(length))
    }

    /// Whether two non-empty ranges share a byte.
    private static func overlaps(_ a: BundleRange, _ b: BundleRange) -> Bool {
        a.count > 0 && b.count > 0 && a.offset < b.offset + b.count && b.offset < a.offset + a.count
    }

    /// Decodes channel record `c` at offset `r` (inside the manifest, which `declaredLength`
    /// found inside the buffer). The endpoints and the sizes may hold any value: whether they
    /// make sense is plan validation's question.
    private static func parseChannel(_ b: UnsafeRawBufferPointer, _ c: Int, at r: Int) throws(BundleError) -> ChannelSpec {
        typealias C = BundleFormat.ChannelRecord
        var spec = ChannelSpec()
        let nameLength = Int(b[r + C.nameLength])
        guard nameLength <= C.nameCapacity else { throw .channelNameTooLong(channel: c, length: nameLength) }
        let kindValue = b[r + C.kind]
        guard let kind = ChannelKind(rawValue: kindValue) else { throw .unknownChannelKind(channel: c, value: kindValue) }
        spec.kind = kind
        spec.endpoints[0] = b[r + C.endpoints]
        spec.endpoints[1] = b[r + C.endpoints + 1]
        let directionValue = b[r + C.direction]
        guard let direction = ChannelDirection(rawValue: directionValue) else {
            throw .unknownChannelDirection(channel: c, value: directionValue)
        }
        spec.direction = direction
        var e = 0
        while e < 2 {
            let accessValue = b[r + C.access + e]
            guard let access = SharedAccess(rawValue: accessValue) else {
                throw .unknownChannelAccess(channel: c, endpoint: e, value: accessValue)
            }
            spec.access[e] = access
            e += 1
        }
        let doorbell = b[r + C.doorbell]
        guard doorbell <= 1 else { throw .unknownDoorbellValue(channel: c, value: doorbell) }
        spec.doorbell = doorbell == 1
        // The length was checked against the capacity above, so this always succeeds.
        let nameStart = r + C.name
        spec.name = ChannelName(bytes: UnsafeRawBufferPointer(rebasing: b[nameStart..<(nameStart + nameLength)])) ?? ChannelName()
        try requireZero(b, from: nameStart + nameLength, to: nameStart + C.nameCapacity)
        spec.depth = u32(b, r + C.depth)
        spec.messageSize = u32(b, r + C.messageSize)
        spec.size = u64(b, r + C.size)
        try requireZero(b, from: r + C.reserved, to: r + C.end)
        return spec
    }

    /// Walks the non-empty images and initrds in offset order: the gaps between them must be
    /// zero padding, and the last one must end at the end of the bundle.
    private static func checkCoverage(_ b: UnsafeRawBufferPointer, count: Int, ranges: PerPartition<BundleRange>,
                                      initrds: PerPartition<BundleRange>, from start: Int) throws(BundleError) {
        var sorted = InlineArray<16, BundleRange>(repeating: BundleRange(offset: 0, count: 0))
        var n = 0
        var k = 0
        while k < 2 * count {
            let range = k < count ? ranges[k] : initrds[k - count]
            if range.count > 0 {
                // Insertion sort by offset (at most 16 entries).
                var i = n
                while i > 0 && sorted[i - 1].offset > range.offset { sorted[i] = sorted[i - 1]; i -= 1 }
                sorted[i] = range
                n += 1
            }
            k += 1
        }
        var cursor = start
        var i = 0
        while i < n {
            let r = sorted[i]
            try requireZero(b, from: cursor, to: r.offset)
            cursor = r.offset + r.count
            i += 1
        }
        guard cursor == b.count else { throw .bytesAfterImages(end: UInt64(cursor), totalLength: UInt64(b.count)) }
    }

    private static func requireZero(_ b: UnsafeRawBufferPointer, from start: Int, to end: Int) throws(BundleError) {
        if let offset = firstNonZero(b, from: start, to: end) { throw .reservedNotZero(offset: UInt64(offset)) }
    }

    /// The offset of the first non-zero byte in `b[start..<end]`, or nil (shared with PartitionUpdateReader).
    static func firstNonZero(_ b: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int? {
        var i = start
        while i < end {
            if b[i] != 0 { return i }
            i += 1
        }
        return nil
    }

    // Little-endian readers, shared with PartitionUpdateReader (the caller checks the bounds).
    @inline(__always) static func u16(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt16 {
        UInt16(b[at]) | UInt16(b[at + 1]) << 8
    }
    @inline(__always) static func u32(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        UInt32(u16(b, at)) | UInt32(u16(b, at + 2)) << 16
    }
    @inline(__always) static func u64(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt64 {
        UInt64(u32(b, at)) | UInt64(u32(b, at + 4)) << 32
    }
}
