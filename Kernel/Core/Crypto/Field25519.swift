// Field25519: arithmetic in GF(p), p = 2^255 - 19 (RFC 8032 §5.1), in five 51-bit limbs, for Ed25519.
//
// An element is v = l0 + l1·2^51 + l2·2^102 + l3·2^153 + l4·2^204. Because 2^255 ≡ 19 (mod p),
// a product's limbs at weight 2^(255 + 51·j) fold back onto weight 2^(51·j) times 19.
//
// Invariant (every value this file produces, and every input it accepts): each limb is below
// 2^51 + 2^18 ("bounded"). The value itself need not be reduced below p; `canonicalWords()` gives
// the unique representative in [0, p). The bound keeps every intermediate in range:
//   * multiply: 19·limb < 2^55.3, so each 64x64 product is < 2^106.3 and a sum of five < 2^108.7,
//     well inside the 128 bits of a (high, low) pair; the final carry out of limb 4 is < 2^57.7,
//     and 19 times it is < 2^62, so folding it into limb 0 cannot overflow 64 bits;
//   * add / subtract: a + b < 2^53 and a + 2p - b < 2^53 limb-wise (each 2p limb is ≥ 2^52 - 38,
//     above any bounded limb, so no limb goes negative); one carry pass restores the bound.
// Products use `multipliedFullWidth` (64x64 → 128 bits: `mul` + `mulhu` on RV64) rather than
// UInt128, which every host this package supports may not have.
//
// Nothing here is constant time: Ed25519 verification only handles public data.

/// An element of GF(2^255 - 19) (RFC 8032 §5.1: p = 2^255 - 19), in five 51-bit limbs.
struct Field25519: Sendable {
    var l0: UInt64
    var l1: UInt64
    var l2: UInt64
    var l3: UInt64
    var l4: UInt64

    static let mask51: UInt64 = (1 << 51) - 1

    @inline(__always)
    init(_ l0: UInt64, _ l1: UInt64, _ l2: UInt64, _ l3: UInt64, _ l4: UInt64) {
        self.l0 = l0
        self.l1 = l1
        self.l2 = l2
        self.l3 = l3
        self.l4 = l4
    }

    static var zero: Field25519 { Field25519(0, 0, 0, 0, 0) }
    static var one: Field25519 { Field25519(1, 0, 0, 0, 0) }

    /// d = -121665/121666 (RFC 8032 §5.1), the Edwards curve constant.
    static var d: Field25519 {
        Field25519(0x34dca135978a3, 0x1a8283b156ebd, 0x5e7a26001c029, 0x739c663a03cbb, 0x52036cee2b6ff)
    }

    /// 2·d, used by the cached-point addition (RFC 8032 §5.1.4).
    static var d2: Field25519 {
        Field25519(0x69b9426b2f159, 0x35050762add7a, 0x3cf44c0038052, 0x6738cc7407977, 0x2406d9dc56dff)
    }

    /// sqrt(-1) = 2^((p-1)/4) (RFC 8032 §5.1.3, step 3).
    static var sqrtMinusOne: Field25519 {
        Field25519(0x61b274a0ea0b0, 0x0d5a5fc8f189d, 0x7ef5e9cbd0c60, 0x78595a6804c9e, 0x2b8324804fc1d)
    }

    // MARK: Encoding (RFC 8032 §5.1.2, §5.1.3)

    /// The low 255 bits of a 256-bit little-endian number given as four 64-bit words
    /// (bit 255, the sign bit of a point encoding, is ignored).
    init(words w0: UInt64, _ w1: UInt64, _ w2: UInt64, _ w3: UInt64) {
        let m = Field25519.mask51
        self.init(
            w0 & m,
            ((w0 >> 51) | (w1 << 13)) & m,
            ((w1 >> 38) | (w2 << 26)) & m,
            ((w2 >> 25) | (w3 << 39)) & m,
            (w3 >> 12) & m)
    }

    /// Whether the 255-bit number in the words (bit 255 ignored) is below p, i.e. is the
    /// canonical encoding of a field element (RFC 8032 §5.1.3, step 1: "If the resulting value
    /// is >= p, decoding fails"). The non-canonical values are p ..< 2^255: nineteen of them.
    static func isCanonical(words w0: UInt64, _ w1: UInt64, _ w2: UInt64, _ w3: UInt64) -> Bool {
        let top = w3 & 0x7fff_ffff_ffff_ffff
        if top != 0x7fff_ffff_ffff_ffff || w2 != UInt64.max || w1 != UInt64.max { return true }
        return w0 < UInt64.max - 18  // p's low word is 2^64 - 19
    }

