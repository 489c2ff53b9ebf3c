// Ed25519 internals against a big-integer oracle: GF(2^255 - 19), scalars mod L, NAF, group law.
import Crypto
import Testing
@testable import BulkheadCore

@Suite("Ed25519 field GF(2^255 - 19)")
struct Ed25519FieldTests {
    static let mask51: UInt64 = (1 << 51) - 1
    /// The largest limb the invariant allows.
    static let maxLimb: UInt64 = (1 << 51) + (1 << 18) - 1

    /// Random bounded elements, with a share of extreme limbs (0, 2^51 - 1, the bound).
    static func randomElement(_ rng: inout Ed25519TestRandom) -> Field25519 {
        func limb(_ rng: inout Ed25519TestRandom) -> UInt64 {
            switch rng.below(6) {
            case 0: return 0
            case 1: return mask51
            case 2: return maxLimb
            default: return rng.next() % (maxLimb + 1)
            }
        }
        return Field25519(limb(&rng), limb(&rng), limb(&rng), limb(&rng), limb(&rng))
    }

    static func isBounded(_ f: Field25519) -> Bool {
        [f.l0, f.l1, f.l2, f.l3, f.l4].allSatisfy { $0 <= maxLimb }
    }

    @Test("multiply, square, add, subtract, negate agree with the oracle and keep limbs bounded")
    func arithmeticMatchesOracle() {
        var rng = Ed25519TestRandom(state: 1)
        let p = Ed25519BigNumber.p
        for _ in 0..<150 {
            let a = Self.randomElement(&rng)
            let b = Self.randomElement(&rng)
            let av = a.bigValue
            let bv = b.bigValue
            let product = a * b
            #expect(Self.isBounded(product))
            #expect(product.canonicalValue == (av * bv).mod(p))
            let square = a.squared()
            #expect(Self.isBounded(square))
            #expect(square.canonicalValue == (av * av).mod(p))
            let sum = a + b
            #expect(Self.isBounded(sum))
            #expect(sum.canonicalValue == (av + bv).mod(p))
            let difference = a - b
            #expect(Self.isBounded(difference))
            #expect(difference.canonicalValue == (av + p + p + p - bv).mod(p))
            let negation = -a
            #expect(Self.isBounded(negation))
            #expect((negation + a).isZero)
        }
    }

    @Test("the all-maximum limbs: products and squares stay in range")
    func extremeLimbs() {
        let top = Field25519(Self.maxLimb, Self.maxLimb, Self.maxLimb, Self.maxLimb, Self.maxLimb)
        let v = top.bigValue
        #expect((top * top).canonicalValue == (v * v).mod(Ed25519BigNumber.p))
        #expect(top.squared().canonicalValue == (v * v).mod(Ed25519BigNumber.p))
        #expect((top + top).canonicalValue == (v + v).mod(Ed25519BigNumber.p))
        #expect((Field25519.zero - top).canonicalValue == (Ed25519BigNumber.p * Ed25519BigNumber(4) - v).mod(Ed25519BigNumber.p))
    }

    @Test("canonical reduction at and around p")
    func reductionNearP() {
        let m = Self.mask51
        let p = Ed25519BigNumber.p
        let cases: [Field25519] = [
            Field25519(m - 19, m, m, m, m),               // p - 1
            Field25519(m - 18, m, m, m, m),               // p
            Field25519(m - 17, m, m, m, m),               // p + 1
            Field25519(m, m, m, m, m),                    // 2^255 - 1 = p + 18
            Field25519(m + 1, m, m, m, m),                // 2^255 = p + 19
            Field25519(Self.maxLimb, m, m, m, m),         // above 2^255
            Field25519(Self.maxLimb, Self.maxLimb, Self.maxLimb, Self.maxLimb, Self.maxLimb),
            Field25519(0, 0, 0, 0, 1 << 51),              // 2^255
            Field25519(m - 18, m, m, m, m) + Field25519(m - 18, m, m, m, m),  // 2p
            Field25519(19, 0, 0, 0, 0),
            .zero,
        ]
        for f in cases {
            let expected = f.bigValue.mod(p)
            #expect(f.canonicalValue == expected, "\(f.bigValue)")
            let w = f.canonicalWords()
            #expect(w.3 >> 63 == 0)
            #expect(Field25519.isCanonical(words: w.0, w.1, w.2, w.3))
        }
        #expect(Field25519(m - 18, m, m, m, m).isZero)
        #expect(!Field25519(m - 19, m, m, m, m).isZero)
        #expect(Field25519(m - 19, m, m, m, m) == -Field25519.one)
    }

