// The DICE-style key chain: device secret -> hypervisor CDI -> partition CDIs and the keys under them (docs/keys.md).
//
// Every derivation is HKDF-SHA512 (RFC 5869) with the labels of docs/keys.md. Secrets live in
// fixed-size values that callers wipe (`wipe()`); no heap, no secret-dependent branches.

public typealias CDI = InlineArray<64, UInt8>

/// The keys one partition is entitled to, computed once at boot from the verified manifest.
public struct PartitionKeys: Sendable {
    /// The partition's compound device identifier.
    public var cdi = CDI(repeating: 0)
    /// ChaCha20-Poly1305 keys of image-bound and signer-bound sealing.
    public var imageSealKey = SecretBytes(repeating: 0)
    public var signerSealKey = SecretBytes(repeating: 0)
    /// The key sealing the partition's keystore entry in flash (signer-bound, like signerSealKey).
    public var keystoreKey = SecretBytes(repeating: 0)
    /// What the partition is: its measurement and policy digest (for attestation).
    public var measurement = SHA512Digest(bytes: InlineArray(repeating: 0))
    public var policyDigest = SHA512Digest(bytes: InlineArray(repeating: 0))
    public init() {}

    public mutating func wipe() {
        secureZero(&cdi); secureZero(&imageSealKey); secureZero(&signerSealKey); secureZero(&keystoreKey)
    }
}

public enum KeyChain {
    /// hypervisor CDI = HKDF(salt "Bulkhead hypervisor CDI v1", ikm = device secret, info = identity).
    public static func hypervisorCDI(secret: SecretBytes, identity: SHA512Digest) -> CDI {
        var out = CDI(repeating: 0)
        withBytes(secret) { ikm in
            identity.withBytes { info in
                label("Bulkhead hypervisor CDI v1") { salt in
                    withUnsafeMutableBytes(of: &out) { _ = HKDFSHA512.deriveKey(salt: salt, ikm: ikm, info: info, into: $0) }
                }
            }
        }
        return out
    }

    /// The monitor's device key seed = HKDF(salt "Bulkhead monitor device key v1", ikm = device
    /// secret, info = empty), 32 bytes: from the secret alone, so it names the device, not the
    /// firmware on it. Only the secure monitor (M-mode) computes it (docs/monitor.md).
    public static func monitorDeviceSeed(secret: SecretBytes) -> SecretBytes {
        var out = SecretBytes(repeating: 0)
        withBytes(secret) { ikm in
            label("Bulkhead monitor device key v1") { salt in
                withUnsafeMutableBytes(of: &out) {
                    _ = HKDFSHA512.deriveKey(salt: salt, ikm: ikm, info: UnsafeRawBufferPointer(start: nil, count: 0), into: $0)
                }
            }
        }
        return out
    }

    /// SHA-512("Bulkhead policy v1" ‖ key_policy (u16 LE) ‖ on_fault [‖ flags ‖ each device it
    /// owns, as its 192-byte manifest record with the owner byte zero]). The bracketed part is
    /// there only when the partition has flags or devices, so older partitions keep their keys.
    public static func policyDigest(_ spec: PartitionSpec, devices: DeviceTable = DeviceTable(), partition: Int = 0) -> SHA512Digest {
        var h = SHA512()
        label("Bulkhead policy v1") { h.update($0) }
        var bytes: InlineArray<4, UInt8> = [UInt8(truncatingIfNeeded: spec.keyPolicy.raw),
                                            UInt8(truncatingIfNeeded: spec.keyPolicy.raw >> 8), spec.onFault.rawValue, spec.flags.raw]
        let extended = spec.flags.raw != 0 || devices.count(ownedBy: partition) > 0
        withUnsafeBytes(of: &bytes) { h.update(UnsafeRawBufferPointer(rebasing: $0[0..<(extended ? 4 : 3)])) }
        var d = 0
        while d < devices.count {
            if Int(devices[d].owner) == partition {
                var record = InlineArray<192, UInt8>(repeating: 0)
                withUnsafeMutableBytes(of: &record) { DeviceRecordEncoding.encode(devices[d], owner: 0, into: $0) }
                withUnsafeBytes(of: &record) { h.update($0) }
            }
            d += 1
        }
        return h.finalize()
    }

    /// SHA-512("Bulkhead partition measurement v1" ‖ name length ‖ name (16, zero padded) ‖
    /// image digest ‖ policy digest [‖ initrd digest, for a partition with an initrd]).
    public static func measurement(_ spec: PartitionSpec, imageDigest: SHA512Digest, policyDigest: SHA512Digest,
                                   initrdDigest: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) -> SHA512Digest {
        var h = SHA512()
        label("Bulkhead partition measurement v1") { h.update($0) }
        var nameField = InlineArray<17, UInt8>(repeating: 0)
        nameField[0] = UInt8(truncatingIfNeeded: spec.name.count)
        var i = 0
        while i < spec.name.count && i < 16 { nameField[1 + i] = spec.name.storage[i]; i += 1 }
        withUnsafeBytes(of: &nameField) { h.update($0) }
        imageDigest.withBytes { h.update($0) }
        policyDigest.withBytes { h.update($0) }
        if initrdDigest.count > 0 { h.update(initrdDigest) }
        return h.finalize()
    }

