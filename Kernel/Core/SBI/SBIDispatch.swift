// The single SBI dispatch: each decoded call goes to one service, which validates, then acts.

/// What a service needs from the hart it runs on. The kernel implements it over real harts;
/// host tests implement it with a fake that records what happened. The IPC service's needs
/// (IPCEnvironment) are part of it.
public protocol SBIEnvironment: IPCEnvironment {
    /// The calling vCPU and how many vCPUs its partition has.
    var vcpu: Int { get }
    var vcpuCount: Int { get }
    var memory: GuestMemory { get }
    /// Firmware identity passed through to the guest (Base extension FIDs 4-6).
    var machineIDs: (vendor: UInt64, arch: UInt64, implementation: UInt64) { get }
    mutating func consoleWrite(byte: UInt8)
    /// Writes the bytes of `buffer` (checked guest memory) to the console.
    mutating func consoleWrite(_ buffer: GuestBuffer)
    mutating func consoleRead() -> UInt8?
    mutating func setTimer(_ deadline: UInt64)
    /// `vcpus` is a validated mask over this partition's vCPUs.
    mutating func sendIPI(vcpus: UInt64)
    mutating func remoteFence(vcpus: UInt64, kind: FenceKind)
    func hsmState(of vcpu: Int) -> HSMState
    /// Moves a stopped vCPU to start-pending and wakes its hart; false if it was not stopped.
    mutating func startVCPU(_ vcpu: Int, at pc: UInt64, opaque: UInt64) -> Bool
}

/// What the trap handler does after a call.
public enum SBIOutcome: Equatable, Sendable {
    /// Write the result to a0/a1, advance sepc past the ecall, resume the guest.
    case resume(SBIResult)
    /// The calling vCPU stops (HSM hart_stop); its hart waits for a new start.
    case stopVCPU
    /// The calling vCPU resumes at `address` with a0 = vCPU id, a1 = opaque (non-retentive suspend).
    case resumeAt(address: UInt64, opaque: UInt64)
    /// SRST: the whole partition shuts down, or restarts from its pristine image.
    case shutdownPartition
    case rebootPartition
}

/// SRST reset types (SBI spec v2.0, "System Reset Extension").
public enum ResetType {
    public static let shutdown: UInt32 = 0
    public static let coldReboot: UInt32 = 1
    public static let warmReboot: UInt32 = 2
}

public enum SBIDispatch {
    /// Performs `call` for the calling vCPU. Never traps on guest input.
    @inline(__always) public static func handle<E: SBIEnvironment>(_ call: SBICall, _ env: inout E) -> SBIOutcome {
        if case .bulkhead(let bulkheadCall) = call { return .resume(bulkhead(bulkheadCall, &env)) }
        if let result = base(call, env) { return .resume(result) }
        return perform(call, &env)
    }

    /// The Bulkhead extension (docs/hypercalls.md), the hot path of IPC.
    @inline(never) static func bulkhead<E: SBIEnvironment>(_ call: BulkheadCall, _ env: inout E) -> SBIResult {
        BulkheadService.handle(call, &env)
    }

    /// The Base extension's answers (SBI spec v2.0, chapter 4), or nil for any other call. Inline
    /// in the trap path: a Base call then saves no more registers than it needs.
    @inline(__always) static func base<E: SBIEnvironment>(_ call: SBICall, _ env: E) -> SBIResult? {
        switch call {
        case .getSpecVersion: return .success(sbiSpecVersion)
        case .getImplementationID: return .success(sbiImplementationID)
        case .getImplementationVersion: return .success(sbiImplementationVersion)
        case .probeExtension(let eid): return .success(SBICall.isImplemented(extension: eid) ? 1 : 0)
        case .getMachineVendorID: return .success(env.machineIDs.vendor)
        case .getMachineArchID: return .success(env.machineIDs.arch)
        case .getMachineImplementationID: return .success(env.machineIDs.implementation)
        default: return nil
        }
    }