    @Test("isCanonical accepts exactly the values below p (bit 255 ignored)")
    func canonicalEncodings() {
        let p = Ed25519BigNumber.p
        for delta in 0..<40 {
            let v = p + Ed25519BigNumber(UInt64(delta)) - Ed25519BigNumber(20)  // p - 20 ... p + 19
            guard v < Ed25519BigNumber.power2(255) else { continue }
            for sign: UInt8 in [0, 0x80] {
                var b = v.littleEndian(count: 32)
                b[31] |= sign
                let w = ed25519Words(b)
                #expect(Field25519.isCanonical(words: w.0, w.1, w.2, w.3) == (delta < 20), "p - 20 + \(delta)")
                // Decoding keeps 255 bits exactly.
                #expect(Field25519(words: w.0, w.1, w.2, w.3).bigValue == v)
            }
        }
    }

    @Test("inverse: a · a^-1 = 1, and 0^-1 = 0")
    func inverse() {
        var rng = Ed25519TestRandom(state: 2)
        for _ in 0..<40 {
            let a = Self.randomElement(&rng)
            if a.isZero { continue }
            #expect((a * a.inverse()) == .one)
        }
        #expect(Field25519.one.inverse() == .one)
        #expect(Field25519.zero.inverse().isZero)
        let m = Self.mask51
        #expect(Field25519(m - 18, m, m, m, m).inverse().isZero)  // p ≡ 0
        let minusOne = -Field25519.one
        #expect(minusOne.inverse() == minusOne)
    }

    @Test("powPMinus5Over8 agrees with repeated squaring from the exponent's bits")
    func powPMinus5Over8() {
        // (p - 5)/8 = 2^252 - 3: bits 0 and 2...251 set, bit 1 clear.
        var rng = Ed25519TestRandom(state: 3)
        for _ in 0..<5 {
            let a = Self.randomElement(&rng)
            var result = Field25519.one
            for bit in stride(from: 251, through: 0, by: -1) {
                result = result.squared()
                if bit != 1 { result = result * a }
            }
            #expect(result == a.powPMinus5Over8())
        }
    }

    @Test("constants: sqrt(-1)^2 = -1, d·121666 = -121665, 2d = d + d")
    func constants() {
        let i = Field25519.sqrtMinusOne
        #expect(i.squared() == -Field25519.one)
        #expect(Field25519.d * Field25519(121_666, 0, 0, 0, 0) == -Field25519(121_665, 0, 0, 0, 0))
        #expect(Field25519.d2 == Field25519.d + Field25519.d)
        // RFC 8032 §5.1: d is not a square (Euler: d^((p-1)/2) = -1), so v = d·y^2 + 1 never
        // vanishes in decoding. d^((p-1)/2) = (d^((p-5)/8))^4 · d^2.
        let d = Field25519.d
        #expect(d.powPMinus5Over8().squared(times: 2) * d.squared() == -Field25519.one)
        // ... while -1 is a square (p ≡ 1 mod 4), which sqrt(-1) above already shows.
    }

    @Test("the base point lies on -x^2 + y^2 = 1 + d·x^2·y^2, with y = 4/5")
    func baseOnCurve() {
        let b = EdwardsPoint.base
        let xx = b.x.squared()
        let yy = b.y.squared()
        #expect(yy - xx == .one + Field25519.d * xx * yy)
        #expect(b.y * Field25519(5, 0, 0, 0, 0) == Field25519(4, 0, 0, 0, 0))
        #expect(!b.x.isOdd)
    }
}

@Suite("Ed25519 scalars mod L")
struct Ed25519ScalarTests {
    static func wide(_ bytes: [UInt8]) -> InlineArray<64, UInt8> {
        var w = InlineArray<64, UInt8>(repeating: 0)
        for i in 0..<min(64, bytes.count) { w[i] = bytes[i] }
        return w
    }

