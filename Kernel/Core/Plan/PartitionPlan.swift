// The partition plan: what each partition is given (harts, memory, image, entry, fault policy), its channels and devices.

/// Fixed limits shared by the host CLI, the bundle format and the kernel.
public enum PlanLimits {
    public static let maxPartitions = Limits.partitions
    public static let maxHartsPerPartition = Limits.harts
    public static let maxNameLength = 16
    public static let maxBootargsLength = 128
    /// Partition memory base and size must be multiples of this (the G-stage superpage size).
    public static let memoryAlignment: UInt64 = PageSize.mega
    /// Bytes at the top of each partition's RAM that hold its generated device tree.
    public static let deviceTreeReserve: UInt64 = 0x1_0000
    /// The most RAM one partition can have: 4 GiB of guest-physical space above guestRAMBase, so
    /// the Sv39x4 root (41-bit guest-physical) always covers it.
    public static let maxPartitionMemory: UInt64 = 0x1_0000_0000
}

/// Where every partition's RAM starts in its own guest-physical space (as on a real virt machine).
public let guestRAMBase = GuestPhysAddr(0x8000_0000)

/// How a partition's image is loaded and entered.
public enum ImageKind: UInt8, Sendable {
    /// A flat image loaded at `guestRAMBase`, entered at `entry` (the Bulkhead guests).
    case flat = 0
    /// A RISC-V Linux `Image` (Linux boot protocol, Documentation/arch/riscv/boot.rst): loaded at
    /// `entry`, which is `guestRAMBase` + the header's `text_offset` (2 MiB aligned on RV64), and
    /// entered at its first byte with a0 = hart id, a1 = device tree, the MMU off.
    case linux = 1
    /// A flat image loaded at `entry` (4 KiB aligned inside RAM) and entered there with a0 = hart
    /// id, a1 = device tree: how OpenSBI's jump firmware starts its next stage (U-Boot's
    /// `qemu-riscv64_smode` build, linked at 0x80200000), without a header to read.
    case payload = 2
}

/// Per-partition options that are neither resources nor images (the partition record's flags byte).
public struct PartitionFlags: Equatable, Sendable {
    public var raw: UInt8
    public init(raw: UInt8 = 0) { self.raw = raw }
    /// `dma = "trusted"`: guest-physical RAM equals host-physical RAM, so that DMA-capable devices
    /// (which see host-physical addresses: there is no IOMMU) can be handed guest addresses.
    public static let dmaTrusted: UInt8 = 1 << 0
    /// `uart = true`: the partition gets the virtual NS16550A UART (Linux partitions always do).
    public static let uart: UInt8 = 1 << 1
    /// Every bit this build knows; the others must be zero.
    public static let known: UInt8 = dmaTrusted | uart
    public var dmaTrusted: Bool {
        get { raw & Self.dmaTrusted != 0 }
        set { raw = newValue ? raw | Self.dmaTrusted : raw & ~Self.dmaTrusted }
    }
    public var uart: Bool {
        get { raw & Self.uart != 0 }
        set { raw = newValue ? raw | Self.uart : raw & ~Self.uart }
    }
}

/// What a partition's harts do when the partition faults.
public enum FaultPolicy: UInt8, Sendable {
    case stop = 0
    case restart = 1
}

/// A short byte string held inline (no heap): partition names and boot arguments.
public struct FixedText<let capacity: Int>: Sendable {
    public var storage: InlineArray<capacity, UInt8>
    public private(set) var count: Int

    public init() { storage = InlineArray(repeating: 0); count = 0 }

    /// `nil` when `bytes` is longer than `capacity`.
    public init?(bytes: UnsafeRawBufferPointer) {
        guard bytes.count <= capacity else { return nil }
        self.init()
        var i = 0
        while i < bytes.count { storage[i] = bytes[i]; i += 1 }
        count = bytes.count
    }

    public func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        var copy = storage
        return try withUnsafeBytes(of: &copy) { (raw) throws(E) -> R in
            try body(UnsafeRawBufferPointer(rebasing: raw[0..<count]))
        }
    }

    public func equals(_ other: FixedText<capacity>) -> Bool {
        guard count == other.count else { return false }
        var i = 0
        while i < count { if storage[i] != other.storage[i] { return false }; i += 1 }
        return true
    }
}

