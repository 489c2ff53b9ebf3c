// Each CSR layout against the bit positions in the RISC-V privileged spec (H extension chapter).

import Testing
@testable import BulkheadCore

/// One field's expected position, as the spec's register figure draws it.
struct LayoutSpecField: Sendable, CustomTestStringConvertible {
    let name: String
    let field: BitField
    let high: UInt64
    let low: UInt64
    init(_ name: String, _ field: BitField, _ high: UInt64, _ low: UInt64) {
        self.name = name; self.field = field; self.high = high; self.low = low
    }
    init(_ name: String, _ field: BitField, bit: UInt64) { self.init(name, field, bit, bit) }
    var testDescription: String { "\(name) = bits \(high):\(low)" }
}

let csrSpecFields: [LayoutSpecField] = [
    // hstatus (HSXLEN=64)
    LayoutSpecField("hstatus.VSBE", Hstatus.VSBE, bit: 5),
    LayoutSpecField("hstatus.GVA", Hstatus.GVA, bit: 6),
    LayoutSpecField("hstatus.SPV", Hstatus.SPV, bit: 7),
    LayoutSpecField("hstatus.SPVP", Hstatus.SPVP, bit: 8),
    LayoutSpecField("hstatus.HU", Hstatus.HU, bit: 9),
    LayoutSpecField("hstatus.VGEIN", Hstatus.VGEIN, 17, 12),
    LayoutSpecField("hstatus.VTVM", Hstatus.VTVM, bit: 20),
    LayoutSpecField("hstatus.VTW", Hstatus.VTW, bit: 21),
    LayoutSpecField("hstatus.VTSR", Hstatus.VTSR, bit: 22),
    LayoutSpecField("hstatus.VSXL", Hstatus.VSXL, 33, 32),
    // sstatus (SXLEN=64)
    LayoutSpecField("sstatus.SIE", Sstatus.SIE, bit: 1),
    LayoutSpecField("sstatus.SPIE", Sstatus.SPIE, bit: 5),
    LayoutSpecField("sstatus.UBE", Sstatus.UBE, bit: 6),
    LayoutSpecField("sstatus.SPP", Sstatus.SPP, bit: 8),
    LayoutSpecField("sstatus.VS", Sstatus.VS, 10, 9),
    LayoutSpecField("sstatus.FS", Sstatus.FS, 14, 13),
    LayoutSpecField("sstatus.XS", Sstatus.XS, 16, 15),
    LayoutSpecField("sstatus.SUM", Sstatus.SUM, bit: 18),
    LayoutSpecField("sstatus.MXR", Sstatus.MXR, bit: 19),
    LayoutSpecField("sstatus.SPELP", Sstatus.SPELP, bit: 23),
    LayoutSpecField("sstatus.SDT", Sstatus.SDT, bit: 24),
    LayoutSpecField("sstatus.UXL", Sstatus.UXL, 33, 32),
    LayoutSpecField("sstatus.SD", Sstatus.SD, bit: 63),
    // hgatp (HSXLEN=64)
    LayoutSpecField("hgatp.PPN", Hgatp.PPN, 43, 0),
    LayoutSpecField("hgatp.VMID", Hgatp.VMID, 57, 44),
    LayoutSpecField("hgatp.MODE", Hgatp.MODE, 63, 60),
    // scause
    LayoutSpecField("scause.Code", Scause.Code, 62, 0),
    LayoutSpecField("scause.Interrupt", Scause.Interrupt, bit: 63),
    // hcounteren
    LayoutSpecField("hcounteren.CY", Hcounteren.CY, bit: 0),
    LayoutSpecField("hcounteren.TM", Hcounteren.TM, bit: 1),
    LayoutSpecField("hcounteren.IR", Hcounteren.IR, bit: 2),
    // henvcfg
    LayoutSpecField("henvcfg.FIOM", Henvcfg.FIOM, bit: 0),
    LayoutSpecField("henvcfg.LPE", Henvcfg.LPE, bit: 2),
    LayoutSpecField("henvcfg.SSE", Henvcfg.SSE, bit: 3),
    LayoutSpecField("henvcfg.CBIE", Henvcfg.CBIE, 5, 4),
    LayoutSpecField("henvcfg.CBCFE", Henvcfg.CBCFE, bit: 6),
    LayoutSpecField("henvcfg.CBZE", Henvcfg.CBZE, bit: 7),
    LayoutSpecField("henvcfg.PMM", Henvcfg.PMM, 33, 32),
    LayoutSpecField("henvcfg.DTE", Henvcfg.DTE, bit: 59),
    LayoutSpecField("henvcfg.ADUE", Henvcfg.ADUE, bit: 61),
    LayoutSpecField("henvcfg.PBMTE", Henvcfg.PBMTE, bit: 62),
    LayoutSpecField("henvcfg.STCE", Henvcfg.STCE, bit: 63),
]

