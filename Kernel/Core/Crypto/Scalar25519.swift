// Scalar25519: integers modulo the Ed25519 group order L (RFC 8032 §5.1), and their width-w NAF.
//
// L = 2^252 + 27742317777372353535851937790883648493 (RFC 8032 §5.1, "order of the base point").
// A scalar is held as four little-endian 64-bit words and, once built, is always below L.
// Verification uses two scalars: S from the signature, which must already be below L
// (RFC 8032 §5.1.7, step 1), and k = SHA-512(R || A || M) read as a 512-bit little-endian
// integer and reduced mod L (§5.1.7, step 2).
//
// The functions above the "Constant time" mark are not constant time: Ed25519 verification only
// handles public data. Signing (Ed25519Signing.swift) uses the constant-time functions below it:
// a reduction mod L without the data-dependent correction branch, k·s + r mod L, and the signed
// radix-16 recoding.

/// An integer in [0, L), L the order of the Ed25519 base point (RFC 8032 §5.1).
struct Scalar25519: Sendable {
    var w0: UInt64
    var w1: UInt64
    var w2: UInt64
    var w3: UInt64

    /// L as four little-endian words.
    static let order = (
        w0: UInt64(0x5812_631a_5cf5_d3ed), w1: UInt64(0x14de_f9de_a2f7_9cd6),
        w2: UInt64(0), w3: UInt64(0x1000_0000_0000_0000))

    @inline(__always)
    private init(_ w0: UInt64, _ w1: UInt64, _ w2: UInt64, _ w3: UInt64) {
        self.w0 = w0
        self.w1 = w1
        self.w2 = w2
        self.w3 = w3
    }

    /// Whether the 256-bit little-endian number (w0 least significant) is below L.
    static func isBelowOrder(_ w0: UInt64, _ w1: UInt64, _ w2: UInt64, _ w3: UInt64) -> Bool {
        let l = order
        if w3 != l.w3 { return w3 < l.w3 }
        if w2 != l.w2 { return w2 < l.w2 }
        if w1 != l.w1 { return w1 < l.w1 }
        return w0 < l.w0
    }

    /// The 32 bytes at `offset` of `bytes` as a scalar, or nil if they encode a number ≥ L
    /// (RFC 8032 §5.1.7, step 1: S must satisfy 0 <= s < L) or the buffer is too short.
    init?(canonical bytes: UnsafeRawBufferPointer, offset: Int = 0) {
        guard offset >= 0, bytes.count >= 32, offset <= bytes.count - 32 else { return nil }
        let w0 = loadLittleEndian64(bytes, offset)
        let w1 = loadLittleEndian64(bytes, offset + 8)
        let w2 = loadLittleEndian64(bytes, offset + 16)
        let w3 = loadLittleEndian64(bytes, offset + 24)
        guard Scalar25519.isBelowOrder(w0, w1, w2, w3) else { return nil }
        self.init(w0, w1, w2, w3)
    }


