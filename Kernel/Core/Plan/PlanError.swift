// Every way a partition plan can be wrong, each naming the partition and the configuration field.

/// The configuration key an error is about (spelled as in the TOML file).
public enum PlanField: UInt8, Sendable {
    case name, image, harts, memoryBase, memorySize, entry, onFault, bootargs, initrd
    // [[channel]] keys
    case endpoints, kind, direction, depth, messageSize, size, access
    // devices
    case devices, dma
    // partition updates
    case update

    public func write<S: TextSink>(to out: inout S) {
        switch self {
        case .name: out.write("name")
        case .image: out.write("image")
        case .harts: out.write("harts")
        case .memoryBase: out.write("memory_base")
        case .memorySize: out.write("memory_size")
        case .entry: out.write("entry")
        case .onFault: out.write("on_fault")
        case .bootargs: out.write("bootargs")
        case .initrd: out.write("initrd")
        case .endpoints: out.write("endpoints")
        case .kind: out.write("kind")
        case .direction: out.write("direction")
        case .depth: out.write("depth")
        case .messageSize: out.write("message_size")
        case .size: out.write("size")
        case .access: out.write("access")
        case .devices: out.write("devices")
        case .dma: out.write("dma")
        case .update: out.write("update")
        }
    }
}

/// A plan validation failure. Partitions are identified by their index in the plan.
public enum PlanError: Error, Equatable, Sendable {
    case noPartitions
    case tooManyPartitions(count: Int)
    case emptyName(partition: Int)
    case nameTooLong(partition: Int)
    case invalidNameCharacter(partition: Int)
    case duplicateName(partition: Int, first: Int)
    case noHarts(partition: Int)
    case tooManyHarts(partition: Int)
    case hartNotOnBoard(partition: Int, hart: UInt32)
    case hartListedTwice(partition: Int, hart: UInt32)
    case hartShared(partition: Int, hart: UInt32, owner: Int)
    case memoryEmpty(partition: Int)
    case memoryMisaligned(partition: Int, field: PlanField)
    case memoryOutOfRange(partition: Int)
    /// The memory overlaps a reserved region: the firmware's (from the device tree) or the hypervisor's.
    case memoryReserved(partition: Int, reserved: ReservedRegion)
    case memoryOverlap(partition: Int, other: Int)
    case emptyImage(partition: Int)
    case imageTooLarge(partition: Int, imageSize: UInt64, limit: UInt64)
    case entryOutsideImage(partition: Int)
    /// A flat image's entry is inside the image but not 2-byte aligned (no instruction starts there).
    case entryMisaligned(partition: Int)
    /// The partition's memory is larger than 4 GiB (`PlanLimits.maxPartitionMemory`).
    case memoryTooLarge(partition: Int)
    case bootargsTooLong(partition: Int)
    /// The initrd does not fit below the device tree.
    case initrdTooLarge(partition: Int, initrdSize: UInt64, limit: UInt64)
    /// A Linux Image's entry (load address) is not guestRAMBase + a multiple of 2 MiB inside RAM.
    case linuxEntryMisaligned(partition: Int)
    /// A payload's entry (load address) is not a 4 KiB boundary inside RAM below the device tree.
    case payloadEntryMisaligned(partition: Int)
    /// `update` names a partition index the plan does not have (bit `target` of the record's byte).
    case updateTargetUnknown(partition: Int, target: Int)
    /// `update` names the partition itself: an updater cannot replace the image it runs.
    case updateTargetSelf(partition: Int)
    // Channels (identified by their index in the plan's channel list).
    case tooManyChannels(count: Int)
    case channelEmptyName(channel: Int)
    case channelInvalidNameCharacter(channel: Int)
    case channelDuplicateName(channel: Int, first: Int)
    /// An endpoint names no partition of the plan.
    case channelUnknownPartition(channel: Int, endpoint: Int)
    /// Both endpoints are the same partition.
    case channelSameEndpoints(channel: Int)
    /// A field that does not belong to the channel's kind is set (e.g. `size` on a queue).
    case channelFieldNotForKind(channel: Int, field: PlanField)
    case channelDepthOutOfRange(channel: Int, depth: UInt32)
    case channelMessageSizeOutOfRange(channel: Int, size: UInt32)
    case channelSizeInvalid(channel: Int, size: UInt64)
    /// All queues together would need `needed` bytes of the hypervisor's `capacity`.
    case queueStorageExhausted(channel: Int, needed: UInt64, capacity: UInt64)
    /// All shared-memory channels together would need `needed` bytes of the board's pool.
    case sharedPoolExhausted(channel: Int, needed: UInt64, capacity: UInt64)
    // Devices (identified by their index in the plan's device list, and their owner).
    case tooManyDevices(count: Int)
    /// A device record names no partition of the plan.
    case deviceOwnerUnknown(device: Int)
    /// The board's device tree has no enabled node with a `reg` at this path (or none was given).
    case deviceNotOnBoard(partition: Int, device: Int)
    /// The hypervisor keeps this device for itself.
    case deviceReserved(partition: Int, device: Int, reason: ReservedDevice)
    /// The device's region, interrupts or kind differ from the board's node at that path.
    case deviceMismatch(partition: Int, device: Int)
    /// The node has more than one `reg` entry.
    case deviceMultipleRegions(partition: Int, device: Int, count: Int)
    /// Its region is empty or not 4 KiB aligned (base and size).
    case deviceMisaligned(partition: Int, device: Int)
    /// Its region overlaps RAM.
    case deviceInRAM(partition: Int, device: Int)
    /// The same device (or an overlapping region) is given twice; `first` is the earlier device.
    case deviceAssignedTwice(partition: Int, device: Int, first: Int, firstOwner: Int)
    /// It has more PLIC sources than `DeviceLimits.maxInterrupts`.
    case deviceTooManyInterrupts(partition: Int, device: Int, count: Int)
    /// A PLIC source is 0 or at least `DeviceLimits.maxSource`.
    case deviceInterruptOutOfRange(partition: Int, device: Int, source: UInt32)
    /// Its interrupts go to another controller than the PLIC.
    case deviceInterruptsNotOnPLIC(partition: Int, device: Int)
    /// A DMA-capable device whose owner is not `dma = "trusted"`.
    case deviceNeedsTrustedDMA(partition: Int, device: Int)
    /// A PLIC source of the device is also a source of device `first`, which another partition owns.
    case deviceInterruptShared(partition: Int, device: Int, source: UInt32, first: Int, firstOwner: Int)

