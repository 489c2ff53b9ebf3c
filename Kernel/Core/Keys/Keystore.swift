// One partition's keystore in hypervisor memory: bounded key slots, handles, and the slots' sealed form (docs/keys.md).
//
// A handle names a slot of its owner's keystore and the slot's generation:
//   bits  0..7   slot index
//   bits  8..23  generation (bumped each time the slot receives a key, so a destroyed key's
//                handle never reaches a later key in the same slot)
//   bits 32..63  owner tag (CRC32C of the owner's name with bit 31 set, never 0)
// Handles are looked up only in the caller's own keystore: a handle that names another owner is
// refused (`notOwner`) and can reach nothing of that owner's even if a tag ever collides.
// Key material never leaves the hypervisor; secrets are wiped with `wipe()`.

/// What a stored key is for.
public enum KeyUsage: UInt8, Sendable {
    /// An Ed25519 private key (RFC 8032): `key_sign`, `key_public`.
    case sign = 1
    /// An HMAC-SHA512 key (RFC 2104, FIPS 198-1): `key_mac`.
    case mac = 2

    /// Bytes of key material: an Ed25519 seed is 32; an HMAC key 16 ... 64 (imported) or 64 (generated).
    public func accepts(length: Int) -> Bool {
        switch self {
        case .sign: return length == Ed25519PrivateKey.seedSize
        case .mac: return length >= KeySlot.minMACMaterial && length <= KeySlot.maxMaterial
        }
    }
    public var generatedLength: Int { self == .sign ? Ed25519PrivateKey.seedSize : KeySlot.maxMaterial }
}

/// One slot: empty (usage 0) or a key with its usage and generation.
public struct KeySlot: Sendable {
    public static let maxMaterial = 64
    /// The shortest HMAC key accepted: 128 bits (RFC 2104 §3 advises at least the output length; we allow 16 bytes).
    public static let minMACMaterial = 16
    /// Bytes of a slot in the sealed form: usage u8, length u8, generation u16 LE, 4 zero, material 64.
    public static let encodedSize = 8 + maxMaterial

    public var usage: UInt8 = 0
    public var length: UInt8 = 0
    public var generation: UInt16 = 0
    public var material = InlineArray<64, UInt8>(repeating: 0)
    public init() {}

    public var isEmpty: Bool { usage == 0 }
    /// The key's bytes (a view of the slot: the caller must not keep it).
    public func withMaterial<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        var copy = material
        let result = withUnsafeBytes(of: &copy) { body(UnsafeRawBufferPointer(rebasing: $0[0..<Int(length)])) }
        secureZero(&copy)
        return result
    }
}

/// A partition's key slots.
public struct PartitionKeystore: Sendable {
    public static let slotCount = 8
    /// Bytes of all slots in the sealed form.
    public static let encodedSize = slotCount * KeySlot.encodedSize

    public var slots = InlineArray<8, KeySlot>(repeating: KeySlot())
    /// The owner's tag (see the top of this file).
    public var ownerTag: UInt32
    public init(ownerTag: UInt32) { self.ownerTag = ownerTag }

    /// The tag of the partition called `name`.
    public static func ownerTag(for name: PartitionName) -> UInt32 {
        name.withBytes { CRC32C.checksum($0) } | 0x8000_0000
    }

    public func handle(slot: Int) -> UInt64 {
        UInt64(ownerTag) << 32 | UInt64(slots[slot].generation) << 8 | UInt64(slot)
    }

    /// The slot `handle` names, checked: this owner's, in range, holding the key of that generation.
    public func slot(of handle: UInt64) throws(BulkheadReason) -> Int {
        guard UInt32(truncatingIfNeeded: handle >> 32) == ownerTag else { throw .notOwner }
        let index = Int(handle & 0xFF)
        guard (handle >> 24) & 0xFF == 0, index < PartitionKeystore.slotCount, !slots[index].isEmpty,
              UInt16(truncatingIfNeeded: handle >> 8) == slots[index].generation else { throw .unknownHandle }
        return index
    }

    /// Stores `material` for `usage` in the first empty slot and returns its handle.
    public mutating func insert(_ usage: KeyUsage, _ material: UnsafeRawBufferPointer) throws(BulkheadReason) -> UInt64 {
        guard usage.accepts(length: material.count) else { throw .badKeyLength }
        var i = 0
        while i < PartitionKeystore.slotCount && !slots[i].isEmpty { i += 1 }
        guard i < PartitionKeystore.slotCount else { throw .keystoreFull }
        slots[i].usage = usage.rawValue
        slots[i].length = UInt8(material.count)
        slots[i].generation = slots[i].generation &+ 1
        var j = 0
        while j < material.count { slots[i].material[j] = material[j]; j += 1 }
        return handle(slot: i)
    }

    /// Empties the slot `handle` names (keeping its generation).
    public mutating func remove(_ handle: UInt64) throws(BulkheadReason) {
        let i = try slot(of: handle)
        slots[i].usage = 0
        slots[i].length = 0
        secureZero(&slots[i].material)
    }

    /// Whether any slot holds a key (or has ever: a used generation is worth keeping).
    public var isBlank: Bool {
        var i = 0
        while i < PartitionKeystore.slotCount {
            if !slots[i].isEmpty || slots[i].generation != 0 { return false }
            i += 1
        }
        return true
    }

    /// The slots' sealed form (before encryption) into `out` (`encodedSize` bytes).
    public func encode(into out: UnsafeMutableRawBufferPointer) {
        var i = 0
        while i < PartitionKeystore.slotCount {
            let at = i * KeySlot.encodedSize
            let s = slots[i]
            out[at] = s.usage; out[at + 1] = s.length
            out[at + 2] = UInt8(truncatingIfNeeded: s.generation); out[at + 3] = UInt8(truncatingIfNeeded: s.generation >> 8)
            out[at + 4] = 0; out[at + 5] = 0; out[at + 6] = 0; out[at + 7] = 0
            var j = 0
            while j < KeySlot.maxMaterial { out[at + 8 + j] = s.material[j]; j += 1 }
            i += 1
        }
    }

    /// Reads the sealed form back; false (and an empty keystore) when a slot is malformed.
    public mutating func decode(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        while i < PartitionKeystore.slotCount {
            let at = i * KeySlot.encodedSize
            var s = KeySlot()
            s.usage = bytes[at]; s.length = bytes[at + 1]
            s.generation = UInt16(bytes[at + 2]) | UInt16(bytes[at + 3]) << 8
            var j = 0
            while j < KeySlot.maxMaterial { s.material[j] = bytes[at + 8 + j]; j += 1 }
            let usage = KeyUsage(rawValue: s.usage)
            let wellFormed = s.usage == 0 ? s.length == 0 : (usage?.accepts(length: Int(s.length)) ?? false)
            guard wellFormed, bytes[at + 4] | bytes[at + 5] | bytes[at + 6] | bytes[at + 7] == 0 else {
                secureZero(&s.material)
                wipe()
                return false
            }
            slots[i] = s
            secureZero(&s.material)
            i += 1
        }
        return true
    }

    public mutating func wipe() {
        var i = 0
        while i < PartitionKeystore.slotCount { slots[i] = KeySlot(); i += 1 }
    }
}
