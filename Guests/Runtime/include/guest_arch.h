// Guest-side hardware access, inlined into Swift through the GuestArch module: the SBI `ecall`,
// single-instruction CSR accesses, `wfi`, raw loads/stores, and the bench's measured loops.
// CSR numbers are written numerically (privileged spec, "CSR address" tables) so that the header
// assembles under any -march. swiftc silently drops inline asm that fails to assemble: guests.mk
// first compiles this header with clang -Werror and -DGUEST_INLINE= (so that every function is
// emitted and its asm assembled), which does report errors.
#pragma once
#include <stdint.h>

#ifndef GUEST_INLINE
#define GUEST_INLINE static inline __attribute__((always_inline))
#endif

/// What an SBI call returns: a0 (error) and a1 (value).
struct guest_sbiret {
    int64_t error;
    uint64_t value;
};

/// One SBI call: extension `eid` in a7, function `fid` in a6, arguments in a0..a5.
GUEST_INLINE struct guest_sbiret guest_ecall(uint64_t eid, uint64_t fid, uint64_t arg0, uint64_t arg1,
                                             uint64_t arg2, uint64_t arg3, uint64_t arg4, uint64_t arg5) {
    register uint64_t a0 __asm__("a0") = arg0;
    register uint64_t a1 __asm__("a1") = arg1;
    register uint64_t a2 __asm__("a2") = arg2;
    register uint64_t a3 __asm__("a3") = arg3;
    register uint64_t a4 __asm__("a4") = arg4;
    register uint64_t a5 __asm__("a5") = arg5;
    register uint64_t a6 __asm__("a6") = fid;
    register uint64_t a7 __asm__("a7") = eid;
    __asm__ volatile("ecall"
                     : "+r"(a0), "+r"(a1)
                     : "r"(a2), "r"(a3), "r"(a4), "r"(a5), "r"(a6), "r"(a7)
                     : "memory");
    struct guest_sbiret ret = { (int64_t)a0, a1 };
    return ret;
}

// ---- Counters (unprivileged, readable when the hypervisor enables them in hcounteren) ----------
GUEST_INLINE uint64_t guest_read_cycle(void)   { uint64_t v; __asm__ volatile("csrr %0, 0xC00" : "=r"(v)); return v; }
GUEST_INLINE uint64_t guest_read_time(void)    { uint64_t v; __asm__ volatile("csrr %0, 0xC01" : "=r"(v)); return v; }
GUEST_INLINE uint64_t guest_read_instret(void) { uint64_t v; __asm__ volatile("csrr %0, 0xC02" : "=r"(v)); return v; }

// ---- Supervisor CSRs (the guest's own; VS-mode sees its vs* copies under these numbers) --------
GUEST_INLINE uint64_t guest_read_sstatus(void)    { uint64_t v; __asm__ volatile("csrr %0, 0x100" : "=r"(v)); return v; }
GUEST_INLINE void guest_clear_sstatus(uint64_t m) { __asm__ volatile("csrc 0x100, %0" :: "r"(m) : "memory"); }
GUEST_INLINE uint64_t guest_read_sie(void)        { uint64_t v; __asm__ volatile("csrr %0, 0x104" : "=r"(v)); return v; }
GUEST_INLINE void guest_set_sie(uint64_t m)       { __asm__ volatile("csrs 0x104, %0" :: "r"(m) : "memory"); }
GUEST_INLINE void guest_clear_sie(uint64_t m)     { __asm__ volatile("csrc 0x104, %0" :: "r"(m) : "memory"); }
GUEST_INLINE uint64_t guest_read_sip(void)        { uint64_t v; __asm__ volatile("csrr %0, 0x144" : "=r"(v)); return v; }
/// Clears bits of sip; in VS-mode only SSIP (bit 1) is writable (it clears the injected VSSIP).
GUEST_INLINE void guest_clear_sip(uint64_t m)     { __asm__ volatile("csrc 0x144, %0" :: "r"(m) : "memory"); }

