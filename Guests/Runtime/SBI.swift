// SBI calls for guests (SBI spec v2.0): one wrapper per function, each returning (error, value).

@_exported import BulkheadCore   // SBIResult, SBIExtension, HSMState, SBIError, FDTReader, TextSink
import GuestArch

/// `SBIResult.error == 0` is success; negative values are the spec's `SBIError` codes.
extension SBIResult {
    public var succeeded: Bool { error == 0 }
}

/// Every SBI function a Bulkhead guest may call. Hart ids are the partition's vCPU ids.
public enum SBI {
    @inline(__always)
    static func call(_ eid: UInt64, _ fid: UInt64, _ a0: UInt64 = 0, _ a1: UInt64 = 0, _ a2: UInt64 = 0,
                     _ a3: UInt64 = 0, _ a4: UInt64 = 0, _ a5: UInt64 = 0) -> SBIResult {
        let r = guest_ecall(eid, fid, a0, a1, a2, a3, a4, a5)
        return SBIResult(error: r.error, value: r.value)
    }

    // MARK: Base (EID 0x10)
    public static func specVersion() -> SBIResult { call(SBIExtension.base, 0) }
    public static func implementationID() -> SBIResult { call(SBIExtension.base, 1) }
    public static func implementationVersion() -> SBIResult { call(SBIExtension.base, 2) }
    /// `value` is 0 when the extension is absent (otherwise 1 or an extension-specific number).
    public static func probeExtension(_ eid: UInt64) -> SBIResult { call(SBIExtension.base, 3, eid) }
    public static func machineVendorID() -> SBIResult { call(SBIExtension.base, 4) }
    public static func machineArchitectureID() -> SBIResult { call(SBIExtension.base, 5) }
    public static func machineImplementationID() -> SBIResult { call(SBIExtension.base, 6) }

    // MARK: Timer (EID "TIME")
    /// Programs the next timer interrupt at absolute `time` value `deadline` and clears the pending
    /// one; `UInt64.max` means "no timer".
    public static func setTimer(_ deadline: UInt64) -> SBIResult { call(SBIExtension.time, 0, deadline) }

    // MARK: IPI (EID "sPI")
    /// Sends a supervisor software interrupt to the harts `hartMaskBase + i` for each bit i of `hartMask`
    /// (`hartMaskBase == UInt64.max` means all harts).
    public static func sendIPI(hartMask: UInt64, hartMaskBase: UInt64) -> SBIResult {
        call(SBIExtension.ipi, 0, hartMask, hartMaskBase)
    }

    // MARK: RFENCE (EID "RFNC"); start 0 and size 0 (or size UInt64.max) mean the whole address space
    public static func remoteFenceI(hartMask: UInt64, hartMaskBase: UInt64) -> SBIResult {
        call(SBIExtension.rfence, 0, hartMask, hartMaskBase)
    }
    public static func remoteSfenceVMA(hartMask: UInt64, hartMaskBase: UInt64, start: UInt64, size: UInt64) -> SBIResult {
        call(SBIExtension.rfence, 1, hartMask, hartMaskBase, start, size)
    }
    public static func remoteSfenceVMA(hartMask: UInt64, hartMaskBase: UInt64, start: UInt64, size: UInt64,
                                       asid: UInt64) -> SBIResult {
        call(SBIExtension.rfence, 2, hartMask, hartMaskBase, start, size, asid)
    }
    public static func remoteHfenceGVMA(hartMask: UInt64, hartMaskBase: UInt64, start: UInt64, size: UInt64,
                                        vmid: UInt64) -> SBIResult {
        call(SBIExtension.rfence, 3, hartMask, hartMaskBase, start, size, vmid)
    }
    public static func remoteHfenceGVMA(hartMask: UInt64, hartMaskBase: UInt64, start: UInt64, size: UInt64) -> SBIResult {
        call(SBIExtension.rfence, 4, hartMask, hartMaskBase, start, size)
    }
    public static func remoteHfenceVVMA(hartMask: UInt64, hartMaskBase: UInt64, start: UInt64, size: UInt64,
                                        asid: UInt64) -> SBIResult {
        call(SBIExtension.rfence, 5, hartMask, hartMaskBase, start, size, asid)
    }
    public static func remoteHfenceVVMA(hartMask: UInt64, hartMaskBase: UInt64, start: UInt64, size: UInt64) -> SBIResult {
        call(SBIExtension.rfence, 6, hartMask, hartMaskBase, start, size)
    }

