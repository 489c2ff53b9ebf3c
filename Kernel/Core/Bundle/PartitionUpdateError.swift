// Every reason a partition update is refused: structural (PartitionUpdateReader) or a failed check (PartitionUpdateVerifier).

/// Why a partition update was refused, in the order the checks run (docs/bundle-format.md).
public enum PartitionUpdateError: Error, Equatable, Sendable {
    // Structure (PartitionUpdateReader).
    /// The buffer ends before byte `needed`.
    case truncated(needed: UInt64, available: UInt64)
    case badMagic
    case unsupportedVersion(UInt16)
    case wrongHeaderSize(UInt16)
    /// The name length is 0 or above 16.
    case badNameLength(Int)
    /// A reserved or padding byte (update offset) is not zero.
    case reservedNotZero(offset: UInt64)
    case emptyImage
    /// `total_length` is not where the image and initrd lengths say the update ends.
    case wrongTotalLength(declared: UInt64, imageLength: UInt64, initrdLength: UInt64)
    /// The buffer is longer than the declared total length.
    case trailingBytes(declared: UInt64, available: UInt64)
    // Signer (the same checks as a bundle's).
    case revokedKey(SigningKeyID)
    case unknownKey(SigningKeyID)
    case badSignature(SigningKeyID)
    // Binding to the installed bundle.
    /// The update names a partition index the installed bundle does not have.
    case unknownPartition(index: Int, count: Int)
    /// The installed bundle's partition at the update's index has another name.
    case wrongPartition(index: Int)
    /// The partition's policy in the installed bundle is not the one the update was packed for.
    case policyChanged(partition: Int)
    /// The update's security version is not above the partition's floor.
    case versionNotAboveFloor(version: UInt64, floor: UInt64)
    /// The new image (initrd, entry) does not fit the partition's memory: plan validation's reason.
    case imageDoesNotFit(PlanError)
    case imageDigestMismatch
    case initrdDigestMismatch

    /// Writes a one-line description, e.g. `bad signature: the Ed25519 signature over the update
    /// header does not verify with key id 66a1...`; `plan` (the installed bundle's, or an empty
    /// one) supplies partition names.
    public func write<S: TextSink>(to out: inout S, plan: PartitionPlan = PartitionPlan()) {
        switch self {
        case .truncated(let needed, let available):
            out.write("the update is truncated: "); out.write(decimal: needed); out.write(" bytes needed, ")
            out.write(decimal: available); out.write(" available")
        case .badMagic:
            out.write("not a partition update (the magic is not \"BHUPDATE\")")
        case .unsupportedVersion(let v):
            out.write("update format version "); out.write(decimal: UInt64(v))
            out.write(" is not supported (this build reads version 1)")
        case .wrongHeaderSize(let size):
            out.write("the update header size is "); out.write(decimal: UInt64(size)); out.write(", not 288")
        case .badNameLength(let n):
            out.write("the partition name length is "); out.write(decimal: n); out.write(" (1 to 16)")
        case .reservedNotZero(let offset):
            out.write("reserved or padding byte at offset "); out.write(hex: offset); out.write(" is not zero")
        case .emptyImage:
            out.write("the update carries no image (image_length is 0)")
        case .wrongTotalLength(let declared, let image, let initrd):
            out.write("total_length is "); out.write(decimal: declared); out.write(", but an image of ")
            out.write(decimal: image); out.write(" bytes and an initrd of "); out.write(decimal: initrd)
            out.write(" bytes end elsewhere")
        case .trailingBytes(let declared, let available):
            out.write("the update is "); out.write(decimal: declared); out.write(" bytes long, but the file has ")
            out.write(decimal: available)
        case .revokedKey(let id):
            out.write("revoked key: the update names signing key id "); id.write(to: &out); out.write(", which is revoked")
        case .unknownKey(let id):
            out.write("unknown key: the update names signing key id "); id.write(to: &out)
            out.write(", which is not a trust anchor")
        case .badSignature(let id):
            out.write("bad signature: the Ed25519 signature over the update header does not verify with key id ")
            id.write(to: &out)
        case .unknownPartition(let index, let count):
            out.write("wrong partition: the update is for partition #"); out.write(decimal: index)
            out.write(", but the bundle has "); out.write(decimal: count); out.write(" partitions")
        case .wrongPartition(let index):
            out.write("wrong partition: partition "); writeName(index, plan, &out)
            out.write(" of the bundle does not have the name the update names")
        case .policyChanged(let p):
            out.write("policy changed: partition "); writeName(p, plan, &out)
            out.write("'s policy (harts, memory, channels, devices, keys ...) in the bundle is not the one the update was ")
            out.write("packed for: such a change needs a full bundle")
        case .versionNotAboveFloor(let version, let floor):
            out.write("rollback: the update's security version "); out.write(decimal: version)
            out.write(" is not above the partition's "); out.write(decimal: floor)
        case .imageDoesNotFit(let error):
            out.write("the new image does not fit the partition: "); error.write(to: &out, plan: plan)
        case .imageDigestMismatch:
            out.write("digest mismatch: the image does not match its digest in the update header")
        case .initrdDigestMismatch:
            out.write("digest mismatch: the initrd does not match its digest in the update header")
        }
    }

    /// `#i "NAME"`, the name taken from `plan` when it has partition `i`.
    private func writeName<S: TextSink>(_ index: Int, _ plan: PartitionPlan, _ out: inout S) {
        out.write("#"); out.write(decimal: index)
        if index >= 0 && index < plan.count {
            out.write(" \""); plan[index].name.withBytes { out.write(bytes: $0) }; out.write("\"")
        }
    }
}
