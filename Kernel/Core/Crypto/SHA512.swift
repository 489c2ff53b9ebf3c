// SHA-512 (FIPS 180-4): heap-free, streaming, for image measurement and Ed25519.
//
// Implemented from FIPS PUB 180-4, "Secure Hash Standard" (NIST, August 2015):
//   4.1.3  the six logical functions Ch, Maj, Σ0, Σ1, σ0, σ1 on 64-bit words;
//   4.2.3  the eighty constants K (first 64 bits of the fractional parts of the cube roots
//          of the first eighty primes);
//   5.1.2  padding: append a 1 bit, zeros up to 896 mod 1024 bits, then the 128-bit length;
//   5.3.5  the initial hash value H(0) (square roots of the first eight primes);
//   6.4    the hash computation: message schedule W, eighty rounds, H(i) = H(i-1) + (a…h).
//
// Only whole-byte messages are supported (the kernel never hashes partial bytes), so the
// bit length is the byte count times eight; the byte count is a UInt64, which covers every
// message the kernel can address (FIPS 180-4 allows up to 2^128 - 1 bits).
//
// Invariants: `bufferCount` is always in 0..<128; the first `bufferCount` bytes of `buffer`
// are the not-yet-compressed tail of the message; `byteCount` is the total bytes absorbed.
// Whole 128-byte blocks are compressed straight from the caller's memory (no copy); only a
// partial block at either end of an `update` goes through `buffer`.

/// A SHA-512 message digest: 64 bytes, H0…H7 each in big-endian order (FIPS 180-4, 6.4).
public struct SHA512Digest: Equatable, Sendable {
    public var bytes: InlineArray<64, UInt8>

    public init(bytes: InlineArray<64, UInt8>) { self.bytes = bytes }

    /// Calls `body` with a view of the 64 digest bytes (valid only during the call).
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeBytes(of: bytes) { body($0) }
    }

    /// Its first 8 bytes in hex followed by "...", as boot logs show digests.
    public func writeShort<S: TextSink>(to out: inout S) {
        withBytes { out.write(hexBytes: UnsafeRawBufferPointer(rebasing: $0[0..<8])) }
        out.write("...")
    }

    /// Compares all 64 bytes without an early exit, so the time taken does not reveal where
    /// two digests first differ.
    public static func == (lhs: SHA512Digest, rhs: SHA512Digest) -> Bool {
        withUnsafeBytes(of: lhs.bytes) { l in withUnsafeBytes(of: rhs.bytes) { r in constantTimeEquals(l, r) } }
    }
}

/// A streaming SHA-512 computation: `init()`, any number of `update(_:)`, one `finalize()`.
public struct SHA512: Sendable {
    /// The intermediate hash value H0…H7 (FIPS 180-4, 6.4).
    private var state: InlineArray<8, UInt64>
    /// The not-yet-compressed tail of the message: bytes `0..<bufferCount` are valid.
    private(set) var buffer: InlineArray<128, UInt8>   // internal read for the tests
    private var bufferCount: Int
    /// Total message bytes absorbed so far (the length field is `byteCount * 8`, 128 bits wide).
    private var byteCount: UInt64

    /// The block size in bytes (1024 bits).
    public static let blockSize = 128
    /// The digest size in bytes (512 bits).
    public static let digestSize = 64

    /// Starts a computation at the initial hash value H(0) of FIPS 180-4, 5.3.5.
    public init() {
        state = [
            0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b, 0xa54ff53a5f1d36f1,
            0x510e527fade682d1, 0x9b05688c2b3e6c1f, 0x1f83d9abfb41bd6b, 0x5be0cd19137e2179,
        ]
        buffer = InlineArray(repeating: 0)
        bufferCount = 0
        byteCount = 0
    }

    /// Absorbs `bytes` into the computation. Any split of a message across calls gives the
    /// same digest as one call with the whole message.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let count = bytes.count
        byteCount &+= UInt64(truncatingIfNeeded: count)
        var offset = 0

