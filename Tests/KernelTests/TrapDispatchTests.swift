// Trap dispatch (Trap.swift) on the fake arch: SBI results, interrupts, and faults contained in their partition.
import Foundation
import Testing
@testable import KernelOnFakeArch
@testable import BulkheadCore

extension KernelOnFakeArchTests {
@Suite struct TrapDispatchTests {
    @Test func anSBICallReturnsInA0AndA1AndAdvancesSepc() throws {
        let s = FakeScenario([PartitionSetup(name: "solo", harts: [0])])
        s.boot()
        let entry = try #require(s.waitForEntry(0))
        #expect(entry == .entered(hart: 0, pc: s.entry, a0: 0, a1: s.deviceTree(0)))
        let version = try #require(s.call(SBI.base, 0, on: 0))
        #expect(version.a0 == 0 && version.a1 == sbiSpecVersion && version.sepc == s.entry + 4)
        let unknown = try #require(s.call(0x0ABC_DEF0, 0, on: 0))
        #expect(unknown.a0 == sbiError(.notSupported) && unknown.sepc == s.entry + 8)
    }

    @Test func aLegacyCallReturnsInA0OnlyAndLeavesA1() throws {
        let s = FakeScenario([PartitionSetup(name: "solo", harts: [0])])
        s.boot()
        s.waitForEntry(0)
        let r = try #require(s.call(SBI.legacyGetchar, 0, [0, 0x5555], on: 0))
        #expect(r.a0 == UInt64.max)         // no console input: -1
        #expect(r.a1 == 0x5555)
    }

    @Test func anIPIToASiblingRaisesItsVSSIPAndNotTheSender() throws {
        let s = FakeScenario.bootPairWithBothVCPUsRunning()
        let r = try #require(s.call(SBI.ipi, 0, [0b10, 0], on: 0))     // hart_mask: vCPU 1
        #expect(r.a0 == 0)
        s.wait("VSSIP on hart 1") { s.machine.withLock { s.machine.csrs[1].hvip.contains(.vssi) } }
        #expect(!s.machine.withLock { s.machine.csrs[0].hvip.contains(.vssi) })
    }

    @Test func aRemoteFenceWaitsUntilTheTargetPerformedIt() throws {
        let s = FakeScenario.bootPairWithBothVCPUsRunning()
        let r = try #require(s.call(SBI.rfence, 0, [0b10, 0], on: 0))   // remote_fence_i on vCPU 1
        #expect(r.a0 == 0)
        #expect(Mailbox(hart: 1).pending & Request.fences == 0)        // hart 1 acknowledged it
    }

    @Test func aFaultStopsOnlyItsOwnPartition() throws {
        let s = FakeScenario([PartitionSetup(name: "victim", harts: [0], onFault: .stop),
                              PartitionSetup(name: "bystander", harts: [1])])
        s.boot()
        s.waitForEntry(0)
        s.waitForEntry(1)
        s.machine.post(FakeTrap(scause: Scause(exception: .loadAccessFault), stval: 0x1234), toHart: 0)
        #expect(s.waitForConsole("fault: partition victim vCPU 0: load access fault at guest virtual address 0x1234"))
        #expect(s.waitForConsole("partition victim stopped"))
        #expect(SharedWords.partitionStopped(0).load() == 1)
        #expect(SharedWords.partitionStopped(1).load() == 0)
        // The bystander still runs and was never sent anything.
        #expect(try #require(s.call(SBI.base, 0, on: 1)).a0 == 0)
        #expect(!s.machine.withLock { s.machine.events.contains(.firmwareIPI(hart: 1)) })
        #expect(!s.machine.consoleText.contains("bystander"))
        #expect(s.entries(ofHart: 0).count == 1)
    }

    @Test func aChangeToTheSystemConfigurationAfterBootStopsTheMachine() throws {
        let s = FakeScenario([PartitionSetup(name: "solo", harts: [0])])
        s.boot()
        s.waitForEntry(0)
        freezeSystem()
        s.machine.startHart(1) { configureSystem { $0.timebaseFrequency = 1 } }
        #expect(s.waitForConsole("[bulkhead] FATAL: the system configuration changed after boot"))
        s.wait("the machine to stop") { s.machine.withLock { s.machine.events.contains(.firmwareShutdown(failure: true)) } }
        #expect(system.timebaseFrequency != 1)
    }

    /// entry.S reserves BH_SYSTEM_CONFIG_SIZE bytes (layout.h) for `system`; the host's layout of
    /// SystemConfig is the kernel's (both LP64).
    @Test func theSystemValueFitsItsStorageInTheImage() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let layout = try String(contentsOf: root.appendingPathComponent("Kernel/Arch/RISCV64/include/layout.h"), encoding: .utf8)
        let line = try #require(layout.split(separator: "\n").first { $0.hasPrefix("#define BH_SYSTEM_CONFIG_SIZE") })
        let size = try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[2].dropFirst(2), radix: 16))
        #expect(MemoryLayout<SystemConfig>.size <= size)
        #expect(size == KernelStorage.systemConfig.size)               // the fake arch's storage too
    }

    @Test func aVirtualInstructionFaultNamesItsInstructionBits() throws {
        let s = FakeScenario([PartitionSetup(name: "solo", harts: [0])])
        s.boot()
        s.waitForEntry(0)
        s.machine.post(FakeTrap(scause: Scause(exception: .virtualInstruction), stval: 0x1050_0073), toHart: 0)
        #expect(s.waitForConsole("virtual instruction, instruction bits 0x10500073"))
        #expect(!s.machine.consoleText.contains("guest virtual address"))
    }
}
}
