// Device interrupts: the hypervisor claims them on the physical PLIC and delivers them through each owner's virtual PLIC.
//
// Physical side: each hart's supervisor context of the board's PLIC (HostPLIC) takes the sources
// of the devices the partition on that hart owns; threshold 0. A guest's writes of priority and
// enable bits are mirrored there (enable bit of vCPU v -> the context of the hart vCPU v runs on),
// so a source signals the hart whose vCPU wants it. Virtual side: the claimed source becomes
// pending in the owner's VirtualPLIC, and VSEIP (hvip) is raised on every vCPU that may now claim
// it (through the mailbox when that vCPU is on another hart). The guest's claim and complete trap
// to `emulatePLIC`; its complete completes the source on the physical PLIC, through the context
// that claimed it.
// Locks: each partition's virtual PLIC lock, and the physical enable lock (SpinLock.swift).
import BulkheadCore
import Synchronization

/// Per partition: its virtual PLIC (under its plic_lock).
nonisolated(unsafe) var virtualPLICs = PerPartition<VirtualPLIC>(repeating: VirtualPLIC(owned: PLICSourceSet(), contextCount: 0))
/// Per source: the partition that owns it (-1: none), and the physical context that last claimed it.
struct SourceEntry { var owner: Int8 = -1; var claimContext: Int16 = 0 }
nonisolated(unsafe) var sources = InlineArray<256, SourceEntry>(repeating: SourceEntry())

/// Source `source`'s entry, in place (a subscript may copy the whole table on the trap path).
@inline(__always) func sourceTable(_ source: Int) -> UnsafeMutablePointer<SourceEntry> {
    withUnsafeMutablePointer(to: &sources) {
        UnsafeMutableRawPointer($0).assumingMemoryBound(to: SourceEntry.self).advanced(by: source & 255)
    }
}

/// Reads the PLIC from the device tree and prepares both sides. Halts when a partition owns a
/// device with interrupts and the board has no usable PLIC.
func setUpInterrupts(dtb: UnsafeRawBufferPointer) {
    var anySource = false
    var p = 0
    while p < plan.count {
        let owned = plan.devices.sources(ownedBy: p)
        virtualPLICs[p] = VirtualPLIC(owned: owned, contextCount: plan[p].harts.count)
        var s = 1
        while s < VirtualPLIC.maxSources {
            if owned.contains(s) { sourceTable(s).pointee.owner = Int8(truncatingIfNeeded: p); anySource = true }
            s += 1
        }
        p += 1
    }
    guard anySource else { return }
    var found: HostPLIC? = nil
    do { found = try HostPLIC(reader: FDTReader(dtb)) } catch {
        halt { out in out.write("error: cannot read the PLIC from the device tree: "); error.write(to: &out) }
    }
    guard let board = found else { halt { out in out.write("error: partitions own device interrupts, but the board has no PLIC") } }
    configureSystem { $0.hostPLIC = board }
    let plic = PLIC(base: board.region.base.raw)
    configureSystem { $0.physicalPLIC = plic }
    // Every owned source starts masked (priority 0, enabled nowhere); each hart opens its own
    // context when it starts (openContext). Every hart of a partition with interrupts needs one.
    var h = 0
    while h < maxHarts {
        if board.context(ofHart: h) == nil && system.hartPartition[h] >= 0 && !plan.devices.sources(ownedBy: system.hartPartition[h]).isEmpty {
            halt { out in out.write("error: hart "); out.write(decimal: UInt64(h)); out.write(" has no supervisor PLIC context") }
        }
        h += 1
    }
    var s = 1
    while s < VirtualPLIC.maxSources {
        if sourceTable(s).pointee.owner >= 0 { plic.setPriority(source: s, 0) }
        s += 1
    }
    log { out in
        out.write("interrupts: PLIC at "); out.write(hex: board.region.base.raw); out.write(", ")
        out.write(decimal: UInt64(board.sourceCount)); out.write(" sources; a virtual PLIC per partition with devices")
    }
}