/// The mask a field must have, built bit by bit (independently of BitField's own arithmetic).
func layoutExpectedMask(high: UInt64, low: UInt64) -> UInt64 {
    var m: UInt64 = 0
    for b in low...high { m |= UInt64(1) << b }
    return m
}

@Suite("CSR layouts")
struct CSRLayoutTests {
    @Test("field position matches the spec", arguments: csrSpecFields)
    func fieldPosition(_ spec: LayoutSpecField) {
        #expect(spec.field.low == spec.low)
        #expect(spec.field.high == spec.high)
        #expect(spec.field.mask == layoutExpectedMask(high: spec.high, low: spec.low))
        // Writing all ones into the field through the generic accessor touches exactly its bits.
        var r = Hstatus(raw: 0)
        r[spec.field] = UInt64.max
        #expect(r.raw == layoutExpectedMask(high: spec.high, low: spec.low))
        var s = Hstatus(raw: UInt64.max)
        s[spec.field] = 0
        #expect(s.raw == ~layoutExpectedMask(high: spec.high, low: spec.low))
    }

    @Test func bitFieldArithmetic() {
        let f = BitField(bits: 17, 12)
        #expect(f.width == 6)
        #expect(f.valueMask == 0x3F)
        #expect(f.mask == 0x3_F000)
        #expect(f.extract(from: 0x2_5000) == 0x25)
        #expect(f.insert(0x3, into: 0xFFFF_FFFF) == 0xFFFC_3FFF)
        // Too-wide values are truncated to the field, never spill into neighbours.
        #expect(f.insert(0xFFF, into: 0) == 0x3_F000)
        #expect(f.fits(63))
        #expect(!f.fits(64))
        let whole = BitField(bits: 63, 0)
        #expect(whole.valueMask == UInt64.max)
        #expect(whole.extract(from: 0x1234) == 0x1234)
        let top = BitField(bit: 63)
        #expect(top.mask == 0x8000_0000_0000_0000)
    }

    @Test func hstatusAccessors() {
        var h = Hstatus()
        h.spv = true
        #expect(h.raw == 1 << 7)
        h.spvp = true
        h.vtw = true
        #expect(h.raw == 0x20_0180)
        h.vgein = 5
        #expect(h.raw == 0x20_0180 | 5 << 12)
        h.vsxl = .rv64
        #expect(h.raw >> 32 == 2)
        #expect(h.vsxl == .rv64)
        h.spv = false
        #expect(!h.spv && h.spvp && h.vtw && h.vgein == 5)
        let all = Hstatus(raw: UInt64.max)
        #expect(all.vsbe && all.gva && all.hu && all.vtvm && all.vtsr && all.vgein == 63)
        #expect(Hstatus(raw: 0).vsxl == nil)
    }

    @Test func sstatusAccessors() {
        var s = Sstatus()
        s.spp = true
        s.spie = true
        s.sum = true
        #expect(s.raw == 1 << 8 | 1 << 5 | 1 << 18)
        s.fs = .dirty
        #expect(s.raw & 0x6000 == 0x6000)
        #expect(s.fs == .dirty)
        s.vs = .initial
        #expect(s[Sstatus.VS] == 1)
        s.uxl = .rv64
        #expect(s.raw >> 32 == 2)
        #expect(Sstatus(raw: 1 << 63).sd)
        #expect(Sstatus(raw: 2).sie)
    }

    @Test func hgatpSv39x4() throws {
        let h = try #require(Hgatp(sv39x4Root: HostPhysAddr(0x8020_4000), vmid: 5))
        #expect(h.raw == UInt64(8) << 60 | UInt64(5) << 44 | 0x80204)
        #expect(h.mode == .sv39x4)
        #expect(h.vmid == 5)
        #expect(h.ppn == 0x80204)
        #expect(h.root == HostPhysAddr(0x8020_4000))
        #expect(Hgatp.Mode.sv39x4.rawValue == 8)
        #expect(Hgatp.Mode.sv48x4.rawValue == 9)
        #expect(Hgatp.Mode.sv57x4.rawValue == 10)
        #expect(Hgatp.bare.raw == 0 && Hgatp.bare.mode == .bare)
        // Largest VMID (14 bits) and largest root still fit; anything beyond does not.
        let top = try #require(Hgatp(sv39x4Root: HostPhysAddr((UInt64(1) << 56) - 0x4000), vmid: 0x3FFF))
        #expect(top.vmid == 0x3FFF)
        #expect(top.raw >> 60 == 8)
        #expect(Hgatp(sv39x4Root: HostPhysAddr(0x8020_4000), vmid: 0x4000) == nil)
        #expect(Hgatp(sv39x4Root: HostPhysAddr(0x8020_1000), vmid: 1) == nil)  // not 16 KiB-aligned
        #expect(Hgatp(sv39x4Root: HostPhysAddr(UInt64(1) << 56), vmid: 1) == nil)  // PPN > 44 bits
        #expect(Hgatp(raw: UInt64(3) << 60).mode == nil)
    }