    /// Every other call, out of line (one that acts costs far more than the call instruction).
    @inline(never) static func perform<E: SBIEnvironment>(_ call: SBICall, _ env: inout E) -> SBIOutcome {
        switch call {
        case .getSpecVersion, .getImplementationID, .getImplementationVersion, .probeExtension,
             .getMachineVendorID, .getMachineArchID, .getMachineImplementationID:
            return .resume(base(call, env) ?? .failure(.notSupported))   // not reached through `handle`

        case .setTimer(let deadline):
            env.setTimer(deadline)
            return .resume(.success())

        case .sendIPI(let mask):
            guard let vcpus = mask.vcpus(count: env.vcpuCount) else { return .resume(.failure(.invalidParam)) }
            env.sendIPI(vcpus: vcpus)
            return .resume(.success())

        case .remoteFence(let mask, let kind):
            guard let vcpus = mask.vcpus(count: env.vcpuCount) else { return .resume(.failure(.invalidParam)) }
            env.remoteFence(vcpus: vcpus, kind: kind)
            return .resume(.success())

        case .hartStart(let target, let pc, let opaque):
            guard target < UInt64(env.vcpuCount) else { return .resume(.failure(.invalidParam)) }
            guard env.memory.check(GuestSlice(GuestPhysAddr(pc), length: 4)) != nil, pc & 1 == 0 else {
                return .resume(.failure(.invalidAddress))
            }
            if env.startVCPU(Int(target), at: pc, opaque: opaque) { return .resume(.success()) }
            return .resume(.failure(.alreadyAvailable))
        case .hartStop:
            return .stopVCPU
        case .hartStatus(let target):
            guard target < UInt64(env.vcpuCount) else { return .resume(.failure(.invalidParam)) }
            return .resume(.success(UInt64(env.hsmState(of: Int(target)).rawValue)))
        case .hartSuspend(let type, let resume, let opaque):
            if type == 0 { return .resume(.success()) }   // retentive: resume at once (a spurious wake-up is allowed)
            guard type == 0x8000_0000 else { return .resume(.failure(.invalidParam)) }
            guard env.memory.check(GuestSlice(GuestPhysAddr(resume), length: 4)) != nil, resume & 1 == 0 else {
                return .resume(.failure(.invalidAddress))
            }
            return .resumeAt(address: resume, opaque: opaque)

        case .systemReset(let type, let reason):
            guard reason <= 1 || reason >= 0xE000_0000 else { return .resume(.failure(.invalidParam)) }
            switch type {
            case ResetType.shutdown: return .shutdownPartition
            case ResetType.coldReboot, ResetType.warmReboot: return .rebootPartition
            default: return .resume(.failure(.invalidParam))
            }

        case .consoleWrite(let length, let address):
            guard let buffer = env.memory.check(GuestSlice(address, length: length)) else {
                return .resume(.failure(.invalidParam))
            }
            env.consoleWrite(buffer)
            return .resume(.success(length))
        case .consoleRead(let length, let address):
            guard let buffer = env.memory.check(GuestSlice(address, length: length)) else {
                return .resume(.failure(.invalidParam))
            }
            var count = 0
            while count < buffer.count, var byte = env.consoleRead() {
                _ = withUnsafeBytes(of: &byte) { buffer.copyOut(from: $0, at: count) }
                count += 1
            }
            return .resume(.success(UInt64(count)))
        case .consoleWriteByte(let byte):
            env.consoleWrite(byte: byte)
            return .resume(.success())
        case .legacyPutchar(let byte):
            env.consoleWrite(byte: byte)
            return .resume(SBIResult(error: 0, value: 0))
        case .legacyGetchar:
            // Legacy getchar returns the character, or -1, in a0.
            if let byte = env.consoleRead() { return .resume(SBIResult(error: Int64(byte), value: 0)) }
            return .resume(SBIResult(error: -1, value: 0))

        case .bulkhead(let call):
            return .resume(bulkhead(call, &env))   // not reached through `handle`

        case .unsupported:
            return .resume(.failure(.notSupported))
        }
    }
}