    @Test("reducing 512-bit numbers mod L agrees with the oracle")
    func reduceWide() {
        var rng = Ed25519TestRandom(state: 4)
        let order = Ed25519BigNumber.order
        var inputs: [[UInt8]] = [
            [UInt8](repeating: 0xff, count: 64),
            [UInt8](repeating: 0, count: 64),
            order.littleEndian(count: 64),
            (order - Ed25519BigNumber(1)).littleEndian(count: 64),
            (order + order).littleEndian(count: 64),
            (order * order).littleEndian(count: 64),
        ]
        for _ in 0..<60 { inputs.append(rng.bytes(64)) }
        for input in inputs {
            let s = Scalar25519(reducingWide: Self.wide(input))
            #expect(ed25519Bytes(s.words) == Ed25519BigNumber(littleEndian: input).mod(order).littleEndian(count: 32))
        }
        // Computed independently: (2^512 - 1) mod L.
        #expect(ed25519Bytes(Scalar25519(reducingWide: Self.wide([UInt8](repeating: 0xff, count: 64))).words)
            == hexBytes("000f9c44e31106a447938568a71b0ed065bef517d273ecce3d9a307c1b419903"))
    }

    @Test("canonical scalars: exactly the values below L")
    func canonical() {
        let order = Ed25519BigNumber.order
        let accepted = [Ed25519BigNumber(digits: []), Ed25519BigNumber(1), order - Ed25519BigNumber(1)]
        let refused = [order, order + Ed25519BigNumber(1), order + order, Ed25519BigNumber.power2(253),
                       Ed25519BigNumber.power2(256) - Ed25519BigNumber(1)]
        for v in accepted {
            let b = v.littleEndian(count: 32)
            #expect(b.withUnsafeBytes { Scalar25519(canonical: $0) } != nil)
        }
        for v in refused {
            let b = v.littleEndian(count: 32)
            #expect(b.withUnsafeBytes { Scalar25519(canonical: $0) } == nil)
        }
        // Too-short buffers and bad offsets give nil, never a trap.
        let short = [UInt8](repeating: 0, count: 31)
        #expect(short.withUnsafeBytes { Scalar25519(canonical: $0) } == nil)
        let buffer = [UInt8](repeating: 0, count: 64)
        #expect(buffer.withUnsafeBytes { Scalar25519(canonical: $0, offset: 33) } == nil)
        #expect(buffer.withUnsafeBytes { Scalar25519(canonical: $0, offset: -1) } == nil)
        #expect(buffer.withUnsafeBytes { Scalar25519(canonical: $0, offset: 32) } != nil)
    }

    @Test("width-5 NAF: odd digits below 16 in magnitude, four zeros after each, sums back")
    func nonAdjacentForm() {
        var rng = Ed25519TestRandom(state: 5)
        let order = Ed25519BigNumber.order
        var scalars: [Ed25519BigNumber] = [order - Ed25519BigNumber(1), Ed25519BigNumber(digits: []), Ed25519BigNumber(1),
                                   Ed25519BigNumber(31), Ed25519BigNumber.power2(252) - Ed25519BigNumber(1)]
        for _ in 0..<40 { scalars.append(Ed25519BigNumber(littleEndian: rng.bytes(64)).mod(order)) }
        for v in scalars {
            let s = Scalar25519(reducingWide: Ed25519ScalarTests.wide(v.littleEndian(count: 64)))
            let digits = s.nonAdjacentForm()
            var positive = Ed25519BigNumber(digits: [])
            var negative = Ed25519BigNumber(digits: [])
            var lastNonZero = -10
            for i in 0..<256 {
                let d = Int(digits[i])
                guard d != 0 else { continue }
                #expect(d % 2 != 0 && abs(d) <= 15)
                #expect(i - lastNonZero >= 5)
                #expect(i <= 253)
                lastNonZero = i
                let term = Ed25519BigNumber(UInt64(abs(d))) * Ed25519BigNumber.power2(i)
                if d > 0 { positive = positive + term } else { negative = negative + term }
            }
            #expect(positive - negative == v)
        }
    }
}

@Suite("Ed25519 group arithmetic")
struct Ed25519GroupTests {
    static func scalar(_ v: Ed25519BigNumber) -> Scalar25519 {
        Scalar25519(reducingWide: Ed25519ScalarTests.wide(v.littleEndian(count: 64)))
    }

