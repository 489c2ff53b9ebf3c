// The hypervisor's spin locks: one type, the lock order written once (here), checked in the test kernel.
//
// Lock order. A hart takes a lock only while every lock it holds has a lower rank (so two harts
// can never wait for each other); the rank is part of each lock's definition below:
//   1 partitionBusy   partition_shared.busy, a try-lock: one hart stops or restarts a partition
//                     (PartitionControl.stop, or .replace from an updater's hart); it waits only
//                     for that partition's harts to park, which never wait for it
//   2 flashWriter     a try-lock: one writer of the bundle flash at a time (a keystore change, a
//                     partition update's image or commit record), across its erase and program
//                     (a second writer gets `busy`: VCPUEnvironment.updateKeystore, PartitionUpdates)
//   3 update          the partition update table (PartitionUpdates.swift)
//   4 keystore        the keystores in RAM, the signing-key caches and the partitions' keys (PartitionState)
//   5 drbg            the DRBG
//   6 ring            one message ring (ring_lock)
//   7 virtualPLIC     one partition's virtual PLIC (partition_shared.plic_lock)
//   8 physicalEnable  read-modify-writes of the physical PLIC's enable words
//   9 console         the UART, every partition's virtual UART and console input
// The fatal path (logFatal) takes no lock at all. The test kernel (make kernel-faults, compiled
// with -D BULKHEAD_LOCK_CHECKS) keeps each hart's held ranks and stops the machine with a FATAL
// line when a lock is taken out of order or released without being held.
import BulkheadCore

enum LockRank: UInt32 {
    case partitionBusy = 1, flashWriter, update, keystore, drbg, ring, virtualPLIC, physicalEnable, console
}

/// A lock word (0 free, 1 held) and its rank.
struct SpinLock {
    let word: UnsafeMutablePointer<UInt32>
    let rank: LockRank

    @inline(__always) func lock() {
        LockOrder.willTake(rank)
        while !AtomicWord32(pointer: word).compareExchange(0, 1) {}
    }

    /// Takes the lock when it is free; false (and nothing held) otherwise.
    @inline(__always) func tryLock() -> Bool {
        LockOrder.willTake(rank)
        guard AtomicWord32(pointer: word).compareExchange(0, 1) else { LockOrder.released(rank); return false }
        return true
    }

    @inline(__always) func unlock() {
        LockOrder.released(rank)
        AtomicWord32(pointer: word).store(0)
    }

    @inline(__always) func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// The global locks (their words in entry.S's bh_locks); per-ring and per-partition locks are
/// made where their words are (VCPUEnvironment.withRing, Interrupts.withVirtualPLIC, PartitionControl).
var consoleLock: SpinLock { SpinLock(word: SharedWords.lock(0), rank: .console) }
var physicalEnableLock: SpinLock { SpinLock(word: SharedWords.lock(1), rank: .physicalEnable) }
var drbgLock: SpinLock { SpinLock(word: SharedWords.lock(2), rank: .drbg) }
var keystoreLock: SpinLock { SpinLock(word: SharedWords.lock(3), rank: .keystore) }
var flashWriter: SpinLock { SpinLock(word: SharedWords.lock(4), rank: .flashWriter) }

/// Each hart's held ranks (bit r = rank r held), checked in the test kernel only.
enum LockOrder {
    @inline(__always) static func willTake(_ rank: LockRank) {
        #if BULKHEAD_LOCK_CHECKS
        let held = heldRanks()
        if held.pointee >> rank.rawValue != 0 {
            logFatal { out in
                out.write("lock order: taking rank "); out.write(decimal: UInt64(rank.rawValue))
                out.write(" while holding ranks mask "); out.write(hex: UInt64(held.pointee))
            }
            powerOffAfterFailure()
        }
        held.pointee |= 1 << rank.rawValue
        #endif
    }

    @inline(__always) static func released(_ rank: LockRank) {
        #if BULKHEAD_LOCK_CHECKS
        let held = heldRanks()
        if held.pointee & (1 << rank.rawValue) == 0 {
            logFatal { out in out.write("lock order: releasing rank "); out.write(decimal: UInt64(rank.rawValue)); out.write(" not held") }
            powerOffAfterFailure()
        }
        held.pointee &= ~(1 << rank.rawValue)
        #endif
    }

    #if BULKHEAD_LOCK_CHECKS
    /// This hart's held-rank word, found from its stack pointer (each hart runs on its own stack;
    /// the boot stack has a word of its own).
    private static func heldRanks() -> UnsafeMutablePointer<UInt32> {
        let sp = Instructions.stackPointer
        let slot = HartStacks.guardSize &+ HartStacks.size
        let stacks = HartStacks.base(hart: 0) &- HartStacks.guardSize
        let index = sp >= stacks && sp < stacks &+ slot &* UInt64(maxHarts) ? (sp &- stacks) / slot : UInt64(maxHarts)
        return SharedWords.heldRanks(Int(index))
    }
    #endif
}
