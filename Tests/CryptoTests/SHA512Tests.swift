// SHA-512 tests: FIPS 180-4 / NIST example vectors, padding edges, streaming, swift-crypto cross-checks.
import Crypto
import Testing
@testable import BulkheadCore

/// Our digest as a plain byte array.
private func digestBytes(_ digest: BulkheadCore.SHA512Digest) -> [UInt8] {
    digest.withBytes { Array($0) }
}

/// Our one-shot SHA-512 of `message`.
private func ourHash(_ message: [UInt8]) -> [UInt8] {
    message.withUnsafeBytes { digestBytes(BulkheadCore.SHA512.hash($0)) }
}

/// swift-crypto's SHA-512 of `message` (the reference).
private func referenceHash(_ message: [UInt8]) -> [UInt8] {
    Array(Crypto.SHA512.hash(data: message))
}

/// A deterministic byte pattern (xorshift64*), so failures reproduce.
private func pseudoRandomBytes(count: Int, seed: UInt64) -> [UInt8] {
    var x = seed | 1
    var out = [UInt8]()
    out.reserveCapacity(count)
    for _ in 0..<count {
        x ^= x >> 12; x ^= x << 25; x ^= x >> 27
        out.append(UInt8(truncatingIfNeeded: (x &* 0x2545F4914F6CDD1D) >> 56))
    }
    return out
}

@Suite("SHA512")
struct SHA512Tests {
    // MARK: FIPS 180-4 / NIST example vectors (SHA-512 examples of the CSRC "Examples with
    // Intermediate Values" and the classic one-million-'a' test)