/// Sets `source`'s enable bit on `context` under `physicalEnableLock`.
private func setPhysicalEnable(_ plic: PLIC, source: Int, context: Int, _ on: Bool) {
    physicalEnableLock.withLock { plic.setEnabled(source: source, context: context, on) }
}

/// Opens this hart's supervisor context: threshold 0 (every source a guest enables here may
/// interrupt), owned sources disabled. Runs on the hart itself when it starts: the firmware
/// resets a hart's contexts when it starts it (OpenSBI 1.1 sets the S-mode threshold to 7 and
/// clears the enables on every hart start), after the boot hart has set up the PLIC.
func openContext(hart: Int) {
    guard let plic = system.physicalPLIC, let context = system.hostPLIC.context(ofHart: hart) else { return }
    var s = 1
    while s < VirtualPLIC.maxSources {
        if sourceTable(s).pointee.owner >= 0 { setPhysicalEnable(plic, source: s, context: context, false) }
        s += 1
    }
    plic.setThreshold(context: context, 0)
}

/// Whether partition `p` has a virtual PLIC (it owns device interrupts).
func ownsVirtualPLIC(_ p: Int) -> Bool {
    system.physicalPLIC != nil && !partitionElement(&virtualPLICs, p).pointee.owned.isEmpty
}

/// Whether harts take supervisor external interrupts (some partition owns a device interrupt).
var externalInterruptsUsed: Bool { system.physicalPLIC != nil }

/// Partition `p`'s virtual PLIC, in place, with its lock held for `body`.
@inline(__always) private func withVirtualPLIC<R>(_ p: Int, _ body: (inout VirtualPLIC) -> R) -> R {
    let lock = SpinLock(word: SharedWords.partitionPLICLock(p), rank: .virtualPLIC)
    return lock.withLock { body(&partitionElement(&virtualPLICs, p).pointee) }
}

/// A supervisor external interrupt on `hart`: claims every pending source of its context and
/// hands each to its owner's virtual PLIC. The trap path: O(1) per source, nothing copied.
func handleExternalInterrupt(hart: Int) {
    guard let plic = system.physicalPLIC, let context = system.hostPLIC.context(ofHart: hart) else { return }
    while true {
        let source = plic.claim(context: context)
        guard source > 0 else { return }
        let owner = source < VirtualPLIC.maxSources ? Int(sourceTable(source).pointee.owner) : -1
        guard owner >= 0 else {
            // Nobody owns it (it was never enabled by us): mask it and complete it.
            setPhysicalEnable(plic, source: source, context: context, false)
            plic.complete(context: context, source: source)
            continue
        }
        sourceTable(source).pointee.claimContext = Int16(truncatingIfNeeded: context)
        let taking = withVirtualPLIC(owner) { vplic -> UInt8 in
            _ = vplic.raise(source: source)
            return vplic.contextsTaking(source: source)
        }
        signalVCPUs(owner, taking, from: hart)
    }
}

/// Raises VSEIP on each vCPU of partition `p` in `mask` (bit v = vCPU v): directly on this hart,
/// through the mailbox (which recomputes it there) on others.
private func signalVCPUs(_ p: Int, _ mask: UInt8, from hart: Int) {
    guard mask != 0 else { return }
    let local = system.hartPartition[hart] == p ? system.hartVCPU[hart] : -1
    if local >= 0 && mask & (1 << UInt8(local & 7)) != 0 { HartCSR.raiseVirtual(.vsei) }
    let others = local >= 0 ? mask & ~(1 << UInt8(local & 7)) : mask
    guard others != 0 else { return }
    let harts = partitionElement(&plan.partitions, p).pointee.harts
    var v = 0
    while v < harts.count && v < PlanLimits.maxHartsPerPartition {
        if others & (1 << UInt8(v)) != 0 { Mailbox(hart: Int(harts[v])).post(Request.vseip) }
        v += 1
    }
}

