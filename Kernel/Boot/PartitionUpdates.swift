// Partition updates in the running hypervisor: the staging buffer and image stores, installing an update on trial, commit, rollback.
//
// Memory (placed at boot from the top of the bundle staging area, below nothing else): the 1 MiB
// staging buffer update_stage copies into, then two 1 MiB image stores per partition that some
// partition may update. A store holds a whole signed update (header, image, initrd), so the
// partition's pristine image and initrd are read from there on every restart, and the same bytes
// are what the flash update area keeps. One store of a partition holds its committed update (if
// any), the other the update on trial.
//
// Flash (docs/flash-layout.md, "The partition-update area"): update_apply writes the update to a
// free image slot before the target restarts; update_commit switches the update record; at boot
// each partition's committed update is read back, checked and verified again, and run. A board
// without an update area keeps updates in RAM only (until the next reboot), and says so at boot.
//
// Locks (SpinLock.swift): the update table under `updateLock`; a target is replaced under its
// partition_shared.busy (PartitionControl.replace), which is taken before `updateLock`; flash is
// written under the `flashWriter` try-lock (a second writer gets `busy`).
import BulkheadCore

/// What a partition boots: where its pristine image and initrd lie, its entry point and digests.
struct PartitionImage {
    var image = HostRegion(base: HostPhysAddr(0), size: 0)
    var initrd = HostRegion(base: HostPhysAddr(0), size: 0)
    var entry = guestRAMBase
    var imageDigest = SHA512Digest(bytes: InlineArray(repeating: 0))
    /// The initrd's digest (meaningful when `initrd.size > 0`).
    var initrdDigest = SHA512Digest(bytes: InlineArray(repeating: 0))
}

nonisolated(unsafe) var updateTable = UpdateTable(bundleDigest: { _ in SHA512Digest(bytes: InlineArray(repeating: 0)) }, securityVersion: 0)
/// Per partition: which of its stores holds its committed update (-1: it runs its bundle image).
nonisolated(unsafe) var committedStore = PerPartition<Int>(repeating: -1)
/// Per partition: the image it falls back to when a trial fails.
nonisolated(unsafe) var committedImage = PerPartition<PartitionImage>(repeating: PartitionImage())
/// Per partition: the time (the `time` CSR) by which its trial must commit; 0: no trial.
nonisolated(unsafe) var trialDeadline = PerPartition<UInt64>(repeating: 0)

enum PartitionUpdates {
    static let storeSize = UInt64(UpdateLimits.stagingSize)

    /// At boot, after the plan and keys: every partition runs its bundle image; places the
    /// staging buffer and the stores of every partition some policy names, at the top of the
    /// bundle staging area above the bundle. Logs why updates are off when they do not fit.
    static func setUp(bundle: BundleReader) {
        configureSystem { $0.bundleKeyID = bundle.keyID }
        updateTable = UpdateTable(bundleDigest: { partitionMeasurementDigest($0) }, securityVersion: system.bundleSecurityVersion)
        var targets: UInt8 = 0
        var p = 0
        while p < plan.count {
            let state = partitionState(p)
            committedImage[p] = PartitionImage(image: state.pointee.image, initrd: state.pointee.initrd, entry: plan[p].entry,
                                               imageDigest: state.pointee.measurement, initrdDigest: digest(bundle.initrdDigest(p)))
            targets |= plan[p].updateTargets
            p += 1
        }
        guard targets != 0 else { return }
        let stores = UInt64(targets.nonzeroBitCount) * 2
        let staging = system.hypervisorMemory.staging
        let need = (stores + 1) * storeSize
        let top = staging.base.raw &+ staging.size
        let bundleEnd = staging.base.raw &+ UInt64(bundle.totalLength)
        guard staging.size >= need, top &- need >= bundleEnd else {
            log { out in
                out.write("update: partition updates are off: the bundle leaves "); out.write(size: top &- min(bundleEnd, top))
                out.write(" of the staging area, they need "); out.write(size: need)
            }
            return
        }
        configureSystem { $0.updateStagingRegion = HostRegion(base: HostPhysAddr(top &- storeSize), size: storeSize) }
        var base = top &- need
        p = 0
        while p < plan.count {
            if targets & (1 << UInt8(p)) != 0 { configureSystem { $0.updateStoreBase[p] = base }; base &+= 2 &* storeSize }
            p += 1
        }
        if let layout = currentBoard.bundleFlash, layout.updateArea.isPresent {
            restoreCommitted(layout)
        } else {
            log("update: this board has no partition-update area in flash: committed updates last until the next reboot")
        }
    }

