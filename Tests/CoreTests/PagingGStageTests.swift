// The G-stage builder: every page of built tables walked and checked, superpage choice, errors.

import Testing
@testable import BulkheadCore

private let KiB4 = PageSize.base
private let MiB2 = PageSize.mega
private let GiB1 = PageSize.giga

/// Checks `translate` over `guest ..< guest + size` by `stride`: each address maps to
/// `host + offset` with `permissions` and a leaf of `pageSize`. Also probes an unaligned offset.
private func expectMapped<M: PageTableMemory>(
    _ table: GStageTable, _ memory: M, guest: UInt64, host: UInt64, size: UInt64,
    stride: UInt64 = KiB4, permissions: PagePermissions = .readWriteExecute, pageSize: UInt64,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    var offset: UInt64 = 0
    var failures = 0
    while offset < size && failures < 5 {
        for probe in [offset, offset + 0x123, offset + stride - 1] where probe < size {
            let t = table.translate(GuestPhysAddr(guest + probe), memory: memory)
            let want = GStageTranslation(host: HostPhysAddr(host + probe), permissions: permissions, pageSize: pageSize)
            if t != want {
                failures += 1
                Issue.record("guest \(String(guest + probe, radix: 16)): got \(String(describing: t)), want \(want)",
                             sourceLocation: sourceLocation)
            }
        }
        offset += stride
    }
}

/// Checks that nothing is mapped in `guest ..< guest + size`, probing by `stride`.
private func expectUnmapped<M: PageTableMemory>(
    _ table: GStageTable, _ memory: M, guest: UInt64, size: UInt64, stride: UInt64 = KiB4,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    var offset: UInt64 = 0
    while offset < size {
        if let t = table.translate(GuestPhysAddr(guest + offset), memory: memory) {
            Issue.record("guest \(String(guest + offset, radix: 16)) unexpectedly maps to \(t)",
                         sourceLocation: sourceLocation)
            return
        }
        offset += stride
    }
}

@Suite("Paging: G-stage builder")
struct PagingGStageTests {
    // MARK: Building partitions

    @Test func partitionOfSixMiBUsesThreeTwoMiBLeaves() throws {
        var memory = FakeTableMemory()
        let table = try GStageTable.buildPartition(spec: pagingSpec(base: 0x8200_0000, size: 3 * MiB2),
                                                   vmid: 1, memory: &memory)
        let contents = GStageContents(table, memory)
        #expect(contents.leafSizes == [MiB2, MiB2, MiB2])
        #expect(contents.leaves.map(\.guest.raw) == [0x8000_0000, 0x8020_0000, 0x8040_0000])
        #expect(contents.leaves.map(\.pte.address.raw) == [0x8200_0000, 0x8220_0000, 0x8240_0000])
        #expect(contents.tables.map(\.level) == [2, 1])
        for leaf in contents.leaves {
            #expect(leaf.pte.u && leaf.pte.a && leaf.pte.d && !leaf.pte.g)
            #expect(leaf.pte.permissions == .readWriteExecute)
        }
        // Every 4 KiB page of the partition, and nothing on either side.
        expectMapped(table, memory, guest: 0x8000_0000, host: 0x8200_0000, size: 3 * MiB2, pageSize: MiB2)
        expectUnmapped(table, memory, guest: 0x8000_0000 - 4 * MiB2, size: 4 * MiB2)
        expectUnmapped(table, memory, guest: 0x8060_0000, size: 4 * MiB2)
        // Superpage-stride probes across the whole guest-physical space outside the partition.
        var g: UInt64 = 0
        while g < Sv39x4.addressLimit {
            if g < 0x8000_0000 || g >= 0x8060_0000 {
                #expect(table.translate(GuestPhysAddr(g), memory: memory) == nil)
            }
            g += MiB2 * 61  // an odd stride that lands in many different tables
        }
        #expect(table.translate(GuestPhysAddr(Sv39x4.addressLimit), memory: memory) == nil)
        #expect(table.translate(GuestPhysAddr(UInt64.max), memory: memory) == nil)
    }

