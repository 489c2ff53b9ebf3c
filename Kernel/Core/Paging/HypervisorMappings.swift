// What the hypervisor's own Sv39 table maps: its image by section, its stacks' guard pages left out, RAM and devices.
//
// Permissions (README "Threat model"): code read+execute, read-only data read-only, data
// and stacks read+write, RAM outside the image read+write, device registers read+write, nothing
// executable but the code. Left unmapped, so any access faults: a guard page below every stack,
// what firmware reserves (its own memory, behind PMP anyway), page 0 and everything that is
// neither RAM nor a device the hypervisor drives.

/// Up to `capacity` page-rounded regions (guard pages, exclusions, device windows).
public struct RegionList: Sendable {
    public static let capacity = 24
    public private(set) var entries: InlineArray<24, HostRegion>
    public private(set) var count: Int

    public init() {
        entries = InlineArray(repeating: HostRegion(base: HostPhysAddr(0), size: 0))
        count = 0
    }

    /// Adds `region` rounded out to whole pages; false when the list is full or the region wraps.
    @discardableResult
    public mutating func append(_ region: HostRegion) -> Bool {
        guard count < Self.capacity, region.size > 0, let end = region.end else { return false }
        let low = region.base.raw & ~(PageSize.base &- 1)
        let (high, overflow) = end.raw.addingReportingOverflow(PageSize.base &- 1)
        guard !overflow else { return false }
        entries[count] = HostRegion(base: HostPhysAddr(low), size: (high & ~(PageSize.base &- 1)) &- low)
        count += 1
        return true
    }

    public subscript(index: Int) -> HostRegion { entries[index] }

    /// The regions sorted by base, overlapping or touching ones merged.
    public func merged() -> RegionList {
        var sorted = self
        var i = 1
        while i < sorted.count {
            let item = sorted.entries[i]
            var j = i
            while j > 0 && sorted.entries[j - 1].base.raw > item.base.raw {
                sorted.entries[j] = sorted.entries[j - 1]
                j -= 1
            }
            sorted.entries[j] = item
            i += 1
        }
        var out = RegionList()
        i = 0
        while i < sorted.count {
            let r = sorted.entries[i]
            if out.count > 0, let last = out.entries[out.count - 1].end, r.base.raw <= last.raw {
                let end = max(last.raw, r.base.raw &+ r.size)
                out.entries[out.count - 1].size = end &- out.entries[out.count - 1].base.raw
            } else {
                out.entries[out.count] = r
                out.count += 1
            }
            i += 1
        }
        return out
    }
}

/// The hypervisor image's sections, as its linker script lays them out (page aligned).
public struct HypervisorImage: Sendable {
    /// Code: read+execute.
    public var text: HostRegion
    /// Read-only data and the relocation records: read-only.
    public var readOnly: HostRegion
    /// Everything after it (.got, .data, .bss with the stacks, the tables, buffers): read+write,
    /// except `guards`.
    public var data: HostRegion
    /// The guard page below each stack: left unmapped.
    public var guards: RegionList

    public init(text: HostRegion, readOnly: HostRegion, data: HostRegion, guards: RegionList) {
        self.text = text; self.readOnly = readOnly; self.data = data; self.guards = guards
    }

    /// The whole image.
    public var whole: HostRegion { HostRegion(base: text.base, size: data.base.raw &+ data.size &- text.base.raw) }
}

public enum HypervisorMappings {
    /// Builds the table: the image by section, RAM minus the image and `excluded`, and `devices`.
    public static func build<M: PageTableMemory>(
        image: HypervisorImage, ram: HostRegion, excluded: RegionList, devices: RegionList, memory: inout M
    ) throws(PagingError) -> HostPageTable {
        let table = try HostPageTable.create(memory: &memory)
        try table.map(image.text, .readExecute, memory: &memory)
        try table.map(image.readOnly, .readOnly, memory: &memory)
        try mapGaps(of: image.data, excluding: image.guards, .readWrite, table, &memory)
        var outside = excluded
        guard outside.append(image.whole) else { throw .outOfTableMemory }
        try mapGaps(of: ram, excluding: outside, .readWrite, table, &memory)
        let windows = devices.merged()
        var i = 0
        while i < windows.count {
            // A device window inside RAM would overlap the RAM mapping: it is RAM's permissions then.
            if !windows[i].overlaps(ram) { try table.map(windows[i], .readWrite, memory: &memory) }
            i += 1
        }
        return table
    }

    /// Maps the whole pages of `region` that no region of `holes` covers.
    static func mapGaps<M: PageTableMemory>(
        of region: HostRegion, excluding holes: RegionList, _ permissions: PagePermissions,
        _ table: HostPageTable, _ memory: inout M
    ) throws(PagingError) {
        guard let regionEnd = region.end else { throw .misaligned }
        var cursor = (region.base.raw &+ PageSize.base &- 1) & ~(PageSize.base &- 1)
        let end = regionEnd.raw & ~(PageSize.base &- 1)
        let sorted = holes.merged()
        var i = 0
        while i < sorted.count && cursor < end {
            let hole = sorted[i]
            let holeEnd = hole.base.raw &+ hole.size
            if holeEnd > cursor && hole.base.raw < end {
                if hole.base.raw > cursor {
                    try table.map(HostRegion(base: HostPhysAddr(cursor), size: hole.base.raw &- cursor), permissions, memory: &memory)
                }
                cursor = holeEnd
            }
            i += 1
        }
        if cursor < end {
            try table.map(HostRegion(base: HostPhysAddr(cursor), size: end &- cursor), permissions, memory: &memory)
        }
    }
}
