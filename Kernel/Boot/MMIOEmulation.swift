// Trap-and-emulate of the virtual UART: decode the faulting guest load/store from guest memory, perform it on the model.
// Lock order: the console lock (a leaf) guards every partition's UART state and input queue.
import BulkheadCore
import CArch

/// Per partition: its virtual UART's registers (under the console lock).
nonisolated(unsafe) var virtualUARTs = InlineArray<8, VirtualUART>(repeating: VirtualUART())

/// Handles a load or store guest-page fault at guest-physical `address` when it falls in the
/// partition's virtual UART page: returns true when the access was emulated and sepc advanced,
/// false when the fault policy must apply (no UART, another address, an instruction we cannot
/// read or that is not an integer load/store).
func emulateMMIO(_ frame: TrapFrame, hart: Int, address: GuestPhysAddr, store: Bool) -> Bool {
    let p = hartPartition[hart]
    let spec = plan[p]
    guard spec.hasVirtualUART, VirtualUART.contains(address) else { return false }
    let memory = spec.guestMemory
    let sepc = csr_read_sepc()
    guard let raw = fetchInstruction(at: GuestVirtAddr(sepc), vsatp: csr_read_vsatp(), memory: memory),
          let access = InstructionDecoder.decode(raw), access.isStore == store else { return false }
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
    csr_write_sepc(sepc &+ UInt64(access.length))
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
          let host = memory.hostAddress(of: gpa, length: 2),
          let pointer = UnsafePointer<UInt16>(bitPattern: UInt(host.raw)) else { return nil }
    return pointer.pointee
}

/// The aligned 8 bytes at guest-physical `gpa`, if they lie in the partition's RAM.
private func readGuest64(_ memory: GuestMemory, _ gpa: GuestPhysAddr) -> UInt64? {
    guard gpa.isAligned(to: 8), let host = memory.hostAddress(of: gpa, length: 8),
          let pointer = UnsafePointer<UInt64>(bitPattern: UInt(host.raw)) else { return nil }
    return pointer.pointee
}
