// ChaCha20, Poly1305 and AEAD_CHACHA20_POLY1305 tests: RFC 8439 vectors (2.3.2, 2.4.2, 2.5.2,
// 2.6.2, 2.8.2, A.1-A.5), streaming and in-place use, a big-integer Poly1305 oracle, and
// cross-checks of seal/open against swift-crypto's ChaChaPoly including tampering.
import Crypto
import Foundation
import Testing
@testable import BulkheadCore

// MARK: - Adapters

private func chachaBlock(key: [UInt8], nonce: [UInt8], counter: UInt32) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: 64)
    key.withUnsafeBytes { k in
        nonce.withUnsafeBytes { n in out.withUnsafeMutableBytes { ChaCha20.block(key: k, counter: counter, nonce: n, into: $0) } }
    }
    return out
}

private func chachaXor(key: [UInt8], nonce: [UInt8], counter: UInt32, _ input: [UInt8]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: input.count)
    key.withUnsafeBytes { k in
        nonce.withUnsafeBytes { n in
            input.withUnsafeBytes { i in out.withUnsafeMutableBytes { ChaCha20.xor(key: k, nonce: n, counter: counter, i, into: $0) } }
        }
    }
    return out
}

private func poly1305(key: [UInt8], message: [UInt8]) -> [UInt8] {
    key.withUnsafeBytes { k in message.withUnsafeBytes { m in BulkheadCore.Poly1305.authenticate(key: k, message: m).withBytes { Array($0) } } }
}

/// Our seal, detached form: (ciphertext, tag).
private func seal(key: [UInt8], nonce: [UInt8], aad: [UInt8], _ plaintext: [UInt8]) -> ([UInt8], [UInt8])? {
    var ciphertext = [UInt8](repeating: 0, count: plaintext.count)
    var tag = [UInt8](repeating: 0, count: 16)
    let ok = key.withUnsafeBytes { k in
        nonce.withUnsafeBytes { n in
            aad.withUnsafeBytes { a in
                plaintext.withUnsafeBytes { p in
                    ciphertext.withUnsafeMutableBytes { c in
                        tag.withUnsafeMutableBytes { t in
                            ChaCha20Poly1305.seal(key: k, nonce: n, aad: a, plaintext: p, ciphertext: c, tag: t)
                        }
                    }
                }
            }
        }
    }
    return ok ? (ciphertext, tag) : nil
}

/// Our open, detached form, into a buffer pre-filled with `fill`: (ok, output buffer).
private func open(key: [UInt8], nonce: [UInt8], aad: [UInt8], _ ciphertext: [UInt8], tag: [UInt8],
                  fill: UInt8 = 0xee) -> (Bool, [UInt8]) {
    var plaintext = [UInt8](repeating: fill, count: ciphertext.count)
    let ok = key.withUnsafeBytes { k in
        nonce.withUnsafeBytes { n in
            aad.withUnsafeBytes { a in
                ciphertext.withUnsafeBytes { c in
                    tag.withUnsafeBytes { t in
                        plaintext.withUnsafeMutableBytes { p in
                            ChaCha20Poly1305.open(key: k, nonce: n, aad: a, ciphertext: c, tag: t, plaintext: p)
                        }
                    }
                }
            }
        }
    }
    return (ok, plaintext)
}

/// Our open in place: (ok, buffer afterwards).
private func openInPlace(key: [UInt8], nonce: [UInt8], aad: [UInt8], _ ciphertext: [UInt8], tag: [UInt8]) -> (Bool, [UInt8]) {
    var buffer = ciphertext
    let ok = key.withUnsafeBytes { k in
        nonce.withUnsafeBytes { n in
            aad.withUnsafeBytes { a in
                tag.withUnsafeBytes { t in
                    buffer.withUnsafeMutableBytes { ChaCha20Poly1305.openInPlace(key: k, nonce: n, aad: a, buffer: $0, tag: t) }
                }
            }
        }
    }
    return (ok, buffer)
}

/// The RFC 8439 A.2 #2 / A.3 #2-#3 text (375 bytes).
private let ietfText = Array(("Any submission to the IETF intended by the Contributor for publication as all or part of an "
    + "IETF Internet-Draft or RFC and any statement made within the context of an IETF activity is "
    + "considered an \"IETF Contribution\". Such statements include oral statements in IETF sessions, "
    + "as well as written and electronic communications made at any time or place, which are addressed to").utf8)

/// The RFC 8439 A.2 #3 / A.3 #4 text (127 bytes).
private let jabberwocky = Array(("'Twas brillig, and the slithy toves\nDid gyre and gimble in the wabe:\n"
    + "All mimsy were the borogoves,\nAnd the mome raths outgrabe.").utf8)

/// The RFC 8439 2.4.2 / 2.8.2 plaintext (114 bytes).
private let sunscreen = Array(("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
    + "future, sunscreen would be it.").utf8)

