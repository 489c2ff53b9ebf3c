// The keystore: handles and slots, the sealed record and its two flash copies, and the six calls through IPCService.

import Testing
@testable import BulkheadCore

private func name(_ text: String) -> PartitionName { Array(text.utf8).withUnsafeBytes { PartitionName(bytes: $0)! } }
private func hex(_ text: String) -> [UInt8] {
    let digits = Array(text.utf8)
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<($0 + 2)], as: UTF8.self), radix: 16)! }
}
private let seed = hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")      // RFC 8032 §7.1 TEST 1
private let macKey = [UInt8](repeating: 0x0b, count: 20)                                         // RFC 4231 §4.2 case 1

/// A device's flash and record buffers, shared by every partition and every "boot".
private final class Storage {
    static let block = 0x1000 * 4
    var flash = FakeNORFlash(blocks: 4, eraseBlockSize: Storage.block)
    let region = KeystoreRegion(copyA: FlashRange(offset: 0, size: Storage.block), copyB: FlashRange(offset: 2 * Storage.block, size: Storage.block))
    let record = UnsafeMutableRawBufferPointer.allocate(byteCount: KeystoreRecord.maxSize, alignment: 16)
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: KeystoreRecord.maxSize, alignment: 16)
    var current: Int?
    var nonceCounter: UInt8 = 0
    init() { KeystoreRecord.makeEmpty(record) }            // what a boot with two erased copies leaves
    deinit { record.deallocate(); scratch.deallocate() }

    /// A boot: the current record read back from flash.
    func boot() -> KeystoreRegion.Loaded {
        let loaded = region.load(flash, into: record)
        current = loaded.current
        return loaded
    }
}

/// One partition of that device: its name, keystore key, RAM and keystore.
private final class Tenant {
    static let ramSize = 0x4000
    let storage: Storage
    let name: PartitionName
    var key: SecretBytes
    var policy = KeyPolicy.all
    var provisioned = true
    var store: PartitionKeystore
    /// A signing-key cache as the kernel keeps one (VCPUEnvironment), when `caching`.
    var caching = false
    var stamp: UInt64 = 0
    var cached: (handle: UInt64, key: Ed25519PrivateKey)? = nil
    var cacheHits = 0
    /// Simulates another vCPU changing the keystore while a key is being expanded.
    var changeWhileExpanding = false
    let ram = UnsafeMutableRawBufferPointer.allocate(byteCount: Tenant.ramSize, alignment: 4096)

    init(_ storage: Storage, _ text: String, keyByte: UInt8 = 0x33) {
        self.storage = storage
        name = BulkheadCoreTests_name(text)
        key = SecretBytes(repeating: keyByte)
        store = PartitionKeystore(ownerTag: PartitionKeystore.ownerTag(for: name))
        ram.initializeMemory(as: UInt8.self, repeating: 0)
        reload()
    }
    deinit { ram.deallocate() }

    /// Opens this partition's entry of the storage's current record.
    @discardableResult
    func reload() -> KeystoreRecord.EntryStatus {
        store = PartitionKeystore(ownerTag: PartitionKeystore.ownerTag(for: name))
        return withUnsafeBytes(of: key) { KeystoreRecord.open(UnsafeRawBufferPointer(storage.record), name: name, key: $0, into: &store) }
    }

    func gpa(_ offset: Int) -> UInt64 { guestRAMBase.raw + UInt64(offset) }
    func put(_ offset: Int, _ bytes: [UInt8]) { for (i, b) in bytes.enumerated() { ram[offset + i] = b } }
    func bytes(_ offset: Int, _ count: Int) -> [UInt8] { Array(ram[offset..<(offset + count)]) }

    func call(_ fid: BulkheadFunction, _ a0: UInt64 = 0, _ a1: UInt64 = 0, _ a2: UInt64 = 0, _ a3: UInt64 = 0) -> SBIResult {
        var env = Env(owner: self)
        return BulkheadService.handle(BulkheadCall.decode(fid: fid.rawValue, a0: a0, a1: a1, a2: a2, a3: a3), &env)
    }

