// The hypervisor's global state: what boot sets up, and the few fields that change at run time, each with who may change it.
//
// Written by the boot hart before any other hart leaves boot (the others only hash image chunks
// meanwhile: BootWorkers.swift). Afterwards everything here is read-only except:
// - a partition's image fields (plan.partitions[p].entry/imageSize/initrdSize, partitionImage[p],
//   partitionInitrd[p], partitionMeasurement[p]) and partitionKeys[p], which a partition update
//   changes (PartitionUpdates.switchImage) while partition p is stopped, by the hart that holds
//   p's busy lock (partition_shared.busy); partitionKeys[p] is also written under `keystoreLock`;
// - the keystores and signing-key caches (under `keystoreLock`), keystoreCurrentCopy (by the
//   holder of `flashWriter`) and the DRBG (under `drbgLock`).
// Mutable per-hart and per-partition state otherwise lives in hart.h's atomics, the update state
// in PartitionUpdates.swift (under `updateLock`).
import BulkheadCore
import Synchronization

nonisolated(unsafe) var plan = PartitionPlan()
/// Per partition: the hgatp value selecting its G-stage table and VMID.
nonisolated(unsafe) var partitionHgatp = PerPartition<UInt64>(repeating: 0)
/// Per partition: where its pristine image lies in the verified copy of the bundle (staging area).
nonisolated(unsafe) var partitionImage = PerPartition<HostRegion>(repeating: HostRegion(base: HostPhysAddr(0), size: 0))
/// Per partition: its initrd in the verified bundle (size 0: none).
nonisolated(unsafe) var partitionInitrd = PerPartition<HostRegion>(repeating: HostRegion(base: HostPhysAddr(0), size: 0))
/// Where the hypervisor's image, shared pool and bundle staging area are (placed at boot).
nonisolated(unsafe) var hypervisorMemory = MemoryMap.none
/// Where each channel's shared memory and rings lie (computed from the plan at boot).
nonisolated(unsafe) var channelLayout = ChannelLayout(plan: PartitionPlan())
/// Per hart: the partition it runs (-1: none) and its vCPU index there.
nonisolated(unsafe) var hartPartition = PerHart<Int>(repeating: -1)
nonisolated(unsafe) var hartVCPU = PerHart<Int>(repeating: 0)
/// Whether guests' timers use Sstc's vstimecmp (else the hypervisor forwards its own timer).
nonisolated(unsafe) var sstcAvailable = false
nonisolated(unsafe) var firmwareMachineIDs: (vendor: UInt64, arch: UInt64, implementation: UInt64) = (0, 0, 0)
/// What guests are told their harts are (copied from the boot hart's device tree).
nonisolated(unsafe) var guestISA = HostDescription.ISAText()
nonisolated(unsafe) var guestMMUType = HostDescription.MMUTypeText()
nonisolated(unsafe) var timebaseFrequency: UInt32 = 10_000_000

/// A partition that faults again and again is stopped after this many restarts.
let maxRestarts: UInt32 = 16
/// Harts with ids at or above this have no stack and never run guests.
let maxHarts = Limits.harts

/// Verified boot's results (issue 5's key services derive from these measurements):
/// the slot booted, its bundle's security version, the SHA-512 of its signed manifest, and per
/// partition the SHA-512 of its image (equal to the manifest's, which the boot checked).
nonisolated(unsafe) var bootedSlot = BootSlot.a
nonisolated(unsafe) var bundleSecurityVersion: UInt64 = 0
nonisolated(unsafe) var bundleMeasurement = SHA512Digest(bytes: InlineArray(repeating: 0))
nonisolated(unsafe) var partitionMeasurement = PerPartition<SHA512Digest>(repeating: SHA512Digest(bytes: InlineArray(repeating: 0)))

/// The key services' state (docs/keys.md). `keysAvailable` is false when the device has no valid
/// secret; then every key call is refused with `no_device_secret`. Written by the boot hart only.
nonisolated(unsafe) var keysAvailable = false
nonisolated(unsafe) var partitionKeys = PerPartition<PartitionKeys>(repeating: PartitionKeys())
/// The device attestation key (derived from the hypervisor CDI) and the hypervisor identity.
nonisolated(unsafe) var attestationKey: Ed25519PrivateKey? = nil
nonisolated(unsafe) var hypervisorIdentity = SHA512Digest(bytes: InlineArray(repeating: 0))
/// The DRBG, shared by all harts under `drbgLock`.
nonisolated(unsafe) var drbg = DRBG(seed: SecretBytes(repeating: 0))

/// The keystores (docs/keys.md): each partition's slots in hypervisor memory, read and replaced
/// under `keystoreLock`; which flash copy holds the current record (its bytes in
/// KernelStorage.keystoreBuffer(0).base.raw), read and changed only by the holder of `flashWriter`.
nonisolated(unsafe) var keystores = PerPartition<PartitionKeystore>(repeating: PartitionKeystore(ownerTag: 0))
nonisolated(unsafe) var keystoreCurrentCopy: Int? = nil

/// Per partition, under `keystoreLock`: how many times its keystore changed, and the expanded
/// signing key of one handle (KeystoreService.signingKey), dropped on every change.
struct SigningKeyCache {
    var stamp: UInt64 = 0
    var handle: UInt64 = 0
    var key: Ed25519PrivateKey? = nil

    /// Forgets the key (wiped) and moves the stamp on.
    mutating func keystoreChanged() {
        key?.wipe()
        key = nil
        stamp &+= 1
    }
}
nonisolated(unsafe) var signingKeyCaches = PerPartition<SigningKeyCache>(repeating: SigningKeyCache())

/// Element `p` of a per-partition global, in place: a subscript may copy the whole array
/// (every partition's keys or keystore) onto the stack.
func partitionElement<T>(_ array: inout PerPartition<T>, _ p: Int) -> UnsafeMutablePointer<T> {
    withUnsafeMutablePointer(to: &array) { all in
        UnsafeMutableRawPointer(all).advanced(by: (p & (Limits.partitions - 1)) * MemoryLayout<T>.stride).assumingMemoryBound(to: T.self)
    }
}

/// Partition `p`'s keystore, in place.
func keystorePointer(_ p: Int) -> UnsafeMutablePointer<PartitionKeystore> { partitionElement(&keystores, p) }

/// The keystore's two buffers (the record, the scratch for the next one).
func keystoreBuffer(_ which: UInt64) -> UnsafeMutableRawBufferPointer {
    UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(bitPattern: UInt(KernelStorage.keystoreBuffer(which).base.raw)),
                                  count: Int(KernelStorage.keystoreBuffer(0).size))
}
