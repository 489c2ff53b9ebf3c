// Translating a guest-virtual address through the guest's own VS-stage page table, in software.
//
// RISC-V privileged spec, "Virtual-Address Translation Process" (Sv39, Sv48, Sv57): with vsatp
// holding MODE [63:60] (0 Bare, 8 Sv39, 9 Sv48, 10 Sv57) and the root's PPN [43:0]:
//   1. a = satp.ppn × 4096, i = LEVELS − 1.
//   2. pte = the 8 bytes at a + va.vpn[i] × 8 (a guest-physical address: read through the
//      partition's G-stage view of its RAM).
//   3. pte.v = 0, or pte.r = 0 and pte.w = 1, or a reserved bit set: page fault.
//   4. pte.r = pte.x = 0: a pointer; i −= 1 (i < 0: page fault), a = pte.ppn × 4096, step 2.
//   5. A leaf: a superpage (i > 0) whose low PPN fields are not zero is misaligned: page fault.
//   6. pa = pte.ppn with ppn[i−1:0] = va.vpn[i−1:0], and the page offset.
// Virtual addresses must be canonical (bits above the top VPN equal to its top bit). Permission and
// A/D bits are not checked: the walk serves the hypervisor reading an instruction the guest has
// already fetched, never a guest access.

public enum GuestPageWalk {
    /// vsatp.MODE values.
    public static let bare: UInt64 = 0, sv39: UInt64 = 8, sv48: UInt64 = 9, sv57: UInt64 = 10

    /// The guest-physical address of `va` under `vsatp`; nil on a page fault. `read` loads the
    /// 8-byte PTE at a guest-physical address (nil when it lies outside the guest's RAM).
    public static func translate(_ va: GuestVirtAddr, vsatp: UInt64,
                                 read: (GuestPhysAddr) -> UInt64?) -> GuestPhysAddr? {
        let mode = vsatp >> 60
        let levels: Int
        switch mode {
        case bare: return GuestPhysAddr(va.raw)
        case sv39: levels = 3
        case sv48: levels = 4
        case sv57: levels = 5
        default: return nil
        }
        let vaBits = UInt64(12 + 9 * levels)
        // Canonical: bits 63 .. vaBits-1 all equal.
        let top = va.raw >> (vaBits - 1)
        guard top == 0 || top == (UInt64.max >> (vaBits - 1)) else { return nil }
        var a = (vsatp & ((1 << 44) - 1)) << 12
        var i = levels - 1
        while true {
            let vpn = va.raw >> UInt64(12 + 9 * i) & 0x1FF
            guard let pte = read(GuestPhysAddr(a &+ vpn &* 8)) else { return nil }
            let v = pte & 1 != 0, r = pte & 2 != 0, w = pte & 4 != 0, x = pte & 8 != 0
            // Bits 60:54 are reserved (must be zero without Svpbmt/Svnapot, which we do not offer).
            guard v, !(w && !r), pte >> 54 & 0x7F == 0 else { return nil }
            let ppn = pte >> 10 & ((1 << 44) - 1)
            if !r && !x {
                i -= 1
                guard i >= 0 else { return nil }
                a = ppn << 12
                continue
            }
            let lowBits = UInt64(9 * i)
            guard ppn & ((1 << lowBits) - 1) == 0 else { return nil }     // misaligned superpage
            let pageMask: UInt64 = (1 << (12 + lowBits)) - 1
            return GuestPhysAddr(ppn << 12 | va.raw & pageMask)
        }
    }
}
