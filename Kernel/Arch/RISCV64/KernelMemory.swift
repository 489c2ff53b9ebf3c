// Where the hypervisor's image, stacks and fixed storage lie (Linker/kernel.ld, entry.S, layout.h).
import BulkheadCore
import CArch

/// The linked image's sections.
enum KernelImage {
    static var start: UInt64 { kernel_image_start() }
    static var end: UInt64 { kernel_image_end() }
    /// End of .text (code: read+execute).
    static var textEnd: UInt64 { kernel_text_end() }
    /// End of .rodata (read-only).
    static var rodataEnd: UInt64 { kernel_rodata_end() }
    /// Start of the writable data.
    static var dataStart: UInt64 { kernel_data_start() }
    /// The trap vector (trap.S) and the secondary harts' entry point (entry.S).
    static var trapVector: UInt64 { trap_vector_address() }
    static var secondaryEntry: UInt64 { secondary_entry_address() }
    /// instret when the boot hart entered (entry.S).
    static var entryInstret: UInt64 { entry_instret() }
}

/// The hart stacks: each above an unmapped guard page, painted at boot (entry.S).
enum HartStacks {
    static let size = UInt64(BH_STACK_SIZE)
    static let bootSize = UInt64(BH_BOOT_STACK_SIZE)
    static let guardSize = UInt64(BH_GUARD_SIZE)
    /// The word every unused stack slot holds.
    static let paint = UInt64(BH_STACK_PAINT)
    /// Lowest address of hart `hart`'s stack (its guard page lies just below).
    static func base(hart: Int) -> UInt64 { hart_stack_base(UInt64(hart)) }
    static var bootBase: UInt64 { boot_stack_base() }
}

/// The fixed storage areas in the image's .bss.
enum KernelStorage {
    static var hostPageTables: HostRegion { region(host_page_tables_address(), host_page_tables_size()) }
    static var guestPageTablePool: HostRegion { region(page_table_pool_address(), page_table_pool_size()) }
    static var ipcQueues: HostRegion { region(ipc_queue_storage_address(), ipc_queue_storage_size()) }
    static var deviceTreeCopy: HostRegion { region(device_tree_copy_address(), device_tree_copy_size()) }
    /// Where State.swift keeps `system`.
    static var systemConfig: HostRegion { region(system_config_address(), UInt64(BH_SYSTEM_CONFIG_SIZE)) }
    /// Buffer 0: the keystore record as in flash; buffer 1: scratch for the next record.
    static func keystoreBuffer(_ which: UInt64) -> HostRegion { region(keystore_buffer_address(which), keystore_buffer_size()) }

    private static func region(_ base: UInt64, _ size: UInt64) -> HostRegion { HostRegion(base: HostPhysAddr(base), size: size) }
}

/// The words harts share: mailboxes, per-partition records, lock words (hart.h).
enum SharedWords {
    /// Hart `hart`'s mailbox: request bits, HSM state, start address and argument, SSWI register.
    static func mailboxRequest(_ hart: Int) -> AtomicWord32 { AtomicWord32(pointer: mailbox_request_word(UInt64(hart))) }
    static func mailboxState(_ hart: Int) -> AtomicWord32 { AtomicWord32(pointer: mailbox_state_word(UInt64(hart))) }
    static func mailboxStart(_ hart: Int) -> UnsafeMutablePointer<UInt64> { mailbox_start_pc(UInt64(hart)) }
    static func mailboxOpaque(_ hart: Int) -> UnsafeMutablePointer<UInt64> { mailbox_start_opaque(UInt64(hart)) }
    static func mailboxSSWI(_ hart: Int) -> UnsafeMutablePointer<UInt64> { mailbox_sswi_setssip(UInt64(hart)) }

    /// Partition `p`'s busy lock word, restart count, stopped flag and virtual-PLIC lock word.
    static func partitionBusy(_ p: Int) -> UnsafeMutablePointer<UInt32> { partition_busy_word(UInt64(p)) }
    static func partitionBootCount(_ p: Int) -> AtomicWord32 { AtomicWord32(pointer: partition_boot_count_word(UInt64(p))) }
    static func partitionStopped(_ p: Int) -> AtomicWord32 { AtomicWord32(pointer: partition_stopped_word(UInt64(p))) }
    static func partitionPLICLock(_ p: Int) -> UnsafeMutablePointer<UInt32> { partition_plic_lock_word(UInt64(p)) }

    /// Global lock word `i` (SpinLock.swift), message ring `ring`'s lock word.
    static func lock(_ i: Int) -> UnsafeMutablePointer<UInt32> { lock_word(UInt64(i)) }
    static func ringLock(_ ring: Int) -> UnsafeMutablePointer<UInt32> { ring_lock(UInt64(ring)) }
    /// The held-rank word of hart `index` (index `Limits.harts`: the boot stack's).
    static func heldRanks(_ index: Int) -> UnsafeMutablePointer<UInt32> { held_ranks_word(UInt64(index)) }
    /// Partition `p`'s doorbell bits (one per channel).
    static func doorbells(_ p: Int) -> AtomicWord64 { AtomicWord64(pointer: partition_doorbells(UInt64(p))) }
    /// BootWorkers.swift's words.
    static func bootWork(_ i: Int) -> AtomicWord64 { AtomicWord64(pointer: boot_work_word(UInt64(i))) }
}
