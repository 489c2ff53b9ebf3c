// The hypervisor's own Sv39 table: identity leaves, permissions by section, guard pages and holes unmapped.

import Testing
@testable import BulkheadCore

private func region(_ base: UInt64, _ size: UInt64) -> HostRegion { HostRegion(base: HostPhysAddr(base), size: size) }

@Suite("Paging: the hypervisor's own table")
struct PagingHostTableTests {
    // QEMU virt's shape: RAM 0x80000000 + 1 GiB, firmware 2 MiB, the image at 0x80200000.
    static let ram = region(0x8000_0000, 1 << 30)
    static let image = HypervisorImage(
        text: region(0x8020_0000, 0x2_c000), readOnly: region(0x8022_c000, 0x1_0000),
        data: region(0x8023_c000, 0x10_4000),
        guards: {
            var g = RegionList()
            g.append(region(0x8025_0000, 0x1000))      // below hart 0's stack
            g.append(region(0x8025_9000, 0x1000))      // below hart 1's stack
            return g
        }())

    static func build(devices: RegionList = RegionList()) throws -> (HostPageTable, FakeTableMemory) {
        var memory = FakeTableMemory(base: 0x9000_0000, capacity: 64 << 10)
        var excluded = RegionList()
        excluded.append(region(0x8000_0000, 0x20_0000))
        let table = try HypervisorMappings.build(image: image, ram: ram, excluded: excluded, devices: devices, memory: &memory)
        return (table, memory)
    }

    @Test func sectionsGetTheirPermissionsAndGuardsFault() throws {
        var devices = RegionList()
        devices.append(region(0x1000_0000, 0x100))        // a UART: one page
        devices.append(region(0x0c00_0000, 0x60_0000))    // a PLIC: three 2 MiB pages
        devices.append(region(0x1000_0000, 0x8))          // the same page again: merged
        let (table, memory) = try Self.build(devices: devices)
        func perms(_ a: UInt64) -> PagePermissions? { table.translate(a, memory: memory)?.permissions }

        #expect(perms(0x8020_0000) == .readExecute)
        #expect(perms(0x8022_bff8) == .readExecute)
        #expect(perms(0x8022_c000) == .readOnly)
        #expect(perms(0x8023_bfff) == .readOnly)
        #expect(perms(0x8023_c000) == .readWrite)
        #expect(perms(0x8024_ffff) == .readWrite)
        #expect(perms(0x8025_0000) == nil)               // guard pages
        #expect(perms(0x8025_0fff) == nil)
        #expect(perms(0x8025_1000) == .readWrite)
        #expect(perms(0x8025_9800) == nil)
        #expect(perms(0x8033_ffff) == .readWrite)        // the image's last page
        #expect(perms(0x8034_0000) == .readWrite)        // RAM after the image
        #expect(table.translate(0x8040_0000, memory: memory)?.pageSize == PageSize.mega)
        #expect(perms(0xbfff_ffff) == .readWrite)        // RAM's last byte
        #expect(perms(0xc000_0000) == nil)               // past RAM
        #expect(perms(0x8000_0000) == nil)               // firmware
        #expect(perms(0x801f_ffff) == nil)
        #expect(perms(0) == nil)                          // page 0
        #expect(perms(0x1000_0000) == .readWrite)
        #expect(perms(0x1000_1000) == nil)
        #expect(perms(0x0c5f_ffff) == .readWrite)
        #expect(table.translate(0x0c00_0000, memory: memory)?.pageSize == PageSize.mega)
        #expect(perms(0x0c60_0000) == nil)
        // Supervisor pages, global, A and D set; Sv39 with the root's page number in satp.
        #expect(table.satp == 8 << 60 | table.root.raw >> 12)
    }

    @Test func nothingButTheCodeIsExecutableAndAllLeavesAreIdentity() throws {
        let (table, memory) = try Self.build()
        var address: UInt64 = 0x8000_0000
        while address < 0xc000_0000 {
            if let t = table.translate(address, memory: memory) {
                let inText = address >= 0x8020_0000 && address < 0x8022_c000
                #expect(t.permissions.contains(.execute) == inText, "\(String(address, radix: 16))")
                #expect(t.permissions.contains(.write) == !(address >= 0x8020_0000 && address < 0x8023_c000))
            }
            address += 0x1000
        }
    }

    @Test func refusals() throws {
        var memory = FakeTableMemory(base: 0x9000_0000, capacity: 64 << 10)
        let table = try HostPageTable.create(memory: &memory)
        #expect(throws: PagingError.virtualAddressTooLarge) {
            try table.map(region((1 << 38) - 0x1000, 0x2000), .readWrite, memory: &memory)
        }
        #expect(throws: PagingError.misaligned) { try table.map(region(0x1000_0800, 0x1000), .readWrite, memory: &memory) }
        #expect(throws: PagingError.invalidPermissions) { try table.map(region(0x1000_0000, 0x1000), .write, memory: &memory) }
        try table.map(region(0x1000_0000, 0x2000), .readWrite, memory: &memory)
        #expect(throws: PagingError.overlap(GuestPhysAddr(0x1000_1000))) {
            try table.map(region(0x1000_1000, 0x1000), .readOnly, memory: &memory)
        }
        // Too little table memory for the whole map.
        var tiny = FakeTableMemory(base: 0x9000_0000, capacity: 8 << 10)
        #expect(throws: PagingError.outOfTableMemory) {
            _ = try HypervisorMappings.build(image: Self.image, ram: Self.ram, excluded: RegionList(), devices: RegionList(), memory: &tiny)
        }
    }

    @Test func regionListRoundsOutMergesAndSorts() {
        var list = RegionList()
        let added = [list.append(region(0x3000_0010, 0x10)), list.append(region(0x1000_0000, 0x1001)),
                     list.append(region(0x1000_2000, 0x1000)),      // touches the one before once rounded
                     list.append(region(0x5000, 0)), list.append(region(UInt64.max - 0x10, 0x100))]
        #expect(added == [true, true, true, false, false])
        let merged = list.merged()
        #expect(merged.count == 2)
        #expect(merged[0] == region(0x1000_0000, 0x3000))
        #expect(merged[1] == region(0x3000_0000, 0x1000))
    }
}
