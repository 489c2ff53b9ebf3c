// SBI: decoding every extension/function from a0..a7, hart masks, and the dispatch of each call
// against a fake environment whose guest memory is a real host buffer.

import Testing
@testable import BulkheadCore

// MARK: - Decode

struct SBIDecodeCase: Sendable, CustomTestStringConvertible {
    var eid: UInt64, fid: UInt64
    var a0: UInt64 = 0, a1: UInt64 = 0, a2: UInt64 = 0, a3: UInt64 = 0
    var expected: SBICall
    var label: String
    var testDescription: String { label }
}

private let decodeMask = SBIHartMask(mask: 0b1010, base: 1)

let sbiDecodeCases: [SBIDecodeCase] = [
    // Base
    SBIDecodeCase(eid: 0x10, fid: 0, expected: .getSpecVersion, label: "base get_spec_version"),
    SBIDecodeCase(eid: 0x10, fid: 1, expected: .getImplementationID, label: "base get_impl_id"),
    SBIDecodeCase(eid: 0x10, fid: 2, expected: .getImplementationVersion, label: "base get_impl_version"),
    SBIDecodeCase(eid: 0x10, fid: 3, a0: 0x5449_4D45, expected: .probeExtension(0x5449_4D45), label: "base probe_extension"),
    SBIDecodeCase(eid: 0x10, fid: 4, expected: .getMachineVendorID, label: "base get_mvendorid"),
    SBIDecodeCase(eid: 0x10, fid: 5, expected: .getMachineArchID, label: "base get_marchid"),
    SBIDecodeCase(eid: 0x10, fid: 6, expected: .getMachineImplementationID, label: "base get_mimpid"),
    SBIDecodeCase(eid: 0x10, fid: 7, expected: .unsupported(eid: 0x10, fid: 7), label: "base fid 7"),
    // TIME and legacy set_timer
    SBIDecodeCase(eid: 0x5449_4D45, fid: 0, a0: 0x1234_5678_9ABC, expected: .setTimer(0x1234_5678_9ABC), label: "TIME set_timer"),
    SBIDecodeCase(eid: 0x5449_4D45, fid: 1, expected: .unsupported(eid: 0x5449_4D45, fid: 1), label: "TIME fid 1"),
    SBIDecodeCase(eid: 0x00, fid: 0, a0: UInt64.max, expected: .setTimer(UInt64.max), label: "legacy set_timer"),
    SBIDecodeCase(eid: 0x00, fid: 9, a0: 42, expected: .setTimer(42), label: "legacy set_timer ignores fid"),
    // Legacy console
    SBIDecodeCase(eid: 0x01, fid: 0, a0: 0x141, expected: .legacyPutchar(0x41), label: "legacy putchar truncates"),
    SBIDecodeCase(eid: 0x02, fid: 0, expected: .legacyGetchar, label: "legacy getchar"),
    SBIDecodeCase(eid: 0x03, fid: 0, expected: .unsupported(eid: 0x03, fid: 0), label: "legacy clear_ipi"),
    SBIDecodeCase(eid: 0x04, fid: 0, expected: .unsupported(eid: 0x04, fid: 0), label: "legacy send_ipi"),
    SBIDecodeCase(eid: 0x08, fid: 0, expected: .unsupported(eid: 0x08, fid: 0), label: "legacy shutdown"),
    // IPI
    SBIDecodeCase(eid: 0x0073_5049, fid: 0, a0: 0b1010, a1: 1, expected: .sendIPI(decodeMask), label: "IPI send_ipi"),
    SBIDecodeCase(eid: 0x0073_5049, fid: 1, expected: .unsupported(eid: 0x0073_5049, fid: 1), label: "IPI fid 1"),
    // RFENCE
    SBIDecodeCase(eid: 0x5246_4E43, fid: 0, a0: 0b1010, a1: 1, expected: .remoteFence(decodeMask, .instruction), label: "RFENCE fence_i"),
    SBIDecodeCase(eid: 0x5246_4E43, fid: 1, a0: 0b1010, a1: 1, a2: 0x1000, a3: 0x2000,
               expected: .remoteFence(decodeMask, .virtualMemory), label: "RFENCE sfence_vma"),
    SBIDecodeCase(eid: 0x5246_4E43, fid: 2, a0: 0b1010, a1: 1, expected: .remoteFence(decodeMask, .virtualMemoryASID(0)), label: "RFENCE sfence_vma_asid"),
    SBIDecodeCase(eid: 0x5246_4E43, fid: 3, expected: .unsupported(eid: 0x5246_4E43, fid: 3), label: "RFENCE hfence_gvma_vmid"),
    SBIDecodeCase(eid: 0x5246_4E43, fid: 4, expected: .unsupported(eid: 0x5246_4E43, fid: 4), label: "RFENCE hfence_gvma"),
    SBIDecodeCase(eid: 0x5246_4E43, fid: 5, expected: .unsupported(eid: 0x5246_4E43, fid: 5), label: "RFENCE hfence_vvma_asid"),
    SBIDecodeCase(eid: 0x5246_4E43, fid: 6, expected: .unsupported(eid: 0x5246_4E43, fid: 6), label: "RFENCE hfence_vvma"),
    SBIDecodeCase(eid: 0x5246_4E43, fid: 7, expected: .unsupported(eid: 0x5246_4E43, fid: 7), label: "RFENCE fid 7"),
    // HSM
    SBIDecodeCase(eid: 0x0048_534D, fid: 0, a0: 2, a1: 0x8020_0000, a2: 0xCAFE,
               expected: .hartStart(vcpu: 2, startAddress: 0x8020_0000, opaque: 0xCAFE), label: "HSM hart_start"),
    SBIDecodeCase(eid: 0x0048_534D, fid: 1, expected: .hartStop, label: "HSM hart_stop"),
    SBIDecodeCase(eid: 0x0048_534D, fid: 2, a0: 3, expected: .hartStatus(vcpu: 3), label: "HSM hart_get_status"),
    SBIDecodeCase(eid: 0x0048_534D, fid: 3, a0: 0x1_8000_0000, a1: 0x8000_1000, a2: 7,
               expected: .hartSuspend(type: 0x8000_0000, resumeAddress: 0x8000_1000, opaque: 7), label: "HSM hart_suspend truncates type"),
    SBIDecodeCase(eid: 0x0048_534D, fid: 4, expected: .unsupported(eid: 0x0048_534D, fid: 4), label: "HSM fid 4"),
    // SRST
    SBIDecodeCase(eid: 0x5352_5354, fid: 0, a0: 0x1_0000_0001, a1: 0x2_0000_0000,
               expected: .systemReset(type: 1, reason: 0), label: "SRST system_reset truncates"),
    SBIDecodeCase(eid: 0x5352_5354, fid: 1, expected: .unsupported(eid: 0x5352_5354, fid: 1), label: "SRST fid 1"),
    // DBCN
    SBIDecodeCase(eid: 0x4442_434E, fid: 0, a0: 5, a1: 0x8000_0100, a2: 0,
               expected: .consoleWrite(length: 5, address: GuestPhysAddr(0x8000_0100)), label: "DBCN console_write"),
    SBIDecodeCase(eid: 0x4442_434E, fid: 0, a0: 5, a1: 0x8000_0100, a2: 1,
               expected: .consoleWrite(length: 5, address: GuestPhysAddr(UInt64.max)), label: "DBCN console_write with hi address"),
    SBIDecodeCase(eid: 0x4442_434E, fid: 1, a0: 8, a1: 0x8000_0200, a2: 0,
               expected: .consoleRead(length: 8, address: GuestPhysAddr(0x8000_0200)), label: "DBCN console_read"),
    SBIDecodeCase(eid: 0x4442_434E, fid: 1, a0: 8, a1: 0x8000_0200, a2: 0xFFFF,
               expected: .consoleRead(length: 8, address: GuestPhysAddr(UInt64.max)), label: "DBCN console_read with hi address"),
    SBIDecodeCase(eid: 0x4442_434E, fid: 2, a0: 0x7FF, expected: .consoleWriteByte(0xFF), label: "DBCN console_write_byte truncates"),
    SBIDecodeCase(eid: 0x4442_434E, fid: 3, expected: .unsupported(eid: 0x4442_434E, fid: 3), label: "DBCN fid 3"),
    // Not offered
    SBIDecodeCase(eid: 0x0050_4D55, fid: 0, expected: .unsupported(eid: 0x0050_4D55, fid: 0), label: "PMU num_counters"),
    SBIDecodeCase(eid: 0x0050_4D55, fid: 1, expected: .unsupported(eid: 0x0050_4D55, fid: 1), label: "PMU counter_get_info"),
    SBIDecodeCase(eid: 0x5355_5350, fid: 0, expected: .unsupported(eid: 0x5355_5350, fid: 0), label: "SUSP"),
    SBIDecodeCase(eid: 0x1234_5678, fid: 0, expected: .unsupported(eid: 0x1234_5678, fid: 0), label: "unknown EID"),
    SBIDecodeCase(eid: UInt64.max, fid: UInt64.max, expected: .unsupported(eid: UInt64.max, fid: UInt64.max), label: "all-ones EID"),
    SBIDecodeCase(eid: 0x10 | 1 << 32, fid: 0, expected: .unsupported(eid: 0x10 | 1 << 32, fid: 0), label: "base EID with high bits"),
]