    /// The channel the error is about, when there is one.
    public var channel: Int? {
        switch self {
        case .channelEmptyName(let c), .channelInvalidNameCharacter(let c), .channelDuplicateName(let c, _),
             .channelUnknownPartition(let c, _), .channelSameEndpoints(let c), .channelFieldNotForKind(let c, _),
             .channelDepthOutOfRange(let c, _), .channelMessageSizeOutOfRange(let c, _), .channelSizeInvalid(let c, _),
             .queueStorageExhausted(let c, _, _), .sharedPoolExhausted(let c, _, _):
            return c
        default:
            return nil
        }
    }

    /// The device the error is about, when there is one.
    public var device: Int? {
        switch self {
        case .deviceOwnerUnknown(let d), .deviceNotOnBoard(_, let d), .deviceReserved(_, let d, _), .deviceMismatch(_, let d),
             .deviceMultipleRegions(_, let d, _), .deviceMisaligned(_, let d), .deviceInRAM(_, let d),
             .deviceAssignedTwice(_, let d, _, _), .deviceTooManyInterrupts(_, let d, _),
             .deviceInterruptOutOfRange(_, let d, _), .deviceNeedsTrustedDMA(_, let d), .deviceInterruptShared(_, let d, _, _, _),
             .deviceInterruptsNotOnPLIC(_, let d):
            return d
        default:
            return nil
        }
    }

    /// The partition the error is about, when there is one.
    public var partition: Int? {
        if channel != nil { return nil }
        switch self {
        case .deviceNotOnBoard(let p, _), .deviceReserved(let p, _, _), .deviceMismatch(let p, _),
             .deviceMultipleRegions(let p, _, _), .deviceMisaligned(let p, _), .deviceInRAM(let p, _),
             .deviceAssignedTwice(let p, _, _, _), .deviceTooManyInterrupts(let p, _, _),
             .deviceInterruptOutOfRange(let p, _, _), .deviceNeedsTrustedDMA(let p, _), .deviceInterruptShared(let p, _, _, _, _),
             .deviceInterruptsNotOnPLIC(let p, _):
            return p
        case .noPartitions, .tooManyPartitions, .tooManyChannels: return nil
        case .emptyName(let p), .nameTooLong(let p), .invalidNameCharacter(let p), .duplicateName(let p, _),
             .noHarts(let p), .tooManyHarts(let p), .hartNotOnBoard(let p, _), .hartListedTwice(let p, _),
             .hartShared(let p, _, _), .memoryEmpty(let p), .memoryMisaligned(let p, _),
             .memoryOutOfRange(let p), .memoryReserved(let p, _), .memoryOverlap(let p, _),
             .emptyImage(let p), .imageTooLarge(let p, _, _),
             .entryOutsideImage(let p), .entryMisaligned(let p), .memoryTooLarge(let p), .bootargsTooLong(let p),
             .initrdTooLarge(let p, _, _), .linuxEntryMisaligned(let p), .payloadEntryMisaligned(let p),
             .updateTargetUnknown(let p, _), .updateTargetSelf(let p):
            return p
        default:
            return nil
        }
    }

