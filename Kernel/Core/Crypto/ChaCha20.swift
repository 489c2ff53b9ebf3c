// ChaCha20 (RFC 8439, 2.3-2.4): the block function and the XOR stream cipher with a 256-bit
// key, a 96-bit nonce and a 32-bit block counter. Heap-free, streaming, constant time.
//
// Implemented from RFC 8439, "ChaCha20 and Poly1305 for IETF Protocols" (June 2018):
//   2.1  the quarter round on 32-bit words a, b, c, d:
//          a += b; d ^= a; d <<<= 16;  c += d; b ^= c; b <<<= 12;
//          a += b; d ^= a; d <<<= 8;   c += d; b ^= c; b <<<= 7;
//   2.3  the state: words 0-3 the constants 0x61707865 0x3320646e 0x79622d32 0x6b206574,
//        4-11 the key (little-endian 32-bit words), 12 the block counter, 13-15 the nonce
//        (little-endian words); 20 rounds = 10 × (a column round and a diagonal round); the
//        input state is added word-wise and the result serialized little-endian (64 bytes);
//   2.4  encryption: keystream blocks for counter, counter + 1, … XORed with the plaintext;
//        the unused tail of the last block is discarded.
//
// Constant time: only additions, XORs and fixed rotations on 32-bit words; no table lookups,
// and the only branches are on lengths and positions (public).
//
// Streaming: `xor` may be called any number of times; the keystream continues where the
// previous call stopped (a partially used block is kept in `keystream`). The counter wraps
// after 2^32 blocks (256 GiB); callers must not use more than that per (key, nonce)
// (the AEAD checks its length limit). `wipe()` clears the key and the buffered keystream.

/// A ChaCha20 keystream for one (key, nonce): the block function plus a streaming XOR.
public struct ChaCha20: Sendable {
    /// The input state of RFC 8439, 2.3 for the next block (word 12 is that block's counter).
    private var state: InlineArray<16, UInt32>
    /// The current keystream block as bytes (held in words for 8-byte alignment): bytes
    /// `keystreamUsed..<64` are not yet used.
    private var keystream: InlineArray<8, UInt64>
    private var keystreamUsed: Int

    /// Key size in bytes (256 bits).
    public static let keySize = 32
    /// Nonce size in bytes (96 bits).
    public static let nonceSize = 12
    /// Keystream block size in bytes.
    public static let blockSize = 64

    /// Sets up the state for `key` (32 bytes), `nonce` (12 bytes) and the first block's
    /// `counter` (RFC 8439, 2.3). Traps if the key or nonce has the wrong size.
    public init(key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, counter: UInt32) {
        precondition(key.count == Self.keySize && nonce.count == Self.nonceSize, "ChaCha20: key must be 32 bytes, nonce 12")
        state = InlineArray(repeating: 0)
        state[0] = 0x6170_7865; state[1] = 0x3320_646e; state[2] = 0x7962_2d32; state[3] = 0x6b20_6574
        for i in 0..<8 { state[4 + i] = Self.loadLittleEndian(key, 4 * i) }
        state[12] = counter
        for i in 0..<3 { state[13 + i] = Self.loadLittleEndian(nonce, 4 * i) }
        keystream = InlineArray(repeating: 0)
        keystreamUsed = Self.blockSize
    }

    /// The block counter of the next keystream block to be generated.
    public var counter: UInt32 { state[12] }

    /// Writes the next 64-byte keystream block (the block function, RFC 8439 2.3, for the
    /// current counter) to `output[0..<64]` and advances the counter. Independent of any
    /// partially used block of `xor`. Traps if `output` is shorter than 64 bytes.
    public mutating func nextBlock(into output: UnsafeMutableRawBufferPointer) {
        precondition(output.count >= Self.blockSize, "ChaCha20: block output needs 64 bytes")
        Self.block(state, into: output.baseAddress!)
        state[12] &+= 1
    }

    /// XORs the keystream into `input`, writing `output` (same length), continuing the
    /// stream from the previous call (RFC 8439, 2.4). Encryption and decryption are the same
    /// operation. `output` may be `input` itself (in place) or a disjoint buffer; any other
    /// overlap is not supported. Traps if the lengths differ.
    public mutating func xor(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) {
        precondition(input.count == output.count, "ChaCha20: input and output lengths differ")
        let count = input.count
        guard count > 0, let src = input.baseAddress, let dst = output.baseAddress else { return }
        var offset = 0

        withUnsafeMutableBytes(of: &keystream) { ks in
            let block = ks.baseAddress!
            // Finish a partially used keystream block.
            if keystreamUsed < Self.blockSize {
                let take = min(Self.blockSize - keystreamUsed, count)
                Self.xorBytes(src, block + keystreamUsed, dst, take)
                keystreamUsed += take
                offset = take
            }
            // Whole blocks: generate into the buffer, XOR, move on.
            while count - offset >= Self.blockSize {
                Self.block(state, into: block)
                state[12] &+= 1
                Self.xorBytes(src + offset, block, dst + offset, Self.blockSize)
                offset += Self.blockSize
            }
            // A trailing partial block: keep the rest of its keystream for the next call.
            if offset < count {
                Self.block(state, into: block)
                state[12] &+= 1
                let rest = count - offset
                Self.xorBytes(src + offset, block, dst + offset, rest)
                keystreamUsed = rest
                offset = count
            }
        }
    }

