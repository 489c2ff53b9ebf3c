// Field25519: arithmetic in GF(p), p = 2^255 - 19 (RFC 8032 §5.1), in five 51-bit limbs, for Ed25519.
//
// An element is v = l0 + l1·2^51 + l2·2^102 + l3·2^153 + l4·2^204. Because 2^255 ≡ 19 (mod p),
// a product's limbs at weight 2^(255 + 51·j) fold back onto weight 2^(51·j) times 19.
//
// Invariant (every Field25519 this file produces, and every input of +, -, ==, the encodings and
// the uncarried sums): each limb is below 2^51 + 2^18 ("bounded"). The value itself need not be
// reduced below p; `canonicalWords()` gives the unique representative in [0, p). The bounds keep
// every intermediate in range:
//   * multiply and square (see ColumnSum) also accept loose inputs, limbs below 2^53 (the
//     uncarried sums and differences of LooseField25519). The left factor of each product is a
//     limb, so it can be shifted left by 11 bits; the right factor is a limb times 1, 2, 19 or
//     38, and a product's high part ⌊a·b / 2^53⌋ is below the right factor. A multiply column
//     is at most five products, of which those of weight 2^255 and above (at most four) take
//     19·b_k < 19·2^53 as their right factor, so high < 2^53 + 4·19·2^53 = 77·2^53 < 2^59.3; a
//     square column is at most three products, with high < 2^53 + 2·38·2^53 < 2^59.3. Every
//     carry passed between limbs is then 4·high + ⌊x / 2^51⌋ < 2^61.4, with x (the low 53-bit
//     parts plus the incoming carry) < 5·2^53 + 2^61.4 < 2^62. Column 4 has no wrapped
//     products and high < 3·2^54 (square) or 5·2^53 (multiply), so its carry out is < 2^57.6 and
//     19 times it < 2^62: folding it into limb 0 (< 2^51) cannot overflow, and the carry then
//     passed to limb 1 is < 2^11. Every product is therefore bounded (limbs < 2^51 + 2^11);
//   * add / subtract: a + b < 2^53 and a + 2p - b < 2^53 limb-wise (each 2p limb is ≥ 2^52 - 38,
//     above any bounded limb, so no limb goes negative); one carry pass restores the bound.
// Products use `multipliedFullWidth(by:).high` (`mulhu` on RV64) and `&*` (`mul`), never 128-bit
// additions, which cost a carry test each on RISC-V (no carry flag); nor UInt128, which every host
// this package supports may not have.
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

    /// Carries five column sums into bounded limbs: limb j = column j plus the carry from
    /// column j - 1, mod 2^51; the carry out of limb 4 has weight 2^255 ≡ 19 and folds into limb 0.
    @inline(__always)
    static func reduce(
        _ c0: ColumnSum, _ c1: ColumnSum, _ c2: ColumnSum, _ c3: ColumnSum, _ c4: ColumnSum
    ) -> Field25519 {
        let m = Field25519.mask51
        var (r0, carry) = c0.split(adding: 0)
        let (r1, carry1) = c1.split(adding: carry)
        let (r2, carry2) = c2.split(adding: carry1)
        let (r3, carry3) = c3.split(adding: carry2)
        let (r4, carry4) = c4.split(adding: carry3)
        r0 = r0 &+ 19 &* carry4
        carry = r0 >> 51
        r0 &= m
        return Field25519(r0, r1 &+ carry, r2, r3, r4)
    }

    /// a·b. Accepts loose inputs too (limbs below 2^53, see LooseField25519); the result is bounded.
    static func * (a: Field25519, b: Field25519) -> Field25519 {
        // The high halves are read from a_i·2^11 (see ColumnSum); a_i < 2^53, so it fits.
        let s0 = a.l0 << 11
        let s1 = a.l1 << 11
        let s2 = a.l2 << 11
        let s3 = a.l3 << 11
        let s4 = a.l4 << 11
        // The wrapped products (weight 2^255 and above, ≡ 19) take b_k·19 as their right factor,
        // computed once here: 4 multiplications instead of scaling each column's wrapped sum.
        let b1x19 = b.l1 &* 19
        let b2x19 = b.l2 &* 19
        let b3x19 = b.l3 &* 19
        let b4x19 = b.l4 &* 19
        // Column j is Σ a_i·b_k over i + k = j, plus Σ a_i·(19·b_k) over i + k = j + 5. Each
        // column starts from the carry out of the one before, so the columns are computed one at
        // a time (fewer registers live at once).
        var c = ColumnSum(a.l0, s0, b.l0, carry: 0)
        c.add(a.l1, s1, b4x19)
        c.add(a.l2, s2, b3x19)
        c.add(a.l3, s3, b2x19)
        c.add(a.l4, s4, b1x19)
        var (r0, carry) = c.split()
        c = ColumnSum(a.l0, s0, b.l1, carry: carry)
        c.add(a.l1, s1, b.l0)
        c.add(a.l2, s2, b4x19)
        c.add(a.l3, s3, b3x19)
        c.add(a.l4, s4, b2x19)
        let (r1, carry1) = c.split()
        c = ColumnSum(a.l0, s0, b.l2, carry: carry1)
        c.add(a.l1, s1, b.l1)
        c.add(a.l2, s2, b.l0)
        c.add(a.l3, s3, b4x19)
        c.add(a.l4, s4, b3x19)
        let (r2, carry2) = c.split()
        c = ColumnSum(a.l0, s0, b.l3, carry: carry2)
        c.add(a.l1, s1, b.l2)
        c.add(a.l2, s2, b.l1)
        c.add(a.l3, s3, b.l0)
        c.add(a.l4, s4, b4x19)
        let (r3, carry3) = c.split()
        c = ColumnSum(a.l0, s0, b.l4, carry: carry3)
        c.add(a.l1, s1, b.l3)
        c.add(a.l2, s2, b.l2)
        c.add(a.l3, s3, b.l1)
        c.add(a.l4, s4, b.l0)
        let (r4, carry4) = c.split()
        // The carry out of limb 4 has weight 2^255 ≡ 19.
        r0 = r0 &+ 19 &* carry4
        carry = r0 >> 51
        return Field25519(r0 & Field25519.mask51, r1 &+ carry, r2, r3, r4)
    }

    /// self², with the symmetric cross products computed once and doubled (15 products, not 25).
    /// The factors 2, 19 and 38 go on the right-hand operand (see the file header for bounds).
    func squared() -> Field25519 { squaredInline() }

    /// The body of `squared()`, for the loops that square many times in a row (no call per step).
    @inline(__always)
    func squaredInline() -> Field25519 {
        let s0 = l0 << 11
        let s1 = l1 << 11
        let s2 = l2 << 11
        let s3 = l3 << 11
        let s4 = l4 << 11
        let a1x2 = l1 &* 2
        let a2x2 = l2 &* 2
        let a3x2 = l3 &* 2
        let a4x2 = l4 &* 2
        let a3x19 = l3 &* 19
        let a4x19 = l4 &* 19
        let a3x38 = l3 &* 38
        let a4x38 = l4 &* 38
        var c0 = ColumnSum(l0, s0, l0)                       // a0²
        c0.add(l1, s1, a4x38)                                // 2·19·a1·a4
        c0.add(l2, s2, a3x38)                                // 2·19·a2·a3
        var c1 = ColumnSum(l0, s0, a1x2)                     // 2·a0·a1
        c1.add(l2, s2, a4x38)                                // 2·19·a2·a4
        c1.add(l3, s3, a3x19)                                // 19·a3²
        var c2 = ColumnSum(l0, s0, a2x2)                     // 2·a0·a2
        c2.add(l1, s1, l1)                                   // a1²
        c2.add(l3, s3, a4x38)                                // 2·19·a3·a4
        var c3 = ColumnSum(l0, s0, a3x2)                     // 2·a0·a3
        c3.add(l1, s1, a2x2)                                 // 2·a1·a2
        c3.add(l4, s4, a4x19)                                // 19·a4²
        var c4 = ColumnSum(l0, s0, a4x2)                     // 2·a0·a4
        c4.add(l1, s1, a3x2)                                 // 2·a1·a3
        c4.add(l2, s2, l2)                                   // a2²
        return Field25519.reduce(c0, c1, c2, c3, c4)
    }

    /// self^(2^n), by n squarings.
    func squared(times n: Int) -> Field25519 {
        var r = self
        var i = 0
        while i < n {
            r = r.squaredInline()
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

/// A sum or difference of bounded elements left uncarried: limbs below 2^53 rather than 2^51 + 2^18.
///
/// Multiplication and squaring accept such limbs (see the file header), so a sum that only feeds a
/// product can skip its carry pass ("lazy reduction"). The type keeps these values out of
/// everything else (`+`, `-`, comparisons, encoding), which require bounded limbs.
struct LooseField25519: Sendable {
    /// The limbs, each below 2^53 (not necessarily bounded).
    var value: Field25519

    @inline(__always)
    static func * (a: LooseField25519, b: LooseField25519) -> Field25519 { a.value * b.value }

    @inline(__always)
    func squaredInline() -> Field25519 { value.squaredInline() }
}

extension Field25519 {
    /// The element itself as a loose value (bounded limbs are below 2^53).
    @inline(__always)
    var loose: LooseField25519 { LooseField25519(value: self) }

    /// self + b with no carry: limbs below 2·(2^51 + 2^18) < 2^53.
    @inline(__always)
    func plusUncarried(_ b: Field25519) -> LooseField25519 {
        LooseField25519(value: Field25519(l0 &+ b.l0, l1 &+ b.l1, l2 &+ b.l2, l3 &+ b.l3, l4 &+ b.l4))
    }

    /// self + b + c with no carry: limbs below 3·(2^51 + 2^18) < 2^53.
    @inline(__always)
    func plusUncarried(_ b: Field25519, _ c: Field25519) -> LooseField25519 {
        LooseField25519(value: Field25519(
            l0 &+ b.l0 &+ c.l0, l1 &+ b.l1 &+ c.l1, l2 &+ b.l2 &+ c.l2, l3 &+ b.l3 &+ c.l3, l4 &+ b.l4 &+ c.l4))
    }

    /// self - b as self + 2p - b with no carry: limbs below 2^51 + 2^18 + 2^52 < 2^53, never negative
    /// (each limb of 2p is at least 2^52 - 38, above any bounded limb).
    @inline(__always)
    func minusUncarried(_ b: Field25519) -> LooseField25519 {
        let twoP0: UInt64 = (1 << 52) - 38
        let twoPi: UInt64 = (1 << 52) - 2
        return LooseField25519(value: Field25519(
            (l0 &+ twoP0) &- b.l0, (l1 &+ twoPi) &- b.l1, (l2 &+ twoPi) &- b.l2,
            (l3 &+ twoPi) &- b.l3, (l4 &+ twoPi) &- b.l4))
    }
}

/// One column of a field product, Σ a_i·b_i, with no 128-bit additions (RV64 has no carry flag).
///
/// Each product a·b (a, b below 2^53, b possibly times 2, 19 or 38) is split at bit 53:
/// `mulhu(a·2^11, b)` gives ⌊a·b / 2^53⌋ exactly (a·2^11 < 2^64), and `mul(a, b)` gives a·b mod
/// 2^64. The column keeps high = Σ ⌊a_i·b_i / 2^53⌋ and low = Σ a_i·b_i mod 2^64 (wrapping
/// freely), so its value is high·2^53 + x with x = Σ (a_i·b_i mod 2^53). Whenever x < 2^64
/// (always here: see the file header), x ≡ low - high·2^53 (mod 2^64) gives x = low &- (high << 53)
/// exactly. So each product costs two multiplications and two additions, and each column two more
/// instructions. Adding a carry to low adds it to x.
struct ColumnSum {
    /// Σ ⌊a_i·b_i / 2^53⌋.
    var high: UInt64
    /// Σ a_i·b_i mod 2^64.
    var low: UInt64

    /// The column a·b; `shifted` is a << 11.
    @inline(__always)
    init(_ a: UInt64, _ shifted: UInt64, _ b: UInt64) {
        high = shifted.multipliedFullWidth(by: b).high
        low = a &* b
    }

    /// The column carry + a·b; `shifted` is a << 11.
    @inline(__always)
    init(_ a: UInt64, _ shifted: UInt64, _ b: UInt64, carry: UInt64) {
        high = shifted.multipliedFullWidth(by: b).high
        low = carry &+ a &* b
    }

    /// self += a·b; `shifted` is a << 11.
    @inline(__always)
    mutating func add(_ a: UInt64, _ shifted: UInt64, _ b: UInt64) {
        high = high &+ shifted.multipliedFullWidth(by: b).high
        low = low &+ a &* b
    }

    /// The column's limb and carry: column mod 2^51 and ⌊column / 2^51⌋.
    @inline(__always)
    func split() -> (limb: UInt64, carry: UInt64) { split(adding: 0) }

    /// (column + carry) mod 2^51 and ⌊(column + carry) / 2^51⌋: with high·2^53 + x the column,
    /// that is (x + carry) mod 2^51 and 4·high + ⌊(x + carry) / 2^51⌋ (bounds in the file header).
    @inline(__always)
    func split(adding carry: UInt64) -> (limb: UInt64, carry: UInt64) {
        let x = (low &- (high << 53)) &+ carry
        return (x & Field25519.mask51, (high << 2) &+ (x >> 51))
    }
}
