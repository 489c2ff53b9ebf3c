// UpdateService: the caller's policy, staging in chunks, apply (parse, verify, install on trial), status and commit.

import Testing
@testable import BulkheadCore

@Suite("Partition updates: the hypercalls")
struct UpdateServiceTests {
    /// A caller (partition 0, policy: may update partition 1 of 3) with 64 KiB of RAM, the
    /// update table and a real 1 MiB staging buffer; `verdict` stands in for the verifier.
    final class World {
        static let ramSize = 0x1_0000
        let ram = UnsafeMutableRawBufferPointer.allocate(byteCount: World.ramSize, alignment: 8)
        let staging = UnsafeMutableRawBufferPointer.allocate(byteCount: UpdateLimits.stagingSize, alignment: 8)
        var table = UpdateTable(bundleDigest: { p in SHA512Digest(bytes: InlineArray(repeating: UInt8(p))) }, securityVersion: 4)
        var caller = 0
        var targets: UInt8 = 0b010
        var verdict: PartitionUpdateError? = nil
        var floorsSeen: [UInt64] = []
        var installed: [(Int, UInt64)] = []
        var logged: [(PartitionUpdateError, Int)] = []
        var trialMilliseconds: [UInt64] = []
        var installRefusal: BulkheadReason? = nil
        var commitRefusal: BulkheadReason? = nil
        var commitsRecorded: [Int] = []
        init() { ram.initializeMemory(as: UInt8.self, repeating: 0); staging.initializeMemory(as: UInt8.self, repeating: 0) }
        deinit { ram.deallocate(); staging.deallocate() }
        func gpa(_ offset: Int) -> UInt64 { guestRAMBase.raw + UInt64(offset) }
        func call(_ f: BulkheadFunction, _ a0: UInt64 = 0, _ a1: UInt64 = 0, _ a2: UInt64 = 0, _ a3: UInt64 = 0) -> SBIResult {
            var env = Env(world: self)
            return BulkheadService.handle(BulkheadCall.decode(fid: f.rawValue, a0: a0, a1: a1, a2: a2, a3: a3), &env)
        }
        /// Copies `bytes` into the caller's RAM at 0 and stages them in chunks of `chunk`.
        func stageAll(_ bytes: [UInt8], target: UInt64 = 1, chunk: Int = 4096) -> SBIResult {
            var offset = 0
            var last = SBIResult.success(0)
            while offset < bytes.count {
                let n = min(chunk, bytes.count - offset)
                for i in 0..<n { ram[i] = bytes[offset + i] }
                last = call(.updateStage, target, UInt64(offset), gpa(0), UInt64(n))
                if last.error != 0 { return last }
                offset += n
            }
            return last
        }
    }

    struct Env: IPCEnvironment, NoKeyServices {
        let world: World
        var partition: Int { world.caller }
        var memory: GuestMemory {
            GuestMemory(host: HostRegion(base: HostPhysAddr(UInt64(UInt(bitPattern: world.ram.baseAddress))), size: UInt64(World.ramSize)))
        }
        mutating func systemReport(nonce: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? { nil }
        var channelCount: Int { 0 }
        func channel(_ id: Int) -> ChannelSpec { ChannelSpec() }
        var partitionName: PartitionName { PartitionName() }
        func sharedWindow(_ id: Int) -> GuestPhysAddr { ChannelLimits.sharedWindowBase }
        mutating func withRing<R>(channel id: Int, toEndpoint endpoint: Int, _ body: (MessageRing) -> R) -> R { fatalError() }
        mutating func ringDoorbell(channel id: Int, partition p: Int) {}
        mutating func takeDoorbells() -> UInt64 { 0 }
        // Updates
        var updateTargets: UInt8 { world.targets }
        var planPartitionCount: Int { 3 }
        mutating func withUpdateTable<R>(_ body: (inout UpdateTable) -> R) -> R? { body(&world.table) }
        var updateStaging: UnsafeMutableRawBufferPointer? { world.staging }
        func verifyUpdate(_ update: PartitionUpdateReader, floor: UInt64) throws(PartitionUpdateError) {
            world.floorsSeen.append(floor)
            if let verdict = world.verdict { throw verdict }
        }
        mutating func installUpdate(_ update: PartitionUpdateReader, trialMilliseconds: UInt64) throws(BulkheadReason) {
            if let refusal = world.installRefusal { throw refusal }
            world.installed.append((update.partition, update.securityVersion))
            world.trialMilliseconds.append(trialMilliseconds)
            var digest = SHA512Digest(bytes: InlineArray(repeating: 0))
            for i in 0..<64 { digest.bytes[i] = update.imageDigest[i] }
            world.table.beginTrial(update.partition, RunningImage(source: .committedUpdate, digest: digest, securityVersion: update.securityVersion))
        }
        mutating func recordCommit(_ p: Int) throws(BulkheadReason) {
            world.commitsRecorded.append(p)
            if let refusal = world.commitRefusal { throw refusal }
        }
        mutating func logRefusedUpdate(_ error: PartitionUpdateError, target: Int) { world.logged.append((error, target)) }
    }

