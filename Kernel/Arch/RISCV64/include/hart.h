// Per-hart storage shared with the assembly (trap frames, mailboxes) and the atomics that guard it.
// Invariant: hart n only ever runs the vCPU pinned to it; other harts talk to it through its
// mailbox (set bits, then an IPI) and never touch its frame.
#pragma once
#include <stdint.h>
#include <stdbool.h>

#include "layout.h"
#define BH_INLINE static inline __attribute__((always_inline))

#pragma clang assume_nonnull begin

/// The guest's registers while it is in the hypervisor. x[0] is unused; x[2] is the guest's sp.
/// Layout is fixed: trap.S saves register n at offset 8*n and finds the hypervisor stack at 256.
typedef struct {
    uint64_t x[32];
    uint64_t hv_stack_top;
    uint64_t hartid;
} hart_frame_t;

/// Requests other harts leave for this hart. `request` is a bit set of BH_REQ_* values.
typedef struct {
    uint32_t request;
    uint32_t hsm_state;
    uint64_t start_pc;
    uint64_t start_opaque;
    uint64_t sswi_setssip;   /* this hart's ACLINT SSWI SETSSIP register; 0: wake it by SBI IPI (set at boot) */
} hart_mailbox_t;

/// Per-partition state shared by its harts. `busy` is held by the one hart stopping or restarting
/// the partition; the others park. `boot_count` counts restarts (0 on first boot). `plic_lock`
/// guards the partition's virtual PLIC (a leaf lock: nothing else is taken while holding it).
typedef struct {
    uint32_t busy;
    uint32_t boot_count;
    uint32_t stopped;
    uint32_t plic_lock;
} partition_shared_t;

/* The assembly's view of these types (layout.h) is the C compiler's. */
_Static_assert(__builtin_offsetof(hart_frame_t, hv_stack_top) == BH_FRAME_HV_STACK_TOP, "trap.S/entry.S frame offset");
_Static_assert(__builtin_offsetof(hart_frame_t, hartid) == BH_FRAME_HARTID, "entry.S frame offset");
_Static_assert(sizeof(hart_frame_t) == BH_FRAME_SIZE, "entry.S frame size");
_Static_assert(sizeof(hart_mailbox_t) == BH_MAILBOX_SIZE, "entry.S mailbox size");
_Static_assert(sizeof(partition_shared_t) == BH_PARTITION_SHARED_SIZE, "entry.S partition record size");

extern hart_frame_t bh_frames[BH_MAX_HARTS];
extern partition_shared_t bh_partitions[BH_MAX_PARTITIONS];
BH_INLINE partition_shared_t *partition_shared(uint64_t p) { return &bh_partitions[p]; }
/* The two lock words of partition p (SpinLock.swift). */
BH_INLINE uint32_t *partition_busy_word(uint64_t p) { return &bh_partitions[p].busy; }
BH_INLINE uint32_t *partition_plic_lock_word(uint64_t p) { return &bh_partitions[p].plic_lock; }
BH_INLINE uint32_t *partition_boot_count_word(uint64_t p) { return &bh_partitions[p].boot_count; }
BH_INLINE uint32_t *partition_stopped_word(uint64_t p) { return &bh_partitions[p].stopped; }
extern uint64_t bh_entry_instret;
BH_INLINE uint64_t entry_instret(void) { return bh_entry_instret; }
extern hart_mailbox_t bh_mailboxes[BH_MAX_HARTS];
extern uint8_t bh_stacks[], bh_boot_stack[];
/* Hart n's slot in bh_stacks: its guard page, then its stack (entry.S). */
BH_INLINE uint64_t hart_stack_base(uint64_t hart) { return (uint64_t)bh_stacks + hart * (BH_GUARD_SIZE + BH_STACK_SIZE) + BH_GUARD_SIZE; }
BH_INLINE uint64_t boot_stack_base(void) { return (uint64_t)bh_boot_stack; }
extern uint8_t __kernel_start[], __kernel_end[], __text_end[], __rodata_end[], __data_start[];
BH_INLINE uint64_t kernel_rodata_end(void) { return (uint64_t)__rodata_end; }
BH_INLINE uint64_t kernel_text_end(void) { return (uint64_t)__text_end; }
BH_INLINE uint64_t kernel_data_start(void) { return (uint64_t)__data_start; }
extern uint8_t bh_host_page_tables[];
BH_INLINE uint64_t host_page_tables_address(void) { return (uint64_t)bh_host_page_tables; }
BH_INLINE uint64_t host_page_tables_size(void) { return BH_HOST_TABLES_SIZE; }
/* Selects the hypervisor's own table on this hart: satp, then a full fence (privileged spec §12.2.1). */
BH_INLINE void arch_enable_host_paging(uint64_t satp) {
    __asm__ volatile("csrw satp, %0\n\tsfence.vma zero, zero" :: "r"(satp) : "memory");
}