@Suite("SBI: decode")
struct SBIDecodeTests {
    @Test("decode", arguments: sbiDecodeCases)
    func decode(_ c: SBIDecodeCase) {
        let call = SBICall.decode(a0: c.a0, a1: c.a1, a2: c.a2, a3: c.a3, a6: c.fid, a7: c.eid)
        #expect(call == c.expected)
    }

    @Test func extensionIDsSpellTheirNames() {
        #expect(SBIExtension.time == 0x5449_4D45)
        #expect(SBIExtension.ipi == 0x0073_5049)
        #expect(SBIExtension.rfence == 0x5246_4E43)
        #expect(SBIExtension.hsm == 0x0048_534D)
        #expect(SBIExtension.srst == 0x5352_5354)
        #expect(SBIExtension.pmu == 0x0050_4D55)
        #expect(SBIExtension.dbcn == 0x4442_434E)
    }

    @Test func errorCodesMatchTheSpec() {
        #expect(SBIError.failed.rawValue == -1)
        #expect(SBIError.notSupported.rawValue == -2)
        #expect(SBIError.invalidParam.rawValue == -3)
        #expect(SBIError.denied.rawValue == -4)
        #expect(SBIError.invalidAddress.rawValue == -5)
        #expect(SBIError.alreadyAvailable.rawValue == -6)
        #expect(SBIError.alreadyStarted.rawValue == -7)
        #expect(SBIError.alreadyStopped.rawValue == -8)
        #expect(SBIError.noShmem.rawValue == -9)
    }
}

