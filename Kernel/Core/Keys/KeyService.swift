// The key services of the Bulkhead extension: derive, seal, unseal, attest, random, attest_system (docs/keys.md).
//
// Order of checks: the caller's policy, then the device secret, then the arguments (alignment,
// lengths, addresses: guest pointers are allegations), and only then the work. Request blocks
// and blob data are copied into hypervisor memory once before use; secrets are wiped from the
// stack before returning. A refused call changes nothing and leaks nothing.

/// What the key services need from the hypervisor.
public protocol KeyEnvironment {
    var memory: GuestMemory { get }
    /// The caller's policy from the manifest.
    var keyPolicy: KeyPolicy { get }
    /// The running bundle's security version.
    var securityVersion: UInt64 { get }
    /// Runs `body` with the caller's keys; nil (body not run) when the device has no secret.
    func withPartitionKeys<R>(_ body: (PartitionKeys) -> R) -> R?
    /// Fills `output` from the DRBG; false when the device has no secret.
    mutating func randomBytes(_ output: UnsafeMutableRawBufferPointer) -> Bool
    /// Writes the attestation report for `nonce` into `output` (its length), or nil when
    /// attestation is not available.
    mutating func attestationReport(nonce: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int?
    /// Writes the system report (SystemReport) for `nonce` into `output` (its length; 0 when
    /// `output` is too small), or nil when attestation is not available.
    mutating func systemReport(nonce: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int?
    /// Runs `body` on the caller's keystore under the keystore lock.
    mutating func readKeystore<R>(_ body: (borrowing PartitionKeystore) throws(BulkheadReason) -> R) throws(BulkheadReason) -> R
    /// Applies `change` to a copy of the caller's keystore, writes the copy to flash sealed
    /// (KeystoreRegion.update) and only then makes it the keystore. Throws what `change` throws,
    /// `keystoreFull`, `storageFailed`, or `busy` while another change is being written; nothing
    /// changes then.
    mutating func updateKeystore(_ change: (inout PartitionKeystore) throws(BulkheadReason) -> UInt64) throws(BulkheadReason) -> UInt64
    /// A value that changes whenever the caller's keystore changes (`updateKeystore`).
    mutating func keystoreStamp() -> UInt64
    /// The caller's signing key for `handle` as `cacheSigningKey` left it, if still cached. An
    /// environment forgets a partition's cached key whenever its keystore changes, so a cached
    /// key always matches its slot. The caller wipes the copy.
    mutating func cachedSigningKey(_ handle: UInt64) -> Ed25519PrivateKey?
    /// Keeps the expanded signing key of the caller's `handle` for the next key_sign/key_public
    /// (expanding a seed costs a SHA-512 and a fixed-base multiplication), unless the keystore
    /// changed since `stamp` (taken before the slot was read): a key destroyed meanwhile must
    /// never be cached.
    mutating func cacheSigningKey(_ handle: UInt64, _ key: Ed25519PrivateKey, ifUnchangedSince stamp: UInt64)
}

extension KeyEnvironment {
    /// No system to report on (the secure monitor's plain OS).
    public mutating func systemReport(nonce: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? { nil }
    /// No cache: every call expands the seed again.
    public mutating func keystoreStamp() -> UInt64 { 0 }
    public mutating func cachedSigningKey(_ handle: UInt64) -> Ed25519PrivateKey? { nil }
    public mutating func cacheSigningKey(_ handle: UInt64, _ key: Ed25519PrivateKey, ifUnchangedSince stamp: UInt64) {}
}

/// Sealed blob, version 1 (docs/keys.md).
public enum SealedBlob {
    public static let magic: UInt32 = 0x4C53_4842          // "BHSL" little-endian
    public static let version: UInt16 = 1
    public static let headerSize = 32
    public static let tagSize = 16
    public static let overhead = headerSize + tagSize
    public static let maxData = 4096
    public static let maxAAD = 256
    public enum Binding: UInt8, Sendable { case image = 1, signer = 2 }
}

public enum KeyService {
    public static let maxLabel: UInt64 = 64
    public static let maxRandom: UInt64 = 256
    public static let requestSize: UInt64 = 48
    static let nonceSize = 12

    /// Performs one key call (derive, seal, unseal, attest, random; anything else is
    /// `unknownFunction`) for a caller outside the hypervisor's IPC service: the secure monitor's
    /// plain OS (docs/monitor.md). The result is the SBI error and reason IPCService would give.
    public static func handle<E: KeyEnvironment>(_ call: BulkheadCall, _ env: inout E) -> SBIResult {
        do {
            return .success(try perform(call, &env))
        } catch {
            return error.result
        }
    }

    static func perform<E: KeyEnvironment>(_ call: BulkheadCall, _ env: inout E) throws(BulkheadReason) -> UInt64 {
        switch call {
        case .derive(let label, let length, let output):
            try require(.derive, env)
            guard length >= 1 && length <= maxLabel else { throw .tooLong }
            guard output.isAligned(to: 8) else { throw .misaligned }
            let labelBuffer = try guestBuffer(label, length, env)
            let out = try guestBuffer(output, 32, env)
            var labelCopy = InlineArray<64, UInt8>(repeating: 0)
            let n = Int(length)
            _ = withUnsafeMutableBytes(of: &labelCopy) { labelBuffer.copyIn(to: UnsafeMutableRawBufferPointer(rebasing: $0[0..<n])) }
            var key = SecretBytes(repeating: 0)
            let derived = withUnsafeBytes(of: &labelCopy) { l in
                env.withPartitionKeys({ keys in key = KeyChain.derive(keys, label: UnsafeRawBufferPointer(rebasing: l[0..<n])) })
            }
            guard derived != nil else { throw .noDeviceSecret }
            _ = withUnsafeBytes(of: &key) { out.copyOut(from: $0) }
            secureZero(&key)
            return 32

        case .random(let output, let length):
            try require(.random, env)
            guard length >= 1 && length <= maxRandom else { throw .tooLong }
            let out = try guestBuffer(output, length, env)
            var bytes = InlineArray<256, UInt8>(repeating: 0)
            let n = Int(length)
            guard withUnsafeMutableBytes(of: &bytes, { env.randomBytes(UnsafeMutableRawBufferPointer(rebasing: $0[0..<n])) }) else {
                throw .noDeviceSecret
            }
            _ = withUnsafeBytes(of: &bytes) { out.copyOut(from: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            secureZero(&bytes)
            return length

        case .attest(let nonce, let output, let length):
            return try report(.attest, nonce: nonce, output: output, length: length, &env) { env, n, out in
                env.attestationReport(nonce: n, into: out)
            }

        case .attestSystem(let nonce, let output, let length):
            return try report(.attestSystem, nonce: nonce, output: output, length: length, &env) { env, n, out in
                env.systemReport(nonce: n, into: out)
            }

        case .seal(let binding, let request):
            try require(.seal, env)
            guard let bind = SealedBlob.Binding(rawValue: UInt8(truncatingIfNeeded: binding)), binding <= 2 else { throw .badBinding }
            let r = try readRequest(request, env)
            guard r.dataLength <= UInt64(SealedBlob.maxData), r.aadLength <= UInt64(SealedBlob.maxAAD) else { throw .tooLong }
            let blobLength = r.dataLength + UInt64(SealedBlob.overhead)
            guard r.outLength >= blobLength else { throw .bufferTooSmall }
            let data = try guestBuffer(r.data, r.dataLength, env)
            let aad = try guestBuffer(r.aad, r.aadLength, env)
            let out = try guestBuffer(r.out, blobLength, env)
            return try seal(bind, data, aad, out, &env)

        case .unseal(let request):
            try require(.seal, env)
            let r = try readRequest(request, env)
            guard r.dataLength <= UInt64(SealedBlob.maxData + SealedBlob.overhead), r.aadLength <= UInt64(SealedBlob.maxAAD) else {
                throw .tooLong
            }
            guard r.dataLength >= UInt64(SealedBlob.overhead) else { throw .badBlob }
            let blob = try guestBuffer(r.data, r.dataLength, env)
            let aad = try guestBuffer(r.aad, r.aadLength, env)
            return try unseal(blob, aad, r.out, r.outLength, &env)

        default:
            throw .unknownFunction
        }
    }

    /// attest and attest_system: the 32-byte nonce is copied in once; `write` builds and signs the
    /// report in hypervisor memory (nil: no device secret; 0: the buffer is too small), and only
    /// then is it copied out to `output`.
    static func report<E: KeyEnvironment>(_ service: KeyPolicy, nonce: GuestPhysAddr, output: GuestPhysAddr, length: UInt64,
                                          _ env: inout E,
                                          _ write: (inout E, UnsafeRawBufferPointer, UnsafeMutableRawBufferPointer) -> Int?)
        throws(BulkheadReason) -> UInt64 {
        try require(service, env)
        guard nonce.isAligned(to: 8), output.isAligned(to: 8) else { throw .misaligned }
        let n = try guestBuffer(nonce, 32, env)
        let out = try guestBuffer(output, length, env)
        var nonceCopy = InlineArray<32, UInt8>(repeating: 0)
        _ = withUnsafeMutableBytes(of: &nonceCopy) { n.copyIn(to: $0) }
        var report = InlineArray<2688, UInt8>(repeating: 0)          // SystemReport.maxSize, the larger report
        let room = Int(min(length, UInt64(SystemReport.maxSize)))
        let written = withUnsafeBytes(of: &nonceCopy) { nonceBytes in
            withUnsafeMutableBytes(of: &report) { write(&env, nonceBytes, UnsafeMutableRawBufferPointer(rebasing: $0[0..<room])) }
        }
        guard let written else { throw .noDeviceSecret }
        guard written > 0 else { throw .bufferTooSmall }
        _ = withUnsafeBytes(of: &report) { out.copyOut(from: UnsafeRawBufferPointer(rebasing: $0[0..<written])) }
        return UInt64(written)
    }

    static func require<E: KeyEnvironment>(_ service: KeyPolicy, _ env: E) throws(BulkheadReason) {
        guard env.keyPolicy.allows(service) else { throw .policyDenied }
    }

    /// The caller's bytes at [address, address + length), checked against its RAM. An empty
    /// range names no memory, so any address will do (C callers pass NULL, 0). Every key service
    /// copies what it reads in once and writes its results out once through the buffer: the
    /// guest's memory is never worked on in place.
    static func guestBuffer<E: KeyEnvironment>(_ address: GuestPhysAddr, _ length: UInt64, _ env: E) throws(BulkheadReason)
        -> GuestBuffer {
        if length == 0 { return .empty }
        guard let buffer = env.memory.check(GuestSlice(address, length: length)) else { throw .badAddress }
        return buffer
    }

    struct Request { var data: GuestPhysAddr; var dataLength: UInt64; var aad: GuestPhysAddr; var aadLength: UInt64
                     var out: GuestPhysAddr; var outLength: UInt64 }

    /// Copies the 48-byte request block in once.
    static func readRequest<E: KeyEnvironment>(_ at: GuestPhysAddr, _ env: E) throws(BulkheadReason) -> Request {
        guard at.isAligned(to: 8) else { throw .misaligned }
        let raw = try guestBuffer(at, requestSize, env)
        var words = InlineArray<6, UInt64>(repeating: 0)
        _ = withUnsafeMutableBytes(of: &words) { raw.copyIn(to: $0) }
        return Request(data: GuestPhysAddr(UInt64(littleEndian: words[0])), dataLength: UInt64(littleEndian: words[1]),
                       aad: GuestPhysAddr(UInt64(littleEndian: words[2])), aadLength: UInt64(littleEndian: words[3]),
                       out: GuestPhysAddr(UInt64(littleEndian: words[4])), outLength: UInt64(littleEndian: words[5]))
    }

    /// Header ‖ aad, the AEAD's additional data, in a bounded buffer.
    typealias AADBuffer = InlineArray<288, UInt8>

    static func seal<E: KeyEnvironment>(_ binding: SealedBlob.Binding, _ data: GuestBuffer, _ aad: GuestBuffer, _ out: GuestBuffer,
                                        _ env: inout E) throws(BulkheadReason) -> UInt64 {
        var header = InlineArray<32, UInt8>(repeating: 0)
        put(UInt64(SealedBlob.magic), 4, &header, 0)
        put(UInt64(SealedBlob.version), 2, &header, 4)
        header[6] = binding.rawValue
        put(env.securityVersion, 8, &header, 8)
        let ok = withUnsafeMutableBytes(of: &header) { env.randomBytes(UnsafeMutableRawBufferPointer(rebasing: $0[16..<28])) }
        guard ok else { throw .noDeviceSecret }
        put(UInt64(data.count), 4, &header, 28)
        // Copy the plaintext and the additional data in once; build the blob in hypervisor memory;
        // copy it out once.
        var plain = InlineArray<4096, UInt8>(repeating: 0)
        _ = withUnsafeMutableBytes(of: &plain) { data.copyIn(to: UnsafeMutableRawBufferPointer(rebasing: $0[0..<data.count])) }
        var additional = AADBuffer(repeating: 0)
        let aadCount = assembleAAD(header, aad, &additional)
        var blob = InlineArray<4144, UInt8>(repeating: 0)      // maxData + overhead
        let n = data.count
        let sealed = withSealKey(binding, env) { k in
            withUnsafeBytes(of: &header) { h in
                withUnsafeBytes(of: &additional) { a in
                    withUnsafeBytes(of: &plain) { p in
                        withUnsafeMutableBytes(of: &blob) { b in
                            ChaCha20Poly1305.seal(
                                key: k, nonce: UnsafeRawBufferPointer(rebasing: h[16..<28]),
                                aad: UnsafeRawBufferPointer(rebasing: a[0..<aadCount]),
                                plaintext: UnsafeRawBufferPointer(rebasing: p[0..<n]),
                                ciphertext: UnsafeMutableRawBufferPointer(rebasing: b[SealedBlob.headerSize..<(SealedBlob.headerSize + n)]),
                                tag: UnsafeMutableRawBufferPointer(rebasing: b[(SealedBlob.headerSize + n)..<(n + SealedBlob.overhead)]))
                        }
                    }
                }
            }
        }
        secureZero(&plain)
        guard let sealed else { throw .noDeviceSecret }
        guard sealed else { throw .badBlob }
        var i = 0
        while i < SealedBlob.headerSize { blob[i] = header[i]; i += 1 }
        _ = withUnsafeBytes(of: &blob) { out.copyOut(from: UnsafeRawBufferPointer(rebasing: $0[0..<out.count])) }
        return UInt64(out.count)
    }

    static func unseal<E: KeyEnvironment>(_ blob: GuestBuffer, _ aad: GuestBuffer, _ outAddress: GuestPhysAddr, _ outLength: UInt64,
                                          _ env: inout E) throws(BulkheadReason) -> UInt64 {
        // Copy the whole blob in once: everything below reads the copy.
        var copy = InlineArray<4144, UInt8>(repeating: 0)
        _ = withUnsafeMutableBytes(of: &copy) { blob.copyIn(to: UnsafeMutableRawBufferPointer(rebasing: $0[0..<blob.count])) }
        var header = InlineArray<32, UInt8>(repeating: 0)
        var i = 0
        while i < 32 { header[i] = copy[i]; i += 1 }
        let n = Int(get(header, 28, 4))
        guard get(header, 0, 4) == UInt64(SealedBlob.magic), get(header, 4, 2) == UInt64(SealedBlob.version),
              let binding = SealedBlob.Binding(rawValue: header[6]), header[7] == 0,
              n + SealedBlob.overhead == blob.count else { throw .badBlob }
        guard UInt64(n) <= outLength else { throw .bufferTooSmall }
        let out = try guestBuffer(outAddress, UInt64(n), env)
        if binding == .signer && get(header, 8, 8) > env.securityVersion { throw .versionTooLow }
        var additional = AADBuffer(repeating: 0)
        let aadCount = assembleAAD(header, aad, &additional)
        // The tag is checked on the copy before anything is decrypted; the plaintext is copied out
        // only when it is authentic.
        var plain = InlineArray<4096, UInt8>(repeating: 0)
        let opened = withSealKey(binding, env) { k in
            withUnsafeBytes(of: &copy) { c in
                withUnsafeBytes(of: &additional) { a in
                    withUnsafeMutableBytes(of: &plain) { p in
                        ChaCha20Poly1305.open(
                            key: k, nonce: UnsafeRawBufferPointer(rebasing: c[16..<28]),
                            aad: UnsafeRawBufferPointer(rebasing: a[0..<aadCount]),
                            ciphertext: UnsafeRawBufferPointer(rebasing: c[SealedBlob.headerSize..<(SealedBlob.headerSize + n)]),
                            tag: UnsafeRawBufferPointer(rebasing: c[(SealedBlob.headerSize + n)..<(SealedBlob.headerSize + n + SealedBlob.tagSize)]),
                            plaintext: UnsafeMutableRawBufferPointer(rebasing: p[0..<n]))
                    }
                }
            }
        }
        defer { secureZero(&plain) }
        guard let opened else { throw .noDeviceSecret }
        guard opened else { throw .notAuthentic }
        _ = withUnsafeBytes(of: &plain) { out.copyOut(from: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        return UInt64(n)
    }

    /// Runs `body` with the sealing key of `binding` (a stack copy, wiped afterwards); nil when
    /// the device has no secret.
    static func withSealKey<E: KeyEnvironment, R>(_ binding: SealedBlob.Binding, _ env: E,
                                                  _ body: (UnsafeRawBufferPointer) -> R) -> R? {
        env.withPartitionKeys { keys in
            var key = binding == .image ? keys.imageSealKey : keys.signerSealKey
            let result = withUnsafeBytes(of: &key) { body($0) }
            secureZero(&key)
            return result
        }
    }

    /// Header ‖ the caller's additional data (copied in once; at most 256 bytes, checked before).
    static func assembleAAD(_ header: InlineArray<32, UInt8>, _ aad: GuestBuffer, _ out: inout AADBuffer) -> Int {
        var i = 0
        while i < 32 { out[i] = header[i]; i += 1 }
        let n = min(aad.count, 256)
        _ = withUnsafeMutableBytes(of: &out) { aad.copyIn(to: UnsafeMutableRawBufferPointer(rebasing: $0[32..<(32 + n)])) }
        return 32 + n
    }

    static func put(_ value: UInt64, _ width: Int, _ b: inout InlineArray<32, UInt8>, _ at: Int) {
        var i = 0
        while i < width { b[at + i] = UInt8(truncatingIfNeeded: value >> UInt64(8 * i)); i += 1 }
    }

    static func get(_ b: InlineArray<32, UInt8>, _ at: Int, _ width: Int) -> UInt64 {
        var v: UInt64 = 0
        var i = width
        while i > 0 { i -= 1; v = v << 8 | UInt64(b[at + i]) }
        return v
    }
}
