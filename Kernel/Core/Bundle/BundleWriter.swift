// Host-only bundle encoder: a PartitionPlan, image bytes, a security version and a signer in,
// bundle format v3 bytes out. The hashing and signing functions are the caller's (the CLI passes
// swift-crypto's SHA-512 and Ed25519), so this file holds layout only, no cryptography.

#if !hasFeature(Embedded)
/// Encodes bundles in the layout `BundleReader` accepts (see docs/bundle-format.md).
public enum BundleWriter {
    /// Encodes `plan` (its partitions, channels and devices) with `images[i]` as partition `i`'s
    /// image, then signs the manifest.
    ///
    /// Images are stored in partition order, each at the next 8-byte boundary after the signature
    /// or the previous image; an empty image gets the offset of the first byte after the
    /// signature. `digest` maps an image to its 64-byte image digest (ImageDigest); `sign` maps the manifest bytes
    /// (header + partition records + channel records, every field already final) to their 64-byte Ed25519 signature.
    ///
    /// - Precondition: `images.count == plan.count`, `images[i].count == plan[i].imageSize`,
    ///   and `digest`/`sign` return 64 bytes.
    /// `initrds[i]` (when given) is partition `i`'s initrd, empty for none: each non-empty one
    /// gets an initrd record and is stored after all the images, in partition order.
    public static func encode<E: Error>(plan: PartitionPlan, images: [[UInt8]], initrds: [[UInt8]] = [],
                                        securityVersion: UInt64,
                                        keyID: SigningKeyID, digest: ([UInt8]) -> [UInt8],
                                        sign: ([UInt8]) throws(E) -> [UInt8]) throws(E) -> [UInt8] {
        precondition(images.count == plan.count, "one image per partition")
        precondition(initrds.isEmpty || initrds.count == plan.count, "one initrd (possibly empty) per partition")
        let withInitrd = initrds.indices.filter { !initrds[$0].isEmpty }
        let devices = plan.devices.count
        let manifestLength = BundleFormat.manifestLength(partitionCount: plan.count, channelCount: plan.channelCount,
                                                         initrdCount: withInitrd.count, deviceCount: devices)
        let imagesStart = manifestLength + BundleFormat.signatureSize
        // Image offsets first: they determine the total length.
        var offsets: [Int] = []
        var cursor = imagesStart
        for image in images {
            if image.isEmpty { offsets.append(imagesStart); continue }
            cursor = (cursor + BundleFormat.imageAlignment - 1) & ~(BundleFormat.imageAlignment - 1)
            offsets.append(cursor)
            cursor += image.count
        }
        var initrdOffsets: [Int] = []
        for p in withInitrd {
            precondition(UInt64(initrds[p].count) == plan[p].initrdSize, "the plan's initrdSize must match the initrd")
            cursor = (cursor + BundleFormat.imageAlignment - 1) & ~(BundleFormat.imageAlignment - 1)
            initrdOffsets.append(cursor)
            cursor += initrds[p].count
        }
        var out = [UInt8](repeating: 0, count: cursor)

        typealias H = BundleFormat.Header
        put(&out, H.magic, BundleFormat.magic, 8)
        put(&out, H.version, UInt64(BundleFormat.version), 2)
        put(&out, H.headerSize, UInt64(BundleFormat.headerSize), 2)
        put(&out, H.recordSize, UInt64(BundleFormat.recordSize), 2)
        put(&out, H.partitionCount, UInt64(plan.count), 2)
        put(&out, H.totalLength, UInt64(cursor), 8)
        put(&out, H.securityVersion, securityVersion, 8)
        put(&out, H.keyID, keyID.raw, 8)
        put(&out, H.channelCount, UInt64(plan.channelCount), 2)
        put(&out, H.channelRecordSize, UInt64(BundleFormat.channelRecordSize), 2)
        put(&out, H.initrdCount, UInt64(withInitrd.count), 2)
        put(&out, H.initrdRecordSize, withInitrd.isEmpty ? 0 : UInt64(BundleFormat.initrdRecordSize), 2)
        put(&out, H.deviceCount, UInt64(devices), 2)
        put(&out, H.deviceRecordSize, devices == 0 ? 0 : UInt64(BundleFormat.deviceRecordSize), 2)
        out[H.flags] = plan.flags.raw

        for p in 0..<plan.count {
            typealias R = BundleFormat.Record
            let spec = plan[p]
            let image = images[p]
            precondition(UInt64(image.count) == spec.imageSize, "the plan's imageSize must match the image")
            let r = BundleFormat.recordOffset(p)
            out[r + R.nameLength] = UInt8(spec.name.count)
            out[r + R.hartCount] = UInt8(spec.harts.count)
            out[r + R.onFault] = spec.onFault.rawValue
            out[r + R.imageKind] = spec.imageKind.rawValue
            put(&out, r + R.bootargsLength, UInt64(spec.bootargs.count), 2)
            put(&out, r + R.keyPolicy, UInt64(spec.keyPolicy.raw), 2)
            spec.name.withBytes { for (i, byte) in $0.enumerated() { out[r + R.name + i] = byte } }
            for v in 0..<spec.harts.count { put(&out, r + R.harts + 4 * v, UInt64(spec.harts[v]), 4) }
            put(&out, r + R.memoryBase, spec.memory.base.raw, 8)
            put(&out, r + R.memorySize, spec.memory.size, 8)
            put(&out, r + R.entry, spec.entry.raw, 8)
            put(&out, r + R.imageOffset, UInt64(offsets[p]), 8)
            put(&out, r + R.imageLength, UInt64(image.count), 8)
            spec.bootargs.withBytes { for (i, byte) in $0.enumerated() { out[r + R.bootargs + i] = byte } }
            out[r + R.flags] = spec.flags.raw
            out[r + R.updateTargets] = spec.updateTargets
            let hash = digest(image)
            precondition(hash.count == BundleFormat.digestSize, "a SHA-512 digest is 64 bytes")
            out.replaceSubrange((r + R.imageDigest)..<(r + R.imageDigest + BundleFormat.digestSize), with: hash)
            out.replaceSubrange(offsets[p]..<(offsets[p] + image.count), with: image)
        }

        for c in 0..<plan.channelCount {
            typealias C = BundleFormat.ChannelRecord
            let channel = plan.channel(c)
            let r = BundleFormat.channelRecordOffset(c, partitionCount: plan.count)
            out[r + C.nameLength] = UInt8(channel.name.count)
            out[r + C.kind] = channel.kind.rawValue
            out[r + C.endpoints] = channel.endpoints[0]
            out[r + C.endpoints + 1] = channel.endpoints[1]
            out[r + C.direction] = channel.direction.rawValue
            out[r + C.access] = channel.access[0].rawValue
            out[r + C.access + 1] = channel.access[1].rawValue
            out[r + C.doorbell] = channel.doorbell ? 1 : 0
            channel.name.withBytes { for (i, byte) in $0.enumerated() { out[r + C.name + i] = byte } }
            put(&out, r + C.depth, UInt64(channel.depth), 4)
            put(&out, r + C.messageSize, UInt64(channel.messageSize), 4)
            put(&out, r + C.size, channel.size, 8)
        }

        for (i, p) in withInitrd.enumerated() {
            typealias I = BundleFormat.InitrdRecord
            let r = BundleFormat.initrdRecordOffset(i, partitionCount: plan.count, channelCount: plan.channelCount)
            let initrd = initrds[p]
            out[r + I.partition] = UInt8(p)
            put(&out, r + I.offset, UInt64(initrdOffsets[i]), 8)
            put(&out, r + I.length, UInt64(initrd.count), 8)
            let hash = digest(initrd)
            precondition(hash.count == BundleFormat.digestSize, "a SHA-512 digest is 64 bytes")
            out.replaceSubrange((r + I.digest)..<(r + I.digest + BundleFormat.digestSize), with: hash)
            out.replaceSubrange(initrdOffsets[i]..<(initrdOffsets[i] + initrd.count), with: initrd)
        }

        for d in 0..<devices {
            typealias D = BundleFormat.DeviceRecord
            let device = plan.devices[d]
            let r = BundleFormat.deviceRecordOffset(d, partitionCount: plan.count, channelCount: plan.channelCount,
                                                    initrdCount: withInitrd.count)
            out.withUnsafeMutableBytes {
                DeviceRecordEncoding.encode(device, owner: device.owner, into: UnsafeMutableRawBufferPointer(rebasing: $0[r..<(r + D.end)]))
            }
        }

        let signature = try sign(Array(out[0..<manifestLength]))
        precondition(signature.count == BundleFormat.signatureSize, "an Ed25519 signature is 64 bytes")
        out.replaceSubrange(manifestLength..<imagesStart, with: signature)
        return out
    }

    /// Stores the low `width` bytes of `value` little-endian at `offset`.
    public static func put(_ out: inout [UInt8], _ offset: Int, _ value: UInt64, _ width: Int) {
        for i in 0..<width { out[offset + i] = UInt8(truncatingIfNeeded: value >> UInt64(8 * i)) }
    }
}
#endif
