// The decision on a parsed partition update: trusted signer, right partition, same policy, newer version, fits, digests.
//
// Order of the checks (docs/bundle-format.md, "Partition updates"): the signer exactly as for a
// bundle (revoked, then trust anchor, then the Ed25519 signature over the header:
// BundleVerifier.checkSigner); then, on the authenticated header, the partition (index and name in
// the installed bundle), its policy digest, the security version against the partition's floor,
// whether the new image and initrd fit the partition's memory (plan validation's own rules), and
// last the SHA-512 of the image and the initrd. The first failure is thrown. No heap, no traps.

public enum PartitionUpdateVerifier {
    /// Accepts `update` for the bundle `installed` (already verified at boot) or throws the first
    /// failed check. `floor` is the partition's update security version in force (0 when it runs
    /// the image of its bundle): an update must be above it. Costs one Ed25519 verification
    /// (about 8 KiB of stack) and one SHA-512 pass over the image and the initrd.
    public static func verify(update: PartitionUpdateReader, installed: BundleReader, trustAnchors: TrustAnchors,
                              revoked: RevokedKeys, floor: UInt64) throws(PartitionUpdateError) {
        let p = update.partition
        guard p < installed.plan.count else {
            try checkSigner(update, trustAnchors: trustAnchors, revoked: revoked)
            throw .unknownPartition(index: p, count: installed.plan.count)
        }
        try verify(update: update, target: installed.plan[p], partitionCount: installed.plan.count,
                   policyDigest: policyDigest(bundle: installed, partition: p), trustAnchors: trustAnchors, revoked: revoked, floor: floor)
    }

    /// The same checks in the same order against what the running hypervisor keeps of the
    /// installed bundle: the target's spec as the bundle has it (`target`, partition
    /// `update.partition`), the bundle's partition count and the target's policy digest
    /// (`policyDigest(bundle:partition:)`, computed at boot). No bundle reader, so little stack.
    public static func verify(update: PartitionUpdateReader, target: PartitionSpec, partitionCount: Int, policyDigest: SHA512Digest,
                              trustAnchors: TrustAnchors, revoked: RevokedKeys, floor: UInt64) throws(PartitionUpdateError) {
        try checkSigner(update, trustAnchors: trustAnchors, revoked: revoked)
        let p = update.partition
        guard p < partitionCount else { throw .unknownPartition(index: p, count: partitionCount) }
        guard target.name.equals(update.name) else { throw .wrongPartition(index: p) }
        guard BundleVerifier.same(policyDigest, update.policyDigest) else { throw .policyChanged(partition: p) }
        guard update.securityVersion > floor else { throw .versionNotAboveFloor(version: update.securityVersion, floor: floor) }
        try checkFit(update: update, target: target)
        try checkDigests(update: update)
    }

    /// The signer exactly as for a bundle: revoked, then trust anchor, then the signature.
    static func checkSigner(_ update: PartitionUpdateReader, trustAnchors: TrustAnchors, revoked: RevokedKeys) throws(PartitionUpdateError) {
        let id = update.keyID
        switch BundleVerifier.checkSigner(keyID: id, signature: update.signature, message: update.headerBytes,
                                          trustAnchors: trustAnchors, revoked: revoked) {
        case .revoked: throw .revokedKey(id)
        case .unknown: throw .unknownKey(id)
        case .badSignature: throw .badSignature(id)
        case .verified: break
        }
    }

    /// The update names a partition of `installed` by index and name, and carries that
    /// partition's policy digest.
    public static func checkTarget(update: PartitionUpdateReader, installed: BundleReader) throws(PartitionUpdateError) {
        let p = update.partition
        guard p < installed.plan.count else { throw .unknownPartition(index: p, count: installed.plan.count) }
        guard installed.plan[p].name.equals(update.name) else { throw .wrongPartition(index: p) }
        guard BundleVerifier.same(policyDigest(bundle: installed, partition: p), update.policyDigest) else {
            throw .policyChanged(partition: p)
        }
    }

