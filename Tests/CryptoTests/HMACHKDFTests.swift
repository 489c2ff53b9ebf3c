// HMAC-SHA-512 and HKDF-SHA-512 tests: RFC 4231 vectors, streaming splits, the helpers
// (constantTimeEquals, secureZero), and cross-checks against swift-crypto on random inputs.
import Crypto
import Foundation
import Testing
@testable import BulkheadCore

/// A deterministic generator (SplitMix64) shared by the symmetric-crypto tests, so failures
/// reproduce from the seed.
struct SymmetricTestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) } }
    /// Uniform in 0...n.
    mutating func upTo(_ n: Int) -> Int { Int(next() % UInt64(n + 1)) }
}

/// Our one-shot HMAC-SHA-512 on byte arrays.
func ourHMAC(key: [UInt8], message: [UInt8]) -> [UInt8] {
    key.withUnsafeBytes { k in
        message.withUnsafeBytes { m in HMACSHA512.authenticate(key: k, message: m).withBytes { Array($0) } }
    }
}

/// swift-crypto's HMAC-SHA-512 (the reference).
private func referenceHMAC(key: [UInt8], message: [UInt8]) -> [UInt8] {
    Array(Crypto.HMAC<Crypto.SHA512>.authenticationCode(for: message, using: SymmetricKey(data: key)))
}

/// Our HKDF-Expand into a fresh array of `count` bytes (nil if it refused).
private func ourExpand(prk: [UInt8], info: [UInt8], count: Int) -> [UInt8]? {
    var out = [UInt8](repeating: 0xee, count: count)
    let ok = prk.withUnsafeBytes { p in
        info.withUnsafeBytes { i in out.withUnsafeMutableBytes { HKDFSHA512.expand(prk: p, info: i, into: $0) } }
    }
    return ok ? out : nil
}

private func ourExtract(salt: [UInt8], ikm: [UInt8]) -> [UInt8] {
    salt.withUnsafeBytes { s in
        ikm.withUnsafeBytes { i in HKDFSHA512.extract(salt: s, ikm: i).withBytes { Array($0) } }
    }
}

private func ourDerive(salt: [UInt8], ikm: [UInt8], info: [UInt8], count: Int) -> [UInt8]? {
    var out = [UInt8](repeating: 0xee, count: count)
    let ok = salt.withUnsafeBytes { s in
        ikm.withUnsafeBytes { k in
            info.withUnsafeBytes { i in
                out.withUnsafeMutableBytes { HKDFSHA512.deriveKey(salt: s, ikm: k, info: i, into: $0) }
            }
        }
    }
    return ok ? out : nil
}

private func keyBytes(_ key: SymmetricKey) -> [UInt8] { key.withUnsafeBytes { Array($0) } }

@Suite("HMAC-SHA512")
struct HMACSHA512Tests {
    // MARK: RFC 4231, section 4 (the HMAC-SHA-512 rows of test cases 1-7)