// MARK: - Hart masks

@Suite("SBI: hart mask")
struct SBIHartMaskTests {
    private func vcpus(_ mask: UInt64, base: UInt64, count: Int) -> UInt64? {
        SBIHartMask(mask: mask, base: base).vcpus(count: count)
    }

    @Test func baseMinusOneMeansAll() {
        #expect(vcpus(0, base: UInt64.max, count: 4) == 0b1111)
        #expect(vcpus(0xDEAD, base: UInt64.max, count: 4) == 0b1111)   // mask ignored
        #expect(vcpus(0, base: UInt64.max, count: 1) == 0b1)
        #expect(vcpus(0, base: UInt64.max, count: 64) == UInt64.max)
        #expect(vcpus(1, base: UInt64.max, count: 0) == 0)
    }

    @Test func plainMasks() {
        #expect(vcpus(0b101, base: 0, count: 4) == 0b101)
        #expect(vcpus(0b1111, base: 0, count: 4) == 0b1111)
        #expect(vcpus(0b11, base: 2, count: 4) == 0b1100)
        #expect(vcpus(0, base: 0, count: 4) == 0)
        #expect(vcpus(1, base: 3, count: 4) == 0b1000)
    }

    @Test func bitsBeyondCountAreRejected() {
        #expect(vcpus(0b1_0000, base: 0, count: 4) == nil)
        #expect(vcpus(0b11, base: 3, count: 4) == nil)
        #expect(vcpus(1 << 63, base: 0, count: 4) == nil)
        #expect(vcpus(0b10, base: 0, count: 1) == nil)
    }

    @Test func baseAtOrBeyondCount() {
        #expect(vcpus(0, base: 4, count: 4) == 0)
        #expect(vcpus(0, base: 1000, count: 4) == 0)
        #expect(vcpus(0, base: UInt64.max - 1, count: 4) == 0)
        #expect(vcpus(1, base: 4, count: 4) == nil)
        #expect(vcpus(1, base: 64, count: 64) == nil)
        #expect(vcpus(1, base: UInt64.max - 1, count: 4) == nil)
        #expect(vcpus(1, base: 0, count: 0) == nil)
    }

    @Test func shiftOverflowIsRejected() {
        #expect(vcpus(0b11, base: 63, count: 64) == nil)       // bit 64 would be lost
        #expect(vcpus(1 << 63, base: 1, count: 64) == nil)
        #expect(vcpus(UInt64.max, base: 1, count: 64) == nil)
        #expect(vcpus(1, base: 63, count: 64) == 1 << 63)      // the top bit itself is fine
        #expect(vcpus(UInt64.max, base: 0, count: 64) == UInt64.max)
    }
}

