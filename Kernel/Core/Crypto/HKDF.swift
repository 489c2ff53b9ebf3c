// HKDF with HMAC-SHA-512 (RFC 5869): extract a pseudorandom key from input keying material,
// expand it into up to 255 × 64 bytes of output keying material. Heap-free.
//
// Implemented from RFC 5869, "HMAC-based Extract-and-Expand Key Derivation Function (HKDF)":
//   2.2  HKDF-Extract(salt, IKM) = HMAC-Hash(salt, IKM); a missing salt is HashLen zero bytes.
//        An empty salt gives the same PRK (HMAC pads a short key with zeros to the block size,
//        FIPS 198-1 step 2), so "no salt" is simply an empty buffer here;
//   2.3  HKDF-Expand(PRK, info, L): T(0) = empty, T(i) = HMAC-Hash(PRK, T(i-1) ‖ info ‖ i)
//        for i = 1…N with N = ceil(L / HashLen) and the counter i a single octet, so
//        L <= 255 × HashLen; the output is the first L bytes of T(1) ‖ … ‖ T(N).
// HashLen is 64 (SHA-512). The HMAC is keyed with the PRK once and the keyed state copied for
// each T(i). The intermediate blocks and keyed states are wiped before returning.

/// HKDF-SHA-512 (RFC 5869).
public enum HKDFSHA512 {
    /// HashLen: the size of a PRK and of each expansion block T(i).
    public static let hashLength = 64
    /// The largest output HKDF-Expand can produce: 255 × HashLen = 16320 bytes.
    public static let maximumOutputLength = 255 * 64

    /// HKDF-Extract (RFC 5869, 2.2): PRK = HMAC-SHA-512(salt, ikm). Pass an empty `salt` for
    /// the RFC's "not provided" (HashLen zero bytes gives the same result).
    public static func extract(salt: UnsafeRawBufferPointer, ikm: UnsafeRawBufferPointer) -> SHA512Digest {
        HMACSHA512.authenticate(key: salt, message: ikm)
    }

    /// HKDF-Expand (RFC 5869, 2.3): fills all of `output` (L = `output.count` bytes) with
    /// output keying material derived from `prk` and `info`.
    ///
    /// Returns false, writing nothing, if L exceeds 255 × 64 bytes. L = 0 succeeds and writes
    /// nothing. RFC 5869 asks for a PRK of at least HashLen bytes; any length is accepted (it
    /// is an HMAC key). `output` must not overlap `prk` or `info`.
    public static func expand(
        prk: UnsafeRawBufferPointer, info: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) -> Bool {
        let length = output.count
        guard length <= maximumOutputLength else { return false }
        guard length > 0, let out = output.baseAddress else { return true }

        var keyed = HMACSHA512(key: prk)
        var previous = SHA512Digest(bytes: InlineArray(repeating: 0))   // T(i-1)
        var counter: UInt8 = 1
        var offset = 0
        while offset < length {
            var mac = keyed
            if counter > 1 {                                // T(0) is the empty string
                withUnsafeBytes(of: previous.bytes) { mac.update($0) }
            }
            mac.update(info)
            withUnsafeBytes(of: counter) { mac.update($0) }
            previous = mac.finalize()                       // finalize wipes `mac`
            let take = min(hashLength, length - offset)
            withUnsafeBytes(of: previous.bytes) { block in
                UnsafeMutableRawBufferPointer(start: out + offset, count: take)
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: block[0..<take]))
            }
            offset += take
            counter &+= 1                                   // at most 255 blocks: no wrap is used
        }
        keyed.wipe()
        secureZero(&previous)
        return true
    }

    /// HKDF-Expand with a PRK from `extract`.
    public static func expand(
        prk: SHA512Digest, info: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) -> Bool {
        var key = prk
        let ok = withUnsafeBytes(of: key.bytes) { expand(prk: $0, info: info, into: output) }
        secureZero(&key)
        return ok
    }

    /// Extract then expand in one call: fills `output` with OKM for (salt, ikm, info).
    /// Returns false, writing nothing, if `output` is longer than 255 × 64 bytes.
    public static func deriveKey(
        salt: UnsafeRawBufferPointer, ikm: UnsafeRawBufferPointer, info: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer
    ) -> Bool {
        guard output.count <= maximumOutputLength else { return false }
        var prk = extract(salt: salt, ikm: ikm)
        let ok = expand(prk: prk, info: info, into: output)
        secureZero(&prk)
        return ok
    }
}