    @Test func oneGiBAlignedGiBIsOneLeaf() throws {
        var memory = FakeTableMemory()
        let table = try GStageTable.buildPartition(spec: pagingSpec(base: 0x1_4000_0000, size: GiB1), vmid: 2, memory: &memory)
        let contents = GStageContents(table, memory)
        #expect(contents.leafSizes == [GiB1])
        #expect(contents.leaves.first?.guest == guestRAMBase)
        #expect(contents.tables.count == 1)  // the root alone
        expectMapped(table, memory, guest: 0x8000_0000, host: 0x1_4000_0000, size: GiB1, stride: MiB2, pageSize: GiB1)
        expectMapped(table, memory, guest: 0x8000_0000, host: 0x1_4000_0000, size: 4 * MiB2, pageSize: GiB1)
        expectMapped(table, memory, guest: 0xBFC0_0000, host: 0x1_7FC0_0000, size: 2 * MiB2, pageSize: GiB1)
        expectUnmapped(table, memory, guest: 0x7FC0_0000, size: 2 * MiB2)
        expectUnmapped(table, memory, guest: 0xC000_0000, size: 4 * MiB2)
    }

    @Test func fourKiBAlignedRegionUsesFourKiBLeaves() throws {
        var memory = FakeTableMemory()
        let table = try GStageTable.create(vmid: 3, memory: &memory)
        try table.map(guest: GuestPhysAddr(0x8000_1000), host: HostPhysAddr(0x8200_3000), size: 5 * KiB4,
                      permissions: .readWrite, memory: &memory)
        let contents = GStageContents(table, memory)
        #expect(contents.leafSizes == Array(repeating: KiB4, count: 5))
        #expect(contents.tables.map(\.level) == [2, 1, 0])
        expectMapped(table, memory, guest: 0x8000_1000, host: 0x8200_3000, size: 5 * KiB4,
                     permissions: .readWrite, pageSize: KiB4)
        expectUnmapped(table, memory, guest: 0x8000_0000, size: KiB4)
        expectUnmapped(table, memory, guest: 0x8000_6000, size: 2 * MiB2)
    }

    @Test func hostAlignmentLimitsThePageSize() throws {
        // Guest 2 MiB-aligned, host only 4 KiB-aligned: 512 small pages, not one superpage.
        var memory = FakeTableMemory()
        let table = try GStageTable.create(vmid: 3, memory: &memory)
        try table.map(guest: GuestPhysAddr(0x8000_0000), host: HostPhysAddr(0x8200_1000), size: MiB2,
                      permissions: .readExecute, memory: &memory)
        let contents = GStageContents(table, memory)
        #expect(contents.leaves.count == 512)
        #expect(contents.leaves.allSatisfy { $0.size == KiB4 })
        expectMapped(table, memory, guest: 0x8000_0000, host: 0x8200_1000, size: MiB2,
                     permissions: .readExecute, pageSize: KiB4)
    }

    @Test func mixedSizesTakeTheLargestPageAtEachStep() throws {
        var memory = FakeTableMemory()
        let table = try GStageTable.create(vmid: 4, memory: &memory)
        // 4 KiB lead-in, then 1 GiB, then 2 MiB, then 4 KiB.
        let size = KiB4 + GiB1 + MiB2 + KiB4
        try table.map(guest: GuestPhysAddr(0x3FFF_F000), host: HostPhysAddr(0x1_3FFF_F000), size: size,
                      permissions: .readWriteExecute, memory: &memory)
        let contents = GStageContents(table, memory)
        #expect(contents.leafSizes == [KiB4, GiB1, MiB2, KiB4])
        #expect(contents.leaves.map(\.guest.raw) == [0x3FFF_F000, 0x4000_0000, 0x8000_0000, 0x8020_0000])
        expectMapped(table, memory, guest: 0x3FFF_F000, host: 0x1_3FFF_F000, size: KiB4, pageSize: KiB4)
        expectMapped(table, memory, guest: 0x4000_0000, host: 0x1_4000_0000, size: GiB1, stride: MiB2, pageSize: GiB1)
        expectMapped(table, memory, guest: 0x8000_0000, host: 0x1_8000_0000, size: MiB2, pageSize: MiB2)
        expectMapped(table, memory, guest: 0x8020_0000, host: 0x1_8020_0000, size: KiB4, pageSize: KiB4)
        expectUnmapped(table, memory, guest: 0x8020_1000, size: MiB2)
        expectUnmapped(table, memory, guest: 0x3FE0_0000, size: MiB2 - KiB4)
    }

