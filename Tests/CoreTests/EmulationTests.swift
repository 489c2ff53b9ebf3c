// MMIO emulation in Core: the load/store decoder (RV64I and RVC encodings), the software VS-stage
// page walk (Sv39/Sv48/Sv57), the virtual 16550 register model and console input focus.

import Testing
@testable import BulkheadCore

// Encoders for the instructions under test (RISC-V unprivileged spec, "RV32I/RV64I" and "RVC").
private func load(_ funct3: UInt32, rd: UInt32, rs1: UInt32, imm: UInt32 = 0) -> UInt32 {
    imm << 20 | rs1 << 15 | funct3 << 12 | rd << 7 | 0b000_0011
}
private func store(_ funct3: UInt32, rs2: UInt32, rs1: UInt32, imm: UInt32 = 0) -> UInt32 {
    (imm >> 5) << 25 | rs2 << 20 | rs1 << 15 | funct3 << 12 | (imm & 0x1F) << 7 | 0b010_0011
}
private func access(_ store: Bool, _ width: Int, _ signed: Bool, _ reg: Int, _ length: Int) -> MemoryAccess {
    MemoryAccess(isStore: store, width: width, signExtends: signed, register: reg, length: length)
}

@Suite("MMIO emulation: decoder, page walk, UART model, input focus")
struct EmulationTests {
    @Test func decodesEveryIntegerLoadAndStore() {
        let loads: [(UInt32, Int, Bool)] = [(0, 1, true), (1, 2, true), (2, 4, true), (3, 8, false),
                                            (4, 1, false), (5, 2, false), (6, 4, false)]
        for (f3, width, signed) in loads {
            #expect(InstructionDecoder.decode(load(f3, rd: 15, rs1: 14, imm: 5)) == access(false, width, signed, 15, 4))
        }
        #expect(InstructionDecoder.decode(load(7, rd: 1, rs1: 2)) == nil)
        for (f3, width) in [(UInt32(0), 1), (1, 2), (2, 4), (3, 8)] {
            #expect(InstructionDecoder.decode(store(f3, rs2: 9, rs1: 10, imm: 0x7FF)) == access(true, width, false, 9, 4))
        }
        #expect(InstructionDecoder.decode(store(4, rs2: 9, rs1: 10)) == nil)
        // Known encodings: lbu a5,0(a4) = 0x00074783; sb a5,0(a4) = 0x00f70023; ld s0,8(sp) = 0x00813403.
        #expect(InstructionDecoder.decode(0x0007_4783) == access(false, 1, false, 15, 4))
        #expect(InstructionDecoder.decode(0x00F7_0023) == access(true, 1, false, 15, 4))
        #expect(InstructionDecoder.decode(0x0081_3403) == access(false, 8, false, 8, 4))
        // Not loads or stores: flw, fsd, amoadd.w, lr.d, addi, ecall.
        for raw: UInt32 in [0x0005_2007, 0x00A5_3027, 0x00B5_202F, 0x1005_302F, 0x0015_0513, 0x0000_0073] {
            #expect(InstructionDecoder.decode(raw) == nil)
        }
    }

