// The hypervisor's state: one system value the boot fills and then freezes, and per partition what changes at run time, with the lock that guards each field.
//
// `system` (SystemConfig) holds what the boot decides: written only by the boot hart, through
// `configureSystem`, and frozen by `freezeSystem` before any other hart leaves boot; a write after
// that is a broken invariant (the fatal path). Its setter is private to this file.
// What changes after boot:
// - `plan`: the image fields of partition p (entry, imageSize, initrdSize) change in a partition
//   update (PartitionUpdates.switchImage) while p is stopped, by the hart holding p's busy lock;
// - `PartitionState` (per partition, below): each field names its guard;
// - per hart: its Mailbox (Mailbox.swift: any hart sets request bits, only the owner clears them);
//   per partition: its busy lock, boot count and stopped flag (SharedWords), its virtual PLIC
//   (Interrupts.swift, under its plic lock) and virtual UART and console queues (console lock);
// - the partition update table (PartitionUpdates.swift, under `updateLock`), the DRBG (`drbgLock`)
//   and keystoreCurrentCopy (the holder of `flashWriter`).
// The boot's own scratch (HostPaging's table builder, BootWorkers' rounds) is used by the boot only.
import BulkheadCore
import Synchronization

/// What the boot decides for the whole run.
struct SystemConfig {
    /// Where the hypervisor's image, shared pool and bundle staging area are.
    var hypervisorMemory = MemoryMap.none
    /// Where each channel's shared memory and rings lie (from the plan).
    var channelLayout = ChannelLayout()
    /// Per hart: the partition it runs (-1: none) and its vCPU index there.
    var hartPartition = PerHart<Int>(repeating: -1)
    var hartVCPU = PerHart<Int>(repeating: 0)
    /// Per partition: the hgatp value selecting its G-stage table and VMID.
    var partitionHgatp = PerPartition<UInt64>(repeating: 0)
    /// The hypervisor's own page tables (HostPaging.swift): the boot table's satp, each
    /// partition's load table, the run table without any partition's RAM (0: not built).
    var hostSatp: UInt64 = 0
    var partitionSatp = PerPartition<UInt64>(repeating: 0)
    var runSatp: UInt64 = 0
    /// Whether guests' timers use Sstc's vstimecmp (else the hypervisor forwards its own timer).
    var sstcAvailable = false
    var firmwareMachineIDs: (vendor: UInt64, arch: UInt64, implementation: UInt64) = (0, 0, 0)
    /// What guests are told their harts are (copied from the boot hart's device tree).
    var guestISA = HostDescription.ISAText()
    var guestMMUType = HostDescription.MMUTypeText()
    var timebaseFrequency: UInt32 = 10_000_000
    /// The devices the hypervisor drives itself: the console UART (nil: the firmware's console),
    /// the board's test device (a failure then makes QEMU exit non-zero), the PLIC (nil when no
    /// partition owns a device with interrupts) and its contexts.
    var consoleUART: NS16550A? = nil
    var testDevice: SiFiveTest? = nil
    var physicalPLIC: PLIC? = nil
    var hostPLIC = HostPLIC()
    /// Verified boot's results (docs/keys.md): the slot booted, its bundle's security version,
    /// the SHA-512 of its signed manifest, the key that signed it, and per partition the digest of
    /// its policy as the manifest holds it (the digest a partition update is bound to).
    var bootedSlot = BootSlot.a
    var bundleSecurityVersion: UInt64 = 0
    var bundleMeasurement = SHA512Digest(bytes: InlineArray(repeating: 0))
    var bundleKeyID = SigningKeyID(raw: 0)
    var partitionPolicyDigest = PerPartition<SHA512Digest>(repeating: SHA512Digest(bytes: InlineArray(repeating: 0)))
    /// The key services (docs/keys.md): false when the device has no valid secret (every key call
    /// is then refused with `no_device_secret`); the device attestation key (derived from the
    /// hypervisor CDI); the hypervisor identity; the hypervisor CDI, kept only when some partition
    /// may be updated (an updated partition's keys are derived again from it).
    var keysAvailable = false
    var attestationKey: Ed25519PrivateKey? = nil
    var hypervisorIdentity = SHA512Digest(bytes: InlineArray(repeating: 0))
    var updateCDI: CDI? = nil
    /// Partition updates (PartitionUpdates.swift): the staging buffer (nil: no partition may
    /// update another, or no room), and per partition the first of its two image stores (0: none).
    var updateStagingRegion: HostRegion? = nil
    var updateStoreBase = PerPartition<UInt64>(repeating: 0)
}

