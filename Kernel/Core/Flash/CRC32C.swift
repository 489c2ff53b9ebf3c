// CRC-32C (Castagnoli) from its definition: detects torn flash records; not a security mechanism.
//
// Anyone who can write the flash can also recompute the CRC: it guards against power loss and
// decay, never against an attacker.
//
// Parameters (the "CRC-32/ISCSI" of the CRC catalogues, RFC 3720 B.4): generator polynomial
// 0x1EDC6F41, processed least-significant bit first (reflected form 0x82F63B78), initial value
// 0xFFFFFFFF, final XOR 0xFFFFFFFF. Check value: CRC-32C("123456789") = 0xE3069283.
// Castagnoli's polynomial has Hamming distance 6 (Koopman, "32-Bit Cyclic Redundancy Codes
// for Internet Applications", 2002) for messages up to 5,243 bits, which covers the
// 60 bytes it protects in a state record; any burst of errors up to 32 bits long is detected.
// Bitwise rather than table-driven: the state region checksums 60 bytes a few times per boot,
// and a table would cost 1 KiB of image for no measurable gain.

/// CRC-32C over bytes (one call, or `update` repeatedly then `finish`).
public enum CRC32C {
    /// The generator polynomial 0x1EDC6F41 with its bits reversed (LSB-first processing).
    public static let reflectedPolynomial: UInt32 = 0x82F6_3B78
    /// The register's value before the first byte.
    public static let initialValue: UInt32 = 0xFFFF_FFFF

    /// The CRC-32C of `bytes`.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        finish(update(initialValue, with: bytes))
    }

    /// Feeds `bytes` into a running register (start from `initialValue`).
    public static func update(_ register: UInt32, with bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc = register
        for byte in bytes {
            crc ^= UInt32(byte)
            var bit = 0
            while bit < 8 {
                // Shift one bit out; when it was 1, subtract (XOR) the polynomial.
                let mask = 0 &- (crc & 1)
                crc = (crc >> 1) ^ (reflectedPolynomial & mask)
                bit += 1
            }
        }
        return crc
    }

    /// The CRC of everything fed into `register`.
    public static func finish(_ register: UInt32) -> UInt32 { register ^ 0xFFFF_FFFF }
}