    @Test func decodesCompressedLoadsAndStores() {
        // c.lw a0,0(a1) = 0x4188; c.ld a5,8(a0) = 0x651c; c.sw a0,0(a1) = 0xc188; c.sd s1,16(s0) = 0xe804
        #expect(InstructionDecoder.decode(0x4188) == access(false, 4, true, 10, 2))
        #expect(InstructionDecoder.decode(0x651C) == access(false, 8, false, 15, 2))
        #expect(InstructionDecoder.decode(0xC188) == access(true, 4, false, 10, 2))
        #expect(InstructionDecoder.decode(0xE804) == access(true, 8, false, 9, 2))
        // c.lwsp a5,12(sp) = 0x47b2; c.ldsp ra,8(sp) = 0x60a2; c.swsp a0,4(sp) = 0xc22a; c.sdsp ra,8(sp) = 0xe406
        #expect(InstructionDecoder.decode(0x47B2) == access(false, 4, true, 15, 2))
        #expect(InstructionDecoder.decode(0x60A2) == access(false, 8, false, 1, 2))
        #expect(InstructionDecoder.decode(0xC22A) == access(true, 4, false, 10, 2))
        #expect(InstructionDecoder.decode(0xE406) == access(true, 8, false, 1, 2))
        // c.lwsp with rd = 0 is reserved; c.fld, c.fsd, c.addi, c.nop are not integer accesses.
        #expect(InstructionDecoder.decode(0x4032) == nil)
        for raw: UInt32 in [0x2188, 0xA188, 0x0505, 0x0001] { #expect(InstructionDecoder.decode(raw) == nil) }
        #expect(InstructionDecoder.isFullLength(0x4783) && !InstructionDecoder.isFullLength(0x4188))
    }

    @Test func loadedValuesAreExtendedAsTheLoadSays() {
        #expect(access(false, 1, true, 1, 4).registerValue(loaded: 0x80) == 0xFFFF_FFFF_FFFF_FF80)
        #expect(access(false, 1, false, 1, 4).registerValue(loaded: 0x1_80) == 0x80)
        #expect(access(false, 2, true, 1, 4).registerValue(loaded: 0x7FFF) == 0x7FFF)
        #expect(access(false, 4, true, 1, 4).registerValue(loaded: 0x8000_0000) == 0xFFFF_FFFF_8000_0000)
        #expect(access(false, 4, false, 1, 4).registerValue(loaded: 0xF_8000_0000) == 0x8000_0000)
        #expect(access(false, 8, false, 1, 4).registerValue(loaded: UInt64.max) == UInt64.max)
    }

    /// A guest RAM of page tables: `tables[gpa] = pte`.
    private struct Tables {
        var entries: [UInt64: UInt64] = [:]
        func read(_ gpa: GuestPhysAddr) -> UInt64? { entries[gpa.raw] ?? 0 }
        mutating func set(table: UInt64, index: UInt64, ppn: UInt64, flags: UInt64) { entries[table + index * 8] = ppn << 10 | flags }
    }
    private static let v: UInt64 = 1, r: UInt64 = 2, w: UInt64 = 4, x: UInt64 = 8

    @Test func walksSv39Sv48AndSv57() {
        for (mode, levels) in [(GuestPageWalk.sv39, 3), (GuestPageWalk.sv48, 4), (GuestPageWalk.sv57, 5)] {
            var t = Tables()
            let root: UInt64 = 0x8010_0000
            let va = GuestVirtAddr(UInt64.max << UInt64(12 + 9 * levels - 1) | 0x1234_5678 & ((1 << UInt64(12 + 9 * levels - 1)) - 1))
            var table = root
            for level in stride(from: levels - 1, to: 0, by: -1) {
                let next = 0x8020_0000 + UInt64(level) * 0x1000
                t.set(table: table, index: va.raw >> UInt64(12 + 9 * level) & 0x1FF, ppn: next >> 12, flags: Self.v)
                table = next
            }
            t.set(table: table, index: va.raw >> 12 & 0x1FF, ppn: 0x8765_4000 >> 12, flags: Self.v | Self.r | Self.x)
            let satp = mode << 60 | root >> 12
            #expect(GuestPageWalk.translate(va, vsatp: satp, read: t.read) == GuestPhysAddr(0x8765_4678), "mode \(mode)")
            // A non-canonical address faults.
            #expect(GuestPageWalk.translate(GuestVirtAddr(va.raw ^ (1 << 62)), vsatp: satp, read: t.read) == nil)
        }
    }

    @Test func superpagesFaultsAndBare() {
        var t = Tables()
        let root: UInt64 = 0x8010_0000
        let satp = GuestPageWalk.sv39 << 60 | root >> 12
        // A 1 GiB leaf at level 2 for VA 0xffffffff80000000 -> PA 0x80000000; a 2 MiB leaf below.
        t.set(table: root, index: 0x1FE, ppn: 0x8000_0000 >> 12, flags: Self.v | Self.r | Self.w | Self.x)
        #expect(GuestPageWalk.translate(GuestVirtAddr(0xFFFF_FFFF_8123_4567), vsatp: satp, read: t.read) == GuestPhysAddr(0x8123_4567))
        t.set(table: root, index: 1, ppn: 0x8011_0000 >> 12, flags: Self.v)
        t.set(table: 0x8011_0000, index: 3, ppn: 0x9000_0000 >> 12, flags: Self.v | Self.x)
        #expect(GuestPageWalk.translate(GuestVirtAddr(0x4060_1234), vsatp: satp, read: t.read) == GuestPhysAddr(0x9000_1234))
        // Misaligned superpage: a 2 MiB leaf whose PPN has low bits set.
        t.set(table: 0x8011_0000, index: 4, ppn: 0x9000_1000 >> 12, flags: Self.v | Self.x)
        #expect(GuestPageWalk.translate(GuestVirtAddr(0x4080_0000), vsatp: satp, read: t.read) == nil)
        // Invalid, write-only, reserved bits, a pointer at the last level, an unreadable PTE.
        t.set(table: 0x8011_0000, index: 5, ppn: 0x9000_0000 >> 12, flags: Self.w | Self.x)
        #expect(GuestPageWalk.translate(GuestVirtAddr(0x40A0_0000), vsatp: satp, read: t.read) == nil)
        t.set(table: 0x8011_0000, index: 6, ppn: 0x9000_0000 >> 12, flags: Self.v | Self.w)
        #expect(GuestPageWalk.translate(GuestVirtAddr(0x40C0_0000), vsatp: satp, read: t.read) == nil)
        t.entries[0x8011_0000 + 7 * 8] = 1 << 60 | (0x9000_0000 >> 12) << 10 | Self.v | Self.r
        #expect(GuestPageWalk.translate(GuestVirtAddr(0x40E0_0000), vsatp: satp, read: t.read) == nil)
        t.set(table: 0x8011_0000, index: 8, ppn: 0x8012_0000 >> 12, flags: Self.v)
        t.set(table: 0x8012_0000, index: 0, ppn: 0x8013_0000 >> 12, flags: Self.v)
        #expect(GuestPageWalk.translate(GuestVirtAddr(0x4100_0000), vsatp: satp, read: t.read) == nil)
        #expect(GuestPageWalk.translate(GuestVirtAddr(0x4060_1234), vsatp: satp, read: { _ in nil }) == nil)
        // Bare: the address is already guest-physical; unknown modes fault.
        #expect(GuestPageWalk.translate(GuestVirtAddr(0x8000_0042), vsatp: 0, read: t.read) == GuestPhysAddr(0x8000_0042))
        #expect(GuestPageWalk.translate(GuestVirtAddr(0x8000_0042), vsatp: 1 << 60, read: t.read) == nil)
    }

    @Test func uartRegisterModel() {
        var uart = VirtualUART()
        var input: [UInt8] = [0x41, 0x42]
        func write(_ offset: UInt64, _ value: UInt8) -> UInt8? { uart.write(offset: offset, value: value) }
        func read(_ offset: UInt64) -> UInt8 {
            uart.read(offset: offset, inputWaiting: !input.isEmpty, input: { input.isEmpty ? nil : input.removeFirst() })
        }
        #expect(VirtualUART.contains(GuestPhysAddr(0x1000_0000)) && VirtualUART.contains(GuestPhysAddr(0x1000_0FFF)))
        #expect(!VirtualUART.contains(GuestPhysAddr(0x1000_1000)) && !VirtualUART.contains(GuestPhysAddr(0x0FFF_FFFF)))
        #expect(read(5) == 0x61)                    // THRE | TEMT | DR
        #expect(read(0) == 0x41 && read(0) == 0x42)
        #expect(read(5) == 0x60 && read(0) == 0)
        #expect(write(0, 0x68) == 0x68)
        #expect(read(2) == 0x01)
        _ = write(2, 0x07)
        #expect(read(2) == 0xC1)
        // IIR as a level: transmitter empty when ETBEI, received data (higher priority) when ERBFI.
        _ = write(1, 0x02)
        #expect(read(2) == 0xC1)          // the first read after ETBEI is enabled (Linux's TXEN test)
        #expect(read(2) == 0xC2 && read(2) == 0xC2)
        _ = write(1, 0x03)
        #expect(read(2) == 0xC2)          // ETBEI stayed enabled
        input = [0x43]
        #expect(read(2) == 0xC4 && read(0) == 0x43 && read(2) == 0xC2)
        _ = write(1, 0x00)
        // DLAB: offsets 0 and 1 are the divisor latch; nothing is transmitted.
        _ = write(3, 0x83)
        #expect(write(0, 0x01) == nil)
        _ = write(1, 0x02)
        #expect(read(0) == 0x01 && read(1) == 0x02 && read(3) == 0x83)
        _ = write(3, 0x03)
        _ = write(1, 0xFF)
        #expect(read(1) == 0x0F)
        _ = write(7, 0x5A)
        #expect(read(7) == 0x5A && read(6) == 0xB0 && read(0x80) == 0)
        // Loopback: MSR mirrors MCR, output stays inside.
        _ = write(4, 0x1F)
        #expect(read(6) == 0xF0)
        #expect(write(0, 0x68) == nil)
    }

    @Test func inputFocus() {
        var focus = ConsoleFocus(count: 3, focused: 1)
        var queue = InputQueue()
        func feed(_ b: UInt8) -> InputEvent { focus.feed(b) }
        func push(_ b: UInt8) -> Bool { queue.push(b) }
        func pop() -> UInt8? { queue.pop() }
        #expect(feed(0x61) == .deliver(partition: 1, byte: 0x61))
        #expect(feed(0x02) == .none)
        #expect(feed(UInt8(ascii: "2")) == .focus(partition: 2))
        #expect(focus.focused == 2 && feed(0x62) == .deliver(partition: 2, byte: 0x62))
        #expect(feed(0x02) == .none && feed(0x02) == .deliver(partition: 2, byte: 0x02))
        #expect(feed(0x02) == .none && feed(UInt8(ascii: "7")) == .none && focus.focused == 2)
        #expect(feed(0x02) == .none && feed(0x78) == .none)
        #expect(feed(0x02) == .none && feed(UInt8(ascii: "s")) == .status && focus.focused == 2)
        #expect(feed(UInt8(ascii: "s")) == .deliver(partition: 2, byte: UInt8(ascii: "s")))   // not after a command
        for i in 0..<InputQueue.capacity { #expect(push(UInt8(i))) }
        #expect(!push(0xFF) && queue.count == InputQueue.capacity)
        for i in 0..<InputQueue.capacity { #expect(pop() == UInt8(i)) }
        #expect(pop() == nil && queue.isEmpty)
    }
}
