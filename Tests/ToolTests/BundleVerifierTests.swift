// Core's BundleVerifier (Core SHA-512 + Ed25519) on bundles signed by the CLI (swift-crypto):
// every verdict, the trust-anchor and revocation lists, and agreement with swift-crypto.

import BulkheadCore
import Crypto
import Foundation
import Testing
@testable import BulkheadTool

/// Core's trust anchor for a swift-crypto public key.
private func anchor(_ key: Curve25519.Signing.PublicKey) -> TrustAnchor {
    Array(key.rawRepresentation).withUnsafeBytes { TrustAnchor(publicKey: $0)! }
}

private func anchors(_ keys: Curve25519.Signing.PublicKey...) -> TrustAnchors {
    var set = TrustAnchors()
    for k in keys { let added = set.add(anchor(k)); #expect(added) }
    return set
}

/// Core's verdict on `bytes` (which must parse).
private func verdict(_ bytes: [UInt8], _ trusted: TrustAnchors, revoked: RevokedKeys = RevokedKeys(),
                     minimum: UInt64 = 0) throws -> BundleVerdict {
    try bytes.withUnsafeBytes { raw throws in
        BundleVerifier.verify(bundle: try BundleReader(bytes: raw), trustAnchors: trusted, revoked: revoked,
                              minimumVersion: minimum)
    }
}

private func text(_ v: BundleVerdict, _ bytes: [UInt8]) -> String {
    bytes.withUnsafeBytes { raw in
        var sink = StringSink()
        v.write(to: &sink, plan: try! BundleReader(bytes: raw).plan)
        return sink.text
    }
}

@Suite("Core BundleVerifier against swift-crypto signatures")
struct BundleVerifierTests {
    @Test func everyVerdict() throws {
        let s = try SignedSetup(version: 5)
        defer { s.ws.remove() }
        let key = try SigningKeys.loadPublic(s.key.publicPath)
        let other = Curve25519.Signing.PrivateKey().publicKey
        let good = s.bytes
        let trusted = anchors(other, key)

        #expect(try verdict(good, trusted) == .accepted)
        #expect(try verdict(good, trusted, minimum: 5) == .accepted)
        #expect(try verdict(good, trusted, minimum: 6) == .versionBelowMinimum(version: 5, minimum: 6))
        #expect(try verdict(good, anchors(other)) == .unknownKey(s.key.keyID))
        #expect(try verdict(good, TrustAnchors()) == .unknownKey(s.key.keyID))
        var revoked = RevokedKeys()
        _ = revoked.add(s.key.keyID)
        #expect(try verdict(good, trusted, revoked: revoked) == .revokedKey(s.key.keyID))
        #expect(try verdict(good, anchors(other), revoked: revoked) == .revokedKey(s.key.keyID))

        // Every signature byte, and manifest bytes the parser accepts any value of.
        let m = 64 + 2 * 320
        for at in Array(m..<(m + 64)) + [24, 64 + 56, 64 + 72, 64 + 224, 384 + 287] {
            var b = good
            b[at] ^= 0x04
            #expect(try verdict(b, trusted) == .badSignature(s.key.keyID), "byte \(at)")
        }
        // A higher version written into a signed bundle is a bad signature, never accepted.
        var bumped = good
        bumped[24] = 9
        #expect(try verdict(bumped, trusted, minimum: 6) == .badSignature(s.key.keyID))

        for p in 0..<2 {
            let r = s.imageRange(p)
            for at in [r.offset, r.offset + r.count / 2, r.offset + r.count - 1] {
                var b = good
                b[at] ^= 0x80
                #expect(try verdict(b, trusted) == .digestMismatch(partition: p))
            }
        }
        var b = good
        b[s.imageRange(1).offset] ^= 1
        #expect(text(.digestMismatch(partition: 1), b)
                == "digest mismatch for partition #1 \"two\": the image does not match its SHA-512 digest in the manifest")
        #expect(text(.unknownKey(SigningKeyID(raw: 0x0807_0605_0403_0201)), b)
                == "unknown key: the manifest names signing key id 0102030405060708, which is not a trust anchor")
        #expect(text(.revokedKey(s.key.keyID), b) == "revoked key: the manifest names signing key id \(s.key.keyID.hex), which is revoked")
        #expect(text(.badSignature(s.key.keyID), b)
                == "bad signature: the Ed25519 signature over the manifest does not verify with key id \(s.key.keyID.hex)")
        #expect(text(.versionBelowMinimum(version: 5, minimum: 6), b) == "rollback: security version 5 is below the minimum 6")
    }

    @Test func idsAndMeasurementsMatchSwiftCrypto() throws {
        let s = try SignedSetup()
        defer { s.ws.remove() }
        let key = try SigningKeys.loadPublic(s.key.publicPath)
        #expect(anchor(key).keyID == s.key.keyID)
        try s.bytes.withUnsafeBytes { raw throws in
            let reader = try BundleReader(bytes: raw)
            let digest = BundleVerifier.manifestDigest(reader).withBytes { [UInt8]($0) }
            #expect(digest == Array(Crypto.SHA512.hash(data: Array(reader.manifestBytes))))
            for p in 0..<2 { #expect(BundleVerifier.imageMatchesDigest(reader, p)) }
            #expect(!BundleVerifier.imageMatchesDigest(reader, 2))
        }
    }

    @Test func anchorAndRevocationLists() {
        // Not keys: a non-canonical y (>= p), and the identity point (small order).
        #expect([UInt8](repeating: 0xFF, count: 32).withUnsafeBytes { TrustAnchor(publicKey: $0) } == nil)
        #expect(([1] + [UInt8](repeating: 0, count: 31)).withUnsafeBytes { TrustAnchor(publicKey: $0) } == nil)
        #expect([UInt8](repeating: 0, count: 31).withUnsafeBytes { TrustAnchor(publicKey: $0) } == nil)

        let keys = (0...TrustAnchors.capacity).map { _ in Curve25519.Signing.PrivateKey().publicKey }
        var set = TrustAnchors()
        for k in keys.prefix(TrustAnchors.capacity) { let added = set.add(anchor(k)); #expect(added) }
        let overflow = set.add(anchor(keys[TrustAnchors.capacity]))
        #expect(!overflow)   // full
        #expect(set.count == TrustAnchors.capacity)
        var small = TrustAnchors()
        let first = small.add(anchor(keys[0])), duplicate = small.add(anchor(keys[0]))
        #expect(first && !duplicate)   // duplicate id
        #expect(small.anchor(for: SigningKeys.keyID(of: keys[0]))?.keyID == SigningKeys.keyID(of: keys[0]))
        #expect(small.anchor(for: SigningKeys.keyID(of: keys[1])) == nil)

        var revoked = RevokedKeys()
        for i in 0..<RevokedKeys.capacity { let added = revoked.add(SigningKeyID(raw: UInt64(i) + 100)); #expect(added) }
        let again = revoked.add(SigningKeyID(raw: 100)), full = revoked.add(SigningKeyID(raw: 1))
        #expect(again && !full)   // already listed: fine; a new id when full: refused
        #expect(revoked.contains(SigningKeyID(raw: 115)) && !revoked.contains(SigningKeyID(raw: 1)))
    }

    /// Random keys, bundles and single-byte mutations: Core's verdict is `.accepted` exactly when
    /// swift-crypto's check finds nothing wrong.
    @Test func agreesWithSwiftCryptoOnMutations() throws {
        var rng = SystemRandomNumberGenerator()
        var compared = 0
        for round in 0..<40 {
            let key = Curve25519.Signing.PrivateKey()
            var plan = PartitionPlan()
            var images: [[UInt8]] = []
            for p in 0..<(1 + round % 3) {
                var spec = PartitionSpec()
                spec.name = Array("p\(p)".utf8).withUnsafeBytes { PartitionName(bytes: $0)! }
                _ = spec.harts.append(UInt32(p))
                spec.memory = HostRegion(base: HostPhysAddr(0x8400_0000 + UInt64(p) << 24), size: 1 << 24)
                spec.entry = GuestPhysAddr(0x8000_0000)
                let image = (0..<Int.random(in: 1...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                spec.imageSize = UInt64(image.count)
                images.append(image)
                _ = plan.append(spec)
            }
            let version = UInt64.random(in: 0...10, using: &rng)
            let good = try BundleSigning.encode(plan: plan, images: images, securityVersion: version, key: key)
            var trusted = TrustAnchors()
            _ = trusted.add(anchor(key.publicKey))
            for mutation in 0..<8 {
                var b = good
                if mutation > 0 { b[Int.random(in: 0..<b.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng) }
                let result = b.withUnsafeBytes { raw -> (BundleVerdict, SignatureProblem?)? in
                    guard let reader = try? BundleReader(bytes: raw) else { return nil }
                    return (BundleVerifier.verify(bundle: reader, trustAnchors: trusted, revoked: RevokedKeys(), minimumVersion: 0),
                            BundleSigning.check(reader, key: key.publicKey))
                }
                guard let (core, host) = result else { continue }
                compared += 1
                switch (core, host) {
                case (.accepted, nil): break
                case (.unknownKey, .wrongKey?), (.badSignature, .badSignature?): break
                case (.digestMismatch(let a), .digestMismatch(let b)?): #expect(a == b)
                default: Issue.record("Core says \(core), swift-crypto says \(String(describing: host))")
                }
                if mutation == 0 { #expect(core == .accepted) }
            }
        }
        #expect(compared >= 40)
    }
}