    // MARK: HSM (EID "HSM")
    /// Starts stopped vCPU `hart` at `startAddress` (MMU off) with a0 = hart, a1 = opaque.
    /// Pass `Guest.secondaryEntry` to run the guest's `guest_secondary(vcpu, opaque)`.
    public static func hartStart(_ hart: UInt64, startAddress: UInt64, opaque: UInt64) -> SBIResult {
        call(SBIExtension.hsm, 0, hart, startAddress, opaque)
    }
    /// Stops the calling vCPU; returns only on failure.
    public static func hartStop() -> SBIResult { call(SBIExtension.hsm, 1) }
    /// `value` is an `HSMState` raw value.
    public static func hartStatus(_ hart: UInt64) -> SBIResult { call(SBIExtension.hsm, 2, hart) }
    public static func hartSuspend(type: UInt32, resumeAddress: UInt64, opaque: UInt64) -> SBIResult {
        call(SBIExtension.hsm, 3, UInt64(type), resumeAddress, opaque)
    }

    // MARK: System reset (EID "SRST")
    public enum ResetType: UInt32 { case shutdown = 0, coldReboot = 1, warmReboot = 2 }
    public enum ResetReason: UInt32 { case none = 0, systemFailure = 1 }
    /// Resets the partition (under Bulkhead) or the machine; returns only on failure.
    public static func systemReset(_ type: ResetType, reason: ResetReason = .none) -> SBIResult {
        call(SBIExtension.srst, 0, UInt64(type.rawValue), UInt64(reason.rawValue))
    }

    // MARK: Debug console (EID "DBCN")
    /// Writes up to `bytes.count` bytes; `value` is how many were written.
    public static func consoleWrite(_ bytes: UnsafeRawBufferPointer) -> SBIResult {
        guard let base = bytes.baseAddress else { return SBIResult(error: 0, value: 0) }
        let address = UInt64(UInt(bitPattern: base))
        return call(SBIExtension.dbcn, 0, UInt64(bytes.count), address & 0xFFFF_FFFF, address >> 32)
    }
    /// Reads up to `buffer.count` bytes; `value` is how many were read.
    public static func consoleRead(_ buffer: UnsafeMutableRawBufferPointer) -> SBIResult {
        guard let base = buffer.baseAddress else { return SBIResult(error: 0, value: 0) }
        let address = UInt64(UInt(bitPattern: base))
        return call(SBIExtension.dbcn, 1, UInt64(buffer.count), address & 0xFFFF_FFFF, address >> 32)
    }
    public static func consoleWriteByte(_ byte: UInt8) -> SBIResult { call(SBIExtension.dbcn, 2, UInt64(byte)) }

    // MARK: Legacy console (EIDs 0x01, 0x02); they return a single value in a0
    /// `error` is the call's a0 (0 on success).
    public static func legacyPutchar(_ byte: UInt8) -> SBIResult {
        SBIResult(error: call(SBIExtension.legacyPutchar, 0, UInt64(byte)).error, value: 0)
    }
    /// `value` is the byte read; `error` is -1 (a0 = -1) when no byte is waiting.
    public static func legacyGetchar() -> SBIResult {
        let a0 = call(SBIExtension.legacyGetchar, 0).error
        return a0 < 0 ? SBIResult(error: a0, value: 0) : SBIResult(error: 0, value: UInt64(a0))
    }
}
