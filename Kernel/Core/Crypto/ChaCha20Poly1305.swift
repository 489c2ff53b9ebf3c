// AEAD_CHACHA20_POLY1305 (RFC 8439, 2.8): authenticated encryption with associated data over
// raw buffers, out of place or in place. Heap-free; the tag is checked in constant time
// before anything is decrypted.
//
// Implemented from RFC 8439, "ChaCha20 and Poly1305 for IETF Protocols":
//   2.6  the one-time Poly1305 key: the first 32 bytes of the ChaCha20 block for
//        (key, counter 0, nonce);
//   2.8  encryption: ChaCha20 from counter 1; the tag is Poly1305 over
//          AAD ‖ pad16(AAD) ‖ ciphertext ‖ pad16(ciphertext) ‖ len(AAD) ‖ len(ciphertext)
//        (lengths as 64-bit little-endian byte counts, pad16 up to 15 zero bytes);
//        decryption MACs the ciphertext (not the plaintext) and compares the tags;
//   2.8  limits: plaintext at most 274,877,906,880 bytes ((2^32 - 1) blocks of 64 bytes);
//   4    the tag comparison MUST be constant time; the full 16-byte tag is required.
//
// Open verifies before it decrypts: on a mismatch it returns false having written nothing
// to the plaintext buffer (which matters in place: the ciphertext is left as it was).
// Every function returns false, writing nothing, for a key that is not 32 bytes, a nonce
// that is not 12, a tag buffer that is not 16, mismatched lengths, a plaintext over the
// limit, or an output that partially overlaps its input (exactly the same memory, i.e. in
// place, is fine). The one-time key, keystream and MAC state are wiped before returning.

/// AEAD_CHACHA20_POLY1305 (RFC 8439, 2.8).
public enum ChaCha20Poly1305 {
    /// Key size in bytes (K_LEN).
    public static let keySize = 32
    /// Nonce size in bytes (N_MIN = N_MAX).
    public static let nonceSize = 12
    /// Tag size in bytes.
    public static let tagSize = 16
    /// P_MAX: (2^32 - 1) keystream blocks of 64 bytes after the Poly1305 key block.
    public static let maximumPlaintextLength: UInt64 = 274_877_906_880

    // MARK: Detached tag

    /// Encrypts `plaintext` into `ciphertext` (same length; may be the same memory) and
    /// writes the 16-byte tag over (`aad`, ciphertext) to `tag`.
    public static func seal(
        key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
        plaintext: UnsafeRawBufferPointer, ciphertext: UnsafeMutableRawBufferPointer,
        tag: UnsafeMutableRawBufferPointer
    ) -> Bool {
        guard validSizes(key: key, nonce: nonce, tagCount: tag.count),
              plaintext.count == ciphertext.count,
              UInt64(plaintext.count) <= maximumPlaintextLength,
              sameOrDisjoint(plaintext, UnsafeRawBufferPointer(ciphertext)),
              disjoint(UnsafeRawBufferPointer(tag), plaintext),
              disjoint(UnsafeRawBufferPointer(tag), UnsafeRawBufferPointer(ciphertext))
        else { return false }

        var (cipher, mac) = start(key: key, nonce: nonce)
        cipher.xor(plaintext, into: ciphertext)
        cipher.wipe()
        var computed = authenticate(&mac, aad: aad, ciphertext: UnsafeRawBufferPointer(ciphertext))
        withUnsafeBytes(of: computed.bytes) { tag.copyMemory(from: $0) }
        secureZero(&computed)
        return true
    }

    /// Checks `tag` over (`aad`, `ciphertext`) in constant time and, only if it matches,
    /// decrypts `ciphertext` into `plaintext` (same length; may be the same memory).
    /// Returns false, with `plaintext` untouched, if the tag does not match.
    public static func open(
        key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
        ciphertext: UnsafeRawBufferPointer, tag: UnsafeRawBufferPointer,
        plaintext: UnsafeMutableRawBufferPointer
    ) -> Bool {
        guard validSizes(key: key, nonce: nonce, tagCount: tag.count),
              plaintext.count == ciphertext.count,
              UInt64(ciphertext.count) <= maximumPlaintextLength,
              sameOrDisjoint(ciphertext, UnsafeRawBufferPointer(plaintext)),
              disjoint(tag, UnsafeRawBufferPointer(plaintext))
        else { return false }

        var (cipher, mac) = start(key: key, nonce: nonce)
        var computed = authenticate(&mac, aad: aad, ciphertext: ciphertext)
        let valid = withUnsafeBytes(of: computed.bytes) { constantTimeEquals($0, tag) }
        secureZero(&computed)
        if valid { cipher.xor(ciphertext, into: plaintext) }
        cipher.wipe()
        return valid
    }

    // MARK: Combined ciphertext ‖ tag

