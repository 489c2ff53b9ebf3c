// HostSSWI: the board's ACLINT supervisor software-interrupt device (SSWI), as its device tree describes it.
//
// RISC-V ACLINT specification v1.0 (riscv-aclint), chapter 4 "SSWI": the device has one 32-bit
// SETSSIP register per hart it is wired to, 4 bytes apart from its base; writing 1 to the low bit
// sets that hart's supervisor software interrupt pending bit (sip.SSIP); reads return zero. The
// node is the first enabled one compatible with "riscv,aclint-sswi" (QEMU virt with `aclint=on`);
// its `interrupts-extended` lists one <phandle cause> pair per register, in register order, the
// phandle naming a hart's "riscv,cpu-intc" node and the cause 1 (supervisor software interrupt).
// With it the hypervisor rings another hart itself (one store) instead of asking the SBI firmware
// for an IPI (an ecall into M-mode, which then raises SSIP by its own means).

public struct HostSSWI: Sendable {
    /// The register block (`reg` entry 0, translated).
    public var region = HostRegion(base: HostPhysAddr(0), size: 0)
    /// Per hart id (< Limits.harts): the index of its SETSSIP register, or -1 when the device is not wired to it.
    public var registerIndex = PerHart<Int32>(repeating: -1)

    public init() {}

    /// The board's SSWI device, or `nil` when the tree has none.
    public init?(reader: FDTReader) throws(FDTError) {
        guard let node = try reader.firstNode(compatibleWith: "riscv,aclint-sswi") else { return nil }
        self.init()
        let reg = try reader.translatedReg(of: node)
        region = HostRegion(base: HostPhysAddr(reg.address), size: reg.size)
        guard let harts = try reader.findProperty("interrupts-extended", in: node) else { return nil }
        var pair = 0
        while pair &* 2 &+ 1 < harts.cellCount {
            let phandle = try harts.cell(at: pair &* 2)
            let cause = try harts.cell(at: pair &* 2 &+ 1)
            if cause == 1, UInt64(pair &+ 1) &* 4 <= reg.size,
               let hart = try HostPLIC.hartOfInterruptController(reader, phandle: phandle), hart < Limits.harts {
                registerIndex[Int(hart)] = Int32(truncatingIfNeeded: pair)
            }
            pair &+= 1
        }
    }

    /// The address of `hart`'s SETSSIP register, if the device is wired to it.
    public func setSSIPAddress(ofHart hart: Int) -> HostPhysAddr? {
        guard hart >= 0, hart < Limits.harts, registerIndex[hart] >= 0 else { return nil }
        return region.base.adding(UInt64(registerIndex[hart]) &* 4)
    }

    /// Whether every hart in `mask` (ids < Limits.harts) can be rung through the device.
    public func reaches(hartMask mask: UInt64) -> Bool {
        var h = 0
        while h < Limits.harts {
            if mask & (UInt64(1) << UInt64(h)) != 0 && registerIndex[h] < 0 { return false }
            h &+= 1
        }
        return true
    }
}
