// The SBI environment of one vCPU: how Core's SBI and IPC services reach the console, timers, other harts and rings.
// Locks: the ring, DRBG, keystore and keystore-writer locks (SpinLock.swift).
import BulkheadCore
import Synchronization

struct VCPUEnvironment: SBIEnvironment {
    let hart: Int
    let partition: Int
    let vcpu: Int
    var vcpuCount: Int { plan[partition].harts.count }
    var memory: GuestMemory { plan[partition].guestMemory }
    var machineIDs: (vendor: UInt64, arch: UInt64, implementation: UInt64) { system.firmwareMachineIDs }

    @inline(__always) init(hart: Int) {
        self.hart = hart
        partition = system.hartPartition[hart]
        vcpu = system.hartVCPU[hart]
    }

    func hartOf(_ v: Int) -> Int { Int(plan[partition].harts[v]) }

    mutating func consoleWrite(byte: UInt8) { guestConsolePut(partition: partition, byte) }

    mutating func consoleWrite(_ buffer: GuestBuffer) {
        buffer.forEachChunk { guestConsolePut(partition: partition, $0) }
    }

    mutating func consoleRead() -> UInt8? { withConsoleLock { takeConsoleInput(partition) } }

    mutating func setTimer(_ deadline: UInt64) {
        // A partition on trial that missed its deadline goes back to its committed image here
        // (its timer is how a running guest is sure to trap now and then).
        if PartitionUpdates.trialExpired(partition) { PartitionControl.stop(fromHart: hart, restart: true, trial: .trialDeadline) }
        if system.sstcAvailable {
            HartCSR.setGuestTimer(deadline)
        } else {
            HartCSR.lowerVirtual(.vsti)
            Firmware.setTimer(deadline)
        }
    }

    mutating func sendIPI(vcpus: UInt64) {
        forEach(vcpus) { v in
            if v == vcpu { HartCSR.raiseVirtual(.vssi) }
            else { Mailbox(hart: hartOf(v)).post(Request.vssip) }
        }
    }

    mutating func remoteFence(vcpus: UInt64, kind: FenceKind) {
        let bit = kind == .instruction ? Request.fenceI : Request.fenceVVMA
        let me = Mailbox(hart: hart)
        forEach(vcpus) { v in
            if v == vcpu {
                // HFENCE.VVMA acts on the current VMID (this partition's hgatp) only.
                switch kind {
                case .instruction: Instructions.fenceI()
                case .virtualMemory: Instructions.hfenceVVMA()
                case .virtualMemoryASID(let asid): Instructions.hfenceVVMA(asid: asid)
                }
                return
            }
            // Other harts flush their whole VMID (a superset of any ASID-scoped request).
            let target = Mailbox(hart: hartOf(v))
            target.post(bit)
            // Wait for the target to perform it; serve our own fences meanwhile so two harts
            // fencing each other cannot deadlock.
            while target.pending & bit != 0 { me.serviceFences() }
        }
    }

    func hsmState(of v: Int) -> HSMState { Mailbox(hart: hartOf(v)).state }

    mutating func startVCPU(_ v: Int, at pc: UInt64, opaque: UInt64) -> Bool {
        let target = Mailbox(hart: hartOf(v))
        guard !isBusy(partition), target.compareAndSetState(.stopped, .startPending) else { return false }
        target.requestStart(at: pc, opaque: opaque)
        return true
    }

    // MARK: IPC (docs/hypercalls.md)

    var channelCount: Int { plan.channelCount }
    func channel(_ id: Int) -> ChannelSpec { plan.channel(id) }
    /// Read in place: only the route's fields are loaded.
    @inline(__always) func route(_ id: Int) -> ChannelRoute {
        withUnsafePointer(to: &plan.channels) { all in
            UnsafeRawPointer(all).advanced(by: (id & (ChannelLimits.maxChannels - 1)) * MemoryLayout<ChannelSpec>.stride)
                .assumingMemoryBound(to: ChannelSpec.self).pointee.route
        }
    }
    var partitionName: PartitionName { plan[partition].name }
    func sharedWindow(_ id: Int) -> GuestPhysAddr { system.channelLayout.sharedWindow(id) }

