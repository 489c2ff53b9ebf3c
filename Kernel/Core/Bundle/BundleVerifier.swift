// Verified boot's decision on a parsed bundle: trusted key, not revoked, signature, version, digests.
//
// Order of the checks (docs/bundle-format.md, "What the verifier checks"): the key id is looked
// up in the revocation list, then in the trust anchors; the Ed25519 signature over the manifest is
// checked with that anchor's key; only then is the (now authenticated) security version compared
// with the device's minimum, and each image hashed and compared with its digest. The first
// failure decides the verdict. The key is never taken from the bundle, only selected by its id.
// No heap, no traps: fixed-capacity lists, every index bounded.

/// A public key built into the hypervisor that may sign bundles, with its key id.
public struct TrustAnchor: Sendable {
    /// The first 8 bytes of SHA-512 of the 32-byte public key (as a bundle's `key_id` names it).
    public let keyID: SigningKeyID
    public let publicKey: Ed25519PublicKey

    /// Decodes a 32-byte Ed25519 public key and computes its id; nil unless `Ed25519PublicKey`
    /// accepts the bytes (canonical encoding, not of small order). Not inlined: the generated
    /// trust-anchor list calls it once per key, and inlined the decode took 9.8 KB of code there.
    @inline(never)
    public init?(publicKey bytes: UnsafeRawBufferPointer) {
        guard let key = Ed25519PublicKey(bytes: bytes) else { return nil }
        let digest = SHA512.hash(bytes)
        guard let id = digest.withBytes({ SigningKeyID(prefixOf: $0) }) else { return nil }
        keyID = id
        publicKey = key
    }

    private init(keyID: SigningKeyID, publicKey: Ed25519PublicKey) { self.keyID = keyID; self.publicKey = publicKey }

    /// What fills a `TrustAnchors` list past its count (never returned by it).
    static let unused = TrustAnchor(keyID: SigningKeyID(raw: 0), publicKey: .unused)
}

/// The trust anchors: at most `capacity` keys, with distinct ids.
public struct TrustAnchors: Sendable {
    public static let capacity = 8
    /// Entries 0 ..< count are anchors; the rest hold `TrustAnchor.unused`. (Not optionals: an
    /// array of optional anchors was copied byte by byte, 9.7 KB of code in the generated list.)
    private var anchors: InlineArray<8, TrustAnchor> = InlineArray(repeating: .unused)
    public private(set) var count = 0

    public init() {}

    /// Adds `anchor`; false when the list is full or already holds a key with the same id.
    public mutating func add(_ anchor: TrustAnchor) -> Bool {
        guard count < TrustAnchors.capacity, self.anchor(for: anchor.keyID) == nil else { return false }
        anchors[count] = anchor
        count += 1
        return true
    }

    /// The anchor whose id is `id`, if any.
    public func anchor(for id: SigningKeyID) -> TrustAnchor? {
        var i = 0
        while i < count {
            if anchors[i].keyID == id { return anchors[i] }
            i += 1
        }
        return nil
    }
}

/// Key ids that must never be accepted again, trusted or not: at most `capacity` of them.
public struct RevokedKeys: Sendable {
    public static let capacity = 16
    private var ids: InlineArray<16, SigningKeyID> = InlineArray(repeating: SigningKeyID(raw: 0))
    public private(set) var count = 0

    public init() {}

    /// Adds `id`; false when the list is full (an id already listed is accepted again: true).
    public mutating func add(_ id: SigningKeyID) -> Bool {
        if contains(id) { return true }
        guard count < RevokedKeys.capacity else { return false }
        ids[count] = id
        count += 1
        return true
    }

    public func contains(_ id: SigningKeyID) -> Bool {
        var i = 0
        while i < count {
            if ids[i] == id { return true }
            i += 1
        }
        return false
    }
}

/// What `BundleVerifier.verify` decided: accepted, or the first check that failed.
public enum BundleVerdict: Equatable, Sendable {
    case accepted
    /// The manifest names a key id that is not among the trust anchors.
    case unknownKey(SigningKeyID)
    /// The manifest names a revoked key id.
    case revokedKey(SigningKeyID)
    /// The Ed25519 signature over the manifest does not verify with the named anchor's key.
    case badSignature(SigningKeyID)
    /// The (authenticated) security version is below the device's stored minimum.
    case versionBelowMinimum(version: UInt64, minimum: UInt64)
    /// Partition `partition`'s image does not hash to the SHA-512 digest in its record.
    case digestMismatch(partition: Int)
    /// Partition `partition`'s initrd does not hash to the SHA-512 digest in its initrd record.
    case initrdDigestMismatch(partition: Int)

