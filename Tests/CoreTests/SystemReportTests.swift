// The system report (SystemReport, docs/keys.md): layout, round trip through the reader, the signature over the exact bytes, every truncation and changed byte refused, and the attest_system hypercall's checks.

import Testing
@testable import BulkheadCore

/// A report writer's inputs: a device key, and a small system of three partitions and two channels.
private struct Fixture {
    let key: Ed25519PrivateKey
    let nonce: [UInt8] = (0..<32).map { UInt8(($0 * 11 + 5) & 0xFF) }
    let names = ["vault", "tenant", "net-io"]
    var channels: [ChannelSpec] = []

    init() {
        let seed = [UInt8](repeating: 0x42, count: 32)
        key = seed.withUnsafeBytes { Ed25519PrivateKey(seed: $0)! }
        var queue = ChannelSpec()
        queue.name = Array("blobs".utf8).withUnsafeBytes { ChannelName(bytes: $0)! }
        queue.kind = .queue; queue.endpoints = [0, 1]; queue.direction = .forward; queue.depth = 4; queue.messageSize = 64
        queue.doorbell = true
        var shared = ChannelSpec()
        shared.name = Array("frames".utf8).withUnsafeBytes { ChannelName(bytes: $0)! }
        shared.kind = .sharedMemory; shared.endpoints = [2, 1]; shared.size = 0x2000; shared.access = [.readWrite, .readOnly]
        channels = [queue, shared]
    }

    static func digest(_ text: String) -> SHA512Digest { Array(text.utf8).withUnsafeBytes { SHA512.hash($0) } }

    var system: SystemReport.System {
        SystemReport.System(securityVersion: 9, identity: Self.digest("hypervisor"), manifestDigest: Self.digest("manifest"),
                            partitionCount: names.count, channelCount: channels.count, caller: 1)
    }

    func partition(_ p: Int) -> SystemReport.Partition {
        SystemReport.Partition(name: Array(names[p].utf8).withUnsafeBytes { PartitionName(bytes: $0)! },
                               source: p == 2 ? .committedUpdate : .bundle, securityVersion: UInt64(9 + p),
                               imageDigest: Self.digest("image \(p)"), measurement: Self.digest("measurement \(p)"),
                               policyDigest: Self.digest("policy \(p)"))
    }

    /// Writes a report into a buffer of `capacity` bytes (filled with 0xEE first); returns the length and the buffer.
    func write(capacity: Int = SystemReport.maxSize + 16, system: SystemReport.System? = nil, nonce: [UInt8]? = nil) -> (Int, [UInt8]) {
        var out = [UInt8](repeating: 0xEE, count: capacity)
        let n = out.withUnsafeMutableBytes { o in
            (nonce ?? self.nonce).withUnsafeBytes { SystemReport.write(into: o, nonce: $0, system: system ?? self.system,
                                                                        partition: partition, channel: { channels[$0] }, deviceKey: key) }
        }
        return (n, out)
    }

    func report() -> [UInt8] { let (n, out) = write(); return Array(out[0..<n]) }
}

private func parse(_ bytes: [UInt8]) -> Result<Void, SystemReport.Failure> {
    bytes.withUnsafeBytes { raw in
        do throws(SystemReport.Failure) { _ = try SystemReport.Reader(bytes: raw); return .success(()) } catch { return .failure(error) }
    }
}

/// Whether `bytes` parse and their signature verifies with `key`.
private func accepted(_ bytes: [UInt8], _ key: Ed25519PublicKey) -> Bool {
    bytes.withUnsafeBytes { raw in
        guard let r = try? SystemReport.Reader(bytes: raw) else { return false }
        return r.isSigned(by: key)
    }
}

private func u16(_ b: [UInt8], _ at: Int) -> Int { Int(b[at]) | Int(b[at + 1]) << 8 }
private func u32(_ b: [UInt8], _ at: Int) -> Int { u16(b, at) | u16(b, at + 2) << 16 }
private func u64(_ b: [UInt8], _ at: Int) -> UInt64 { UInt64(u32(b, at)) | UInt64(u32(b, at + 4)) << 32 }

