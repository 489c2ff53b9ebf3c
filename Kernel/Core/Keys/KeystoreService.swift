// The keystore calls of the Bulkhead extension: key_generate, key_import, key_sign, key_mac, key_public, key_destroy (docs/keys.md).
//
// Keys are used by handle; their bytes never leave the hypervisor. Order of checks: the
// caller's policy (`keystore`), the device secret, the arguments (usage, lengths, alignment,
// addresses), the handle, and only then the work. A change (generate, import, destroy) is
// written to flash before it takes effect: when the write fails nothing changed. Messages to sign
// are copied into hypervisor memory first, because Ed25519 reads the message twice (RFC 8032
// §5.1.6 steps 2 and 4) and a guest must not be able to change it in between.

public enum KeystoreService {
    public static let maxMessage: UInt64 = 4096
    public static let signatureSize: UInt64 = 64
    public static let macSize: UInt64 = 64
    public static let publicKeySize: UInt64 = 32

    static func perform<E: KeyEnvironment>(_ call: BulkheadCall, _ env: inout E) throws(BulkheadReason) -> UInt64 {
        try KeyService.require(.keystore, env)
        guard env.withPartitionKeys({ _ in true }) != nil else { throw .noDeviceSecret }
        switch call {
        case .keyGenerate(let usage):
            let u = try keyUsage(usage)
            var material = InlineArray<64, UInt8>(repeating: 0)
            defer { secureZero(&material) }
            let n = u.generatedLength
            guard withUnsafeMutableBytes(of: &material, { env.randomBytes(UnsafeMutableRawBufferPointer(rebasing: $0[0..<n])) }) else {
                throw .noDeviceSecret
            }
            return try insert(u, material, n, &env)

        case .keyImport(let usage, let address, let length):
            let u = try keyUsage(usage)
            guard length <= UInt64(KeySlot.maxMaterial), u.accepts(length: Int(length)) else { throw .badKeyLength }
            let source = try KeyService.guestBuffer(address, length, env)
            var material = InlineArray<64, UInt8>(repeating: 0)
            defer { secureZero(&material) }
            _ = withUnsafeMutableBytes(of: &material) { source.copyIn(to: UnsafeMutableRawBufferPointer(rebasing: $0[0..<Int(length)])) }
            return try insert(u, material, Int(length), &env)

        case .keySign(let handle, let message, let length, let output):
            let (msg, out) = try buffers(message, length, output, signatureSize, env)
            var copy = InlineArray<4096, UInt8>(repeating: 0)
            _ = withUnsafeMutableBytes(of: &copy) { msg.copyIn(to: UnsafeMutableRawBufferPointer(rebasing: $0[0..<msg.count])) }
            var key = try signingKey(handle, &env)
            let signature = withUnsafeBytes(of: &copy) { key.sign(message: UnsafeRawBufferPointer(rebasing: $0[0..<msg.count])) }
            key.wipe()
            _ = signature.withBytes { out.copyOut(from: $0) }
            return signatureSize

        case .keyMAC(let handle, let message, let length, let output):
            let (msg, out) = try buffers(message, length, output, macSize, env)
            var copy = InlineArray<4096, UInt8>(repeating: 0)
            _ = withUnsafeMutableBytes(of: &copy) { msg.copyIn(to: UnsafeMutableRawBufferPointer(rebasing: $0[0..<msg.count])) }
            var slot = try self.slot(handle, .mac, &env)
            var mac = slot.withMaterial { HMACSHA512(key: $0) }
            secureZero(&slot)
            withUnsafeBytes(of: &copy) { mac.update(UnsafeRawBufferPointer(rebasing: $0[0..<msg.count])) }
            var tag = mac.finalize()
            _ = withUnsafeBytes(of: tag.bytes) { out.copyOut(from: $0) }
            secureZero(&tag)
            return macSize

        case .keyPublic(let handle, let output):
            guard output.isAligned(to: 8) else { throw .misaligned }
            let out = try KeyService.guestBuffer(output, publicKeySize, env)
            var key = try signingKey(handle, &env)
            _ = key.withPublicKeyBytes { out.copyOut(from: $0) }
            key.wipe()
            return publicKeySize

        case .keyDestroy(let handle):
            return try env.updateKeystore { (store) throws(BulkheadReason) -> UInt64 in
                try store.remove(handle)
                return 0
            }

        default:
            throw .unknownFunction
        }
    }

    static func keyUsage(_ raw: UInt64) throws(BulkheadReason) -> KeyUsage {
        guard raw <= 0xFF, let usage = KeyUsage(rawValue: UInt8(raw)) else { throw .badUsage }
        return usage
    }

    static func insert<E: KeyEnvironment>(_ usage: KeyUsage, _ material: InlineArray<64, UInt8>, _ count: Int,
                                          _ env: inout E) throws(BulkheadReason) -> UInt64 {
        var copy = material
        defer { secureZero(&copy) }
        return try withUnsafeBytes(of: &copy) { (m) throws(BulkheadReason) -> UInt64 in
            try env.updateKeystore { (store) throws(BulkheadReason) -> UInt64 in
                try store.insert(usage, UnsafeRawBufferPointer(rebasing: m[0..<count]))
            }
        }
    }

    /// The message (at most `maxMessage` bytes, any alignment) and the 8-aligned output buffer.
    static func buffers<E: KeyEnvironment>(_ message: GuestPhysAddr, _ length: UInt64, _ output: GuestPhysAddr,
                                           _ outLength: UInt64, _ env: E) throws(BulkheadReason)
        -> (GuestBuffer, GuestBuffer) {
        guard length <= maxMessage else { throw .tooLong }
        guard output.isAligned(to: 8) else { throw .misaligned }
        return (try KeyService.guestBuffer(message, length, env), try KeyService.guestBuffer(output, outLength, env))
    }

    /// A copy of the slot `handle` names, which must hold a key for `usage` (the caller wipes it).
    static func slot<E: KeyEnvironment>(_ handle: UInt64, _ usage: KeyUsage, _ env: inout E) throws(BulkheadReason) -> KeySlot {
        try env.readKeystore { (store) throws(BulkheadReason) -> KeySlot in
            let s = store.slots[try store.slot(of: handle)]
            guard s.usage == usage.rawValue else { throw .wrongUsage }
            return s
        }
    }

    /// The Ed25519 key in the slot `handle` names (the caller wipes it): the environment's cached
    /// expansion when it has one (it drops them on every keystore change), else expanded from the
    /// slot's seed and handed to the cache.
    static func signingKey<E: KeyEnvironment>(_ handle: UInt64, _ env: inout E) throws(BulkheadReason) -> Ed25519PrivateKey {
        if let cached = env.cachedSigningKey(handle) { return cached }
        let stamp = env.keystoreStamp()
        var s = try slot(handle, .sign, &env)
        let key = s.withMaterial { Ed25519PrivateKey(seed: $0) }
        secureZero(&s)
        guard let key else { throw .wrongUsage }      // a sign slot always holds 32 bytes
        env.cacheSigningKey(handle, key, ifUnchangedSince: stamp)
        return key
    }
}
