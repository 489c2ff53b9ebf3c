// Ed25519: pure Ed25519 signature verification (RFC 8032 §5.1.7), cofactorless and strict, for verified boot.
//
// The kernel checks a bundle manifest's signature against public keys built into its image.
// Choices (docs/ed25519.md explains each):
//   * S must be below L (RFC 8032 §5.1.7 step 1); S + L and other S ≥ L are rejected.
//   * A and R must be canonical encodings (RFC 8032 §5.1.3): y < p, and not x = 0 with the sign
//     bit set. A is checked when the key is built; R by comparing encodings (below).
//   * A public key of small order (one of the eight points with [8]A = 0) is refused: such a
//     key would accept forged signatures. A small-order R is not refused (RFC 8032 does not).
//   * The check is the cofactorless equation [S]B = R + [k]A (RFC 8032 §5.1.7 step 3 allows it),
//     computed as the encoding of [S]B - [k]A compared with the 32 bytes of R. A canonical R
//     equals that point exactly when the encodings match, and any other R matches nothing.
//   * Not constant time: every input (key, message, signature) is public.
// No heap, no traps on any input: malformed keys give nil, malformed signatures give false.
// Cost (RV64, -Osize, measured under QEMU with -icount, `make bench`): about 0.54 M instructions
// per verify of a 1024-byte message and 36 k per key decode; about 6 KiB of stack (docs/ed25519.md).
// Call it on the boot stack, not an 8 KiB hart stack.

/// An Ed25519 public key A (RFC 8032 §5.1.5): a canonical 32-byte point encoding, decoded once.
public struct Ed25519PublicKey: Sendable {
    /// The 32 bytes as given (canonical, since decoding checked them); hashed into k.
    let encoding: InlineArray<32, UInt8>
    /// The decoded point A.
    let point: EdwardsPoint

    /// Decodes a 32-byte public key (RFC 8032 §5.1.3). Returns nil unless `bytes` is exactly 32
    /// bytes holding a canonical encoding (y < p; not x = 0 with the sign bit set) of a point on
    /// the curve whose order is not small ([8]A ≠ 0).
    public init?(bytes: UnsafeRawBufferPointer) {
        guard bytes.count == 32 else { return nil }
        let w0 = loadLittleEndian64(bytes, 0)
        let w1 = loadLittleEndian64(bytes, 8)
        let w2 = loadLittleEndian64(bytes, 16)
        let w3 = loadLittleEndian64(bytes, 24)
        guard let point = EdwardsPoint(encoding: w0, w1, w2, w3), !point.hasSmallOrder else {
            return nil
        }
        var encoding = InlineArray<32, UInt8>(repeating: 0)
        var i = 0
        while i < 32 {
            encoding[i] = bytes[i]
            i += 1
        }
        self.encoding = encoding
        self.point = point
    }

    /// A key whose point and canonical encoding are already known (a signing key's [s]B and its
    /// encoding, Ed25519Signing.swift): no decoding, no checks.
    init(encoding: InlineArray<32, UInt8>, point: EdwardsPoint) {
        self.encoding = encoding
        self.point = point
    }

    /// A placeholder (the identity point, encoding zero) for fixed-size tables of keys; never a
    /// key anyone verifies with (decoding refuses the identity: it has small order).
    static let unused = Ed25519PublicKey(encoding: InlineArray(repeating: 0), point: .identity)

    /// Calls `body` with the key's 32-byte encoding (valid only during the call).
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeBytes(of: encoding) { body($0) }
    }
}

/// Ed25519 signature verification (RFC 8032 §5.1.7).
public enum Ed25519 {
    /// The length of a signature R || S (RFC 8032 §5.1.6).
    public static let signatureSize = 64
    /// The length of a public key (RFC 8032 §5.1.5).
    public static let publicKeySize = 32

    /// RFC 8032 §5.1.7, cofactorless: [S]B == R + [k]A, with S < L required and canonical
    /// encodings of A and R required. Returns false for a signature that is not 64 bytes.
    public static func verify(
        signature: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer, publicKey: Ed25519PublicKey
    ) -> Bool {
        guard signature.count == signatureSize, let signatureBase = signature.baseAddress else { return false }

        // Step 1: S is the second half, a little-endian integer that must satisfy 0 <= S < L.
        guard let s = Scalar25519(canonical: signature, offset: 32) else { return false }
        // R is the first half. A non-canonical y (≥ p) can never equal the encoding computed in
        // step 3; refusing it here only saves the work.
        let r0 = loadLittleEndian64(signature, 0)
        let r1 = loadLittleEndian64(signature, 8)
        let r2 = loadLittleEndian64(signature, 16)
        let r3 = loadLittleEndian64(signature, 24)
        guard Field25519.isCanonical(words: r0, r1, r2, r3) else { return false }

        // Step 2: k = SHA-512(dom2(F, C) || R || A || PH(M)) mod L; for pure Ed25519, dom2 is
        // empty and PH is the identity, so k = SHA-512(R || A || M) mod L.
        var hash = SHA512()
        hash.update(UnsafeRawBufferPointer(start: signatureBase, count: 32))
        withUnsafeBytes(of: publicKey.encoding) { hash.update($0) }
        hash.update(message)
        let k = Scalar25519(reducingWide: hash.finalize().bytes)

        // Step 3, cofactorless: [S]B = R + [k]A, checked as encode([S]B - [k]A) == R. The
        // encoding is canonical and injective, so this holds exactly when R is the canonical
        // encoding of the point [S]B - [k]A; R strings that decode to nothing never match.
        let check = EdwardsPoint.baseMultipleMinusMultiple(s: s, k: k, a: publicKey.point).encodedWords()
        return check.0 == r0 && check.1 == r1 && check.2 == r2 && check.3 == r3
    }
}
