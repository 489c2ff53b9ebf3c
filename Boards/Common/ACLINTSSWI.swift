// ACLINT SSWI driver: raises another hart's supervisor software interrupt with one MMIO store.

/// A hart's SETSSIP register of an ACLINT SSWI device (RISC-V ACLINT spec v1.0, chapter 4; Core's
/// HostSSWI finds which register rings which hart; each hart's mailbox keeps its register's address).
enum ACLINTSSWI {
    /// Sets the sip.SSIP of the hart whose SETSSIP register is at `register`. Memory writes before
    /// the call (the mailbox's request bits) are ordered before the device write (`fence w, o`),
    /// so the woken hart sees them.
    @inline(__always) static func raise(setssip register: UInt64) {
        Instructions.fenceWritesBeforeDevice()
        MMIORegister<UInt32>(unsafeBitPattern: UInt(register)).store(1)
    }
}
