// Ed25519Signing: pure Ed25519 key generation and signing (RFC 8032 §5.1.5, §5.1.6), in constant time, for the device attestation key.
//
// Constant time (docs/ed25519.md gives the whole argument): no branch and no memory index depends
// on the seed, the secret scalar s, the prefix or the nonce r.
//   * [s]B and [r]B (`EdwardsPoint.baseMultipleConstantTime`): the scalar is recoded into 64
//     signed radix-16 digits in -8...7 (Scalar25519.signedRadix16, arithmetic only); the digits
//     are consumed in a fixed order, and each addend is chosen by reading all eight entries of a
//     row of the precomputed table (Ed25519SigningTable.swift) and keeping one with masked moves,
//     then negated or not with masked moves. The additions and doublings always run, 64 and 60 of
//     them, and the RFC 8032 §5.1.4 formulas are complete, so adding the neutral element (digit 0)
//     needs no special case.
//   * The scalar arithmetic (r mod L, s mod L, k·s + r mod L) uses the constant-time functions of
//     Scalar25519.swift.
//   * The field arithmetic has no branches at all; the encoding's inversion is a fixed chain of
//     squarings and multiplications (Field25519.inverse).
// Public data is handled freely: the message and its length, A, R, k = SHA-512(R || A || M).
// Secrets held in this file's buffers (hashes, digits, scalars) are wiped with `secureZero`
// before returning; `Ed25519PrivateKey.wipe()` clears the key itself.

/// An Ed25519 signature R || S (RFC 8032 §5.1.6): 64 bytes.
public struct Ed25519Signature: Equatable, Sendable {
    public var bytes: InlineArray<64, UInt8>

    public init(bytes: InlineArray<64, UInt8>) { self.bytes = bytes }

    /// Calls `body` with the 64 bytes (valid only during the call).
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeBytes(of: bytes) { body($0) }
    }

    public static func == (lhs: Ed25519Signature, rhs: Ed25519Signature) -> Bool {
        lhs.withBytes { l in rhs.withBytes { r in constantTimeEquals(l, r) } }
    }
}

/// An Ed25519 private key (RFC 8032 §5.1.5) expanded from its 32-byte seed: the secret scalar s,
/// the 32-byte prefix that makes nonces, and the public key A = [s]B.
///
/// A plain value: every copy holds the secret. Keep one, and call `wipe()` when done with it.
public struct Ed25519PrivateKey: Sendable {
    /// The length of a seed (the RFC's "32 bytes of cryptographically secure random data").
    public static let seedSize = 32

    /// s, the clamped lower half of SHA-512(seed), reduced mod L (which changes no [s]B).
    var scalar: Scalar25519
    /// The upper half of SHA-512(seed): hashed before the message to make the nonce r.
    var prefix: InlineArray<32, UInt8>
    /// A = [s]B and its encoding.
    public let publicKey: Ed25519PublicKey

    /// Expands a 32-byte seed (RFC 8032 §5.1.5). Returns nil unless `seed` is exactly 32 bytes.
    /// The caller still owns, and should wipe, its copy of the seed.
    public init?(seed: UnsafeRawBufferPointer) {
        guard seed.count == Ed25519PrivateKey.seedSize else { return nil }
        // Step 1: h = SHA-512(seed).
        var h = SHA512.hash(seed)
        // Step 2: clamp the lower half: clear the three low bits of byte 0, clear bit 7 and set
        // bit 6 of byte 31. Read as little-endian, that is s.
        h.bytes[0] &= 248
        h.bytes[31] &= 127
        h.bytes[31] |= 64
        scalar = withUnsafeBytes(of: h.bytes) { Scalar25519(reducingConstantTime32: $0) }
        var prefix = InlineArray<32, UInt8>(repeating: 0)
        var i = 0
        while i < 32 {
            prefix[i] = h.bytes[32 + i]
            i += 1
        }
        self.prefix = prefix
        secureZero(&prefix)
        secureZero(&h)
        // Steps 3 and 4: A = [s]B, encoded (RFC 8032 §5.1.2).
        let a = EdwardsPoint.baseMultipleConstantTime(scalar)
        publicKey = Ed25519PublicKey(encoding: a.encodedBytes(), point: a)
    }

