// HMAC-SHA-512 (RFC 2104, FIPS 198-1): heap-free, streaming; plus the shared constant-time
// comparison and secure-wipe helpers used by every symmetric primitive in Core.
//
// Implemented from FIPS PUB 198-1, "The Keyed-Hash Message Authentication Code (HMAC)"
// (NIST, July 2008), section 4, with H = SHA-512 (B = 128-byte block, L = 64-byte output):
//   steps 1-3  K0: the key itself if it is exactly B bytes, zero-padded to B bytes if shorter,
//              H(K) zero-padded to B bytes if longer;
//   steps 4-6  H((K0 ⊕ ipad) ‖ text) with ipad = 0x36 repeated B times;
//   steps 7-9  H((K0 ⊕ opad) ‖ H((K0 ⊕ ipad) ‖ text)) with opad = 0x5c repeated B times.
// RFC 2104, section 2, describes the same construction.
//
// Both padded keys are absorbed once, in `init(key:)`: the value then holds two SHA-512 states
// (inner after K0 ⊕ ipad, outer after K0 ⊕ opad), so a keyed value can be copied to MAC many
// messages under one key without rehashing it (HKDF-Expand does this per output block).
// K0 itself is never stored; the two states are key-equivalent secrets and `wipe()` clears them.
//
// Constant time: the only branch on the key is on its length (public). Tag comparison goes
// through `constantTimeEquals`, which reads every byte whatever the contents.

// MARK: - Shared helpers: constant-time comparison and wiping

/// Compares two byte buffers in time that depends only on their lengths (which are public),
/// never on their contents: every byte pair is XORed into an accumulator, with no early exit,
/// and the result is derived from the accumulator without a data-dependent branch.
/// Buffers of different lengths compare unequal (after no byte reads).
public func constantTimeEquals(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    guard a.count > 0, let pa = a.baseAddress, let pb = b.baseAddress else { return true }
    var difference: UInt8 = 0
    for i in 0..<a.count {
        difference |= pa.load(fromByteOffset: i, as: UInt8.self) ^ pb.load(fromByteOffset: i, as: UInt8.self)
    }
    // 0 -> 1, 1...255 -> 0 with arithmetic only: (difference - 1) borrows into bit 8 iff it is 0.
    return (UInt32(difference) &- 1) >> 8 & 1 == 1
}

/// Overwrites `buffer` with zeros in a way the optimizer cannot remove, for clearing keys,
/// key schedules and intermediate secrets once they are no longer needed.
///
/// Why this shape: a plain zeroing loop (or `initializeMemory`, or a `memset`) right before
/// the memory dies is a dead store, and both the SIL optimizer and LLVM's dead-store
/// elimination delete it. The usual C remedies are not portable here: `_Volatile` exists only
/// in the Embedded toolchain (the host compiler has no such module, and the tests run on the
/// host), Swift has no inline asm for an `asm volatile("" ::: "memory")` barrier, and a C
/// helper module would tie Core to a header it does not otherwise need.
///
/// So the barrier is the call itself. This function is `@inline(never)`, so callers see only a
/// call that receives the pointer, and `@_optimize(none)` (LLVM `optnone`), which keeps its
/// stores as written and stops LLVM from inferring attributes for it (interprocedural
/// attribute inference skips `optnone` functions: no `memory(argmem: write)`, no `willreturn`),
/// so a caller cannot prove the call only writes memory that is dead and drop it. Inside the
/// function the stores go to memory that outlives the call (the caller's), so nothing in here
/// is a dead store either. Both attributes mean the same on the host and in Embedded mode.
/// The loop writes 8 bytes per store where it can (stores have no alignment requirement in
/// Swift), then single bytes.
@inline(never) @_optimize(none)
public func secureZero(_ buffer: UnsafeMutableRawBufferPointer) {
    guard let base = buffer.baseAddress else { return }
    let count = buffer.count
    var offset = 0
    while offset + 8 <= count {
        base.storeBytes(of: UInt64(0), toByteOffset: offset, as: UInt64.self)
        offset += 8
    }
    while offset < count {
        base.storeBytes(of: UInt8(0), toByteOffset: offset, as: UInt8.self)
        offset += 1
    }
}

