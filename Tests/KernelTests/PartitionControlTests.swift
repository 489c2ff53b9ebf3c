// Partition stop, park and restart (PartitionControl.swift) on the fake arch: HSM, fault policies, SRST, the restart limit.
import Foundation
import Testing
@testable import KernelOnFakeArch
@testable import BulkheadCore

extension KernelOnFakeArchTests {
@Suite struct PartitionControlTests {
    @Test func hsmStartsAndStopsASiblingVCPU() throws {
        let s = FakeScenario([PartitionSetup(name: "pair", harts: [0, 1])])
        s.boot()
        s.waitForEntry(0)
        s.wait("hart 1 to park") { s.state(1) == .stopped }
        #expect(s.entries(ofHart: 1).isEmpty)
        #expect(try #require(s.call(SBI.hsm, 0, [1, 0x8000_2000, 0x77], on: 0)).a0 == 0)
        #expect(s.waitForEntry(1) == .entered(hart: 1, pc: 0x8000_2000, a0: 1, a1: 0x77))
        #expect(try #require(s.call(SBI.hsm, 0, [1, 0x8000_3000, 0], on: 0)).a0 == sbiError(.alreadyAvailable))
        #expect(try #require(s.call(SBI.hsm, 2, [1], on: 0)).a1 == UInt64(HSMState.started.rawValue))
        // vCPU 1 stops itself: its hart parks, and vCPU 0 sees it stopped.
        s.machine.post(s.ecall(SBI.hsm, 1, on: 1), toHart: 1)
        s.wait("hart 1 to park again") { s.state(1) == .stopped }
        #expect(try #require(s.call(SBI.hsm, 2, [1], on: 0)).a1 == UInt64(HSMState.stopped.rawValue))
        #expect(try #require(s.call(SBI.hsm, 0, [2, 0x8000_2000, 0], on: 0)).a0 == sbiError(.invalidParam))   // no vCPU 2
        #expect(s.entries(ofHart: 1).count == 1)
    }

    @Test func aFaultWithPolicyRestartReloadsThePartitionAndStartsItsFirstHart() throws {
        let s = FakeScenario.bootPairWithBothVCPUsRunning(onFault: .restart)
        // The guest scribbles over its image and the memory after it.
        s.ram[0].baseAddress!.initializeMemory(as: UInt8.self, repeating: 0xEE, count: 0x2_0000)
        // vCPU 1 faults: its hart stops the partition, vCPU 0 is parked, the image reloaded.
        s.machine.post(FakeTrap(scause: Scause(exception: .storeAccessFault), stval: 0x10), toHart: 1)
        #expect(s.waitForConsole("fault: partition pair vCPU 1: store/AMO access fault"))
        #expect(s.waitForConsole("partition pair restarting (boot 1)"))
        #expect(s.waitForEntry(0, count: 2) == .entered(hart: 0, pc: s.entry, a0: 0, a1: s.deviceTree(0)))
        s.wait("hart 1 to stay parked") { s.state(1) == .stopped }
        #expect(s.entries(ofHart: 1).count == 1)
        #expect(Array(s.ram[0][0..<s.images[0].count]) == s.images[0])
        #expect(s.ram[0][s.images[0].count..<0x2_0000].allSatisfy { $0 == 0 })
        #expect(SharedWords.partitionBootCount(0).load() == 1)
        #expect(!s.machine.consoleText.contains("pair stopped"))
    }

    @Test func aPartitionThatKeepsFaultingIsStoppedAfterTheRestartLimit() throws {
        let s = FakeScenario([PartitionSetup(name: "flaky", harts: [0], onFault: .restart)])
        s.boot()
        for round in 1...Int(maxRestarts) {
            s.waitForEntry(0, count: round)
            s.machine.post(FakeTrap(scause: Scause(exception: .illegalInstruction)), toHart: 0)
        }
        s.waitForEntry(0, count: Int(maxRestarts) + 1)
        #expect(s.machine.consoleText.contains("partition flaky restarting (boot \(maxRestarts))"))
        s.machine.post(FakeTrap(scause: Scause(exception: .illegalInstruction)), toHart: 0)
        #expect(s.waitForConsole("partition flaky restarted \(maxRestarts) times; stopping it"))
        #expect(s.waitForConsole("partition flaky stopped"))
        #expect(SharedWords.partitionStopped(0).load() == 1)
        #expect(s.entries(ofHart: 0).count == Int(maxRestarts) + 1)
    }