    mutating func withRing<R>(channel id: Int, toEndpoint endpoint: Int, _ body: (MessageRing) -> R) -> R {
        let ch = route(id)
        let offset = system.channelLayout.ringOffset(id, toEndpoint: endpoint, channel: ch)
        let base = hostPointer(KernelStorage.ipcQueues.base.raw &+ offset)
        let lock = SpinLock(word: SharedWords.ringLock(2 &* id &+ endpoint), rank: .ring)
        return lock.withLock { body(MessageRing(base: base, depth: ch.depth, messageSize: ch.messageSize)) }
    }

    mutating func ringDoorbell(channel id: Int, partition p: Int) {
        SharedWords.doorbells(p).or(1 << UInt64(id & 63))
        // The peer's vCPU 0 runs on a hart of its own (partitions never share harts): an IPI there.
        Mailbox(hart: Int(plan[p].harts[0])).post(Request.vssip)
    }

    mutating func takeDoorbells() -> UInt64 { SharedWords.doorbells(partition).exchange(0) }

    // MARK: Keys (docs/keys.md)

    var keyPolicy: KeyPolicy { plan[partition].keyPolicy }
    var securityVersion: UInt64 { system.bundleSecurityVersion }

    func withPartitionKeys<R>(_ body: (PartitionKeys) -> R) -> R? {
        guard system.keysAvailable else { return nil }
        return body(partitionState(partition).pointee.keys)
    }

    mutating func randomBytes(_ output: UnsafeMutableRawBufferPointer) -> Bool {
        guard system.keysAvailable else { return false }
        return drbgLock.withLock { drbg.fill(output) }
    }

    mutating func attestationReport(nonce: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        guard var key = system.attestationKey else { return nil }
        defer { key.wipe() }                       // the stack copy of the private key
        let name = plan[partition].name
        return withPartitionKeys { keys in
            AttestationReport.write(into: output, securityVersion: system.bundleSecurityVersion, identity: system.hypervisorIdentity,
                                    name: name, keys: keys, nonce: nonce, deviceKey: key)
        }
    }

    mutating func systemReport(nonce: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        writeSystemReport(caller: partition, nonce: nonce, into: output)
    }

    mutating func readKeystore<R>(_ body: (borrowing PartitionKeystore) throws(BulkheadReason) -> R) throws(BulkheadReason) -> R {
        let state = partitionState(partition)
        return try withKeystoreLock { () throws(BulkheadReason) -> R in try body(state.pointee.keystore) }
    }

    /// One writer at a time (`flashWriter`, taken with a try: a second writer gets `busy`
    /// instead of spinning through a flash erase). The keystore lock, which every key call takes,
    /// is held only to copy the partition's keystore out and to publish the new one: never across
    /// the change's own work or the flash erase and program. The record buffers and the current
    /// copy belong to the writer.
    mutating func updateKeystore(_ change: (inout PartitionKeystore) throws(BulkheadReason) -> UInt64) throws(BulkheadReason) -> UInt64 {
        guard let layout = currentBoard.bundleFlash else { throw .storageFailed }
        let region = layout.keystoreRegion
        guard region.copyA.size > 0, region.copyB.size > 0 else { throw .storageFailed }
        var nonce = InlineArray<12, UInt8>(repeating: 0)
        guard withUnsafeMutableBytes(of: &nonce, { randomBytes($0) }), var key = withPartitionKeys({ $0.keystoreKey }) else {
            throw .noDeviceSecret
        }
        defer { withUnsafeMutableBytes(of: &key) { secureZero($0) } }
        guard flashWriter.tryLock() else { throw .busy }
        defer { flashWriter.unlock() }
        let name = plan[partition].name
        let state = partitionState(partition)
        var working = withKeystoreLock { state.pointee.keystore }
        defer { working.wipe() }
        var flash = CFIFlash(layout: layout)
        let result = try withUnsafeBytes(of: &key) { (k) throws(BulkheadReason) -> UInt64 in
            try withUnsafeBytes(of: &nonce) { (n) throws(BulkheadReason) -> UInt64 in
                try region.update(&working, name: name, key: k, nonce: n, record: keystoreBuffer(0),
                                  scratch: keystoreBuffer(1), current: &keystoreCurrentCopy, flash: &flash, change)
            }
        }
        withKeystoreLock {
            state.pointee.keystore = working
            state.pointee.signingKeyCache.keystoreChanged()
        }
        return result
    }

