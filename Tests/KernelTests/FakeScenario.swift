// A fake machine with partitions placed on it, booted through the kernel's own PartitionControl.hartMain.
import Foundation
import Testing
@testable import KernelOnFakeArch
@testable import BulkheadCore

/// Every test of the kernel on the fake arch, one at a time: they share the kernel's globals.
@Suite(.serialized) enum KernelOnFakeArchTests {}

struct PartitionSetup {
    var name: String
    var harts: [Int]
    var onFault = FaultPolicy.stop
}

/// The SBI extensions and calls the tests make (SBI spec v2.0).
enum SBI {
    static let base: UInt64 = 0x10, ipi: UInt64 = 0x735049, rfence: UInt64 = 0x52464E43
    static let hsm: UInt64 = 0x48534D, srst: UInt64 = 0x53525354
    static let legacyGetchar: UInt64 = 2
}

final class FakeScenario {
    let machine = FakeMachine()
    let setups: [PartitionSetup]
    /// Each partition's RAM and pristine image (host buffers standing for host-physical memory).
    var ram: [UnsafeMutableRawBufferPointer] = []
    var images: [[UInt8]] = []
    static let ramSize = 0x40_0000

    init(_ setups: [PartitionSetup]) {
        self.setups = setups
        FakeMachine.installed = machine
        plan = PartitionPlan()
        thawSystemForTests()
        initializeSystem()
        for (p, setup) in setups.enumerated() {
            let memory = FakeStorage.allocate(Self.ramSize)
            let image = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ p) }
            let imageBuffer = FakeStorage.allocate(image.count)
            imageBuffer.copyBytes(from: image)
            var spec = PartitionSpec()
            spec.name = Array(setup.name.utf8).withUnsafeBytes { PartitionName(bytes: $0)! }
            for h in setup.harts { _ = spec.harts.append(UInt32(h)) }
            spec.memory = HostRegion(base: HostPhysAddr(machine.storage.address(memory)), size: UInt64(Self.ramSize))
            spec.imageSize = UInt64(image.count)
            spec.onFault = setup.onFault
            _ = plan.append(spec)
            partitionState(p).pointee.image = HostRegion(base: HostPhysAddr(machine.storage.address(imageBuffer)), size: UInt64(image.count))
            for (v, h) in setup.harts.enumerated() {
                configureSystem { s in
                    s.hartPartition[h] = p
                    s.hartVCPU[h] = v
                }
                if v != 0 { Mailbox(hart: h).state = .stopped }   // as Boot.swift leaves them
            }
            #expect(PartitionControl.load(p))
            ram.append(memory)
            images.append(image)
        }
    }

    deinit { machine.retire() }

    /// Starts every partition hart on its own thread in the kernel's hart main loop.
    func boot() {
        for setup in setups { for h in setup.harts { machine.startHart(h) { PartitionControl.hartMain(h) } } }
    }

    var entry: UInt64 { guestRAMBase.raw }
    func deviceTree(_ p: Int) -> UInt64 { plan[p].deviceTreeAddress.raw }

    /// Waits (up to 10 s) for `condition`; false when it never held.
    @discardableResult func wait(_ what: String, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if condition() { return true }
            usleep(200)
        }
        Issue.record("timed out waiting for \(what); console:\n\(machine.consoleText)")
        return false
    }

    func entries(ofHart hart: Int) -> [FakeEvent] {
        machine.withLock { machine.events.filter { if case .entered(let h, _, _, _) = $0 { return h == hart }; return false } }
    }

    @discardableResult func waitForEntry(_ hart: Int, count: Int = 1) -> FakeEvent? {
        wait("hart \(hart)'s entry #\(count)") { entries(ofHart: hart).count >= count }
        let all = entries(ofHart: hart)
        return all.count >= count ? all[count - 1] : nil
    }

    /// Boots a partition on harts 0 and 1 whose vCPU 0 starts vCPU 1 at 0x8000_2000 (SBI HSM hart_start).
    static func bootPairWithBothVCPUsRunning(onFault: FaultPolicy = .stop) -> FakeScenario {
        let s = FakeScenario([PartitionSetup(name: "pair", harts: [0, 1], onFault: onFault)])
        s.boot()
        s.waitForEntry(0)
        s.wait("hart 1 to park") { s.state(1) == .stopped }
        #expect(s.call(SBI.hsm, 0, [1, 0x8000_2000, 0], on: 0)?.a0 == 0)
        s.waitForEntry(1)
        return s
    }

    func waitForConsole(_ text: String) -> Bool { wait("console line \"\(text)\"") { machine.consoleText.contains(text) } }

    func state(_ hart: Int) -> HSMState { Mailbox(hart: hart).state }

    /// Makes `hart`'s guest take `trap` and waits until it is back in its guest; (a0, a1, sepc) then.
    func take(_ trap: FakeTrap, on hart: Int) -> (a0: UInt64, a1: UInt64, sepc: UInt64)? {
        let before = resumes(hart).count
        machine.post(trap, toHart: hart)
        guard wait("hart \(hart) to resume", { resumes(hart).count > before }) else { return nil }
        guard case .resumed(_, let a0, let a1, let sepc) = resumes(hart)[before] else { return nil }
        return (a0, a1, sepc)
    }

    /// An SBI call from `hart`'s guest.
    func ecall(_ eid: UInt64, _ fid: UInt64, _ args: [UInt64] = [], on hart: Int) -> FakeTrap {
        var registers: [Int: UInt64] = [17: eid, 16: fid]
        for (i, a) in args.enumerated() { registers[10 + i] = a }
        return FakeTrap(scause: Scause(exception: .ecallFromVS), registers: registers)
    }

    func call(_ eid: UInt64, _ fid: UInt64, _ args: [UInt64] = [], on hart: Int) -> (a0: UInt64, a1: UInt64, sepc: UInt64)? {
        take(ecall(eid, fid, args, on: hart), on: hart)
    }

    private func resumes(_ hart: Int) -> [FakeEvent] {
        machine.withLock { machine.events.filter { if case .resumed(let h, _, _, _) = $0 { return h == hart }; return false } }
    }
}

func sbiError(_ e: SBIError) -> UInt64 { UInt64(bitPattern: e.rawValue) }