/// The system value, read-only. It lies in storage of its own (KernelStorage.systemConfig), set up
/// by `initializeSystem` first thing at boot: a stored global of this type would be initialized
/// lazily by the compiler, with a check on every access on the trap path.
var system: SystemConfig {
    @inline(__always) unsafeAddress { UnsafePointer(systemPointer) }
}

@inline(__always) private var systemPointer: UnsafeMutablePointer<SystemConfig> {
    UnsafeMutableRawPointer(bitPattern: UInt(KernelStorage.systemConfig.base.raw)).unsafelyUnwrapped
        .assumingMemoryBound(to: SystemConfig.self)
}
nonisolated(unsafe) private var systemFrozen = false

/// The boot hart, before anything else (logging reads `system`): the defaults. A SystemConfig too
/// large for its storage stops the machine at once, with nothing to say it on yet (a host test
/// checks the size: KernelTests).
func initializeSystem() {
    guard MemoryLayout<SystemConfig>.size <= Int(KernelStorage.systemConfig.size) else { Firmware.shutdown(failure: true) }
    systemPointer.initialize(to: SystemConfig())
}

/// The boot hart's only way to change `system`; after `freezeSystem` a change stops the machine.
func configureSystem(_ change: (inout SystemConfig) -> Void) {
    if systemFrozen { fatal("the system configuration changed after boot") }
    change(&systemPointer.pointee)
}

/// Called once by the boot hart before the other harts leave boot.
func freezeSystem() { systemFrozen = true }

#if BULKHEAD_FAKE_ARCH
/// Host tests only (Kernel/Arch/Fake): each scenario configures a new system.
func thawSystemForTests() { systemFrozen = false }
#endif

/// The plan: written at boot; partition p's image fields also by a partition update (above).
nonisolated(unsafe) var plan = PartitionPlan()

/// Per partition, what changes at run time.
struct PartitionState {
    /// Where its pristine image and initrd lie (the verified bundle in the staging area, or an
    /// update store; size 0: no initrd) and the SHA-512 of its image: set at boot, changed by a
    /// partition update while the partition is stopped, by the hart holding its busy lock.
    var image = HostRegion(base: HostPhysAddr(0), size: 0)
    var initrd = HostRegion(base: HostPhysAddr(0), size: 0)
    var measurement = SHA512Digest(bytes: InlineArray(repeating: 0))
    /// Its keys: under `keystoreLock` (a partition update replaces them holding both locks).
    var keys = PartitionKeys()
    /// Its keystore slots, and the expanded signing key of one handle: under `keystoreLock`.
    var keystore = PartitionKeystore(ownerTag: 0)
    var signingKeyCache = SigningKeyCache()
}
nonisolated(unsafe) var partitionStates = PerPartition<PartitionState>(repeating: PartitionState())

/// Partition `p`'s state, in place (a subscript may copy every partition's keys and keystore onto
/// the stack).
@inline(__always) func partitionState(_ p: Int) -> UnsafeMutablePointer<PartitionState> { partitionElement(&partitionStates, p) }

/// A partition that faults again and again is stopped after this many restarts.
let maxRestarts: UInt32 = 16
/// Harts with ids at or above this have no stack and never run guests.
let maxHarts = Limits.harts

/// The DRBG, shared by all harts under `drbgLock`.
nonisolated(unsafe) var drbg = DRBG(seed: SecretBytes(repeating: 0))
/// Which flash copy holds the current keystore record (its bytes in keystoreBuffer(0)): read and
/// changed only by the holder of `flashWriter`.
nonisolated(unsafe) var keystoreCurrentCopy: Int? = nil

/// How many times a partition's keystore changed, and the expanded signing key of one handle
/// (KeystoreService.signingKey), dropped on every change.
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
/// Element `p` of a per-partition global, in place: a subscript may copy the whole array
/// (every partition's keys or keystore) onto the stack.
func partitionElement<T>(_ array: inout PerPartition<T>, _ p: Int) -> UnsafeMutablePointer<T> {
    withUnsafeMutablePointer(to: &array) { all in
        UnsafeMutableRawPointer(all).advanced(by: (p & (Limits.partitions - 1)) * MemoryLayout<T>.stride).assumingMemoryBound(to: T.self)
    }
}

/// The keystore's two buffers (the record, the scratch for the next one).
func keystoreBuffer(_ which: UInt64) -> UnsafeMutableRawBufferPointer {
    UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(bitPattern: UInt(KernelStorage.keystoreBuffer(which).base.raw)),
                                  count: Int(KernelStorage.keystoreBuffer(which).size))
}
