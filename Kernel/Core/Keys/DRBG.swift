// The random-number generator behind `random` and the sealing nonces: ChaCha20 with fast key erasure.
//
// State: a 32-byte key. A request of n bytes runs ChaCha20 (RFC 8439) with that key and a zero
// nonce from block 0: the first 32 bytes of the keystream become the next key, the following n
// bytes are the output, and the old key is gone, so a later compromise of the state reveals
// nothing already handed out. Seeded by KeyChain.drbgSeed (device secret and a per-boot counter).
// The caller serialises access (the kernel holds a lock).

public struct DRBG: Sendable {
    private var key: SecretBytes
    public static let maxRequest = 1024

    public init(seed: SecretBytes) { key = seed }

    /// Fills `output` (at most `maxRequest` bytes); false, writing nothing, when it is longer.
    public mutating func fill(_ output: UnsafeMutableRawBufferPointer) -> Bool {
        guard output.count <= DRBG.maxRequest else { return false }
        var stream = InlineArray<1088, UInt8>(repeating: 0)       // 32 + maxRequest, rounded to 64
        let nonce = InlineArray<12, UInt8>(repeating: 0)
        let needed = 32 + output.count
        withUnsafeBytes(of: key) { k in
            withUnsafeBytes(of: nonce) { n in
                withUnsafeMutableBytes(of: &stream) { s in
                    var block = 0
                    while block * 64 < needed {
                        ChaCha20.block(key: k, counter: UInt32(block), nonce: n,
                                       into: UnsafeMutableRawBufferPointer(rebasing: s[(block * 64)..<(block * 64 + 64)]))
                        block += 1
                    }
                }
            }
        }
        var i = 0
        while i < 32 { key[i] = stream[i]; i += 1 }
        withUnsafeBytes(of: &stream) { output.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[32..<needed])) }
        secureZero(&stream)
        return true
    }

    public mutating func wipe() { secureZero(&key) }
}