    @Test func exceptionCodesMatchTheSpecTable() {
        let table: [(ExceptionCode, UInt64)] = [
            (.instructionAddressMisaligned, 0), (.instructionAccessFault, 1), (.illegalInstruction, 2),
            (.breakpoint, 3), (.loadAddressMisaligned, 4), (.loadAccessFault, 5),
            (.storeAddressMisaligned, 6), (.storeAccessFault, 7), (.ecallFromU, 8), (.ecallFromHS, 9),
            (.ecallFromVS, 10), (.ecallFromM, 11), (.instructionPageFault, 12), (.loadPageFault, 13),
            (.storePageFault, 15), (.doubleTrap, 16), (.softwareCheck, 18), (.hardwareError, 19),
            (.instructionGuestPageFault, 20), (.loadGuestPageFault, 21), (.virtualInstruction, 22),
            (.storeGuestPageFault, 23),
        ]
        for (code, value) in table { #expect(code.rawValue == value) }
        for reserved: UInt64 in [14, 17, 24, 31, 48, 64] { #expect(ExceptionCode(rawValue: reserved) == nil) }
        let interrupts: [(InterruptCode, UInt64)] = [
            (.ssi, 1), (.vssi, 2), (.msi, 3), (.sti, 5), (.vsti, 6), (.mti, 7),
            (.sei, 9), (.vsei, 10), (.mei, 11), (.sgei, 12), (.lcofi, 13),
        ]
        for (code, value) in interrupts { #expect(code.rawValue == value) }
    }

    @Test func scauseDecoding() {
        #expect(Scause(raw: 10).cause == .exception(.ecallFromVS))
        #expect(Scause(raw: 20).cause == .exception(.instructionGuestPageFault))
        #expect(Scause(raw: 21).cause == .exception(.loadGuestPageFault))
        #expect(Scause(raw: 22).cause == .exception(.virtualInstruction))
        #expect(Scause(raw: 23).cause == .exception(.storeGuestPageFault))
        #expect(Scause(raw: 1 << 63 | 5).cause == .interrupt(.sti))
        #expect(Scause(raw: 1 << 63 | 9).cause == .interrupt(.sei))
        #expect(Scause(raw: 1 << 63 | 10).isInterrupt)
        #expect(Scause(raw: 14).cause == .unknown(interrupt: false, code: 14))
        #expect(Scause(raw: 1 << 63 | 4).cause == .unknown(interrupt: true, code: 4))
        #expect(Scause(raw: 1 << 63 | 1 << 62).cause == .unknown(interrupt: true, code: 1 << 62))
        #expect(Scause(interrupt: .vsti).raw == 0x8000_0000_0000_0006)
        #expect(Scause(exception: .loadGuestPageFault).raw == 21)
    }

    @Test func interruptBits() {
        #expect(InterruptSet.ssi.raw == 1 << 1)
        #expect(InterruptSet.vssi.raw == 1 << 2)
        #expect(InterruptSet.sti.raw == 1 << 5)
        #expect(InterruptSet.vsti.raw == 1 << 6)
        #expect(InterruptSet.sei.raw == 1 << 9)
        #expect(InterruptSet.vsei.raw == 1 << 10)
        #expect(InterruptSet.sgei.raw == 1 << 12)
        #expect(InterruptSet.lcofi.raw == 1 << 13)
        // hideleg's standard writable bits are 10, 6 and 2; hvip's writable bits are the same.
        #expect(Hideleg.vsLevel.raw == 0x444)
        #expect(Hvip.vsLevel.raw == 1 << 10 | 1 << 6 | 1 << 2)
        #expect(InterruptSet.sLevel.raw == 1 << 9 | 1 << 5 | 1 << 1)
        var pending = Hip(raw: 0)
        pending.insert(.vsti)
        #expect(pending.contains(.vsti) && pending.contains(InterruptCode.vsti))
        #expect(!pending.contains(.sti))
        pending.remove(.vsti)
        #expect(pending.isEmpty)
        #expect((Sie.sti | .sei).contains(.sti))
    }

    @Test func hedelegBits() {
        #expect(ExceptionSet(.ecallFromU).raw == 1 << 8)
        #expect(ExceptionSet(.virtualInstruction).raw == 1 << 22)
        var writable: UInt64 = 0
        for bit: UInt64 in [1, 2, 3, 4, 5, 6, 7, 8, 12, 13, 15, 18, 19] { writable |= 1 << bit }
        #expect(Hedeleg.hedelegWritable.raw == writable)
        var readOnlyZero: UInt64 = 0
        for bit: UInt64 in [9, 10, 11, 16, 20, 21, 22, 23] { readOnlyZero |= 1 << bit }
        #expect(Hedeleg.hedelegReadOnlyZero.raw == readOnlyZero)
        // A guest's own exceptions are all delegable and never include the hypervisor's.
        #expect(Hedeleg.guestOwned.raw == 1 << 0 | 1 << 3 | 1 << 8 | 1 << 12 | 1 << 13 | 1 << 15)
        #expect(!Hedeleg.guestOwned.intersects(Hedeleg.hedelegReadOnlyZero))
        #expect(!Hedeleg.guestOwned.contains(.ecallFromVS))
    }

    @Test func hcounterenBits() {
        var c = Hcounteren()
        c.tm = true
        #expect(c.raw == 2)
        c.cy = true
        c.ir = true
        #expect(c.raw == 7)
        #expect(Hcounteren.HPM(3)?.mask == 1 << 3)
        #expect(Hcounteren.HPM(31)?.mask == 1 << 31)
        #expect(Hcounteren.HPM(2) == nil)
        #expect(Hcounteren.HPM(32) == nil)
    }

    @Test func henvcfgBits() {
        var e = Henvcfg()
        e.stce = true
        #expect(e.raw == UInt64(1) << 63)
        e.pbmte = true
        #expect(e.raw == UInt64(3) << 62)
        e.fiom = true
        e.cbze = true
        e.cbcfe = true
        e.cbie = .invalidate
        #expect(e.raw == UInt64(3) << 62 | 0xF1)
        #expect(e.cbie == .invalidate)
        e.adue = true
        #expect(e.raw & 1 << 61 != 0)
        #expect(Henvcfg(raw: 2 << 4).cbie == nil)
    }

    @Test func htvalGuestPhysicalAddress() {
        // A load guest-page fault at guest-physical 0x8000_0403: htval holds bits 63:2.
        let htval = Htval(raw: 0x8000_0403 >> 2)
        #expect(htval.guestPhysicalAddress(stval: 0xFFFF_FFC0_0000_0403) == GuestPhysAddr(0x8000_0403))
        #expect(htval.guestPhysicalAddress(stval: 0x1000) == GuestPhysAddr(0x8000_0400))
        // A fault of an implicit VS-stage page-table read: low two bits are zero.
        let implicit = Htinst(raw: 0x3000)
        #expect(htval.guestPhysicalAddress(stval: 3, htinst: implicit) == GuestPhysAddr(0x8000_0400))
        // The widest Sv39x4 address survives the shift.
        let top = Htval(raw: ((UInt64(1) << 41) - 4) >> 2)
        #expect(top.guestPhysicalAddress(stval: 2) == GuestPhysAddr((UInt64(1) << 41) - 2))
        #expect(Htval(raw: 0).guestPhysicalAddress(stval: 0x1234) == nil)
    }

    @Test func htinstValues() {
        #expect(Htinst(raw: 0x2000).pseudoinstruction == .read32)
        #expect(Htinst(raw: 0x2020).pseudoinstruction == .write32)
        #expect(Htinst(raw: 0x3000).pseudoinstruction == .read64)
        #expect(Htinst(raw: 0x3020).pseudoinstruction == .write64)
        #expect(Htinst(raw: 0x3020).isImplicitVSStageAccess)
        #expect(Htinst(raw: 0x3020).transformedInstruction == nil)
        // Transformed `lw a0, 0(a0)` (rs1 replaced by the address offset 0): 0x00002503.
        let lw = Htinst(raw: 0x0000_2503)
        #expect(lw.transformedInstruction == 0x2503)
        #expect(!lw.wasCompressed && !lw.isImplicitVSStageAccess)
        // A compressed load reports bits 1:0 = 01; bit 1 is restored in the decoded encoding.
        let compressed = Htinst(raw: 0x0000_2501)
        #expect(compressed.wasCompressed)
        #expect(compressed.transformedInstruction == 0x2503)
        // Values with bits 63:32 set are not defined today: treated as no information.
        #expect(Htinst(raw: 1 << 32 | 0x2503).transformedInstruction == nil)
        #expect(Htinst(raw: 0).isZero && Htinst(raw: 0).transformedInstruction == nil)
    }
}