    /// Writes a one-line description, e.g. `partition #1 "beat": the image does not match its
    /// SHA-512 digest in the manifest`; `plan` supplies partition names.
    public func write<S: TextSink>(to out: inout S, plan: PartitionPlan) {
        switch self {
        case .accepted:
            out.write("accepted")
        case .unknownKey(let id):
            out.write("unknown key: the manifest names signing key id "); id.write(to: &out)
            out.write(", which is not a trust anchor")
        case .revokedKey(let id):
            out.write("revoked key: the manifest names signing key id "); id.write(to: &out)
            out.write(", which is revoked")
        case .badSignature(let id):
            out.write("bad signature: the Ed25519 signature over the manifest does not verify with key id ")
            id.write(to: &out)
        case .versionBelowMinimum(let version, let minimum):
            out.write("rollback: security version "); out.write(decimal: version)
            out.write(" is below the minimum "); out.write(decimal: minimum)
        case .digestMismatch(let p):
            out.write("digest mismatch for partition #"); out.write(decimal: p)
            if p >= 0 && p < plan.count {
                out.write(" \""); plan[p].name.withBytes { out.write(bytes: $0) }; out.write("\"")
            }
            out.write(": the image does not match its SHA-512 digest in the manifest")
        case .initrdDigestMismatch(let p):
            out.write("digest mismatch for the initrd of partition #"); out.write(decimal: p)
            if p >= 0 && p < plan.count {
                out.write(" \""); plan[p].name.withBytes { out.write(bytes: $0) }; out.write("\"")
            }
            out.write(": the initrd does not match its SHA-512 digest in the manifest")
        }
    }
}

/// Checks a parsed bundle against the trust anchors, the revocation list and the minimum version.
public enum BundleVerifier {
    /// The verdict on `bundle`: `.accepted` only when its key is trusted and not revoked, its
    /// signature verifies, its version is at least `minimumVersion`, and every image matches its
    /// digest. Costs one Ed25519 verification (about 8 KiB of stack) and one chunked SHA-512 pass per
    /// image and initrd (ImageDigest).
    public static func verify(bundle: BundleReader, trustAnchors: TrustAnchors, revoked: RevokedKeys,
                              minimumVersion: UInt64) -> BundleVerdict {
        let id = bundle.keyID
        switch checkSigner(keyID: id, signature: bundle.signature, message: bundle.manifestBytes,
                           trustAnchors: trustAnchors, revoked: revoked) {
        case .revoked: return .revokedKey(id)
        case .unknown: return .unknownKey(id)
        case .badSignature: return .badSignature(id)
        case .verified: break
        }
        guard bundle.securityVersion >= minimumVersion else {
            return .versionBelowMinimum(version: bundle.securityVersion, minimum: minimumVersion)
        }
        // Every image and initrd, hashed together (ImageDigest: on every hart in the hypervisor).
        var payloads = ChunkedPayloads()
        var p = 0
        while p < bundle.plan.count {
            _ = payloads.append(bundle.image(p))
            _ = payloads.append(bundle.initrd(p))
            p += 1
        }
        let digests = ImageDigest.digests(of: payloads)
        p = 0
        while p < bundle.plan.count {
            if !same(digests[2 * p], bundle.imageDigest(p)) { return .digestMismatch(partition: p) }
            if bundle.initrdRange(p).count > 0 && !same(digests[2 * p + 1], bundle.initrdDigest(p)) {
                return .initrdDigestMismatch(partition: p)
            }
            p += 1
        }
        return .accepted
    }

    /// What `checkSigner` found: the first of the three signer checks that failed, or `.verified`.
    public enum SignerCheck: Equatable, Sendable { case verified, revoked, unknown, badSignature }

    /// The signer checks bundles and partition updates share, in this order: `keyID` is not
    /// revoked, names a trust anchor, and `signature` verifies over `message` with that anchor's
    /// key (never with a key found in the input).
    public static func checkSigner(keyID: SigningKeyID, signature: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer,
                                   trustAnchors: TrustAnchors, revoked: RevokedKeys) -> SignerCheck {
        if revoked.contains(keyID) { return .revoked }
        guard let anchor = trustAnchors.anchor(for: keyID) else { return .unknown }
        guard Ed25519.verify(signature: signature, message: message, publicKey: anchor.publicKey) else { return .badSignature }
        return .verified
    }

    /// Whether partition `p`'s image hashes to the digest its record holds.
    public static func imageMatchesDigest(_ bundle: BundleReader, _ p: Int) -> Bool {
        matches(bundle.image(p), bundle.imageDigest(p))
    }

    /// Whether `payload`'s image digest (ImageDigest, on the calling hart) is `expected` (64 bytes).
    public static func matches(_ payload: UnsafeRawBufferPointer, _ expected: UnsafeRawBufferPointer) -> Bool {
        same(ImageDigest.digest(payload), expected)
    }

    /// Whether `actual` equals `expected` (64 bytes), compared without an early exit.
    static func same(_ actual: SHA512Digest, _ expected: UnsafeRawBufferPointer) -> Bool {
        guard expected.count == BundleFormat.digestSize else { return false }
        return actual.withBytes { constantTimeEquals($0, expected) }
    }

    /// SHA-512 of the manifest: the bundle's measurement (what the signature vouches for).
    public static func manifestDigest(_ bundle: BundleReader) -> SHA512Digest {
        SHA512.hash(bundle.manifestBytes)
    }
}
