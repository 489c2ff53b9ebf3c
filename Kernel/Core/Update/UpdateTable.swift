// Per-partition update state (what each partition runs, its floor, trial/commit) and the one staging buffer's owner.
//
// The kernel keeps one UpdateTable under one lock (Kernel/Boot/PartitionUpdates.swift). Invariants:
// `staging.owner` is nil or a partition that called update_stage; while `staging.applying` is
// set no call changes the staging buffer; `running[p]` always names the image partition p runs
// (the system report reads it through partitionRevision).

/// Fixed sizes of the update service.
public enum UpdateLimits {
    /// The hypervisor's staging buffer: the largest update update_stage accepts (a Swift guest
    /// is well under 200 KiB; Linux partitions are updated with a full bundle).
    public static let stagingSize = 1 << 20
    /// How long an image runs on trial before it is rolled back when update_apply names no deadline.
    public static let defaultTrialMilliseconds: UInt64 = 10_000
}

/// Where a partition is in the update flow (update_status's low byte).
public enum UpdateState: UInt8, Sendable {
    /// Running the image of its bundle; no update was applied since boot.
    case none = 0
    /// Running a new image on trial (not committed yet).
    case trial = 1
    /// The last update committed.
    case committed = 2
    /// The last trial failed and the partition went back to its committed image.
    case rolledBack = 3
    /// The last update delivered for it was refused (nothing changed).
    case refused = 4
}

/// The image a partition runs: its digest (chunked SHA-512, ImageDigest) and security version.
public struct RunningImage: Sendable {
    public var source: SystemReport.ImageSource
    public var digest: SHA512Digest
    public var securityVersion: UInt64
    public init(source: SystemReport.ImageSource, digest: SHA512Digest, securityVersion: UInt64) {
        self.source = source; self.digest = digest; self.securityVersion = securityVersion
    }
}

/// Who holds the staging buffer.
public struct StagingOwner: Equatable, Sendable {
    public var caller: Int
    public var target: Int
    /// Bytes written from offset 0 without a gap (update_stage accepts only the next chunk or a restart at 0).
    public var length: Int
    /// Set while update_apply verifies and installs the staged update.
    public var applying: Bool
    public init(caller: Int, target: Int, length: Int = 0, applying: Bool = false) {
        self.caller = caller; self.target = target; self.length = length; self.applying = applying
    }
}

public struct UpdateTable: Sendable {
    public var state = PerPartition<UpdateState>(repeating: .none)
    /// The BulkheadReason raw value of the last refusal or rollback (0: none).
    public var reason = PerPartition<UInt8>(repeating: 0)
    /// The anti-rollback floor of each partition's updates: an update must carry a higher
    /// security version. Rises only at commit.
    public var floor = PerPartition<UInt64>(repeating: 0)
    public var running: PerPartition<RunningImage>
    /// The image on trial (meaningful while `state[p] == .trial`): what `running[p]` becomes at commit.
    public var trial: PerPartition<RunningImage>
    public var staging: StagingOwner?
    /// Where each partition's committed image came from (its bundle until an update commits).
    public var committedSource = PerPartition<SystemReport.ImageSource>(repeating: .bundle)
    /// Set while update_commit writes the commit to flash: the trial can no longer be rolled back.
    public var committing = PerPartition<Bool>(repeating: false)

    /// Every partition runs its bundle image: `digest(p)` at `securityVersion`, floor 0.
    public init(bundleDigest digest: (Int) -> SHA512Digest, securityVersion: UInt64) {
        running = PerPartition<RunningImage>(repeating: RunningImage(source: .bundle, digest: SHA512Digest(bytes: InlineArray(repeating: 0)),
                                                                      securityVersion: securityVersion))
        var p = 0
        while p < Limits.partitions { running[p].digest = digest(p); p += 1 }
        trial = running
    }

    /// The target has been stopped and starts `image` on trial (the kernel calls this while the
    /// partition is stopped, so its first instruction already runs on trial).
    public mutating func beginTrial(_ p: Int, _ image: RunningImage) {
        let i = p & (Limits.partitions - 1)
        state[i] = .trial
        reason[i] = 0
        committing[i] = false
        trial[i] = image
        running[i].source = .trial
    }

    /// update_commit's first step: claims the trial of `p` for committing; false when `p` runs no
    /// trial (or another commit of it is under way). A claimed trial is never rolled back.
    public mutating func beginCommit(_ p: Int) -> Bool {
        let i = p & (Limits.partitions - 1)
        guard state[i] == .trial, !committing[i] else { return false }
        committing[i] = true
        return true
    }

    /// update_commit's last step: when the commit was recorded, the trial image becomes the
    /// committed one and the floor rises to its version; otherwise the partition stays on trial.
    public mutating func finishCommit(_ p: Int, recorded: Bool) {
        let i = p & (Limits.partitions - 1)
        committing[i] = false
        guard recorded else { return }
        state[i] = .committed
        reason[i] = 0
        running[i] = trial[i]
        running[i].source = .committedUpdate
        committedSource[i] = .committedUpdate
        floor[i] = trial[i].securityVersion
    }

    /// The trial of `p` failed (`why`: trialFaulted, trialReset or trialDeadline): it goes back to
    /// its committed image. False (nothing changed) when `p` is not on trial or is committing.
    public mutating func rollBack(_ p: Int, _ why: BulkheadReason) -> Bool {
        let i = p & (Limits.partitions - 1)
        guard state[i] == .trial, !committing[i] else { return false }
        state[i] = .rolledBack
        reason[i] = UInt8(truncatingIfNeeded: why.rawValue)
        running[i].source = committedSource[i]
        return true
    }

    /// update_status's value: the state in bits 0-7, the last reason in bits 8-15, the running
    /// image's security version from bit 16 (truncated to 48 bits).
    public func status(_ p: Int) -> UInt64 {
        let i = p & (Limits.partitions - 1)
        return UInt64(state[i].rawValue) | UInt64(reason[i]) << 8 | (running[i].securityVersion & 0xFFFF_FFFF_FFFF) << 16
    }
}