    @Test("[a]B matches swift-crypto's public key for the same secret (RFC 8032 §5.1.5)")
    func baseMultiplesMatchSwiftCrypto() throws {
        var rng = Ed25519TestRandom(state: 6)
        for _ in 0..<24 {
            let seed = rng.bytes(32)
            let key = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
            // s = the clamped low half of SHA-512(seed), reduced mod L.
            var h = Array(Crypto.SHA512.hash(data: seed))[..<32].map { $0 }
            h[0] &= 248
            h[31] &= 127
            h[31] |= 64
            let s = Self.scalar(Ed25519BigNumber(littleEndian: h))
            let zero = Self.scalar(Ed25519BigNumber(digits: []))
            let point = EdwardsPoint.baseMultipleMinusMultiple(s: s, k: zero, a: .base)
            #expect(ed25519Bytes(point.encodedWords()) == Array(key.publicKey.rawRepresentation))
        }
    }

    @Test("[s]B - [k]A = [s - k·a]B for A = [a]B")
    func doubleMultiplyConsistent() {
        var rng = Ed25519TestRandom(state: 7)
        let order = Ed25519BigNumber.order
        let zero = Self.scalar(Ed25519BigNumber(digits: []))
        for _ in 0..<12 {
            let a = Ed25519BigNumber(littleEndian: rng.bytes(40)).mod(order)
            let s = Ed25519BigNumber(littleEndian: rng.bytes(40)).mod(order)
            let k = Ed25519BigNumber(littleEndian: rng.bytes(40)).mod(order)
            let pointA = EdwardsPoint.baseMultipleMinusMultiple(s: Self.scalar(a), k: zero, a: .base)
            let aw = pointA.encodedWords()
            guard let decodedA = EdwardsPoint(encoding: aw.0, aw.1, aw.2, aw.3) else {
                Issue.record("[a]B does not decode")
                continue
            }
            let left = EdwardsPoint.baseMultipleMinusMultiple(s: Self.scalar(s), k: Self.scalar(k), a: decodedA)
            let exponent = (s + order * order - (k * a).mod(order)).mod(order)
            let right = EdwardsPoint.baseMultipleMinusMultiple(s: Self.scalar(exponent), k: zero, a: .base)
            #expect(left.encodedWords() == right.encodedWords())
        }
        // [x]B - [x]B is the neutral element.
        let x = Self.scalar(Ed25519BigNumber(littleEndian: rng.bytes(32)))
        let neutral = EdwardsPoint.baseMultipleMinusMultiple(s: x, k: x, a: .base)
        #expect(ed25519Bytes(neutral.encodedWords()) == hexBytes("0100000000000000000000000000000000000000000000000000000000000000"))
        // [L - 1]B = -B.
        let minusOne = Self.scalar(order - Ed25519BigNumber(1))
        let minusB = EdwardsPoint.baseMultipleMinusMultiple(s: minusOne, k: zero, a: .base)
        #expect(minusB.encodedWords() == EdwardsPoint.base.negated.encodedWords())
    }

    @Test("addition and doubling agree: B + B = 2B, (B + 2B) - B = 2B, results stay on the curve")
    func groupLaw() {
        let b = EdwardsPoint.base
        let twoB = b.projective.doubled().extended
        let sum = (b + b.cached).extended
        #expect(sum == twoB)
        let threeB = (twoB + b.cached).extended
        let back = (threeB - b.cached).extended
        #expect(back == twoB)
        for point in [twoB, threeB, back] {
            let zInverse = point.z.inverse()
            let x = point.x * zInverse
            let y = point.y * zInverse
            #expect(y.squared() - x.squared() == .one + Field25519.d * x.squared() * y.squared())
            #expect(x * y == point.t * zInverse)
        }
        // The neutral element is neutral.
        #expect((b + EdwardsPoint.identity.cached).extended == b)
        #expect((EdwardsPoint.identity + b.cached).extended == b)
        #expect((b - b.cached).extended == EdwardsPoint.identity)
        #expect(EdwardsPoint.identity.projective.doubled().extended == EdwardsPoint.identity)
    }
}