    @Test func adjacentRangesAndSeveralPermissions() throws {
        var memory = FakeTableMemory()
        let table = try GStageTable.create(vmid: 5, memory: &memory)
        try table.map(guest: GuestPhysAddr(0x8000_0000), host: HostPhysAddr(0x9000_0000), size: MiB2,
                      permissions: .readExecute, memory: &memory)
        try table.map(guest: GuestPhysAddr(0x8020_0000), host: HostPhysAddr(0x9400_0000), size: MiB2,
                      permissions: .readWrite, memory: &memory)
        try table.map(guest: GuestPhysAddr(0x1000_0000), host: HostPhysAddr(0x1000_0000), size: KiB4,
                      permissions: .readWrite, memory: &memory)  // an MMIO-like page
        expectMapped(table, memory, guest: 0x8000_0000, host: 0x9000_0000, size: MiB2,
                     permissions: .readExecute, pageSize: MiB2)
        expectMapped(table, memory, guest: 0x8020_0000, host: 0x9400_0000, size: MiB2,
                     permissions: .readWrite, pageSize: MiB2)
        expectMapped(table, memory, guest: 0x1000_0000, host: 0x1000_0000, size: KiB4,
                     permissions: .readWrite, pageSize: KiB4)
        expectUnmapped(table, memory, guest: 0x1000_1000, size: MiB2)
        // The two ranges in the same GiB share one level-1 table.
        // One level-1 table per GiB touched, one level-0 table for the 4 KiB page.
        #expect(GStageContents(table, memory).tables.map(\.level) == [2, 1, 0, 1])
    }