    mutating func keystoreStamp() -> UInt64 {
        let state = partitionState(partition)
        return withKeystoreLock { state.pointee.signingKeyCache.stamp }
    }

    mutating func cachedSigningKey(_ handle: UInt64) -> Ed25519PrivateKey? {
        let state = partitionState(partition)
        return withKeystoreLock { state.pointee.signingKeyCache.handle == handle ? state.pointee.signingKeyCache.key : nil }
    }

    mutating func cacheSigningKey(_ handle: UInt64, _ key: Ed25519PrivateKey, ifUnchangedSince stamp: UInt64) {
        let state = partitionState(partition)
        withKeystoreLock {
            guard state.pointee.signingKeyCache.stamp == stamp else { return }
            state.pointee.signingKeyCache.key?.wipe()
            state.pointee.signingKeyCache.handle = handle
            state.pointee.signingKeyCache.key = key
        }
    }

    // MARK: Partition updates (docs/hypercalls.md)

    var updateTargets: UInt8 { plan[partition].updateTargets }
    var planPartitionCount: Int { plan.count }

    mutating func withUpdateTable<R>(_ body: (inout UpdateTable) -> R) -> R? {
        guard system.updateStagingRegion != nil else { return nil }
        return updateLock.withLock { body(&updateTable) }
    }

    var updateStaging: UnsafeMutableRawBufferPointer? {
        guard let region = system.updateStagingRegion else { return nil }
        return UnsafeMutableRawBufferPointer(start: hostPointer(region.base.raw), count: Int(region.size))
    }

    func verifyUpdate(_ update: PartitionUpdateReader, floor: UInt64) throws(PartitionUpdateError) {
        try PartitionUpdates.verify(update, floor: floor)
    }

    mutating func installUpdate(_ update: PartitionUpdateReader, trialMilliseconds: UInt64) throws(BulkheadReason) {
        try PartitionUpdates.install(update, trialMilliseconds: trialMilliseconds, fromHart: hart)
    }

    mutating func recordCommit(_ p: Int) throws(BulkheadReason) {
        let version = updateLock.withLock { updateTable.trial[p].securityVersion }
        try PartitionUpdates.recordCommit(p, version: version)
        PartitionUpdates.commit(p)
        log { out in
            out.write("update: partition "); plan[p].name.withBytes { out.write(bytes: $0) }
            out.write(": version "); out.write(decimal: version); out.write(" committed")
        }
    }

    mutating func logRefusedUpdate(_ error: PartitionUpdateError, target: Int) {
        log { out in
            out.write("update: partition "); plan[target].name.withBytes { out.write(bytes: $0) }
            out.write(": refused: "); error.write(to: &out)
        }
    }

    mutating func enforceTrialDeadline(_ p: Int) { PartitionUpdates.enforceDeadline(p, fromHart: hart) }

    /// Runs `body` under `keystoreLock` (a leaf lock: nothing else is taken while holding it).
    private func withKeystoreLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        try keystoreLock.withLock(body)
    }

    private func forEach(_ mask: UInt64, _ body: (Int) -> Void) {
        var v = 0
        while v < vcpuCount {
            if mask & (1 << UInt64(v)) != 0 { body(v) }
            v += 1
        }
    }
}
