// The partition update calls (update_stage, update_apply, update_status, update_commit): check the caller's policy, then act.
//
// docs/hypercalls.md, "Partition updates", is the contract. One staging buffer in hypervisor
// memory holds one update at a time: the updater copies it in chunks (update_stage), then asks
// for it to be applied (update_apply). The update is parsed and verified from the staging
// buffer (PartitionUpdateReader, PartitionUpdateVerifier: trust anchors, revocation,
// signature, partition and policy, the target's floor, fit, digests) while `applying` keeps
// every other call off it, so the bytes cannot change between the check and the use. Only then
// is the target restarted on the new image, on trial, until it calls update_commit.

/// What the update service needs from the hypervisor. The defaults describe a hypervisor
/// without updates (every call refused), so environments that do not offer them need nothing.
public protocol UpdateEnvironment {
    /// The caller's update policy (PartitionSpec.updateTargets).
    var updateTargets: UInt8 { get }
    /// How many partitions the plan has.
    var planPartitionCount: Int { get }
    /// Runs `body` on the update table under its lock; nil when there is no update service.
    mutating func withUpdateTable<R>(_ body: (inout UpdateTable) -> R) -> R?
    /// The staging buffer (UpdateLimits.stagingSize bytes), nil without an update service.
    var updateStaging: UnsafeMutableRawBufferPointer? { get }
    /// PartitionUpdateVerifier.verify against the installed bundle and the built-in trust anchors.
    func verifyUpdate(_ update: PartitionUpdateReader, floor: UInt64) throws(PartitionUpdateError)
    /// Stops the update's target partition and starts it again on the update's image, on trial
    /// for `trialMilliseconds` (UpdateTable.beginTrial while it is stopped). Throws (and changes
    /// nothing) when that cannot be done now (`busy`: the target is being stopped or restarted)
    /// or the image cannot be stored (`storageFailed`).
    mutating func installUpdate(_ update: PartitionUpdateReader, trialMilliseconds: UInt64) throws(BulkheadReason)
    /// Records in persistent storage that partition `p`'s trial image is committed (called
    /// between UpdateTable.beginCommit and finishCommit). Throws `storageFailed` if it could not.
    mutating func recordCommit(_ p: Int) throws(BulkheadReason)
    /// Logs why an update for `target` was refused on the console.
    mutating func logRefusedUpdate(_ error: PartitionUpdateError, target: Int)
    /// Rolls partition `p` back when its trial's deadline has passed (update_status calls it first,
    /// so an updater that polls sees a missed deadline even when the trial image never traps).
    mutating func enforceTrialDeadline(_ p: Int)
}

extension UpdateEnvironment {
    public var updateTargets: UInt8 { 0 }
    public var planPartitionCount: Int { 0 }
    public mutating func withUpdateTable<R>(_ body: (inout UpdateTable) -> R) -> R? { nil }
    public var updateStaging: UnsafeMutableRawBufferPointer? { nil }
    public func verifyUpdate(_ update: PartitionUpdateReader, floor: UInt64) throws(PartitionUpdateError) { throw .unknownKey(update.keyID) }
    public mutating func installUpdate(_ update: PartitionUpdateReader, trialMilliseconds: UInt64) throws(BulkheadReason) {
        throw .unknownFunction
    }
    public mutating func recordCommit(_ p: Int) throws(BulkheadReason) {}
    public mutating func logRefusedUpdate(_ error: PartitionUpdateError, target: Int) {}
    public mutating func enforceTrialDeadline(_ p: Int) {}
}

extension PartitionUpdateError {
    /// The reason update_apply returns for this refusal.
    public var reason: BulkheadReason {
        switch self {
        case .truncated, .badMagic, .unsupportedVersion, .wrongHeaderSize, .badNameLength, .reservedNotZero, .emptyImage,
             .wrongTotalLength, .trailingBytes:
            return .updateMalformed
        case .revokedKey, .unknownKey, .badSignature: return .updateUntrusted
        case .versionNotAboveFloor: return .updateRollback
        case .unknownPartition, .wrongPartition, .policyChanged, .imageDoesNotFit, .imageDigestMismatch, .initrdDigestMismatch:
            return .updateMismatch
        }
    }
}

public enum UpdateService {
    static func perform<E: IPCEnvironment>(_ call: BulkheadCall, _ env: inout E) throws(BulkheadReason) -> UInt64 {
        // A hypervisor without the update service (no staging buffer) offers none of the calls.
        guard env.updateStaging != nil else { throw .unknownFunction }
        switch call {
        case .updateStage(let target, let offset, let buffer, let length):
            return try stage(target, offset, buffer, length, &env)
        case .updateApply(let target, let length, let milliseconds):
            return try apply(target, length, trialMilliseconds: milliseconds == 0 ? UpdateLimits.defaultTrialMilliseconds : milliseconds, &env)
        case .updateStatus(let target):
            guard target < UInt64(env.planPartitionCount) else { throw .policyDenied }
            let t = Int(target)
            guard t == env.partition || allowed(t, env) else { throw .policyDenied }
            if t != env.partition { env.enforceTrialDeadline(t) }
            guard let status = env.withUpdateTable({ $0.status(t) }) else { throw .unknownFunction }
            return status
        case .updateCommit:
            let p = env.partition
            guard let claimed = env.withUpdateTable({ $0.beginCommit(p) }) else { throw .unknownFunction }
            guard claimed else { throw .notOnTrial }
            var failure: BulkheadReason? = nil
            do throws(BulkheadReason) { try env.recordCommit(p) } catch { failure = error }
            _ = env.withUpdateTable { $0.finishCommit(p, recorded: failure == nil) }
            if let failure { throw failure }
            return 0
        default:
            throw .unknownFunction
        }
    }

