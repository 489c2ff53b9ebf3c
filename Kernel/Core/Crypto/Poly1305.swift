// Poly1305 (RFC 8439, 2.5): the one-time authenticator, in constant time, heap-free,
// streaming.
//
// Implemented from RFC 8439, "ChaCha20 and Poly1305 for IETF Protocols", 2.5 and 2.5.1:
//   the 32-byte one-time key is r ‖ s (16 bytes each, little-endian); r is clamped with
//   0x0ffffffc0ffffffc0ffffffc0fffffff; the message is cut into 16-byte blocks, each read
//   little-endian with a 1 byte appended (2^128 for a whole block, 2^(8·len) for the short
//   last block); Acc = ((Acc + block) · r) mod p with p = 2^130 - 5; finally the tag is
//   (Acc + s) mod 2^128, little-endian.
//
// Representation: the accumulator h and r in radix 2^26, five limbs each (UInt64 holding at
// most 27 bits between steps). Multiplication mod p uses 2^130 ≡ 5 (mod p): a product limb
// that lands at 2^(130 + 26k) is folded back at 2^(26k) times 5, so with s_i = 5 · r_i
//   d0 = h0 r0 + h1 s4 + h2 s3 + h3 s2 + h4 s1
//   d1 = h0 r1 + h1 r0 + h2 s4 + h3 s3 + h4 s2
//   d2 = h0 r2 + h1 r1 + h2 r0 + h3 s4 + h4 s3
//   d3 = h0 r3 + h1 r2 + h2 r1 + h3 r0 + h4 s4
//   d4 = h0 r4 + h1 r3 + h2 r2 + h3 r1 + h4 r0
// Bounds: clamping leaves r_i < 2^26, so s_i < 2^29; before a multiplication h_i < 2^27
// (a limb below 2^26 + a carry, plus a message limb below 2^26; the 2^128 pad bit lands in
// bit 24 of limb 4). Each product is below 2^56 and each d_j, a sum of five, below 2^59: no
// UInt64 overflows. A carry pass (d_j >> 26 into d_{j+1}, d4 >> 26 times 5 into h0, then h0's
// carry into h1) brings every limb back below 2^26 except h1, below 2^26 + 2^10 (d4 >> 26 is
// below 2^33, so h0 + 5 · that is below 2^36 and its carry below 2^10).
//
// Constant time: the per-block work is the same fixed sequence of multiplications, shifts,
// masks and additions for every key and message; the only branches are on lengths (public).
// The final reduction computes g = h + 5 - 2^130 and selects g or h with a mask derived from
// g's sign bit, never a branch; the addition of s carries through 32-bit words the same way.

/// A Poly1305 tag: 16 bytes, (Acc + s) mod 2^128 little-endian (RFC 8439, 2.5).
public struct Poly1305Tag: Sendable, Equatable {
    public var bytes: InlineArray<16, UInt8>

    public init(bytes: InlineArray<16, UInt8>) { self.bytes = bytes }

    /// Calls `body` with a view of the 16 tag bytes (valid only during the call).
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeBytes(of: bytes) { body($0) }
    }

    /// Compares all 16 bytes without an early exit (constant time, RFC 8439 section 4).
    public static func == (lhs: Poly1305Tag, rhs: Poly1305Tag) -> Bool {
        withUnsafeBytes(of: lhs.bytes) { l in withUnsafeBytes(of: rhs.bytes) { r in constantTimeEquals(l, r) } }
    }
}

/// A streaming Poly1305 computation: `init(key:)`, any number of `update(_:)`, one
/// `finalize()`. The key must be used for one message only (RFC 8439, 2.5).
public struct Poly1305: Sendable {
    /// Clamped r in radix 2^26.
    private var r: InlineArray<5, UInt64>
    /// The accumulator h in radix 2^26 (partially reduced between blocks).
    private var h: InlineArray<5, UInt64>
    /// s as four little-endian 32-bit words.
    private var s: InlineArray<4, UInt32>
    /// Bytes `0..<bufferCount` of a not-yet-processed partial block.
    private var buffer: InlineArray<16, UInt8>
    private var bufferCount: Int

    /// The one-time key size in bytes (r ‖ s).
    public static let keySize = 32
    /// The tag size in bytes.
    public static let tagSize = 16
    /// The block size in bytes.
    public static let blockSize = 16

    static let mask26: UInt64 = (1 << 26) - 1

    /// Starts a computation with the 32-byte one-time `key` (r ‖ s); r is clamped here.
    /// Traps if the key is not 32 bytes.
    public init(key: UnsafeRawBufferPointer) {
        precondition(key.count == Self.keySize, "Poly1305: key must be 32 bytes")
        let base = key.baseAddress!
        // clamp(r): r &= 0x0ffffffc0ffffffc0ffffffc0fffffff, then split into 26-bit limbs.
        let r0 = Self.load64(base, 0) & 0x0fff_fffc_0fff_ffff
        let r1 = Self.load64(base, 8) & 0x0fff_fffc_0fff_fffc
        r = InlineArray(repeating: 0)
        r[0] = r0 & Self.mask26
        r[1] = (r0 >> 26) & Self.mask26
        r[2] = ((r0 >> 52) | (r1 << 12)) & Self.mask26
        r[3] = (r1 >> 14) & Self.mask26
        r[4] = r1 >> 40
        h = InlineArray(repeating: 0)
        s = InlineArray(repeating: 0)
        for i in 0..<4 { s[i] = UInt32(truncatingIfNeeded: Self.load64(base, 16 + 4 * i)) }
        buffer = InlineArray(repeating: 0)
        bufferCount = 0
    }