    /// The width-w non-adjacent form (w = `width`, 2...7; default 5): digits e_i that are 0 or
    /// odd with |e_i| < 2^(w-1), with self = Σ e_i·2^i and at least w - 1 zeros after every
    /// nonzero digit. Width 5 gives digits in ±1...±15, width 7 in ±1...±63.
    ///
    /// While the remaining value n is nonzero: if n is odd, the digit is n mod 2^w taken in
    /// (-2^(w-1), 2^(w-1)), and subtracting it leaves n divisible by 2^w, so the next w - 1 digits
    /// are zero and n ← n / 2^w; if n is even, the digit is zero and n ← n / 2. Since
    /// self < L < 2^253, the form has at most 254 digits (one more than the bit length), so 256
    /// slots always suffice. A width outside 2...7 is clamped into it.
    func nonAdjacentForm(width: Int = 5) -> InlineArray<256, Int8> {
        let w = UInt64(min(max(width, 2), 7))
        let window: UInt64 = 1 << w          // 2^w
        let half = window >> 1               // 2^(w-1)
        var digits = InlineArray<256, Int8>(repeating: 0)
        var n0 = w0
        var n1 = w1
        var n2 = w2
        var n3 = w3
        var i = 0
        while i < 256 && (n0 | n1 | n2 | n3) != 0 {
            if n0 & 1 == 1 {
                let low = n0 & (window - 1)
                if low < half {
                    digits[i] = Int8(truncatingIfNeeded: low)
                    n0 &= ~(window - 1)  // n - low: clears the low w bits, no borrow
                } else {
                    // The digit is low - 2^w, in -(2^(w-1) - 1) ... -1.
                    digits[i] = Int8(truncatingIfNeeded: Int64(bitPattern: low) - Int64(window))
                    // n - digit = n + (2^w - low): adds to a number whose low w bits are `low`,
                    // so the low w bits become zero and a carry enters bit w.
                    let (s0, c0) = n0.addingReportingOverflow(window - low)
                    n0 = s0
                    if c0 {
                        let (s1, c1) = n1.addingReportingOverflow(1)
                        n1 = s1
                        if c1 {
                            let (s2, c2) = n2.addingReportingOverflow(1)
                            n2 = s2
                            if c2 { n3 = n3 &+ 1 }
                        }
                    }
                }
                // n is now divisible by 2^w: digits i + 1 ... i + w - 1 are zero (already so in
                // `digits`), so move on by w places at once: n ← n / 2^w.
                n0 = (n0 &>> w) | (n1 &<< (64 - w))
                n1 = (n1 &>> w) | (n2 &<< (64 - w))
                n2 = (n2 &>> w) | (n3 &<< (64 - w))
                n3 = n3 &>> w
                i += Int(w)
                continue
            }
            // n ← n / 2
            n0 = (n0 >> 1) | (n1 << 63)
            n1 = (n1 >> 1) | (n2 << 63)
            n2 = (n2 >> 1) | (n3 << 63)
            n3 >>= 1
            i += 1
        }
        return digits
    }

    /// The scalar as four little-endian 64-bit words (for tests).
    var words: (UInt64, UInt64, UInt64, UInt64) { (w0, w1, w2, w3) }
}

// MARK: - Constant time (signing)
//
// Everything below handles secrets (the private scalar s, the nonce r, and S = r + k·s). No branch
// and no memory index depends on their values: loops run a fixed number of times, carries and
// borrows become 0/1 words (`sltu`), and the one data-dependent correction (adding L back) is an
// addition of L AND a mask, with the mask hidden from the optimizer (`constantTimeMask`), so that
// LLVM cannot turn it back into a branch (RISC-V has no conditional move).

/// An all-ones word when `bit` is 1, zero when it is 0 (`bit` must be 0 or 1), computed
/// arithmetically and passed through `constantTimeOpaqueZero()`, so that the optimizer cannot
/// tell that the result is one of two values and turn a masked select back into a branch.
@inline(__always)
func constantTimeMask(bit: UInt64) -> UInt64 {
    (0 &- bit) ^ constantTimeOpaqueZero()
}

/// Returns 0. Out of line and unoptimised, so callers cannot see the value: XORing it into a mask
/// stops LLVM from proving the mask is 0 or all ones (and then from rewriting `x & mask` as a
/// select, which the RV64 backend lowers to a branch). `secureZero` relies on the same property of
/// `optnone` functions (docs/crypto.md).
@inline(never) @_optimize(none)
func constantTimeOpaqueZero() -> UInt64 {
    0
}

/// a + b + carry (carry 0 or 1) and the carry out, as words. The carry out of the top bit is
/// computed with bit operations (Hacker's Delight §2-16), not with `addingReportingOverflow`:
/// LLVM compiled `x - (flag ? 1 : 0)` on such a Bool into a conditional branch.
@inline(__always)
func addWithCarry(_ a: UInt64, _ b: UInt64, _ carry: UInt64) -> (sum: UInt64, carry: UInt64) {
    let sum = a &+ b &+ carry
    return (sum, ((a & b) | ((a | b) & ~sum)) >> 63)
}