    @Test func twoPartitionsHaveDisjointTablesAndMemory() throws {
        var memory = FakeTableMemory()
        let a = try GStageTable.buildPartition(spec: pagingSpec(base: 0x8200_0000, size: 8 * MiB2), vmid: 1, memory: &memory)
        // B: 4 KiB pages in its tail, to force level-0 tables too.
        let b = try GStageTable.buildPartition(spec: pagingSpec(base: 0x8400_0000, size: 4 * MiB2), vmid: 2, memory: &memory)
        try b.map(guest: GuestPhysAddr(0x8080_0000), host: HostPhysAddr(0x8480_0000), size: 3 * KiB4,
                  permissions: .readWrite, memory: &memory)
        let ca = GStageContents(a, memory)
        let cb = GStageContents(b, memory)
        #expect(a.root != b.root)
        for ra in ca.tableRanges {
            for rb in cb.tableRanges { #expect(!ra.overlaps(rb), "table pages shared") }
        }
        for ra in ca.mappedHostRanges {
            #expect(ra.lowerBound >= 0x8200_0000 && ra.upperBound <= 0x8200_0000 + 8 * MiB2)
            for rb in cb.mappedHostRanges { #expect(!ra.overlaps(rb), "host memory shared") }
        }
        for rb in cb.mappedHostRanges {
            #expect(rb.lowerBound >= 0x8400_0000 && rb.upperBound <= 0x8400_0000 + 4 * MiB2 + 3 * KiB4)
        }
        // Same guest address, different host memory.
        #expect(a.translate(guestRAMBase, memory: memory)?.host == HostPhysAddr(0x8200_0000))
        #expect(b.translate(guestRAMBase, memory: memory)?.host == HostPhysAddr(0x8400_0000))
        #expect(a.hgatp.vmid == 1 && b.hgatp.vmid == 2)
        #expect(a.hgatp.root == a.root && b.hgatp.root == b.root)
        #expect(a.hgatp.mode == .sv39x4)
        expectUnmapped(a, memory, guest: 0x8100_0000, size: 4 * MiB2)
    }

    @Test func rootIsSixteenKiBAligned() throws {
        var memory = FakeTableMemory(base: 0x8100_1000)  // first possible spot is not 16 KiB-aligned
        let table = try GStageTable.create(vmid: 9, memory: &memory)
        #expect(table.root.isAligned(to: 0x4000))
        #expect(memory.allocations.first?.bytes == 0x4000)
        let hgatp = table.hgatp
        #expect(hgatp.raw == UInt64(8) << 60 | UInt64(9) << 44 | table.root.raw >> 12)
        #expect(table.hgatp(vmid: 7)?.vmid == 7)
        #expect(table.hgatp(vmid: 0x4000) == nil)
    }

    // MARK: Errors

    @Test func argumentErrors() throws {
        var memory = FakeTableMemory()
        let table = try GStageTable.create(vmid: 1, memory: &memory)
        let g = GuestPhysAddr(0x8000_0000), h = HostPhysAddr(0x8200_0000)
        #expect(throws: PagingError.emptyRange) {
            try table.map(guest: g, host: h, size: 0, permissions: .readWrite, memory: &memory)
        }
        #expect(throws: PagingError.misaligned) {
            try table.map(guest: g.adding(0x800), host: h, size: KiB4, permissions: .readWrite, memory: &memory)
        }
        #expect(throws: PagingError.misaligned) {
            try table.map(guest: g, host: h.adding(0x800), size: KiB4, permissions: .readWrite, memory: &memory)
        }
        #expect(throws: PagingError.misaligned) {
            try table.map(guest: g, host: h, size: 0x1800, permissions: .readWrite, memory: &memory)
        }
        #expect(throws: PagingError.invalidPermissions) {
            try table.map(guest: g, host: h, size: KiB4, permissions: .write, memory: &memory)
        }
        #expect(throws: PagingError.invalidPermissions) {
            try table.map(guest: g, host: h, size: KiB4, permissions: .empty, memory: &memory)
        }
        let limit = Sv39x4.addressLimit
        #expect(throws: PagingError.guestAddressTooLarge) {
            try table.map(guest: GuestPhysAddr(limit - KiB4), host: h, size: 2 * KiB4, permissions: .readWrite, memory: &memory)
        }
        #expect(throws: PagingError.guestAddressTooLarge) {
            try table.map(guest: GuestPhysAddr(limit), host: h, size: KiB4, permissions: .readWrite, memory: &memory)
        }
        #expect(throws: PagingError.guestAddressTooLarge) {
            try table.map(guest: GuestPhysAddr(UInt64.max - 0xFFF), host: h, size: 2 * KiB4,
                          permissions: .readWrite, memory: &memory)
        }
        #expect(throws: PagingError.hostAddressTooLarge) {
            try table.map(guest: g, host: HostPhysAddr(Sv39x4.physicalLimit - KiB4), size: 2 * KiB4,
                          permissions: .readWrite, memory: &memory)
        }
        #expect(throws: PagingError.hostAddressTooLarge) {
            try table.map(guest: g, host: HostPhysAddr(UInt64.max - 0xFFF), size: 2 * KiB4,
                          permissions: .readWrite, memory: &memory)
        }
        // The highest guest page and the highest host page are fine.
        try table.map(guest: GuestPhysAddr(limit - KiB4), host: HostPhysAddr(Sv39x4.physicalLimit - KiB4),
                      size: KiB4, permissions: .readOnly, memory: &memory)
        #expect(table.translate(GuestPhysAddr(limit - 1), memory: memory)?.host == HostPhysAddr(Sv39x4.physicalLimit - 1))
        // Nothing else was mapped by the failed calls.
        #expect(GStageContents(table, memory).leaves.count == 1)
    }

    @Test func overlapIsRejectedWithoutSideEffects() throws {
        var memory = FakeTableMemory()
        let table = try GStageTable.create(vmid: 1, memory: &memory)
        try table.map(guest: GuestPhysAddr(0x8010_0000), host: HostPhysAddr(0x9010_0000), size: 2 * KiB4,
                      permissions: .readWrite, memory: &memory)
        let before = GStageContents(table, memory).leaves.count
        let allocationsBefore = memory.allocations.count
        // A 2 MiB superpage that would cover the existing 4 KiB pages.
        #expect(throws: PagingError.overlap(GuestPhysAddr(0x8010_0000))) {
            try table.map(guest: GuestPhysAddr(0x8000_0000), host: HostPhysAddr(0x9200_0000), size: MiB2,
                          permissions: .readWrite, memory: &memory)
        }
        // A range ending inside, one starting inside, one exactly equal.
        #expect(throws: PagingError.overlap(GuestPhysAddr(0x8010_0000))) {
            try table.map(guest: GuestPhysAddr(0x800F_F000), host: HostPhysAddr(0x9200_0000), size: 2 * KiB4,
                          permissions: .readWrite, memory: &memory)
        }
        #expect(throws: PagingError.overlap(GuestPhysAddr(0x8010_1000))) {
            try table.map(guest: GuestPhysAddr(0x8010_1000), host: HostPhysAddr(0x9200_0000), size: 4 * KiB4,
                          permissions: .readWrite, memory: &memory)
        }
        #expect(throws: PagingError.overlap(GuestPhysAddr(0x8010_0000))) {
            try table.map(guest: GuestPhysAddr(0x8010_0000), host: HostPhysAddr(0x9010_0000), size: 2 * KiB4,
                          permissions: .readWrite, memory: &memory)
        }
        #expect(GStageContents(table, memory).leaves.count == before)
        #expect(memory.allocations.count == allocationsBefore)
        expectUnmapped(table, memory, guest: 0x8000_0000, size: 0x10_0000)
        expectUnmapped(table, memory, guest: 0x8010_2000, size: MiB2 - 0x10_2000)

        // Inside a superpage, and a 1 GiB range over an existing superpage.
        try table.map(guest: GuestPhysAddr(0x4000_0000), host: HostPhysAddr(0x1_0000_0000), size: MiB2,
                      permissions: .readWrite, memory: &memory)
        #expect(throws: PagingError.overlap(GuestPhysAddr(0x4000_3000))) {
            try table.map(guest: GuestPhysAddr(0x4000_3000), host: HostPhysAddr(0x9000_0000), size: KiB4,
                          permissions: .readWrite, memory: &memory)
        }
        #expect(throws: PagingError.overlap(GuestPhysAddr(0x4000_0000))) {
            try table.map(guest: GuestPhysAddr(0x4000_0000), host: HostPhysAddr(0x1_4000_0000), size: GiB1,
                          permissions: .readWrite, memory: &memory)
        }
    }

    @Test func outOfTableMemory() throws {
        // Room for the root only: creating works, the first mapping needing a table does not.
        var small = FakeTableMemory(capacity: 0x4000)
        let table = try GStageTable.create(vmid: 1, memory: &small)
        #expect(throws: PagingError.outOfTableMemory) {
            try table.map(guest: GuestPhysAddr(0x8000_0000), host: HostPhysAddr(0x8200_0000), size: MiB2,
                          permissions: .readWrite, memory: &small)
        }
        // A 1 GiB leaf sits in the root and needs no more memory.
        try table.map(guest: GuestPhysAddr(0x4000_0000), host: HostPhysAddr(0x4000_0000), size: GiB1,
                      permissions: .readWrite, memory: &small)
        var tiny = FakeTableMemory(capacity: 0x2000)
        #expect(throws: PagingError.outOfTableMemory) { try GStageTable.create(vmid: 1, memory: &tiny) }
        // Root plus a level-1 table, but no level-0 table.
        var partial = FakeTableMemory(capacity: 0x5000)
        #expect(throws: PagingError.outOfTableMemory) {
            try GStageTable.buildPartition(spec: pagingSpec(base: 0x8200_0000, size: MiB2 + KiB4),
                                           vmid: 1, memory: &partial)
        }
    }

    @Test func unusableTableMemoryAndVMID() throws {
        var skewed = FakeTableMemory()
        skewed.misalign = true
        #expect(throws: PagingError.unusableTableMemory) { try GStageTable.create(vmid: 1, memory: &skewed) }
        var memory = FakeTableMemory()
        #expect(throws: PagingError.invalidVMID) { try GStageTable.create(vmid: 0x4000, memory: &memory) }
        #expect(memory.allocations.isEmpty)
        #expect(GStageTable(root: HostPhysAddr(0x8100_0000), vmid: 0x3FFF) != nil)
        #expect(GStageTable(root: HostPhysAddr(0x8100_1000), vmid: 1) == nil)
        #expect(GStageTable(root: HostPhysAddr(0x8100_0000), vmid: 0x4000) == nil)
        #expect(throws: PagingError.emptyRange) {
            try GStageTable.buildPartition(spec: pagingSpec(base: 0x8200_0000, size: 0), vmid: 1, memory: &memory)
        }
    }

    @Test func existingEmptyTableIsFilledWithSmallerPages() throws {
        // As after an out-of-memory failure: a level-1 table linked but holding no leaves.
        var memory = FakeTableMemory()
        let table = try GStageTable.create(vmid: 1, memory: &memory)
        let fresh = memory.allocate(bytes: 0x1000, alignment: 0x1000)
        let l1 = try #require(fresh)
        let slot = table.root.adding(Sv39x4.VPN2.extract(from: 0x8000_0000) * 8)
        memory.store(try #require(PTE.table(next: l1)).raw, at: slot)
        try table.map(guest: GuestPhysAddr(0x8000_0000), host: HostPhysAddr(0x1_4000_0000), size: GiB1,
                      permissions: .readWriteExecute, memory: &memory)
        let contents = GStageContents(table, memory)
        #expect(contents.leaves.count == 512)
        #expect(contents.leaves.allSatisfy { $0.size == MiB2 })
        expectMapped(table, memory, guest: 0x8000_0000, host: 0x1_4000_0000, size: GiB1, stride: MiB2, pageSize: MiB2)
    }

    @Test func corruptTablesAreRefusedAndNeverTranslate() throws {
        var memory = FakeTableMemory()
        let table = try GStageTable.create(vmid: 1, memory: &memory)
        try table.map(guest: GuestPhysAddr(0x8000_0000), host: HostPhysAddr(0x9000_0000), size: KiB4,
                      permissions: .readWrite, memory: &memory)
        let contents = GStageContents(table, memory)
        let l0 = try #require(contents.tables.first { $0.level == 0 }).address
        // A pointer entry at level 0 (no further level exists).
        memory.poke(try #require(PTE.table(next: l0)).raw, at: l0.adding(8))
        #expect(throws: PagingError.corruptTable(GuestPhysAddr(0x8000_1000))) {
            try table.map(guest: GuestPhysAddr(0x8000_1000), host: HostPhysAddr(0x9000_1000), size: KiB4,
                          permissions: .readWrite, memory: &memory)
        }
        #expect(table.translate(GuestPhysAddr(0x8000_1000), memory: memory) == nil)
        // V=1 with W but not R (reserved).
        memory.poke(PTE(raw: 0).with(PTE.V, true).with(PTE.W, true).with(PTE.U, true).raw, at: l0.adding(16))
        #expect(throws: PagingError.corruptTable(GuestPhysAddr(0x8000_2000))) {
            try table.map(guest: GuestPhysAddr(0x8000_2000), host: HostPhysAddr(0x9000_2000), size: KiB4,
                          permissions: .readWrite, memory: &memory)
        }
        #expect(table.translate(GuestPhysAddr(0x8000_2000), memory: memory) == nil)
    }

    @Test func walkerFaultsLikeHardware() throws {
        var memory = FakeTableMemory()
        let table = try GStageTable.create(vmid: 1, memory: &memory)
        try table.map(guest: GuestPhysAddr(0x8000_0000), host: HostPhysAddr(0x9000_0000), size: 4 * KiB4,
                      permissions: .readWrite, memory: &memory)
        let l0 = try #require(GStageContents(table, memory).tables.first { $0.level == 0 }).address
        let good = PTE(raw: memory.load(l0))
        #expect(table.translate(GuestPhysAddr(0x8000_0000), memory: memory) != nil)
        // U=0: G-stage accesses are U-mode accesses, so this faults.
        memory.poke(good.with(PTE.U, false).raw, at: l0.adding(8))
        #expect(table.translate(GuestPhysAddr(0x8000_1000), memory: memory) == nil)
        // Reserved bits 60:54 set.
        memory.poke(good.with(PTE.Reserved, 1).raw, at: l0.adding(16))
        #expect(table.translate(GuestPhysAddr(0x8000_2000), memory: memory) == nil)
        // A 2 MiB superpage whose PPN is not 2 MiB-aligned.
        let root = table.root
        let l1 = PTE(raw: memory.load(root.adding(Sv39x4.VPN2.extract(from: 0x8000_0000) * 8))).address
        let misaligned = try #require(PTE.gStageLeaf(address: HostPhysAddr(0x9000_1000), permissions: .readWrite))
        memory.poke(misaligned.raw, at: l1.adding(8))
        #expect(table.translate(GuestPhysAddr(0x8020_0000), memory: memory) == nil)
    }

    // MARK: The kernel's pool

    @Test func pageTablePoolOverRealMemory() throws {
        let size = 0x1_0000
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 0x4000)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0xFF, count: size)
        let base = UInt64(UInt(bitPattern: buffer))
        var pool = try #require(PageTablePool(region: HostRegion(base: HostPhysAddr(base + 8), size: UInt64(size) - 8)))
        #expect(PageTablePool(region: HostRegion(base: HostPhysAddr(base), size: 0)) == nil)
        #expect(PageTablePool(region: HostRegion(base: HostPhysAddr(0), size: 0x1000)) == nil)

        let table = try GStageTable.buildPartition(spec: pagingSpec(base: 0x8200_0000, size: 2 * MiB2),
                                                   vmid: 3, memory: &pool)
        #expect(table.root.isAligned(to: 0x4000))
        #expect(table.root.raw >= base + 8)
        try table.map(guest: GuestPhysAddr(0x8040_0000), host: HostPhysAddr(0x8240_0000), size: 2 * KiB4,
                      permissions: .readOnly, memory: &pool)
        expectMapped(table, pool, guest: 0x8000_0000, host: 0x8200_0000, size: 2 * MiB2, pageSize: MiB2)
        expectMapped(table, pool, guest: 0x8040_0000, host: 0x8240_0000, size: 2 * KiB4,
                     permissions: .readOnly, pageSize: KiB4)
        expectUnmapped(table, pool, guest: 0x8040_2000, size: MiB2 - 2 * KiB4)
        // Every allocated table was zeroed first (the 0xFF fill never shows up as an entry).
        let contents = GStageContents(table, pool)
        #expect(contents.leaves.count == 4)
        #expect(contents.tables.count == 3)
        // Outside the region: loads read as invalid, stores are dropped.
        #expect(pool.load(HostPhysAddr(base)) == 0)
        pool.store(0, at: HostPhysAddr(base))
        #expect(buffer.load(as: UInt64.self) == UInt64.max)
        #expect(pool.load(HostPhysAddr(base + UInt64(size))) == 0)
        #expect(pool.load(table.root.adding(4)) == 0)  // misaligned
        // Exhaustion and bad requests.
        #expect(pool.allocate(bytes: UInt64(size), alignment: 8) == nil)
        #expect(pool.allocate(bytes: 8, alignment: 3) == nil)
        #expect(pool.allocate(bytes: 0, alignment: 8) == nil)
        let used = pool.used
        let block = pool.allocate(bytes: 12, alignment: 8)
        let small = try #require(block)
        #expect(pool.used == used + 16)  // rounded up to whole entries
        #expect(pool.load(small) == 0 && pool.load(small.adding(8)) == 0)
    }
}