public typealias PartitionName = FixedText<16>
public typealias Bootargs = FixedText<128>

/// The physical harts of one partition, in vCPU order: vCPU `i` runs on `harts[i]`.
public struct HartList: Sendable {
    public var ids: PerHart<UInt32>
    public private(set) var count: Int
    public init() { ids = InlineArray(repeating: 0); count = 0 }
    /// Returns false when the list is already full.
    public mutating func append(_ hart: UInt32) -> Bool {
        guard count < PlanLimits.maxHartsPerPartition else { return false }
        ids[count] = hart; count += 1; return true
    }
    public subscript(vcpu: Int) -> UInt32 { ids[vcpu] }
    /// The vCPU index pinned to `hart`, if this partition owns it.
    public func vcpu(onHart hart: UInt32) -> Int? {
        var i = 0
        while i < count { if ids[i] == hart { return i }; i += 1 }
        return nil
    }
}

/// One partition as the configuration and the bundle describe it.
public struct PartitionSpec: Sendable {
    public var name = PartitionName()
    public var harts = HartList()
    /// Host-physical RAM given to the partition; guest-physical `guestRAMBase` maps to its base.
    public var memory = HostRegion(base: HostPhysAddr(0), size: 0)
    /// Guest-physical address of the first instruction (vCPU 0 starts here).
    public var entry = guestRAMBase
    /// Length of the raw image, loaded at guest-physical `guestRAMBase`.
    public var imageSize: UInt64 = 0
    public var onFault = FaultPolicy.stop
    public var bootargs = Bootargs()
    /// How the image is loaded (flat at the RAM base, or a Linux Image at `entry`).
    public var imageKind = ImageKind.flat
    /// Length of the initial RAM disk (0: none), placed just below the device tree.
    public var initrdSize: UInt64 = 0
    /// The key services the partition may call (the manifest's key_policy).
    public var keyPolicy = KeyPolicy()
    /// `dma = "trusted"` and `uart = true`.
    public var flags = PartitionFlags()
    /// `update = [...]`: bit q set means this partition may deliver partition updates to
    /// partition q (docs/hypercalls.md, "Partition updates"). Never its own bit.
    public var updateTargets: UInt8 = 0
    public init() {}

    /// Whether this partition may deliver updates to partition `q`.
    public func mayUpdate(_ q: Int) -> Bool {
        q >= 0 && q < Limits.partitions && updateTargets & (1 << UInt8(q)) != 0
    }

    /// Where the partition's RAM starts in its guest-physical space: `guestRAMBase`, or the RAM's
    /// host-physical base for a `dma = "trusted"` partition (guest-physical = host-physical).
    public var ramBase: GuestPhysAddr {
        flags.dmaTrusted ? GuestPhysAddr(memory.base.raw) : guestRAMBase
    }

    /// The partition's RAM in its own guest-physical space, for checking guest addresses.
    public var guestMemory: GuestMemory { GuestMemory(guestBase: ramBase, host: memory) }

    /// Guest-physical address of the generated device tree (top of the partition's RAM).
    public var deviceTreeAddress: GuestPhysAddr {
        ramBase.adding(memory.size &- PlanLimits.deviceTreeReserve)
    }

    /// Offset from `guestRAMBase` at which the image is loaded: 0 for a flat image, the entry's
    /// offset for a Linux Image (its header's `text_offset`) and for a payload.
    public var imageLoadOffset: UInt64 {
        imageKind != .flat && entry.raw >= ramBase.raw ? entry.raw &- ramBase.raw : 0
    }

    /// Offset from `guestRAMBase` of the initrd: the highest 4 KiB boundary that leaves it below
    /// the device tree (Linux reserves [initrd-start, initrd-end) itself, from /chosen). Equal to
    /// the device tree's offset when there is no initrd; wraps (and validation refuses it) when
    /// the initrd is larger than the memory.
    public var initrdOffset: UInt64 {
        (memory.size &- PlanLimits.deviceTreeReserve &- initrdSize) & ~(PageSize.base &- 1)
    }