/// a - b - borrow (borrow 0 or 1) and the borrow out, as words, by bit operations.
@inline(__always)
func subtractWithBorrow(_ a: UInt64, _ b: UInt64, _ borrow: UInt64) -> (difference: UInt64, borrow: UInt64) {
    let difference = a &- b &- borrow
    return (difference, ((~a & b) | (~(a ^ b) & difference)) >> 63)
}

/// a·b + c + d as (high, low): exact, since (2^64 - 1)^2 + 2·(2^64 - 1) = 2^128 - 1.
@inline(__always)
private func multiplyAccumulate(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ d: UInt64) -> (high: UInt64, low: UInt64) {
    let product = a.multipliedFullWidth(by: b)
    let (l1, o1) = addWithCarry(product.low, c, 0)
    let (l2, o2) = addWithCarry(l1, d, 0)
    return (product.high &+ o1 &+ o2, l2)
}

extension Scalar25519 {
    /// A 64-byte little-endian integer (a SHA-512 digest) reduced mod L, in constant time:
    /// verification (RFC 8032 §5.1.7 step 2) and signing (§5.1.6 steps 2 and 4, where the
    /// values r = SHA-512(prefix || M) and r + k·s are secret) use this one reduction.
    ///
    /// Long division one byte at a time, most significant first: t ← 256·r + byte, then r ← t mod L.
    /// With L = 2^252 + δ (δ < 2^125) and r < L, t < 256·L, so q = ⌊t / 2^252⌋ ≤ 256 and
    /// t - q·L = (t mod 2^252) - q·δ lies in (-2^134, 2^252): one subtraction of q·δ (a 134-bit
    /// number), then L AND a mask made from the borrow (zero when the subtraction did not go
    /// negative) is always added, instead of branching on it.
    init(reducingWide bytes: InlineArray<64, UInt8>) {
        var r0: UInt64 = 0
        var r1: UInt64 = 0
        var r2: UInt64 = 0
        var r3: UInt64 = 0
        let l = Scalar25519.order
        let mask60: UInt64 = (1 << 60) - 1
        let digits = bytes.span
        var byteIndex = 63
        while byteIndex >= 0 {
            let t4 = r3 >> 56
            r3 = (r3 << 8) | (r2 >> 56)
            r2 = (r2 << 8) | (r1 >> 56)
            r1 = (r1 << 8) | (r0 >> 56)
            r0 = (r0 << 8) | UInt64(digits[byteIndex])
            let q = (t4 << 4) | (r3 >> 60)
            r3 &= mask60
            let m0 = q.multipliedFullWidth(by: l.w0)
            let m1 = q.multipliedFullWidth(by: l.w1)
            let (p1, c1) = addWithCarry(m0.high, m1.low, 0)
            let p2 = m1.high &+ c1
            let (s0, b0) = subtractWithBorrow(r0, m0.low, 0)
            let (s1, b1) = subtractWithBorrow(r1, p1, b0)
            let (s2, b2) = subtractWithBorrow(r2, p2, b1)
            let (s3, b3) = subtractWithBorrow(r3, 0, b2)
            // Add L when negative, 0 otherwise: mod 2^256 either way the remainder is in [0, L).
            let mask = constantTimeMask(bit: b3)
            let (a0, c0) = addWithCarry(s0, l.w0 & mask, 0)
            let (a1, d1) = addWithCarry(s1, l.w1 & mask, c0)
            let (a2, d2) = addWithCarry(s2, 0, d1)
            r0 = a0
            r1 = a1
            r2 = a2
            r3 = s3 &+ (l.w3 & mask) &+ d2
            byteIndex -= 1
        }
        self.init(r0, r1, r2, r3)
    }

    /// The 32 bytes at the start of `bytes` (little-endian) reduced mod L in constant time; the
    /// caller guarantees 32 bytes are there. For the clamped secret scalar of RFC 8032 §5.1.5.
    init(reducingConstantTime32 bytes: UnsafeRawBufferPointer) {
        var wide = InlineArray<64, UInt8>(repeating: 0)
        var i = 0
        while i < 32 {
            wide[i] = bytes[i]
            i += 1
        }
        self.init(reducingWide: wide)
        secureZero(&wide)
    }

