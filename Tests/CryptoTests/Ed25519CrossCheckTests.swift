// Ed25519 verification cross-checked against swift-crypto's Curve25519.Signing on random keys and messages.
import Crypto
import Foundation
import Testing
@testable import BulkheadCore

@Suite("Ed25519 against swift-crypto")
struct Ed25519CrossCheckTests {
    /// Keys per run, split over `batches` parallel test cases. Measured in a debug build
    /// (docs/ed25519.md): each key costs one signature by swift-crypto and four verifications
    /// by each side.
    static let keyCount = 2000
    static let batches = 8

    @Test("random keys and messages: valid signatures verify; mutated ones agree with swift-crypto",
          arguments: 0..<batches)
    func randomAgreement(batch: Int) throws {
        var rng = Ed25519TestRandom(state: 0xed25519 &+ UInt64(batch))
        let count = Self.keyCount / Self.batches
        var disagreements = 0
        for _ in 0..<count {
            let secret = try Curve25519.Signing.PrivateKey(rawRepresentation: rng.bytes(32))
            let key = Array(secret.publicKey.rawRepresentation)
            let lengths = [0, 1, 31, 64, 127, 128, 129, 200]
            let message = rng.bytes(rng.below(4) == 0 ? lengths[rng.below(lengths.count)] : rng.below(300))
            let signature = Array(try secret.signature(for: message))

            // A fresh, valid signature.
            #expect(ed25519Verify(signature: signature, message: message, key: key))

            // One mutation of each kind: a random bit of the message, of the signature, of the key.
            var m = message
            if !m.isEmpty {
                let bit = rng.below(m.count * 8)
                m[bit / 8] ^= 1 << UInt8(bit % 8)
            } else {
                m = [UInt8(truncatingIfNeeded: rng.next())]
            }
            var s = signature
            let sBit = rng.below(512)
            s[sBit / 8] ^= 1 << UInt8(sBit % 8)
            var k = key
            let kBit = rng.below(256)
            k[kBit / 8] ^= 1 << UInt8(kBit % 8)

            let cases: [([UInt8], [UInt8], [UInt8])] = [(signature, m, key), (s, message, key), (signature, message, k)]
            for (sig, msg, pub) in cases {
                let ours = ed25519Verify(signature: sig, message: msg, key: pub)
                let theirs = (try? Curve25519.Signing.PublicKey(rawRepresentation: pub))?
                    .isValidSignature(sig, for: msg) ?? false
                if ours != theirs { disagreements += 1 }
                #expect(ours == theirs, "signature \(sig), message \(msg), key \(pub)")
            }
        }
        #expect(disagreements == 0)
    }
}
