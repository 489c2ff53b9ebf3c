// The monitor's certificate: the next stage's measurement and attestation public key, signed by the monitor's device key (docs/monitor.md).
//
// Offset  Size  Field
//      0     4  magic "BHMC"
//      4     2  version (1)
//      6     2  size (192)
//      8    64  the next stage's measurement (SHA-512 of its image: the identity of its CDI)
//     72    32  the next stage's attestation public key (Ed25519, RFC 8032 §5.1.5)
//    104    24  reserved, zero
//    128    64  Ed25519 signature (RFC 8032 §5.1.6) of bytes 0..<128 by the monitor's device key
// All integers little-endian.

public enum MonitorCertificate {
    public static let magic: UInt32 = 0x434D_4842          // "BHMC" little-endian
    public static let version: UInt16 = 1
    public static let size = 192
    public static let signedSize = 128
    static let measurementOffset = 8, publicKeyOffset = 72, reservedOffset = 104, signatureOffset = 128

    /// Why a certificate was refused (each names the check that failed).
    public enum Failure: Error, Equatable, Sendable {
        case truncated
        case badMagic
        case unsupportedVersion(UInt16)
        case badSize
        case reservedNotZero
        case badPublicKey
        case badSignature
    }

    /// What a verified certificate vouches for.
    public struct Contents: Sendable {
        public var measurement: SHA512Digest
        public var publicKey: InlineArray<32, UInt8>
    }

    /// Writes the certificate for a next stage measured as `measurement` whose attestation key is
    /// `publicKey`, signed with `deviceKey`. Returns `size`, or 0 when `out` is too small.
    public static func write(into out: UnsafeMutableRawBufferPointer, measurement: SHA512Digest,
                             publicKey: Ed25519PublicKey, deviceKey: Ed25519PrivateKey) -> Int {
        guard out.count >= size, let base = out.baseAddress else { return 0 }
        var cert = InlineArray<192, UInt8>(repeating: 0)
        withUnsafeMutableBytes(of: &cert) { c in
            c.storeBytes(of: magic.littleEndian, toByteOffset: 0, as: UInt32.self)
            c.storeBytes(of: version.littleEndian, toByteOffset: 4, as: UInt16.self)
            c.storeBytes(of: UInt16(size).littleEndian, toByteOffset: 6, as: UInt16.self)
            measurement.withBytes { UnsafeMutableRawBufferPointer(rebasing: c[measurementOffset..<(measurementOffset + 64)]).copyMemory(from: $0) }
            publicKey.withBytes { UnsafeMutableRawBufferPointer(rebasing: c[publicKeyOffset..<(publicKeyOffset + 32)]).copyMemory(from: $0) }
            let signature = deviceKey.sign(message: UnsafeRawBufferPointer(rebasing: c[0..<signedSize]))
            signature.withBytes { UnsafeMutableRawBufferPointer(rebasing: c[signatureOffset..<size]).copyMemory(from: $0) }
        }
        withUnsafeBytes(of: &cert) { base.copyMemory(from: $0.baseAddress!, byteCount: size) }
        return size
    }

    /// Parses `bytes` (exactly `size` long) and checks its signature by `monitorKey`: the contents,
    /// or the first check that failed. Nothing in the contents is trusted before the signature.
    public static func verify(_ bytes: UnsafeRawBufferPointer, monitorKey: Ed25519PublicKey) -> Result<Contents, Failure> {
        guard bytes.count == size else { return .failure(.truncated) }
        guard bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self).littleEndian == magic else { return .failure(.badMagic) }
        let v = bytes.loadUnaligned(fromByteOffset: 4, as: UInt16.self).littleEndian
        guard v == version else { return .failure(.unsupportedVersion(v)) }
        guard Int(bytes.loadUnaligned(fromByteOffset: 6, as: UInt16.self).littleEndian) == size else { return .failure(.badSize) }
        var i = reservedOffset
        while i < signatureOffset { if bytes[i] != 0 { return .failure(.reservedNotZero) }; i += 1 }
        guard Ed25519.verify(signature: UnsafeRawBufferPointer(rebasing: bytes[signatureOffset..<size]),
                             message: UnsafeRawBufferPointer(rebasing: bytes[0..<signedSize]), publicKey: monitorKey)
        else { return .failure(.badSignature) }
        let key = UnsafeRawBufferPointer(rebasing: bytes[publicKeyOffset..<(publicKeyOffset + 32)])
        guard Ed25519PublicKey(bytes: key) != nil else { return .failure(.badPublicKey) }
        var digest = InlineArray<64, UInt8>(repeating: 0)
        var publicKey = InlineArray<32, UInt8>(repeating: 0)
        i = 0
        while i < 64 { digest[i] = bytes[measurementOffset + i]; i += 1 }
        i = 0
        while i < 32 { publicKey[i] = bytes[publicKeyOffset + i]; i += 1 }
        return .success(Contents(measurement: SHA512Digest(bytes: digest), publicKey: publicKey))
    }
}