    /// Absorbs `bytes`. Any split of a message across calls gives the same tag.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let count = bytes.count
        var offset = 0
        if bufferCount > 0 {
            let take = min(Self.blockSize - bufferCount, count)
            let start = bufferCount
            withUnsafeMutableBytes(of: &buffer) { dst in
                UnsafeMutableRawBufferPointer(rebasing: dst[start..<(start + take)])
                    .copyMemory(from: UnsafeRawBufferPointer(start: base, count: take))
            }
            bufferCount += take
            offset = take
            if bufferCount < Self.blockSize { return }
            withUnsafeBytes(of: buffer) { Self.blocks(&h, r, $0.baseAddress!, blockCount: 1, padBit: 1 << 24) }
            bufferCount = 0
        }
        let wholeBlocks = (count - offset) / Self.blockSize
        if wholeBlocks > 0 {
            Self.blocks(&h, r, base + offset, blockCount: wholeBlocks, padBit: 1 << 24)
            offset += wholeBlocks * Self.blockSize
        }
        let rest = count - offset
        if rest > 0 {
            withUnsafeMutableBytes(of: &buffer) { dst in
                UnsafeMutableRawBufferPointer(rebasing: dst[0..<rest])
                    .copyMemory(from: UnsafeRawBufferPointer(start: base + offset, count: rest))
            }
            bufferCount = rest
        }
    }

    /// Zero-pads a buffered partial block to 16 bytes and absorbs it as a whole block, so the
    /// next `update` starts on a block boundary. This is the AEAD's pad16 (RFC 8439, 2.8): the
    /// zeros are message bytes, unlike the final short block's 0x01 pad.
    mutating func padToBlockBoundary() {
        guard bufferCount > 0 else { return }
        for i in bufferCount..<Self.blockSize { buffer[i] = 0 }
        withUnsafeBytes(of: buffer) { Self.blocks(&h, r, $0.baseAddress!, blockCount: 1, padBit: 1 << 24) }
        bufferCount = 0
    }

    /// Absorbs the final short block, if any, reduces h mod p, adds s and returns the tag.
    ///
    /// This ends the computation and wipes the state (key, accumulator, buffer): afterwards
    /// the value must not be reused.
    public mutating func finalize() -> Poly1305Tag {
        if bufferCount > 0 {
            // The short last block: its bytes, then 0x01, then zeros (2^(8·len) added).
            buffer[bufferCount] = 1
            for i in (bufferCount + 1)..<Self.blockSize { buffer[i] = 0 }
            withUnsafeBytes(of: buffer) { Self.blocks(&h, r, $0.baseAddress!, blockCount: 1, padBit: 0) }
            bufferCount = 0
        }
        let m = Self.mask26
        var h0 = h[0], h1 = h[1], h2 = h[2], h3 = h[3], h4 = h[4]

        // Carry fully: every limb below 2^26 except h1, which may reach 2^26 (value < 2^130 + 2^27).
        var c: UInt64
        c = h1 >> 26; h1 &= m; h2 &+= c
        c = h2 >> 26; h2 &= m; h3 &+= c
        c = h3 >> 26; h3 &= m; h4 &+= c
        c = h4 >> 26; h4 &= m; h0 &+= c &* 5
        c = h0 >> 26; h0 &= m; h1 &+= c

        // g = h + 5 - 2^130. h < 2p, so h mod p is g if g >= 0 (no borrow) and h otherwise.
        var g0 = h0 &+ 5; c = g0 >> 26; g0 &= m
        var g1 = h1 &+ c; c = g1 >> 26; g1 &= m
        var g2 = h2 &+ c; c = g2 >> 26; g2 &= m
        var g3 = h3 &+ c; c = g3 >> 26; g3 &= m
        var g4 = h4 &+ c &- (1 << 26)
        // g4's top bit is set iff g < 0. select = all ones to take g, zero to keep h.
        let select = (g4 >> 63) &- 1
        g0 &= select; g1 &= select; g2 &= select; g3 &= select; g4 &= select
        let keep = ~select
        h0 = (h0 & keep) | g0; h1 = (h1 & keep) | g1; h2 = (h2 & keep) | g2
        h3 = (h3 & keep) | g3; h4 = (h4 & keep) | g4
        // Kept h may still have h1 = 2^26: one more carry pass so limbs can be packed by
        // shifting (bits at 2^130 and above fall away with the mod 2^128 below).
        c = h1 >> 26; h1 &= m; h2 &+= c
        c = h2 >> 26; h2 &= m; h3 &+= c
        c = h3 >> 26; h3 &= m; h4 &+= c

        // h mod 2^128 as four 32-bit words, plus s with the carry through each word.
        let w0 = (h0 | h1 << 26) & 0xffff_ffff
        let w1 = (h1 >> 6 | h2 << 20) & 0xffff_ffff
        let w2 = (h2 >> 12 | h3 << 14) & 0xffff_ffff
        let w3 = (h3 >> 18 | h4 << 8) & 0xffff_ffff
        var f = w0 &+ UInt64(s[0])
        var tag = Poly1305Tag(bytes: InlineArray(repeating: 0))
        withUnsafeMutableBytes(of: &tag.bytes) { out in
            out.storeBytes(of: UInt32(truncatingIfNeeded: f).littleEndian, toByteOffset: 0, as: UInt32.self)
            f = w1 &+ UInt64(s[1]) &+ (f >> 32)
            out.storeBytes(of: UInt32(truncatingIfNeeded: f).littleEndian, toByteOffset: 4, as: UInt32.self)
            f = w2 &+ UInt64(s[2]) &+ (f >> 32)
            out.storeBytes(of: UInt32(truncatingIfNeeded: f).littleEndian, toByteOffset: 8, as: UInt32.self)
            f = w3 &+ UInt64(s[3]) &+ (f >> 32)
            out.storeBytes(of: UInt32(truncatingIfNeeded: f).littleEndian, toByteOffset: 12, as: UInt32.self)
        }
        wipe()
        return tag
    }

    /// Clears the key (r, s), the accumulator and the buffer. The value is unusable afterwards
    /// until reassigned.
    public mutating func wipe() {
        secureZero(&r)
        secureZero(&h)
        secureZero(&s)
        secureZero(&buffer)
        bufferCount = 0
    }

    /// The Poly1305 tag of `message` under the one-time `key` (32 bytes) in one call.
    public static func authenticate(key: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer) -> Poly1305Tag {
        var mac = Poly1305(key: key)
        mac.update(message)
        return mac.finalize()
    }
}

