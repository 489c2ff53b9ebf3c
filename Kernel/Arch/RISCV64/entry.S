// Hypervisor entry points: the boot hart from OpenSBI and the harts it starts through SBI HSM.
// Firmware (OpenSBI, or U-Boot's booti) enters in HS-mode with a0 = hartid, a1 = device tree,
// satp = 0, interrupts off, anywhere in RAM: the image relocates itself.

#include "layout.h"
#define MAX_HARTS       BH_MAX_HARTS
#define STACK_SIZE      BH_STACK_SIZE
#define BOOT_STACK_SIZE BH_BOOT_STACK_SIZE
#define STACK_PAINT     BH_STACK_PAINT
#define GUARD_SIZE      BH_GUARD_SIZE

    .section .text.entry, "ax"
    .option push
    .option norvc
    .globl _start
// The RISC-V Linux Image header (Linux Documentation/arch/riscv/boot-image-header.rst), so that
// U-Boot's `booti` starts build/bulkhead.bin like a Linux Image: 64 bytes, little endian.
_start:
    j       image_entry             // code0: jump over the header
    .word   0                       // code1
    .dword  0x200000                // text_offset: load 2 MiB into RAM, as Linux on RV64
    .dword  __kernel_end - __kernel_start  // image_size: everything the image occupies, .bss included
    .dword  0                       // flags: bit 0 = 0, little endian
    .word   2                       // version 0.2 (major << 16 | minor)
    .word   0                       // res1
    .dword  0                       // res2
    .ascii  "RISCV\0\0\0"          // magic (deprecated, still checked by some loaders)
    .ascii  "RSC\x05"               // magic2
    .word   0                       // res3 (PE/COFF header offset: none)
    .option pop

image_entry:
    csrr    t2, instret             // for `make bench`: instructions retired before hypervisor entry
    li      t0, MAX_HARTS
    bgeu    a0, t0, park            // a hart we have no stack for never runs anything
    // One hart boots. Another that enters here as well (a firmware that starts it at the image's
    // entry, not where SBI HSM asked: seen once with QEMU's OpenSBI when the harts are started
    // early) must not relocate or clear .bss under the boot hart: it waits until the boot hart has
    // cleared .bss, then runs as a secondary. The two words are in .data (not cleared).
    lla     t0, bh_boot_claim
    li      t1, 1
    amoswap.w.aqrl t1, t1, (t0)
    beqz    t1, 7f
    lla     t0, bh_bss_ready
8:  lw      t1, 0(t0)
    fence   r, rw
    beqz    t1, 8b
    j       secondary_entry
7:
    // Self-relocation: the image is linked at KERNEL_LINK_BASE as a position-independent
    // executable; its only load-time fix-ups are R_RISCV_RELATIVE entries (RISC-V ELF psABI:
    // *(base + r_offset) = base + r_addend, here with base = load address - link address).
    // They run at every load address, the link address too: the linker leaves the fixed-up words
    // (the GOT's) zero and keeps their values in the addends.
    lla     t0, _start
    li      t1, KERNEL_LINK_BASE
    sub     t3, t0, t1              // t3 = load delta
    lla     t0, __rela_dyn_start
    lla     t1, __rela_dyn_end
3:  bgeu    t0, t1, 4f
    ld      t4, 8(t0)               // r_info: the type is its low 32 bits
    andi    t4, t4, 0xff
    li      t5, 3                   // R_RISCV_RELATIVE
    bne     t4, t5, park            // the link allows no other kind (Makefile: -pie -z text)
    ld      t4, 0(t0)               // r_offset (a link-time address)
    ld      t5, 16(t0)              // r_addend (a link-time address)
    add     t4, t4, t3
    add     t5, t5, t3
    sd      t5, 0(t4)
    addi    t0, t0, 24              // sizeof(Elf64_Rela)
    j       3b
4:  fence.i
    // Clear .bss (the boot hart only; secondaries start after it is done).
    lla     t0, __bss_start             // 16-byte aligned; the linker script pads its size to 64
    lla     t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    sd      zero, 8(t0)
    sd      zero, 16(t0)
    sd      zero, 24(t0)
    sd      zero, 32(t0)
    sd      zero, 40(t0)
    sd      zero, 48(t0)
    sd      zero, 56(t0)
    addi    t0, t0, 64
    j       1b
    // Paint every hart stack and the boot stack (they lie in .bss, in that order, each above its
    // guard page) with STACK_PAINT: the part still painted was never used (Ctrl-B s reports each
    // high-water mark).
2:  lla     t0, bh_stacks
    lla     t1, bh_boot_stack_top
    li      t4, STACK_PAINT
5:  bgeu    t0, t1, 6f
    sd      t4, 0(t0)
    addi    t0, t0, 8
    j       5b
