// Devices given to partitions: a board device-tree node's MMIO region and PLIC interrupts, with its owner.
//
// A device is named by its node's path in the board's device tree (e.g. "/soc/virtio_mmio@10008000").
// Its MMIO region is mapped into the owner's G-stage table at the same guest-physical address; its
// PLIC sources are delivered through the owner's virtual PLIC. The CLI fills a DeviceSpec from the
// board's tree (DeviceCatalog); the kernel checks it again against the tree it booted with.

/// Fixed limits of the device list.
public enum DeviceLimits {
    /// Devices in one plan, all partitions together.
    public static let maxDevices = 8
    /// PLIC sources one device may have.
    public static let maxInterrupts = 4
    /// PLIC source ids must be below this (the virtual PLIC's size).
    public static let maxSource: UInt32 = 256
    /// A device's MMIO base and size must be multiples of this (the G-stage page size).
    public static let alignment: UInt64 = PageSize.base
}

public typealias DevicePath = FixedText<64>
public typealias DeviceCompatible = FixedText<48>

/// One device, owned by one partition.
public struct DeviceSpec: Sendable {
    /// The partition that owns it (an index into the plan).
    public var owner: UInt8 = 0
    /// The node's full path in the board's device tree.
    public var path = DevicePath()
    /// The node's first `compatible` string, shown to the guest in its device tree.
    public var compatible = DeviceCompatible()
    /// The node's MMIO region (`reg` entry 0, translated): host-physical, and the same guest-physical.
    public var region = HostRegion(base: HostPhysAddr(0), size: 0)
    /// Its PLIC sources (`interrupts`), `interruptCount` of them.
    public var interrupts = InlineArray<4, UInt32>(repeating: 0)
    public var interruptCount = 0
    /// Whether the device can read and write memory by DMA (a virtio device): its owner must be
    /// `dma = "trusted"`, since without an IOMMU the device reaches any host-physical address.
    public var dmaCapable = false
    public init() {}

    /// Whether `source` is one of this device's interrupts.
    public func hasInterrupt(_ source: UInt32) -> Bool {
        var i = 0
        while i < interruptCount && i < DeviceLimits.maxInterrupts {
            if interrupts[i] == source { return true }
            i += 1
        }
        return false
    }

    /// The guest-physical address the device appears at in its owner (the same as host-physical).
    public var guestAddress: GuestPhysAddr { GuestPhysAddr(region.base.raw) }
}

/// The plan's devices, in configuration order (device `d` is the manifest's device record `d`).
public struct DeviceTable: Sendable {
    public var entries: InlineArray<8, DeviceSpec>
    public private(set) var count: Int
    public init() { entries = InlineArray(repeating: DeviceSpec()); count = 0 }
    /// Returns false when the table is already full.
    public mutating func append(_ device: DeviceSpec) -> Bool {
        guard count < DeviceLimits.maxDevices else { return false }
        entries[count] = device; count += 1; return true
    }
    /// Device `index` (callers keep `index < count`).
    public subscript(index: Int) -> DeviceSpec { entries[index & 7] }

    /// How many devices partition `p` owns.
    public func count(ownedBy p: Int) -> Int {
        var n = 0
        var d = 0
        while d < count { if Int(self[d].owner) == p { n += 1 }; d += 1 }
        return n
    }

    /// The PLIC sources partition `p`'s devices use.
    public func sources(ownedBy p: Int) -> PLICSourceSet {
        var set = PLICSourceSet()
        var d = 0
        while d < count {
            let device = self[d]
            if Int(device.owner) == p {
                var i = 0
                while i < device.interruptCount && i < DeviceLimits.maxInterrupts { set.insert(Int(device.interrupts[i])); i += 1 }
            }
            d += 1
        }
        return set
    }

    /// The partition whose device has PLIC source `source`, if any.
    public func owner(ofSource source: UInt32) -> Int? {
        var d = 0
        while d < count {
            if self[d].hasInterrupt(source) { return Int(self[d].owner) }
            d += 1
        }
        return nil
    }
}
