// Entropy from the Zkr `seed` CSR: decoding its status, collecting samples and conditioning them with SHA-512.
//
// RISC-V Cryptography Extensions, Volume I (Scalar & Entropy Source), chapter "Entropy Source"
// (Zkr): `seed` is CSR 0x015; bits 31:30 are OPST: BIST (00, self-test running: retry), WAIT
// (01, no entropy yet: retry), ES16 (10, bits 15:0 hold 16 bits of entropy), DEAD (11,
// unrecoverable). The spec leaves conditioning to software: the samples are raw entropy, so
// they are hashed (with twice as many bits collected as the 256 the DRBG key needs) before use.
// The reads themselves are the Arch layer's (arch_try_read_seed); this file only decides.

public enum ZkrSeed {
    /// What one read returned.
    public enum Reading: Equatable, Sendable {
        case bist, wait, dead
        case entropy(UInt16)
    }

    /// Samples collected: 32 × 16 bits = 512 raw bits for a 256-bit key.
    public static let samples = 32
    /// Reads tolerated in BIST or WAIT before giving up.
    public static let maxRetries = 100_000

    public static func decode(_ raw: UInt64) -> Reading {
        switch (raw >> 30) & 3 {
        case 0: return .bist
        case 1: return .wait
        case 2: return .entropy(UInt16(truncatingIfNeeded: raw))
        default: return .dead
        }
    }

    /// Why no entropy came.
    public enum Failure: Error, Equatable, Sendable {
        /// The first read trapped or said DEAD: no usable entropy source on this hart.
        case unavailable
        /// The source went DEAD after delivering some samples.
        case dead
        /// BIST or WAIT for longer than `maxRetries` reads.
        case timedOut
    }

    /// Collects `samples` ES16 readings from `read` and returns SHA-512 of them (little-endian
    /// u16s), or why it could not. `read` returns the CSR's raw value (all ones when it traps).
    public static func collect(_ read: () -> UInt64) -> Result<SHA512Digest, Failure> {
        var pool = InlineArray<64, UInt8>(repeating: 0)
        var got = 0
        var retries = 0
        defer { secureZero(&pool) }
        while got < samples {
            switch decode(read()) {
            case .entropy(let value):
                pool[2 * got] = UInt8(truncatingIfNeeded: value)
                pool[2 * got + 1] = UInt8(truncatingIfNeeded: value >> 8)
                got += 1
            case .bist, .wait:
                retries += 1
                if retries > maxRetries { return .failure(.timedOut) }
            case .dead:
                return .failure(got == 0 && retries == 0 ? .unavailable : .dead)
            }
        }
        return .success(withUnsafeBytes(of: &pool) { SHA512.hash($0) })
    }
}
