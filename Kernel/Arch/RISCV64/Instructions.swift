// The few instructions the kernel needs outside trap entry: wait, fences, satp, the seed CSR, the stack pointer.
import CArch

enum Instructions {
    /// wfi: waits for an interrupt (it may also return at any time).
    @inline(__always) static func waitForInterrupt() { arch_wfi() }
    /// fence w, o: memory writes before it are seen before later device writes.
    @inline(__always) static func fenceWritesBeforeDevice() { arch_fence_w_o() }
    /// fence.i (Zifencei): this hart's instruction fetches see earlier stores.
    @inline(__always) static func fenceI() { arch_fence_i() }
    /// hfence.vvma for the current VMID, every address and ASID (privileged spec, "Hypervisor Extension").
    @inline(__always) static func hfenceVVMA() { arch_hfence_vvma_all() }
    /// hfence.vvma for the current VMID and one guest ASID.
    @inline(__always) static func hfenceVVMA(asid: UInt64) { arch_hfence_vvma_asid(asid) }
    /// satp, then sfence.vma: selects the hypervisor's own page table on this hart.
    @inline(__always) static func selectHostTable(satp: UInt64) { arch_enable_host_paging(satp) }
    /// One read of the Zkr seed CSR, or all ones when the hart traps it.
    static func tryReadSeed() -> UInt64 { arch_try_read_seed() }
    @inline(__always) static var stackPointer: UInt64 { arch_stack_pointer() }
}