        // Top up a partially filled buffer first.
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
            withUnsafeBytes(of: &buffer) { block in
                if let blockBase = block.baseAddress { Self.compressBlocks(&state, blockBase, 1) }
            }
            bufferCount = 0
        }

        // Whole blocks straight from the caller's memory.
        let wholeBlocks = (count - offset) / Self.blockSize
        if wholeBlocks > 0 {
            Self.compressBlocks(&state, base + offset, wholeBlocks)
            offset += wholeBlocks * Self.blockSize
        }

        // Keep the tail for the next call.
        let rest = count - offset
        if rest > 0 {
            withUnsafeMutableBytes(of: &buffer) { dst in
                UnsafeMutableRawBufferPointer(rebasing: dst[0..<rest])
                    .copyMemory(from: UnsafeRawBufferPointer(start: base + offset, count: rest))
            }
            bufferCount = rest
        }
    }

    /// Pads the message (FIPS 180-4, 5.1.2), compresses the last block(s) and returns H(N).
    ///
    /// This ends the computation: afterwards the value must not be reused. Its buffer is wiped
    /// (no message bytes are left behind, as far as the optimizer keeps the stores) and its
    /// state is the finished digest, not a resumable intermediate hash, so a further `update`
    /// or `finalize` gives a meaningless result. Start a new `SHA512()` for another message.
    public mutating func finalize() -> SHA512Digest {
        let bitLengthHigh = byteCount >> 61          // the top bits of byteCount * 8 (128-bit)
        let bitLengthLow = byteCount &<< 3
        var used = bufferCount

        withUnsafeMutableBytes(of: &buffer) { block in
            // The single 1 bit, then zeros.
            block[used] = 0x80
            used += 1
            if used > 112 {
                // No room for the 16-byte length: this block is all padding, one more follows.
                for i in used..<128 { block[i] = 0 }
                if let blockBase = block.baseAddress {
                    Self.compressBlocks(&state, UnsafeRawPointer(blockBase), 1)
                }
                used = 0
            }
            for i in used..<112 { block[i] = 0 }
            // The 128-bit message length in bits, big-endian, in bytes 112..<128.
            block.storeBytes(of: bitLengthHigh.bigEndian, toByteOffset: 112, as: UInt64.self)
            block.storeBytes(of: bitLengthLow.bigEndian, toByteOffset: 120, as: UInt64.self)
            if let blockBase = block.baseAddress {
                Self.compressBlocks(&state, UnsafeRawPointer(blockBase), 1)
            }
            // Wipe: the buffer may have held secret input (Ed25519 hashes private seeds).
            for i in 0..<128 { block[i] = 0 }
        }
        bufferCount = 0

        var digest = SHA512Digest(bytes: InlineArray(repeating: 0))
        withUnsafeMutableBytes(of: &digest.bytes) { out in
            for i in 0..<8 {
                out.storeBytes(of: state[i].bigEndian, toByteOffset: 8 * i, as: UInt64.self)
            }
        }
        return digest
    }

    /// The SHA-512 digest of `bytes` in one call.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> SHA512Digest {
        var hasher = SHA512()
        hasher.update(bytes)
        return hasher.finalize()
    }
}

// MARK: - The compression function (FIPS 180-4, 6.4.2)

extension SHA512 {
    /// A compression function for `count` 128-byte blocks at `blocks`, updating H0…H7 in `state`,
    /// with the eighty round constants K at the last argument (`roundConstants`).
    public typealias CompressFunction = @convention(c) (UnsafeMutablePointer<UInt64>, UnsafeRawPointer, Int,
                                                        UnsafePointer<UInt64>) -> Void

    /// One the platform supplies in place of the portable `compress` (the hypervisor installs one
    /// built for Zbb or Zknh when the device tree says the harts have it: sha512_compress.c); nil,
    /// the default, means the portable one. Set once at boot, before any hashing on other harts.
    nonisolated(unsafe) public static var compressFunction: CompressFunction? = nil

    /// `compress`, or the platform's function when one is installed.
    @inline(__always) static func compressBlocks(_ state: inout InlineArray<8, UInt64>, _ blocks: UnsafeRawPointer, _ count: Int) {
        guard let platform = compressFunction else { return compress(&state, blocks, blockCount: count) }
        withUnsafeMutableBytes(of: &state) { words in
            withUnsafeBytes(of: roundConstants) { k in
                if let base = words.baseAddress, let constants = k.baseAddress {
                    platform(base.assumingMemoryBound(to: UInt64.self), blocks, count, constants.assumingMemoryBound(to: UInt64.self))
                }
            }
        }
    }

