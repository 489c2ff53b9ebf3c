// libFuzzer: sequences of SBI calls with hostile arguments through SBICall.decode and SBIDispatch, as the trap handler makes them.
//
// One partition with 64 KiB of guest RAM at 0x8000_0000 (a heap buffer, so AddressSanitizer sees
// any access outside it), two channels to a second partition (a queue with a doorbell, a shared
// window), every key service allowed with real keys, a keystore in memory and the HSM states of
// four vCPUs. Each call: one byte picks the extension, one the function, then five arguments, each
// a small number, an address in or near the RAM, or any 64-bit value. The dispatch must never trap
// or touch memory outside that RAM and its own, and every result must be an SBI error code; a
// failed Bulkhead call must carry a reason whose error it is (docs/hypercalls.md).

private let ramSize = 0x1_0000
private let ramBase: UInt64 = 0x8000_0000

struct FuzzEnvironment: SBIEnvironment {
    var vcpu = 0
    var vcpuCount = 4
    var memory: GuestMemory
    var machineIDs: (vendor: UInt64, arch: UInt64, implementation: UInt64) = (0, 0, 0)
    var states: InlineArray<4, HSMState> = [.started, .stopped, .stopped, .stopped]
    var rings: UnsafeMutableRawPointer
    var doorbellMask: UInt64 = 0
    var keys: PartitionKeys
    var drbg = DRBG(seed: SecretBytes(repeating: 7))
    var store = PartitionKeystore(ownerTag: 1)
    var deviceKey: Ed25519PrivateKey

    mutating func consoleWrite(byte: UInt8) {}
    mutating func consoleWrite(_ buffer: GuestBuffer) {
        // The dispatch checked the range: read every byte, so AddressSanitizer sees a bad one.
        var sum: UInt8 = 0
        buffer.forEachChunk { for b in $0 { sum &+= b } }
        _ = sum
    }
    mutating func consoleRead() -> UInt8? { nil }
    mutating func setTimer(_ deadline: UInt64) {}
    mutating func sendIPI(vcpus: UInt64) { precondition(vcpus >> UInt64(vcpuCount) == 0, "IPI to a vCPU that does not exist") }
    mutating func remoteFence(vcpus: UInt64, kind: FenceKind) { precondition(vcpus >> UInt64(vcpuCount) == 0, "fence to a vCPU that does not exist") }
    func hsmState(of vcpu: Int) -> HSMState { states[vcpu] }
    mutating func startVCPU(_ vcpu: Int, at pc: UInt64, opaque: UInt64) -> Bool {
        guard states[vcpu] == .stopped else { return false }
        states[vcpu] = .started
        return true
    }

    // IPC: channel 0 a queue with a doorbell, channel 1 a shared window, both to partition 1.
    var partition = 0
    var channelCount: Int { 2 }
    func channel(_ id: Int) -> ChannelSpec {
        var c = ChannelSpec()
        c.endpoints = [0, 1]
        if id == 0 {
            c.kind = .queue; c.depth = 4; c.messageSize = 64; c.doorbell = true
        } else {
            c.kind = .sharedMemory; c.size = 0x1000; c.access = [.readWrite, .readOnly]
        }
        return c
    }
    var partitionName: PartitionName { PartitionName() }
    func sharedWindow(_ id: Int) -> GuestPhysAddr { ChannelLimits.sharedWindowBase }
    mutating func withRing<R>(channel id: Int, toEndpoint endpoint: Int, _ body: (MessageRing) -> R) -> R {
        precondition(id == 0 && (endpoint == 0 || endpoint == 1), "a ring of a channel that has none")
        let size = Int(MessageRing.byteSize(depth: 4, messageSize: 64))
        return body(MessageRing(base: rings + endpoint * size, depth: 4, messageSize: 64))
    }
    mutating func ringDoorbell(channel id: Int, partition p: Int) { doorbellMask |= 1 << UInt64(id) }
    mutating func takeDoorbells() -> UInt64 { defer { doorbellMask = 0 }; return doorbellMask }

    // Keys: every service allowed.
    var keyPolicy: KeyPolicy { .all }
    var securityVersion: UInt64 { 3 }
    func withPartitionKeys<R>(_ body: (PartitionKeys) -> R) -> R? { body(keys) }
    mutating func randomBytes(_ output: UnsafeMutableRawBufferPointer) -> Bool { drbg.fill(output) }
    mutating func attestationReport(nonce: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        AttestationReport.write(into: output, securityVersion: 3, identity: SHA512Digest(bytes: InlineArray(repeating: 1)),
                                name: PartitionName(), keys: keys, nonce: nonce, deviceKey: deviceKey)
    }
    mutating func readKeystore<R>(_ body: (borrowing PartitionKeystore) throws(BulkheadReason) -> R) throws(BulkheadReason) -> R {
        try body(store)
    }
    mutating func updateKeystore(_ change: (inout PartitionKeystore) throws(BulkheadReason) -> UInt64) throws(BulkheadReason) -> UInt64 {
        var working = store
        let result = try change(&working)
        store = working
        return result
    }
    mutating func keystoreStamp() -> UInt64 { 0 }
    mutating func cachedSigningKey(_ handle: UInt64) -> Ed25519PrivateKey? { nil }
    mutating func cacheSigningKey(_ handle: UInt64, _ key: Ed25519PrivateKey, ifUnchangedSince stamp: UInt64) {}
}

