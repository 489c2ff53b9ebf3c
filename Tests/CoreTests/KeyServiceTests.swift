// The key chain and the key services: derive, seal/unseal (image- and signer-bound), random, policy, errors.

import Testing
@testable import BulkheadCore

/// A device: secret, hypervisor identity, and partitions with RAM, keys and policy.
private final class Device {
    static let ramSize = 0x4000
    var secret: SecretBytes
    var identity = SHA512.hash(UnsafeRawBufferPointer(start: nil, count: 0))
    let signer = SigningKeyID(raw: 0x1122_3344_5566_7788)
    var securityVersion: UInt64 = 3
    var provisioned = true
    var drbg: DRBG

    init(secretByte: UInt8 = 7) {
        secret = SecretBytes(repeating: secretByte)
        drbg = DRBG(seed: KeyChain.drbgSeed(secret: secret, bootCounter: 1))
    }

    func spec(_ name: String, policy: KeyPolicy = .all) -> PartitionSpec {
        var s = PartitionSpec()
        s.name = Array(name.utf8).withUnsafeBytes { PartitionName(bytes: $0)! }
        s.keyPolicy = policy
        return s
    }

    func digest(_ text: String) -> SHA512Digest { Array(text.utf8).withUnsafeBytes { SHA512.hash($0) } }

    /// A partition running `image` with `policy`; its keys come from this device.
    final class Partition {
        let ram = UnsafeMutableRawBufferPointer.allocate(byteCount: Device.ramSize, alignment: 4096)
        var keys: PartitionKeys
        var policy: KeyPolicy
        let device: Device
        init(_ device: Device, _ name: String, image: String, policy: KeyPolicy = .all) {
            self.device = device
            self.policy = policy
            ram.initializeMemory(as: UInt8.self, repeating: 0)
            let cdi = KeyChain.hypervisorCDI(secret: device.secret, identity: device.identity)
            keys = KeyChain.partitionKeys(hypervisorCDI: cdi, spec: device.spec(name, policy: policy),
                                          imageDigest: device.digest(image), signingKey: device.signer)
        }
        deinit { ram.deallocate() }

        func gpa(_ offset: Int) -> UInt64 { guestRAMBase.raw + UInt64(offset) }
        func put(_ offset: Int, _ bytes: [UInt8]) { for (i, b) in bytes.enumerated() { ram[offset + i] = b } }
        func bytes(_ offset: Int, _ count: Int) -> [UInt8] { Array(ram[offset..<(offset + count)]) }
        func putRequest(_ at: Int, data: (Int, Int), aad: (Int, Int), out: (Int, Int)) {
            let words = [gpa(data.0), UInt64(data.1), gpa(aad.0), UInt64(aad.1), gpa(out.0), UInt64(out.1)]
            for (i, w) in words.enumerated() { for b in 0..<8 { ram[at + 8 * i + b] = UInt8(truncatingIfNeeded: w >> UInt64(8 * b)) } }
        }

        func call(_ fid: BulkheadFunction, _ a0: UInt64 = 0, _ a1: UInt64 = 0, _ a2: UInt64 = 0) -> SBIResult {
            var env = Env(owner: self)
            return BulkheadService.handle(BulkheadCall.decode(fid: fid.rawValue, a0: a0, a1: a1, a2: a2), &env)
        }
    }