    @Test func rfc4231Case1() {
        #expect(ourHMAC(key: [UInt8](repeating: 0x0b, count: 20), message: Array("Hi There".utf8)) == hexBytes("""
            87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde
            daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854
            """))
    }

    @Test func rfc4231Case2KeyShorterThanLength() {
        #expect(ourHMAC(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8)) == hexBytes("""
            164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554
            9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737
            """))
    }

    @Test func rfc4231Case3() {
        #expect(ourHMAC(key: [UInt8](repeating: 0xaa, count: 20), message: [UInt8](repeating: 0xdd, count: 50)) == hexBytes("""
            fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39
            bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb
            """))
    }

    @Test func rfc4231Case4() {
        #expect(ourHMAC(key: Array(1...25), message: [UInt8](repeating: 0xcd, count: 50)) == hexBytes("""
            b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db
            a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd
            """))
    }

    @Test func rfc4231Case5TruncatedTo128Bits() {
        let tag = ourHMAC(key: [UInt8](repeating: 0x0c, count: 20), message: Array("Test With Truncation".utf8))
        #expect(Array(tag[0..<16]) == hexBytes("415fad6271580a531d4179bc891d87a6"))
    }

    @Test func rfc4231Case6KeyLongerThanBlock() {
        #expect(ourHMAC(key: [UInt8](repeating: 0xaa, count: 131),
                        message: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)) == hexBytes("""
            80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352
            6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598
            """))
    }

    @Test func rfc4231Case7LongKeyAndLongData() {
        let message = "This is a test using a larger than block-size key and a larger than block-size data. "
            + "The key needs to be hashed before being used by the HMAC algorithm."
        #expect(ourHMAC(key: [UInt8](repeating: 0xaa, count: 131), message: Array(message.utf8)) == hexBytes("""
            e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944
            b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58
            """))
    }

    // MARK: Streaming, copying, verify

    @Test func streamingSplitsAndCopiedStatesAgree() {
        var random = SymmetricTestRandom(seed: 41)
        for _ in 0..<200 {
            let key = random.bytes(random.upTo(300))
            let message = random.bytes(random.upTo(700))
            let expected = ourHMAC(key: key, message: message)
            var mac = key.withUnsafeBytes { HMACSHA512(key: $0) }
            let copy = mac                       // a keyed state, copied before any message
            var offset = 0
            while offset < message.count {
                let step = min(message.count - offset, random.upTo(150))
                message[offset..<(offset + step)].withUnsafeBytes { mac.update($0) }
                offset += step
            }
            #expect(mac.finalize().withBytes { Array($0) } == expected)
            var again = copy
            message.withUnsafeBytes { again.update($0) }
            #expect(again.finalize().withBytes { Array($0) } == expected)
        }
    }

    @Test func exactBlockSizeKeyIsUsedAsIs() {
        // 128-byte key: K0 = K (FIPS 198-1 step 1); 129 bytes: hashed (step 3).
        for length in [127, 128, 129] {
            let key = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
            #expect(ourHMAC(key: key, message: Array("abc".utf8)) == referenceHMAC(key: key, message: Array("abc".utf8)))
        }
    }

    @Test func verifyAcceptsTheTagAndRejectsAnyChange() {
        let key = Array("key".utf8), message = Array("message".utf8)
        var tag = ourHMAC(key: key, message: message)
        func verify(_ t: [UInt8]) -> Bool {
            key.withUnsafeBytes { k in message.withUnsafeBytes { m in t.withUnsafeBytes { HMACSHA512.verify(key: k, message: m, tag: $0) } } }
        }
        #expect(verify(tag))
        #expect(!verify(Array(tag[0..<63])))     // truncated tags are not accepted
        for i in [0, 31, 63] {
            tag[i] ^= 0x01
            #expect(!verify(tag))
            tag[i] ^= 0x01
        }
    }

    // MARK: Cross-check against swift-crypto

    @Test func matchesSwiftCryptoOnRandomInputs() {
        var random = SymmetricTestRandom(seed: 0x4d41_4331)
        for _ in 0..<3000 {
            let key = random.bytes(random.upTo(300))
            let message = random.bytes(random.upTo(400))
            #expect(ourHMAC(key: key, message: message) == referenceHMAC(key: key, message: message))
        }
    }
}

@Suite("HKDF-SHA512")
struct HKDFSHA512Tests {
    @Test func extractMatchesSwiftCrypto() {
        var random = SymmetricTestRandom(seed: 0x4858_5452)
        for _ in 0..<1000 {
            let salt = random.bytes(random.upTo(200)), ikm = random.bytes(random.upTo(200))
            let reference = Array(HKDF<Crypto.SHA512>.extract(inputKeyMaterial: SymmetricKey(data: ikm), salt: salt))
            #expect(ourExtract(salt: salt, ikm: ikm) == reference)
        }
    }

    @Test func emptySaltEqualsHashLengthZeros() {
        let ikm = Array("input keying material".utf8)
        #expect(ourExtract(salt: [], ikm: ikm) == ourExtract(salt: [UInt8](repeating: 0, count: 64), ikm: ikm))
    }

    @Test func deriveMatchesSwiftCryptoOnRandomInputs() {
        var random = SymmetricTestRandom(seed: 0x484b_4446)
        for round in 0..<2000 {
            let salt = random.bytes(random.upTo(200))
            let ikm = random.bytes(random.upTo(200))
            let info = random.bytes(random.upTo(200))
            // Mostly short outputs (the common case, 1...512 bytes); one in sixteen anywhere up
            // to the 255-block limit (the edge-length test below covers the limit itself).
            let count = round % 16 == 0 ? 1 + random.upTo(HKDFSHA512.maximumOutputLength - 1) : 1 + random.upTo(511)
            let reference = keyBytes(HKDF<Crypto.SHA512>.deriveKey(
                inputKeyMaterial: SymmetricKey(data: ikm), salt: salt, info: info, outputByteCount: count))
            #expect(ourDerive(salt: salt, ikm: ikm, info: info, count: count) == reference)
        }
    }

    @Test(arguments: [1, 63, 64, 65, 127, 128, 129, 1000, 255 * 64 - 1, 255 * 64])
    func expandMatchesSwiftCryptoAtEdgeLengths(count: Int) {
        var random = SymmetricTestRandom(seed: UInt64(count))
        let prk = random.bytes(64), info = random.bytes(random.upTo(200))
        let reference = keyBytes(HKDF<Crypto.SHA512>.expand(pseudoRandomKey: prk, info: info, outputByteCount: count))
        #expect(ourExpand(prk: prk, info: info, count: count) == reference)
        // A prefix of a longer output is the shorter output (T(i) does not depend on L).
        if count > 1 { #expect(ourExpand(prk: prk, info: info, count: count - 1) == Array(reference[0..<(count - 1)])) }
    }

    @Test func expandRefusesMoreThan255BlocksAndWritesNothing() {
        let prk = [UInt8](repeating: 7, count: 64)
        var out = [UInt8](repeating: 0xee, count: 255 * 64 + 1)
        let ok = prk.withUnsafeBytes { p in out.withUnsafeMutableBytes { HKDFSHA512.expand(prk: p, info: UnsafeRawBufferPointer(start: nil, count: 0), into: $0) } }
        #expect(!ok)
        #expect(out.allSatisfy { $0 == 0xee })
        #expect(ourDerive(salt: [], ikm: [1], info: [], count: 255 * 64 + 1) == nil)
    }

    @Test func zeroLengthOutputSucceeds() {
        #expect(ourExpand(prk: [1, 2, 3], info: [], count: 0) == [])
    }
}

@Suite("Crypto helpers")
struct CryptoHelperTests {
    @Test func constantTimeEqualsComparesContentsAndLengths() {
        let a: [UInt8] = Array(0..<40)
        a.withUnsafeBytes { pa in
            #expect(constantTimeEquals(pa, pa))
            #expect(constantTimeEquals(UnsafeRawBufferPointer(rebasing: pa[0..<0]), UnsafeRawBufferPointer(start: nil, count: 0)))
            #expect(!constantTimeEquals(pa, UnsafeRawBufferPointer(rebasing: pa[0..<39])))
            for i in 0..<40 {
                for bit in 0..<8 {
                    var b = a
                    b[i] ^= UInt8(1 << bit)
                    #expect(!b.withUnsafeBytes { constantTimeEquals(pa, $0) })
                }
            }
        }
    }

    @Test(arguments: [0, 1, 7, 8, 9, 63, 64, 65, 200])
    func secureZeroClearsEveryByteAndNothingElse(count: Int) {
        var bytes = [UInt8](repeating: 0xa5, count: count + 2)
        bytes.withUnsafeMutableBytes { all in
            secureZero(UnsafeMutableRawBufferPointer(rebasing: all[1..<(1 + count)]))
        }
        #expect(bytes[0] == 0xa5 && bytes[count + 1] == 0xa5)
        #expect(bytes[1..<(1 + count)].allSatisfy { $0 == 0 })
    }

    @Test func wipeClearsKeyedStates() {
        var mac = [UInt8](repeating: 9, count: 32).withUnsafeBytes { HMACSHA512(key: $0) }
        mac.wipe()
        #expect(withUnsafeBytes(of: &mac) { $0.allSatisfy { $0 == 0 } })
        var chacha = [UInt8](repeating: 9, count: 44).withUnsafeBytes {
            ChaCha20(key: UnsafeRawBufferPointer(rebasing: $0[0..<32]), nonce: UnsafeRawBufferPointer(rebasing: $0[32..<44]), counter: 5)
        }
        chacha.wipe()
        #expect(chacha.counter == 0)
        var poly = [UInt8](repeating: 9, count: 32).withUnsafeBytes { BulkheadCore.Poly1305(key: $0) }
        [UInt8](repeating: 3, count: 20).withUnsafeBytes { poly.update($0) }
        poly.wipe()
        #expect(withUnsafeBytes(of: &poly) { $0.allSatisfy { $0 == 0 } })
    }
}