    struct Env: IPCEnvironment {
        let owner: Tenant
        var partition: Int { 0 }
        var memory: GuestMemory {
            GuestMemory(host: HostRegion(base: HostPhysAddr(UInt64(UInt(bitPattern: owner.ram.baseAddress))), size: UInt64(Tenant.ramSize)))
        }
        var keyPolicy: KeyPolicy { owner.policy }
        var securityVersion: UInt64 { 1 }
        func withPartitionKeys<R>(_ body: (PartitionKeys) -> R) -> R? {
            guard owner.provisioned else { return nil }
            var keys = PartitionKeys()
            keys.keystoreKey = owner.key
            return body(keys)
        }
        mutating func randomBytes(_ output: UnsafeMutableRawBufferPointer) -> Bool {
            guard owner.provisioned else { return false }
            for i in 0..<output.count { output[i] = UInt8(truncatingIfNeeded: i &* 31 &+ Int(owner.storage.nonceCounter)) }
            owner.storage.nonceCounter &+= 1
            return true
        }
        mutating func attestationReport(nonce: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? { nil }
        mutating func readKeystore<R>(_ body: (borrowing PartitionKeystore) throws(BulkheadReason) -> R) throws(BulkheadReason) -> R {
            if owner.changeWhileExpanding { owner.stamp &+= 1; owner.cached = nil }
            return try body(owner.store)
        }
        mutating func keystoreStamp() -> UInt64 { owner.stamp }
        mutating func cachedSigningKey(_ handle: UInt64) -> Ed25519PrivateKey? {
            guard owner.caching, let cached = owner.cached, cached.handle == handle else { return nil }
            owner.cacheHits += 1
            return cached.key
        }
        mutating func cacheSigningKey(_ handle: UInt64, _ key: Ed25519PrivateKey, ifUnchangedSince stamp: UInt64) {
            guard owner.caching, owner.stamp == stamp else { return }
            owner.cached = (handle, key)
        }
        mutating func updateKeystore(_ change: (inout PartitionKeystore) throws(BulkheadReason) -> UInt64) throws(BulkheadReason) -> UInt64 {
            let s = owner.storage
            var nonce = InlineArray<12, UInt8>(repeating: 0)
            _ = withUnsafeMutableBytes(of: &nonce) { randomBytes($0) }
            var key = owner.key
            return try withUnsafeBytes(of: &key) { (k) throws(BulkheadReason) -> UInt64 in
                try withUnsafeBytes(of: &nonce) { (n) throws(BulkheadReason) -> UInt64 in
                    defer { owner.stamp &+= 1; owner.cached = nil }        // every change forgets the cache
                    return try s.region.update(&owner.store, name: owner.name, key: k, nonce: n, record: s.record,
                                               scratch: s.scratch, current: &s.current, flash: &s.flash, change)
                }
            }
        }
        var channelCount: Int { 0 }
        func channel(_ id: Int) -> ChannelSpec { ChannelSpec() }
        var partitionName: PartitionName { owner.name }
        func sharedWindow(_ id: Int) -> GuestPhysAddr { ChannelLimits.sharedWindowBase }
        mutating func withRing<R>(channel id: Int, toEndpoint endpoint: Int, _ body: (MessageRing) -> R) -> R { fatalError() }
        mutating func ringDoorbell(channel id: Int, partition p: Int) {}
        mutating func takeDoorbells() -> UInt64 { 0 }
    }

