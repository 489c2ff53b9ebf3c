// State region power-fail safety: an update torn at every unit of work reads back as old or new.
//
// Units of work are the fake's erase steps and programmed bytes; after each tear the region must
// read as exactly the old state or the new state, and the next update must succeed.

import Testing
@testable import BulkheadCore

/// One torn-update experiment: a flash geometry, what the region holds before the update, and
/// what a torn unit leaves behind.
struct StateRegionTearScenario: Sendable, CustomTestStringConvertible {
    enum Start: Sendable { case blank, oneCopy, bothCopies, newestCorrupt }

    var start: Start
    var eraseBlockSize: Int
    var eraseStep: Int
    /// `nil`: clean tears; otherwise noisy tears seeded with this.
    var noiseSeed: UInt64?

    var testDescription: String {
        "\(start), \(eraseBlockSize)-byte blocks erased in \(eraseBlockSize / eraseStep) steps, "
            + (noiseSeed.map { "noisy tears (seed \($0))" } ?? "clean tears")
    }

    var region: StateRegion { StateRegion(copyAOffset: eraseBlockSize, copyBOffset: 3 * eraseBlockSize) }

    /// The flash before the update: copies in blocks 1 and 3 (blocks 0 and 2 are neighbours that
    /// must not be touched).
    func initialFlash() throws -> FakeNORFlash {
        var flash = FakeNORFlash(blocks: 4, eraseBlockSize: eraseBlockSize, eraseStep: eraseStep)
        let r = region
        switch start {
        case .blank:
            break
        case .oneCopy:
            try r.recordBootSuccess(.a, securityVersion: 3, in: &flash)
        case .bothCopies:
            try r.recordBootSuccess(.a, securityVersion: 3, in: &flash)
            try r.recordBootAttempt(.b, in: &flash)
        case .newestCorrupt:
            try r.recordBootSuccess(.a, securityVersion: 3, in: &flash)
            try r.recordBootAttempt(.b, in: &flash)
            flash.bytes[3 * eraseBlockSize + 20] ^= 0x10                 // copy B (the newest) decays
        }
        flash.forgetTouchedBlocks()
        return flash
    }

    static let all: [StateRegionTearScenario] = {
        var list: [StateRegionTearScenario] = []
        for start in [Start.blank, .oneCopy, .bothCopies, .newestCorrupt] {
            // Small blocks erased byte by byte: every single byte of the erase is a tear point.
            list.append(.init(start: start, eraseBlockSize: 512, eraseStep: 1, noiseSeed: nil))
            list.append(.init(start: start, eraseBlockSize: 512, eraseStep: 1, noiseSeed: 1))
            list.append(.init(start: start, eraseBlockSize: 512, eraseStep: 1, noiseSeed: 0xDEAD_BEEF))
            // QEMU virt's 256 KiB blocks, erased in 4 KiB steps.
            list.append(.init(start: start, eraseBlockSize: 256 * 1024, eraseStep: 4096, noiseSeed: nil))
            list.append(.init(start: start, eraseBlockSize: 256 * 1024, eraseStep: 4096, noiseSeed: 7))
        }
        return list
    }()
}

@Suite struct StateRegionTearTests {
    /// The update under test: it raises the minimum security version and changes every other field.
    static func change(_ state: inout BootState) {
        state.minimumSecurityVersion += 5
        state.bootAttemptsA &+= 1
        state.bootAttemptsB = 77
        state.lastBootedSlot = .b
        state.preferredSlot = .b
    }

    @Test(arguments: StateRegionTearScenario.all)
    func everyTearPointReadsOldOrNew(_ scenario: StateRegionTearScenario) throws {
        let region = scenario.region
        let initial = try scenario.initialFlash()
        let before = try region.read(from: initial)
        let oldRecord = before.record
        var newState = before.state
        StateRegionTearTests.change(&newState)
        let target = before.nextWriteCopy
        let newRecord = StateRecord(sequence: before.nextSequence, state: newState)

        // An untorn update, to count its units of work: one erase of the target block, then 64 bytes.
        var full = initial
        let unitsBefore = full.unitsDone
        let after = try region.update(in: &full) { StateRegionTearTests.change(&$0) }
        #expect(after.result == .record(newRecord, copy: target))
        let eraseSteps = scenario.eraseBlockSize / scenario.eraseStep
        let totalUnits = full.unitsDone - unitsBefore
        #expect(totalUnits == eraseSteps + StateRecord.size)

        var sawNew = 0
        for tear in 0..<totalUnits {
            var flash = initial
            flash.powerBudget = tear
            if let seed = scenario.noiseSeed { flash.tearMode = .noisy(seed: seed &+ UInt64(tear)) }
            let expectedError: StateRegionError = tear < eraseSteps ? .eraseFailed(target) : .programFailed(target)
            #expect(throws: expectedError, "tear \(tear)") {
                try region.update(in: &flash) { StateRegionTearTests.change(&$0) }
            }
            #expect(flash.poweredOff, "tear \(tear)")
            flash.restorePower()

            // Reboot: the region reads as the old record or the new one, and nothing else.
            let reading: StateReading
            do { reading = try region.read(from: flash) } catch {
                Issue.record("tear \(tear): reading failed: \(error)"); continue
            }
            let isOld = reading.record == oldRecord && (oldRecord == nil ? reading.isBlankOrCorrupt : reading.newestCopy == before.newestCopy)
            let isNew = reading.result == .record(newRecord, copy: target)
            #expect(isOld || isNew, "tear \(tear): \(reading.result)")
            if isNew { sawNew += 1 }
            // Until every data byte and at least one checksum byte are in, it must be the old state.
            if tear < eraseSteps + StateRecord.checksumOffset { #expect(isOld, "tear \(tear)") }
            // The minimum security version never falls below the old one.
            #expect(reading.state.minimumSecurityVersion >= before.state.minimumSecurityVersion, "tear \(tear)")
            // The other copy still reads the same, and only the target's block was erased or programmed.
            #expect(reading.status(target.other) == before.status(target.other), "tear \(tear)")
            #expect(flash.touchedBlocks.isSubset(of: [region.offset(target)]), "tear \(tear)")

            // The next update, after the reboot, succeeds and reads back.
            let next = try region.update(in: &flash) { $0.bootAttemptsA = 1000; $0.minimumSecurityVersion += 1 }
            #expect(next.state.bootAttemptsA == 1000, "tear \(tear)")
            #expect(next.record?.sequence == reading.nextSequence, "tear \(tear)")
            #expect(try region.read(from: flash) == next, "tear \(tear)")
        }
        // Only a tear in the checksum's last bytes can already hold the whole new record.
        #expect(sawNew <= StateRecord.size - StateRecord.checksumOffset)
    }
}