    /// Whether the caller's policy names partition `t` of the plan.
    static func allowed<E: IPCEnvironment>(_ t: Int, _ env: E) -> Bool {
        t < env.planPartitionCount && t < Limits.partitions && env.updateTargets & (1 << UInt8(t)) != 0
    }

    /// update_stage: copies `length` bytes at guest `buffer` to staging offset `offset` (0
    /// restarts the update; otherwise exactly where the last chunk ended). Returns the bytes staged.
    static func stage<E: IPCEnvironment>(_ target: UInt64, _ offset: UInt64, _ buffer: GuestPhysAddr, _ length: UInt64,
                                         _ env: inout E) throws(BulkheadReason) -> UInt64 {
        guard target < UInt64(Limits.partitions), allowed(Int(target), env) else { throw .policyDenied }
        let limit = UInt64(UpdateLimits.stagingSize)
        guard offset <= limit, length <= limit &- offset else { throw .updateTooLarge }
        guard let chunk = env.memory.check(GuestSlice(buffer, length: length)) else { throw .badAddress }
        guard let staging = env.updateStaging, staging.count >= UpdateLimits.stagingSize else { throw .unknownFunction }
        let caller = env.partition
        let t = Int(target)
        let outcome = env.withUpdateTable { (table) -> Result<UInt64, BulkheadReason> in
            if let owner = table.staging {
                if owner.applying || owner.caller != caller { return .failure(.busy) }
                if offset != 0 && (owner.target != t || UInt64(owner.length) != offset) { return .failure(.updateMalformed) }
            } else if offset != 0 {
                return .failure(.updateMalformed)
            }
            // The copy happens under the update lock (memory to memory, at most 1 MiB): no other
            // update call can see a half-written chunk.
            _ = chunk.copyIn(to: UnsafeMutableRawBufferPointer(rebasing: staging[Int(offset) ..< Int(offset) + chunk.count]))
            let end = Int(offset &+ length)
            table.staging = StagingOwner(caller: caller, target: t, length: end)
            return .success(UInt64(end))
        }
        guard let outcome else { throw .unknownFunction }
        return try outcome.get()
    }

    /// update_apply: verifies the `length` staged bytes as an update of `target` and, when they
    /// pass, restarts the target on the new image, on trial for `trialMilliseconds`.
    static func apply<E: IPCEnvironment>(_ target: UInt64, _ length: UInt64, trialMilliseconds: UInt64,
                                         _ env: inout E) throws(BulkheadReason) -> UInt64 {
        guard target < UInt64(Limits.partitions), allowed(Int(target), env) else { throw .policyDenied }
        guard length <= UInt64(UpdateLimits.stagingSize) else { throw .updateTooLarge }
        guard let staging = env.updateStaging, staging.count >= UpdateLimits.stagingSize else { throw .unknownFunction }
        let caller = env.partition
        let t = Int(target)
        let claimed = env.withUpdateTable { (table) -> Result<UInt64, BulkheadReason> in
            guard let owner = table.staging, owner.caller == caller, !owner.applying else {
                return .failure(table.staging == nil ? .updateMalformed : .busy)
            }
            guard owner.target == t, UInt64(owner.length) == length else { return .failure(.updateMalformed) }
            guard table.state[t] != .trial else { return .failure(.busy) }
            table.staging?.applying = true
            return .success(table.floor[t])
        }
        guard let claimed else { throw .unknownFunction }
        let floor = try claimed.get()
        let bytes = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(staging)[0..<Int(length)])
        let refusal: PartitionUpdateError?
        var accepted: PartitionUpdateReader? = nil
        do throws(PartitionUpdateError) {
            let update = try PartitionUpdateReader(bytes: bytes)
            // The index the caller named must be the one the signed header names.
            guard update.partition == t else { throw .wrongPartition(index: t) }
            try env.verifyUpdate(update, floor: floor)
            accepted = update
            refusal = nil
        } catch {
            refusal = error
        }
        if let refusal {
            env.logRefusedUpdate(refusal, target: t)
            _ = env.withUpdateTable { table in
                table.state[t] = .refused
                table.reason[t] = UInt8(truncatingIfNeeded: refusal.reason.rawValue)
                table.staging = nil
            }
            throw refusal.reason
        }
        guard let update = accepted else { throw .unknownFunction }
        var installFailure: BulkheadReason? = nil
        do throws(BulkheadReason) { try env.installUpdate(update, trialMilliseconds: trialMilliseconds) } catch { installFailure = error }
        // `busy` (the flash or the target is taken for a moment): the staged update stays, and the
        // same update_apply can simply be tried again. Any other outcome frees the staging buffer.
        _ = env.withUpdateTable { table in
            if installFailure == .busy { table.staging?.applying = false } else { table.staging = nil }
        }
        if let installFailure { throw installFailure }
        return 0
    }
}