    /// (k·s + r) mod L in constant time (RFC 8032 §5.1.6 step 5: S = (r + k·s) mod L).
    ///
    /// A 4 × 4-word schoolbook product (k, s < L < 2^253, so k·s < 2^506), r added with its
    /// carry run through all the upper words (k·s + r < 2^507), then the constant-time wide
    /// reduction. Every intermediate is wiped before returning.
    static func multiplyAddConstantTime(_ k: Scalar25519, _ s: Scalar25519, _ r: Scalar25519) -> Scalar25519 {
        var a = InlineArray<4, UInt64>(repeating: 0)
        var b = InlineArray<4, UInt64>(repeating: 0)
        a[0] = k.w0; a[1] = k.w1; a[2] = k.w2; a[3] = k.w3
        b[0] = s.w0; b[1] = s.w1; b[2] = s.w2; b[3] = s.w3
        var t = InlineArray<8, UInt64>(repeating: 0)
        var i = 0
        while i < 4 {
            var carry: UInt64 = 0
            var j = 0
            while j < 4 {
                let (high, low) = multiplyAccumulate(a[i], b[j], t[i + j], carry)
                t[i + j] = low
                carry = high
                j += 1
            }
            t[i + 4] = carry
            i += 1
        }
        // + r, the carry rippling through every word (no early stop).
        var carry: UInt64 = 0
        i = 0
        while i < 8 {
            let addend: UInt64
            switch i {   // on the public loop index only
            case 0: addend = r.w0
            case 1: addend = r.w1
            case 2: addend = r.w2
            case 3: addend = r.w3
            default: addend = 0
            }
            let (high, low) = multiplyAccumulate(addend, 1, t[i], carry)
            t[i] = low
            carry = high
            i += 1
        }
        var wide = InlineArray<64, UInt8>(repeating: 0)
        i = 0
        while i < 64 {
            wide[i] = UInt8(truncatingIfNeeded: t[i >> 3] >> UInt64(8 * (i & 7)))
            i += 1
        }
        let result = Scalar25519(reducingWide: wide)
        secureZero(&a)
        secureZero(&b)
        secureZero(&t)
        secureZero(&wide)
        return result
    }

    /// The signed radix-16 digits e_0 ... e_63 of the scalar: self = Σ e_i·16^i with every
    /// e_i in -8...7 (RFC 8032 does not prescribe a method; this is the fixed-window recoding
    /// for the constant-time [s]B in Ed25519Signing.swift).
    ///
    /// Each 4-bit nibble n_i plus the carry c_i from below (v = n_i + c_i, 0...16) becomes
    /// e_i = v - 16·c_(i+1) with c_(i+1) = ⌊(v + 8) / 16⌋, so e_i is in -8...7. The carry is a
    /// shift, not a branch, and the loop always makes 64 steps. Since self < L < 2^253, the top
    /// nibble is at most 1, so no carry leaves digit 63.
    func signedRadix16() -> InlineArray<64, Int8> {
        var digits = InlineArray<64, Int8>(repeating: 0)
        var carry: Int64 = 0
        var i = 0
        while i < 64 {
            let word: UInt64
            switch i >> 4 {   // on the public loop index only
            case 0: word = w0
            case 1: word = w1
            case 2: word = w2
            default: word = w3
            }
            let v = Int64(bitPattern: (word >> UInt64(4 * (i & 15))) & 15) &+ carry
            carry = (v &+ 8) >> 4
            digits[i] = Int8(truncatingIfNeeded: v &- (carry << 4))
            i += 1
        }
        return digits
    }
}

/// The little-endian 64-bit word at `offset` (the caller checks that 8 bytes are there).
@inline(__always)
func loadLittleEndian64(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
    var word: UInt64 = 0
    var i = 7
    while i >= 0 {
        word = (word << 8) | UInt64(bytes[offset + i])
        i -= 1
    }
    return word
}
