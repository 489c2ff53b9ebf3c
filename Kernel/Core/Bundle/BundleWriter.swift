// Host-only bundle encoder: a PartitionPlan plus image bytes in, bundle format v1 bytes out.

#if !hasFeature(Embedded)
/// Encodes bundles in the layout `BundleReader` accepts (see docs/bundle-format.md).
public enum BundleWriter {
    /// Encodes `plan` with `images[i]` as partition `i`'s image. Images are stored in partition
    /// order, each at the next 8-byte boundary after the records or the previous image; an empty
    /// image gets the offset of the first byte after the records.
    ///
    /// - Precondition: `images.count == plan.count` and `images[i].count == plan[i].imageSize`.
    public static func encode(plan: PartitionPlan, images: [[UInt8]]) -> [UInt8] {
        precondition(images.count == plan.count, "one image per partition")
        let recordsEnd = BundleFormat.recordOffset(plan.count)
        // Image offsets first: they determine the total length.
        var offsets: [Int] = []
        var cursor = recordsEnd
        for image in images {
            if image.isEmpty { offsets.append(recordsEnd); continue }
            cursor = (cursor + BundleFormat.imageAlignment - 1) & ~(BundleFormat.imageAlignment - 1)
            offsets.append(cursor)
            cursor += image.count
        }
        var out = [UInt8](repeating: 0, count: cursor)

        typealias H = BundleFormat.Header
        put(&out, H.magic, BundleFormat.magic, 8)
        put(&out, H.version, UInt64(BundleFormat.version), 2)
        put(&out, H.headerSize, UInt64(BundleFormat.headerSize), 2)
        put(&out, H.recordSize, UInt64(BundleFormat.recordSize), 2)
        put(&out, H.partitionCount, UInt64(plan.count), 2)
        put(&out, H.totalLength, UInt64(cursor), 8)

        for p in 0..<plan.count {
            typealias R = BundleFormat.Record
            let spec = plan[p]
            let image = images[p]
            precondition(UInt64(image.count) == spec.imageSize, "the plan's imageSize must match the image")
            let r = BundleFormat.recordOffset(p)
            out[r + R.nameLength] = UInt8(spec.name.count)
            out[r + R.hartCount] = UInt8(spec.harts.count)
            out[r + R.onFault] = spec.onFault.rawValue
            put(&out, r + R.bootargsLength, UInt64(spec.bootargs.count), 2)
            spec.name.withBytes { for (i, byte) in $0.enumerated() { out[r + R.name + i] = byte } }
            for v in 0..<spec.harts.count { put(&out, r + R.harts + 4 * v, UInt64(spec.harts[v]), 4) }
            put(&out, r + R.memoryBase, spec.memory.base.raw, 8)
            put(&out, r + R.memorySize, spec.memory.size, 8)
            put(&out, r + R.entry, spec.entry.raw, 8)
            put(&out, r + R.imageOffset, UInt64(offsets[p]), 8)
            put(&out, r + R.imageLength, UInt64(image.count), 8)
            spec.bootargs.withBytes { for (i, byte) in $0.enumerated() { out[r + R.bootargs + i] = byte } }
            out.replaceSubrange(offsets[p]..<(offsets[p] + image.count), with: image)
        }
        return out
    }

    /// Stores the low `width` bytes of `value` little-endian at `offset`.
    public static func put(_ out: inout [UInt8], _ offset: Int, _ value: UInt64, _ width: Int) {
        for i in 0..<width { out[offset + i] = UInt8(truncatingIfNeeded: value >> UInt64(8 * i)) }
    }
}
#endif