// MARK: - Block processing

extension Poly1305 {
    /// Reads the 64-bit little-endian word at `p + offset` byte by byte (no alignment needed).
    @inline(__always) static func load64(_ p: UnsafeRawPointer, _ offset: Int) -> UInt64 {
        var word: UInt64 = 0
        for i in (0..<8).reversed() { word = word << 8 | UInt64(p.load(fromByteOffset: offset + i, as: UInt8.self)) }
        return word
    }

    /// Absorbs `blockCount` 16-byte blocks at `blocks`: h = (h + block + padBit·2^104) · r mod p
    /// (partially reduced). `padBit` is 2^24 for whole blocks (the 2^128 of 2.5) and 0 for a
    /// final short block that already carries its 0x01 byte.
    static func blocks(
        _ h: inout InlineArray<5, UInt64>, _ r: InlineArray<5, UInt64>,
        _ blocks: UnsafeRawPointer, blockCount: Int, padBit: UInt64
    ) {
        let m = mask26
        let r0 = r[0], r1 = r[1], r2 = r[2], r3 = r[3], r4 = r[4]
        let s1 = r1 &* 5, s2 = r2 &* 5, s3 = r3 &* 5, s4 = r4 &* 5
        var h0 = h[0], h1 = h[1], h2 = h[2], h3 = h[3], h4 = h[4]
        var p = blocks
        for _ in 0..<blockCount {
            // h += m (the block, little-endian, split into 26-bit limbs, plus the pad bit).
            let lo = load64(p, 0), hi = load64(p, 8)
            h0 &+= lo & m
            h1 &+= (lo >> 26) & m
            h2 &+= ((lo >> 52) | (hi << 12)) & m
            h3 &+= (hi >> 14) & m
            h4 &+= (hi >> 40) | padBit

            // d = h · r mod p (see the file comment for the formulas and bounds).
            let d0 = h0 &* r0 &+ h1 &* s4 &+ h2 &* s3 &+ h3 &* s2 &+ h4 &* s1
            var d1 = h0 &* r1 &+ h1 &* r0 &+ h2 &* s4 &+ h3 &* s3 &+ h4 &* s2
            var d2 = h0 &* r2 &+ h1 &* r1 &+ h2 &* r0 &+ h3 &* s4 &+ h4 &* s3
            var d3 = h0 &* r3 &+ h1 &* r2 &+ h2 &* r1 &+ h3 &* r0 &+ h4 &* s4
            var d4 = h0 &* r4 &+ h1 &* r3 &+ h2 &* r2 &+ h3 &* r1 &+ h4 &* r0

            // Partial reduction: carry each limb into the next, the top one times 5 into h0.
            var c = d0 >> 26; h0 = d0 & m
            d1 &+= c; c = d1 >> 26; h1 = d1 & m
            d2 &+= c; c = d2 >> 26; h2 = d2 & m
            d3 &+= c; c = d3 >> 26; h3 = d3 & m
            d4 &+= c; c = d4 >> 26; h4 = d4 & m
            h0 &+= c &* 5; c = h0 >> 26; h0 &= m
            h1 &+= c
            p += blockSize
        }
        h[0] = h0; h[1] = h1; h[2] = h2; h[3] = h3; h[4] = h4
    }
}
