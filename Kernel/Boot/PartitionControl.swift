// Starting, parking, stopping and restarting partitions; every hart's idle loop lives here.
// Locks: partition_shared.busy (SpinLock.swift, rank partitionBusy): a hart holding it waits only
// for harts of its own partition, which never wait for it.
import BulkheadCore

enum PartitionControl {
    /// Copies the pristine image (at its load offset) and initrd into the partition's RAM, clears
    /// the rest and writes its device tree. Plan validation keeps image < initrd < device tree.
    /// False when the device tree does not build (the partition must not start then).
    @discardableResult static func load(_ p: Int) -> Bool {
        let spec = plan[p]
        let ram = hostPointer(spec.memory.base.raw)
        let image = UnsafeRawPointer(hostPointer(partitionState(p).pointee.image.base.raw))
        let imageStart = Int(spec.imageLoadOffset)
        let imageEnd = imageStart + Int(spec.imageSize)
        let treeOffset = Int(spec.memory.size - PlanLimits.deviceTreeReserve)
        let initrdStart = spec.initrdSize > 0 ? Int(spec.initrdOffset) : treeOffset
        // Every byte written once: zeros, the image, zeros, the initrd, zeros (on all harts at boot).
        BootWorkers.zero(ram, count: imageStart)
        BootWorkers.copy(ram + imageStart, from: image, count: Int(spec.imageSize))
        BootWorkers.zero(ram + imageEnd, count: initrdStart - imageEnd)
        if spec.initrdSize > 0, let initrd = UnsafeRawPointer(bitPattern: UInt(partitionState(p).pointee.initrd.base.raw)) {
            BootWorkers.copy(ram + initrdStart, from: initrd, count: Int(spec.initrdSize))
        }
        let initrdEnd = initrdStart + Int(spec.initrdSize)
        BootWorkers.zero(ram + initrdEnd, count: Int(spec.memory.size) - initrdEnd)
        let tree = UnsafeMutableRawBufferPointer(start: ram + treeOffset, count: Int(PlanLimits.deviceTreeReserve))
        let bootCount = SharedWords.partitionBootCount(p).load()
        let built = system.guestISA.withBytes { isa in
            system.guestMMUType.withBytes { mmu in
                try? GuestDeviceTree.build(into: tree, spec: spec, isa: isa, mmuType: mmu,
                                           timebaseFrequency: system.timebaseFrequency, bootCount: bootCount,
                                           sharedWindows: SharedWindows(plan: plan, partition: p),
                                           devices: plan.devices, partition: p)
            }
        }
        guard built != nil else { return false }
        resetVirtualUART(partition: p)
        return true
    }

    /// Runs on every hart once the plan is in place. Never returns.
    static func hartMain(_ hart: Int) -> Never {
        HartControl.configureHypervisor(sstc: system.sstcAvailable, externalInterrupts: externalInterruptsUsed)
        selectRunTable()                       // from now on no partition's RAM is mapped here
        openContext(hart: hart)
        let p = system.hartPartition[hart]
        guard p >= 0 else {
            while true { Instructions.waitForInterrupt() }      // no partition owns this hart
        }
        if system.hartVCPU[hart] == 0 { enterFresh(hart: hart, pc: plan[p].entry.raw, a1: plan[p].deviceTreeAddress.raw) }
        park(hart)
    }

    /// Starts this hart's vCPU at `pc` with a clean VS state; an interrupt its virtual PLIC
    /// context still has pending (a vCPU stopped and started again through SBI HSM keeps its
    /// partition's PLIC state) stays pending.
    static func enterFresh(hart: Int, pc: UInt64, a1: UInt64) -> Never {
        Mailbox(hart: hart).state = .started
        HartControl.enter(frame: TrapFrame.of(hart: hart), hgatp: system.partitionHgatp[system.hartPartition[hart]], pc: pc,
                          a0: UInt64(system.hartVCPU[hart]), a1: a1, firstEntry: true,
                          pendingInterrupts: vseipWanted(hart: hart) ? InterruptSet.vsei.raw : 0)
    }

    /// The vCPU is stopped: wait for a start request, serving fences meanwhile. Never returns.
    static func park(_ hart: Int) -> Never {
        let box = Mailbox(hart: hart)
        // A start posted before this hart first parked (at boot) keeps its start-pending state.
        if box.pending & Request.start == 0 { box.state = .stopped }
        let p = system.hartPartition[hart]
        while true {
            HartCSR.clearPending(.ssi)
            box.serviceFences()
            let pending = box.pending
            if pending & Request.park != 0 {
                box.clear(Request.park | Request.start | Request.reload | Request.vssip | Request.vseip)
                box.state = .stopped
                continue
            }
            if pending & Request.start != 0 {
                box.clear(Request.start | Request.vssip)
                let mustLoad = pending & Request.reload != 0
                box.clear(Request.reload)
                if isBusy(p) {
                    box.state = .stopped       // a stop or restart is under way: the start is void
                    continue
                }
                if mustLoad {                  // replaced from another partition's hart: load it here
                    guard reload(p) else {
                        SharedWords.partitionStopped(p).store(1)
                        logPartition(p, "stopped")
                        box.state = .stopped
                        continue
                    }
                    SharedWords.partitionStopped(p).store(0)
                }
                enterFresh(hart: hart, pc: box.startPC, a1: box.startOpaque)
            }
            if pending & (Request.vssip | Request.vseip) != 0 { box.clear(Request.vssip | Request.vseip) }
            Instructions.waitForInterrupt()
        }
    }