    /// XORs `buffer` with the keystream in place (see `xor(_:into:)`).
    public mutating func xorInPlace(_ buffer: UnsafeMutableRawBufferPointer) {
        xor(UnsafeRawBufferPointer(buffer), into: buffer)
    }

    /// Clears the key, nonce, counter and buffered keystream. The value is unusable afterwards
    /// until reassigned.
    public mutating func wipe() {
        secureZero(&state)
        secureZero(&keystream)
        keystreamUsed = Self.blockSize
    }

    /// One-shot encryption/decryption: XORs `input` with the keystream for (key, nonce)
    /// starting at block `counter`, into `output` (same length; may be `input` itself).
    public static func xor(
        key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, counter: UInt32,
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) {
        var cipher = ChaCha20(key: key, nonce: nonce, counter: counter)
        cipher.xor(input, into: output)
        cipher.wipe()
    }

    /// The ChaCha20 block function (RFC 8439, 2.3) for (key, counter, nonce), written to
    /// `output[0..<64]`.
    public static func block(
        key: UnsafeRawBufferPointer, counter: UInt32, nonce: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer
    ) {
        var cipher = ChaCha20(key: key, nonce: nonce, counter: counter)
        cipher.nextBlock(into: output)
        cipher.wipe()
    }
}

// MARK: - The block function (RFC 8439, 2.1-2.3)

extension ChaCha20 {
    @inline(__always) static func loadLittleEndian(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8
            | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
    }

    @inline(__always) static func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 {
        (x &<< n) | (x &>> (32 &- n))
    }

    /// The quarter round of 2.1 on four state words.
    @inline(__always) static func quarterRound(
        _ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32, _ d: inout UInt32
    ) {
        a &+= b; d ^= a; d = rotl(d, 16)
        c &+= d; b ^= c; b = rotl(b, 12)
        a &+= b; d ^= a; d = rotl(d, 8)
        c &+= d; b ^= c; b = rotl(b, 7)
    }

    /// Runs the 20 rounds on `input`, adds `input` back and writes the 64 serialized bytes
    /// (little-endian words) to `output` (no alignment needed). The working state lives in
    /// sixteen locals so it can stay in registers.
    static func block(_ input: InlineArray<16, UInt32>, into output: UnsafeMutableRawPointer) {
        var x0 = input[0], x1 = input[1], x2 = input[2], x3 = input[3]
        var x4 = input[4], x5 = input[5], x6 = input[6], x7 = input[7]
        var x8 = input[8], x9 = input[9], x10 = input[10], x11 = input[11]
        var x12 = input[12], x13 = input[13], x14 = input[14], x15 = input[15]
        for _ in 0..<10 {
            // Column round.
            quarterRound(&x0, &x4, &x8, &x12)
            quarterRound(&x1, &x5, &x9, &x13)
            quarterRound(&x2, &x6, &x10, &x14)
            quarterRound(&x3, &x7, &x11, &x15)
            // Diagonal round.
            quarterRound(&x0, &x5, &x10, &x15)
            quarterRound(&x1, &x6, &x11, &x12)
            quarterRound(&x2, &x7, &x8, &x13)
            quarterRound(&x3, &x4, &x9, &x14)
        }
        store(x0 &+ input[0], output, 0); store(x1 &+ input[1], output, 4)
        store(x2 &+ input[2], output, 8); store(x3 &+ input[3], output, 12)
        store(x4 &+ input[4], output, 16); store(x5 &+ input[5], output, 20)
        store(x6 &+ input[6], output, 24); store(x7 &+ input[7], output, 28)
        store(x8 &+ input[8], output, 32); store(x9 &+ input[9], output, 36)
        store(x10 &+ input[10], output, 40); store(x11 &+ input[11], output, 44)
        store(x12 &+ input[12], output, 48); store(x13 &+ input[13], output, 52)
        store(x14 &+ input[14], output, 56); store(x15 &+ input[15], output, 60)
    }

    /// Stores `word` little-endian at `p + offset` (no alignment needed).
    @inline(__always) static func store(_ word: UInt32, _ p: UnsafeMutableRawPointer, _ offset: Int) {
        p.storeBytes(of: word.littleEndian, toByteOffset: offset, as: UInt32.self)
    }

    /// dst[i] = src[i] ^ keystream[i] for i in 0..<count; `dst` may equal `src`. Eight bytes
    /// at a time when all three pointers are 8-byte aligned (alignment is public, not secret;
    /// rv64imac has no fast misaligned access, so misaligned buffers go byte by byte).
    @inline(__always) static func xorBytes(
        _ src: UnsafeRawPointer, _ keystream: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer, _ count: Int
    ) {
        var i = 0
        if (UInt(bitPattern: src) | UInt(bitPattern: dst) | UInt(bitPattern: keystream)) & 7 == 0 {
            while i + 8 <= count {
                let word = src.load(fromByteOffset: i, as: UInt64.self)
                    ^ keystream.load(fromByteOffset: i, as: UInt64.self)
                dst.storeBytes(of: word, toByteOffset: i, as: UInt64.self)
                i += 8
            }
        }
        while i < count {
            dst.storeBytes(of: src.load(fromByteOffset: i, as: UInt8.self) ^ keystream.load(fromByteOffset: i, as: UInt8.self),
                           toByteOffset: i, as: UInt8.self)
            i += 1
        }
    }
}
