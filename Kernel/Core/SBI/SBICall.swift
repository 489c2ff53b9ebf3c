// Decoding a guest's ecall registers into one typed SBI call, once, at the trap boundary.

/// A hart mask as SBI passes it: bit i of `mask` names hart `base + i`; base = -1 means all harts.
public struct SBIHartMask: Equatable, Sendable {
    public var mask: UInt64
    public var base: UInt64
    public init(mask: UInt64, base: UInt64) { self.mask = mask; self.base = base }

    /// The vCPU set as a bit mask over 0..<count, or `nil` when it names a vCPU that does not exist.
    public func vcpus(count: Int) -> UInt64? {
        let all: UInt64 = count >= 64 ? ~0 : (1 << UInt64(count)) &- 1
        if base == UInt64.max { return all }
        guard base < UInt64(count) else { return mask == 0 ? 0 : nil }
        let shifted = mask << base
        guard shifted >> base == mask, shifted & ~all == 0 else { return nil }
        return shifted
    }
}

/// Remote fences a guest may ask for (SBI RFENCE extension).
public enum FenceKind: Equatable, Sendable {
    case instruction              // remote_fence_i
    case virtualMemory            // remote_sfence_vma: flush the guest's VS-stage TLB (its VMID)
    /// remote_sfence_vma_asid: only the entries of one guest ASID need flushing (a4). The address
    /// range (a2, a3) is not used: flushing more than asked is always correct.
    case virtualMemoryASID(UInt64)
}

/// Every SBI call a guest can make, decoded from a0..a7.
public enum SBICall: Equatable, Sendable {
    case getSpecVersion, getImplementationID, getImplementationVersion
    case probeExtension(UInt64)
    case getMachineVendorID, getMachineArchID, getMachineImplementationID
    case setTimer(UInt64)
    case sendIPI(SBIHartMask)
    case remoteFence(SBIHartMask, FenceKind)
    case hartStart(vcpu: UInt64, startAddress: UInt64, opaque: UInt64)
    case hartStop
    case hartStatus(vcpu: UInt64)
    case hartSuspend(type: UInt32, resumeAddress: UInt64, opaque: UInt64)
    case systemReset(type: UInt32, reason: UInt32)
    case consoleWrite(length: UInt64, address: GuestPhysAddr)
    case consoleRead(length: UInt64, address: GuestPhysAddr)
    case consoleWriteByte(UInt8)
    case legacyPutchar(UInt8)
    case legacyGetchar
    /// The Bulkhead extension (inter-partition IPC; docs/hypercalls.md).
    case bulkhead(BulkheadCall)
    case unsupported(eid: UInt64, fid: UInt64)

    /// Decodes `a` = a0...a7 (a6 = function id, a7 = extension id).
    @inline(__always) public static func decode(a0: UInt64, a1: UInt64, a2: UInt64, a3: UInt64, a4: UInt64 = 0,
                                                a6 fid: UInt64, a7 eid: UInt64) -> SBICall {
        // The compiler (-Osize) merges these tests and the switch below into one chain of
        // comparisons; the branch hint keeps the Bulkhead extension (IPC) at its head.
        if _fastPath(eid == BulkheadExtension.eid) { return .bulkhead(BulkheadCall.decode(fid: fid, a0: a0, a1: a1, a2: a2, a3: a3)) }
        if eid == SBIExtension.base {
            switch fid {
            case 0: return .getSpecVersion
            case 1: return .getImplementationID
            case 2: return .getImplementationVersion
            case 3: return .probeExtension(a0)
            case 4: return .getMachineVendorID
            case 5: return .getMachineArchID
            case 6: return .getMachineImplementationID
            default: return .unsupported(eid: eid, fid: fid)
            }
        }
        switch eid {
        case SBIExtension.time where fid == 0: return .setTimer(a0)
        case SBIExtension.legacySetTimer: return .setTimer(a0)
        case SBIExtension.ipi where fid == 0: return .sendIPI(SBIHartMask(mask: a0, base: a1))
        case SBIExtension.rfence:
            let mask = SBIHartMask(mask: a0, base: a1)
            switch fid {
            case 0: return .remoteFence(mask, .instruction)
            case 1: return .remoteFence(mask, .virtualMemory)
            case 2: return .remoteFence(mask, .virtualMemoryASID(a4))   // SBI v2.0 §8.4: a4 = ASID
            default: break   // the HFENCE variants are for hypervisors running below us: not offered
            }
        case SBIExtension.hsm:
            switch fid {
            case 0: return .hartStart(vcpu: a0, startAddress: a1, opaque: a2)
            case 1: return .hartStop
            case 2: return .hartStatus(vcpu: a0)
            case 3: return .hartSuspend(type: UInt32(truncatingIfNeeded: a0), resumeAddress: a1, opaque: a2)
            default: break
            }
        case SBIExtension.srst where fid == 0:
            return .systemReset(type: UInt32(truncatingIfNeeded: a0), reason: UInt32(truncatingIfNeeded: a1))
        case SBIExtension.dbcn:
            // DBCN passes the buffer's physical address as (lo = a1, hi = a2); RV64 uses lo only when hi is 0.
            switch fid {
            case 0: return .consoleWrite(length: a0, address: GuestPhysAddr(a2 == 0 ? a1 : UInt64.max))
            case 1: return .consoleRead(length: a0, address: GuestPhysAddr(a2 == 0 ? a1 : UInt64.max))
            case 2: return .consoleWriteByte(UInt8(truncatingIfNeeded: a0))
            default: break
            }
        case SBIExtension.legacyPutchar: return .legacyPutchar(UInt8(truncatingIfNeeded: a0))
        case SBIExtension.legacyGetchar: return .legacyGetchar
        default: break
        }
        return .unsupported(eid: eid, fid: fid)
    }

    /// Whether `probe_extension` reports the extension as available.
    public static func isImplemented(extension eid: UInt64) -> Bool {
        switch eid {
        case SBIExtension.base, SBIExtension.time, SBIExtension.ipi, SBIExtension.rfence, SBIExtension.hsm,
             SBIExtension.srst, SBIExtension.dbcn, SBIExtension.legacySetTimer, SBIExtension.legacyPutchar,
             SBIExtension.legacyGetchar, BulkheadExtension.eid:
            return true
        default:
            return false
        }
    }
}