    /// At boot: every partition with a committed update of this bundle runs it, once its stored
    /// bytes hash to the record's digest and verify again as at update_apply; its floor is the
    /// record's version in any case (a damaged update does not reopen rollback).
    static func restoreCommitted(_ layout: FlashLayout) {
        let area = layout.updateArea
        let flash = CFIFlash(layout: layout)
        let reading: UpdateReading
        do throws(UpdateAreaError) { reading = try area.read(from: flash) } catch {
            log("update: the partition-update record cannot be read; every partition runs its bundle image")
            return
        }
        guard let record = reading.record(for: system.bundleMeasurement) else { return }
        var q = 0
        while q < plan.count {
            let entry = record.entries[q]
            defer { q += 1 }
            guard !entry.isNone else { continue }
            updateTable.floor[q] = entry.securityVersion
            let problem = restore(q, entry, area, flash)
            log { out in
                out.write("update: partition "); plan[q].name.withBytes { out.write(bytes: $0) }
                if let problem {
                    out.write(": its committed update (version "); out.write(decimal: entry.securityVersion)
                    out.write(") is not run: "); out.write(problem); out.write("; it runs its bundle image")
                } else {
                    out.write(" runs its committed update, version "); out.write(decimal: entry.securityVersion)
                }
            }
        }
    }

    /// Loads partition `p`'s committed update from flash into its store 0 and makes it what `p`
    /// runs; nil when done, else why not.
    static func restore(_ p: Int, _ entry: UpdateEntry, _ area: UpdateArea, _ flash: CFIFlash) -> StaticString? {
        guard system.updateStoreBase[p] != 0 else { return "no partition may update it" }
        let into = UnsafeMutableRawBufferPointer(rebasing: store(p, 0)[0 ..< Int(entry.length)])
        guard flash.read(offset: area.slotOffset(Int(entry.slot)), into: into) else { return "its image slot cannot be read" }
        guard SHA512.hash(UnsafeRawBufferPointer(into)) == entry.digest else { return "its image slot does not hold what was committed" }
        guard let update = try? PartitionUpdateReader(bytes: UnsafeRawBufferPointer(into)), update.partition == p,
              update.securityVersion == entry.securityVersion else { return "its stored update is malformed" }
        do throws(PartitionUpdateError) { try verify(update, floor: entry.securityVersion &- 1) } catch {
            return "it no longer verifies (revoked or unknown signer, or a changed policy)"
        }
        let image = self.image(of: update, in: into)
        switchImage(p, to: image)
        committedStore[p] = 0
        committedImage[p] = image
        updateTable.state[p] = .committed
        updateTable.committedSource[p] = .committedUpdate
        updateTable.running[p] = RunningImage(source: .committedUpdate, digest: image.imageDigest, securityVersion: entry.securityVersion)
        updateTable.trial[p] = updateTable.running[p]
        return nil
    }

