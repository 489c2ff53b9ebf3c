// ACLINT SSWI driver: raises another hart's supervisor software interrupt with one MMIO store.
import BulkheadCore
import CArch
import _Volatile

/// The SETSSIP registers of an ACLINT SSWI device (RISC-V ACLINT spec v1.0, chapter 4; Core's
/// HostSSWI says which register rings which hart).
struct ACLINTSSWI {
    let device: HostSSWI

    /// Sets `hart`'s sip.SSIP; false when the device is not wired to it. Memory writes before the
    /// call (the mailbox's request bits) are ordered before the device write (`fence w, o`), so the
    /// woken hart sees them.
    func raise(hart: Int) -> Bool {
        guard let address = device.setSSIPAddress(ofHart: hart) else { return false }
        arch_fence_w_o()
        VolatileMappedRegister<UInt32>(unsafeBitPattern: UInt(address.raw)).store(1)
        return true
    }
}
