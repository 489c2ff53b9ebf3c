/* faults.h: the faults a test kernel provokes on request (make kernel-faults; FaultInjection.swift). */
#ifndef BH_FAULTS_H
#define BH_FAULTS_H

#include <stdint.h>

#ifndef BH_INLINE
#define BH_INLINE static inline __attribute__((always_inline))
#endif

/* Pushes 256-byte frames until the stack runs into its guard page. */
BH_INLINE void fault_overflow_stack(void) {
    __asm__ volatile("1: addi sp, sp, -256\n\tsd zero, 0(sp)\n\tj 1b" ::: "memory");
}

/* One 64-bit store at `address`. */
BH_INLINE void fault_store(uint64_t address) { *(volatile uint64_t *)address = 0; }

/* Jumps to `address`. */
BH_INLINE void fault_jump(uint64_t address) { __asm__ volatile("jr %0" :: "r"(address) : "memory"); }

#endif