    // Calls with their buffers at fixed offsets of RAM: material at 0x100, message at 0x200, output at 0x1000.
    func generate(_ usage: KeyUsage) -> SBIResult { call(.keyGenerate, UInt64(usage.rawValue)) }
    func importKey(_ usage: KeyUsage, _ material: [UInt8]) -> SBIResult {
        put(0x100, material)
        return call(.keyImport, UInt64(usage.rawValue), gpa(0x100), UInt64(material.count))
    }
    func sign(_ handle: UInt64, _ message: [UInt8]) -> (SBIResult, [UInt8]) {
        put(0x200, message)
        let r = call(.keySign, handle, gpa(0x200), UInt64(message.count), gpa(0x1000))
        return (r, bytes(0x1000, 64))
    }
    func mac(_ handle: UInt64, _ message: [UInt8]) -> (SBIResult, [UInt8]) {
        put(0x200, message)
        let r = call(.keyMAC, handle, gpa(0x200), UInt64(message.count), gpa(0x1000))
        return (r, bytes(0x1000, 64))
    }
    func publicKey(_ handle: UInt64) -> (SBIResult, [UInt8]) {
        let r = call(.keyPublic, handle, gpa(0x1000))
        return (r, bytes(0x1000, 32))
    }
}

// `name` inside the class's initialiser would mean the property.
private func BulkheadCoreTests_name(_ text: String) -> PartitionName { name(text) }
private func failure(_ reason: BulkheadReason) -> SBIResult { reason.result }

@Suite("Keystore: slots, handles, the sealed record, the calls")
struct KeystoreTests {
    @Test func handlesNameOwnerSlotAndGeneration() throws {
        var store = PartitionKeystore(ownerTag: PartitionKeystore.ownerTag(for: name("vault")))
        let h = try seed.withUnsafeBytes { (m) throws(BulkheadReason) in try store.insert(.sign, m) }
        #expect(h >> 32 == UInt64(store.ownerTag) && store.ownerTag & 0x8000_0000 != 0)
        #expect(h & 0xFF == 0 && (h >> 8) & 0xFFFF == 1)
        #expect(try store.slot(of: h) == 0)
        #expect(throws: BulkheadReason.notOwner) { try store.slot(of: h ^ (1 << 40)) }
        #expect(throws: BulkheadReason.unknownHandle) { try store.slot(of: h + 0x100) }          // another generation
        #expect(throws: BulkheadReason.unknownHandle) { try store.slot(of: h | 1) }              // an empty slot
        #expect(throws: BulkheadReason.unknownHandle) { try store.slot(of: h | 0xC8) }           // slot 200
        #expect(throws: BulkheadReason.unknownHandle) { try store.slot(of: h | 1 << 24) }        // reserved bits
        try store.remove(h)
        #expect(throws: BulkheadReason.unknownHandle) { try store.slot(of: h) }
        // The slot's next key has the next generation: the destroyed key's handle stays dead.
        let again = try seed.withUnsafeBytes { (m) throws(BulkheadReason) in try store.insert(.sign, m) }
        #expect(again & 0xFF == 0 && again != h)
        #expect(throws: BulkheadReason.unknownHandle) { try store.slot(of: h) }
        #expect(PartitionKeystore.ownerTag(for: name("vault")) != PartitionKeystore.ownerTag(for: name("tenant")))
    }

    @Test func slotsAreBoundedAndMaterialLengthsChecked() throws {
        var store = PartitionKeystore(ownerTag: 0x8000_0001)
        #expect(throws: BulkheadReason.badKeyLength) { try seed.prefix(31).withUnsafeBytes { (m) throws(BulkheadReason) in try store.insert(.sign, m) } }
        #expect(throws: BulkheadReason.badKeyLength) { try macKey.prefix(15).withUnsafeBytes { (m) throws(BulkheadReason) in try store.insert(.mac, m) } }
        #expect(throws: BulkheadReason.badKeyLength) { try [UInt8](repeating: 1, count: 65).withUnsafeBytes { (m) throws(BulkheadReason) in try store.insert(.mac, m) } }
        for _ in 0..<PartitionKeystore.slotCount {
            _ = try macKey.withUnsafeBytes { (m) throws(BulkheadReason) in try store.insert(.mac, m) }
        }
        #expect(throws: BulkheadReason.keystoreFull) { try macKey.withUnsafeBytes { (m) throws(BulkheadReason) in try store.insert(.mac, m) } }
    }