    /// PartitionUpdateVerifier's checks against the installed bundle (its spec of the target and
    /// policy digest) and the built-in trust anchors: at update_apply and again at every boot.
    static func verify(_ update: PartitionUpdateReader, floor: UInt64) throws(PartitionUpdateError) {
        let p = update.partition & (Limits.partitions - 1)
        let trust = builtInTrustAnchors()
        try PartitionUpdateVerifier.verify(update: update, target: plan[p], partitionCount: plan.count,
                                           policyDigest: system.partitionPolicyDigest[p], trustAnchors: trust.anchors,
                                           revoked: trust.revoked, floor: floor)
    }

    /// Where `update`'s image and initrd lie once its bytes are in `store`, and its digests.
    static func image(of update: PartitionUpdateReader, in store: UnsafeMutableRawBufferPointer) -> PartitionImage {
        let base = UInt64(UInt(bitPattern: store.baseAddress))
        return PartitionImage(
            image: HostRegion(base: HostPhysAddr(base &+ UInt64(update.imageRange.offset)), size: UInt64(update.imageRange.count)),
            initrd: HostRegion(base: HostPhysAddr(base &+ UInt64(update.initrdRange.offset)), size: UInt64(update.initrdRange.count)),
            entry: update.entry, imageDigest: digest(update.imageDigest), initrdDigest: digest(update.initrdDigest))
    }

    static func partitionMeasurementDigest(_ p: Int) -> SHA512Digest { partitionState(p).pointee.measurement }

    static func digest(_ bytes: UnsafeRawBufferPointer) -> SHA512Digest {
        var d = SHA512Digest(bytes: InlineArray(repeating: 0))
        var i = 0
        while i < bytes.count && i < 64 { d.bytes[i] = bytes[i]; i += 1 }
        return d
    }

