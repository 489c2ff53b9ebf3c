/* Sizes shared by the assembly (entry.S) and the C/Swift view (hart.h): defined once, here. */
#ifndef BH_LAYOUT_H
#define BH_LAYOUT_H

/* Core's Limits.harts and Limits.partitions (Kernel/Core/Limits.swift); LimitsTests checks these copies. */
#define BH_MAX_HARTS        8
/* Sizes from measured peaks (Ctrl-B s; README "Benchmarks"), with margin: a partition restart
   (its device tree rebuilt) took 14.1 KiB of a hart stack, boot 121 KiB (plan, bundle, device
   catalogue and board limits are large values, copied between frames). */
#define BH_STACK_SIZE       0x8000      /* per hart */
#define BH_BOOT_STACK_SIZE  0x30000     /* boot only */
#define BH_GUARD_SIZE       0x1000      /* the unmapped page below each stack (HostPaging.swift) */
#define BH_FATAL_STACK_SIZE 0x4000      /* the fatal-trap path's own stack (trap.S) */
#define BH_HOST_TABLES_SIZE 0x60000     /* the hypervisor's own Sv39 tables: the boot table, one per partition, one idle */
#define BH_STACK_PAINT      0x5354414b5041494e  /* "STAKPAIN": entry.S paints the stacks; an unused word keeps it */
#define BH_DEVICE_TREE_SIZE 0x20000     /* the hypervisor's copy of the firmware's device tree */
#define BH_SYSTEM_CONFIG_SIZE 0x1000    /* State.swift's SystemConfig (a host test checks it fits) */
#define BH_MAX_PARTITIONS   8

/* hart_frame_t (hart.h, which checks these at compile time): register n at 8*n, then these. */
#define BH_FRAME_HV_STACK_TOP 256
#define BH_FRAME_HARTID       264
#define BH_FRAME_SIZE         272
#define BH_MAILBOX_SIZE       32        /* hart_mailbox_t */
#define BH_PARTITION_SHARED_SIZE 16     /* partition_shared_t */

#endif