    @Test func theSealedFormRoundTripsAndMalformedSlotsAreRefused() throws {
        var store = PartitionKeystore(ownerTag: 7)
        _ = try seed.withUnsafeBytes { (m) throws(BulkheadReason) in try store.insert(.sign, m) }
        let h = try macKey.withUnsafeBytes { (m) throws(BulkheadReason) in try store.insert(.mac, m) }
        var encoded = [UInt8](repeating: 0, count: PartitionKeystore.encodedSize)
        encoded.withUnsafeMutableBytes { store.encode(into: $0) }
        var back = PartitionKeystore(ownerTag: 7)
        #expect(encoded.withUnsafeBytes { back.decode($0) })
        #expect(try back.slot(of: h) == 1)
        #expect(back.slots[1].withMaterial { Array($0) } == macKey)
        for (at, value) in [(0, UInt8(3)), (1, UInt8(31)), (4, UInt8(1)), (KeySlot.encodedSize + 1, UInt8(15))] {
            var bad = encoded
            bad[at] = value
            var decoded = PartitionKeystore(ownerTag: 7)
            #expect(!bad.withUnsafeBytes { decoded.decode($0) }, "byte \(at) = \(value)")
            #expect(decoded.isBlank)
        }
    }

    @Test func recordsSealEachEntryCarryOthersAndDetectDamage() throws {
        var empty = [UInt8](repeating: 0, count: KeystoreRecord.maxSize)
        empty.withUnsafeMutableBytes { KeystoreRecord.makeEmpty($0) }
        #expect(empty.withUnsafeBytes { KeystoreRecord.status($0) } == .valid(sequence: 0))
        var store = PartitionKeystore(ownerTag: 1)
        _ = try seed.withUnsafeBytes { (m) throws(BulkheadReason) in try store.insert(.sign, m) }
        let key = [UInt8](repeating: 0x44, count: 32), nonce = [UInt8](repeating: 9, count: 12)
        func replace(_ current: [UInt8], _ who: String, _ s: PartitionKeystore) -> [UInt8]? {
            var out = [UInt8](repeating: 0, count: KeystoreRecord.maxSize)
            let n = current.withUnsafeBytes { c in key.withUnsafeBytes { k in nonce.withUnsafeBytes { nn in
                out.withUnsafeMutableBytes { KeystoreRecord.replacing(c, name: name(who), store: s, key: k, nonce: nn, into: $0) } } } }
            return n.map { _ in out }
        }
        let one = try #require(replace(empty, "vault", store))
        let two = try #require(replace(one, "tenant", store))
        #expect(two.withUnsafeBytes { KeystoreRecord.status($0) } == .valid(sequence: 2))
        #expect(two.withUnsafeBytes { KeystoreRecord.entryCount($0) } == 2)
        #expect(!two.contains(seed: seed), "key material in clear")
        func open(_ record: [UInt8], _ who: String, _ k: [UInt8] = key) -> KeystoreRecord.EntryStatus {
            var s = PartitionKeystore(ownerTag: 1)
            return record.withUnsafeBytes { r in k.withUnsafeBytes { KeystoreRecord.open(r, name: name(who), key: $0, into: &s) } }
        }
        #expect(open(two, "vault") == .opened && open(two, "tenant") == .opened && open(two, "other") == .absent)
        #expect(open(two, "vault", [UInt8](repeating: 0x45, count: 32)) == .notAuthentic)
        // Replacing vault's entry keeps tenant's bytes untouched; a blank store drops the entry.
        let three = try #require(replace(two, "vault", PartitionKeystore(ownerTag: 1)))
        #expect(three.withUnsafeBytes { KeystoreRecord.entryCount($0) } == 1)
        #expect(open(three, "tenant") == .opened && open(three, "vault") == .absent)
        // Any changed byte of an entry fails its tag; any changed byte of the record fails the CRC.
        var tampered = two
        tampered[KeystoreRecord.headerSize + KeystoreRecord.ciphertextOffset + 5] ^= 1
        #expect(tampered.withUnsafeBytes { KeystoreRecord.status($0) } == .damaged)
        var refreshed = tampered
        let crc = refreshed.withUnsafeBytes { KeystoreRecord.checksum($0, count: 2) }
        for i in 0..<4 { refreshed[24 + i] = UInt8(truncatingIfNeeded: crc >> UInt32(8 * i)) }
        #expect(refreshed.withUnsafeBytes { KeystoreRecord.status($0) } == .valid(sequence: 2))
        #expect(open(refreshed, "vault") == .notAuthentic)
        // No room for a 17th partition.
        var full = empty
        for i in 0..<KeystoreRecord.maxEntries { full = try #require(replace(full, "p\(i)", store)) }
        #expect(replace(full, "one-more", store) == nil)
    }

    @Test func aCachedSigningKeySignsAlikeAndNeverOutlivesItsSlot() throws {
        let t = Tenant(Storage(), "vault")
        t.caching = true
        let h = t.importKey(.sign, seed).value
        let first = t.sign(h, Array("twice".utf8))
        #expect(first.0 == .success(64) && t.cacheHits == 0)
        let second = t.sign(h, Array("twice".utf8))
        #expect(second == first && t.cacheHits == 1)                  // the same signature, from the cache
        #expect(t.publicKey(h) == (.success(32), hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")))
        #expect(t.cacheHits == 2)
        // Destroyed: the handle is refused, never served from the cache.
        #expect(t.call(.keyDestroy, h) == .success(0))
        #expect(t.sign(h, Array("twice".utf8)).0 == BulkheadReason.unknownHandle.result)
        // A change while a key is being expanded: it is used once but not cached.
        let g = t.importKey(.sign, seed).value
        t.changeWhileExpanding = true
        #expect(t.sign(g, Array("x".utf8)).0 == .success(64))
        t.changeWhileExpanding = false
        #expect(t.cached == nil)
    }

    @Test func theCallsFollowTheSpecVectors() throws {
        let t = Tenant(Storage(), "vault")
        let signKey = t.importKey(.sign, seed)
        #expect(signKey.error == 0)
        #expect(t.publicKey(signKey.value) == (.success(32), hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")))
        // RFC 8032 §7.1 TEST 1 signs the empty message.
        let empty = t.call(.keySign, signKey.value, 0, 0, t.gpa(0x1000))
        #expect(empty == .success(64))
        #expect(t.bytes(0x1000, 64) == hex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"))
        let macHandle = t.importKey(.mac, macKey).value
        #expect(t.mac(macHandle, Array("Hi There".utf8)) == (.success(64), hex(
            "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854")))
        // A generated key signs, and the signature verifies under its public key.
        let g = t.generate(.sign)
        #expect(g.error == 0 && g.value != signKey.value)
        let message = Array("keystore".utf8)
        let (r, signature) = t.sign(g.value, message)
        #expect(r == .success(64))
        let pub = try #require(t.publicKey(g.value).1.withUnsafeBytes { Ed25519PublicKey(bytes: $0) })
        #expect(signature.withUnsafeBytes { s in message.withUnsafeBytes { Ed25519.verify(signature: s, message: $0, publicKey: pub) } })
    }

    @Test func hostileArgumentsGetTheirReasonsAndChangeNothing() {
        let t = Tenant(Storage(), "vault")
        let sign = t.importKey(.sign, seed).value, mac = t.importKey(.mac, macKey).value
        let before = t.storage.flash.bytes
        let out = t.gpa(0x1000), msg = t.gpa(0x200)
        #expect(t.call(.keyGenerate, 0) == failure(.badUsage))
        #expect(t.call(.keyGenerate, 0x101) == failure(.badUsage))
        #expect(t.call(.keyImport, 1, t.gpa(0x100), 33) == failure(.badKeyLength))
        #expect(t.call(.keyImport, 2, t.gpa(0x100), 1 << 40) == failure(.badKeyLength))
        #expect(t.call(.keyImport, 2, 0x1000, 32) == failure(.badAddress))
        #expect(t.call(.keyMAC, sign, msg, 8, out) == failure(.wrongUsage))
        #expect(t.call(.keySign, mac, msg, 8, out) == failure(.wrongUsage))
        #expect(t.call(.keyPublic, mac, out) == failure(.wrongUsage))
        #expect(t.call(.keySign, sign, msg, 4097, out) == failure(.tooLong))
        #expect(t.call(.keySign, sign, msg, 8, out + 4) == failure(.misaligned))
        #expect(t.call(.keyPublic, sign, out + 1) == failure(.misaligned))
        #expect(t.call(.keySign, sign, msg, 8, t.gpa(Tenant.ramSize - 32)) == failure(.badAddress))
        #expect(t.call(.keyMAC, mac, t.gpa(Tenant.ramSize - 4), 8, out) == failure(.badAddress))
        #expect(t.call(.keySign, sign + 0x100, msg, 8, out) == failure(.unknownHandle))
        #expect(t.call(.keyDestroy, 0) == failure(.notOwner))
        #expect(t.call(.keyDestroy, sign | 5) == failure(.unknownHandle))
        #expect(t.storage.flash.bytes == before, "a refused call wrote flash")
        // The policy first, then the device secret.
        t.provisioned = false
        #expect(t.call(.keyPublic, sign, out) == failure(.noDeviceSecret))
        t.policy = KeyPolicy.all
        t.policy.raw &= ~KeyPolicy.keystore.raw
        for fid in [BulkheadFunction.keyGenerate, .keyImport, .keySign, .keyMAC, .keyPublic, .keyDestroy] {
            #expect(t.call(fid, sign, msg, 8, out) == failure(.policyDenied))
        }
    }

    @Test func keysPersistAcrossBootsAndBelongToTheirOwnerOnly() throws {
        let storage = Storage()
        #expect(storage.boot() == KeystoreRegion.Loaded(statusA: .erased, statusB: .erased, current: nil))
        let vault = Tenant(storage, "vault"), tenant = Tenant(storage, "tenant", keyByte: 0x77)
        let h = vault.generate(.sign).value
        let (_, publicKey) = vault.publicKey(h)
        let own = tenant.generate(.sign).value
        #expect(own & 0xFF == h & 0xFF, "both in slot 0")
        for (fid, a1) in [(BulkheadFunction.keySign, tenant.gpa(0x200)), (.keyPublic, tenant.gpa(0x1000)), (.keyDestroy, 0)] {
            #expect(tenant.call(fid, h, a1, 8, tenant.gpa(0x1000)) == failure(.notOwner))
        }
        // The next boot reads the newest copy (two writes so far: copy A, then B).
        let loaded = storage.boot()
        #expect(loaded == KeystoreRegion.Loaded(statusA: .valid(sequence: 1), statusB: .valid(sequence: 2), current: 1))
        let vault2 = Tenant(storage, "vault"), tenant2 = Tenant(storage, "tenant", keyByte: 0x77)
        #expect(vault2.publicKey(h) == (.success(32), publicKey))
        #expect(tenant2.publicKey(own).0 == .success(32))
        // Another device (another keystore key) cannot open the entry: it starts empty.
        let thief = Tenant(storage, "vault", keyByte: 0x99)
        #expect(thief.reload() == .notAuthentic)
        #expect(thief.publicKey(h).0 == failure(.unknownHandle))
        // Destroyed stays destroyed.
        #expect(vault2.call(.keyDestroy, h) == .success(0))
        storage.boot()
        #expect(Tenant(storage, "vault").publicKey(h).0 == failure(.unknownHandle))
        #expect(Tenant(storage, "tenant", keyByte: 0x77).publicKey(own).0 == .success(32))
    }

    @Test func aFailedOrTornWriteChangesNothing() {
        let storage = Storage()
        let vault = Tenant(storage, "vault")
        let h = vault.generate(.mac).value
        storage.flash.failPrograms = true
        #expect(vault.generate(.sign) == failure(.storageFailed))
        #expect(vault.call(.keyDestroy, h) == failure(.storageFailed))
        #expect(vault.mac(h, [1, 2, 3]).0 == .success(64), "the key is still there")
        storage.flash.failPrograms = false
        // Power fails half-way through programming the next copy: the previous one stays current.
        storage.flash.powerBudget = 300           // the erase, then 299 of the record's 656 bytes
        #expect(vault.call(.keyDestroy, h) == failure(.storageFailed))
        storage.flash.restorePower()
        let loaded = storage.boot()
        #expect(loaded.current == 0 && loaded.statusB == .damaged)
        #expect(Tenant(storage, "vault").mac(h, [1, 2, 3]).0 == .success(64))
    }
}

private extension Array where Element == UInt8 {
    func contains(seed: [UInt8]) -> Bool {
        guard count >= seed.count else { return false }
        for i in 0...(count - seed.count) where Array(self[i..<(i + seed.count)]) == seed { return true }
        return false
    }
}