    @Test func aStartAfterARestartIsNotLostToTheStopsParkRequest() throws {
        // vCPU 1 is stopped (its hart parked) when vCPU 0 reboots the partition. The reboot's park
        // request reaches hart 1 late (its wfi is slow): the restarted vCPU 0's hart_start must
        // still start vCPU 1, not be cleared with that stale park request.
        let s = FakeScenario.bootPairWithBothVCPUsRunning()
        s.machine.post(s.ecall(SBI.hsm, 1, on: 1), toHart: 1)                  // vCPU 1: hart_stop
        s.wait("hart 1 to park") { s.state(1) == .stopped }
        s.machine.withLock { s.machine.wfiDelay[1] = 1_000_000 }
        s.machine.post(s.ecall(SBI.srst, 0, [1, 0], on: 0), toHart: 0)        // vCPU 0: cold reboot
        s.waitForEntry(0, count: 2)
        #expect(try #require(s.call(SBI.hsm, 0, [1, 0x8000_4000, 9], on: 0)).a0 == 0)
        #expect(s.waitForEntry(1, count: 2) == .entered(hart: 1, pc: 0x8000_4000, a0: 1, a1: 9))
    }

    @Test func srstShutdownStopsThePartitionAndRebootRestartsIt() throws {
        let s = FakeScenario([PartitionSetup(name: "down", harts: [0]), PartitionSetup(name: "again", harts: [1])])
        s.boot()
        s.waitForEntry(0)
        s.waitForEntry(1)
        s.machine.post(s.ecall(SBI.srst, 0, [0, 0], on: 0), toHart: 0)        // shutdown
        s.machine.post(s.ecall(SBI.srst, 0, [1, 0], on: 1), toHart: 1)        // cold reboot
        #expect(s.waitForConsole("partition down shut down by its guest (SBI SRST)"))
        #expect(s.waitForConsole("partition down stopped"))
        #expect(s.waitForConsole("partition again asked for a reboot (SBI SRST)"))
        #expect(s.waitForEntry(1, count: 2) == .entered(hart: 1, pc: s.entry, a0: 0, a1: s.deviceTree(1)))
        #expect(s.entries(ofHart: 0).count == 1)
        // Neither stopped the machine.
        #expect(!s.machine.withLock { s.machine.events.contains { if case .firmwareShutdown = $0 { return true }; return false } })
    }

    @Test func anotherPartitionsHartReplacesAPartitionWhichItsOwnFirstHartReloads() throws {
        let s = FakeScenario([PartitionSetup(name: "updater", harts: [0]), PartitionSetup(name: "target", harts: [1, 2])])
        s.boot()
        s.waitForEntry(0)
        s.waitForEntry(1)
        s.ram[1].baseAddress!.initializeMemory(as: UInt8.self, repeating: 0xEE, count: 0x2_0000)
        // What PartitionUpdates.apply does from the updater's hart: stop the target, change it, restart it.
        let outcome = FakeOutcome()
        s.machine.startHart(0) {
            let replaced = PartitionControl.replace(1, fromHart: 0) {
                outcome.set(stoppedDuringChange: Mailbox(hart: 1).state == .stopped && Mailbox(hart: 2).state == .stopped)
            }
            outcome.set(replaced: replaced)
        }
        s.wait("the replace to return") { outcome.replaced != nil }
        #expect(outcome.replaced == true)
        #expect(outcome.stoppedDuringChange == true)
        #expect(s.waitForEntry(1, count: 2) == .entered(hart: 1, pc: s.entry, a0: 0, a1: s.deviceTree(1)))
        #expect(Array(s.ram[1][0..<s.images[1].count]) == s.images[1])
        #expect(s.ram[1][s.images[1].count..<0x2_0000].allSatisfy { $0 == 0 })
        #expect(s.entries(ofHart: 0).count == 1)
        #expect(SharedWords.partitionStopped(1).load() == 0)
        // While a hart holds the target's busy lock, a replace does nothing and says so.
        let busy = SpinLock(word: SharedWords.partitionBusy(1), rank: .partitionBusy)
        #expect(busy.tryLock())
        let second = FakeOutcome()
        s.machine.startHart(0) { second.set(replaced: PartitionControl.replace(1, fromHart: 0) { second.set(stoppedDuringChange: true) }) }
        s.wait("the second replace to return") { second.replaced != nil }
        busy.unlock()
        #expect(second.replaced == false && second.stoppedDuringChange == nil)
        #expect(s.entries(ofHart: 1).count == 2)
    }
}
}

/// What a hart thread reports back to its test.
final class FakeOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var _replaced: Bool?, _stopped: Bool?
    var replaced: Bool? { lock.withLock { _replaced } }
    var stoppedDuringChange: Bool? { lock.withLock { _stopped } }
    func set(replaced: Bool) { lock.withLock { _replaced = replaced } }
    func set(stoppedDuringChange: Bool) { lock.withLock { _stopped = stoppedDuringChange } }
}