    /// A well-formed update of partition `partition` ("beta") at `version` (the verifier is faked).
    static func update(partition: Int = 1, version: UInt64 = 5, imageSize: Int = 10_000) -> [UInt8] {
        let name = Array("beta".utf8).withUnsafeBytes { PartitionName(bytes: $0)! }
        return PartitionUpdateWriter.encode(partition: partition, name: name, entry: guestRAMBase,
                                            image: (0..<imageSize).map { UInt8(truncatingIfNeeded: $0 &* 7) }, initrd: [],
                                            policyDigest: [UInt8](repeating: 0xAB, count: 64), securityVersion: version,
                                            keyID: SigningKeyID(raw: 1), digest: { _ in [UInt8](repeating: 0xCD, count: 64) },
                                            sign: { (_: [UInt8]) throws(Never) -> [UInt8] in [UInt8](repeating: 0, count: 64) })
    }

    @Test func aGoodUpdateIsStagedAppliedOnTrialAndCommittedByTheTarget() {
        let w = World()
        let bytes = Self.update()
        #expect(w.stageAll(bytes) == .success(UInt64(bytes.count)))
        #expect(Array(w.staging[0..<bytes.count]) == bytes)
        #expect(w.call(.updateApply, 1, UInt64(bytes.count)) == .success(0))
        #expect(w.installed.count == 1 && w.installed[0] == (1, 5))
        #expect(w.floorsSeen == [0])
        #expect(w.table.state[1] == .trial && w.table.staging == nil)
        #expect(w.table.running[1].source == .trial && w.table.running[1].securityVersion == 4)
        // Status: the target's own and the updater's view; another partition is refused.
        #expect(w.call(.updateStatus, 1) == .success(UInt64(UpdateState.trial.rawValue) | 4 << 16))
        #expect(w.call(.updateStatus, 2) == BulkheadReason.policyDenied.result)
        // Only the target commits, and only once.
        #expect(w.call(.updateCommit) == BulkheadReason.notOnTrial.result)
        w.caller = 1
        #expect(w.call(.updateCommit) == .success(0))
        #expect(w.call(.updateCommit) == BulkheadReason.notOnTrial.result)
        #expect(w.table.floor[1] == 5 && w.table.running[1].source == .committedUpdate && w.table.running[1].securityVersion == 5)
        #expect(w.table.running[1].digest == SHA512Digest(bytes: InlineArray(repeating: 0xCD)))
        #expect(w.call(.updateStatus, 1) == .success(UInt64(UpdateState.committed.rawValue) | 5 << 16))
        // The next update is verified against the risen floor.
        w.caller = 0
        #expect(w.stageAll(Self.update(version: 6)) != BulkheadReason.busy.result)
        #expect(w.call(.updateApply, 1, UInt64(Self.update(version: 6).count)) == .success(0))
        #expect(w.floorsSeen == [0, 5])
    }

    @Test func eachRefusalHasItsReasonAndChangesNothing() {
        let cases: [(PartitionUpdateError, BulkheadReason)] = [
            (.unknownKey(SigningKeyID(raw: 9)), .updateUntrusted), (.badSignature(SigningKeyID(raw: 1)), .updateUntrusted),
            (.revokedKey(SigningKeyID(raw: 1)), .updateUntrusted), (.versionNotAboveFloor(version: 3, floor: 4), .updateRollback),
            (.policyChanged(partition: 1), .updateMismatch), (.imageDigestMismatch, .updateMismatch),
        ]
        for (verdict, reason) in cases {
            let w = World()
            w.verdict = verdict
            let bytes = Self.update()
            #expect(w.stageAll(bytes) == .success(UInt64(bytes.count)))
            #expect(w.call(.updateApply, 1, UInt64(bytes.count)) == reason.result)
            #expect(w.installed.isEmpty && w.logged.count == 1 && w.logged[0].0 == verdict && w.logged[0].1 == 1)
            #expect(w.table.state[1] == .refused && w.table.reason[1] == UInt8(reason.rawValue))
            #expect(w.table.running[1].source == .bundle && w.table.floor[1] == 0 && w.table.staging == nil)
            #expect(w.call(.updateStatus, 1) == .success(UInt64(UpdateState.refused.rawValue) | reason.rawValue << 8 | 4 << 16))
        }
    }