    /// The configuration field the error is about.
    public var field: PlanField? {
        switch self {
        case .noPartitions, .tooManyPartitions, .tooManyChannels, .tooManyDevices, .deviceOwnerUnknown: return nil
        case .deviceNeedsTrustedDMA: return .dma
        case .deviceNotOnBoard, .deviceReserved, .deviceMismatch, .deviceMultipleRegions, .deviceMisaligned, .deviceInRAM,
             .deviceAssignedTwice, .deviceTooManyInterrupts, .deviceInterruptOutOfRange, .deviceInterruptShared,
             .deviceInterruptsNotOnPLIC: return .devices
        case .channelEmptyName, .channelInvalidNameCharacter, .channelDuplicateName: return .name
        case .channelUnknownPartition, .channelSameEndpoints: return .endpoints
        case .channelFieldNotForKind(_, let f): return f
        case .channelDepthOutOfRange: return .depth
        case .channelMessageSizeOutOfRange: return .messageSize
        case .channelSizeInvalid: return .size
        case .queueStorageExhausted: return .depth
        case .sharedPoolExhausted: return .size
        case .emptyName, .nameTooLong, .invalidNameCharacter, .duplicateName: return .name
        case .noHarts, .tooManyHarts, .hartNotOnBoard, .hartListedTwice, .hartShared: return .harts
        case .memoryEmpty: return .memorySize
        case .memoryMisaligned(_, let f): return f
        case .memoryOutOfRange, .memoryReserved, .memoryOverlap: return .memoryBase
        case .emptyImage, .imageTooLarge: return .image
        case .entryOutsideImage, .entryMisaligned, .linuxEntryMisaligned, .payloadEntryMisaligned: return .entry
        case .memoryTooLarge: return .memorySize
        case .bootargsTooLong: return .bootargs
        case .initrdTooLarge: return .initrd
        case .updateTargetUnknown, .updateTargetSelf: return .update
        }
    }

