// Ed25519 verification: RFC 8032 §7.1 vectors, single-bit tampering, and the strictness choices.
import Crypto
import Foundation
import Testing
@testable import BulkheadCore

struct RFC8032Vector: Sendable, CustomStringConvertible {
    let name: String
    let secretKey: String
    let publicKey: String
    let message: String
    let signature: String
    var description: String { name }
}

/// RFC 8032 §7.1, "Test Vectors for Ed25519": TEST 1, 2, 3, 1024 and SHA(abc).
let rfc8032Vectors: [RFC8032Vector] = [
    RFC8032Vector(
        name: "TEST 1",
        secretKey: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        publicKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        message: "",
        signature: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
    RFC8032Vector(
        name: "TEST 2",
        secretKey: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        publicKey: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        message: "72",
        signature: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
    RFC8032Vector(
        name: "TEST 3",
        secretKey: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        publicKey: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        message: "af82",
        signature: "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
    RFC8032Vector(
        name: "TEST 1024",
        secretKey: "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
        publicKey: "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
        message: """
            08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f54e9f77b1
            e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d
            658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc1a858efcb8550ee3a5e1998bd177e93a
            7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e
            06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97b928a8bbc10
            3b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1
            85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2d17ba70eb6248e594e1a2297acbbb39d
            502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270
            88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089b
            eccf80cfe2df16a2cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba
            b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51addd3b75a2b1ae0784504df543af8969b
            e3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7
            51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58c30c04aafdb038dda0847dd988d
            cda6f3bfd15c4b4c4525004aa06eeff8ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df
            f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08d78ff4ef5d63653a65040cf9bfd4aca7
            984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4
            88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac09
            43bf6686b64b2579376504ccc493d97e6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f
            b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f161
            0e4eafe595f6d9d90d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d
            b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8ca
            c60c905c15fc910840b94c00a0b9d0
            """,
        signature: "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03"),
    RFC8032Vector(
        name: "TEST SHA(abc)",
        secretKey: "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
        publicKey: "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
        message: "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        signature: "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"),
]

/// S + L as 32 little-endian bytes (S < L < 2^253, so the sum fits).
func addOrder(toScalar s: [UInt8]) -> [UInt8] {
    (Ed25519BigNumber(littleEndian: s) + Ed25519BigNumber.order).littleEndian(count: 32)
}

@Suite("Ed25519 RFC 8032 vectors")
struct Ed25519VectorTests {
    @Test("each §7.1 vector verifies, and swift-crypto derives the same key and signature", arguments: rfc8032Vectors)
    func vectorVerifies(_ v: RFC8032Vector) throws {
        let key = hexBytes(v.publicKey)
        let message = hexBytes(v.message)
        let signature = hexBytes(v.signature)
        #expect(ed25519Verify(signature: signature, message: message, key: key))

        // The transcription is right: swift-crypto derives the same public key from the secret
        // key, accepts the signature, and (deterministic on this platform) signs identically.
        let secret = try Curve25519.Signing.PrivateKey(rawRepresentation: hexBytes(v.secretKey))
        #expect(Array(secret.publicKey.rawRepresentation) == key)
        #expect(secret.publicKey.isValidSignature(signature, for: message))
        #expect(Array(try secret.signature(for: message)) == signature)
    }

    @Test("a single flipped bit in message, R, S or key fails", arguments: rfc8032Vectors)
    func flippedBitsFail(_ v: RFC8032Vector) {
        let key = hexBytes(v.publicKey)
        let message = hexBytes(v.message)
        let signature = hexBytes(v.signature)
        // A spread of bit positions in each part (every bit of R, S and the key would be
        // 512 more verifications per vector; these cover low, high and sign bits).
        let positions = [0, 1, 7, 8, 63, 64, 100, 127, 128, 200, 247, 248, 252, 253, 254, 255]
        if !message.isEmpty {
            for bit in [0, 7, message.count * 8 / 2 + 3, message.count * 8 - 1] {
                var m = message
                m[bit / 8] ^= 1 << UInt8(bit % 8)
                #expect(!ed25519Verify(signature: signature, message: m, key: key), "message bit \(bit)")
            }
        }
        for bit in positions {
            var r = signature
            r[bit / 8] ^= 1 << UInt8(bit % 8)
            #expect(!ed25519Verify(signature: r, message: message, key: key), "R bit \(bit)")
            var s = signature
            s[32 + bit / 8] ^= 1 << UInt8(bit % 8)
            #expect(!ed25519Verify(signature: s, message: message, key: key), "S bit \(bit)")
            var k = key
            k[bit / 8] ^= 1 << UInt8(bit % 8)
            #expect(!ed25519Verify(signature: signature, message: message, key: k), "key bit \(bit)")
        }
        // An extra message byte, a dropped one, and an empty message.
        #expect(!ed25519Verify(signature: signature, message: message + [0], key: key))
        if !message.isEmpty {
            #expect(!ed25519Verify(signature: signature, message: Array(message.dropLast()), key: key))
            #expect(!ed25519Verify(signature: signature, message: [], key: key))
        }
    }

    @Test("S + L is refused (RFC 8032 §5.1.7 step 1), though it satisfies the group equation", arguments: rfc8032Vectors)
    func nonCanonicalScalarRefused(_ v: RFC8032Vector) {
        let signature = hexBytes(v.signature)
        let sPlusL = addOrder(toScalar: Array(signature[32...]))
        #expect(sPlusL[31] < 0x20)  // < 2^253: a 32-byte field, only the range check catches it
        let tampered = Array(signature[..<32]) + sPlusL
        #expect(!ed25519Verify(signature: tampered, message: hexBytes(v.message), key: hexBytes(v.publicKey)))
    }

    @Test("signatures of the wrong length are refused")
    func wrongLengths() {
        let v = rfc8032Vectors[1]
        let key = hexBytes(v.publicKey)
        let message = hexBytes(v.message)
        let signature = hexBytes(v.signature)
        #expect(!ed25519Verify(signature: [], message: message, key: key))
        #expect(!ed25519Verify(signature: Array(signature.dropLast()), message: message, key: key))
        #expect(!ed25519Verify(signature: signature + [0], message: message, key: key))
        #expect(ed25519Key(Array(key.dropLast())) == nil)
        #expect(ed25519Key(key + [0]) == nil)
        #expect(ed25519Key([]) == nil)
        // A nil-based empty buffer for message and signature.
        if let publicKey = ed25519Key(key) {
            #expect(!Ed25519.verify(
                signature: UnsafeRawBufferPointer(start: nil, count: 0),
                message: UnsafeRawBufferPointer(start: nil, count: 0), publicKey: publicKey))
        }
    }

    @Test("S = 0xff..ff and other S ≥ L are refused")
    func largeScalarsRefused() {
        let v = rfc8032Vectors[0]
        let r = Array(hexBytes(v.signature)[..<32])
        let l = Ed25519BigNumber.order.littleEndian(count: 32)
        for s in [l, [UInt8](repeating: 0xff, count: 32), (Ed25519BigNumber.order + Ed25519BigNumber(1)).littleEndian(count: 32)] {
            #expect(!ed25519Verify(signature: r + s, message: [], key: hexBytes(v.publicKey)))
        }
    }
}

/// Signatures by the key A = B (secret scalar 1): then S = k makes [S]B - [k]A the neutral
/// element, so R = the neutral element verifies, whichever of its encodings went into k.
@Suite("Ed25519 encodings of R and A")
struct Ed25519EncodingTests {
    static let baseEncoding = hexBytes("5866666666666666666666666666666666666666666666666666666666666666")

    /// SHA-512(R || A || message) mod L.
    static func challenge(r: [UInt8], key: [UInt8], message: [UInt8]) -> Scalar25519 {
        var hash = Crypto.SHA512()
        hash.update(data: r)
        hash.update(data: key)
        hash.update(data: message)
        let digest = Array(hash.finalize())
        var wide = InlineArray<64, UInt8>(repeating: 0)
        for i in 0..<64 { wide[i] = digest[i] }
        return Scalar25519(reducingWide: wide)
    }

    /// (R, S) with S = SHA-512(R || B || message) mod L.
    func identitySignature(r: [UInt8], message: [UInt8]) -> [UInt8] {
        r + ed25519Bytes(Self.challenge(r: r, key: Self.baseEncoding, message: message).words)
    }

    @Test("canonical neutral R verifies (small-order R is allowed); its non-canonical encodings do not")
    func nonCanonicalR() {
        let message = Array("bulkhead".utf8)
        let canonical = hexBytes("0100000000000000000000000000000000000000000000000000000000000000")
        #expect(ed25519Verify(signature: identitySignature(r: canonical, message: message), message: message, key: Self.baseEncoding))
        // y = p + 1 (≡ 1): non-canonical y.
        let yAboveP = hexBytes("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
        #expect(!ed25519Verify(signature: identitySignature(r: yAboveP, message: message), message: message, key: Self.baseEncoding))
        // x = 0 with the sign bit set: "-0".
        let negativeZero = hexBytes("0100000000000000000000000000000000000000000000000000000000000080")
        #expect(!ed25519Verify(signature: identitySignature(r: negativeZero, message: message), message: message, key: Self.baseEncoding))
        // Both at once.
        let both = hexBytes("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")
        #expect(!ed25519Verify(signature: identitySignature(r: both, message: message), message: message, key: Self.baseEncoding))
    }

    @Test("the base point decodes to B and encodes back")
    func basePoint() throws {
        let w = ed25519Words(Self.baseEncoding)
        let decoded = try #require(EdwardsPoint(encoding: w.0, w.1, w.2, w.3))
        #expect(decoded == EdwardsPoint.base)
        #expect(ed25519Bytes(EdwardsPoint.base.encodedWords()) == Self.baseEncoding)
        #expect(ed25519Key(Self.baseEncoding) != nil)
    }

    @Test("public keys with y ≥ p are refused, even when y - p is a valid key's y")
    func nonCanonicalKeys() {
        var acceptedSmallY = 0
        for c in 0..<19 {
            for sign in [UInt8(0), 0x80] {
                var small = [UInt8](repeating: 0, count: 32)
                small[0] = UInt8(c)
                small[31] = sign
                var large = (Ed25519BigNumber.p + Ed25519BigNumber(UInt64(c))).littleEndian(count: 32)
                large[31] |= sign
                #expect(ed25519Key(large) == nil, "y = p + \(c), sign \(sign)")
                if ed25519Key(small) != nil { acceptedSmallY += 1 }
            }
        }
        // y = 3, 4, 5, ... are points of large order: their canonical encodings are keys.
        #expect(acceptedSmallY > 0)
        #expect(ed25519Key([UInt8](repeating: 0xff, count: 32)) == nil)
    }

    @Test("encodings that are not on the curve are refused")
    func offCurveKeys() {
        // y = 2, 7 and 8: (y^2 - 1)/(d·y^2 + 1) is not a square.
        for y in [2, 7, 8] {
            var key = [UInt8](repeating: 0, count: 32)
            key[0] = UInt8(y)
            #expect(ed25519Key(key) == nil)
            key[31] = 0x80
            #expect(ed25519Key(key) == nil)
        }
    }

    static let smallOrderEncodings = [
        "0100000000000000000000000000000000000000000000000000000000000000",  // neutral (0, 1)
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // order 2: (0, -1)
        "0000000000000000000000000000000000000000000000000000000000000000",  // order 4: y = 0
        "0000000000000000000000000000000000000000000000000000000000000080",  // order 4: y = 0, -x
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",  // order 8
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",  // order 8
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",  // order 8
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",  // order 8
    ]

    @Test("the eight small-order points decode but are refused as public keys")
    func smallOrderKeys() throws {
        for hex in Self.smallOrderEncodings {
            let w = ed25519Words(hexBytes(hex))
            let point = try #require(EdwardsPoint(encoding: w.0, w.1, w.2, w.3), "\(hex)")
            #expect(point.hasSmallOrder)
            #expect(ed25519Bytes(point.encodedWords()) == hexBytes(hex))
            #expect(ed25519Key(hexBytes(hex)) == nil, "\(hex)")
        }
        // x = 0 with the sign bit set is not a valid encoding at all.
        for hex in ["0100000000000000000000000000000000000000000000000000000000000080",
                    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"] {
            let w = ed25519Words(hexBytes(hex))
            #expect(EdwardsPoint(encoding: w.0, w.1, w.2, w.3) == nil)
        }
    }

    @Test("the equation is cofactorless: with A = B + T (T of order 8), R = 0 and S = k, only 8 | k verifies")
    func cofactorless() throws {
        // [S]B - [k]A = [k]B - [k]B - [k]T = -[k]T, which is the neutral element R exactly when
        // 8 divides k. The cofactored equation ([8]...) would accept every one of these.
        let t = ed25519Words(hexBytes(Self.smallOrderEncodings[4]))
        let torsion = try #require(EdwardsPoint(encoding: t.0, t.1, t.2, t.3))
        let key = ed25519Bytes((EdwardsPoint.base + torsion.cached).extended.encodedWords())
        let r = hexBytes("0100000000000000000000000000000000000000000000000000000000000000")
        var refused = 0
        var accepted = 0
        for i in 0..<64 {
            let message = [UInt8(i)]
            let k = Self.challenge(r: r, key: key, message: message)
            let verified = ed25519Verify(signature: r + ed25519Bytes(k.words), message: message, key: key)
            #expect(verified == (k.words.0 & 7 == 0), "message \(i)")
            if verified { accepted += 1 } else { refused += 1 }
        }
        #expect(accepted > 0 && refused > 0)
    }

    @Test("a key of mixed order (A + a torsion point) is accepted, as RFC 8032 allows")
    func mixedOrderKeyAccepted() throws {
        let key = hexBytes(rfc8032Vectors[0].publicKey)
        let t = ed25519Words(hexBytes(Self.smallOrderEncodings[4]))
        let a = ed25519Words(key)
        let torsion = try #require(EdwardsPoint(encoding: t.0, t.1, t.2, t.3))
        let point = try #require(EdwardsPoint(encoding: a.0, a.1, a.2, a.3))
        let mixed = (point + torsion.cached).extended
        #expect(ed25519Key(ed25519Bytes(mixed.encodedWords())) != nil)
    }
}