    /// The unique representative in [0, p), as four little-endian 64-bit words (bit 255 clear).
    func canonicalWords() -> (UInt64, UInt64, UInt64, UInt64) {
        let m = Field25519.mask51
        // One carry pass: limbs 1...4 < 2^51 and limb 0 < 2^51 + 19·8, so v < 2^255 + 2^8 < 2p.
        let t = carried()
        // q = 1 exactly when v ≥ p, i.e. when v + 19 ≥ 2^255: propagate the carry of v + 19.
        var q = (t.l0 &+ 19) >> 51
        q = (t.l1 &+ q) >> 51
        q = (t.l2 &+ q) >> 51
        q = (t.l3 &+ q) >> 51
        q = (t.l4 &+ q) >> 51
        // v - q·p = v + 19·q - q·2^255: add 19·q, carry, and drop bit 255.
        var r0 = t.l0 &+ 19 &* q
        var r1 = t.l1 &+ (r0 >> 51)
        r0 &= m
        var r2 = t.l2 &+ (r1 >> 51)
        r1 &= m
        var r3 = t.l3 &+ (r2 >> 51)
        r2 &= m
        var r4 = t.l4 &+ (r3 >> 51)
        r3 &= m
        r4 &= m
        return (r0 | (r1 << 51), (r1 >> 13) | (r2 << 38), (r2 >> 26) | (r3 << 25), (r3 >> 39) | (r4 << 12))
    }

    /// Whether the element is 0 mod p.
    var isZero: Bool {
        let w = canonicalWords()
        return (w.0 | w.1 | w.2 | w.3) == 0
    }

    /// The least significant bit of the canonical value: the "sign" of x in RFC 8032 §5.1.2.
    var isOdd: Bool { canonicalWords().0 & 1 == 1 }

    /// Equality modulo p.
    static func == (a: Field25519, b: Field25519) -> Bool {
        (a - b).isZero
    }

    // MARK: Arithmetic

    /// One carry pass: brings any limbs below 2^54 back within the bound.
    @inline(__always)
    func carried() -> Field25519 {
        let m = Field25519.mask51
        var r0 = l0
        var r1 = l1 &+ (r0 >> 51)
        r0 &= m
        var r2 = l2 &+ (r1 >> 51)
        r1 &= m
        var r3 = l3 &+ (r2 >> 51)
        r2 &= m
        var r4 = l4 &+ (r3 >> 51)
        r3 &= m
        r0 &+= 19 &* (r4 >> 51)
        r4 &= m
        return Field25519(r0, r1, r2, r3, r4)
    }

    @inline(__always)
    static func + (a: Field25519, b: Field25519) -> Field25519 {
        Field25519(a.l0 &+ b.l0, a.l1 &+ b.l1, a.l2 &+ b.l2, a.l3 &+ b.l3, a.l4 &+ b.l4).carried()
    }

    /// a - b computed as a + 2p - b, so that no limb goes below zero.
    @inline(__always)
    static func - (a: Field25519, b: Field25519) -> Field25519 {
        let twoP0: UInt64 = (1 << 52) - 38
        let twoPi: UInt64 = (1 << 52) - 2
        return Field25519(
            (a.l0 &+ twoP0) &- b.l0, (a.l1 &+ twoPi) &- b.l1, (a.l2 &+ twoPi) &- b.l2,
            (a.l3 &+ twoPi) &- b.l3, (a.l4 &+ twoPi) &- b.l4
        ).carried()
    }

    @inline(__always)
    static prefix func - (a: Field25519) -> Field25519 {
        Field25519.zero - a
    }

    /// Carries five 128-bit column sums (each below 2^109) into bounded limbs.
    @inline(__always)
    static func reduce(
        _ c0: DoubleWord, _ c1: DoubleWord, _ c2: DoubleWord, _ c3: DoubleWord, _ c4: DoubleWord
    ) -> Field25519 {
        let m = Field25519.mask51
        var c1 = c1
        var c2 = c2
        var c3 = c3
        var c4 = c4
        var r0 = c0.low & m
        c1.add(c0.shiftedRight51)
        let r1 = c1.low & m
        c2.add(c1.shiftedRight51)
        let r2 = c2.low & m
        c3.add(c2.shiftedRight51)
        let r3 = c3.low & m
        c4.add(c3.shiftedRight51)
        let r4 = c4.low & m
        // The carry out of limb 4 has weight 2^255 ≡ 19.
        r0 = r0 &+ 19 &* c4.shiftedRight51
        let r1b = r1 &+ (r0 >> 51)
        r0 &= m
        return Field25519(r0, r1b, r2, r3, r4)
    }

    static func * (a: Field25519, b: Field25519) -> Field25519 {
        let b1 = b.l1 &* 19
        let b2 = b.l2 &* 19
        let b3 = b.l3 &* 19
        let b4 = b.l4 &* 19
        // Column j collects a_i·b_k with i + k = j, plus 19·a_i·b_k with i + k = j + 5.
        var c0 = DoubleWord(a.l0, b.l0)
        c0.addProduct(a.l1, b4)
        c0.addProduct(a.l2, b3)
        c0.addProduct(a.l3, b2)
        c0.addProduct(a.l4, b1)
        var c1 = DoubleWord(a.l0, b.l1)
        c1.addProduct(a.l1, b.l0)
        c1.addProduct(a.l2, b4)
        c1.addProduct(a.l3, b3)
        c1.addProduct(a.l4, b2)
        var c2 = DoubleWord(a.l0, b.l2)
        c2.addProduct(a.l1, b.l1)
        c2.addProduct(a.l2, b.l0)
        c2.addProduct(a.l3, b4)
        c2.addProduct(a.l4, b3)
        var c3 = DoubleWord(a.l0, b.l3)
        c3.addProduct(a.l1, b.l2)
        c3.addProduct(a.l2, b.l1)
        c3.addProduct(a.l3, b.l0)
        c3.addProduct(a.l4, b4)
        var c4 = DoubleWord(a.l0, b.l4)
        c4.addProduct(a.l1, b.l3)
        c4.addProduct(a.l2, b.l2)
        c4.addProduct(a.l3, b.l1)
        c4.addProduct(a.l4, b.l0)
        return reduce(c0, c1, c2, c3, c4)
    }

