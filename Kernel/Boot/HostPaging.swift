// The hypervisor's own page tables: built at boot, one per partition selected on its harts, and used to name a fault's cause.
//
// Identity-mapped Sv39 (Core's HypervisorMappings): code read+execute, read-only data read-only,
// data and stacks read+write and never executable, a guard page below every stack unmapped, RAM
// outside the image read+write, firmware-reserved memory unmapped, and only the device registers
// the hypervisor drives (console, PLIC, ACLINT SSWI, bundle flash, test device). Guests are
// unaffected: their accesses go through vsatp and hgatp, not satp.
//
// Partition RAM: the boot table maps all of it (the boot copies images and scrubs RAM for every
// partition on every hart). Before a hart first enters its guest it selects the run table, which
// maps no partition's RAM at all: the hypervisor reaches its guest's memory only through
// GuestBuffer's copies, which use HLV/HSV and so the partition's own G-stage table
// (Arch/RISCV64/GuestAccess.swift), and a stray access to any partition's RAM, its own included,
// is a FATAL naming it. The one window: while a hart of partition p loads p's image again (a
// restart, an update: PartitionControl.reload) it selects p's load table, which maps p's RAM and
// no other's. What partitions share (channel rings and windows, console buffers) is hypervisor
// memory, mapped in every table.
import BulkheadCore

/// What the tables are built from (kept for the partition tables, built once the plan is known).
nonisolated(unsafe) var hostRAM = HostRegion(base: HostPhysAddr(0), size: 0)
nonisolated(unsafe) var hostExcluded = RegionList()
nonisolated(unsafe) var hostDevices = RegionList()
nonisolated(unsafe) var hostTablePool: PageTablePool? = nil
/// What the table left unmapped on purpose, for naming a fault (bulkheadFatalTrap).
nonisolated(unsafe) var hostImage = HypervisorImage(text: HostRegion(base: HostPhysAddr(0), size: 0),
                                                    readOnly: HostRegion(base: HostPhysAddr(0), size: 0),
                                                    data: HostRegion(base: HostPhysAddr(0), size: 0), guards: RegionList())

/// The image's sections and stack guards, from the linker script's symbols and entry.S's layout.
func hypervisorImage() -> HypervisorImage {
    let start = KernelImage.start, textEnd = KernelImage.textEnd, dataStart = KernelImage.dataStart
    var guards = RegionList()
    var h = 0
    while h < maxHarts {
        guards.append(HostRegion(base: HostPhysAddr(HartStacks.base(hart: h) &- HartStacks.guardSize), size: HartStacks.guardSize))
        h += 1
    }
    guards.append(HostRegion(base: HostPhysAddr(HartStacks.bootBase &- HartStacks.guardSize), size: HartStacks.guardSize))
    return HypervisorImage(text: HostRegion(base: HostPhysAddr(start), size: textEnd &- start),
                           readOnly: HostRegion(base: HostPhysAddr(textEnd), size: dataStart &- textEnd),
                           data: HostRegion(base: HostPhysAddr(dataStart), size: KernelImage.end &- dataStart),
                           guards: guards)
}

/// Builds the table from the board's description and selects it on this (the boot) hart. Halts
/// with the reason when it cannot be built.
func enableHostPaging(_ host: HostDescription, tree: UnsafeRawBufferPointer) {
    var devices = RegionList()
    if let console = host.console { devices.append(HostRegion(base: console.base, size: max(console.size, 1))) }
    if let flash = currentBoard.bundleFlash { devices.append(HostRegion(base: flash.mappedBase, size: UInt64(flash.deviceSize))) }
    if let reader = try? FDTReader(tree) {
        if let node = try? reader.firstNode(compatibleWith: "sifive,test0"), let reg = try? reader.translatedReg(of: node) {
            devices.append(HostRegion(base: HostPhysAddr(reg.address), size: max(reg.size, 1)))
        }
        if let plic = try? HostPLIC(reader: reader) { devices.append(plic.region) }
        if let sswi = try? HostSSWI(reader: reader) { devices.append(sswi.region) }
    }
    var excluded = RegionList()
    var i = 0
    while i < host.firmwareReserved.count {
        excluded.append(host.firmwareReserved[i].region)
        i += 1
    }
    let image = hypervisorImage()
    guard var pool = PageTablePool(region: KernelStorage.hostPageTables) else {
        halt { out in out.write("error: no memory for the hypervisor's page table") }
    }
    let table: HostPageTable
    do {
        table = try HypervisorMappings.build(image: image, ram: host.ram, excluded: excluded, devices: devices, memory: &pool)
    } catch {
        halt { out in out.write("error: cannot build the hypervisor's page table: "); error.write(to: &out) }
    }
    hostImage = image
    configureSystem { $0.hostSatp = table.satp }
    hostRAM = host.ram
    hostExcluded = excluded
    hostDevices = devices
    Instructions.selectHostTable(satp: system.hostSatp)
    log { out in
        out.write("hypervisor page table: code read-only, data never executable, guard pages below ")
        out.write(decimal: UInt64(image.guards.count)); out.write(" stacks, "); out.write(decimal: UInt64(devices.merged().count))
        out.write(" device windows ("); out.write(size: pool.used); out.write(" of tables)")
    }
    hostTablePool = pool
}

