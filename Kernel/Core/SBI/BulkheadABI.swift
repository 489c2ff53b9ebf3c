// The Bulkhead SBI extension's numbers: EID, function ids, reason codes, the partition-info layout (docs/hypercalls.md, docs/keys.md).
//
// Shared by the kernel (which implements the calls) and the Swift guest SDK (which makes them);
// Guests/SDK/bulkhead.h spells the same numbers for C, and a host test checks that it does.

/// The extension: SBI spec v2.0 chapter 3 puts firmware-specific EIDs at 0x0A00_0000 +
/// the SBI implementation id (Bulkhead's is 0x4248).
public enum BulkheadExtension {
    public static let eid: UInt64 = 0x0A00_0000 | sbiImplementationID
}

/// The secure monitor's extension (docs/monitor.md), EID 0x0A424C4B (0x0A, then "BLK"): for a plain
/// OS it offers the key services with the Bulkhead extension's FIDs, arguments and reasons.
public enum SecureMonitorExtension {
    public static let eid: UInt64 = 0x0A42_4C4B
    /// Its own functions (the key services use BulkheadFunction's derive...random).
    public enum Function: UInt64, Sendable { case getVersion = 0, getMeasurement = 1, getCDI = 2 }
    /// The API version get_version returns (3: with the key services).
    public static let apiVersion: UInt64 = 3
}

/// The extension's functions (a6).
public enum BulkheadFunction: UInt64, Sendable {
    case partitionInfo = 0
    case send = 1
    case receive = 2
    case notify = 3
    case doorbells = 4
    // Key services (docs/keys.md)
    case derive = 5
    case seal = 6
    case unseal = 7
    case attest = 8
    case random = 9
    // Keystore (docs/keys.md)
    case keyGenerate = 10
    case keyImport = 11
    case keySign = 12
    case keyMAC = 13
    case keyPublic = 14
    case keyDestroy = 15
    /// The system report (docs/keys.md, "System report").
    // Partition updates (docs/hypercalls.md, "Partition updates"); 20-22 unused so far
    case updateStage = 16
    case updateApply = 17
    case updateStatus = 18
    case updateCommit = 19
    case attestSystem = 23
}

/// Why a Bulkhead call failed: returned in a1 beside the standard SBI error in a0.
public enum BulkheadReason: UInt64, Error, Equatable, Sendable {
    case unknownChannel = 1
    case notEndpoint = 2
    case wrongKind = 3
    case wrongDirection = 4
    case misaligned = 5
    case tooLong = 6
    case badAddress = 7
    case full = 8
    case empty = 9
    case policyDenied = 10
    case noDoorbell = 11
    case bufferTooSmall = 12
    case unknownFunction = 13
    case noDeviceSecret = 14
    case badBlob = 15
    case notAuthentic = 16
    case versionTooLow = 17
    case badBinding = 18
    case unknownHandle = 19
    case notOwner = 20
    case keystoreFull = 21
    case wrongUsage = 22
    case badUsage = 23
    case badKeyLength = 24
    case storageFailed = 25
    /// Another partition's keystore change is being written to flash: try again.
    case busy = 26
    // 27-29: reserved for attest_system (docs/keys.md), unused so far: its failures are the
    // ones above (policy_denied, misaligned, bad_address, buffer_too_small, no_device_secret).
    // Partition updates (docs/hypercalls.md, "Partition updates").
    /// The update does not fit the hypervisor's staging buffer (UpdateLimits.stagingSize).
    case updateTooLarge = 30
    /// The staged bytes are not a well-formed partition update (or a chunk leaves a gap).
    case updateMalformed = 31
    /// Its signer is revoked or not a trust anchor, or the signature does not verify.
    case updateUntrusted = 32
    /// Its security version is not above the target's floor.
    case updateRollback = 33
    /// It is for another partition or policy, does not fit the memory, or a digest differs.
    case updateMismatch = 34
    /// update_commit from a partition that is not running an image on trial.
    case notOnTrial = 35
    /// update_status only: the trial image faulted, rebooted or powered off, or missed its deadline.
    case trialFaulted = 36
    case trialReset = 37
    case trialDeadline = 38

    /// The standard SBI error that goes with the reason (docs/hypercalls.md, "Checks").
    public var sbiError: SBIError {
        switch self {
        case .unknownChannel, .wrongKind, .misaligned, .tooLong, .noDoorbell, .bufferTooSmall, .badBlob, .badBinding,
             .unknownHandle, .wrongUsage, .badUsage, .badKeyLength, .updateTooLarge, .updateMalformed, .updateMismatch:
            return .invalidParam
        case .notEndpoint, .wrongDirection, .policyDenied, .versionTooLow, .notOwner, .updateUntrusted, .updateRollback,
             .notOnTrial: return .denied
        case .trialFaulted, .trialReset, .trialDeadline: return .failed
        case .badAddress: return .invalidAddress
        case .full, .empty, .noDeviceSecret, .notAuthentic, .keystoreFull, .storageFailed, .busy: return .failed
        case .unknownFunction: return .notSupported
        }
    }

    /// What goes back to the guest: a0 = the SBI error, a1 = this reason.
    public var result: SBIResult { SBIResult(error: sbiError.rawValue, value: rawValue) }
}

/// The block `partition_info` writes (all little-endian).
public enum PartitionInfoLayout {
    public static let version: UInt16 = 1
    public static let headerSize = 24
    public static let entrySize = 48
    /// Enough for every channel a plan can hold.
    public static let maxSize = headerSize + entrySize * ChannelLimits.maxChannels

    // Header fields.
    public static let versionOffset = 0          // u16
    public static let partitionIDOffset = 2      // u16
    public static let channelCountOffset = 4     // u16
    public static let entrySizeOffset = 6        // u16
    public static let nameOffset = 8             // 16 bytes
    // Entry fields.
    public static let entryName = 0              // 16 bytes
    public static let entryID = 16               // u16
    public static let entryKind = 18             // u8: ChannelKind
    public static let entryFlags = 19            // u8: EntryFlags
    public static let entryEndpoint = 20         // u8
    public static let entryPeer = 21             // u8
    public static let entryDepth = 24            // u32
    public static let entryMessageSize = 28      // u32
    public static let entrySharedAddress = 32    // u64
    public static let entrySharedSize = 40       // u64

    /// Bits of an entry's `flags`.
    public enum EntryFlags {
        public static let maySend: UInt8 = 1 << 0
        public static let mayReceive: UInt8 = 1 << 1
        public static let doorbell: UInt8 = 1 << 2
    }
}

/// How `receive` packs its result into a1: the length in the low 32 bits, the sender above.
public enum ReceivedMessage {
    public static func pack(length: UInt32, sender: UInt8) -> UInt64 { UInt64(length) | UInt64(sender) << 32 }
    public static func length(_ value: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: value) }
    public static func sender(_ value: UInt64) -> UInt8 { UInt8(truncatingIfNeeded: value >> 32) }
}