    @Test func abcOneBlock() {
        #expect(ourHash(Array("abc".utf8)) == hexBytes("""
            ddaf35a193617aba cc417349ae204131 12e6fa4e89a97ea2 0a9eeee64b55d39a
            2192992a274fc1a8 36ba3c23a3feebbd 454d4423643ce80e 2a9ac94fa54ca49f
            """))
    }

    @Test func twoBlockMessage896Bits() {
        let message = Array(("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
            + "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu").utf8)
        #expect(message.count * 8 == 896)
        #expect(ourHash(message) == hexBytes("""
            8e959b75dae313da 8cf4f72814fc143f 8f7779c6eb9f7fa1 7299aeadb6889018
            501d289e4900f7e4 331b99dec4b5433a c7d329eeb6dd2654 5e96e55b874be909
            """))
    }

    @Test func emptyMessage() {
        let expected = hexBytes("""
            cf83e1357eefb8bd f1542850d66d8007 d620e4050b5715dc 83f4a921d36ce9ce
            47d0d13c5d85f2b0 ff8318d2877eec2f 63b931bd47417a81 a538327af927da3e
            """)
        #expect(ourHash([]) == expected)
        // A nil-based empty buffer and a fresh hasher with no updates agree.
        #expect(digestBytes(BulkheadCore.SHA512.hash(UnsafeRawBufferPointer(start: nil, count: 0))) == expected)
        var hasher = BulkheadCore.SHA512()
        #expect(digestBytes(hasher.finalize()) == expected)
    }

    @Test func oneMillionA() {
        let expected = hexBytes("""
            e718483d0ce76964 4e2e42c7bc15b463 8e1f98b13b204428 5632a803afa973eb
            de0ff244877ea60a 4cb0432ce577c31b eb009c5c2c49aa2e 4eadb217ad8cc09b
            """)
        let message = [UInt8](repeating: 0x61, count: 1_000_000)
        #expect(ourHash(message) == expected)
        // The same million bytes fed in uneven chunks (exercises the buffered path).
        var hasher = BulkheadCore.SHA512()
        message.withUnsafeBytes { all in
            var offset = 0
            var step = 1
            while offset < all.count {
                let end = min(offset + step, all.count)
                hasher.update(UnsafeRawBufferPointer(rebasing: all[offset..<end]))
                offset = end
                step = step % 997 + 13
            }
        }
        #expect(digestBytes(hasher.finalize()) == expected)
    }

    // MARK: Padding (FIPS 180-4, 5.1.2): the length field needs 16 bytes after the 0x80 byte

    @Test(arguments: [111, 112, 127, 128, 239, 240])
    func paddingEdges(length: Int) {
        // 111 and 239 leave exactly room for 0x80 + length; 112, 127, 128 and 240 force an
        // extra all-padding block (or a fresh block after a full one).
        let message = pseudoRandomBytes(count: length, seed: UInt64(length))
        #expect(ourHash(message) == referenceHash(message))
        let zeros = [UInt8](repeating: 0, count: length)
        #expect(ourHash(zeros) == referenceHash(zeros))
    }

    // MARK: Streaming

    @Test func splitAtEveryOffsetMatchesOneShot() {
        let message = pseudoRandomBytes(count: 300, seed: 300)
        let oneShot = ourHash(message)
        #expect(oneShot == referenceHash(message))
        message.withUnsafeBytes { all in
            for split in 0...all.count {
                var hasher = BulkheadCore.SHA512()
                hasher.update(UnsafeRawBufferPointer(rebasing: all[0..<split]))
                hasher.update(UnsafeRawBufferPointer(rebasing: all[split...]))
                #expect(digestBytes(hasher.finalize()) == oneShot, "split at \(split)")
            }
        }
    }

    @Test func threeWaySplitsMatchOneShot() {
        let message = pseudoRandomBytes(count: 300, seed: 3)
        let oneShot = ourHash(message)
        message.withUnsafeBytes { all in
            for first in stride(from: 0, through: 300, by: 7) {
                for second in stride(from: first, through: 300, by: 11) {
                    var hasher = BulkheadCore.SHA512()
                    hasher.update(UnsafeRawBufferPointer(rebasing: all[0..<first]))
                    hasher.update(UnsafeRawBufferPointer(rebasing: all[first..<second]))
                    hasher.update(UnsafeRawBufferPointer(rebasing: all[second...]))
                    #expect(digestBytes(hasher.finalize()) == oneShot, "splits at \(first), \(second)")
                }
            }
        }
    }

    @Test func byteAtATimeMatchesOneShot() {
        let message = pseudoRandomBytes(count: 1000, seed: 1000)
        var hasher = BulkheadCore.SHA512()
        message.withUnsafeBytes { all in
            for i in 0..<all.count { hasher.update(UnsafeRawBufferPointer(rebasing: all[i..<(i + 1)])) }
        }
        #expect(digestBytes(hasher.finalize()) == referenceHash(message))
    }

    @Test func unalignedInputMatches() {
        // Whole blocks are read straight from the caller's memory: start them off alignment.
        let backing = pseudoRandomBytes(count: 1024 + 8, seed: 77)
        backing.withUnsafeBytes { all in
            for shift in 0..<8 {
                let slice = Array(all[shift..<(shift + 1024)])
                #expect(digestBytes(BulkheadCore.SHA512.hash(UnsafeRawBufferPointer(rebasing: all[shift..<(shift + 1024)])))
                    == referenceHash(slice), "shift \(shift)")
            }
        }
    }

    // MARK: Cross-checks against swift-crypto

    @Test func everyLengthUpTo300MatchesSwiftCrypto() {
        let source = pseudoRandomBytes(count: 300, seed: 42)
        for length in 0...300 {
            let message = Array(source[0..<length])
            #expect(ourHash(message) == referenceHash(message), "length \(length)")
        }
    }

    @Test(arguments: [(1 << 20) + 17, 3 << 20, (5 << 20) - 1])
    func largeInputsMatchSwiftCrypto(length: Int) {
        let message = pseudoRandomBytes(count: length, seed: UInt64(length))
        #expect(ourHash(message) == referenceHash(message))
    }

    // MARK: Digest value

    @Test func digestEqualityComparesEveryByte() {
        let a = BulkheadCore.SHA512.hash(UnsafeRawBufferPointer(start: nil, count: 0))
        #expect(a == a)
        for i in [0, 1, 31, 62, 63] {
            var b = a
            b.bytes[i] ^= 0x01
            #expect(a != b, "byte \(i)")
        }
    }

    @Test func finalizeWipesTheBuffer() {
        var hasher = BulkheadCore.SHA512()
        let secret = [UInt8](repeating: 0xA5, count: 100)
        secret.withUnsafeBytes { hasher.update($0) }
        _ = hasher.finalize()
        let leftover = withUnsafeBytes(of: hasher.buffer) { raw in raw.contains { $0 != 0 } }
        #expect(!leftover)
    }
}

/// Counts the blocks the installed platform function was handed (it compresses with the portable code).
nonisolated(unsafe) private var platformBlocks = 0

@Suite("SHA512: a platform compression function", .serialized)
struct SHA512PlatformTests {
    @Test func anInstalledFunctionGetsEveryBlockAndTheRoundConstants() {
        SHA512.compressFunction = { state, blocks, count, k in
            // The constants passed are FIPS 180-4's K0 and K79.
            guard k[0] == 0x428a2f98d728ae22, k[79] == 0x6c44198c4a475817 else { return }
            platformBlocks += count
            var words = InlineArray<8, UInt64>(repeating: 0)
            for i in 0..<8 { words[i] = state[i] }
            SHA512.compress(&words, blocks, blockCount: count)
            for i in 0..<8 { state[i] = words[i] }
        }
        defer { SHA512.compressFunction = nil }
        platformBlocks = 0
        let message = [UInt8](repeating: 0x61, count: 1000)          // 7 full blocks and a tail
        let digest = message.withUnsafeBytes { SHA512.hash($0) }
        let expected = Array(Crypto.SHA512.hash(data: message))
        #expect(digest.withBytes { Array($0) } == expected)
        // 7 whole blocks, then the padded last one (other tests hashing meanwhile may add theirs).
        #expect(platformBlocks >= 8)
    }
}