    @Test func malformedStagingAndPolicyAreRefusedBeforeAnythingIsVerified() {
        let w = World()
        let bytes = Self.update()
        // Policy: partition 2, the caller itself, an index past the plan, past Limits.partitions.
        for target: UInt64 in [2, 0, 3, 8, UInt64.max] {
            #expect(w.call(.updateStage, target, 0, w.gpa(0), 16) == BulkheadReason.policyDenied.result)
            #expect(w.call(.updateApply, target, 16) == BulkheadReason.policyDenied.result)
        }
        // Size, then the guest buffer.
        #expect(w.call(.updateStage, 1, UInt64(UpdateLimits.stagingSize), w.gpa(0), 1) == BulkheadReason.updateTooLarge.result)
        #expect(w.call(.updateStage, 1, 0, w.gpa(0), UInt64(UpdateLimits.stagingSize) + 1) == BulkheadReason.updateTooLarge.result)
        #expect(w.call(.updateStage, 1, 8, w.gpa(0), UInt64.max) == BulkheadReason.updateTooLarge.result)
        #expect(w.call(.updateApply, 1, UInt64(UpdateLimits.stagingSize) + 1) == BulkheadReason.updateTooLarge.result)
        #expect(w.call(.updateStage, 1, 0, w.gpa(World.ramSize - 8), 16) == BulkheadReason.badAddress.result)
        // A chunk must continue where the last one ended; apply names exactly the staged length.
        #expect(w.call(.updateApply, 1, 16) == BulkheadReason.updateMalformed.result)
        #expect(w.call(.updateStage, 1, 16, w.gpa(0), 16) == BulkheadReason.updateMalformed.result)
        #expect(w.call(.updateStage, 1, 0, w.gpa(0), 16) == .success(16))
        #expect(w.call(.updateStage, 1, 48, w.gpa(0), 16) == BulkheadReason.updateMalformed.result)
        #expect(w.call(.updateApply, 1, 15) == BulkheadReason.updateMalformed.result)
        // Another partition cannot touch the staging buffer while one holds it.
        w.caller = 2; w.targets = 0b010
        #expect(w.call(.updateStage, 1, 0, w.gpa(0), 16) == BulkheadReason.busy.result)
        #expect(w.call(.updateApply, 1, 16) == BulkheadReason.busy.result)
        // 16 staged bytes are no update: refused as malformed by the parser, nothing verified.
        w.caller = 0; w.targets = 0b010
        #expect(w.call(.updateApply, 1, 16) == BulkheadReason.updateMalformed.result)
        #expect(w.floorsSeen.isEmpty && w.installed.isEmpty && w.logged.count == 1)
        // An update signed for partition 2, delivered as one for partition 1.
        let other = Self.update(partition: 2)
        #expect(w.stageAll(other) == .success(UInt64(other.count)))
        #expect(w.call(.updateApply, 1, UInt64(other.count)) == BulkheadReason.updateMismatch.result)
        #expect(w.logged.last?.0 == .wrongPartition(index: 1) && w.floorsSeen.isEmpty)
        // While the target is on trial, no other update for it is applied.
        #expect(w.stageAll(bytes) == .success(UInt64(bytes.count)))
        #expect(w.call(.updateApply, 1, UInt64(bytes.count)) == .success(0))
        #expect(w.stageAll(bytes) == .success(UInt64(bytes.count)))
        #expect(w.call(.updateApply, 1, UInt64(bytes.count)) == BulkheadReason.busy.result)
        #expect(w.installed.count == 1)
    }