/// Reads the fuzzer's bytes as calls.
private struct CallReader {
    var bytes: UnsafeRawBufferPointer
    var at = 0

    mutating func byte() -> UInt8? {
        guard at < bytes.count else { return nil }
        defer { at += 1 }
        return bytes[at]
    }

    mutating func u64() -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(byte() ?? 0) << UInt64(8 * i) }
        return v
    }

    /// A small number, an address in or near the RAM (aligned or not), or any value.
    mutating func argument() -> UInt64 {
        let mode = byte() ?? 0
        switch mode % 5 {
        case 0: return UInt64(byte() ?? 0)
        case 1: return ramBase &+ (u64() % UInt64(ramSize + 0x100)) & ~7
        case 2: return ramBase &+ (u64() % UInt64(ramSize + 0x100))
        case 3: return ramBase &+ UInt64(ramSize) &- (u64() % 0x200)
        default: return u64()
        }
    }
}

private let extensions: [UInt64] = [
    SBIExtension.legacySetTimer, SBIExtension.legacyPutchar, SBIExtension.legacyGetchar, SBIExtension.base,
    SBIExtension.time, SBIExtension.ipi, SBIExtension.rfence, SBIExtension.hsm, SBIExtension.srst,
    SBIExtension.dbcn, BulkheadExtension.eid, BulkheadExtension.eid, BulkheadExtension.eid, 0x0A42_4C4B, 0x1234_5678,
]

func fuzzDispatch(_ input: UnsafeRawBufferPointer) {
    let ram = UnsafeMutableRawBufferPointer.allocate(byteCount: ramSize, alignment: 4096)
    let ringBytes = 2 * Int(MessageRing.byteSize(depth: 4, messageSize: 64))
    let rings = UnsafeMutableRawPointer.allocate(byteCount: ringBytes, alignment: 16)
    defer { ram.deallocate(); rings.deallocate() }
    ram.initializeMemory(as: UInt8.self, repeating: 0)
    rings.initializeMemory(as: UInt8.self, repeating: 0, count: ringBytes)
    MessageRing(base: rings, depth: 4, messageSize: 64).reset()
    MessageRing(base: rings + ringBytes / 2, depth: 4, messageSize: 64).reset()

    var spec = PartitionSpec()
    spec.keyPolicy = .all
    let keys = KeyChain.partitionKeys(hypervisorCDI: CDI(repeating: 5), spec: spec,
                                      imageDigest: SHA512Digest(bytes: InlineArray(repeating: 9)), signingKey: SigningKeyID(raw: 42))
    let seed = InlineArray<32, UInt8>(repeating: 3)
    guard let deviceKey = withUnsafeBytes(of: seed, { Ed25519PrivateKey(seed: $0) }) else { return }
    let host = HostRegion(base: HostPhysAddr(UInt64(UInt(bitPattern: ram.baseAddress))), size: UInt64(ramSize))
    var env = FuzzEnvironment(memory: GuestMemory(guestBase: GuestPhysAddr(ramBase), host: host), rings: rings,
                              keys: keys, deviceKey: deviceKey)

    var reader = CallReader(bytes: input)
    var calls = 0
    while calls < 64, let pick = reader.byte() {
        let eid = extensions[Int(pick) % extensions.count]
        let fid = UInt64(reader.byte() ?? 0) % 24
        let a0 = reader.argument(), a1 = reader.argument(), a2 = reader.argument()
        let a3 = reader.argument(), a4 = reader.argument()
        let call = SBICall.decode(a0: a0, a1: a1, a2: a2, a3: a3, a4: a4, a6: fid, a7: eid)
        if case .resume(let result) = SBIDispatch.handle(call, &env) {
            precondition(result.error <= 0 && result.error >= SBIError.noShmem.rawValue, "not an SBI error code")
            if eid == BulkheadExtension.eid && result.error != 0 {
                guard let reason = BulkheadReason(rawValue: result.value) else { preconditionFailure("unknown reason") }
                precondition(reason.sbiError.rawValue == result.error, "reason does not match the error")
            }
        }
        calls += 1
    }
}
