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
    /// The IPCReason raw value of the last refusal or rollback (0: none).
    public var reason = PerPartition<UInt8>(repeating: 0)
    /// The anti-rollback floor of each partition's updates: an update must carry a higher
    /// security version. Rises only at commit.
    public var floor = PerPartition<UInt64>(repeating: 0)
    public var running: PerPartition<RunningImage>
    /// The image on trial (meaningful while `state[p] == .trial`): what `running[p]` becomes at commit.
    public var trial: PerPartition<RunningImage>
    public var staging: StagingOwner?

    /// Every partition runs its bundle image: `digest(p)` at `securityVersion`, floor 0.
    public init(bundleDigest digest: (Int) -> SHA512Digest, securityVersion: UInt64) {
        running = PerPartition<RunningImage>(repeating: RunningImage(source: .bundle, digest: SHA512Digest(bytes: InlineArray(repeating: 0)),
                                                                      securityVersion: securityVersion))
        var p = 0
        while p < Limits.partitions { running[p].digest = digest(p); p += 1 }
        trial = running
    }

    /// update_status's value: the state in bits 0-7, the last reason in bits 8-15, the running
    /// image's security version from bit 16 (truncated to 48 bits).
    public func status(_ p: Int) -> UInt64 {
        let i = p & (Limits.partitions - 1)
        return UInt64(state[i].rawValue) | UInt64(reason[i]) << 8 | (running[i].securityVersion & 0xFFFF_FFFF_FFFF) << 16
    }
}
