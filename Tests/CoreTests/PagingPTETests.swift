// The Sv39 PTE layout against the spec's bit positions, and G-stage leaf/table entry encodings.

import Testing
@testable import BulkheadCore

let pteSpecFields: [LayoutSpecField] = [
    LayoutSpecField("pte.V", PTE.V, bit: 0),
    LayoutSpecField("pte.R", PTE.R, bit: 1),
    LayoutSpecField("pte.W", PTE.W, bit: 2),
    LayoutSpecField("pte.X", PTE.X, bit: 3),
    LayoutSpecField("pte.U", PTE.U, bit: 4),
    LayoutSpecField("pte.G", PTE.G, bit: 5),
    LayoutSpecField("pte.A", PTE.A, bit: 6),
    LayoutSpecField("pte.D", PTE.D, bit: 7),
    LayoutSpecField("pte.RSW", PTE.RSW, 9, 8),
    LayoutSpecField("pte.PPN", PTE.PPN, 53, 10),
    LayoutSpecField("pte.PPN[0]", PTE.PPN0, 18, 10),
    LayoutSpecField("pte.PPN[1]", PTE.PPN1, 27, 19),
    LayoutSpecField("pte.PPN[2]", PTE.PPN2, 53, 28),
    LayoutSpecField("pte.Reserved", PTE.Reserved, 60, 54),
    LayoutSpecField("pte.PBMT", PTE.PBMT, 62, 61),
    LayoutSpecField("pte.N", PTE.N, bit: 63),
    // Sv39x4 guest-physical address partitioning.
    LayoutSpecField("gpa.offset", Sv39x4.PageOffset, 11, 0),
    LayoutSpecField("gpa.VPN[0]", Sv39x4.VPN0, 20, 12),
    LayoutSpecField("gpa.VPN[1]", Sv39x4.VPN1, 29, 21),
    LayoutSpecField("gpa.VPN[2]", Sv39x4.VPN2, 40, 30),
]

@Suite("Paging: PTE layout")
struct PagingPTETests {
    @Test("field position matches the spec", arguments: pteSpecFields)
    func fieldPosition(_ spec: LayoutSpecField) {
        #expect(spec.field.low == spec.low)
        #expect(spec.field.high == spec.high)
        #expect(spec.field.mask == layoutExpectedMask(high: spec.high, low: spec.low))
    }

    @Test func ppnIsFortyFourBitsAndSplitsIntoThree() {
        #expect(PTE.PPN.width == 44)
        #expect(PTE.PPN0.width + PTE.PPN1.width + PTE.PPN2.width == 44)
        #expect(Sv39x4.VPN2.width == 11)  // 2048 root entries
        #expect(Sv39x4.offset(level: 0) == BitField(bits: 11, 0))
        #expect(Sv39x4.offset(level: 1) == BitField(bits: 20, 0))
        #expect(Sv39x4.offset(level: 2) == BitField(bits: 29, 0))
        #expect(Sv39x4.pageSize(level: 0) == 0x1000)
        #expect(Sv39x4.pageSize(level: 1) == 0x20_0000)
        #expect(Sv39x4.pageSize(level: 2) == 0x4000_0000)
        #expect(Sv39x4.rootEntries * Sv39x4.entrySize == Sv39x4.rootSize)
        #expect(Sv39x4.tableEntries * Sv39x4.entrySize == Sv39x4.tableSize)
    }

    @Test func gStageLeafEncoding() throws {
        let rwx = try #require(PTE.gStageLeaf(address: HostPhysAddr(0x8020_0000), permissions: .readWriteExecute))
        // PPN 0x80200 at bit 10; D A U X W R V set; G clear.
        #expect(rwx.raw == 0x80200 << 10 | 0b1101_1111)
        #expect(rwx.isLeaf && !rwx.isTable)
        #expect(rwx.u && rwx.a && rwx.d && !rwx.g)
        #expect(rwx[PTE.RSW] == 0 && rwx[PTE.Reserved] == 0 && rwx[PTE.PBMT] == 0 && !rwx[flag: PTE.N])
        #expect(rwx.address == HostPhysAddr(0x8020_0000))
        #expect(rwx.permissions == .readWriteExecute)

        let ro = try #require(PTE.gStageLeaf(address: HostPhysAddr(0x1000), permissions: .readOnly))
        #expect(ro.raw == 1 << 10 | 0b1101_0011)
        let xo = try #require(PTE.gStageLeaf(address: HostPhysAddr(0x1000), permissions: .execute))
        #expect(xo.raw == 1 << 10 | 0b1101_1001)
        #expect(xo.permissions == .execute)
        let rx = try #require(PTE.gStageLeaf(address: HostPhysAddr(0x1000), permissions: .readExecute))
        #expect(rx.permissions == .readExecute)

        // The largest 56-bit address is accepted, one page further is not.
        let top = try #require(PTE.gStageLeaf(address: HostPhysAddr((UInt64(1) << 56) - 0x1000), permissions: .read))
        #expect(top.ppn == (UInt64(1) << 44) - 1)
        #expect(PTE.gStageLeaf(address: HostPhysAddr(UInt64(1) << 56), permissions: .read) == nil)
        #expect(PTE.gStageLeaf(address: HostPhysAddr(0x8020_0800), permissions: .read) == nil)
    }

    @Test func leafPermissionEncodings() {
        #expect(PagePermissions.readWriteExecute.isValidLeaf)
        #expect(PagePermissions.readWrite.isValidLeaf)
        #expect(PagePermissions.readOnly.isValidLeaf)
        #expect(PagePermissions.execute.isValidLeaf)
        #expect(!PagePermissions.empty.isValidLeaf)  // that would be a pointer to a table
        #expect(!PagePermissions.write.isValidLeaf)  // W without R is reserved
        #expect(!(PagePermissions.write | .execute).isValidLeaf)
        #expect(!PagePermissions(rawValue: 8).isValidLeaf)
        #expect(PTE.gStageLeaf(address: HostPhysAddr(0x1000), permissions: .write) == nil)
        #expect(PTE.gStageLeaf(address: HostPhysAddr(0x1000), permissions: .empty) == nil)
    }

    @Test func tableEntryEncoding() throws {
        let t = try #require(PTE.table(next: HostPhysAddr(0x8100_4000)))
        #expect(t.raw == 0x81004 << 10 | 1)
        #expect(t.isTable && !t.isLeaf)
        #expect(!t.u && !t.a && !t.d)  // reserved in non-leaf PTEs: left clear
        #expect(t.address == HostPhysAddr(0x8100_4000))
        #expect(PTE.table(next: HostPhysAddr(0x8100_4008)) == nil)
        #expect(!PTE.invalid.v && !PTE.invalid.isLeaf && !PTE.invalid.isTable)
    }
}
