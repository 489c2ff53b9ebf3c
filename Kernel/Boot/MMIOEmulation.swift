// Trap-and-emulate of the virtual UART and the virtual PLIC: decode the faulting guest load/store from guest memory, perform it on the model.
// Locks: the console lock (SpinLock.swift) guards every partition's UART state and input queue.
import BulkheadCore

/// Per partition: its virtual UART's registers (under the console lock).
nonisolated(unsafe) var virtualUARTs = PerPartition<VirtualUART>(repeating: VirtualUART())

/// Handles a load or store guest-page fault at guest-physical `address` when it falls in one of
/// the partition's emulated devices (its virtual UART page, its virtual PLIC): returns true when
/// the access was emulated and sepc advanced, false when the fault policy must apply (no such
/// device there, an instruction we cannot read or that is not an integer load/store, a PLIC
/// access that is not 32 bits wide).
func emulateMMIO(_ frame: TrapFrame, hart: Int, address: GuestPhysAddr, store: Bool) -> Bool {
    let p = system.hartPartition[hart]
    let spec = plan[p]
    let uart = spec.hasVirtualUART && VirtualUART.contains(address)
    let plic = !uart && ownsVirtualPLIC(p) && address >= GuestDeviceTree.plicBase
        && address.raw &- GuestDeviceTree.plicBase.raw < PLICLayout.span
    guard uart || plic else { return false }
    let sepc = HartCSR.sepc
    guard let raw = fetchInstruction(at: GuestVirtAddr(sepc), vsatp: HartCSR.vsatp, memory: spec.guestMemory),
          let access = InstructionDecoder.decode(raw), access.isStore == store else { return false }
    if uart {
        let offset = address.raw &- VirtualUART.base.raw
        if store {
            let byte = UInt8(truncatingIfNeeded: frame[access.register])
            let out = withConsoleLock { virtualUARTs[p].write(offset: offset, value: byte) }
            if let out { guestConsolePut(partition: p, out) }
        } else {
            let value = withConsoleLock {
                virtualUARTs[p].read(offset: offset, inputWaiting: consoleInputWaiting(p), input: { takeConsoleInput(p) })
            }
            frame[access.register] = access.registerValue(loaded: UInt64(value))
        }
    } else {
        // PLIC registers are 32 bits wide, accessed with LW/SW (PLIC specification, "Memory Map").
        guard access.width == 4 else { return false }
        let offset = address.raw &- GuestDeviceTree.plicBase.raw
        let value = emulatePLIC(hart: hart, offset: offset, store: store,
                                value: UInt32(truncatingIfNeeded: frame[access.register]))
        if !store { frame[access.register] = access.registerValue(loaded: UInt64(value)) }
    }
    HartCSR.sepc = sepc &+ UInt64(access.length)
    return true
}

/// The instruction at guest-virtual `pc`: translated through the guest's VS-stage table
/// (GuestPageWalk) and read from its RAM one halfword at a time (a 32-bit instruction may
/// straddle two pages).
private func fetchInstruction(at pc: GuestVirtAddr, vsatp: UInt64, memory: GuestMemory) -> UInt32? {
    guard let low = readHalfword(pc, vsatp: vsatp, memory: memory) else { return nil }
    guard InstructionDecoder.isFullLength(low) else { return UInt32(low) }
    guard let high = readHalfword(GuestVirtAddr(pc.raw &+ 2), vsatp: vsatp, memory: memory) else { return nil }
    return UInt32(low) | UInt32(high) << 16
}

private func readHalfword(_ va: GuestVirtAddr, vsatp: UInt64, memory: GuestMemory) -> UInt16? {
    guard va.raw & 1 == 0,
          let gpa = GuestPageWalk.translate(va, vsatp: vsatp, read: { readGuest64(memory, $0) }),
          let buffer = memory.check(GuestSlice(gpa, length: 2)) else { return nil }
    return buffer.load(UInt16.self, at: 0)
}

/// The aligned 8 bytes at guest-physical `gpa`, if they lie in the partition's RAM.
private func readGuest64(_ memory: GuestMemory, _ gpa: GuestPhysAddr) -> UInt64? {
    guard gpa.isAligned(to: 8), let buffer = memory.check(GuestSlice(gpa, length: 8)) else { return nil }
    return buffer.load(UInt64.self, at: 0)
}