    /// Whether the partition gets the virtual NS16550A UART at `VirtualUART.base` (trap-and-emulate):
    /// those that ask (`uart = true`), and Linux partitions, since a distribution kernel may have
    /// no SBI console driver.
    public var hasVirtualUART: Bool { imageKind == .linux || flags.uart }

    /// Guest-physical address of the initrd (meaningful when `initrdSize > 0`).
    public var initrdAddress: GuestPhysAddr { ramBase.adding(initrdOffset) }
}

/// Bundle-wide flags (header byte 52, docs/bundle-format.md). Zero is the meaning bundles had
/// before the byte was defined.
public struct BundleFlags: Equatable, Sendable {
    public var raw: UInt8
    public init(raw: UInt8 = 0) { self.raw = raw }
    /// Every defined bit; a bundle with any other bit set is refused (it may demand what this
    /// hypervisor does not know).
    public static let all: UInt8 = 0x01
    /// Bit 0, `require_rollback_floor = true`: boot only where the anti-rollback floor is kept in
    /// persistent storage (a bundle flash with a state region); refused on a machine without it.
    public var requireRollbackFloor: Bool {
        get { raw & 0x01 != 0 }
        set { raw = newValue ? raw | 0x01 : raw & ~0x01 }
    }
}

/// The whole plan: up to `PlanLimits.maxPartitions` partitions and
/// `ChannelLimits.maxChannels` channels between them.
public struct PartitionPlan: Sendable {
    public var partitions: PerPartition<PartitionSpec>
    public private(set) var count: Int
    public var channels: InlineArray<16, ChannelSpec>
    public private(set) var channelCount: Int
    /// The devices given to partitions (DeviceSpec.swift).
    public var devices = DeviceTable()
    /// Bundle-wide demands on the machine that boots it (the header's flags byte).
    public var flags = BundleFlags()
    public init() {
        partitions = InlineArray(repeating: PartitionSpec()); count = 0
        channels = InlineArray(repeating: ChannelSpec()); channelCount = 0
    }
    /// Returns false when the plan is already full.
    public mutating func append(_ spec: PartitionSpec) -> Bool {
        guard count < PlanLimits.maxPartitions else { return false }
        partitions[count] = spec; count += 1; return true
    }
    public subscript(index: Int) -> PartitionSpec { partitions[index] }
    /// Returns false when the channel list is already full.
    public mutating func appendChannel(_ spec: ChannelSpec) -> Bool {
        guard channelCount < ChannelLimits.maxChannels else { return false }
        channels[channelCount] = spec; channelCount += 1; return true
    }
    /// Channel `index` (callers keep `index < channelCount`).
    public func channel(_ index: Int) -> ChannelSpec { channels[index & 15] }
}

/// What the board offers, as read from its device tree and its board data.
public struct BoardLimits: Sendable {
    public var ram: HostRegion
    /// Bit `n` set when hart id `n` exists and can run guests (hart ids above 63 are unsupported).
    public var hartMask: UInt64
    /// Memory no partition may be given: what the firmware keeps (from the device tree) and the
    /// hypervisor's own (its image, shared pool and staging area, placed by MemoryMap).
    public var reserved: ReservedRegions
    /// Hypervisor-owned memory that shared-memory channels are carved from (inside `reserved`).
    public var sharedPool: HostRegion
    /// The devices of the board's device tree that partitions may be given (DeviceCatalog).
    public var devices: DeviceCatalog
    public init(ram: HostRegion, hartMask: UInt64, reserved: ReservedRegions,
                sharedPool: HostRegion = HostRegion(base: HostPhysAddr(0), size: 0),
                devices: DeviceCatalog = DeviceCatalog()) {
        self.ram = ram; self.hartMask = hartMask; self.reserved = reserved; self.sharedPool = sharedPool
        self.devices = devices
    }
    public func hasHart(_ hart: UInt32) -> Bool { hart < 64 && hartMask & (1 << UInt64(hart)) != 0 }
}