    /// Encrypts `plaintext` and writes ciphertext ‖ tag to `sealed`, which must be exactly
    /// `plaintext.count + 16` bytes. `sealed` may start at `plaintext` (in place, with 16
    /// bytes of room after the message).
    public static func seal(
        key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
        plaintext: UnsafeRawBufferPointer, into sealed: UnsafeMutableRawBufferPointer
    ) -> Bool {
        guard sealed.count == plaintext.count + tagSize else { return false }
        let messageCount = plaintext.count
        return seal(key: key, nonce: nonce, aad: aad, plaintext: plaintext,
                    ciphertext: UnsafeMutableRawBufferPointer(rebasing: sealed[0..<messageCount]),
                    tag: UnsafeMutableRawBufferPointer(rebasing: sealed[messageCount...]))
    }

    /// Opens `sealed` (ciphertext ‖ 16-byte tag) into `plaintext`, which must be exactly
    /// `sealed.count - 16` bytes and may start at `sealed` (in place). Returns false, with
    /// `plaintext` untouched, if `sealed` is shorter than a tag or the tag does not match.
    public static func open(
        key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
        sealed: UnsafeRawBufferPointer, into plaintext: UnsafeMutableRawBufferPointer
    ) -> Bool {
        guard sealed.count >= tagSize, plaintext.count == sealed.count - tagSize else { return false }
        let messageCount = plaintext.count
        return open(key: key, nonce: nonce, aad: aad,
                    ciphertext: UnsafeRawBufferPointer(rebasing: sealed[0..<messageCount]),
                    tag: UnsafeRawBufferPointer(rebasing: sealed[messageCount...]),
                    plaintext: plaintext)
    }

    // MARK: In place

    /// Encrypts `buffer` in place and writes the tag to `tag` (16 bytes, outside `buffer`).
    public static func sealInPlace(
        key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
        buffer: UnsafeMutableRawBufferPointer, tag: UnsafeMutableRawBufferPointer
    ) -> Bool {
        seal(key: key, nonce: nonce, aad: aad, plaintext: UnsafeRawBufferPointer(buffer),
             ciphertext: buffer, tag: tag)
    }

    /// Checks `tag` and, only if it matches, decrypts `buffer` in place. Returns false with
    /// `buffer` unchanged if the tag does not match.
    public static func openInPlace(
        key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
        buffer: UnsafeMutableRawBufferPointer, tag: UnsafeRawBufferPointer
    ) -> Bool {
        open(key: key, nonce: nonce, aad: aad, ciphertext: UnsafeRawBufferPointer(buffer),
             tag: tag, plaintext: buffer)
    }
}

// MARK: - The construction

extension ChaCha20Poly1305 {
    static func validSizes(key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, tagCount: Int) -> Bool {
        key.count == keySize && nonce.count == nonceSize && tagCount == tagSize
    }

    /// True if the two buffers are the same memory or do not overlap at all (empty buffers
    /// overlap nothing).
    static func sameOrDisjoint(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        if a.count == 0 || b.count == 0 { return true }
        if a.baseAddress == b.baseAddress && a.count == b.count { return true }
        return disjoint(a, b)
    }

    static func disjoint(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count > 0, b.count > 0, let pa = a.baseAddress, let pb = b.baseAddress else { return true }
        return pa + a.count <= pb || pb + b.count <= pa
    }

    /// The one-time Poly1305 key from block 0 (RFC 8439, 2.6) and the cipher positioned at
    /// block 1 for the message (2.8).
    static func start(key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer) -> (ChaCha20, Poly1305) {
        var cipher = ChaCha20(key: key, nonce: nonce, counter: 0)
        var block0 = InlineArray<8, UInt64>(repeating: 0)
        let mac = withUnsafeMutableBytes(of: &block0) { block in
            cipher.nextBlock(into: block)
            return Poly1305(key: UnsafeRawBufferPointer(rebasing: block[0..<Poly1305.keySize]))
        }
        secureZero(&block0)
        return (cipher, mac)
    }

    /// The tag of 2.8: Poly1305 over AAD ‖ pad16 ‖ ciphertext ‖ pad16 ‖ len(AAD) ‖ len(ciphertext).
    /// Finalizing wipes `mac`.
    static func authenticate(
        _ mac: inout Poly1305, aad: UnsafeRawBufferPointer, ciphertext: UnsafeRawBufferPointer
    ) -> Poly1305Tag {
        mac.update(aad)
        mac.padToBlockBoundary()
        mac.update(ciphertext)
        mac.padToBlockBoundary()
        var lengths = InlineArray<2, UInt64>(repeating: 0)
        lengths[0] = UInt64(aad.count).littleEndian
        lengths[1] = UInt64(ciphertext.count).littleEndian
        withUnsafeBytes(of: lengths) { mac.update($0) }
        return mac.finalize()
    }
}