/// Sets or clears this hart's VSEIP from its vCPU's context in its partition's virtual PLIC.
func refreshVSEIP(hart: Int) {
    guard system.hartPartition[hart] >= 0, system.physicalPLIC != nil else { return }
    if vseipWanted(hart: hart) {
        HartCSR.raiseVirtual(.vsei)
    } else {
        HartCSR.lowerVirtual(.vsei)
    }
}

/// Whether this hart's vCPU has an interrupt to claim in its partition's virtual PLIC.
func vseipWanted(hart: Int) -> Bool {
    let p = system.hartPartition[hart]
    guard p >= 0, system.physicalPLIC != nil else { return false }
    let vcpu = system.hartVCPU[hart]
    return withVirtualPLIC(p, { $0.wantsInterrupt(context: vcpu) })
}

/// A guest load (`store == false`, returns the value) or store of `value` at `offset` in its
/// virtual PLIC. Mirrors priority and enable changes to the physical PLIC and completes
/// completed sources there; then updates VSEIP of this vCPU and raises it where now wanted.
func emulatePLIC(hart: Int, offset: UInt64, store: Bool, value: UInt32) -> UInt32 {
    let p = system.hartPartition[hart]
    // Claim and complete (the per-interrupt path) change only what this vCPU may claim; other
    // registers (set-up) may make any vCPU want an interrupt.
    var claimOrComplete = false
    if case .claimComplete = PLICRegister.decode(offset: offset) { claimOrComplete = true }
    var effect = PLICWriteEffect.none
    var loaded: UInt32 = 0
    let wanting = withVirtualPLIC(p) { vplic -> UInt8 in
        if store { effect = vplic.write(offset: offset, value: value) } else { loaded = vplic.read(offset: offset) }
        return claimOrComplete ? 0 : vplic.contextsWanting()
    }
    if let plic = system.physicalPLIC { mirror(effect, partition: p, plic) }
    refreshVSEIP(hart: hart)
    signalVCPUs(p, wanting & ~(1 << UInt8(system.hartVCPU[hart] & 7)), from: hart)   // this vCPU: just refreshed
    return loaded
}

private func mirror(_ effect: PLICWriteEffect, partition p: Int, _ plic: PLIC) {
    switch effect {
    case .none: break
    case .complete(let source):
        plic.complete(context: Int(sourceTable(source).pointee.claimContext), source: source)
    case .priority(let source, let value):
        plic.setPriority(source: source, value)
    case .enableWord(let vcpu, let word, let bits):
        let spec = plan[p]
        guard vcpu < spec.harts.count, let context = system.hostPLIC.context(ofHart: Int(spec.harts[vcpu])) else { return }
        let owned = partitionElement(&virtualPLICs, p).pointee.owned.word32(word)   // `owned` never changes
        var bit = 0
        while bit < 32 {
            if owned & (1 << UInt32(bit)) != 0 {
                setPhysicalEnable(plic, source: word &* 32 &+ bit, context: context, bits & (1 << UInt32(bit)) != 0)
            }
            bit += 1
        }
    }
}

/// Partition `p` stops or restarts: its virtual PLIC is reset, every source it had claimed
/// physically is completed, and its sources are masked again until the guest sets them up.
func resetInterrupts(partition p: Int) {
    guard let plic = system.physicalPLIC else { return }
    let stale = withVirtualPLIC(p) { $0.reset() }
    var s = 1
    while s < VirtualPLIC.maxSources {
        if Int(sourceTable(s).pointee.owner) == p {
            plic.setPriority(source: s, 0)
            var h = 0
            while h < maxHarts {
                if let context = system.hostPLIC.context(ofHart: h) { setPhysicalEnable(plic, source: s, context: context, false) }
                h += 1
            }
            if stale.contains(s) { plic.complete(context: Int(sourceTable(s).pointee.claimContext), source: s) }
        }
        s += 1
    }
}