// MARK: - Dispatch

struct SBIStartedVCPU: Equatable {
    var vcpu: Int, pc: UInt64, opaque: UInt64
}

struct SBIRecordedFence: Equatable {
    var vcpus: UInt64, kind: FenceKind
}

/// Records everything a service asks of its hart; HSM states are set by the test.
struct FakeSBIEnvironment: SBIEnvironment, NoKeyServices {
    var vcpu = 0
    var vcpuCount = 4
    var memory: GuestMemory
    var machineIDs: (vendor: UInt64, arch: UInt64, implementation: UInt64) = (0x489, 0x8000_0000_0000_0007, 0x2024)

    var console: [UInt8] = []
    var input: [UInt8] = []
    var timers: [UInt64] = []
    var ipis: [UInt64] = []
    var fences: [SBIRecordedFence] = []
    var states: [HSMState] = [.started, .stopped, .stopped, .stopped]
    var started: [SBIStartedVCPU] = []

    mutating func consoleWrite(byte: UInt8) { console.append(byte) }
    mutating func consoleWrite(_ buffer: GuestBuffer) {
        buffer.forEachChunk { console.append(contentsOf: $0) }
    }
    mutating func consoleRead() -> UInt8? { input.isEmpty ? nil : input.removeFirst() }
    mutating func setTimer(_ deadline: UInt64) { timers.append(deadline) }
    mutating func sendIPI(vcpus: UInt64) { ipis.append(vcpus) }
    mutating func remoteFence(vcpus: UInt64, kind: FenceKind) { fences.append(SBIRecordedFence(vcpus: vcpus, kind: kind)) }
    func hsmState(of vcpu: Int) -> HSMState { states[vcpu] }
    mutating func startVCPU(_ vcpu: Int, at pc: UInt64, opaque: UInt64) -> Bool {
        guard states[vcpu] == .stopped else { return false }
        states[vcpu] = .startPending
        started.append(SBIStartedVCPU(vcpu: vcpu, pc: pc, opaque: opaque))
        return true
    }

    var recordedNothing: Bool {
        console.isEmpty && timers.isEmpty && ipis.isEmpty && fences.isEmpty && started.isEmpty
    }

    // IPC: a partition with no channels (IPCTests covers the service with channels).
    var partition = 0
    var channelCount: Int { 0 }
    func channel(_ id: Int) -> ChannelSpec { ChannelSpec() }
    var partitionName: PartitionName { PartitionName() }
    func sharedWindow(_ id: Int) -> GuestPhysAddr { ChannelLimits.sharedWindowBase }
    mutating func withRing<R>(channel id: Int, toEndpoint endpoint: Int, _ body: (MessageRing) -> R) -> R {
        fatalError("no channels")
    }
    mutating func ringDoorbell(channel id: Int, partition p: Int) { fatalError("no channels") }
    mutating func takeDoorbells() -> UInt64 { 0 }

}

struct SBIConsoleRange: Sendable, CustomTestStringConvertible {
    var length: UInt64, lo: UInt64, hi: UInt64, label: String
    init(_ length: UInt64, _ lo: UInt64, hi: UInt64 = 0, _ label: String) {
        self.length = length; self.lo = lo; self.hi = hi; self.label = label
    }
    var testDescription: String { label }
}

/// Guest RAM for the dispatch tests: 64 KiB at guest-physical 0x8000_0000, backed by a real buffer.
private let ramSize = 0x1_0000
private let ramEnd: UInt64 = 0x8000_0000 + UInt64(ramSize)

private func withEnvironment(_ body: (inout FakeSBIEnvironment, UnsafeMutableRawBufferPointer) -> Void) {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: ramSize, alignment: 4096)
    defer { buffer.deallocate() }
    buffer.initializeMemory(as: UInt8.self, repeating: 0)
    let host = HostRegion(base: HostPhysAddr(UInt64(UInt(bitPattern: buffer.baseAddress))), size: UInt64(ramSize))
    var env = FakeSBIEnvironment(memory: GuestMemory(host: host))
    body(&env, buffer)
}

/// Decodes the registers and dispatches, as the trap handler does.
private func call(_ env: inout FakeSBIEnvironment, eid: UInt64, fid: UInt64,
                  _ a0: UInt64 = 0, _ a1: UInt64 = 0, _ a2: UInt64 = 0) -> SBIOutcome {
    SBIDispatch.handle(SBICall.decode(a0: a0, a1: a1, a2: a2, a3: 0, a6: fid, a7: eid), &env)
}