BH_INLINE hart_frame_t *hart_frame(uint64_t hart) { return &bh_frames[hart]; }
BH_INLINE hart_mailbox_t *hart_mailbox(uint64_t hart) { return &bh_mailboxes[hart]; }
/* Each mailbox field's word, for Arch/RISCV64/KernelMemory.swift. */
BH_INLINE uint32_t *mailbox_request_word(uint64_t hart) { return &bh_mailboxes[hart].request; }
BH_INLINE uint32_t *mailbox_state_word(uint64_t hart) { return &bh_mailboxes[hart].hsm_state; }
BH_INLINE uint64_t *mailbox_start_pc(uint64_t hart) { return &bh_mailboxes[hart].start_pc; }
BH_INLINE uint64_t *mailbox_start_opaque(uint64_t hart) { return &bh_mailboxes[hart].start_opaque; }
BH_INLINE uint64_t *mailbox_sswi_setssip(uint64_t hart) { return &bh_mailboxes[hart].sswi_setssip; }
extern uint8_t bh_page_table_pool[];
BH_INLINE uint64_t page_table_pool_address(void) { return (uint64_t)bh_page_table_pool; }
#define BH_PAGE_TABLE_POOL_SIZE 0x40000
BH_INLINE uint64_t page_table_pool_size(void) { return BH_PAGE_TABLE_POOL_SIZE; }
extern uint8_t bh_ipc_queues[];
BH_INLINE uint64_t ipc_queue_storage_address(void) { return (uint64_t)bh_ipc_queues; }
#define BH_IPC_QUEUE_STORAGE_SIZE 0x20000
BH_INLINE uint64_t ipc_queue_storage_size(void) { return BH_IPC_QUEUE_STORAGE_SIZE; }
extern uint8_t bh_keystore_buffers[];
#define BH_KEYSTORE_BUFFER_SIZE 0x2800
/* Buffer 0: the keystore record as in flash; buffer 1: scratch for the next record. */
BH_INLINE uint64_t keystore_buffer_address(uint64_t which) { return (uint64_t)bh_keystore_buffers + (which & 1) * BH_KEYSTORE_BUFFER_SIZE; }
BH_INLINE uint64_t keystore_buffer_size(void) { return BH_KEYSTORE_BUFFER_SIZE; }
extern uint8_t bh_system_config[];
BH_INLINE uint64_t system_config_address(void) { return (uint64_t)bh_system_config; }
extern uint8_t bh_device_tree[];
/* The hypervisor's own copy of the device tree the firmware passed (wherever that lay in RAM). */
BH_INLINE uint64_t device_tree_copy_address(void) { return (uint64_t)bh_device_tree; }
BH_INLINE uint64_t device_tree_copy_size(void) { return BH_DEVICE_TREE_SIZE; }
extern uint32_t bh_ring_locks[32];
BH_INLINE uint32_t *ring_lock(uint64_t ring) { return &bh_ring_locks[ring & 31]; }
extern uint64_t bh_doorbells[8];
BH_INLINE uint64_t *partition_doorbells(uint64_t p) { return &bh_doorbells[p & 7]; }
BH_INLINE uint64_t atomic_or_u64(uint64_t *p, uint64_t v) { return __atomic_fetch_or(p, v, __ATOMIC_ACQ_REL); }
BH_INLINE uint64_t atomic_exchange_u64(uint64_t *p, uint64_t v) { return __atomic_exchange_n(p, v, __ATOMIC_ACQ_REL); }
BH_INLINE uint64_t kernel_image_start(void) { return (uint64_t)__kernel_start; }
BH_INLINE uint64_t kernel_image_end(void) { return (uint64_t)__kernel_end; }

/* SpinLock.swift: the global lock words, and each hart's held lock ranks (test kernel checks). */
extern uint32_t bh_locks[8];
BH_INLINE uint32_t *lock_word(uint64_t i) { return &bh_locks[i & 7]; }
extern uint32_t bh_held_ranks[BH_MAX_HARTS + 1];
BH_INLINE uint32_t *held_ranks_word(uint64_t i) { return &bh_held_ranks[i <= BH_MAX_HARTS ? i : BH_MAX_HARTS]; }
BH_INLINE uint64_t arch_stack_pointer(void) { uint64_t sp; __asm__ volatile("mv %0, sp" : "=r"(sp)); return sp; }

/* BootWorkers.swift: word 0 = round << 32 | next chunk to claim, 1 = chunks done, 2 = boot finished. */
extern uint64_t bh_boot_work[4];
BH_INLINE uint64_t *boot_work_word(uint64_t i) { return &bh_boot_work[i & 3]; }
BH_INLINE uint64_t atomic_load_u64(uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
BH_INLINE void atomic_store_u64(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
BH_INLINE uint64_t atomic_add_u64(uint64_t *p, uint64_t v) { return __atomic_fetch_add(p, v, __ATOMIC_ACQ_REL); }
BH_INLINE bool atomic_cas_u64(uint64_t *p, uint64_t expected, uint64_t desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

BH_INLINE uint32_t atomic_load_u32(uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
BH_INLINE void atomic_store_u32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
BH_INLINE uint32_t atomic_or_u32(uint32_t *p, uint32_t v) { return __atomic_fetch_or(p, v, __ATOMIC_ACQ_REL); }
BH_INLINE uint32_t atomic_and_u32(uint32_t *p, uint32_t v) { return __atomic_fetch_and(p, v, __ATOMIC_ACQ_REL); }
BH_INLINE uint32_t atomic_add_u32(uint32_t *p, uint32_t v) { return __atomic_fetch_add(p, v, __ATOMIC_ACQ_REL); }
BH_INLINE bool atomic_cas_u32(uint32_t *p, uint32_t expected, uint32_t desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

/// Enters a new guest context from `frame` (sepc, hstatus, sstatus already set), clearing every
/// register the frame does not hold. Never returns.
void arch_enter_guest_fresh(hart_frame_t *frame) __attribute__((noreturn));
extern void trap_vector(void);
/* One read of the Zkr seed CSR, or ~0 when the hart traps it (trap.S). */
uint64_t arch_try_read_seed(void);
extern void secondary_entry(void);
BH_INLINE uint64_t trap_vector_address(void) { return (uint64_t)&trap_vector; }
BH_INLINE uint64_t secondary_entry_address(void) { return (uint64_t)&secondary_entry; }

#pragma clang assume_nonnull end
