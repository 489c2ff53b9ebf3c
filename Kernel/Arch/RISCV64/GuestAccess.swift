// Copies between hypervisor memory and the running partition's RAM with HLV/HSV, through its own G-stage table (privileged spec, "Hypervisor Extension").
import BulkheadCore
import CArch

enum GuestAccessInstructions {
    /// From now on GuestBuffer copies with HLV/HSV: a partition's harts need not map its RAM.
    static func install() { GuestAccess.copy = copyWithHLV }
}

/// `count` bytes between `hypervisor` and guest-physical `guest`, on a hart of the partition
/// whose RAM it is (hgatp selects its G-stage table; GuestMemory.check has put the range inside
/// its RAM, which that table maps). vsatp is Bare meanwhile, so that HLV/HSV take the address as
/// guest-physical rather than through the guest's own page table, and restored afterwards (the
/// guest's TLB entries stay valid: its table did not change). Doublewords where the guest address
/// is aligned, bytes at the ends.
private func copyWithHLV(_ hypervisor: UnsafeMutableRawPointer, _ guest: UInt64, _ host: UInt64, _ count: Int, _ toGuest: Bool) {
    let vsatp = csr_read_vsatp()
    csr_write_vsatp(0)
    var done = 0
    while done < count && (guest &+ UInt64(done)) & 7 != 0 {
        moveByte(hypervisor, guest, done, toGuest)
        done &+= 1
    }
    let aligned = (UInt(bitPattern: hypervisor) &+ UInt(done)) & 7 == 0     // both sides: plain ld/sd here
    while count &- done >= 8 {
        let address = guest &+ UInt64(done)
        if toGuest {
            arch_hsv_d(address, aligned ? (hypervisor + done).assumingMemoryBound(to: UInt64.self).pointee
                                        : hypervisor.loadUnaligned(fromByteOffset: done, as: UInt64.self))
        } else if aligned {
            (hypervisor + done).assumingMemoryBound(to: UInt64.self).pointee = arch_hlv_d(address)
        } else {
            hypervisor.storeBytes(of: arch_hlv_d(address), toByteOffset: done, as: UInt64.self)
        }
        done &+= 8
    }
    while done < count {
        moveByte(hypervisor, guest, done, toGuest)
        done &+= 1
    }
    csr_write_vsatp(vsatp)
}

@inline(__always) private func moveByte(_ hypervisor: UnsafeMutableRawPointer, _ guest: UInt64, _ offset: Int, _ toGuest: Bool) {
    let address = guest &+ UInt64(offset)
    if toGuest { arch_hsv_b(address, hypervisor.load(fromByteOffset: offset, as: UInt8.self)) }
    else { hypervisor.storeBytes(of: arch_hlv_bu(address), toByteOffset: offset, as: UInt8.self) }
}