/// Dispatches and checks the outcome (the call is made outside `#expect`, which cannot take `&env`).
private func expectCall(_ env: inout FakeSBIEnvironment, eid: UInt64, fid: UInt64,
                        _ a0: UInt64 = 0, _ a1: UInt64 = 0, _ a2: UInt64 = 0, gives expected: SBIOutcome,
                        sourceLocation: SourceLocation = #_sourceLocation) {
    let outcome = call(&env, eid: eid, fid: fid, a0, a1, a2)
    #expect(outcome == expected, sourceLocation: sourceLocation)
}

private func failed(_ code: Int64) -> SBIOutcome { .resume(SBIResult(error: code, value: 0)) }
private func succeeded(_ value: UInt64 = 0) -> SBIOutcome { .resume(SBIResult(error: 0, value: value)) }

@Suite("SBI: dispatch")
struct SBIDispatchTests {
    // MARK: Base

    @Test func specVersionIsTwoPointZero() {
        withEnvironment { env, _ in
            expectCall(&env, eid: 0x10, fid: 0, gives: succeeded(0x200_0000))
            #expect(sbiSpecVersion == 0x200_0000)
            #expect((sbiSpecVersion >> 24) & 0x7F == 2)       // major
            #expect(sbiSpecVersion & 0xFF_FFFF == 0)          // minor
            #expect(sbiSpecVersion >> 31 == 0)                // bit 31 must be 0
        }
    }

    @Test func implementationIDAndVersion() {
        withEnvironment { env, _ in
            expectCall(&env, eid: 0x10, fid: 1, gives: succeeded(0x4248))
            expectCall(&env, eid: 0x10, fid: 2, gives: succeeded(sbiImplementationVersion))
            #expect(sbiImplementationVersion == 1)
        }
    }

    @Test func machineIDsPassThrough() {
        withEnvironment { env, _ in
            expectCall(&env, eid: 0x10, fid: 4, gives: succeeded(0x489))
            expectCall(&env, eid: 0x10, fid: 5, gives: succeeded(0x8000_0000_0000_0007))
            expectCall(&env, eid: 0x10, fid: 6, gives: succeeded(0x2024))
        }
    }

    @Test("probe reports implemented extensions",
          arguments: [UInt64(0x10), 0x5449_4D45, 0x0073_5049, 0x5246_4E43, 0x0048_534D, 0x5352_5354, 0x4442_434E, 0, 1, 2])
    func probeImplemented(_ eid: UInt64) {
        withEnvironment { env, _ in
            expectCall(&env, eid: 0x10, fid: 3, eid, gives: succeeded(1))
        }
    }

    @Test("probe reports unimplemented extensions",
          arguments: [UInt64(0x0050_4D55), 0x1234_5678, 3, 4, 5, 6, 7, 8, 0x11, 0x5355_5350, 0x4E41_434C, 0x4353_5443, UInt64.max])
    func probeUnimplemented(_ eid: UInt64) {
        withEnvironment { env, _ in
            expectCall(&env, eid: 0x10, fid: 3, eid, gives: succeeded(0))
        }
    }

    // MARK: TIME, IPI, RFENCE

    @Test func setTimer() {
        withEnvironment { env, _ in
            expectCall(&env, eid: 0x5449_4D45, fid: 0, 0x1_0000, gives: succeeded())
            expectCall(&env, eid: 0x00, fid: 0, UInt64.max, gives: succeeded())      // legacy: "never"
            #expect(env.timers == [0x1_0000, UInt64.max])
        }
    }

    @Test func sendIPIValidMasks() {
        withEnvironment { env, _ in
            expectCall(&env, eid: 0x0073_5049, fid: 0, 0b0110, 0, gives: succeeded())
            expectCall(&env, eid: 0x0073_5049, fid: 0, 0b1, 3, gives: succeeded())
            expectCall(&env, eid: 0x0073_5049, fid: 0, 0, UInt64.max, gives: succeeded())
            #expect(env.ipis == [0b0110, 0b1000, 0b1111])
        }
    }

    @Test("send_ipi rejects masks naming missing vCPUs",
          arguments: [(UInt64(0b1_0000), UInt64(0)), (0b11, 3), (1, 4), (1, 1 << 40), (1 << 63, 1)])
    func sendIPIInvalidMask(_ mask: UInt64, _ base: UInt64) {
        withEnvironment { env, _ in
            expectCall(&env, eid: 0x0073_5049, fid: 0, mask, base, gives: failed(-3))
            #expect(env.ipis.isEmpty)
        }
    }

