// The attestation report: what a partition is, on which hypervisor and device, signed by the device key (docs/keys.md).

public enum AttestationReport {
    public static let magic: UInt32 = 0x5241_4842          // "BHAR" little-endian
    public static let version: UInt16 = 1
    public static let size = 320
    public static let signedSize = 256
    // Field offsets.
    static let securityVersionOffset = 8, identityOffset = 16, nameOffset = 80, measurementOffset = 96
    static let policyOffset = 160, nonceOffset = 224, signatureOffset = 256
    public static let nonceSize = 32

    /// Writes the report for `keys`'s partition into `out` (at least `size` bytes) and signs it
    /// with `deviceKey`. Returns the length written, or 0 when `out` is too small (nothing written).
    public static func write(into out: UnsafeMutableRawBufferPointer, securityVersion: UInt64, identity: SHA512Digest,
                             name: PartitionName, keys: PartitionKeys, nonce: UnsafeRawBufferPointer,
                             deviceKey: Ed25519PrivateKey) -> Int {
        guard out.count >= size, nonce.count == nonceSize, let base = out.baseAddress else { return 0 }
        var report = InlineArray<320, UInt8>(repeating: 0)
        withUnsafeMutableBytes(of: &report) { r in
            r.storeBytes(of: magic.littleEndian, toByteOffset: 0, as: UInt32.self)
            r.storeBytes(of: version.littleEndian, toByteOffset: 4, as: UInt16.self)
            r.storeBytes(of: UInt16(size).littleEndian, toByteOffset: 6, as: UInt16.self)
            r.storeBytes(of: securityVersion.littleEndian, toByteOffset: securityVersionOffset, as: UInt64.self)
            identity.withBytes { UnsafeMutableRawBufferPointer(rebasing: r[identityOffset..<(identityOffset + 64)]).copyMemory(from: $0) }
            name.withBytes { n in
                if n.count > 0 { UnsafeMutableRawBufferPointer(rebasing: r[nameOffset..<(nameOffset + n.count)]).copyMemory(from: n) }
            }
            keys.measurement.withBytes { UnsafeMutableRawBufferPointer(rebasing: r[measurementOffset..<(measurementOffset + 64)]).copyMemory(from: $0) }
            keys.policyDigest.withBytes { UnsafeMutableRawBufferPointer(rebasing: r[policyOffset..<(policyOffset + 64)]).copyMemory(from: $0) }
            UnsafeMutableRawBufferPointer(rebasing: r[nonceOffset..<(nonceOffset + nonceSize)]).copyMemory(from: nonce)
            let signature = deviceKey.sign(message: UnsafeRawBufferPointer(rebasing: r[0..<signedSize]))
            signature.withBytes { UnsafeMutableRawBufferPointer(rebasing: r[signatureOffset..<size]).copyMemory(from: $0) }
        }
        withUnsafeBytes(of: &report) { base.copyMemory(from: $0.baseAddress!, byteCount: size) }
        return size
    }
}
