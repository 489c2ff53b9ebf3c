// Host-only partition update encoder: the fields, image, initrd and policy digest in, update format v1 bytes out.
// Like BundleWriter, the hashing and signing are the caller's (the CLI passes swift-crypto's), so
// this file holds layout only.

#if !hasFeature(Embedded)
/// Encodes partition updates in the layout `PartitionUpdateReader` accepts (docs/bundle-format.md).
public enum PartitionUpdateWriter {
    /// Encodes an update of partition `partition` (index) named `name` to `image` and `initrd`
    /// (empty: none), entered at `entry`, bound to `policyDigest`
    /// (`PartitionUpdateVerifier.policyDigest` of the bundle packed from the same configuration).
    /// `digest` maps bytes to their image digest (chunked SHA-512, ImageDigest); `sign` maps the finished header to its Ed25519 signature.
    ///
    /// - Precondition: `image` is not empty, `name` holds 1 … 16 bytes, `policyDigest`, `digest`'s
    ///   and `sign`'s results are 64 bytes.
    public static func encode<E: Error>(partition: Int, name: PartitionName, entry: GuestPhysAddr, image: [UInt8],
                                        initrd: [UInt8], policyDigest: [UInt8], securityVersion: UInt64,
                                        keyID: SigningKeyID, digest: ([UInt8]) -> [UInt8],
                                        sign: ([UInt8]) throws(E) -> [UInt8]) throws(E) -> [UInt8] {
        precondition(!image.isEmpty && name.count > 0 && partition >= 0 && partition < 256, "an image for a named partition")
        precondition(policyDigest.count == BundleFormat.digestSize, "a 64-byte policy digest")
        typealias H = PartitionUpdateFormat.Header
        guard let layout = PartitionUpdateFormat.layout(imageLength: UInt64(image.count), initrdLength: UInt64(initrd.count)) else {
            preconditionFailure("the update's length overflows")
        }
        var out = [UInt8](repeating: 0, count: Int(layout.total))
        BundleWriter.put(&out, H.magic, PartitionUpdateFormat.magic, 8)
        BundleWriter.put(&out, H.version, UInt64(PartitionUpdateFormat.version), 2)
        BundleWriter.put(&out, H.headerSize, UInt64(PartitionUpdateFormat.headerSize), 2)
        out[H.partition] = UInt8(partition)
        out[H.nameLength] = UInt8(name.count)
        BundleWriter.put(&out, H.totalLength, layout.total, 8)
        BundleWriter.put(&out, H.securityVersion, securityVersion, 8)
        BundleWriter.put(&out, H.keyID, keyID.raw, 8)
        name.withBytes { for (i, byte) in $0.enumerated() { out[H.name + i] = byte } }
        BundleWriter.put(&out, H.entry, entry.raw, 8)
        BundleWriter.put(&out, H.imageLength, UInt64(image.count), 8)
        BundleWriter.put(&out, H.initrdLength, UInt64(initrd.count), 8)
        out.replaceSubrange(H.policyDigest..<(H.policyDigest + 64), with: policyDigest)
        out.replaceSubrange(H.imageDigest..<(H.imageDigest + 64), with: checked(digest(image)))
        if !initrd.isEmpty { out.replaceSubrange(H.initrdDigest..<(H.initrdDigest + 64), with: checked(digest(initrd))) }
        let signature = try sign(Array(out[0..<PartitionUpdateFormat.headerSize]))
        out.replaceSubrange(PartitionUpdateFormat.headerSize..<PartitionUpdateFormat.imageOffset, with: checked(signature))
        out.replaceSubrange(PartitionUpdateFormat.imageOffset..<(PartitionUpdateFormat.imageOffset + image.count), with: image)
        let initrdOffset = Int(layout.initrdOffset)
        out.replaceSubrange(initrdOffset..<(initrdOffset + initrd.count), with: initrd)
        return out
    }

    private static func checked(_ bytes: [UInt8]) -> [UInt8] {
        precondition(bytes.count == 64, "digests and signatures are 64 bytes")
        return bytes
    }
}
#endif