    @Test func remoteFences() {
        withEnvironment { env, _ in
            expectCall(&env, eid: 0x5246_4E43, fid: 0, 0b11, 0, gives: succeeded())
            expectCall(&env, eid: 0x5246_4E43, fid: 1, 0, UInt64.max, gives: succeeded())
            expectCall(&env, eid: 0x5246_4E43, fid: 2, 0b1, 2, gives: succeeded())
            #expect(env.fences == [
                SBIRecordedFence(vcpus: 0b11, kind: .instruction),
                SBIRecordedFence(vcpus: 0b1111, kind: .virtualMemory),
                SBIRecordedFence(vcpus: 0b100, kind: .virtualMemoryASID(0)),
            ])
            #expect(SBICall.decode(a0: 1, a1: 0, a2: 0x1000, a3: 0x2000, a4: 7, a6: 2, a7: 0x5246_4E43)
                    == .remoteFence(SBIHartMask(mask: 1, base: 0), .virtualMemoryASID(7)))
            expectCall(&env, eid: 0x5246_4E43, fid: 1, 0b1_0000, 0, gives: failed(-3))
            expectCall(&env, eid: 0x5246_4E43, fid: 3, 0b1, 0, gives: failed(-2))   // HFENCE: not offered
            #expect(env.fences.count == 3)
        }
    }

    // MARK: HSM

    @Test("hart_start rejects a vCPU that does not exist", arguments: [UInt64(4), 5, 64, UInt64.max])
    func hartStartBadVCPU(_ vcpu: UInt64) {
        withEnvironment { env, _ in
            expectCall(&env, eid: 0x0048_534D, fid: 0, vcpu, 0x8000_0000, 0, gives: failed(-3))
            #expect(env.started.isEmpty)
        }
    }

    @Test("hart_start rejects a start address outside partition memory",
          arguments: [UInt64(0x7FFF_FFFC), 0, ramEnd, ramEnd - 2, ramEnd + 0x1000, 0x8000_0001, UInt64.max - 3])
    func hartStartBadAddress(_ pc: UInt64) {
        withEnvironment { env, _ in
            expectCall(&env, eid: 0x0048_534D, fid: 0, 1, pc, 0, gives: failed(-5))
            #expect(env.started.isEmpty)
            #expect(env.states[1] == .stopped)
        }
    }

    @Test func hartStartAlreadyStarted() {
        withEnvironment { env, _ in
            env.states[2] = .started
            expectCall(&env, eid: 0x0048_534D, fid: 0, 2, 0x8000_0000, 0, gives: failed(-6))
            expectCall(&env, eid: 0x0048_534D, fid: 0, 0, 0x8000_0000, 0, gives: failed(-6))  // the caller itself
            #expect(env.started.isEmpty)
        }
    }

    @Test func hartStartSuccess() {
        withEnvironment { env, _ in
            expectCall(&env, eid: 0x0048_534D, fid: 0, 2, 0x8000_1000, 0xCAFE, gives: succeeded())
            #expect(env.started == [SBIStartedVCPU(vcpu: 2, pc: 0x8000_1000, opaque: 0xCAFE)])
            #expect(env.states[2] == .startPending)
            // The last 4 bytes of RAM are a valid start address too.
            expectCall(&env, eid: 0x0048_534D, fid: 0, 3, ramEnd - 4, 0, gives: succeeded())
            // Starting it again while start-pending is refused.
            expectCall(&env, eid: 0x0048_534D, fid: 0, 2, 0x8000_1000, 0, gives: failed(-6))
            #expect(env.started.count == 2)
        }
    }

    @Test func hartStop() {
        withEnvironment { env, _ in
            expectCall(&env, eid: 0x0048_534D, fid: 1, gives: .stopVCPU)
        }
    }

    @Test func hartStatus() {
        withEnvironment { env, _ in
            env.states = [.started, .stopped, .startPending, .suspended]
            expectCall(&env, eid: 0x0048_534D, fid: 2, 0, gives: succeeded(0))
            expectCall(&env, eid: 0x0048_534D, fid: 2, 1, gives: succeeded(1))
            expectCall(&env, eid: 0x0048_534D, fid: 2, 2, gives: succeeded(2))
            expectCall(&env, eid: 0x0048_534D, fid: 2, 3, gives: succeeded(4))
            expectCall(&env, eid: 0x0048_534D, fid: 2, 4, gives: failed(-3))
            expectCall(&env, eid: 0x0048_534D, fid: 2, UInt64.max, gives: failed(-3))
        }
    }

    @Test func hsmStateValuesMatchTheSpec() {
        #expect(HSMState.started.rawValue == 0)
        #expect(HSMState.stopped.rawValue == 1)
        #expect(HSMState.startPending.rawValue == 2)
        #expect(HSMState.stopPending.rawValue == 3)
        #expect(HSMState.suspended.rawValue == 4)
        #expect(HSMState.suspendPending.rawValue == 5)
        #expect(HSMState.resumePending.rawValue == 6)
    }

    @Test func hartSuspendRetentiveResumesAtOnce() {
        withEnvironment { env, _ in
            expectCall(&env, eid: 0x0048_534D, fid: 3, 0, 0xDEAD, 0, gives: succeeded())
        }
    }

    @Test func hartSuspendNonRetentiveResumesAtAddress() {
        withEnvironment { env, _ in
            expectCall(&env, eid: 0x0048_534D, fid: 3, 0x8000_0000, 0x8000_0100, 77,
                       gives: .resumeAt(address: 0x8000_0100, opaque: 77))
            expectCall(&env, eid: 0x0048_534D, fid: 3, 0x8000_0000, 0x7000_0000, 0, gives: failed(-5))
            expectCall(&env, eid: 0x0048_534D, fid: 3, 0x8000_0000, ramEnd - 2, 0, gives: failed(-5))
            expectCall(&env, eid: 0x0048_534D, fid: 3, 0x8000_0000, 0x8000_0101, 0, gives: failed(-5))
        }
    }

    @Test("hart_suspend rejects reserved suspend types", arguments: [UInt64(1), 0x0FFF_FFFF, 0x8000_0001, 0x8FFF_FFFF])
    func hartSuspendBadType(_ type: UInt64) {
        withEnvironment { env, _ in
            expectCall(&env, eid: 0x0048_534D, fid: 3, type, 0x8000_0100, 0, gives: failed(-3))
        }
    }

    // MARK: SRST

    @Test func systemReset() {
        withEnvironment { env, _ in
            expectCall(&env, eid: 0x5352_5354, fid: 0, 0, 0, gives: .shutdownPartition)
            expectCall(&env, eid: 0x5352_5354, fid: 0, 1, 1, gives: .rebootPartition)
            expectCall(&env, eid: 0x5352_5354, fid: 0, 2, 0, gives: .rebootPartition)
            // SBI-implementation and vendor-specific reasons are accepted.
            expectCall(&env, eid: 0x5352_5354, fid: 0, 0, 0xE000_0000, gives: .shutdownPartition)
            expectCall(&env, eid: 0x5352_5354, fid: 0, 1, 0xFFFF_FFFF, gives: .rebootPartition)
        }
    }

    @Test func systemResetBadTypeOrReason() {
        withEnvironment { env, _ in
            expectCall(&env, eid: 0x5352_5354, fid: 0, 3, 0, gives: failed(-3))
            expectCall(&env, eid: 0x5352_5354, fid: 0, 0xEFFF_FFFF, 0, gives: failed(-3))
            expectCall(&env, eid: 0x5352_5354, fid: 0, 0, 2, gives: failed(-3))
            expectCall(&env, eid: 0x5352_5354, fid: 0, 1, 0xDFFF_FFFF, gives: failed(-3))
        }
    }

    // MARK: DBCN and the legacy console

    @Test func consoleWriteReachesTheConsole() {
        withEnvironment { env, ram in
            let text = Array("hello, bulkhead".utf8)
            for (i, b) in text.enumerated() { ram[0x100 + i] = b }
            expectCall(&env, eid: 0x4442_434E, fid: 0, UInt64(text.count), 0x8000_0100, 0, gives: succeeded(UInt64(text.count)))
            #expect(env.console == text)
        }
    }

    @Test func consoleWriteAtTheEndOfMemory() {
        withEnvironment { env, ram in
            for i in 0..<4 { ram[ramSize - 4 + i] = UInt8(ascii: "w") + UInt8(i) }
            expectCall(&env, eid: 0x4442_434E, fid: 0, 4, ramEnd - 4, 0, gives: succeeded(4))
            #expect(env.console == Array("wxyz".utf8))
        }
    }

    @Test func consoleWriteOfZeroBytes() {
        withEnvironment { env, _ in
            expectCall(&env, eid: 0x4442_434E, fid: 0, 0, 0x8000_0000, 0, gives: succeeded(0))
            #expect(env.console.isEmpty)
        }
    }

    @Test("console_write rejects buffers outside memory", arguments: [
        SBIConsoleRange(4, 0x7FFF_FFF0, "outside, below"),
        SBIConsoleRange(4, ramEnd, "outside, just past the end"),
        SBIConsoleRange(8, ramEnd - 4, "partly outside"),
        SBIConsoleRange(4, 0x7FFF_FFFE, "partly below"),
        SBIConsoleRange(UInt64.max, 0x8000_0100, "length overflows"),
        SBIConsoleRange(0x20, UInt64.max - 0xF, "address + length wraps"),
        SBIConsoleRange(4, 0x8000_0100, hi: 1, "high address word set"),
    ])
    func consoleWriteOutside(_ r: SBIConsoleRange) {
        withEnvironment { env, _ in
            expectCall(&env, eid: 0x4442_434E, fid: 0, r.length, r.lo, r.hi, gives: failed(-3))
            #expect(env.console.isEmpty)
        }
    }

    @Test func consoleReadCopiesInputIntoMemory() {
        withEnvironment { env, ram in
            env.input = Array("xy".utf8)
            expectCall(&env, eid: 0x4442_434E, fid: 1, 8, 0x8000_0200, 0, gives: succeeded(2))
            #expect(ram[0x200] == UInt8(ascii: "x"))
            #expect(ram[0x201] == UInt8(ascii: "y"))
            #expect(ram[0x202] == 0)
            expectCall(&env, eid: 0x4442_434E, fid: 1, 8, 0x8000_0200, 0, gives: succeeded(0))   // nothing left
        }
    }

    @Test func consoleReadStopsAtLength() {
        withEnvironment { env, ram in
            env.input = Array("abc".utf8)
            expectCall(&env, eid: 0x4442_434E, fid: 1, 2, ramEnd - 2, 0, gives: succeeded(2))
            #expect(ram[ramSize - 2] == UInt8(ascii: "a"))
            #expect(ram[ramSize - 1] == UInt8(ascii: "b"))
            #expect(env.input == [UInt8(ascii: "c")])
        }
    }

    @Test func consoleReadOutsideMemoryConsumesNothing() {
        withEnvironment { env, _ in
            env.input = Array("abc".utf8)
            expectCall(&env, eid: 0x4442_434E, fid: 1, 4, ramEnd - 2, 0, gives: failed(-3))
            expectCall(&env, eid: 0x4442_434E, fid: 1, 4, 0x8000_0000, 1, gives: failed(-3))
            #expect(env.input.count == 3)
        }
    }

    @Test func consoleWriteByte() {
        withEnvironment { env, _ in
            expectCall(&env, eid: 0x4442_434E, fid: 2, UInt64(UInt8(ascii: "A")), gives: succeeded())
            #expect(env.console == [UInt8(ascii: "A")])
        }
    }

    @Test func legacyPutchar() {
        withEnvironment { env, _ in
            expectCall(&env, eid: 0x01, fid: 0, UInt64(UInt8(ascii: "z")), gives: succeeded())
            #expect(env.console == [UInt8(ascii: "z")])
        }
    }

    @Test func legacyGetchar() {
        withEnvironment { env, _ in
            expectCall(&env, eid: 0x02, fid: 0, gives: .resume(SBIResult(error: -1, value: 0)))   // no input: a0 = -1
            env.input = [UInt8(ascii: "q"), 0xFF]
            expectCall(&env, eid: 0x02, fid: 0, gives: .resume(SBIResult(error: 0x71, value: 0)))
            expectCall(&env, eid: 0x02, fid: 0, gives: .resume(SBIResult(error: 0xFF, value: 0)))  // not -1
            #expect(env.input.isEmpty)
        }
    }

    // MARK: Unsupported

    @Test func unsupportedCallsFailWithNotSupported() {
        withEnvironment { env, _ in
            expectCall(&env, eid: 0x0050_4D55, fid: 0, gives: failed(-2))
            expectCall(&env, eid: 0x1234_5678, fid: 0, gives: failed(-2))
            expectCall(&env, eid: 0x10, fid: 99, gives: failed(-2))
            expectCall(&env, eid: 0x0048_534D, fid: 9, gives: failed(-2))
            let direct = SBIDispatch.handle(.unsupported(eid: 1, fid: 2), &env)
            #expect(direct == failed(-2))
            #expect(env.recordedNothing)
        }
    }
}