    /// Writes `partition #i "NAME", field F: reason`, using names from `plan`.
    public func write<S: TextSink>(to out: inout S, plan: PartitionPlan) {
        if let p = partition {
            out.write("partition ")
            writeName(p, plan, &out)
            if let f = field { out.write(", field "); f.write(to: &out) }
            out.write(": ")
            if let d = device { out.write("device "); writeDevicePath(d, plan, &out); out.write(" ") }
        } else if let c = channel {
            out.write("channel "); writeChannelName(c, plan, &out)
            if let f = field { out.write(", field "); f.write(to: &out) }
            out.write(": ")
        }
        switch self {
        case .tooManyDevices, .deviceOwnerUnknown, .deviceNotOnBoard, .deviceReserved, .deviceMismatch, .deviceMultipleRegions,
             .deviceMisaligned, .deviceInRAM, .deviceAssignedTwice, .deviceTooManyInterrupts, .deviceInterruptOutOfRange,
             .deviceNeedsTrustedDMA, .deviceInterruptShared, .deviceInterruptsNotOnPLIC:
            writeDeviceText(&out, plan: plan)
        case .noPartitions: out.write("the plan has no partitions")
        case .tooManyPartitions(let n):
            out.write("the plan has "); out.write(decimal: n); out.write(" partitions; at most ")
            out.write(decimal: PlanLimits.maxPartitions); out.write(" are supported")
        case .emptyName: out.write("the name is empty")
        case .nameTooLong:
            out.write("the name is longer than "); out.write(decimal: PlanLimits.maxNameLength); out.write(" bytes")
        case .invalidNameCharacter: out.write("names may use only a-z, 0-9, '-' and '_'")
        case .duplicateName(_, let first): out.write("the name is already used by partition #"); out.write(decimal: first)
        case .noHarts: out.write("no harts are listed")
        case .tooManyHarts:
            out.write("more than "); out.write(decimal: PlanLimits.maxHartsPerPartition); out.write(" harts are listed")
        case .hartNotOnBoard(_, let h): out.write("hart "); out.write(decimal: UInt64(h)); out.write(" does not exist on this board")
        case .hartListedTwice(_, let h): out.write("hart "); out.write(decimal: UInt64(h)); out.write(" is listed twice")
        case .hartShared(_, let h, let owner):
            out.write("hart "); out.write(decimal: UInt64(h)); out.write(" is already given to partition ")
            writeName(owner, plan, &out)
        case .memoryEmpty: out.write("the memory size is zero")
        case .memoryMisaligned(_, let f):
            out.write(f == .memoryBase ? "the base" : "the size"); out.write(" is not a multiple of ")
            out.write(size: PlanLimits.memoryAlignment)
        case .memoryOutOfRange(let p):
            out.write("the memory ["); writeRegion(plan, p, &out); out.write(") lies outside the board's RAM")
        case .memoryReserved(let p, let reserved):
            out.write("the memory ["); writeRegion(plan, p, &out)
            out.write(") overlaps memory reserved for "); reserved.write(to: &out)
        case .memoryOverlap(_, let other):
            out.write("the memory overlaps partition "); writeName(other, plan, &out)
        case .emptyImage: out.write("the image is empty")
        case .imageTooLarge(_, let size, let limit):
            out.write("the image ("); out.write(decimal: size); out.write(" bytes) does not fit in the ")
            out.write(decimal: limit); out.write(" bytes available below the device tree")
        case .entryOutsideImage: out.write("the entry point lies outside the loaded image")
        case .entryMisaligned: out.write("the entry point is not 2-byte aligned (RISC-V instructions start on even addresses)")
        case .memoryTooLarge(let p):
            out.write("the memory size")
            if p < plan.count { out.write(" ("); out.write(size: plan[p].memory.size); out.write(")") }
            out.write(" breaks the "); out.write(size: PlanLimits.maxPartitionMemory)
            out.write(" limit: a partition has at most that much RAM")
        case .initrdTooLarge(_, let size, let limit):
            out.write("the initrd ("); out.write(decimal: size); out.write(" bytes) does not fit in the ")
            out.write(decimal: limit); out.write(" bytes available below the device tree")
        case .linuxEntryMisaligned:
            out.write("a Linux Image must be loaded at the RAM base plus a multiple of 2 MiB inside its RAM (its text_offset)")
        case .payloadEntryMisaligned:
            out.write("a payload is loaded at its entry, which must be a 4 KiB boundary inside its RAM, below the initrd and the device tree")
        case .updateTargetUnknown(_, let target):
            out.write("partition #"); out.write(decimal: target); out.write(" does not exist: update may name only partitions of the plan")
        case .updateTargetSelf:
            out.write("a partition cannot update itself (its image would be replaced under the call): give the policy to another partition")
        case .bootargsTooLong:
            out.write("boot arguments are longer than "); out.write(decimal: PlanLimits.maxBootargsLength); out.write(" bytes")
        case .tooManyChannels(let n):
            out.write("the plan has "); out.write(decimal: n); out.write(" channels; at most ")
            out.write(decimal: ChannelLimits.maxChannels); out.write(" are supported")
        case .channelEmptyName: out.write("the name is empty")
        case .channelInvalidNameCharacter: out.write("names may use only a-z, 0-9, '-' and '_'")
        case .channelDuplicateName(_, let first):
            out.write("the name is already used by channel "); writeChannelName(first, plan, &out)
        case .channelUnknownPartition(_, let e):
            out.write("endpoint "); out.write(decimal: e); out.write(" names no partition of the plan")
        case .channelSameEndpoints: out.write("both endpoints are the same partition")
        case .channelFieldNotForKind(_, let f):
            out.write("\""); f.write(to: &out); out.write("\" does not apply to this kind of channel")
        case .channelDepthOutOfRange(_, let d):
            out.write("the depth "); out.write(decimal: UInt64(d)); out.write(" is not between 1 and ")
            out.write(decimal: UInt64(ChannelLimits.maxDepth))
        case .channelMessageSizeOutOfRange(_, let m):
            out.write("the message size "); out.write(decimal: UInt64(m)); out.write(" is not between 1 and ")
            out.write(decimal: UInt64(ChannelLimits.maxMessageSize)); out.write(" bytes")
        case .channelSizeInvalid(_, let z):
            out.write("the size "); out.write(decimal: z); out.write(" is not a non-zero multiple of ")
            out.write(size: ChannelLimits.sharedAlignment); out.write(" of at most "); out.write(size: ChannelLimits.maxSharedSize)
        case .queueStorageExhausted(_, let needed, let capacity):
            out.write("the queues need "); out.write(decimal: needed); out.write(" bytes of hypervisor memory in all; ")
            out.write(size: capacity); out.write(" are available")
        case .sharedPoolExhausted(_, let needed, let capacity):
            out.write("the shared-memory channels need "); out.write(size: needed); out.write(" in all; the board's pool holds ")
            out.write(size: capacity)
        }
    }