6:  lla     t0, bh_bss_ready         // .bss is ready: a hart that entered here too may go on
    li      t1, 1
    fence   rw, w
    sw      t1, 0(t0)
    lla     t0, bh_entry_instret
    sd      t2, 0(t0)
    lla     sp, bh_boot_stack_top
    mv      s0, a0
    call    bulkhead_boot           // (hartid, dtb): checks and builds everything, starts the others
    mv      a0, s0
    call    set_stack               // from now on this hart runs on its own stack, like the others
    call    bulkhead_secondary      // (hartid) -> never returns
    j       park

    .globl secondary_entry
secondary_entry:                    // SBI HSM hart_start: a0 = hartid, a1 = opaque
    li      t0, MAX_HARTS
    bgeu    a0, t0, park
    call    set_stack
    call    bulkhead_secondary      // (hartid) -> never returns
park:
    wfi
    j       park

// sp = top of this hart's stack (hart n's slot: a guard page, then the stack); also records it in
// the hart's frame for trap entry.
set_stack:
    lla     t0, bh_stacks
    li      t1, STACK_SIZE + GUARD_SIZE
    addi    t2, a0, 1
    mul     t1, t1, t2
    add     sp, t0, t1
    lla     t0, bh_frames
    li      t1, BH_FRAME_SIZE
    mul     t1, t1, a0
    add     t0, t0, t1
    sd      sp, BH_FRAME_HV_STACK_TOP(t0)
    sd      a0, BH_FRAME_HARTID(t0)
    csrw    sscratch, zero          // zero while in the hypervisor (see trap.S)
    ret

// Each stack lies above a guard page that the hypervisor's page table leaves unmapped, so an
// overflow faults instead of overwriting what lies below (HostPaging.swift).
    .section .data.boot, "aw"
    .balign 4
bh_boot_claim:  .word 0             // set by the one hart that boots
bh_bss_ready:   .word 0             // set once .bss is cleared and the stacks painted

    .section .bss.harts, "aw", @nobits
    .balign 4096
    .globl bh_stacks, bh_boot_stack, bh_frames, bh_mailboxes, bh_entry_instret, bh_partitions
bh_stacks:      .skip (GUARD_SIZE + STACK_SIZE) * MAX_HARTS
bh_boot_guard:  .skip GUARD_SIZE
bh_boot_stack:  .skip BOOT_STACK_SIZE
bh_boot_stack_top:
bh_frames:      .skip BH_FRAME_SIZE * MAX_HARTS
bh_mailboxes:   .skip BH_MAILBOX_SIZE * MAX_HARTS
bh_partitions:  .skip BH_PARTITION_SHARED_SIZE * BH_MAX_PARTITIONS
bh_entry_instret: .skip 8
    .globl bh_locks, bh_held_ranks
bh_locks:       .skip 4 * 8          // SpinLock.swift: the global lock words
bh_held_ranks:  .skip 4 * (MAX_HARTS + 1)   // SpinLock.swift: each hart's held ranks (test kernel)
    .balign 8
    .globl bh_boot_work
bh_boot_work:   .skip 8 * 4         // BootWorkers.swift: the chunk-hashing rounds at boot
    .globl bh_ring_locks, bh_doorbells
bh_ring_locks:  .skip 4 * 32         // one spinlock per message ring (2 per channel)
    .balign 8
bh_doorbells:   .skip 8 * 8          // per partition: channel bits rung since the last `doorbells`
    .balign 16
    .globl bh_system_config
bh_system_config: .skip BH_SYSTEM_CONFIG_SIZE   // State.swift's SystemConfig, set up first thing at boot

// G-stage tables for all partitions (256 KiB). Not part of .bss: boot does not clear it; the
// page-table pool zeroes each table as it hands it out. It lies in the board's reserved region.
    .section .pagetables, "aw", @nobits
    .balign 16384
    .globl bh_page_table_pool
bh_page_table_pool: .skip 0x40000
// The hypervisor's own Sv39 tables (HostPaging.swift), from the same kind of pool.
    .balign 4096
    .globl bh_host_page_tables
bh_host_page_tables: .skip BH_HOST_TABLES_SIZE

// Message-queue storage for all channels (128 KiB, ChannelLimits.queueStorageCapacity). Not part
// of .bss: boot resets each ring's header; slots are written before they are read.
    .section .ipcqueues, "aw", @nobits
    .balign 16
    .globl bh_ipc_queues
bh_ipc_queues: .skip 0x20000

// The keystore record as in flash and a scratch buffer for the next one (each at least
// KeystoreRecord.maxSize = 10,016 bytes). Not part of .bss: boot loads the record; the scratch
// buffer is written before it is read.
    .section .keystore, "aw", @nobits
    .balign 16
    .globl bh_keystore_buffers
bh_keystore_buffers: .skip 0x5000

// The device tree as the firmware passed it (128 KiB at most), copied here at boot: the original
// may lie in RAM that a partition is then given. Not part of .bss: boot writes it before use.
    .section .devicetree, "aw", @nobits
    .balign 16
    .globl bh_device_tree
bh_device_tree: .skip BH_DEVICE_TREE_SIZE