private let key00to1f: [UInt8] = Array(0...31)
private let key80to9f: [UInt8] = Array(0x80...0x9f)
private let key1c92 = hexBytes("1c 92 40 a5 eb 55 d3 8a f3 33 88 86 04 f6 b5 f0 47 39 17 c1 40 2b 80 09 9d ca 5c bc 20 70 75 c0")
private let zeroKey = [UInt8](repeating: 0, count: 32)
private let zeroNonce = [UInt8](repeating: 0, count: 12)
private let nonce02 = hexBytes("00 00 00 00 00 00 00 00 00 00 00 02")

// MARK: - ChaCha20

@Suite("ChaCha20")
struct ChaCha20Tests {
    @Test func quarterRoundSection211() {
        var a: UInt32 = 0x1111_1111, b: UInt32 = 0x0102_0304, c: UInt32 = 0x9b8d_6f43, d: UInt32 = 0x0123_4567
        ChaCha20.quarterRound(&a, &b, &c, &d)
        #expect([a, b, c, d] == [0xea2a_92f4, 0xcb1c_f8ce, 0x4581_472e, 0x5881_c4bb])
    }

    @Test func blockFunctionSection232() {
        #expect(chachaBlock(key: key00to1f, nonce: hexBytes("00 00 00 09 00 00 00 4a 00 00 00 00"), counter: 1) == hexBytes("""
            10 f1 e7 e4 d1 3b 59 15 50 0f dd 1f a3 20 71 c4
            c7 d1 f4 c7 33 c0 68 03 04 22 aa 9a c3 d4 6c 4e
            d2 82 64 46 07 9f aa 09 14 c2 d7 05 d9 8b 02 a2
            b5 12 9c d1 de 16 4e b9 cb d0 83 e8 a2 50 3c 4e
            """))
    }

    @Test func encryptionSection242() {
        #expect(sunscreen.count == 114)
        let nonce = hexBytes("00 00 00 00 00 00 00 4a 00 00 00 00")
        #expect(chachaXor(key: key00to1f, nonce: nonce, counter: 1, sunscreen) == hexBytes("""
            6e 2e 35 9a 25 68 f9 80 41 ba 07 28 dd 0d 69 81
            e9 7e 7a ec 1d 43 60 c2 0a 27 af cc fd 9f ae 0b
            f9 1b 65 c5 52 47 33 ab 8f 59 3d ab cd 62 b3 57
            16 39 d6 24 e6 51 52 ab 8f 53 0c 35 9f 08 61 d8
            07 ca 0d bf 50 0d 6a 61 56 a3 8e 08 8a 22 b6 5e
            52 bc 51 4d 16 cc f8 06 81 8c e9 1a b7 79 37 36
            5a f9 0b bf 74 a3 5b e6 b4 0b 8e ed f2 78 5e 42
            87 4d
            """))
    }

    @Test func blockFunctionAppendixA1() {
        let key3 = [UInt8](repeating: 0, count: 31) + [1]
        let key4 = [0, 0xff] + [UInt8](repeating: 0, count: 30)
        #expect(chachaBlock(key: zeroKey, nonce: zeroNonce, counter: 0) == hexBytes("""
            76 b8 e0 ad a0 f1 3d 90 40 5d 6a e5 53 86 bd 28 bd d2 19 b8 a0 8d ed 1a a8 36 ef cc 8b 77 0d c7
            da 41 59 7c 51 57 48 8d 77 24 e0 3f b8 d8 4a 37 6a 43 b8 f4 15 18 a1 1c c3 87 b6 69 b2 ee 65 86
            """))
        #expect(chachaBlock(key: zeroKey, nonce: zeroNonce, counter: 1) == hexBytes("""
            9f 07 e7 be 55 51 38 7a 98 ba 97 7c 73 2d 08 0d cb 0f 29 a0 48 e3 65 69 12 c6 53 3e 32 ee 7a ed
            29 b7 21 76 9c e6 4e 43 d5 71 33 b0 74 d8 39 d5 31 ed 1f 28 51 0a fb 45 ac e1 0a 1f 4b 79 4d 6f
            """))
        #expect(chachaBlock(key: key3, nonce: zeroNonce, counter: 1) == hexBytes("""
            3a eb 52 24 ec f8 49 92 9b 9d 82 8d b1 ce d4 dd 83 20 25 e8 01 8b 81 60 b8 22 84 f3 c9 49 aa 5a
            8e ca 00 bb b4 a7 3b da d1 92 b5 c4 2f 73 f2 fd 4e 27 36 44 c8 b3 61 25 a6 4a dd eb 00 6c 13 a0
            """))
        #expect(chachaBlock(key: key4, nonce: zeroNonce, counter: 2) == hexBytes("""
            72 d5 4d fb f1 2e c4 4b 36 26 92 df 94 13 7f 32 8f ea 8d a7 39 90 26 5e c1 bb be a1 ae 9a f0 ca
            13 b2 5a a2 6c b4 a6 48 cb 9b 9d 1b e6 5b 2c 09 24 a6 6c 54 d5 45 ec 1b 73 74 f4 87 2e 99 f0 96
            """))
        #expect(chachaBlock(key: zeroKey, nonce: nonce02, counter: 0) == hexBytes("""
            c2 c6 4d 37 8c d5 36 37 4a e2 04 b9 ef 93 3f cd 1a 8b 22 88 b3 df a4 96 72 ab 76 5b 54 ee 27 c7
            8a 97 0e 0e 95 5c 14 f3 a8 8e 74 1b 97 c2 86 f7 5f 8f c2 99 e8 14 83 62 fa 19 8a 39 53 1b ed 6d
            """))
    }

    @Test func encryptionAppendixA2() {
        // #1: 64 zero bytes under the zero key: the A.1 #1 keystream.
        #expect(chachaXor(key: zeroKey, nonce: zeroNonce, counter: 0, [UInt8](repeating: 0, count: 64))
            == chachaBlock(key: zeroKey, nonce: zeroNonce, counter: 0))
        // #2
        #expect(ietfText.count == 375)
        let key2 = [UInt8](repeating: 0, count: 31) + [1]
        #expect(chachaXor(key: key2, nonce: nonce02, counter: 1, ietfText) == hexBytes("""
            a3 fb f0 7d f3 fa 2f de 4f 37 6c a2 3e 82 73 70 41 60 5d 9f 4f 4f 57 bd 8c ff 2c 1d 4b 79 55 ec
            2a 97 94 8b d3 72 29 15 c8 f3 d3 37 f7 d3 70 05 0e 9e 96 d6 47 b7 c3 9f 56 e0 31 ca 5e b6 25 0d
            40 42 e0 27 85 ec ec fa 4b 4b b5 e8 ea d0 44 0e 20 b6 e8 db 09 d8 81 a7 c6 13 2f 42 0e 52 79 50
            42 bd fa 77 73 d8 a9 05 14 47 b3 29 1c e1 41 1c 68 04 65 55 2a a6 c4 05 b7 76 4d 5e 87 be a8 5a
            d0 0f 84 49 ed 8f 72 d0 d6 62 ab 05 26 91 ca 66 42 4b c8 6d 2d f8 0e a4 1f 43 ab f9 37 d3 25 9d
            c4 b2 d0 df b4 8a 6c 91 39 dd d7 f7 69 66 e9 28 e6 35 55 3b a7 6c 5c 87 9d 7b 35 d4 9e b2 e6 2b
            08 71 cd ac 63 89 39 e2 5e 8a 1e 0e f9 d5 28 0f a8 ca 32 8b 35 1c 3c 76 59 89 cb cf 3d aa 8b 6c
            cc 3a af 9f 39 79 c9 2b 37 20 fc 88 dc 95 ed 84 a1 be 05 9c 64 99 b9 fd a2 36 e7 e8 18 b0 4b 0b
            c3 9c 1e 87 6b 19 3b fe 55 69 75 3f 88 12 8c c0 8a aa 9b 63 d1 a1 6f 80 ef 25 54 d7 18 9c 41 1f
            58 69 ca 52 c5 b8 3f a3 6f f2 16 b9 c1 d3 00 62 be bc fd 2d c5 bc e0 91 19 34 fd a7 9a 86 f6 e6
            98 ce d7 59 c3 ff 9b 64 77 33 8f 3d a4 f9 cd 85 14 ea 99 82 cc af b3 41 b2 38 4d d9 02 f3 d1 ab
            7a c6 1d d2 9c 6f 21 ba 5b 86 2f 37 30 e3 7c fd c4 fd 80 6c 22 f2 21
            """))
        // #3
        #expect(jabberwocky.count == 127)
        #expect(chachaXor(key: key1c92, nonce: nonce02, counter: 42, jabberwocky) == hexBytes("""
            62 e6 34 7f 95 ed 87 a4 5f fa e7 42 6f 27 a1 df 5f b6 91 10 04 4c 0d 73 11 8e ff a9 5b 01 e5 cf
            16 6d 3d f2 d7 21 ca f9 b2 1e 5f b1 4c 61 68 71 fd 84 c5 4f 9d 65 b2 83 19 6c 7f e4 f6 05 53 eb
            f3 9c 64 02 c4 22 34 e3 2a 35 6b 3e 76 43 12 a6 1a 55 32 05 57 16 ea d6 96 25 68 f8 7d 3f 3f 77
            04 c6 a8 d1 bc d1 bf 4d 50 d6 15 4b 6d a7 31 b1 87 b5 8d fd 72 8a fa 36 75 7a 79 7a c1 88 d1
            """))
    }

    @Test func streamingSplitsMisalignmentAndInPlaceAgreeWithOneShot() {
        var random = SymmetricTestRandom(seed: 0xc4a_c4a)
        for _ in 0..<300 {
            let key = random.bytes(32), nonce = random.bytes(12)
            let counter = UInt32(truncatingIfNeeded: random.next())
            let message = random.bytes(random.upTo(600))
            let expected = chachaXor(key: key, nonce: nonce, counter: counter, message)

            // Uneven chunks, each at a random misalignment, out of place.
            var cipher = key.withUnsafeBytes { k in nonce.withUnsafeBytes { ChaCha20(key: k, nonce: $0, counter: counter) } }
            var streamed = [UInt8]()
            var offset = 0
            while offset < message.count {
                let step = min(message.count - offset, random.upTo(150))
                let shiftIn = random.upTo(7), shiftOut = random.upTo(7)
                let input = [UInt8](repeating: 0, count: shiftIn) + message[offset..<(offset + step)]
                var output = [UInt8](repeating: 0, count: shiftOut + step)
                input.withUnsafeBytes { i in
                    output.withUnsafeMutableBytes { o in
                        cipher.xor(UnsafeRawBufferPointer(rebasing: i[shiftIn...]),
                                   into: UnsafeMutableRawBufferPointer(rebasing: o[shiftOut...]))
                    }
                }
                streamed += output[shiftOut...]
                offset += step
            }
            #expect(streamed == expected)

            // In place, in one call.
            var buffer = message
            var inPlace = key.withUnsafeBytes { k in nonce.withUnsafeBytes { ChaCha20(key: k, nonce: $0, counter: counter) } }
            buffer.withUnsafeMutableBytes { inPlace.xorInPlace($0) }
            #expect(buffer == expected)
            // The counter advanced by one per block started.
            #expect(inPlace.counter == counter &+ UInt32((message.count + 63) / 64))
        }
    }

    @Test func counterWrapsAfterTheLastBlock() {
        // Block 0xffffffff then block 0 (the caller's responsibility to avoid; the arithmetic wraps).
        let key = Array(0..<32).map { UInt8($0) }
        let stream = chachaXor(key: key, nonce: zeroNonce, counter: 0xffff_ffff, [UInt8](repeating: 0, count: 128))
        #expect(Array(stream[0..<64]) == chachaBlock(key: key, nonce: zeroNonce, counter: 0xffff_ffff))
        #expect(Array(stream[64..<128]) == chachaBlock(key: key, nonce: zeroNonce, counter: 0))
    }
}

// MARK: - Poly1305

/// A schoolbook big-integer Poly1305 (radix 2^32 digits, reduction by folding 2^130 ≡ 5),
/// independent of the limb arithmetic under test.
private enum Poly1305Oracle {
    typealias Big = [UInt64]   // little-endian 32-bit digits

    static func fromBytes(_ b: [UInt8]) -> Big {
        var d = Big(repeating: 0, count: (b.count + 3) / 4)
        for (i, byte) in b.enumerated() { d[i / 4] |= UInt64(byte) << (8 * UInt64(i % 4)) }
        return d
    }
    static func add(_ a: Big, _ b: Big) -> Big {
        var r = Big(repeating: 0, count: max(a.count, b.count) + 1)
        var carry: UInt64 = 0
        for i in 0..<r.count {
            let s = (i < a.count ? a[i] : 0) + (i < b.count ? b[i] : 0) + carry
            r[i] = s & 0xffff_ffff; carry = s >> 32
        }
        return r
    }
    static func mul(_ a: Big, _ b: Big) -> Big {
        var r = Big(repeating: 0, count: a.count + b.count + 1)
        for i in 0..<a.count {
            var carry: UInt64 = 0
            for j in 0..<b.count {
                let t = r[i + j] + a[i] * b[j] + carry
                r[i + j] = t & 0xffff_ffff; carry = t >> 32
            }
            var k = i + b.count
            while carry > 0 { let t = r[k] + carry; r[k] = t & 0xffff_ffff; carry = t >> 32; k += 1 }
        }
        return r
    }
    static func bits(_ a: Big, from: Int) -> Big {    // a >> from
        var r = Big(repeating: 0, count: a.count)
        for i in 0..<(a.count * 32) where i >= from {
            if (a[i / 32] >> UInt64(i % 32)) & 1 == 1 { r[(i - from) / 32] |= 1 << UInt64((i - from) % 32) }
        }
        return r
    }
    static func low130(_ a: Big) -> Big {
        var r = Big(repeating: 0, count: 5)
        for i in 0..<min(5, a.count) { r[i] = a[i] }
        r[4] &= 3
        return r
    }
    static func isZero(_ a: Big) -> Bool { a.allSatisfy { $0 == 0 } }
    static func modP(_ x: Big) -> Big {
        var x = x
        while !isZero(bits(x, from: 130)) { x = add(low130(x), mul(bits(x, from: 130), [5])) }
        // x < 2^130: subtract p once if x >= p, i.e. if x + 5 >= 2^130.
        let plus5 = add(x, [5])
        if !isZero(bits(plus5, from: 130)) { x = low130(plus5) }
        return x
    }
    static func tag(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var rBytes = Array(key[0..<16])
        for i in [3, 7, 11, 15] { rBytes[i] &= 15 }
        for i in [4, 8, 12] { rBytes[i] &= 252 }
        let r = fromBytes(rBytes), s = fromBytes(Array(key[16..<32]))
        var acc: Big = [0]
        var offset = 0
        while offset < message.count {
            let end = min(offset + 16, message.count)
            let n = fromBytes(Array(message[offset..<end]) + [1])
            acc = modP(mul(add(acc, n), r))
            offset = end
        }
        let total = add(acc, s)
        return (0..<16).map { UInt8(truncatingIfNeeded: total[$0 / 4] >> (8 * UInt64($0 % 4))) }
    }
}

@Suite("Poly1305")
struct Poly1305Tests {
    @Test func section252() {
        let key = hexBytes("85 d6 be 78 57 55 6d 33 7f 44 52 fe 42 d5 06 a8 01 03 80 8a fb 0d b2 fd 4a bf f6 af 41 49 f5 1b")
        #expect(poly1305(key: key, message: Array("Cryptographic Forum Research Group".utf8))
            == hexBytes("a8 06 1d c1 30 51 36 c6 c2 2b 8b af 0c 01 27 a9"))
    }

    @Test func appendixA3Vectors1to4() {
        #expect(poly1305(key: zeroKey, message: [UInt8](repeating: 0, count: 64)) == [UInt8](repeating: 0, count: 16))
        let s2 = hexBytes("36 e5 f6 b5 c5 e0 60 70 f0 ef ca 96 22 7a 86 3e")
        #expect(poly1305(key: [UInt8](repeating: 0, count: 16) + s2, message: ietfText) == s2)
        #expect(poly1305(key: s2 + [UInt8](repeating: 0, count: 16), message: ietfText)
            == hexBytes("f3 47 7e 7c d9 54 17 af 89 a6 b8 79 4c 31 0c f0"))
        #expect(poly1305(key: key1c92, message: jabberwocky) == hexBytes("45 41 66 9a 7e aa ee 61 e7 08 dc 7c bc c5 eb 62"))
    }

    /// A.3 #5-#11: the reduction edge cases (R, S, data, tag).
    @Test func appendixA3EdgeCases() {
        let cases: [(String, String, String, String)] = [
            ("02" + zeros(15), zeros(16), "FF" * 16, "03" + zeros(15)),
            ("02" + zeros(15), "FF" * 16, "02" + zeros(15), "03" + zeros(15)),
            ("01" + zeros(15), zeros(16), "FF" * 16 + "F0" + "FF" * 15 + "11" + zeros(15), "05" + zeros(15)),
            ("01" + zeros(15), zeros(16), "FF" * 16 + "FB" + "FE" * 15 + "01" * 16, zeros(16)),
            ("02" + zeros(15), zeros(16), "FD" + "FF" * 15, "FA" + "FF" * 15),
            ("01" + zeros(7) + "04" + zeros(7), zeros(16),
             "E3 35 94 D7 50 5E 43 B9" + zeros(8) + "33 94 D7 50 5E 43 79 CD 01" + zeros(7) + zeros(16) + "01" + zeros(15),
             "14" + zeros(7) + "55" + zeros(7)),
            ("01" + zeros(7) + "04" + zeros(7), zeros(16),
             "E3 35 94 D7 50 5E 43 B9" + zeros(8) + "33 94 D7 50 5E 43 79 CD 01" + zeros(7) + zeros(16),
             "13" + zeros(15)),
        ]
        for (index, (r, s, data, tag)) in cases.enumerated() {
            let key = hexBytes(r) + hexBytes(s)
            #expect(poly1305(key: key, message: hexBytes(data)) == hexBytes(tag), "A.3 #\(index + 5)")
            #expect(Poly1305Oracle.tag(key: key, message: hexBytes(data)) == hexBytes(tag), "oracle, A.3 #\(index + 5)")
        }
    }

    @Test func keyGenerationSection262AndAppendixA4() {
        #expect(Array(chachaBlock(key: key80to9f, nonce: hexBytes("00 00 00 00 00 01 02 03 04 05 06 07"), counter: 0)[0..<32])
            == hexBytes("8a d5 a0 8b 90 5f 81 cc 81 50 40 27 4a b2 94 71 a8 33 b6 37 e3 fd 0d a5 08 db b8 e2 fd d1 a6 46"))
        #expect(Array(chachaBlock(key: zeroKey, nonce: zeroNonce, counter: 0)[0..<32])
            == hexBytes("76 b8 e0 ad a0 f1 3d 90 40 5d 6a e5 53 86 bd 28 bd d2 19 b8 a0 8d ed 1a a8 36 ef cc 8b 77 0d c7"))
        #expect(Array(chachaBlock(key: [UInt8](repeating: 0, count: 31) + [1], nonce: nonce02, counter: 0)[0..<32])
            == hexBytes("ec fa 25 4f 84 5f 64 74 73 d3 cb 14 0d a9 e8 76 06 cb 33 06 6c 44 7b 87 bc 26 66 dd e3 fb b7 39"))
        #expect(Array(chachaBlock(key: key1c92, nonce: nonce02, counter: 0)[0..<32])
            == hexBytes("96 5e 3b c6 f9 ec 7e d9 56 08 08 f4 d2 29 f9 4b 13 7f f2 75 ca 9b 3f cb dd 59 de aa d2 33 10 ae"))
    }

    @Test func matchesTheBigIntegerOracle() {
        var random = SymmetricTestRandom(seed: 0x9017_1305)
        for round in 0..<1500 {
            var key = random.bytes(32)
            var message = random.bytes(random.upTo(300))
            switch round % 4 {
            case 1: message = message.map { _ in 0xff }                       // largest blocks
            case 2: for i in 0..<16 { key[i] = 0xff }                         // largest clamped r
            case 3: for i in 0..<32 { key[i] = 0xff }; message = message.map { _ in 0xff }
            default: break
            }
            #expect(poly1305(key: key, message: message) == Poly1305Oracle.tag(key: key, message: message))
        }
    }

    @Test func streamingSplitsAgree() {
        var random = SymmetricTestRandom(seed: 77)
        for _ in 0..<300 {
            let key = random.bytes(32), message = random.bytes(random.upTo(500))
            var mac = key.withUnsafeBytes { BulkheadCore.Poly1305(key: $0) }
            var offset = 0
            while offset < message.count {
                let step = min(message.count - offset, random.upTo(40))
                message[offset..<(offset + step)].withUnsafeBytes { mac.update($0) }
                offset += step
            }
            #expect(mac.finalize().withBytes { Array($0) } == poly1305(key: key, message: message))
        }
    }
}

private func zeros(_ n: Int) -> String { String(repeating: "00", count: n) }
private func * (s: String, n: Int) -> String { String(repeating: s, count: n) }

// MARK: - AEAD

@Suite("ChaCha20-Poly1305")
struct ChaCha20Poly1305Tests {
    @Test func section282() {
        let nonce = hexBytes("07 00 00 00") + hexBytes("40 41 42 43 44 45 46 47")
        let aad = hexBytes("50 51 52 53 c0 c1 c2 c3 c4 c5 c6 c7")
        let expectedCiphertext = hexBytes("""
            d3 1a 8d 34 64 8e 60 db 7b 86 af bc 53 ef 7e c2 a4 ad ed 51 29 6e 08 fe a9 e2 b5 a7 36 ee 62 d6
            3d be a4 5e 8c a9 67 12 82 fa fb 69 da 92 72 8b 1a 71 de 0a 9e 06 0b 29 05 d6 a5 b6 7e cd 3b 36
            92 dd bd 7f 2d 77 8b 8c 98 03 ae e3 28 09 1b 58 fa b3 24 e4 fa d6 75 94 55 85 80 8b 48 31 d7 bc
            3f f4 de f0 8e 4b 7a 9d e5 76 d2 65 86 ce c6 4b 61 16
            """)
        let expectedTag = hexBytes("1a e1 0b 59 4f 09 e2 6a 7e 90 2e cb d0 60 06 91")
        let sealed = seal(key: key80to9f, nonce: nonce, aad: aad, sunscreen)
        #expect(sealed?.0 == expectedCiphertext)
        #expect(sealed?.1 == expectedTag)
        let (ok, plaintext) = open(key: key80to9f, nonce: nonce, aad: aad, expectedCiphertext, tag: expectedTag)
        #expect(ok && plaintext == sunscreen)
    }

    @Test func decryptionAppendixA5() {
        let ciphertext = hexBytes("""
            64 a0 86 15 75 86 1a f4 60 f0 62 c7 9b e6 43 bd 5e 80 5c fd 34 5c f3 89 f1 08 67 0a c7 6c 8c b2
            4c 6c fc 18 75 5d 43 ee a0 9e e9 4e 38 2d 26 b0 bd b7 b7 3c 32 1b 01 00 d4 f0 3b 7f 35 58 94 cf
            33 2f 83 0e 71 0b 97 ce 98 c8 a8 4a bd 0b 94 81 14 ad 17 6e 00 8d 33 bd 60 f9 82 b1 ff 37 c8 55
            97 97 a0 6e f4 f0 ef 61 c1 86 32 4e 2b 35 06 38 36 06 90 7b 6a 7c 02 b0 f9 f6 15 7b 53 c8 67 e4
            b9 16 6c 76 7b 80 4d 46 a5 9b 52 16 cd e7 a4 e9 90 40 c5 a4 04 33 22 5e e2 82 a1 b0 a0 6c 52 3e
            af 45 34 d7 f8 3f a1 15 5b 00 47 71 8c bc 54 6a 0d 07 2b 04 b3 56 4e ea 1b 42 22 73 f5 48 27 1a
            0b b2 31 60 53 fa 76 99 19 55 eb d6 31 59 43 4e ce bb 4e 46 6d ae 5a 10 73 a6 72 76 27 09 7a 10
            49 e6 17 d9 1d 36 10 94 fa 68 f0 ff 77 98 71 30 30 5b ea ba 2e da 04 df 99 7b 71 4d 6c 6f 2c 29
            a6 ad 5c b4 02 2b 02 70 9b
            """)
        let nonce = hexBytes("00 00 00 00 01 02 03 04 05 06 07 08")
        let aad = hexBytes("f3 33 88 86 00 00 00 00 00 00 4e 91")
        let tag = hexBytes("ee ad 9d 67 89 0c bb 22 39 23 36 fe a1 85 1f 38")
        let expected = Array(("Internet-Drafts are draft documents valid for a maximum of six months and may be "
            + "updated, replaced, or obsoleted by other documents at any time. It is inappropriate to use "
            + "Internet-Drafts as reference material or to cite them other than as /\u{201C}work in progress./\u{201D}").utf8)
        #expect(ciphertext.count == 265 && expected.count == 265)
        let (ok, plaintext) = open(key: key1c92, nonce: nonce, aad: aad, ciphertext, tag: tag)
        #expect(ok && plaintext == expected)
        let (okInPlace, buffer) = openInPlace(key: key1c92, nonce: nonce, aad: aad, ciphertext, tag: tag)
        #expect(okInPlace && buffer == expected)
        // The Poly1305 key of A.5.
        #expect(Array(chachaBlock(key: key1c92, nonce: nonce, counter: 0)[0..<32]) == hexBytes(
            "bd f0 4a a9 5c e4 de 89 95 b1 4b b6 a1 8f ec af 26 47 8f 50 c0 54 f5 63 db c0 a2 1e 26 15 72 aa"))
    }

    @Test func combinedAndInPlaceFormsAgreeWithDetached() {
        var random = SymmetricTestRandom(seed: 0xae4d)
        for _ in 0..<300 {
            let key = random.bytes(32), nonce = random.bytes(12)
            let aad = random.bytes(random.upTo(100)), message = random.bytes(random.upTo(300))
            guard let sealed = seal(key: key, nonce: nonce, aad: aad, message) else {
                Issue.record("seal failed"); continue
            }
            let (ciphertext, tag) = sealed
            // Combined, in place: message then 16 bytes of room in one buffer.
            var buffer = message + [UInt8](repeating: 0, count: 16)
            let sealedOK = key.withUnsafeBytes { k in
                nonce.withUnsafeBytes { n in
                    aad.withUnsafeBytes { a in
                        buffer.withUnsafeMutableBytes { b in
                            ChaCha20Poly1305.seal(key: k, nonce: n, aad: a,
                                                  plaintext: UnsafeRawBufferPointer(rebasing: b[0..<message.count]), into: b)
                        }
                    }
                }
            }
            #expect(sealedOK && buffer == ciphertext + tag)
            let openedOK = key.withUnsafeBytes { k in
                nonce.withUnsafeBytes { n in
                    aad.withUnsafeBytes { a in
                        buffer.withUnsafeMutableBytes { b in
                            ChaCha20Poly1305.open(key: k, nonce: n, aad: a, sealed: UnsafeRawBufferPointer(b),
                                                  into: UnsafeMutableRawBufferPointer(rebasing: b[0..<message.count]))
                        }
                    }
                }
            }
            #expect(openedOK && Array(buffer[0..<message.count]) == message)
            // Detached, in place.
            var inPlace = message
            var inPlaceTag = [UInt8](repeating: 0, count: 16)
            let inPlaceOK = key.withUnsafeBytes { k in
                nonce.withUnsafeBytes { n in
                    aad.withUnsafeBytes { a in
                        inPlace.withUnsafeMutableBytes { b in
                            inPlaceTag.withUnsafeMutableBytes { ChaCha20Poly1305.sealInPlace(key: k, nonce: n, aad: a, buffer: b, tag: $0) }
                        }
                    }
                }
            }
            #expect(inPlaceOK && inPlace == ciphertext && inPlaceTag == tag)
        }
    }

    @Test func rejectsBadSizesAndPartialOverlapWritingNothing() {
        let key = [UInt8](repeating: 1, count: 32), nonce = [UInt8](repeating: 2, count: 12)
        #expect(seal(key: Array(key[0..<31]), nonce: nonce, aad: [], [1, 2, 3]) == nil)
        #expect(seal(key: key, nonce: Array(nonce[0..<11]), aad: [], [1, 2, 3]) == nil)
        let (ciphertext, tag) = seal(key: key, nonce: nonce, aad: [], Array(0..<40))!
        #expect(!open(key: key, nonce: nonce, aad: [], ciphertext, tag: Array(tag[0..<15])).0)
        // Output overlapping the input by a partial shift.
        var buffer = [UInt8](repeating: 0, count: 60)
        let before = buffer
        let ok = key.withUnsafeBytes { k in
            nonce.withUnsafeBytes { n in
                buffer.withUnsafeMutableBytes { b in
                    var t = [UInt8](repeating: 0, count: 16)
                    return t.withUnsafeMutableBytes {
                        ChaCha20Poly1305.seal(key: k, nonce: n, aad: UnsafeRawBufferPointer(start: nil, count: 0),
                                              plaintext: UnsafeRawBufferPointer(rebasing: b[0..<40]),
                                              ciphertext: UnsafeMutableRawBufferPointer(rebasing: b[8..<48]), tag: $0)
                    }
                }
            }
        }
        #expect(!ok && buffer == before)
        // A sealed buffer shorter than a tag.
        var out = [UInt8]()
        let short = [UInt8](repeating: 0, count: 15)
        let shortOK = key.withUnsafeBytes { k in
            nonce.withUnsafeBytes { n in
                short.withUnsafeBytes { s in
                    out.withUnsafeMutableBytes { ChaCha20Poly1305.open(key: k, nonce: n, aad: UnsafeRawBufferPointer(start: nil, count: 0), sealed: s, into: $0) }
                }
            }
        }
        #expect(!shortOK)
    }

    /// Cross-check with swift-crypto: random keys, nonces, AAD and messages of 0…300 bytes;
    /// both directions; tampered ciphertext, tag and AAD must fail and leave the output alone.
    @Test func matchesSwiftCryptoIncludingTampering() throws {
        var random = SymmetricTestRandom(seed: 0x4145_4144)
        for _ in 0..<3000 {
            let key = random.bytes(32), nonce = random.bytes(12)
            let aad = random.bytes(random.upTo(300)), message = random.bytes(random.upTo(300))
            let reference = try ChaChaPoly.seal(message, using: SymmetricKey(data: key),
                                                nonce: ChaChaPoly.Nonce(data: nonce), authenticating: aad)
            let referenceCiphertext = Array(reference.ciphertext), referenceTag = Array(reference.tag)

            // Seal agrees.
            let ours = try #require(seal(key: key, nonce: nonce, aad: aad, message))
            #expect(ours.0 == referenceCiphertext && ours.1 == referenceTag)

            // Our open accepts swift-crypto's output; swift-crypto opens ours.
            let (ok, plaintext) = open(key: key, nonce: nonce, aad: aad, referenceCiphertext, tag: referenceTag)
            #expect(ok && plaintext == message)
            let box = try ChaChaPoly.SealedBox(nonce: ChaChaPoly.Nonce(data: nonce), ciphertext: ours.0, tag: ours.1)
            #expect(try Array(ChaChaPoly.open(box, using: SymmetricKey(data: key), authenticating: aad)) == message)

            // Tampering: one flipped bit in the ciphertext, the tag or the AAD.
            func rejected(_ ciphertext: [UInt8], _ tag: [UInt8], _ aad: [UInt8]) -> Bool {
                let (ok, output) = open(key: key, nonce: nonce, aad: aad, ciphertext, tag: tag, fill: 0xa5)
                let (okInPlace, buffer) = openInPlace(key: key, nonce: nonce, aad: aad, ciphertext, tag: tag)
                let referenceRejects = (try? ChaChaPoly.open(
                    ChaChaPoly.SealedBox(nonce: ChaChaPoly.Nonce(data: nonce), ciphertext: ciphertext, tag: tag),
                    using: SymmetricKey(data: key), authenticating: aad)) == nil
                return !ok && output.allSatisfy { $0 == 0xa5 } && !okInPlace && buffer == ciphertext && referenceRejects
            }
            if !message.isEmpty {
                var c = referenceCiphertext
                c[random.upTo(c.count - 1)] ^= UInt8(1 << random.upTo(7))
                #expect(rejected(c, referenceTag, aad))
            }
            var t = referenceTag
            t[random.upTo(15)] ^= UInt8(1 << random.upTo(7))
            #expect(rejected(referenceCiphertext, t, aad))
            if !aad.isEmpty {
                var a = aad
                a[random.upTo(a.count - 1)] ^= UInt8(1 << random.upTo(7))
                #expect(rejected(referenceCiphertext, referenceTag, a))
            } else {
                #expect(rejected(referenceCiphertext, referenceTag, [0]))
            }
            // A wrong nonce also fails.
            var otherNonce = nonce
            otherNonce[random.upTo(11)] ^= 0x80
            #expect(!open(key: key, nonce: otherNonce, aad: aad, referenceCiphertext, tag: referenceTag).0)
        }
    }
}