    /// Store `which` (0 or 1) of partition `p`.
    static func store(_ p: Int, _ which: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: hostPointer(system.updateStoreBase[p] &+ UInt64(which & 1) &* storeSize), count: Int(storeSize))
    }

    /// Makes `p` boot `image` from now on (its partition must be stopped): the pristine copies,
    /// the entry point, the measurement and, with key services, the keys derived from it. The
    /// signer-bound keys stay those of the bundle's signer, so signer-sealed data still opens.
    static func switchImage(_ p: Int, to image: PartitionImage) {
        partitionState(p).pointee.image = image.image
        partitionState(p).pointee.initrd = image.initrd
        plan.partitions[p].entry = image.entry
        plan.partitions[p].imageSize = image.image.size
        plan.partitions[p].initrdSize = image.initrd.size
        partitionState(p).pointee.measurement = image.imageDigest
        guard system.keysAvailable, let cdi = system.updateCDI else { return }
        var initrdDigest = image.initrdDigest
        let keys = withUnsafeBytes(of: &initrdDigest) { initrd in
            KeyChain.partitionKeys(hypervisorCDI: cdi, spec: plan[p], devices: plan.devices, partition: p,
                                   imageDigest: image.imageDigest,
                                   initrdDigest: image.initrd.size > 0 ? initrd : UnsafeRawBufferPointer(start: nil, count: 0),
                                   signingKey: system.bundleKeyID)
        }
        keystoreLock.withLock {
            partitionState(p).pointee.keys.wipe()
            partitionState(p).pointee.keys = keys
        }
    }

    /// update_apply's last step, on the updater's hart: copies the verified update from the
    /// staging buffer into the target's free store, then replaces the running target with it,
    /// on trial until `trialMilliseconds` have passed.
    static func install(_ update: PartitionUpdateReader, trialMilliseconds: UInt64, fromHart hart: Int) throws(BulkheadReason) {
        let p = update.partition
        guard p < plan.count, system.updateStoreBase[p] != 0 else { throw .policyDenied }
        let which = committedStore[p] == 0 ? 1 : 0
        let into = store(p, which)
        guard update.bytes.count <= into.count, let from = update.bytes.baseAddress else { throw .updateTooLarge }
        into.baseAddress?.copyMemory(from: from, byteCount: update.bytes.count)
        let stored = UnsafeMutableRawBufferPointer(rebasing: into[0 ..< update.bytes.count])
        let image = self.image(of: update, in: into)      // the same offsets in the store's copy
        if let layout = currentBoard.bundleFlash, layout.updateArea.isPresent {
            trialFlash[p] = try writeToFlash(p, UnsafeRawBufferPointer(stored), version: update.securityVersion, layout)
        }
        let trial = RunningImage(source: .committedUpdate, digest: image.imageDigest, securityVersion: update.securityVersion)
        let ticks = trialMilliseconds > UInt64.max / UInt64(system.timebaseFrequency) ? UInt64.max / 2
            : trialMilliseconds &* UInt64(system.timebaseFrequency) / 1000
        let replaced = PartitionControl.replace(p, fromHart: hart) {
            switchImage(p, to: image)
            updateLock.withLock { updateTable.beginTrial(p, trial) }
            trialStore[p] = which
            trialImage[p] = image
            trialDeadline[p] = HartCSR.time &+ max(ticks, 1)
            log { out in
                out.write("update: partition "); plan[p].name.withBytes { out.write(bytes: $0) }
                out.write(": version "); out.write(decimal: update.securityVersion)
                out.write(" on trial (deadline "); out.write(decimal: trialMilliseconds); out.write(" ms)")
            }
        }
        guard replaced else { throw .busy }
    }

    /// update_apply, before the target stops: writes the stored update to an image slot that
    /// neither the record in force nor another partition's trial names. The record is not changed:
    /// until update_commit the slot means nothing.
    static func writeToFlash(_ p: Int, _ bytes: UnsafeRawBufferPointer, version: UInt64, _ layout: FlashLayout) throws(BulkheadReason)
        -> StoredUpdate {
        let area = layout.updateArea
        guard flashWriter.tryLock() else { throw .busy }
        defer { flashWriter.unlock() }
        var flash = CFIFlash(layout: layout)
        var reserved: UInt64 = 0
        var q = 0
        while q < plan.count {
            if q != p && trialDeadline[q] != 0 && trialFlash[q].slot >= 0 { reserved |= 1 << UInt64(trialFlash[q].slot) }
            q += 1
        }
        do throws(UpdateAreaError) {
            let reading = try area.read(from: flash)
            guard let slot = area.freeSlot(in: reading.record, reserved: reserved) else { throw .slotUnavailable(-1) }
            log { out in
                out.write("update: partition "); plan[p].name.withBytes { out.write(bytes: $0) }
                out.write(": writing version "); out.write(decimal: version); out.write(" to update image slot "); out.write(decimal: slot)
            }
            try area.writeImage(slot: slot, bytes: bytes, after: reading, to: &flash)
            return StoredUpdate(slot: slot, length: UInt32(bytes.count), digest: SHA512.hash(bytes))
        } catch {
            logFlashFailure(p, error)
            throw .storageFailed
        }
    }

    /// update_commit's flash step: the record names `p`'s trial slot at `version`, its new floor.
    static func recordCommit(_ p: Int, version: UInt64) throws(BulkheadReason) {
        guard let layout = currentBoard.bundleFlash, layout.updateArea.isPresent else { return }
        let area = layout.updateArea
        let stored = trialFlash[p]
        guard stored.slot >= 0 else { throw .storageFailed }
        guard flashWriter.tryLock() else { throw .busy }
        defer { flashWriter.unlock() }
        var flash = CFIFlash(layout: layout)
        do throws(UpdateAreaError) {
            let reading = try area.read(from: flash)
            var record = reading.record(for: system.bundleMeasurement) ?? UpdateRecord(sequence: 0, manifestDigest: system.bundleMeasurement)
            record.entries[p] = UpdateEntry(slot: UInt8(stored.slot), length: stored.length, securityVersion: version, digest: stored.digest)
            log { out in
                out.write("update: partition "); plan[p].name.withBytes { out.write(bytes: $0) }
                out.write(": recording the commit of version "); out.write(decimal: version)
            }
            try area.commit(record, after: reading, to: &flash)
        } catch {
            logFlashFailure(p, error)
            throw .storageFailed
        }
    }

    static func logFlashFailure(_ p: Int, _ error: UpdateAreaError) {
        log { out in
            out.write("update: partition "); plan[p].name.withBytes { out.write(bytes: $0) }
            out.write(": the update area could not be written (")
            switch error {
            case .noArea: out.write("no area")
            case .readFailed(let at): out.write("read failed at "); out.write(hex: UInt64(at))
            case .eraseFailed(let at): out.write("erase failed at "); out.write(hex: UInt64(at))
            case .programFailed(let at): out.write("program failed at "); out.write(hex: UInt64(at))
            case .verifyFailed(let at): out.write("read-back differs at "); out.write(hex: UInt64(at))
            case .slotUnavailable: out.write("every image slot is in use")
            case .tooLarge(let n): out.write(decimal: UInt64(n)); out.write(" bytes do not fit a slot")
            case .floorDecrease: out.write("it would lower the floor")
            }
            out.write("); nothing changed")
        }
    }

    /// update_commit's recorded step: the trial image of `p` becomes its committed image.
    static func commit(_ p: Int) {
        trialDeadline[p] = 0
        committedStore[p] = trialStore[p]
        committedImage[p] = trialImage[p]
    }

    /// The trial of `p` failed for `why`: when it was on trial (and not committing), it goes back to
    /// its committed image (the caller holds its busy lock and has stopped it) and true is returned.
    static func rollBackIfOnTrial(_ p: Int, _ why: BulkheadReason) -> Bool {
        let rolled = updateLock.withLock { updateTable.rollBack(p, why) }
        guard rolled else { return false }
        trialDeadline[p] = 0
        switchImage(p, to: committedImage[p])
        let version = updateLock.withLock { updateTable.running[p].securityVersion }
        log { out in
            out.write("update: partition "); plan[p].name.withBytes { out.write(bytes: $0) }
            out.write(": trial failed (")
            switch why {
            case .trialFaulted: out.write("faulted")
            case .trialDeadline: out.write("missed its deadline")
            default: out.write("reset")
            }
            out.write("); back to version "); out.write(decimal: version)
        }
        return true
    }

    /// Whether partition `p` runs a trial whose deadline has passed.
    @inline(__always) static func trialExpired(_ p: Int) -> Bool {
        let deadline = trialDeadline[p & (Limits.partitions - 1)]
        return deadline != 0 && HartCSR.time >= deadline
    }

    /// From another partition's hart (update_status): a target whose trial expired is stopped and
    /// restarted on its committed image.
    static func enforceDeadline(_ p: Int, fromHart hart: Int) {
        guard p < plan.count, trialExpired(p) else { return }
        // A commit may start between this check and the stop: the partition then restarts on its
        // newly committed image (rollBackIfOnTrial refuses a committing trial).
        _ = PartitionControl.replace(p, fromHart: hart) { _ = rollBackIfOnTrial(p, .trialDeadline) }
    }
}

/// Per partition: which store holds the update on trial, and what it boots (committedImage at commit).
nonisolated(unsafe) var trialStore = PerPartition<Int>(repeating: 0)
nonisolated(unsafe) var trialImage = PerPartition<PartitionImage>(repeating: PartitionImage())

/// An update written to an image slot of the flash update area (slot -1: none).
struct StoredUpdate {
    var slot = -1
    var length: UInt32 = 0
    var digest = SHA512Digest(bytes: InlineArray(repeating: 0))
}
/// Per partition: the slot its trial update was written to.
nonisolated(unsafe) var trialFlash = PerPartition<StoredUpdate>(repeating: StoredUpdate())

var updateLock: SpinLock { SpinLock(word: SharedWords.lock(5), rank: .update) }
