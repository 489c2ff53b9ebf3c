// Ed25519 signing (RFC 8032 §5.1.5, §5.1.6): the §7.1 vectors, swift-crypto cross-checks on random seeds, our own verifier, wiping.
import Crypto
import Foundation
import Testing
@testable import BulkheadCore

/// Ed25519PrivateKey on byte arrays.
func ed25519PrivateKey(seed: [UInt8]) -> Ed25519PrivateKey? {
    seed.withUnsafeBytes { Ed25519PrivateKey(seed: $0) }
}

extension Ed25519PrivateKey {
    var publicKeyBytes: [UInt8] { withPublicKeyBytes { Array($0) } }
    func sign(_ message: [UInt8]) -> [UInt8] {
        message.withUnsafeBytes { sign(message: $0) }.withBytes { Array($0) }
    }
}

@Suite("Ed25519 signing")
struct Ed25519SigningTests {
    @Test("RFC 8032 §7.1: the public key and the signature of each vector", arguments: rfc8032Vectors)
    func vector(_ v: RFC8032Vector) throws {
        let key = try #require(ed25519PrivateKey(seed: hexBytes(v.secretKey)))
        #expect(key.publicKeyBytes == hexBytes(v.publicKey))
        let signature = key.sign(hexBytes(v.message))
        #expect(signature == hexBytes(v.signature))
        #expect(ed25519Verify(signature: signature, message: hexBytes(v.message), key: key.publicKeyBytes))
        // The derived key verifies directly too (no decoding round trip).
        let verified = signature.withUnsafeBytes { s in
            hexBytes(v.message).withUnsafeBytes { m in Ed25519.verify(signature: s, message: m, publicKey: key.publicKey) }
        }
        #expect(verified)
    }

    @Test("seeds of the wrong length are refused")
    func wrongSeedLengths() {
        for n in [0, 1, 31, 33, 64] { #expect(ed25519PrivateKey(seed: [UInt8](repeating: 7, count: n)) == nil) }
    }

    @Test("signing is deterministic, and different messages give different signatures")
    func deterministic() throws {
        let key = try #require(ed25519PrivateKey(seed: Array(0..<32)))
        #expect(key.sign([1, 2, 3]) == key.sign([1, 2, 3]))
        #expect(key.sign([1, 2, 3]) != key.sign([1, 2, 4]))
        // A copy signs the same; an empty message with a nil base address is fine.
        let copy = key
        #expect(copy.sign([]) == key.sign([]))
        let nilBase = key.sign(message: UnsafeRawBufferPointer(start: nil, count: 0)).withBytes { Array($0) }
        #expect(nilBase == key.sign([]))
    }

    @Test("wipe() zeroes the secret scalar and the prefix, and leaves the public key")
    func wipe() throws {
        var key = try #require(ed25519PrivateKey(seed: Array(100..<132)))
        let publicKey = key.publicKeyBytes
        let before = key.sign([9])
        key.wipe()
        #expect(key.scalar.words == (0, 0, 0, 0))
        #expect(withUnsafeBytes(of: key.prefix) { $0.allSatisfy { $0 == 0 } })
        #expect(key.publicKeyBytes == publicKey)
        #expect(key.sign([9]) != before)
    }

    /// Seeds per run, split over `batches` parallel test cases (docs/ed25519.md).
    static let seedCount = 2400
    static let batches = 8

    @Test("random seeds and messages: same public key and signature as swift-crypto; each verifies with the other",
          arguments: 0..<batches)
    func crossCheck(batch: Int) throws {
        var rng = Ed25519TestRandom(state: 0x5167 &+ UInt64(batch))
        let lengths = [0, 1, 31, 32, 63, 64, 111, 112, 127, 128, 129, 200, 255, 256]
        var mismatches = 0
        for _ in 0..<Self.seedCount / Self.batches {
            var seed = rng.bytes(32)
            // Some seeds with runs of 0x00 or 0xff.
            if rng.below(8) == 0 { seed = [UInt8](repeating: rng.below(2) == 0 ? 0 : 0xff, count: 32) ; seed[rng.below(32)] = UInt8(truncatingIfNeeded: rng.next()) }
            let message = rng.bytes(rng.below(4) == 0 ? lengths[rng.below(lengths.count)] : rng.below(300))
            let theirs = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
            let key = try #require(ed25519PrivateKey(seed: seed))
            let publicKey = key.publicKeyBytes
            #expect(publicKey == Array(theirs.publicKey.rawRepresentation))

            let ours = key.sign(message)
            #expect(theirs.publicKey.isValidSignature(ours, for: message))
            #expect(ed25519Verify(signature: ours, message: message, key: publicKey))
            let theirSignature = Array(try theirs.signature(for: message))
            #expect(ed25519Verify(signature: theirSignature, message: message, key: publicKey))
            // BoringSSL (swift-crypto on Linux) signs deterministically, as RFC 8032 does: then the
            // bytes must be equal. A randomising implementation is checked by verification only.
            let deterministic = Array(try theirs.signature(for: message)) == theirSignature
            if deterministic && ours != theirSignature { mismatches += 1 }
            #expect(!deterministic || ours == theirSignature, "seed \(seed), message \(message)")
        }
        #expect(mismatches == 0)
    }
}
