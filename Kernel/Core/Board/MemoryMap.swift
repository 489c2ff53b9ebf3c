// MemoryMap: places the hypervisor's shared pool and bundle staging area from where its image was loaded.
//
// Placement (a pure function of its inputs, the same in the kernel and the CLI):
//   image      [imageStart, imageEnd): where the loader put the hypervisor (runtime addresses)
//   pool       the first 2 MiB boundary at or after imageEnd, `poolSize` bytes
//   staging    the first 16 MiB boundary at or after the pool's end, `stagingSize` bytes
//   reservation [imageStart, staging end): the hypervisor's memory, never a partition's
// The image must lie inside RAM, the reservation must end inside RAM, and the reservation must
// not overlap any firmware-reserved region. QEMU virt (loaded at 0x8020_0000, image under 2 MiB):
// pool 0x8040_0000 + 8 MiB, staging 0x8100_0000 + 48 MiB, reservation ends at 0x8400_0000.

/// Why the hypervisor's memory cannot be placed.
public enum MemoryMapError: Error, Equatable, Sendable {
    /// The hypervisor image is empty or not inside the RAM the device tree describes.
    case imageOutsideRAM(image: HostRegion, ram: HostRegion)
    /// The pool and staging area would end at `end`, past the end of RAM (or of the address space).
    case pastRAMEnd(end: UInt64, ram: HostRegion)
    /// The hypervisor's reservation overlaps memory the firmware keeps.
    case overlapsFirmware(reservation: HostRegion, firmware: HostRegion)
}

extension MemoryMapError {
    public func write<S: TextSink>(to out: inout S) {
        switch self {
        case .imageOutsideRAM(let image, let ram):
            out.write("the hypervisor image ["); writeRange(image, &out); out.write(") is not inside RAM [")
            writeRange(ram, &out); out.write(")")
        case .pastRAMEnd(let end, let ram):
            out.write("the shared pool and bundle staging area would end at "); out.write(hex: end)
            out.write(", past the end of RAM ["); writeRange(ram, &out); out.write(")")
        case .overlapsFirmware(let reservation, let firmware):
            out.write("the hypervisor's memory ["); writeRange(reservation, &out)
            out.write(") overlaps memory the firmware reserves ["); writeRange(firmware, &out); out.write(")")
        }
    }

    private func writeRange<S: TextSink>(_ region: HostRegion, _ out: inout S) {
        out.write(hex: region.base.raw); out.write(", "); out.write(hex: region.base.raw &+ region.size)
    }
}

/// Where the hypervisor's memory is: its image, shared pool, staging area and their union.
public struct MemoryMap: Equatable, Sendable {
    /// Alignment of the shared pool's base (a G-stage superpage).
    public static let poolAlignment: UInt64 = 0x20_0000
    /// Alignment of the staging area's base.
    public static let stagingAlignment: UInt64 = 0x100_0000

    public var image: HostRegion
    /// Where shared-memory channels get their memory.
    public var sharedPool: HostRegion
    /// Where a bundle is copied (or preloaded), verified and kept while partitions run.
    public var staging: HostRegion

    public init(image: HostRegion, sharedPool: HostRegion, staging: HostRegion) {
        self.image = image; self.sharedPool = sharedPool; self.staging = staging
    }

    /// [image start, staging end): no partition may be given any of it (empty before placement).
    public var reservation: HostRegion {
        HostRegion(base: image.base, size: (staging.base.raw &+ staging.size) &- image.base.raw)
    }

    /// All regions empty at address 0 (before placement).
    public static let none = MemoryMap(image: HostRegion(base: HostPhysAddr(0), size: 0),
                                       sharedPool: HostRegion(base: HostPhysAddr(0), size: 0),
                                       staging: HostRegion(base: HostPhysAddr(0), size: 0))

    /// Places the pool and the staging area after `image` (see the top of this file).
    public static func place(image: HostRegion, ram: HostRegion, firmwareReserved: ReservedRegions,
                             poolSize: UInt64, stagingSize: UInt64) throws(MemoryMapError) -> MemoryMap {
        guard image.size > 0, ram.contains(image), let imageEnd = image.end?.raw, let ramEnd = ram.end?.raw else {
            throw .imageOutsideRAM(image: image, ram: ram)
        }
        guard let poolBase = alignUp(imageEnd, poolAlignment), let poolEnd = add(poolBase, poolSize),
              let stagingBase = alignUp(poolEnd, stagingAlignment), let stagingEnd = add(stagingBase, stagingSize) else {
            throw .pastRAMEnd(end: UInt64.max, ram: ram)
        }
        guard stagingEnd <= ramEnd else { throw .pastRAMEnd(end: stagingEnd, ram: ram) }
        let map = MemoryMap(image: image, sharedPool: HostRegion(base: HostPhysAddr(poolBase), size: poolSize),
                            staging: HostRegion(base: HostPhysAddr(stagingBase), size: stagingSize))
        if let firmware = firmwareReserved.firstOverlap(with: map.reservation) {
            throw .overlapsFirmware(reservation: map.reservation, firmware: firmware.region)
        }
        return map
    }

    /// `firmware` followed by the hypervisor's reservation: what a plan is validated against.
    /// (`firmware` holds at most `HostDescription.maxFirmwareReserved` entries, so there is room.)
    public func reserved(firmware: ReservedRegions) -> ReservedRegions {
        var list = firmware
        _ = list.append(ReservedRegion(reservation, kind: .hypervisor))
        return list
    }

    /// `hypervisor 0x80200000-0x80400000, shared pool 0x80400000 + 8 MiB, staging 0x81000000 + 48 MiB`.
    public func write<S: TextSink>(to out: inout S) {
        out.write("hypervisor "); out.write(hex: image.base.raw); out.write("-"); out.write(hex: image.base.raw &+ image.size)
        out.write(", shared pool "); out.write(hex: sharedPool.base.raw); out.write(" + "); out.write(size: sharedPool.size)
        out.write(", staging "); out.write(hex: staging.base.raw); out.write(" + "); out.write(size: staging.size)
    }

    private static func alignUp(_ value: UInt64, _ alignment: UInt64) -> UInt64? {
        let (sum, overflow) = value.addingReportingOverflow(alignment &- 1)
        return overflow ? nil : sum & ~(alignment &- 1)
    }

    private static func add(_ a: UInt64, _ b: UInt64) -> UInt64? {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? nil : sum
    }
}