/// Once the plan is known (boot hart): one load table per partition, without the RAM of the
/// others, and the run table, without any partition's RAM. Halts with the reason when they do not fit.
func buildPartitionTables() {
    guard system.hostSatp != 0, var pool = hostTablePool else { return }
    var p = 0
    while p <= plan.count {
        var excluded = hostExcluded
        var q = 0
        while q < plan.count {
            if q != p { excluded.append(plan[q].memory) }
            q += 1
        }
        do {
            let table = try HypervisorMappings.build(image: hostImage, ram: hostRAM, excluded: excluded, devices: hostDevices, memory: &pool)
            configureSystem { s in if p < plan.count { s.partitionSatp[p] = table.satp } else { s.runSatp = table.satp } }
        } catch {
            halt { out in out.write("error: cannot build partition page tables for the hypervisor: "); error.write(to: &out) }
        }
        p += 1
    }
    hostTablePool = pool
    log { out in
        out.write("hypervisor page tables: harts run without any partition's RAM; one load table per partition (")
        out.write(size: pool.used); out.write(" of tables in all)")
    }
}

/// Selects the run table (no partition's RAM) on this hart, before it first enters its guest.
func selectRunTable() {
    if system.runSatp != 0 { Instructions.selectHostTable(satp: system.runSatp) }
}

/// Runs `body` on partition `p`'s load table (its RAM mapped, no other partition's), on a hart of
/// `p`, then goes back to the run table.
func withPartitionRAM<R>(_ p: Int, _ body: () -> R) -> R {
    let satp = system.partitionSatp[p & (Limits.partitions - 1)]
    if satp != 0 { Instructions.selectHostTable(satp: satp) }
    defer { selectRunTable() }
    return body()
}

/// Selects the table on a hart the boot hart started (satp is 0 after SBI HSM hart_start).
func enableHostPagingOnThisHart() {
    if system.hostSatp != 0 { Instructions.selectHostTable(satp: system.hostSatp) }
}

/// What a page fault at `address` in the hypervisor itself means, from the table's layout.
func writeHostFaultCause<S: TextSink>(scause: UInt64, address: UInt64, to out: inout S) {
    guard system.hostSatp != 0, scause == 12 || scause == 13 || scause == 15 else { return }
    let at = HostRegion(base: HostPhysAddr(address), size: 1)
    var i = 0
    while i < hostImage.guards.count {
        if hostImage.guards[i].overlaps(at) {
            out.write(" (stack overflow: ")
            if i < maxHarts { out.write("hart "); out.write(decimal: UInt64(i)); out.write("'s stack") } else { out.write("the boot stack") }
            out.write(" ran into its guard page)")
            return
        }
        i += 1
    }
    let code = HostRegion(base: hostImage.text.base, size: hostImage.text.size &+ hostImage.readOnly.size)
    var p = 0
    while p < plan.count {
        if plan[p].memory.overlaps(at) {
            out.write(" (an access to partition "); plan[p].name.withBytes { out.write(bytes: $0) }
            out.write("'s RAM, which this hart's page table does not map)")
            return
        }
        p += 1
    }
    if scause == 15 && code.overlaps(at) {
        out.write(" (a write to the hypervisor's read-only code or data)")
    } else if scause == 12 {
        out.write(" (an instruction fetch from memory that is not the hypervisor's code)")
    } else {
        out.write(" (an access to memory the hypervisor's page table does not map)")
    }
}
