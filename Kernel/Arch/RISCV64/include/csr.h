// Single-instruction accessors for the CSRs and instructions the hypervisor uses (inlined into Swift).
// CSR numbers follow the RISC-V privileged spec (tables "Currently allocated RISC-V ... CSR addresses");
// they are written numerically so that the accessors assemble whatever -march the importer uses.
// H-extension instructions use .insn encodings for the same reason (swiftc silently drops inline asm
// that fails to assemble; the Makefile compiles this header once with clang -Werror as a guard).
#pragma once
#include <stdint.h>

#define BH_INLINE static inline __attribute__((always_inline))
#define BH_CSR_RW(name, num)                                                              \
    BH_INLINE uint64_t csr_read_##name(void) {                                            \
        uint64_t v; __asm__ volatile("csrr %0, " #num : "=r"(v)); return v; }             \
    BH_INLINE void csr_write_##name(uint64_t v) {                                         \
        __asm__ volatile("csrw " #num ", %0" :: "r"(v) : "memory"); }                     \
    BH_INLINE void csr_set_##name(uint64_t v) {                                           \
        __asm__ volatile("csrs " #num ", %0" :: "r"(v) : "memory"); }                     \
    BH_INLINE void csr_clear_##name(uint64_t v) {                                         \
        __asm__ volatile("csrc " #num ", %0" :: "r"(v) : "memory"); }

// Supervisor CSRs
BH_CSR_RW(sstatus,   0x100)
BH_CSR_RW(sie,       0x104)
BH_CSR_RW(stvec,     0x105)
BH_CSR_RW(scounteren,0x106)
BH_CSR_RW(sscratch,  0x140)
BH_CSR_RW(sepc,      0x141)
BH_CSR_RW(scause,    0x142)
BH_CSR_RW(stval,     0x143)
BH_CSR_RW(sip,       0x144)
BH_CSR_RW(stimecmp,  0x14D)
BH_CSR_RW(satp,      0x180)
// Hypervisor CSRs
BH_CSR_RW(hstatus,   0x600)
BH_CSR_RW(hedeleg,   0x602)
BH_CSR_RW(hideleg,   0x603)
BH_CSR_RW(hie,       0x604)
BH_CSR_RW(htimedelta,0x605)
BH_CSR_RW(hcounteren,0x606)
BH_CSR_RW(hgeie,     0x607)
BH_CSR_RW(henvcfg,   0x60A)
BH_CSR_RW(htval,     0x643)
BH_CSR_RW(hip,       0x644)
BH_CSR_RW(hvip,      0x645)
BH_CSR_RW(htinst,    0x64A)
BH_CSR_RW(hgatp,     0x680)
// Virtual supervisor CSRs
BH_CSR_RW(vsstatus,  0x200)
BH_CSR_RW(vsie,      0x204)
BH_CSR_RW(vstvec,    0x205)
BH_CSR_RW(vsscratch, 0x240)
BH_CSR_RW(vsepc,     0x241)
BH_CSR_RW(vscause,   0x242)
BH_CSR_RW(vstval,    0x243)
BH_CSR_RW(vsip,      0x244)
BH_CSR_RW(vstimecmp, 0x24D)
BH_CSR_RW(vsatp,     0x280)

// Unprivileged counters
BH_INLINE uint64_t csr_read_time(void)    { uint64_t v; __asm__ volatile("csrr %0, 0xC01" : "=r"(v)); return v; }
BH_INLINE uint64_t csr_read_cycle(void)   { uint64_t v; __asm__ volatile("csrr %0, 0xC00" : "=r"(v)); return v; }
BH_INLINE uint64_t csr_read_instret(void) { uint64_t v; __asm__ volatile("csrr %0, 0xC02" : "=r"(v)); return v; }

BH_INLINE void arch_wfi(void) { __asm__ volatile("wfi" ::: "memory"); }
BH_INLINE void arch_fence(void) { __asm__ volatile("fence rw, rw" ::: "memory"); }
/* Orders earlier memory writes before later device (I/O) writes. */
BH_INLINE void arch_fence_w_o(void) { __asm__ volatile("fence w, o" ::: "memory"); }
BH_INLINE void arch_fence_i(void) { __asm__ volatile("fence.i" ::: "memory"); }
// HFENCE.GVMA zero, zero: funct7=0110001, rs2=0, rs1=0, funct3=0, rd=0, opcode SYSTEM (0x73).
BH_INLINE void arch_hfence_gvma_all(void) { __asm__ volatile(".insn r 0x73, 0, 0x31, x0, x0, x0" ::: "memory"); }
// HFENCE.VVMA zero, zero: funct7=0010001.
BH_INLINE void arch_hfence_vvma_all(void) { __asm__ volatile(".insn r 0x73, 0, 0x11, x0, x0, x0" ::: "memory"); }
// HFENCE.VVMA zero, asid: the current VMID's (hgatp.VMID) entries of one guest ASID.
BH_INLINE void arch_hfence_vvma_asid(uint64_t asid) { __asm__ volatile(".insn r 0x73, 0, 0x11, x0, x0, %0" :: "r"(asid) : "memory"); }

/* HLV.BU, HLV.D, HSV.B, HSV.D (privileged spec, "Hypervisor Virtual-Machine Load and Store
   Instructions"): a load or store as the guest would make it, through vsatp's translation and the
   G-stage table hgatp selects. SYSTEM opcode, funct3=100; funct7 0110000 (HLV.B*, rs2=1: BU),
   0110110 (HLV.D, rs2=0), 0110001 (HSV.B) and 0110111 (HSV.D), whose rs2 is the value. */
BH_INLINE uint8_t arch_hlv_bu(uint64_t address) {
    uint64_t v; __asm__ volatile(".insn r 0x73, 4, 0x30, %0, %1, x1" : "=r"(v) : "r"(address) : "memory"); return (uint8_t)v;
}
BH_INLINE uint64_t arch_hlv_d(uint64_t address) {
    uint64_t v; __asm__ volatile(".insn r 0x73, 4, 0x36, %0, %1, x0" : "=r"(v) : "r"(address) : "memory"); return v;
}
BH_INLINE void arch_hsv_b(uint64_t address, uint8_t value) {
    __asm__ volatile(".insn r 0x73, 4, 0x31, x0, %0, %1" :: "r"(address), "r"((uint64_t)value) : "memory");
}
BH_INLINE void arch_hsv_d(uint64_t address, uint64_t value) {
    __asm__ volatile(".insn r 0x73, 4, 0x37, x0, %0, %1" :: "r"(address), "r"(value) : "memory");
}

/// An SBI call to the firmware below us (SBI spec, "Binary Encoding").
typedef struct { int64_t error; uint64_t value; } sbi_ret_t;
BH_INLINE sbi_ret_t arch_sbi_call(uint64_t eid, uint64_t fid, uint64_t a0, uint64_t a1, uint64_t a2,
                                  uint64_t a3, uint64_t a4, uint64_t a5) {
    register uint64_t r0 __asm__("a0") = a0;
    register uint64_t r1 __asm__("a1") = a1;
    register uint64_t r2 __asm__("a2") = a2;
    register uint64_t r3 __asm__("a3") = a3;
    register uint64_t r4 __asm__("a4") = a4;
    register uint64_t r5 __asm__("a5") = a5;
    register uint64_t r6 __asm__("a6") = fid;
    register uint64_t r7 __asm__("a7") = eid;
    __asm__ volatile("ecall" : "+r"(r0), "+r"(r1) : "r"(r2), "r"(r3), "r"(r4), "r"(r5), "r"(r6), "r"(r7) : "memory");
    sbi_ret_t ret = { (int64_t)r0, r1 };
    return ret;
}
