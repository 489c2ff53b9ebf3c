// Signing and checking bundles on the host with swift-crypto (SHA-512, Ed25519 per RFC 8032).
// The kernel checks the same things with Core's own SHA-512 and Ed25519: the two check each other.
import BulkheadCore
import Crypto
import Foundation

/// Why a well-formed bundle does not verify against a public key.
public enum SignatureProblem: Equatable, Sendable {
    /// The manifest names a signing key other than the one given.
    case wrongKey(bundle: SigningKeyID, given: SigningKeyID)
    /// The Ed25519 signature over the manifest does not verify.
    case badSignature
    /// Partition `partition`'s image does not hash to the digest in its record.
    case digestMismatch(partition: Int)
    /// Partition `partition`'s initrd does not hash to the digest in its initrd record.
    case initrdDigestMismatch(partition: Int)
}

public enum BundleSigning {
    /// SHA-512 of `bytes`, 64 bytes.
    public static func sha512(_ bytes: some DataProtocol) -> [UInt8] { Array(Crypto.SHA512.hash(data: bytes)) }

    /// The image digest of bundle format 4 (docs/bundle-format.md), computed with swift-crypto:
    /// SHA-512 over the SHA-512 of each 256 KiB chunk. Core's ImageDigest computes it on the device.
    public static func imageDigest(_ bytes: [UInt8]) -> [UInt8] {
        var outer = Crypto.SHA512()
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + ChunkedPayloads.chunkSize, bytes.count)
            outer.update(data: Array(Crypto.SHA512.hash(data: bytes[offset..<end])))
            offset = end
        }
        return Array(outer.finalize())
    }

    /// The image digest of a view of a bundle's bytes.
    public static func imageDigest(_ bytes: UnsafeRawBufferPointer) -> [UInt8] { imageDigest([UInt8](bytes)) }

    /// Encodes and signs `plan` + `images` with `key`.
    public static func encode(plan: PartitionPlan, images: [[UInt8]], initrds: [[UInt8]] = [], securityVersion: UInt64,
                              key: Curve25519.Signing.PrivateKey) throws(ToolError) -> [UInt8] {
        try BundleWriter.encode(
            plan: plan, images: images, initrds: initrds, securityVersion: securityVersion,
            keyID: SigningKeys.keyID(of: key.publicKey), digest: { imageDigest($0) },
            sign: { (manifest: [UInt8]) throws(ToolError) -> [UInt8] in
                do { return Array(try key.signature(for: manifest)) } catch {
                    throw ToolError("cannot sign the manifest: \(error)")
                }
            })
    }

    /// Checks, in this order, that the bundle names `key`'s id, that its signature verifies over
    /// the manifest with `key`, and that every image hashes to its recorded digest. Returns the
    /// first problem, or nil when all hold.
    public static func check(_ bundle: BundleReader, key: Curve25519.Signing.PublicKey) -> SignatureProblem? {
        let given = SigningKeys.keyID(of: key)
        guard bundle.keyID == given else { return .wrongKey(bundle: bundle.keyID, given: given) }
        guard key.isValidSignature(Data(bundle.signature), for: Data(bundle.manifestBytes)) else { return .badSignature }
        for p in 0..<bundle.plan.count where imageDigest(bundle.image(p)) != Array(bundle.imageDigest(p)) {
            return .digestMismatch(partition: p)
        }
        for p in 0..<bundle.plan.count where bundle.initrdRange(p).count > 0
            && imageDigest(bundle.initrd(p)) != Array(bundle.initrdDigest(p)) {
            return .initrdDigestMismatch(partition: p)
        }
        return nil
    }

    /// The user-facing message for `problem` found in `file`, checked against the key in `keyFile`.
    static func message(_ problem: SignatureProblem, bundle: BundleReader, file: String, keyFile: String) -> String {
        switch problem {
        case .wrongKey(let named, let given):
            return "\(file): wrong key: the manifest names signing key id \(named.hex), but \(keyFile) is key id \(given.hex)"
        case .badSignature:
            return "\(file): bad signature: the Ed25519 signature over the manifest (bytes 0 to "
                + "\(hex(UInt64(bundle.manifestRange.count)))) does not verify with \(keyFile) (key id \(bundle.keyID.hex))"
        case .digestMismatch(let p):
            return "\(file): digest mismatch for partition #\(p) \"\(partitionName(bundle.plan, p))\": the image's digest is "
                + "\(hexString(imageDigest(bundle.image(p)))), the manifest records \(hexString(bundle.imageDigest(p)))"
        case .initrdDigestMismatch(let p):
            return "\(file): digest mismatch for the initrd of partition #\(p) \"\(partitionName(bundle.plan, p))\": its digest is "
                + "\(hexString(imageDigest(bundle.initrd(p)))), the manifest records \(hexString(bundle.initrdDigest(p)))"
        }
    }
}

/// Partition `p`'s name as text.
func partitionName(_ plan: PartitionPlan, _ p: Int) -> String {
    plan[p].name.withBytes { String(decoding: $0, as: UTF8.self) }
}