    /// SHA-512 constants K0…K79 (FIPS 180-4, 4.2.3).
    static let roundConstants: InlineArray<80, UInt64> = [
        0x428a2f98d728ae22, 0x7137449123ef65cd, 0xb5c0fbcfec4d3b2f, 0xe9b5dba58189dbbc,
        0x3956c25bf348b538, 0x59f111f1b605d019, 0x923f82a4af194f9b, 0xab1c5ed5da6d8118,
        0xd807aa98a3030242, 0x12835b0145706fbe, 0x243185be4ee4b28c, 0x550c7dc3d5ffb4e2,
        0x72be5d74f27b896f, 0x80deb1fe3b1696b1, 0x9bdc06a725c71235, 0xc19bf174cf692694,
        0xe49b69c19ef14ad2, 0xefbe4786384f25e3, 0x0fc19dc68b8cd5b5, 0x240ca1cc77ac9c65,
        0x2de92c6f592b0275, 0x4a7484aa6ea6e483, 0x5cb0a9dcbd41fbd4, 0x76f988da831153b5,
        0x983e5152ee66dfab, 0xa831c66d2db43210, 0xb00327c898fb213f, 0xbf597fc7beef0ee4,
        0xc6e00bf33da88fc2, 0xd5a79147930aa725, 0x06ca6351e003826f, 0x142929670a0e6e70,
        0x27b70a8546d22ffc, 0x2e1b21385c26c926, 0x4d2c6dfc5ac42aed, 0x53380d139d95b3df,
        0x650a73548baf63de, 0x766a0abb3c77b2a8, 0x81c2c92e47edaee6, 0x92722c851482353b,
        0xa2bfe8a14cf10364, 0xa81a664bbc423001, 0xc24b8b70d0f89791, 0xc76c51a30654be30,
        0xd192e819d6ef5218, 0xd69906245565a910, 0xf40e35855771202a, 0x106aa07032bbd1b8,
        0x19a4c116b8d2d0c8, 0x1e376c085141ab53, 0x2748774cdf8eeb99, 0x34b0bcb5e19b48a8,
        0x391c0cb3c5c95a63, 0x4ed8aa4ae3418acb, 0x5b9cca4f7763e373, 0x682e6ff3d6b2b8a3,
        0x748f82ee5defb2fc, 0x78a5636f43172f60, 0x84c87814a1f0ab72, 0x8cc702081a6439ec,
        0x90befffa23631e28, 0xa4506cebde82bde9, 0xbef9a3f7b2c67915, 0xc67178f2e372532b,
        0xca273eceea26619c, 0xd186b8c721c0c207, 0xeada7dd6cde0eb1e, 0xf57d4f7fee6ed178,
        0x06f067aa72176fba, 0x0a637dc5a2c898a6, 0x113f9804bef90dae, 0x1b710b35131c471b,
        0x28db77f523047d84, 0x32caab7b40c72493, 0x3c9ebe0a15c9bebc, 0x431d67c49c100d4c,
        0x4cc5d4becb3e42b6, 0x597f299cfc657e2a, 0x5fcb6fab3ad6faec, 0x6c44198c4a475817,
    ]

    // The logical functions of FIPS 180-4, 4.1.3 (ROTR is a right rotation of a 64-bit word).

    @inline(__always) static func rotr(_ x: UInt64, _ n: UInt64) -> UInt64 {
        (x &>> n) | (x &<< (64 &- n))
    }
    /// Ch(x, y, z) = (x ∧ y) ⊕ (¬x ∧ z), written as z ⊕ (x ∧ (y ⊕ z)) (same truth table).
    @inline(__always) static func ch(_ x: UInt64, _ y: UInt64, _ z: UInt64) -> UInt64 {
        z ^ (x & (y ^ z))
    }
    /// Maj(x, y, z) = (x ∧ y) ⊕ (x ∧ z) ⊕ (y ∧ z), written as (x ∧ y) ∨ (z ∧ (x ∨ y)).
    @inline(__always) static func maj(_ x: UInt64, _ y: UInt64, _ z: UInt64) -> UInt64 {
        (x & y) | (z & (x | y))
    }
    /// Σ0{512}(x) = ROTR28(x) ⊕ ROTR34(x) ⊕ ROTR39(x)
    @inline(__always) static func bigSigma0(_ x: UInt64) -> UInt64 {
        rotr(x, 28) ^ rotr(x, 34) ^ rotr(x, 39)
    }
    /// Σ1{512}(x) = ROTR14(x) ⊕ ROTR18(x) ⊕ ROTR41(x)
    @inline(__always) static func bigSigma1(_ x: UInt64) -> UInt64 {
        rotr(x, 14) ^ rotr(x, 18) ^ rotr(x, 41)
    }
    /// σ0{512}(x) = ROTR1(x) ⊕ ROTR8(x) ⊕ SHR7(x)
    @inline(__always) static func smallSigma0(_ x: UInt64) -> UInt64 {
        rotr(x, 1) ^ rotr(x, 8) ^ (x &>> 7)
    }
    /// σ1{512}(x) = ROTR19(x) ⊕ ROTR61(x) ⊕ SHR6(x)
    @inline(__always) static func smallSigma1(_ x: UInt64) -> UInt64 {
        rotr(x, 19) ^ rotr(x, 61) ^ (x &>> 6)
    }

    /// One round of 6.4.2 step 3. Instead of shifting h←g←f←e←d+T1, d←c←b←a←T1+T2, the
    /// caller rotates the variable names for the next round, so only `d` and `h` change here:
    /// `d` becomes the new e and `h` becomes the new a. `kw` is K(t) + W(t).
    @inline(__always) static func round(
        _ a: UInt64, _ b: UInt64, _ c: UInt64, _ d: inout UInt64,
        _ e: UInt64, _ f: UInt64, _ g: UInt64, _ h: inout UInt64, _ kw: UInt64
    ) {
        let t1 = h &+ bigSigma1(e) &+ ch(e, f, g) &+ kw
        let t2 = bigSigma0(a) &+ maj(a, b, c)
        d &+= t1
        h = t1 &+ t2
    }