    private func writeDeviceText<S: TextSink>(_ out: inout S, plan: PartitionPlan) {
        switch self {
        case .tooManyDevices(let n):
            out.write("the plan gives "); out.write(decimal: n); out.write(" devices; at most ")
            out.write(decimal: DeviceLimits.maxDevices); out.write(" are supported")
        case .deviceOwnerUnknown(let d):
            out.write("device #"); out.write(decimal: d); out.write(" belongs to no partition of the plan")
        case .deviceNotOnBoard: out.write("is not an enabled node with a `reg` in the board's device tree")
        case .deviceReserved(_, _, let why): out.write("is reserved: it is "); why.write(to: &out)
        case .deviceMismatch: out.write("does not match the board's node at that path (region, interrupts, compatible or DMA)")
        case .deviceMultipleRegions(_, _, let n):
            out.write("has "); out.write(decimal: n); out.write(" `reg` entries; only devices with one region can be given")
        case .deviceMisaligned(_, let d):
            out.write("has a region that is not 4 KiB aligned ("); writeDeviceRegion(d, plan, &out); out.write(")")
        case .deviceInRAM(_, let d): out.write("has a region inside RAM ("); writeDeviceRegion(d, plan, &out); out.write(")")
        case .deviceAssignedTwice(_, _, let first, let owner):
            out.write("is already given (device #"); out.write(decimal: first); out.write(" of partition ")
            writeName(owner, plan, &out); out.write("); a device belongs to one partition only")
        case .deviceTooManyInterrupts(_, _, let n):
            out.write("has "); out.write(decimal: n); out.write(" interrupts; at most ")
            out.write(decimal: DeviceLimits.maxInterrupts); out.write(" are supported")
        case .deviceInterruptOutOfRange(_, _, let source):
            out.write("uses PLIC source "); out.write(decimal: UInt64(source)); out.write("; sources 1 to ")
            out.write(decimal: UInt64(DeviceLimits.maxSource - 1)); out.write(" are supported")
        case .deviceNeedsTrustedDMA:
            out.write("can do DMA, which reaches all memory without an IOMMU: its partition must say dma = \"trusted\"")
        case .deviceInterruptsNotOnPLIC:
            out.write("has interrupts that go to another interrupt controller than the PLIC (its interrupt-parent or ")
            out.write("interrupts-extended); only PLIC interrupts can be delivered to a partition")
        case .deviceInterruptShared(_, _, let source, let first, let owner):
            out.write("uses PLIC source "); out.write(decimal: UInt64(source)); out.write(", which device #")
            out.write(decimal: first); out.write(" of partition "); writeName(owner, plan, &out)
            out.write(" also uses; an interrupt belongs to one partition only")
        default: break      // not a device error: write(to:plan:) handles it
        }
    }

    private func writeDevicePath<S: TextSink>(_ d: Int, _ plan: PartitionPlan, _ out: inout S) {
        if d < plan.devices.count && plan.devices[d].path.count > 0 {
            plan.devices[d].path.withBytes { out.write(bytes: $0) }
        } else {
            out.write("#"); out.write(decimal: d)
        }
    }

    private func writeDeviceRegion<S: TextSink>(_ d: Int, _ plan: PartitionPlan, _ out: inout S) {
        guard d < plan.devices.count else { return }
        let r = plan.devices[d].region
        out.write(hex: r.base.raw); out.write(" + "); out.write(hex: r.size)
    }

    private func writeChannelName<S: TextSink>(_ index: Int, _ plan: PartitionPlan, _ out: inout S) {
        out.write("#"); out.write(decimal: index)
        if index < plan.channelCount && plan.channel(index).name.count > 0 {
            out.write(" \""); plan.channel(index).name.withBytes { out.write(bytes: $0) }; out.write("\"")
        }
    }

    private func writeName<S: TextSink>(_ index: Int, _ plan: PartitionPlan, _ out: inout S) {
        out.write("#"); out.write(decimal: index)
        if index < plan.count && plan[index].name.count > 0 {
            out.write(" \""); plan[index].name.withBytes { out.write(bytes: $0) }; out.write("\"")
        }
    }

    private func writeRegion<S: TextSink>(_ plan: PartitionPlan, _ p: Int, _ out: inout S) {
        guard p < plan.count else { return }
        let r = plan[p].memory
        out.write(hex: r.base.raw); out.write(", "); out.write(hex: r.base.raw &+ r.size)
    }
}