    struct Env: IPCEnvironment, NoKeystore {
        let owner: Partition
        var partition: Int { 0 }
        var memory: GuestMemory {
            GuestMemory(host: HostRegion(base: HostPhysAddr(UInt64(UInt(bitPattern: owner.ram.baseAddress))),
                                         size: UInt64(Device.ramSize)))
        }
        var keyPolicy: KeyPolicy { owner.policy }
        var securityVersion: UInt64 { owner.device.securityVersion }
        func withPartitionKeys<R>(_ body: (PartitionKeys) -> R) -> R? {
            owner.device.provisioned ? body(owner.keys) : nil
        }
        mutating func randomBytes(_ output: UnsafeMutableRawBufferPointer) -> Bool {
            owner.device.provisioned && owner.device.drbg.fill(output)
        }
        mutating func attestationReport(nonce: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? { nil }
        // No channels here.
        var channelCount: Int { 0 }
        func channel(_ id: Int) -> ChannelSpec { ChannelSpec() }
        var partitionName: PartitionName { PartitionName() }
        func sharedWindow(_ id: Int) -> GuestPhysAddr { ChannelLimits.sharedWindowBase }
        mutating func withRing<R>(channel id: Int, toEndpoint endpoint: Int, _ body: (MessageRing) -> R) -> R { fatalError() }
        mutating func ringDoorbell(channel id: Int, partition p: Int) {}
        mutating func takeDoorbells() -> UInt64 { 0 }
    }
}

private func failure(_ reason: BulkheadReason) -> SBIResult { reason.result }

@Suite("Keys: the chain and the key services")
struct KeyServiceTests {
    /// derive("label") as partition `p` sees it.
    private func derived(_ p: Device.Partition, _ label: String = "storage") -> [UInt8] {
        p.put(0x100, Array(label.utf8))
        #expect(p.call(.derive, p.gpa(0x100), UInt64(label.utf8.count), p.gpa(0x200)) == .success(32))
        return p.bytes(0x200, 32)
    }

    @Test func derivedKeysAreBoundToDevicePartitionImagePolicyAndLabel() {
        let d = Device()
        let vault = Device.Partition(d, "vault", image: "vault v1")
        let key = derived(vault)
        #expect(key != [UInt8](repeating: 0, count: 32))
        #expect(derived(Device.Partition(d, "vault", image: "vault v1")) == key)             // stable ("reboot")
        #expect(derived(Device.Partition(d, "tenant", image: "vault v1")) != key)            // another partition
        #expect(derived(Device.Partition(d, "vault", image: "vault v2")) != key)             // another image
        let otherPolicy = KeyPolicy(raw: KeyPolicy.derive.raw | KeyPolicy.seal.raw)
        #expect(derived(Device.Partition(d, "vault", image: "vault v1", policy: otherPolicy)) != key)        // another policy
        #expect(derived(vault, "other") != key)                                              // another label
        #expect(derived(Device.Partition(Device(secretByte: 8), "vault", image: "vault v1")) != key)   // another device
        let otherHypervisor = Device()
        otherHypervisor.identity = d.digest("another hypervisor build")
        #expect(derived(Device.Partition(otherHypervisor, "vault", image: "vault v1")) != key)
    }