    /// One message-schedule step (6.4.2 step 1) in the 16-word window: w[j] (W(t-16)) becomes
    /// W(t) = σ1(W(t-2)) + W(t-7) + σ0(W(t-15)) + W(t-16), with t ≡ j (mod 16).
    @inline(__always) static func schedule(_ w: inout InlineArray<16, UInt64>, _ j: Int) {
        w[j] &+= smallSigma1(w[(j + 14) & 15]) &+ w[(j + 9) & 15] &+ smallSigma0(w[(j + 1) & 15])
    }

    /// Reads the 64-bit big-endian word at `offset` (no alignment needed). Assembled from bytes
    /// most significant first: without Zbb, RISC-V has no byte swap, and this is shorter than
    /// swapping a little-endian load (x86 still folds it into one byte-swapping load).
    @inline(__always) static func loadWord(_ p: UnsafeRawPointer, _ offset: Int) -> UInt64 {
        let b = p + offset
        var word = UInt64(b.load(as: UInt8.self))
        for i in 1..<8 { word = word &<< 8 | UInt64(b.load(fromByteOffset: i, as: UInt8.self)) }
        return word
    }

    /// Runs the compression function on `blockCount` consecutive 128-byte blocks at `blocks`,
    /// updating H0…H7 in `state` (FIPS 180-4, 6.4.2).
    static func compress(_ state: inout InlineArray<8, UInt64>, _ blocks: UnsafeRawPointer, blockCount: Int) {
        var h0 = state[0], h1 = state[1], h2 = state[2], h3 = state[3]
        var h4 = state[4], h5 = state[5], h6 = state[6], h7 = state[7]
        var block = blocks
        var remaining = blockCount
        var w = InlineArray<16, UInt64>(repeating: 0)
        while remaining > 0 {
            // Step 1: the message schedule, kept as a sliding window of the last 16 words:
            // w[t mod 16] holds W(t). Rounds 0…15 read the block's words M(i)0…M(i)15.
            for j in 0..<16 { w[j] = loadWord(block, 8 * j) }

            // Step 2: the working variables start at H(i-1).
            var a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7

            // Step 3: eighty rounds, sixteen at a time (one pass over the window).
            var t = 0
            while true {
                var j = 0
                while j < 16 {
                    round(a, b, c, &d, e, f, g, &h, roundConstants[t + j] &+ w[j])
                    round(h, a, b, &c, d, e, f, &g, roundConstants[t + j + 1] &+ w[j + 1])
                    round(g, h, a, &b, c, d, e, &f, roundConstants[t + j + 2] &+ w[j + 2])
                    round(f, g, h, &a, b, c, d, &e, roundConstants[t + j + 3] &+ w[j + 3])
                    round(e, f, g, &h, a, b, c, &d, roundConstants[t + j + 4] &+ w[j + 4])
                    round(d, e, f, &g, h, a, b, &c, roundConstants[t + j + 5] &+ w[j + 5])
                    round(c, d, e, &f, g, h, a, &b, roundConstants[t + j + 6] &+ w[j + 6])
                    round(b, c, d, &e, f, g, h, &a, roundConstants[t + j + 7] &+ w[j + 7])
                    j += 8
                }
                t += 16
                if t == 80 { break }
                // W(t) = σ1(W(t-2)) + W(t-7) + σ0(W(t-15)) + W(t-16) for the next 16 values of t.
                // Updating in order j = 0…15 reads each earlier W from the right pass. Written out
                // with constant indices (no index arithmetic, the window can stay in registers).
                schedule(&w, 0); schedule(&w, 1); schedule(&w, 2); schedule(&w, 3)
                schedule(&w, 4); schedule(&w, 5); schedule(&w, 6); schedule(&w, 7)
                schedule(&w, 8); schedule(&w, 9); schedule(&w, 10); schedule(&w, 11)
                schedule(&w, 12); schedule(&w, 13); schedule(&w, 14); schedule(&w, 15)
            }

            // Step 4: H(i) = H(i-1) + the working variables.
            h0 &+= a; h1 &+= b; h2 &+= c; h3 &+= d
            h4 &+= e; h5 &+= f; h6 &+= g; h7 &+= h
            block += blockSize
            remaining -= 1
        }
        state[0] = h0; state[1] = h1; state[2] = h2; state[3] = h3
        state[4] = h4; state[5] = h5; state[6] = h6; state[7] = h7
    }
}
