// The device secret's record in the hypervisor-owned flash block (QEMU's stand-in for OTP/eFuses; docs/keys.md).
//
// Offset  Size  Field
//      0     8  magic "BULKSECR"
//      8     2  format_version (1)
//     10     2  record_size (64)
//     12     4  reserved, zero
//     16    32  secret
//     48    12  reserved, zero
//     60     4  crc32c of bytes 0..<60 (detects a torn or decayed write; it is no protection)
// `bulkhead provision` writes it; the hypervisor reads it at boot and never maps the block.

/// 32 secret bytes.
public typealias SecretBytes = InlineArray<32, UInt8>

public enum DeviceSecretRecord {
    public static let size = 64
    public static let magic: UInt64 = 0x5243_4553_4B4C_5542     // "BULKSECR" little-endian
    public static let version: UInt16 = 1
    public static let secretOffset = 16
    public static let checksumOffset = 60

    /// What the block holds.
    public enum Status: Equatable, Sendable {
        case valid
        case erased
        case badMagic
        case unsupportedVersion(UInt16)
        case badChecksum
    }

    /// The record's 64 bytes for `secret`.
    public static func encode(_ secret: SecretBytes) -> InlineArray<64, UInt8> {
        var b = InlineArray<64, UInt8>(repeating: 0)
        var i = 0
        while i < 8 { b[i] = UInt8(truncatingIfNeeded: magic >> UInt64(8 * i)); i += 1 }
        b[8] = UInt8(truncatingIfNeeded: version); b[9] = UInt8(truncatingIfNeeded: version >> 8)
        b[10] = UInt8(size); b[11] = 0
        i = 0
        while i < 32 { b[secretOffset + i] = secret[i]; i += 1 }
        let crc = checksum(b)
        i = 0
        while i < 4 { b[checksumOffset + i] = UInt8(truncatingIfNeeded: crc >> UInt32(8 * i)); i += 1 }
        return b
    }

    /// Decodes a record: the status, and the secret when valid (zeros otherwise).
    public static func decode(_ b: InlineArray<64, UInt8>) -> (Status, SecretBytes) {
        var secret = SecretBytes(repeating: 0)
        var erased = true
        var i = 0
        while i < size { if b[i] != 0xFF { erased = false }; i += 1 }
        if erased { return (.erased, secret) }
        var m: UInt64 = 0
        i = 8
        while i > 0 { i -= 1; m = m << 8 | UInt64(b[i]) }
        guard m == magic else { return (.badMagic, secret) }
        let v = UInt16(b[8]) | UInt16(b[9]) << 8
        guard v == version, b[10] == UInt8(size), b[11] == 0 else { return (.unsupportedVersion(v), secret) }
        var stored: UInt32 = 0
        i = 4
        while i > 0 { i -= 1; stored = stored << 8 | UInt32(b[checksumOffset + i]) }
        guard stored == checksum(b) else { return (.badChecksum, secret) }
        i = 0
        while i < 32 { secret[i] = b[secretOffset + i]; i += 1 }
        return (.valid, secret)
    }

    static func checksum(_ b: InlineArray<64, UInt8>) -> UInt32 {
        withUnsafeBytes(of: b) { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<checksumOffset])) }
    }

    /// Writes a one-line description of a status that is not `.valid`.
    public static func write<S: TextSink>(_ status: Status, to out: inout S) {
        switch status {
        case .valid: out.write("valid")
        case .erased: out.write("not provisioned (the block is erased)")
        case .badMagic: out.write("not a device-secret record (bad magic)")
        case .unsupportedVersion(let v): out.write("format version "); out.write(decimal: UInt64(v)); out.write(" is not supported")
        case .badChecksum: out.write("checksum mismatch (a torn or damaged write)")
        }
    }
}