    /// The partition's keys (docs/keys.md): its CDI from its measurement, the image sealing key
    /// from that CDI, the signer sealing key from the hypervisor CDI, its name and the key id.
    public static func partitionKeys(hypervisorCDI: CDI, spec: PartitionSpec, devices: DeviceTable = DeviceTable(),
                                     partition: Int = 0, imageDigest: SHA512Digest,
                                     initrdDigest: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
                                     signingKey: SigningKeyID) -> PartitionKeys {
        var keys = PartitionKeys()
        keys.policyDigest = policyDigest(spec, devices: devices, partition: partition)
        keys.measurement = measurement(spec, imageDigest: imageDigest, policyDigest: keys.policyDigest, initrdDigest: initrdDigest)
        withBytes(hypervisorCDI) { parent in
            keys.measurement.withBytes { ikm in
                label("Bulkhead partition CDI v1") { info in
                    withUnsafeMutableBytes(of: &keys.cdi) { _ = HKDFSHA512.deriveKey(salt: parent, ikm: ikm, info: info, into: $0) }
                }
            }
            // signer keys: HKDF(salt = hypervisor CDI, ikm = name (16, zero padded) ‖ key id, info).
            var signer = InlineArray<24, UInt8>(repeating: 0)
            var i = 0
            while i < spec.name.count && i < 16 { signer[i] = spec.name.storage[i]; i += 1 }
            i = 0
            while i < 8 { signer[16 + i] = signingKey.byte(i); i += 1 }
            withUnsafeBytes(of: &signer) { ikm in
                label("Bulkhead seal signer v1") { info in
                    withUnsafeMutableBytes(of: &keys.signerSealKey) { _ = HKDFSHA512.deriveKey(salt: parent, ikm: ikm, info: info, into: $0) }
                }
                label("Bulkhead keystore v1") { info in
                    withUnsafeMutableBytes(of: &keys.keystoreKey) { _ = HKDFSHA512.deriveKey(salt: parent, ikm: ikm, info: info, into: $0) }
                }
            }
        }
        expand(keys.cdi, "Bulkhead seal image v1", suffix: UnsafeRawBufferPointer(start: nil, count: 0), into: &keys.imageSealKey)
        return keys
    }

    /// derive(label) = HKDF-Expand(partition CDI, "Bulkhead derive v1" ‖ label), 32 bytes.
    public static func derive(_ keys: PartitionKeys, label userLabel: UnsafeRawBufferPointer) -> SecretBytes {
        var out = SecretBytes(repeating: 0)
        expand(keys.cdi, "Bulkhead derive v1", suffix: userLabel, into: &out)
        return out
    }

    /// The Ed25519 seed of the device attestation key: HKDF-Expand(hypervisor CDI, "Bulkhead attestation key v1").
    public static func attestationSeed(hypervisorCDI: CDI) -> SecretBytes {
        var out = SecretBytes(repeating: 0)
        expand(hypervisorCDI, "Bulkhead attestation key v1", suffix: UnsafeRawBufferPointer(start: nil, count: 0), into: &out)
        return out
    }

    /// The DRBG's key material when the hypervisor has no device secret, only its CDI (handed over
    /// by the secure monitor, docs/monitor.md): HKDF-Expand(hypervisor CDI, "Bulkhead DRBG key v1"),
    /// 32 bytes, used in place of the secret in `drbgSeed`.
    public static func drbgKey(hypervisorCDI: CDI) -> SecretBytes {
        var out = SecretBytes(repeating: 0)
        expand(hypervisorCDI, "Bulkhead DRBG key v1", suffix: UnsafeRawBufferPointer(start: nil, count: 0), into: &out)
        return out
    }

    /// The DRBG's first key: HKDF(salt "Bulkhead DRBG v1", ikm = device secret [‖ hardware
    /// entropy], info = boot counter LE). The entropy (64 bytes, ZkrSeed.collect) is there when the
    /// hart has the Zkr seed CSR.
    public static func drbgSeed(secret: SecretBytes, bootCounter: UInt64, entropy: SHA512Digest? = nil) -> SecretBytes {
        var out = SecretBytes(repeating: 0)
        var counter = bootCounter.littleEndian
        var ikm = InlineArray<96, UInt8>(repeating: 0)
        var i = 0
        while i < 32 { ikm[i] = secret[i]; i += 1 }
        if let entropy { i = 0; while i < 64 { ikm[32 + i] = entropy.bytes[i]; i += 1 } }
        let count = entropy == nil ? 32 : 96
        withUnsafeBytes(of: &ikm) { raw in
            withUnsafeBytes(of: &counter) { info in
                label("Bulkhead DRBG v1") { salt in
                    withUnsafeMutableBytes(of: &out) {
                        _ = HKDFSHA512.deriveKey(salt: salt, ikm: UnsafeRawBufferPointer(rebasing: raw[0..<count]), info: info, into: $0)
                    }
                }
            }
        }
        secureZero(&ikm)
        return out
    }

    /// HKDF-Expand(prk, text ‖ suffix) into `out` (the info is assembled in a bounded buffer).
    static func expand<let n: Int>(_ prk: CDI, _ text: StaticString, suffix: UnsafeRawBufferPointer,
                                   into out: inout InlineArray<n, UInt8>) {
        var info = InlineArray<128, UInt8>(repeating: 0)
        var count = 0
        text.withUTF8Buffer { t in
            for b in t where count < 128 { info[count] = b; count += 1 }
        }
        for b in suffix where count < 128 { info[count] = b; count += 1 }
        withBytes(prk) { p in
            withUnsafeBytes(of: &info) { raw in
                withUnsafeMutableBytes(of: &out) {
                    _ = HKDFSHA512.expand(prk: p, info: UnsafeRawBufferPointer(rebasing: raw[0..<count]), into: $0)
                }
            }
        }
    }

    static func label<R>(_ text: StaticString, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        text.withUTF8Buffer { body(UnsafeRawBufferPointer($0)) }
    }

    static func withBytes<let n: Int, R>(_ value: InlineArray<n, UInt8>, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        var copy = value
        let result = withUnsafeBytes(of: &copy) { body($0) }
        secureZero(&copy)
        return result
    }
}