@Suite("Keys: the system report")
struct SystemReportTests {
    @Test func followsTheDocumentedLayout() {
        let f = Fixture()
        let (n, out) = f.write()
        #expect(n == 192 + 3 * 224 + 2 * 40 + 64)
        #expect(out[n] == 0xEE)                                    // nothing past the report
        #expect(Array(out[0..<4]) == Array("BHSR".utf8) && u16(out, 4) == 1 && u16(out, 6) == 192 && u32(out, 8) == n)
        #expect(out[12] == 3 && out[13] == 2 && out[14] == 1 && out[15] == 0 && u16(out, 16) == 224 && u16(out, 18) == 40)
        #expect(u32(out, 20) == 0 && u64(out, 24) == 9)
        #expect(Array(out[32..<64]) == f.nonce)
        #expect(Array(out[64..<128]) == Fixture.digest("hypervisor").withBytes(Array.init))
        #expect(Array(out[128..<192]) == Fixture.digest("manifest").withBytes(Array.init))
        for p in 0..<3 {
            let at = 192 + p * 224
            let name = Array(f.names[p].utf8)
            #expect(Array(out[at..<(at + 16)]) == name + [UInt8](repeating: 0, count: 16 - name.count))
            #expect(out[at + 16] == (p == 2 ? 1 : 0) && out[(at + 17)..<(at + 24)].allSatisfy { $0 == 0 })
            #expect(u64(out, at + 24) == UInt64(9 + p))
            #expect(Array(out[(at + 32)..<(at + 96)]) == Fixture.digest("image \(p)").withBytes(Array.init))
            #expect(Array(out[(at + 96)..<(at + 160)]) == Fixture.digest("measurement \(p)").withBytes(Array.init))
            #expect(Array(out[(at + 160)..<(at + 224)]) == Fixture.digest("policy \(p)").withBytes(Array.init))
        }
        let c0 = 192 + 3 * 224, c1 = c0 + 40
        #expect(Array(out[c0..<(c0 + 16)]) == Array("blobs".utf8) + [UInt8](repeating: 0, count: 11))
        #expect(Array(out[(c0 + 16)..<(c0 + 24)]) == [1, 1, 0, 1, 3, 3, 1, 0])
        #expect(u32(out, c0 + 24) == 4 && u32(out, c0 + 28) == 64 && u64(out, c0 + 32) == 0)
        #expect(Array(out[(c1 + 16)..<(c1 + 24)]) == [2, 0, 2, 1, 3, 1, 0, 0])
        #expect(u32(out, c1 + 24) == 0 && u64(out, c1 + 32) == 0x2000)
        // The signature: Ed25519 over every byte before it.
        let signed = n - 64
        #expect(out.withUnsafeBytes { Ed25519.verify(signature: UnsafeRawBufferPointer(rebasing: $0[signed..<n]),
                                                     message: UnsafeRawBufferPointer(rebasing: $0[0..<signed]),
                                                     publicKey: f.key.publicKey) })
    }

    @Test func roundTripsThroughTheReader() throws {
        let f = Fixture()
        let bytes = f.report()
        try bytes.withUnsafeBytes { raw in
            let r = try SystemReport.Reader(bytes: raw)
            #expect(r.partitionCount == 3 && r.channelCount == 2 && r.caller == 1 && r.securityVersion == 9)
            #expect(Array(r.nonce) == f.nonce)
            #expect(Array(r.identity) == Fixture.digest("hypervisor").withBytes(Array.init))
            #expect(Array(r.manifestDigest) == Fixture.digest("manifest").withBytes(Array.init))
            #expect(Array(r.partitionEntry(1)[0..<6]) == Array("tenant".utf8))
            #expect(Array(r.channelEntry(1)[0..<6]) == Array("frames".utf8))
            #expect(r.signedBytes.count == bytes.count - 64 && Array(r.signature) == Array(bytes[(bytes.count - 64)...]))
            #expect(r.isSigned(by: f.key.publicKey))
            let other = [UInt8](repeating: 0x43, count: 32).withUnsafeBytes { Ed25519PrivateKey(seed: $0)! }
            #expect(!r.isSigned(by: other.publicKey))
        }
    }

    @Test func everyTruncationAndExtraByteIsRefused() {
        let bytes = Fixture().report()
        for count in 0..<bytes.count {
            let expected: SystemReport.Failure = count < 192 ? .truncated(needed: 192, available: count)
                : .truncated(needed: bytes.count, available: count)
            #expect(failure(parse(Array(bytes[0..<count]))) == expected, "\(count) bytes")
        }
        #expect(failure(parse(bytes + [0])) == .trailingBytes(expected: bytes.count, available: bytes.count + 1))
        #expect(failure(parse(bytes)) == nil)
    }

    @Test func everyChangedByteIsRefused() {
        let f = Fixture()
        let bytes = f.report()
        #expect(accepted(bytes, f.key.publicKey))
        for at in 0..<bytes.count {
            var bad = bytes
            bad[at] ^= 0x01
            #expect(!accepted(bad, f.key.publicKey), "byte \(at)")
        }
    }

    @Test func theReaderNamesWhatIsWrong() {
        let bytes = Fixture().report()
        func changed(_ at: Int, _ value: UInt8) -> Result<Void, SystemReport.Failure> { var b = bytes; b[at] = value; return parse(b) }
        #expect(failure(changed(0, 0x41)) == .badMagic)
        #expect(failure(changed(4, 2)) == .unsupportedVersion(2))
        #expect(failure(changed(6, 193)) == .wrongHeaderSize(193))
        #expect(failure(changed(16, 225)) == .wrongEntrySize(partition: 225, channel: 40))
        #expect(failure(changed(15, 1)) == .reservedNotZero(offset: 15))
        #expect(failure(changed(12, 0)) == .badPartitionCount(0))
        #expect(failure(changed(12, 9)) == .badPartitionCount(9))
        #expect(failure(changed(13, 17)) == .badChannelCount(17))
        #expect(failure(changed(14, 3)) == .badCaller(3))
        #expect(failure(changed(12, 2)) == .wrongTotalLength(declared: bytes.count, expected: bytes.count - 224))
        #expect(failure(changed(192, 0x41)) == .badPartitionName(index: 0))       // "Vault": not a-z
        #expect(failure(changed(192 + 224 + 15, 0x61)) == .badPartitionName(index: 1))
        #expect(failure(changed(192 + 16, 3)) == .badImageSource(index: 0, value: 3))
        #expect(failure(changed(192 + 20, 1)) == .reservedNotZero(offset: 192 + 20))
        let c0 = 192 + 3 * 224
        #expect(failure(changed(c0, 0)) == .badChannelName(index: 0))
        #expect(failure(changed(c0 + 16, 3)) == .badChannel(index: 0, offset: c0 + 16))
        #expect(failure(changed(c0 + 17, 2)) == .badChannel(index: 0, offset: c0 + 17))
        #expect(failure(changed(c0 + 18, 3)) == .badChannel(index: 0, offset: c0 + 18))
        #expect(failure(changed(c0 + 19, 0)) == .badChannel(index: 0, offset: c0 + 19))   // both ends partition 0
        #expect(failure(changed(c0 + 20, 2)) == .badChannel(index: 0, offset: c0 + 20))
        #expect(failure(changed(c0 + 22, 2)) == .badChannel(index: 0, offset: c0 + 22))
        #expect(failure(changed(c0 + 23, 1)) == .reservedNotZero(offset: c0 + 23))
    }

    @Test func theWriterRefusesWhatItCannotWriteAndTouchesNothing() {
        let f = Fixture()
        let size = SystemReport.size(partitions: 3, channels: 2)
        let (small, out) = f.write(capacity: size - 1)
        #expect(small == 0 && out.allSatisfy { $0 == 0xEE })
        #expect(f.write(capacity: size).0 == size)
        var s = f.system
        s.caller = 3
        #expect(f.write(system: s).0 == 0)
        s = f.system; s.partitionCount = 0
        #expect(f.write(system: s).0 == 0)
        s = f.system; s.channelCount = 17
        #expect(f.write(system: s).0 == 0)
        #expect(f.write(nonce: [1, 2, 3]).0 == 0)
        #expect(SystemReport.maxSize == SystemReport.size(partitions: Limits.partitions, channels: ChannelLimits.maxChannels))
    }

    // MARK: attest_system (FID 23) through the Bulkhead extension

    /// A caller with 16 KiB of RAM whose environment writes the fixture's report.
    private final class Caller {
        static let ramSize = 0x4000
        let ram = UnsafeMutableRawBufferPointer.allocate(byteCount: Caller.ramSize, alignment: 4096)
        var policy: KeyPolicy
        var provisioned = true
        init(policy: KeyPolicy) { self.policy = policy; ram.initializeMemory(as: UInt8.self, repeating: 0) }
        deinit { ram.deallocate() }
        func gpa(_ offset: Int) -> UInt64 { guestRAMBase.raw + UInt64(offset) }
        func bytes(_ offset: Int, _ count: Int) -> [UInt8] { Array(ram[offset..<(offset + count)]) }
        func call(_ a0: UInt64, _ a1: UInt64, _ a2: UInt64) -> SBIResult {
            var env = Env(owner: self)
            return BulkheadService.handle(BulkheadCall.decode(fid: BulkheadFunction.attestSystem.rawValue, a0: a0, a1: a1, a2: a2), &env)
        }
    }

    private struct Env: IPCEnvironment, NoKeystore {
        let owner: Caller
        var partition: Int { 1 }
        var memory: GuestMemory {
            GuestMemory(host: HostRegion(base: HostPhysAddr(UInt64(UInt(bitPattern: owner.ram.baseAddress))), size: UInt64(Caller.ramSize)))
        }
        var keyPolicy: KeyPolicy { owner.policy }
        var securityVersion: UInt64 { 9 }
        func withPartitionKeys<R>(_ body: (PartitionKeys) -> R) -> R? { nil }
        mutating func randomBytes(_ output: UnsafeMutableRawBufferPointer) -> Bool { false }
        mutating func attestationReport(nonce: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? { nil }
        mutating func systemReport(nonce: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
            guard owner.provisioned else { return nil }
            let f = Fixture()
            return SystemReport.write(into: output, nonce: nonce, system: f.system, partition: f.partition,
                                      channel: { f.channels[$0] }, deviceKey: f.key)
        }
        var channelCount: Int { 0 }
        func channel(_ id: Int) -> ChannelSpec { ChannelSpec() }
        var partitionName: PartitionName { PartitionName() }
        func sharedWindow(_ id: Int) -> GuestPhysAddr { ChannelLimits.sharedWindowBase }
        mutating func withRing<R>(channel id: Int, toEndpoint endpoint: Int, _ body: (MessageRing) -> R) -> R { fatalError() }
        mutating func ringDoorbell(channel id: Int, partition p: Int) {}
        mutating func takeDoorbells() -> UInt64 { 0 }
    }

    @Test func attestSystemWritesTheReportOverTheCallersNonce() {
        let f = Fixture()
        let c = Caller(policy: .attestSystem)
        let nonce: [UInt8] = (0..<32).map { UInt8(200 - $0) }
        for (i, b) in nonce.enumerated() { c.ram[0x100 + i] = b }
        let size = SystemReport.size(partitions: 3, channels: 2)
        #expect(c.call(c.gpa(0x100), c.gpa(0x1000), UInt64(SystemReport.maxSize)) == .success(UInt64(size)))
        let report = c.bytes(0x1000, size)
        #expect(Array(report[32..<64]) == nonce && accepted(report, f.key.publicKey))
        #expect(c.bytes(0x1000 + size, 16) == [UInt8](repeating: 0, count: 16))
    }

    @Test func attestSystemChecksPolicyArgumentsAndKeysInOrder() {
        func failure(_ reason: BulkheadReason) -> SBIResult { reason.result }
        // Every other key service is not enough: attest_system is its own right.
        let denied = Caller(policy: KeyPolicy(raw: KeyPolicy.all.raw & ~KeyPolicy.attestSystem.raw))
        #expect(denied.call(denied.gpa(0x100), denied.gpa(0x1000), 4096) == failure(.policyDenied))
        #expect(denied.call(1, 3, 0) == failure(.policyDenied))            // the policy comes before the arguments
        let c = Caller(policy: .attestSystem)
        #expect(c.call(c.gpa(0x104), c.gpa(0x1000), 4096) == failure(.misaligned))
        #expect(c.call(c.gpa(0x100), c.gpa(0x1004), 4096) == failure(.misaligned))
        #expect(c.call(c.gpa(Caller.ramSize - 16), c.gpa(0x1000), 4096) == failure(.badAddress))
        #expect(c.call(c.gpa(0x100), c.gpa(Caller.ramSize - 2048), 4096) == failure(.badAddress))
        let size = SystemReport.size(partitions: 3, channels: 2)
        #expect(c.call(c.gpa(0x100), c.gpa(0x1000), UInt64(size - 1)) == failure(.bufferTooSmall))
        #expect(c.bytes(0x1000, size) == [UInt8](repeating: 0, count: size))
        c.provisioned = false
        #expect(c.call(c.gpa(0x100), c.gpa(0x1000), 4096) == failure(.noDeviceSecret))
        #expect(c.bytes(0x1000, size) == [UInt8](repeating: 0, count: size))
    }
}

private func failure(_ r: Result<Void, SystemReport.Failure>) -> SystemReport.Failure? {
    if case .failure(let f) = r { return f }
    return nil
}