    @Test func theChainFollowsDocsKeysMd() {
        // partition CDI = HKDF(salt = hypervisor CDI, ikm = measurement, info "Bulkhead partition CDI v1"),
        // recomputed here from the documented pieces.
        let d = Device()
        let p = Device.Partition(d, "vault", image: "img")
        let cdi = KeyChain.hypervisorCDI(secret: d.secret, identity: d.identity)
        var expected = CDI(repeating: 0)
        withUnsafeBytes(of: cdi) { salt in
            p.keys.measurement.withBytes { ikm in
                Array("Bulkhead partition CDI v1".utf8).withUnsafeBytes { info in
                    withUnsafeMutableBytes(of: &expected) { #expect(HKDFSHA512.deriveKey(salt: salt, ikm: ikm, info: info, into: $0)) }
                }
            }
        }
        #expect(withUnsafeBytes(of: expected, Array.init) == withUnsafeBytes(of: p.keys.cdi, Array.init))
        var keys = p.keys
        keys.wipe()
        #expect(withUnsafeBytes(of: keys.cdi, Array.init) == [UInt8](repeating: 0, count: 64))
    }

    /// Seals `secret` with `binding` as `p`; returns the blob.
    private func seal(_ p: Device.Partition, _ binding: UInt64, _ secret: [UInt8], aad: [UInt8] = [1, 2, 3]) -> [UInt8] {
        p.put(0x400, secret); p.put(0x600, aad)
        p.putRequest(0x40, data: (0x400, secret.count), aad: (0x600, aad.count), out: (0x800, 4200))
        let r = p.call(.seal, binding, p.gpa(0x40))
        #expect(r == .success(UInt64(secret.count + 48)))
        return p.bytes(0x800, secret.count + 48)
    }

    /// Unseals `blob` as `p`.
    private func unseal(_ p: Device.Partition, _ blob: [UInt8], aad: [UInt8] = [1, 2, 3]) -> (SBIResult, [UInt8]) {
        p.put(0x1000, blob); p.put(0x600, aad)
        p.putRequest(0x80, data: (0x1000, blob.count), aad: (0x600, aad.count), out: (0x2400, 4096))
        let r = p.call(.unseal, 0, p.gpa(0x80))
        return (r, r.error == 0 ? p.bytes(0x2400, Int(r.value)) : [])
    }

    @Test func sealAndUnsealWithBothBindings() {
        let d = Device()
        let vault = Device.Partition(d, "vault", image: "vault v1")
        let secret = Array("the vault's secret".utf8)
        for binding: UInt64 in [1, 2] {
            let blob = seal(vault, binding, secret)
            #expect(Array(blob[0..<4]) == Array("BHSL".utf8) && blob[4] == 1 && blob[6] == UInt8(binding))
            #expect(Array(blob[8..<16]) == [3, 0, 0, 0, 0, 0, 0, 0])                        // the sealer's version
            #expect(Array(blob[32..<(32 + secret.count)]) != secret)                        // encrypted
            #expect(unseal(vault, blob) == (.success(UInt64(secret.count)), secret))
            #expect(unseal(vault, blob, aad: [1, 2, 4]).0 == failure(.notAuthentic))        // aad is bound
        }
        // Two seals of the same data differ (fresh nonces).
        #expect(seal(vault, 1, secret) != seal(vault, 1, secret))
    }

    @Test func anotherPartitionOrImageCannotUnsealButTheSignerBindingSurvivesUpdates() {
        let d = Device()
        let vault = Device.Partition(d, "vault", image: "vault v1")
        let secret = Array("keep me".utf8)
        let imageBound = seal(vault, 1, secret), signerBound = seal(vault, 2, secret)
        let tenant = Device.Partition(d, "tenant", image: "vault v1")
        #expect(unseal(tenant, imageBound).0 == failure(.notAuthentic))
        #expect(unseal(tenant, signerBound).0 == failure(.notAuthentic))
        let updated = Device.Partition(d, "vault", image: "vault v2")                       // a new image
        #expect(unseal(updated, imageBound).0 == failure(.notAuthentic))
        #expect(unseal(updated, signerBound) == (.success(UInt64(secret.count)), secret))
        // A signer-bound blob from version 3 does not open under version 2, and does under 4.
        d.securityVersion = 2
        #expect(unseal(updated, signerBound).0 == failure(.versionTooLow))
        d.securityVersion = 4
        #expect(unseal(updated, signerBound).0 == .success(UInt64(secret.count)))
        // Nor on another device.
        let elsewhere = Device.Partition(Device(secretByte: 9), "vault", image: "vault v1")
        #expect(unseal(elsewhere, imageBound).0 == failure(.notAuthentic))
    }

    @Test func anEmptyAADMayHaveAnyAddress() {
        let d = Device()
        let p = Device.Partition(d, "p", image: "x")
        p.put(0x400, [1, 2, 3, 4])
        p.putRequest(0x40, data: (0x400, 4), aad: (0, 0), out: (0x800, 100))
        for b in 0..<8 { p.ram[0x40 + 16 + b] = 0 }                                      // aad GPA 0 (C's NULL)
        #expect(p.call(.seal, 1, p.gpa(0x40)) == .success(52))
        let blob = p.bytes(0x800, 52)
        #expect(unseal(p, blob, aad: []) == (.success(4), [1, 2, 3, 4]))
        for b in 0..<8 { p.ram[0x40 + 16 + b] = 0 }
        p.putRequest(0x40, data: (0x400, 4), aad: (0, 1), out: (0x800, 100))
        for b in 0..<8 { p.ram[0x40 + 16 + b] = 0 }                                      // one byte at GPA 0: refused
        #expect(p.call(.seal, 1, p.gpa(0x40)) == failure(.badAddress))
    }

    @Test func tamperedAndMalformedBlobsAreRefused() {
        let d = Device()
        let vault = Device.Partition(d, "vault", image: "v")
        let blob = seal(vault, 2, [9, 9, 9, 9])
        for i in 0..<blob.count {
            var bad = blob
            bad[i] ^= 0x01
            let r = unseal(vault, bad).0
            let header = i < 8 || (i >= 28 && i < 32)
            if header && i != 6 { #expect(r == failure(.badBlob), "byte \(i)") }
            else if i >= 8 && i < 16 {                                                 // the version: authenticated
                #expect(r == failure(.notAuthentic) || r == failure(.versionTooLow), "byte \(i)")
            } else { #expect(r == failure(.notAuthentic) || r == failure(.badBlob), "byte \(i)") }
        }
        #expect(unseal(vault, Array(blob.dropLast())).0 == failure(.badBlob))             // a truncated blob
        #expect(unseal(vault, Array(blob[0..<47])).0 == failure(.badBlob))
    }

    @Test func policyAndProvisioningAreChecked() {
        let d = Device()
        var policy = KeyPolicy()
        policy.insert(.random)
        let limited = Device.Partition(d, "limited", image: "x", policy: policy)
        limited.put(0x100, [1])
        #expect(limited.call(.derive, limited.gpa(0x100), 1, limited.gpa(0x200)) == failure(.policyDenied))
        limited.putRequest(0x40, data: (0x400, 4), aad: (0x600, 0), out: (0x800, 100))
        #expect(limited.call(.seal, 1, limited.gpa(0x40)) == failure(.policyDenied))
        #expect(limited.call(.unseal, 0, limited.gpa(0x40)) == failure(.policyDenied))
        #expect(limited.call(.attest, limited.gpa(0x100), limited.gpa(0x200), 256) == failure(.policyDenied))
        #expect(limited.call(.random, limited.gpa(0x200), 32) == .success(32))
        d.provisioned = false
        #expect(limited.call(.random, limited.gpa(0x200), 32) == failure(.noDeviceSecret))
        let full = Device.Partition(d, "full", image: "x")
        full.put(0x100, [1])
        #expect(full.call(.derive, full.gpa(0x100), 1, full.gpa(0x200)) == failure(.noDeviceSecret))
        #expect(full.call(.attest, full.gpa(0x100), full.gpa(0x200), 256) == failure(.noDeviceSecret))
    }

    @Test func hostileArgumentsGetTheirErrors() {
        let d = Device()
        let p = Device.Partition(d, "p", image: "x")
        let end = p.gpa(Device.ramSize)
        #expect(p.call(.derive, p.gpa(0), 0, p.gpa(0x200)) == failure(.tooLong))              // empty label
        #expect(p.call(.derive, p.gpa(0), 65, p.gpa(0x200)) == failure(.tooLong))
        #expect(p.call(.derive, p.gpa(0), 8, p.gpa(0x204)) == failure(.misaligned))
        #expect(p.call(.derive, end - 4, 8, p.gpa(0x200)) == failure(.badAddress))
        #expect(p.call(.derive, p.gpa(0), 8, end - 16) == failure(.badAddress))
        #expect(p.call(.random, p.gpa(0), 0) == failure(.tooLong))
        #expect(p.call(.random, p.gpa(0), 257) == failure(.tooLong))
        #expect(p.call(.random, end - 8, 16) == failure(.badAddress))
        #expect(p.call(.seal, 3, p.gpa(0x40)) == failure(.badBinding))
        #expect(p.call(.seal, 1, p.gpa(0x44)) == failure(.misaligned))
        #expect(p.call(.seal, 1, end - 8) == failure(.badAddress))
        p.putRequest(0x40, data: (0x400, 4097), aad: (0x600, 0), out: (0x800, 5000))
        #expect(p.call(.seal, 1, p.gpa(0x40)) == failure(.tooLong))
        p.putRequest(0x40, data: (0x400, 16), aad: (0x600, 257), out: (0x800, 5000))
        #expect(p.call(.seal, 1, p.gpa(0x40)) == failure(.tooLong))
        p.putRequest(0x40, data: (0x400, 16), aad: (0x600, 0), out: (0x800, 63))
        #expect(p.call(.seal, 1, p.gpa(0x40)) == failure(.bufferTooSmall))
        p.putRequest(0x40, data: (Device.ramSize - 8, 16), aad: (0x600, 0), out: (0x800, 64))
        #expect(p.call(.seal, 1, p.gpa(0x40)) == failure(.badAddress))
        p.putRequest(0x40, data: (0x400, 16), aad: (0x600, 0), out: (Device.ramSize - 32, 64))
        #expect(p.call(.seal, 1, p.gpa(0x40)) == failure(.badAddress))
        // unseal: a plaintext buffer too small keeps the output untouched.
        let blob = seal(p, 1, [UInt8](repeating: 5, count: 40))
        p.put(0x1000, blob)
        p.putRequest(0x80, data: (0x1000, blob.count), aad: (0x600, 3), out: (0x2400, 39))
        #expect(p.call(.unseal, 0, p.gpa(0x80)) == failure(.bufferTooSmall))
        #expect(p.bytes(0x2400, 40) == [UInt8](repeating: 0, count: 40))
    }

    @Test func attestationReportsFollowTheLayoutAndVerify() {
        let d = Device()
        let p = Device.Partition(d, "vault", image: "x")
        let cdi = KeyChain.hypervisorCDI(secret: d.secret, identity: d.identity)
        var seed = KeyChain.attestationSeed(hypervisorCDI: cdi)
        let key = withUnsafeBytes(of: &seed) { Ed25519PrivateKey(seed: $0)! }
        let nonce = (0..<32).map { UInt8($0 * 3) }
        var out = [UInt8](repeating: 0xEE, count: 400)
        let name = Array("vault".utf8).withUnsafeBytes { PartitionName(bytes: $0)! }
        let n = out.withUnsafeMutableBytes { o in
            nonce.withUnsafeBytes { AttestationReport.write(into: o, securityVersion: 7, identity: d.identity, name: name,
                                                            keys: p.keys, nonce: $0, deviceKey: key) }
        }
        #expect(n == 320 && out[320] == 0xEE)
        #expect(Array(out[0..<8]) == Array("BHAR".utf8) + [1, 0, 0x40, 0x01])
        #expect(Array(out[8..<16]) == [7, 0, 0, 0, 0, 0, 0, 0])
        #expect(Array(out[16..<80]) == d.identity.withBytes(Array.init))
        #expect(Array(out[80..<96]) == Array("vault".utf8) + [UInt8](repeating: 0, count: 11))
        #expect(Array(out[96..<160]) == p.keys.measurement.withBytes(Array.init))
        #expect(Array(out[160..<224]) == p.keys.policyDigest.withBytes(Array.init))
        #expect(Array(out[224..<256]) == nonce)
        func verifies(_ r: [UInt8]) -> Bool {
            r.withUnsafeBytes { Ed25519.verify(signature: UnsafeRawBufferPointer(rebasing: $0[256..<320]),
                                               message: UnsafeRawBufferPointer(rebasing: $0[0..<256]), publicKey: key.publicKey) }
        }
        #expect(verifies(out))
        for at in stride(from: 0, to: 320, by: 7) { var bad = out; bad[at] ^= 0x20; #expect(!verifies(bad), "byte \(at)") }
        var small = [UInt8](repeating: 0, count: 319)
        #expect(small.withUnsafeMutableBytes { o in nonce.withUnsafeBytes {
            AttestationReport.write(into: o, securityVersion: 7, identity: d.identity, name: name, keys: p.keys, nonce: $0, deviceKey: key) } } == 0)
        #expect(small == [UInt8](repeating: 0, count: 319))
    }

    @Test func randomBytesDifferAndTheDRBGErasesItsKey() {
        let d = Device()
        let p = Device.Partition(d, "p", image: "x")
        #expect(p.call(.random, p.gpa(0x100), 64) == .success(64))
        let first = p.bytes(0x100, 64)
        #expect(p.call(.random, p.gpa(0x100), 64) == .success(64))
        #expect(p.bytes(0x100, 64) != first && first != [UInt8](repeating: 0, count: 64))
        // Same seed, same stream; the output is not the ChaCha20 key stream's first 32 bytes (the next key).
        var a = DRBG(seed: SecretBytes(repeating: 1)), b = DRBG(seed: SecretBytes(repeating: 1))
        var x = [UInt8](repeating: 0, count: 100), y = [UInt8](repeating: 0, count: 100)
        #expect(x.withUnsafeMutableBytes { a.fill($0) } && y.withUnsafeMutableBytes { b.fill($0) } && x == y)
        var block = [UInt8](repeating: 0, count: 64)
        withUnsafeBytes(of: SecretBytes(repeating: 1)) { k in
            [UInt8](repeating: 0, count: 12).withUnsafeBytes { n in block.withUnsafeMutableBytes { ChaCha20.block(key: k, counter: 0, nonce: n, into: $0) } }
        }
        #expect(Array(x[0..<32]) == Array(block[32..<64]))
        #expect(x.withUnsafeMutableBytes { a.fill($0) } && Array(x[0..<32]) != Array(block[32..<64]))
        var big = [UInt8](repeating: 0, count: DRBG.maxRequest + 1)
        #expect(!big.withUnsafeMutableBytes { a.fill($0) })
    }

    /// KeyService.handle (the secure monitor's entry for a plain OS) answers a key call as
    /// IPCService does, and refuses every other call with unknown_function, touching nothing.
    @Test func keyServiceHandleMatchesIPCServiceAndRefusesOtherCalls() {
        let d = Device()
        let p = Device.Partition(d, "os", image: "os v1")
        let viaIPC = derived(p)
        var env = Device.Env(owner: p)
        let derive = BulkheadCall.derive(label: GuestPhysAddr(p.gpa(0x100)), length: 7, output: GuestPhysAddr(p.gpa(0x300)))
        #expect(KeyService.handle(derive, &env) == .success(32))
        #expect(p.bytes(0x300, 32) == viaIPC)
        #expect(KeyService.handle(.send(channel: 0, buffer: GuestPhysAddr(p.gpa(0x400)), length: 8), &env) == failure(.unknownFunction))
        #expect(KeyService.handle(.keyGenerate(usage: 1), &env) == failure(.unknownFunction))
        #expect(KeyService.handle(.random(output: GuestPhysAddr(p.gpa(0x400)), length: 257), &env) == failure(.tooLong))
        #expect(KeyService.handle(.random(output: GuestPhysAddr(0x10), length: 32), &env) == failure(.badAddress))
        #expect(p.bytes(0x400, 64) == [UInt8](repeating: 0, count: 64))
    }
}

@Suite("Keys: the measurement covers an initrd")
struct InitrdMeasurementTests {
    @Test func anInitrdChangesTheMeasurementAndItsAbsenceKeepsTheOldOne() {
        var spec = PartitionSpec()
        spec.name = Array("linux".utf8).withUnsafeBytes { PartitionName(bytes: $0)! }
        let image = [UInt8](repeating: 1, count: 8).withUnsafeBytes { SHA512.hash($0) }
        let policy = KeyChain.policyDigest(spec)
        let none = KeyChain.measurement(spec, imageDigest: image, policyDigest: policy)
        let a = [UInt8](repeating: 2, count: 64), b = [UInt8](repeating: 3, count: 64)
        let withA = a.withUnsafeBytes { KeyChain.measurement(spec, imageDigest: image, policyDigest: policy, initrdDigest: $0) }
        let withB = b.withUnsafeBytes { KeyChain.measurement(spec, imageDigest: image, policyDigest: policy, initrdDigest: $0) }
        #expect(withA != none && withA != withB)
        var expected = SHA512()
        Array("Bulkhead partition measurement v1".utf8).withUnsafeBytes { expected.update($0) }
        ([5] + Array("linux".utf8) + [UInt8](repeating: 0, count: 11)).withUnsafeBytes { expected.update($0) }
        image.withBytes { expected.update($0) }
        policy.withBytes { expected.update($0) }
        #expect(none == expected.finalize(), "without an initrd the measurement is what docs/keys.md has always said")
    }
}
