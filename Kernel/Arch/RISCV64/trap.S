// Trap entry and exit. sscratch holds this hart's frame while a guest runs and zero in the
// hypervisor, so a trap taken in the hypervisor itself (a bug) is told apart and goes to the fatal path.
//
// The registers the C calling convention lets the hypervisor clobber (ra, t0-t6, a0-a7) and sp
// are saved on every trap, at offset 8*n of the frame for xn. s0-s11, gp and tp survive the
// hypervisor's code untouched (every callee preserves s0-s11; the hypervisor never writes gp or
// tp), so an ecall does not save them. A load or store guest-page fault (scause 21 or 23) may be
// MMIO emulation, which reads and writes any register as guest state: then those fourteen are
// saved too, frame word 0 (x0's slot) says so, and the exit restores them from the frame.
#include "layout.h"

    .section .text.trap, "ax"
    .balign 4
    .globl trap_vector
trap_vector:
    csrrw   sp, sscratch, sp        // sp = frame, sscratch = guest sp
    beqz    sp, hypervisor_trap
    sd      x1, 8(sp)
    sd      x5, 40(sp)
    sd      x6, 48(sp)
    sd      x7, 56(sp)
    sd      x10, 80(sp)
    sd      x11, 88(sp)
    sd      x12, 96(sp)
    sd      x13, 104(sp)
    sd      x14, 112(sp)
    sd      x15, 120(sp)
    sd      x16, 128(sp)
    sd      x17, 136(sp)
    sd      x28, 224(sp)
    sd      x29, 232(sp)
    sd      x30, 240(sp)
    sd      x31, 248(sp)
    csrr    t0, scause
    ori     t0, t0, 2               // 21 (load guest-page fault) and 23 (store/AMO) both give 23;
    addi    t0, t0, -23             // no other cause does (interrupts have bit 63 set)
    bnez    t0, 2f
    sd      x3, 24(sp)
    sd      x4, 32(sp)
    sd      x8, 64(sp)
    sd      x9, 72(sp)
    sd      x18, 144(sp)
    sd      x19, 152(sp)
    sd      x20, 160(sp)
    sd      x21, 168(sp)
    sd      x22, 176(sp)
    sd      x23, 184(sp)
    sd      x24, 192(sp)
    sd      x25, 200(sp)
    sd      x26, 208(sp)
    sd      x27, 216(sp)
    li      t0, 1
    sd      t0, 0(sp)               // the whole register file is in the frame
2:  csrrw   t0, sscratch, zero      // guest sp; sscratch = 0 while in the hypervisor
    sd      t0, 16(sp)
    mv      a0, sp
    ld      sp, BH_FRAME_HV_STACK_TOP(a0)   // this hart's hypervisor stack
    call    bulkhead_trap           // (frame) -> returns to resume the guest
    // fall through with a0 = frame

    .globl arch_enter_guest
arch_enter_guest:                   // (frame): restore the guest and sret
    csrw    sscratch, a0
    mv      sp, a0
    ld      t0, 0(sp)
    beqz    t0, 3f
    sd      zero, 0(sp)             // a full frame (a guest-page fault): its other registers too
    ld      x3, 24(sp)
    ld      x4, 32(sp)
    ld      x8, 64(sp)
    ld      x9, 72(sp)
    ld      x18, 144(sp)
    ld      x19, 152(sp)
    ld      x20, 160(sp)
    ld      x21, 168(sp)
    ld      x22, 176(sp)
    ld      x23, 184(sp)
    ld      x24, 192(sp)
    ld      x25, 200(sp)
    ld      x26, 208(sp)
    ld      x27, 216(sp)
3:  ld      x1, 8(sp)
    ld      x5, 40(sp)
    ld      x6, 48(sp)
    ld      x7, 56(sp)
    ld      x10, 80(sp)
    ld      x11, 88(sp)
    ld      x12, 96(sp)
    ld      x13, 104(sp)
    ld      x14, 112(sp)
    ld      x15, 120(sp)
    ld      x16, 128(sp)
    ld      x17, 136(sp)
    ld      x28, 224(sp)
    ld      x29, 232(sp)
    ld      x30, 240(sp)
    ld      x31, 248(sp)
    ld      sp, 16(sp)
    sret

    .globl arch_enter_guest_fresh
arch_enter_guest_fresh:             // (frame): as arch_enter_guest, with every register not in the
    li      gp, 0                   // frame cleared so no hypervisor value reaches the guest
    li      tp, 0
    li      s0, 0
    li      s1, 0
    li      s2, 0
    li      s3, 0
    li      s4, 0
    li      s5, 0
    li      s6, 0
    li      s7, 0
    li      s8, 0
    li      s9, 0
    li      s10, 0
    li      s11, 0
    j       arch_enter_guest

hypervisor_trap:                    // a trap in HS-mode: the kernel itself is broken...
    csrrw   sp, sscratch, sp        // restore sp, sscratch = 0
    // ...unless it is arch_try_read_seed's csrrw raising illegal instruction (scause 2): then
    // that function returns its "unavailable" value. t0/t1 are free: the probe is a call.
    csrr    t0, sepc
    lla     t1, seed_probe
    bne     t0, t1, 2f
    csrr    t0, scause
    li      t1, 2
    bne     t0, t1, 2f
    lla     t0, seed_probe_end
    csrw    sepc, t0
    sret
    // A fault in the hypervisor: its stack may be the cause (an overflow into the guard page), so
    // the report runs on a stack of its own. One hart reports; a second fault (on another hart,
    // or in the report itself) parks its hart, as the machine is stopping anyway.
2:  lla     t0, bh_fatal_claim
    li      t1, 1
    amoswap.w.aq t1, t1, (t0)
    bnez    t1, 1f
    lla     sp, bh_fatal_stack_top
    call    bulkhead_fatal_trap
1:  wfi
    j       1b

    .section .bss.fatal, "aw", @nobits
    .balign 16
bh_fatal_stack: .skip BH_FATAL_STACK_SIZE
bh_fatal_stack_top:
bh_fatal_claim: .skip 4

// uint64_t arch_try_read_seed(void): one read of the Zkr `seed` CSR (0x015), or all ones when the
// hart traps it (no Zkr, or M-mode has not set mseccfg.SSEED for S-mode). The RISC-V scalar
// cryptography spec (Zkr) requires a read-write instruction for `seed`: csrrw with rs1 = x0.
// All ones reads as OPST = DEAD, so it can never be taken for entropy.
    .section .text.seed, "ax"
    .balign 4
    .globl arch_try_read_seed
arch_try_read_seed:
    li      a0, -1
seed_probe:
    csrrw   a0, 0x015, x0
seed_probe_end:
    ret