    /// The 32-byte encoding of A (RFC 8032 §5.1.5 step 4), as a public key's bytes.
    public func withPublicKeyBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        publicKey.withBytes(body)
    }

    /// The signature of `message` (RFC 8032 §5.1.6, pure Ed25519: no context, no prehash).
    /// Deterministic: the same key and message always give the same signature.
    public func sign(message: UnsafeRawBufferPointer) -> Ed25519Signature {
        // Step 2: r = SHA-512(dom2(F, C) || prefix || PH(M)) mod L; pure Ed25519 has an empty
        // dom2 and PH the identity.
        var hash = SHA512()
        withUnsafeBytes(of: prefix) { hash.update($0) }
        hash.update(message)
        var rDigest = hash.finalize()
        secureZero(&hash)
        var r = Scalar25519(reducingWide: rDigest.bytes)
        secureZero(&rDigest)

        // Step 3: R = [r]B, encoded.
        let rEncoding = EdwardsPoint.baseMultipleConstantTime(r).encodedBytes()

        // Step 4: k = SHA-512(dom2(F, C) || R || A || PH(M)) mod L. All of it is public (k is
        // recomputed by every verifier), so the ordinary reduction does.
        var kHash = SHA512()
        withUnsafeBytes(of: rEncoding) { kHash.update($0) }
        withUnsafeBytes(of: publicKey.encoding) { kHash.update($0) }
        kHash.update(message)
        let k = Scalar25519(reducingWide: kHash.finalize().bytes)

        // Step 5: S = (r + k·s) mod L.
        var s = Scalar25519.multiplyAddConstantTime(k, scalar, r)
        secureZero(&r)

        // Step 6: the signature is R || S, S as 32 little-endian bytes.
        var out = InlineArray<64, UInt8>(repeating: 0)
        var i = 0
        while i < 32 {
            out[i] = rEncoding[i]
            i += 1
        }
        let (s0, s1, s2, s3) = s.words
        storeLittleEndian64(&out, 32, s0)
        storeLittleEndian64(&out, 40, s1)
        storeLittleEndian64(&out, 48, s2)
        storeLittleEndian64(&out, 56, s3)
        secureZero(&s)
        return Ed25519Signature(bytes: out)
    }

    /// Overwrites the secret scalar and the prefix with zeros (`secureZero`). The key signs
    /// garbage afterwards; the public key stays readable.
    public mutating func wipe() {
        secureZero(&scalar)
        secureZero(&prefix)
    }
}

/// Stores `word` little-endian at `offset` of a 64-byte array.
@inline(__always)
private func storeLittleEndian64(_ bytes: inout InlineArray<64, UInt8>, _ offset: Int, _ word: UInt64) {
    var i = 0
    while i < 8 {
        bytes[offset + i] = UInt8(truncatingIfNeeded: word >> UInt64(8 * i))
        i += 1
    }
}

extension AffineCachedPoint {
    /// The neutral element (0, 1) as an affine addend: (y + x, y - x, 2d·x·y) = (1, 1, 0).
    static var identity: AffineCachedPoint { AffineCachedPoint(yPlusX: .one, yMinusX: .one, t2d: .zero) }
}

extension Field25519 {
    /// self ← other where `mask` is all ones, unchanged where it is zero; no branch.
    @inline(__always)
    mutating func assign(_ other: Field25519, mask: UInt64) {
        l0 ^= (l0 ^ other.l0) & mask
        l1 ^= (l1 ^ other.l1) & mask
        l2 ^= (l2 ^ other.l2) & mask
        l3 ^= (l3 ^ other.l3) & mask
        l4 ^= (l4 ^ other.l4) & mask
    }

    /// Exchanges self and other where `mask` is all ones; no branch.
    @inline(__always)
    mutating func swap(with other: inout Field25519, mask: UInt64) {
        let t0 = (l0 ^ other.l0) & mask
        let t1 = (l1 ^ other.l1) & mask
        let t2 = (l2 ^ other.l2) & mask
        let t3 = (l3 ^ other.l3) & mask
        let t4 = (l4 ^ other.l4) & mask
        l0 ^= t0; other.l0 ^= t0
        l1 ^= t1; other.l1 ^= t1
        l2 ^= t2; other.l2 ^= t2
        l3 ^= t3; other.l3 ^= t3
        l4 ^= t4; other.l4 ^= t4
    }
}