    /// self², with the symmetric cross products computed once and doubled (15 products, not 25).
    func squared() -> Field25519 {
        let a0x2 = l0 &* 2
        let a1x2 = l1 &* 2
        let a2x2 = l2 &* 2
        let a3x2 = l3 &* 2
        let a3x19 = l3 &* 19
        let a4x19 = l4 &* 19
        var c0 = DoubleWord(l0, l0)
        c0.addProduct(a1x2, a4x19)
        c0.addProduct(a2x2, a3x19)
        var c1 = DoubleWord(a0x2, l1)
        c1.addProduct(a2x2, a4x19)
        c1.addProduct(l3, a3x19)
        var c2 = DoubleWord(a0x2, l2)
        c2.addProduct(l1, l1)
        c2.addProduct(a3x2, a4x19)
        var c3 = DoubleWord(a0x2, l3)
        c3.addProduct(a1x2, l2)
        c3.addProduct(l4, a4x19)
        var c4 = DoubleWord(a0x2, l4)
        c4.addProduct(a1x2, l3)
        c4.addProduct(l2, l2)
        return Field25519.reduce(c0, c1, c2, c3, c4)
    }

    /// self^(2^n), by n squarings.
    func squared(times n: Int) -> Field25519 {
        var r = self
        var i = 0
        while i < n {
            r = r.squared()
            i += 1
        }
        return r
    }

    /// self^(2^250 - 1) and self^11, the shared prefix of `inverse()` and `powPMinus5Over8()`.
    ///
    /// Builds z^(2^k - 1) for k = 5, 10, 20, 40, 50, 100, 200, 250 from
    /// z^(2^(a+b) - 1) = (z^(2^a - 1))^(2^b) · z^(2^b - 1).
    private func pow2to250Minus1() -> (pow: Field25519, z11: Field25519) {
        let z2 = squared()                                   // z^2
        let z9 = z2.squared(times: 2) * self                 // z^8 · z = z^9
        let z11 = z9 * z2                                    // z^11
        let e5 = z11.squared() * z9                          // z^22 · z^9 = z^31 = z^(2^5 - 1)
        let e10 = e5.squared(times: 5) * e5                  // z^(2^10 - 1)
        let e20 = e10.squared(times: 10) * e10               // z^(2^20 - 1)
        let e40 = e20.squared(times: 20) * e20               // z^(2^40 - 1)
        let e50 = e40.squared(times: 10) * e10               // z^(2^50 - 1)
        let e100 = e50.squared(times: 50) * e50              // z^(2^100 - 1)
        let e200 = e100.squared(times: 100) * e100           // z^(2^200 - 1)
        let e250 = e200.squared(times: 50) * e50             // z^(2^250 - 1)
        return (e250, z11)
    }

    /// self^(p - 2) = self^(2^255 - 21): the inverse for nonzero self (Fermat), 0 for 0.
    func inverse() -> Field25519 {
        let (e250, z11) = pow2to250Minus1()
        return e250.squared(times: 5) * z11                  // z^(2^255 - 32) · z^11
    }

    /// self^((p - 5)/8) = self^(2^252 - 3), the exponent of the square root in RFC 8032 §5.1.3.
    func powPMinus5Over8() -> Field25519 {
        let (e250, _) = pow2to250Minus1()
        return e250.squared(times: 2) * self                 // z^(2^252 - 4) · z
    }
}

/// A 128-bit accumulator as two 64-bit words, for the column sums of a field product.
struct DoubleWord {
    var low: UInt64
    var high: UInt64

    @inline(__always)
    init(_ a: UInt64, _ b: UInt64) {
        let p = a.multipliedFullWidth(by: b)
        low = p.low
        high = p.high
    }

    /// self += a·b. (The sums here stay below 2^115, so the high word never wraps.)
    @inline(__always)
    mutating func addProduct(_ a: UInt64, _ b: UInt64) {
        let p = a.multipliedFullWidth(by: b)
        low = low &+ p.low
        high = high &+ p.high &+ (low < p.low ? 1 : 0)
    }

    /// self += x.
    @inline(__always)
    mutating func add(_ x: UInt64) {
        low = low &+ x
        high = high &+ (low < x ? 1 : 0)
    }

    /// The sum divided by 2^51 (fits in 64 bits because every column sum is below 2^115).
    @inline(__always)
    var shiftedRight51: UInt64 { (high << 13) | (low >> 51) }
}
