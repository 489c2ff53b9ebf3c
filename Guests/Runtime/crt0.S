// Guest entry points: the boot vCPU (_start) and vCPUs started through SBI HSM (_secondary_start).
// Bulkhead enters _start on vCPU 0 with a0 = vCPU id, a1 = device tree (guest-physical), MMU off;
// hart_start enters _secondary_start with a0 = vCPU id, a1 = opaque. Both run with interrupts off.
// Swift provides guest_main(vcpu, dtb) and, for multi-vCPU guests, guest_secondary(vcpu, opaque).

#define MAX_VCPUS       8
#define STACK_SHIFT     14                  // 16 KiB per vCPU
#define SBI_EXT_HSM     0x48534D
#define SBI_EXT_SRST    0x53525354

// Interrupts off, the last-resort trap handler installed, sp = top of vCPU a0's stack.
// A vCPU id without a stack parks.
.macro vcpu_setup
    csrw    sie, zero
    csrci   sstatus, 0x2                    // sstatus.SIE
    la      t0, guest_trap_entry
    csrw    stvec, t0
    li      t0, MAX_VCPUS
    bgeu    a0, t0, guest_park
    addi    t0, a0, 1
    slli    t0, t0, STACK_SHIFT
    la      sp, __guest_stacks
    add     sp, sp, t0
.endm

    .section .text.entry, "ax"
    .globl _start
_start:
    vcpu_setup
    // Clear .bss (only the boot vCPU enters here, before it starts any other).
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:  call    guest_main                      // (vcpu, dtb)
    // guest_main returned: power the partition off (SRST system_reset: shutdown, no reason).
    li      a0, 0
    li      a1, 0
    li      a6, 0
    li      a7, SBI_EXT_SRST
    ecall
    j       guest_park

    .globl _secondary_start
_secondary_start:
    vcpu_setup
    call    guest_secondary                 // (vcpu, opaque)
    // guest_secondary returned: stop this vCPU (SBI HSM hart_stop).
    li      a6, 1
    li      a7, SBI_EXT_HSM
    ecall
    .globl guest_park
guest_park:
    wfi
    j       guest_park

// A trap the guest did not expect (no guest takes traps on purpose): report it and stop.
    .balign 4
guest_trap_entry:
    csrr    a0, scause
    csrr    a1, sepc
    csrr    a2, stval
    call    guest_trap                      // (scause, sepc, stval), does not return
    j       guest_park

// Waits for the next enabled interrupt by taking it: sstatus.SIE = 1, wfi, and the trap lands on
// a local vector that returns to the caller with SIE cleared again (the hart took the trap, so
// sstatus.SIE = 0 and sepc/scause describe it). Reading sip is not enough: QEMU 7.2 returns 0 for
// a VS-mode read of sip even with VSTIP pending, so the trap itself is the only reliable signal.
// Returns scause (the caller checks it is the interrupt it waited for). Clobbers t0 only.
    .section .text.guest_wait_interrupt, "ax"
    .globl guest_wait_interrupt
guest_wait_interrupt:
    la      t0, 2f
    csrw    stvec, t0
    csrsi   sstatus, 2                      // SIE
1:  wfi
    j       1b
    .balign 4
2:  la      t0, guest_trap_entry
    csrw    stvec, t0
    csrr    a0, scause
    ret

// Like guest_wait_interrupt, but spinning on `instret` instead of wfi, to measure the interrupt's
// path: stores in *a0 the instructions retired from the last instret read before the trap to the
// first instruction of the handler (the loop's own branch included). Returns scause. Clobbers t0-t2.
    .section .text.guest_spin_interrupt, "ax"
    .globl guest_spin_interrupt
guest_spin_interrupt:
    la      t0, 2f
    csrw    stvec, t0
    csrsi   sstatus, 2                      // SIE
1:  csrr    t1, instret
    j       1b
    .balign 4
2:  csrr    t2, instret
    la      t0, guest_trap_entry
    csrw    stvec, t0
    sub     t2, t2, t1
    sd      t2, 0(a0)
    csrr    a0, scause
    ret

// Default for single-vCPU guests: a started secondary stops at once.
    .section .text.guest_secondary, "ax"
    .weak guest_secondary
guest_secondary:
    ret

// instret at the image's first instruction; an image that records it does so before _start
// (see Guests/bench/entry.S). In .data, so that clearing .bss keeps it.
    .section .data.guest_first_instret, "aw"
    .balign 8
    .globl guest_first_instret
guest_first_instret:
    .dword 0

// Per-vCPU stacks, outside .bss (not cleared, not in the raw image).
    .section .guest_stacks, "aw", @nobits
    .balign 16
    .globl __guest_stacks
__guest_stacks:
    .space MAX_VCPUS << STACK_SHIFT