    /// The partition with the update's image, initrd and entry passes plan validation's image
    /// rules (`PartitionSpec.validateImage`) in its installed memory. Call after `checkTarget`.
    public static func checkFit(update: PartitionUpdateReader, installed: BundleReader) throws(PartitionUpdateError) {
        let p = update.partition
        guard p < installed.plan.count else { throw .unknownPartition(index: p, count: installed.plan.count) }
        try checkFit(update: update, target: installed.plan[p])
    }

    /// The same, against the target's installed spec.
    public static func checkFit(update: PartitionUpdateReader, target: PartitionSpec) throws(PartitionUpdateError) {
        var spec = target
        spec.imageSize = UInt64(update.imageRange.count)
        spec.initrdSize = UInt64(update.initrdRange.count)
        spec.entry = update.entry
        do throws(PlanError) { try spec.validateImage(partition: update.partition) } catch { throw .imageDoesNotFit(error) }
    }

    /// The image and the initrd have the image digests (chunked SHA-512, as in bundles) in the
    /// (signed) header.
    public static func checkDigests(update: PartitionUpdateReader) throws(PartitionUpdateError) {
        guard BundleVerifier.matches(update.image, update.imageDigest) else { throw .imageDigestMismatch }
        if update.initrdRange.count > 0 && !BundleVerifier.matches(update.initrd, update.initrdDigest) {
            throw .initrdDigestMismatch
        }
    }

    /// Partition `p`'s policy as the installed bundle's manifest holds it: SHA-512 of
    /// "Bulkhead update policy v1" ‖ p (u8) ‖ its 320-byte record without bytes 72 … 95 (entry,
    /// image offset and length) and 224 … 287 (image digest) ‖ for each channel record naming p
    /// as an endpoint: its index (u8) ‖ the record ‖ for each device record p owns: its index (u8)
    /// ‖ the record. So a bundle packed from the same configuration gives the same digest, whatever
    /// the images; any change to harts, memory, kind, boot arguments, flags, keys, channels or
    /// devices gives another. `p` must be below `bundle.plan.count`.
    public static func policyDigest(bundle: BundleReader, partition p: Int) -> SHA512Digest {
        typealias R = BundleFormat.Record
        let m = bundle.manifestBytes
        var h = SHA512()
        KeyChain.label("Bulkhead update policy v1") { h.update($0) }
        var index = UInt8(truncatingIfNeeded: p)
        withUnsafeBytes(of: &index) { h.update($0) }
        let r = BundleFormat.recordOffset(p)
        h.update(UnsafeRawBufferPointer(rebasing: m[r..<(r + R.entry)]))
        h.update(UnsafeRawBufferPointer(rebasing: m[(r + R.bootargs)..<(r + R.imageDigest)]))
        h.update(UnsafeRawBufferPointer(rebasing: m[(r + R.flags)..<(r + R.end)]))
        var c = 0
        while c < bundle.plan.channelCount {
            let range = bundle.channelRecordRange(c)
            let endpoints = range.offset + BundleFormat.ChannelRecord.endpoints
            if Int(m[endpoints]) == p || Int(m[endpoints + 1]) == p {
                index = UInt8(truncatingIfNeeded: c)
                withUnsafeBytes(of: &index) { h.update($0) }
                h.update(UnsafeRawBufferPointer(rebasing: m[range.offset..<(range.offset + range.count)]))
            }
            c += 1
        }
        var d = 0
        while d < bundle.deviceCount {
            let offset = BundleFormat.deviceRecordOffset(d, partitionCount: bundle.plan.count, channelCount: bundle.plan.channelCount,
                                                         initrdCount: bundle.initrdCount)
            if Int(m[offset + BundleFormat.DeviceRecord.owner]) == p {
                index = UInt8(truncatingIfNeeded: d)
                withUnsafeBytes(of: &index) { h.update($0) }
                h.update(UnsafeRawBufferPointer(rebasing: m[offset..<(offset + BundleFormat.deviceRecordSize)]))
            }
            d += 1
        }
        return h.finalize()
    }
}