extension EdwardsPoint {
    /// The 32-byte encoding (RFC 8032 §5.1.2). The inversion inside is a fixed exponentiation
    /// chain; the one data-dependent step is placing x's low bit in bit 255, which the encoding
    /// publishes anyway.
    func encodedBytes() -> InlineArray<32, UInt8> {
        let (w0, w1, w2, w3) = encodedWords()
        var out = InlineArray<32, UInt8>(repeating: 0)
        var i = 0
        while i < 8 {
            let shift = UInt64(8 * i)
            out[i] = UInt8(truncatingIfNeeded: w0 >> shift)
            out[8 + i] = UInt8(truncatingIfNeeded: w1 >> shift)
            out[16 + i] = UInt8(truncatingIfNeeded: w2 >> shift)
            out[24 + i] = UInt8(truncatingIfNeeded: w3 >> shift)
            i += 1
        }
        return out
    }

    /// [s]B in constant time, for a secret s < L (RFC 8032 §5.1.5 step 3, §5.1.6 step 3).
    ///
    /// With s = Σ e_i·16^i (64 signed digits in -8...7) and i = 16·a + b (row a in 0...3,
    /// column b in 0...15), [s]B = Σ_b 16^b · Σ_a [e_(16a+b)]·T_a with T_a = [2^(64a)]B. Horner's
    /// rule over b from 15 down to 0: multiply the accumulator by 16 (four doublings), then add
    /// [e_(16a+b)]T_a for a = 0...3, each read from row a of the table (entries [1]T_a...[8]T_a)
    /// by a constant-time scan. 60 doublings and 64 additions whatever s is.
    static func baseMultipleConstantTime(_ s: Scalar25519) -> EdwardsPoint {
        var digits = s.signedRadix16()
        var acc = EdwardsPoint.identity
        var column = 15
        while column >= 0 {
            if column != 15 { acc = timesSixteen(acc) }   // public loop index
            var row = 0
            while row < SigningBaseTable.rows {
                let digit = digits.span[16 * row + column]   // public index; the value is secret
                addSelected(&acc, row: row, digit: digit)
                row += 1
            }
            column -= 1
        }
        secureZero(&digits)
        return acc
    }

    /// 16·P: three doublings to projective form, the last to extended.
    @inline(never)
    static func timesSixteen(_ p: EdwardsPoint) -> EdwardsPoint {
        let p2 = p.projective.doubled().projective
        let p4 = p2.doubled().projective
        let p8 = p4.doubled().projective
        return p8.doubled().extended
    }

    /// acc ← acc + [digit]·T_row, digit in -8...8, in constant time.
    @inline(never)
    static func addSelected(_ acc: inout EdwardsPoint, row: Int, digit: Int8) {
        var entry = SigningBaseTable.select(row: row, digit: digit)
        acc = (acc + entry).extended
        secureZero(&entry)
    }
}

extension SigningBaseTable {
    /// The number of rows T_0 ... T_3 (T_a = [2^(64a)]B) and of entries per row ([1]T_a...[8]T_a).
    static let rows = 4
    static let entriesPerRow = 8

    /// [digit]·T_row as an affine addend, digit in -8...8, without branching on the digit or
    /// indexing by it: every entry of the row is read, and the one whose multiple equals |digit|
    /// is kept by a masked move (none for digit 0, which leaves the neutral element); then y + x
    /// and y - x are swapped and 2d·x·y negated by mask when digit < 0 (-P = (-x, y)).
    @inline(never)
    static func select(row: Int, digit: Int8) -> AffineCachedPoint {
        let d = Int64(digit)
        let negative = UInt64(bitPattern: d >> 63)               // all ones when digit < 0
        let magnitude = UInt64(bitPattern: (d ^ (d >> 63)) &- (d >> 63))   // |digit|, 0...8
        let opaque = constantTimeOpaqueZero()
        var result = AffineCachedPoint.identity
        var j = 1
        while j <= entriesPerRow {
            // difference = 0 exactly when magnitude = j; the top bit of (x | -x) is set for x ≠ 0.
            let difference = magnitude ^ UInt64(j)
            let mask = ((((difference | (0 &- difference)) >> 63) &- 1)) ^ opaque
            let candidate = entry(entriesPerRow * row + j - 1)   // public index
            result.yPlusX.assign(candidate.yPlusX, mask: mask)
            result.yMinusX.assign(candidate.yMinusX, mask: mask)
            result.t2d.assign(candidate.t2d, mask: mask)
            j += 1
        }
        let negate = negative ^ opaque
        result.yPlusX.swap(with: &result.yMinusX, mask: negate)
        result.t2d.assign(Field25519.zero - result.t2d, mask: negate)
        return result
    }
}