    @Test func withoutAnUpdateServiceEveryCallIsRefused() {
        struct Bare: IPCEnvironment, NoKeyServices {
            var partition: Int { 0 }
            var memory: GuestMemory { GuestMemory(host: HostRegion(base: HostPhysAddr(0x1000), size: 0x1000)) }
            mutating func systemReport(nonce: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? { nil }
            var channelCount: Int { 0 }
            func channel(_ id: Int) -> ChannelSpec { ChannelSpec() }
            var partitionName: PartitionName { PartitionName() }
            func sharedWindow(_ id: Int) -> GuestPhysAddr { ChannelLimits.sharedWindowBase }
            mutating func withRing<R>(channel id: Int, toEndpoint endpoint: Int, _ body: (MessageRing) -> R) -> R { fatalError() }
            mutating func ringDoorbell(channel id: Int, partition p: Int) {}
            mutating func takeDoorbells() -> UInt64 { 0 }
        }
        var env = Bare()
        #expect(BulkheadService.handle(.updateStage(target: 1, offset: 0, buffer: guestRAMBase, length: 8), &env) == BulkheadReason.unknownFunction.result)
        #expect(BulkheadService.handle(.updateApply(target: 1, length: 8, deadlineMilliseconds: 0), &env) == BulkheadReason.unknownFunction.result)
        #expect(BulkheadService.handle(.updateStatus(target: 0), &env) == BulkheadReason.unknownFunction.result)
        #expect(BulkheadService.handle(.updateCommit, &env) == BulkheadReason.unknownFunction.result)
        #expect(BulkheadReason.unknownFunction.result.error == SBIError.notSupported.rawValue)
    }

    @Test func theTrialDeadlineDefaultsToTenSecondsAndTheCallerMayNameAnother() {
        let w = World()
        let bytes = Self.update()
        #expect(w.stageAll(bytes) == .success(UInt64(bytes.count)))
        #expect(w.call(.updateApply, 1, UInt64(bytes.count)) == .success(0))
        w.caller = 1
        #expect(w.call(.updateCommit) == .success(0))
        w.caller = 0
        let next = Self.update(version: 6)
        #expect(w.stageAll(next) == .success(UInt64(next.count)))
        #expect(w.call(.updateApply, 1, UInt64(next.count), 2_500) == .success(0))
        #expect(w.trialMilliseconds == [10_000, 2_500])
    }

    @Test func aTargetThatCannotBeRestartedOrStoredChangesNothing() {
        let w = World()
        w.installRefusal = .busy
        let bytes = Self.update()
        #expect(w.stageAll(bytes) == .success(UInt64(bytes.count)))
        #expect(w.call(.updateApply, 1, UInt64(bytes.count)) == BulkheadReason.busy.result)
        #expect(w.table.state[1] == .none && w.table.running[1].source == .bundle)
        // busy: the update stays staged (still the caller's, no longer applying); the same apply
        // goes through once the target can restart, without staging again.
        #expect(w.table.staging == StagingOwner(caller: 0, target: 1, length: bytes.count, applying: false))
        w.installRefusal = nil
        #expect(w.call(.updateApply, 1, UInt64(bytes.count)) == .success(0))
        #expect(w.table.staging == nil)
        // Any other failure frees the staging buffer.
        w.caller = 0
        w.table = UpdateTable(bundleDigest: { p in SHA512Digest(bytes: InlineArray(repeating: UInt8(p))) }, securityVersion: 4)
        w.installRefusal = .storageFailed
        #expect(w.stageAll(bytes) == .success(UInt64(bytes.count)))
        #expect(w.call(.updateApply, 1, UInt64(bytes.count)) == BulkheadReason.storageFailed.result)
        #expect(w.table.staging == nil && w.table.state[1] == .none)
    }

    @Test func aCommitThatIsNotRecordedLeavesTheTrialRunningAndTheFloorWhereItWas() {
        let w = World()
        let bytes = Self.update()
        #expect(w.stageAll(bytes) == .success(UInt64(bytes.count)))
        #expect(w.call(.updateApply, 1, UInt64(bytes.count)) == .success(0))
        w.caller = 1
        w.commitRefusal = .storageFailed
        #expect(w.call(.updateCommit) == BulkheadReason.storageFailed.result)
        #expect(w.table.state[1] == .trial && w.table.floor[1] == 0 && !w.table.committing[1])
        w.commitRefusal = nil
        #expect(w.call(.updateCommit) == .success(0))
        #expect(w.commitsRecorded == [1, 1] && w.table.floor[1] == 5)
    }

    @Test func aFailedTrialRollsBackToTheCommittedImageButACommitInProgressCannot() {
        var table = UpdateTable(bundleDigest: { p in SHA512Digest(bytes: InlineArray(repeating: UInt8(p))) }, securityVersion: 4)
        let image = RunningImage(source: .committedUpdate, digest: SHA512Digest(bytes: InlineArray(repeating: 0xEE)), securityVersion: 7)
        var rolled = table.rollBack(1, .trialFaulted)
        #expect(!rolled)                                    // nothing on trial
        table.beginTrial(1, image)
        rolled = table.rollBack(1, .trialDeadline)
        #expect(rolled)
        #expect(table.state[1] == .rolledBack && table.reason[1] == UInt8(BulkheadReason.trialDeadline.rawValue))
        #expect(table.running[1].source == .bundle && table.running[1].securityVersion == 4 && table.floor[1] == 0)
        #expect(table.status(1) == UInt64(UpdateState.rolledBack.rawValue) | BulkheadReason.trialDeadline.rawValue << 8 | 4 << 16)
        // Committed once, a later failed trial goes back to the committed update, not the bundle.
        table.beginTrial(1, image)
        let first = table.beginCommit(1), second = table.beginCommit(1)
        #expect(first && !second)
        rolled = table.rollBack(1, .trialFaulted)
        #expect(!rolled)                                    // the commit is being written: no rollback
        table.finishCommit(1, recorded: true)
        table.beginTrial(1, RunningImage(source: .committedUpdate, digest: SHA512Digest(bytes: InlineArray(repeating: 1)), securityVersion: 8))
        rolled = table.rollBack(1, .trialReset)
        #expect(rolled)
        #expect(table.running[1].source == .committedUpdate && table.running[1].securityVersion == 7 && table.floor[1] == 7)
    }
}