/// Takes the next interrupt enabled in sie and returns its scause (crt0.S).
uint64_t guest_wait_interrupt(void);
uint64_t guest_spin_interrupt(uint64_t *latency);

/// Waits for an interrupt that is pending and enabled in sie (it wakes even with sstatus.SIE = 0).
GUEST_INLINE void guest_wfi(void) { __asm__ volatile("wfi" ::: "memory"); }

/// A full memory fence (`fence rw, rw`): orders shared-memory accesses against another partition.
GUEST_INLINE void guest_fence(void) { __asm__ volatile("fence rw, rw" ::: "memory"); }

// ---- Raw accesses: exactly one load or store, never merged or removed (used by the intruder) --
GUEST_INLINE uint64_t guest_load64(uint64_t address) {
    uint64_t v;
    __asm__ volatile("ld %0, 0(%1)" : "=r"(v) : "r"(address) : "memory");
    return v;
}
GUEST_INLINE void guest_store64(uint64_t address, uint64_t value) {
    __asm__ volatile("sd %0, 0(%1)" :: "r"(value), "r"(address) : "memory");
}
GUEST_INLINE void guest_store8(uint64_t address, uint8_t value) {
    __asm__ volatile("sb %0, 0(%1)" :: "r"(value), "r"(address) : "memory");
}
// 32-bit device registers (the PLIC's, a goldfish RTC's): one lw/sw each.
GUEST_INLINE uint32_t guest_load32(uint64_t address) {
    uint32_t v;
    __asm__ volatile("lw %0, 0(%1)" : "=r"(v) : "r"(address) : "memory");
    return v;
}
GUEST_INLINE void guest_store32(uint64_t address, uint32_t value) {
    __asm__ volatile("sw %0, 0(%1)" :: "r"(value), "r"(address) : "memory");
}

// ---- Symbols from crt0.S -------------------------------------------------------------------------
// Hidden: defined in this image, so addressed PC-relative rather than through a GOT.
extern __attribute__((visibility("hidden"))) char _secondary_start[];
extern __attribute__((visibility("hidden"))) uint64_t guest_first_instret;

/// The entry to pass to SBI HSM hart_start: it sets up the vCPU and calls guest_secondary(vcpu, opaque).
GUEST_INLINE uint64_t guest_secondary_entry(void) { return (uint64_t)(uintptr_t)_secondary_start; }
/// `instret` as the image's very first instruction read it (0 unless the image records it).
GUEST_INLINE uint64_t guest_first_instret_value(void) { return guest_first_instret; }

// ---- Bench loops ---------------------------------------------------------------------------------
// The two loops are identical except for the `ecall`, so their difference in retired instructions
// is the cost of `count` null SBI calls (base get_spec_version: EID 0x10, FID 0). `count` >= 1.
GUEST_INLINE uint64_t guest_bench_null_sbi_loop(uint64_t count) {
    uint64_t start, end;
    __asm__ volatile("csrr %[start], 0xC02\n"
                     "1: li a7, 0x10\n"
                     "   li a6, 0\n"
                     "   ecall\n"
                     "   addi %[n], %[n], -1\n"
                     "   bnez %[n], 1b\n"
                     "csrr %[end], 0xC02\n"
                     : [start] "=&r"(start), [end] "=&r"(end), [n] "+r"(count)
                     :: "a0", "a1", "a6", "a7", "memory");
    return end - start;
}
GUEST_INLINE uint64_t guest_bench_empty_loop(uint64_t count) {
    uint64_t start, end;
    __asm__ volatile("csrr %[start], 0xC02\n"
                     "1: li a7, 0x10\n"
                     "   li a6, 0\n"
                     "   addi %[n], %[n], -1\n"
                     "   bnez %[n], 1b\n"
                     "csrr %[end], 0xC02\n"
                     : [start] "=&r"(start), [end] "=&r"(end), [n] "+r"(count)
                     :: "a0", "a1", "a6", "a7", "memory");
    return end - start;
}