/// Wipes the bytes of any value of a trivial (plain-bits) type in place through `secureZero`.
/// Only for types made of integers, tuples and `InlineArray`s of them (all the crypto state
/// structs here): the all-zero bit pattern must be a valid value of the type.
@inline(__always)
func secureZero<T>(_ value: inout T) {
    withUnsafeMutableBytes(of: &value) { secureZero($0) }
}

// MARK: - HMAC-SHA-512

/// A streaming HMAC-SHA-512 computation: `init(key:)`, any number of `update(_:)`, one
/// `finalize()`. A keyed value may be copied before `finalize()` to MAC several messages
/// (or continue one message two ways) under the same key.
public struct HMACSHA512: Sendable {
    /// SHA-512 after absorbing K0 ⊕ ipad, then the message (FIPS 198-1, steps 4-6).
    private var inner: SHA512
    /// SHA-512 after absorbing K0 ⊕ opad (FIPS 198-1, step 7); the inner digest follows.
    private var outer: SHA512

    /// The tag size in bytes (L = 64).
    public static let tagSize = 64
    /// The block size of the underlying hash in bytes (B = 128).
    public static let blockSize = 128

    /// Keys the computation with `key` (any length; keys longer than 128 bytes are hashed
    /// first, FIPS 198-1 step 3).
    public init(key: UnsafeRawBufferPointer) {
        // Steps 1-3: K0 in a 128-byte block, zero-padded.
        var block = InlineArray<128, UInt8>(repeating: 0)
        withUnsafeMutableBytes(of: &block) { k0 in
            if key.count > Self.blockSize {
                var hashed = SHA512.hash(key)
                withUnsafeBytes(of: hashed.bytes) { UnsafeMutableRawBufferPointer(rebasing: k0[0..<64]).copyMemory(from: $0) }
                secureZero(&hashed)
            } else if key.count > 0 {
                UnsafeMutableRawBufferPointer(rebasing: k0[0..<key.count]).copyMemory(from: key)
            }
        }
        // Step 4: K0 ⊕ ipad; step 5 starts the inner hash with it.
        for i in 0..<128 { block[i] ^= 0x36 }
        var innerHash = SHA512()
        withUnsafeBytes(of: block) { innerHash.update($0) }
        // Step 7: K0 ⊕ opad, obtained from K0 ⊕ ipad by XORing with ipad ⊕ opad.
        for i in 0..<128 { block[i] ^= 0x36 ^ 0x5c }
        var outerHash = SHA512()
        withUnsafeBytes(of: block) { outerHash.update($0) }
        secureZero(&block)
        inner = innerHash
        outer = outerHash
        secureZero(&innerHash)
        secureZero(&outerHash)
    }

    /// Absorbs `bytes` into the message ("text" of FIPS 198-1, step 5). Any split of a message
    /// across calls gives the same tag.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        inner.update(bytes)
    }

    /// Finishes the computation and returns the 64-byte tag (FIPS 198-1, steps 6-9).
    ///
    /// This ends the computation and wipes both hash states: afterwards the value must not be
    /// reused (a further `update` or `finalize` gives a meaningless result).
    public mutating func finalize() -> SHA512Digest {
        var innerDigest = inner.finalize()
        withUnsafeBytes(of: innerDigest.bytes) { outer.update($0) }
        let tag = outer.finalize()
        secureZero(&innerDigest)
        wipe()
        return tag
    }

    /// Clears both keyed hash states (they are as secret as the key). The value is unusable
    /// afterwards until reassigned.
    public mutating func wipe() {
        secureZero(&inner)
        secureZero(&outer)
    }

    /// HMAC-SHA-512 of `message` under `key` in one call.
    public static func authenticate(key: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer) -> SHA512Digest {
        var mac = HMACSHA512(key: key)
        mac.update(message)
        return mac.finalize()
    }

    /// Recomputes the tag of `message` and compares it with `tag` (which must be the full
    /// 64 bytes) in constant time.
    public static func verify(
        key: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer, tag: UnsafeRawBufferPointer
    ) -> Bool {
        var expected = authenticate(key: key, message: message)
        let equal = withUnsafeBytes(of: expected.bytes) { constantTimeEquals($0, tag) }
        secureZero(&expected)
        return equal
    }
}