    /// Stops the whole partition of `hart` (restarting it if asked). Never returns to the guest.
    /// A partition on trial (a partition update not committed yet) goes back to its committed
    /// image instead, and restarts there whatever was asked; `trial` says why its trial failed.
    static func stop(fromHart hart: Int, restart: Bool, trial: BulkheadReason) -> Never {
        let p = system.hartPartition[hart]
        let me = Mailbox(hart: hart)
        let busy = SpinLock(word: SharedWords.partitionBusy(p), rank: .partitionBusy)
        guard busy.tryLock() else { park(hart) }   // another hart is at it
        me.state = .stopPending
        parkAll(p, from: me)
        let spec = plan[p]
        var again = restart
        if PartitionUpdates.rollBackIfOnTrial(p, trial) { again = true }
        else if restart {
            let count = SharedWords.partitionBootCount(p).add(1) &+ 1
            if count > maxRestarts {
                again = false
                log { out in
                    out.write("partition "); spec.name.withBytes { out.write(bytes: $0) }
                    out.write(" restarted "); out.write(decimal: UInt64(maxRestarts)); out.write(" times; stopping it")
                }
            }
        }
        again = again && reload(p)
        if again {
            checkStackCanaries(hart: hart)      // a reload is a hart stack's deepest path
            log { out in
                out.write("partition "); spec.name.withBytes { out.write(bytes: $0) }
                out.write(" restarting (boot "); out.write(decimal: UInt64(SharedWords.partitionBootCount(p).load()))
                out.write(")")
            }
        } else {
            SharedWords.partitionStopped(p).store(1)
            logPartition(p, "stopped")
        }
        busy.unlock()
        if again {
            if Int(spec.harts[0]) == hart { enterFresh(hart: hart, pc: plan[p].entry.raw, a1: spec.deviceTreeAddress.raw) }
            startFirstHart(p)
        }
        park(hart)
    }

    /// From a hart of another partition (a partition update): stops partition `p`, lets `change`
    /// act on it while it is stopped (switch its image), and has its first hart reload and start
    /// it (only a hart of `p` may map `p`'s RAM). False, with nothing done, when a hart
    /// of `p` is already stopping or restarting it.
    static func replace(_ p: Int, fromHart hart: Int, _ change: () -> Void) -> Bool {
        let busy = SpinLock(word: SharedWords.partitionBusy(p), rank: .partitionBusy)
        guard busy.tryLock() else { return false }
        parkAll(p, from: Mailbox(hart: hart))
        change()
        busy.unlock()
        let box = Mailbox(hart: Int(plan[p].harts[0]))
        box.state = .startPending
        box.request.or(Request.reload)
        box.requestStart(at: plan[p].entry.raw, opaque: plan[p].deviceTreeAddress.raw)
        return true
    }

    /// Asks every hart of `p` but `me`'s to park and waits until each has taken the request and is
    /// stopped (serving `me`'s own fences meanwhile), then flushes the partition's console and
    /// resets its interrupts. A hart that was already stopped must still take the request: left
    /// pending, it would clear a start posted after the restart along with itself.
    private static func parkAll(_ p: Int, from me: Mailbox) {
        let spec = plan[p]
        var v = 0
        while v < spec.harts.count {
            let other = Int(spec.harts[v])
            if other != me.hart { Mailbox(hart: other).post(Request.park) }
            v += 1
        }
        v = 0
        while v < spec.harts.count {
            let other = Mailbox(hart: Int(spec.harts[v]))
            if other.hart != me.hart {
                while other.state != .stopped || other.pending & Request.park != 0 { me.serviceFences() }
            }
            v += 1
        }
        guestConsoleFlush(partition: p)
        resetInterrupts(partition: p)
    }

    /// Loads `p` again, on a hart of `p` (its load table maps its RAM meanwhile); a partition
    /// whose device tree no longer builds stops with the reason.
    static func reload(_ p: Int) -> Bool {
        if withPartitionRAM(p, { load(p) }) { return true }
        log { out in
            out.write("partition "); plan[p].name.withBytes { out.write(bytes: $0) }
            out.write(": its device tree does not build again; stopping it instead of restarting")
        }
        return false
    }

    /// Sends the start request to the first hart of `p` (its vCPU 0) at its entry point.
    private static func startFirstHart(_ p: Int) {
        let box = Mailbox(hart: Int(plan[p].harts[0]))
        box.state = .startPending
        box.requestStart(at: plan[p].entry.raw, opaque: plan[p].deviceTreeAddress.raw)
    }
}

/// Whether a hart is stopping or restarting partition `p` (starts are void meanwhile).
func isBusy(_ p: Int) -> Bool { AtomicWord32(pointer: SharedWords.partitionBusy(p)).load() != 0 }

/// The single fatal path: a broken kernel invariant. Reports and shuts the machine down.
func fatal(_ why: StaticString) -> Never {
    logFatal { out in out.write(why) }
    powerOffAfterFailure()
}


/// Stops the machine after a failure (nothing will run, or the hypervisor broke an invariant):
/// through the test device with exit code 1 when there is one, else SBI SRST (system failure).
func powerOffAfterFailure() -> Never {
    system.testDevice?.fail(code: 1)
    Firmware.shutdown(failure: true)
}

/// The hypervisor's pointer to host-physical `address` (its page table maps RAM to itself). Every caller
/// passes a validated partition, staging or pool address, never 0: 0 is a broken invariant.
func hostPointer(_ address: UInt64) -> UnsafeMutableRawPointer {
    guard let pointer = UnsafeMutableRawPointer(bitPattern: UInt(address)) else { fatal("a null host address") }
    return pointer
}
