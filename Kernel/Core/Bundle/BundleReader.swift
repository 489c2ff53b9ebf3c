// Strict bundle parser: bytes in, a PartitionPlan plus each image's byte range out (nothing copied).
//
// Invariants once `init` returns: every image range lies inside `bytes`, after the records,
// 8-byte aligned, and no two non-empty ranges overlap; every byte after the records lies in an
// image or is zero padding; the last image ends at the declared total length. Every read is
// preceded by a length check, so no input can make the reader index out of bounds or trap.

/// Where one partition's image lies within the bundle.
public struct BundleImageRange: Equatable, Sendable {
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
    private let ranges: InlineArray<8, BundleImageRange>

    /// Parses a buffer that holds exactly one bundle: a byte after its declared end is an error.
    public init(bytes: UnsafeRawBufferPointer) throws(BundleError) {
        let total = try BundleReader.declaredLength(bytes)
        let available = UInt64(bytes.count)
        guard total <= available else { throw .truncated(needed: total, available: available) }
        guard total == available else { throw .trailingBytes(declared: total, available: available) }
        var plan = PartitionPlan()
        var ranges = InlineArray<8, BundleImageRange>(repeating: BundleImageRange(offset: 0, count: 0))
        try BundleReader.parse(bytes, into: &plan, ranges: &ranges)
        self.bytes = bytes
        self.plan = plan
        self.ranges = ranges
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

    /// Partition `index`'s image within `bytes`; empty when `index` is not a partition.
    public func imageRange(_ index: Int) -> BundleImageRange {
        guard index >= 0 && index < plan.count else { return BundleImageRange(offset: 0, count: 0) }
        return ranges[index]
    }

    /// Partition `index`'s image bytes (a view into `bytes`); empty when `index` is not a partition.
    public func image(_ index: Int) -> UnsafeRawBufferPointer {
        let r = imageRange(index)
        guard r.count > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(rebasing: bytes[r.offset..<(r.offset + r.count)])
    }

    // MARK: - Parsing

    /// Checks the fixed header prefix (magic, version, sizes, count, reserved bytes) and returns
    /// the declared total length.
    private static func declaredLength(_ b: UnsafeRawBufferPointer) throws(BundleError) -> UInt64 {
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
        try requireZero(b, from: BundleFormat.Header.reserved, to: BundleFormat.Header.reservedEnd)
        let total = u64(b, BundleFormat.Header.totalLength)
        let recordsEnd = UInt64(BundleFormat.recordOffset(count))
        guard total >= recordsEnd else { throw .truncated(needed: recordsEnd, available: total) }
        return total
    }

    /// Decodes the records of a buffer whose header `declaredLength` accepted and whose length
    /// equals the declared total; then checks the image layout.
    private static func parse(_ b: UnsafeRawBufferPointer, into plan: inout PartitionPlan,
                              ranges: inout InlineArray<8, BundleImageRange>) throws(BundleError) {
        let count = Int(u16(b, BundleFormat.Header.partitionCount))
        let total = UInt64(b.count)
        let recordsEnd = UInt64(BundleFormat.recordOffset(count))
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
            try requireZero(b, from: r + R.reserved0, to: r + R.reserved0 + 1)
            let bootargsLength = Int(u16(b, r + R.bootargsLength))
            guard bootargsLength <= PlanLimits.maxBootargsLength else {
                throw .bootargsTooLong(partition: p, length: bootargsLength)
            }
            try requireZero(b, from: r + R.reserved1, to: r + R.reserved1 + 2)

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
            try requireZero(b, from: r + R.reserved2, to: r + R.end)

            // The image: aligned, inside the bundle, after the records, apart from earlier images.
            let offset = u64(b, r + R.imageOffset)
            let length = u64(b, r + R.imageLength)
            guard offset % UInt64(BundleFormat.imageAlignment) == 0 else { throw .imageMisaligned(partition: p, offset: offset) }
            let (end, overflow) = offset.addingReportingOverflow(length)
            guard !overflow, end <= total else { throw .imageOutOfBounds(partition: p, offset: offset, length: length) }
            guard offset >= recordsEnd else { throw .imageOverlapsRecords(partition: p, offset: offset) }
            var q = 0
            while q < p {
                let other = ranges[q]
                if length > 0 && other.count > 0 && offset < UInt64(other.offset + other.count) && UInt64(other.offset) < end {
                    throw .imageOverlap(partition: p, other: q)
                }
                q += 1
            }
            // offset and end are at most `total`, which is the buffer's Int count.
            ranges[p] = BundleImageRange(offset: Int(offset), count: Int(length))
            spec.imageSize = length
            _ = plan.append(spec)
            p += 1
        }
        try checkCoverage(b, count: count, ranges: ranges, from: Int(recordsEnd))
    }

    /// Walks the non-empty images in offset order: the gaps between them must be zero padding,
    /// and the last one must end at the end of the bundle.
    private static func checkCoverage(_ b: UnsafeRawBufferPointer, count: Int,
                                      ranges: InlineArray<8, BundleImageRange>, from start: Int) throws(BundleError) {
        var order = InlineArray<8, Int>(repeating: 0)
        var n = 0
        var p = 0
        while p < count {
            if ranges[p].count > 0 {
                // Insertion sort by offset (at most 8 entries).
                var i = n
                while i > 0 && ranges[order[i - 1]].offset > ranges[p].offset { order[i] = order[i - 1]; i -= 1 }
                order[i] = p
                n += 1
            }
            p += 1
        }
        var cursor = start
        var i = 0
        while i < n {
            let r = ranges[order[i]]
            try requireZero(b, from: cursor, to: r.offset)
            cursor = r.offset + r.count
            i += 1
        }
        guard cursor == b.count else { throw .bytesAfterImages(end: UInt64(cursor), totalLength: UInt64(b.count)) }
    }

    private static func requireZero(_ b: UnsafeRawBufferPointer, from start: Int, to end: Int) throws(BundleError) {
        var i = start
        while i < end {
            if b[i] != 0 { throw .reservedNotZero(offset: UInt64(i)) }
            i += 1
        }
    }

    @inline(__always) private static func u16(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt16 {
        UInt16(b[at]) | UInt16(b[at + 1]) << 8
    }
    @inline(__always) private static func u32(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        UInt32(u16(b, at)) | UInt32(u16(b, at + 2)) << 16
    }
    @inline(__always) private static func u64(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt64 {
        UInt64(u32(b, at)) | UInt64(u32(b, at + 4)) << 32
    }
}
