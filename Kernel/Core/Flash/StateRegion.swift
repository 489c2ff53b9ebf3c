// The power-fail-safe state region: two copies of the state record, each in its own erase block.
//
// Invariants and why a torn write is harmless:
// - Reading decodes both copies, ignores any copy that is not `.valid`, and takes the valid copy
//   with the newer sequence number (compared with serial-number arithmetic, so a wrap from
//   UInt64.max to 0 still orders correctly). No valid copy means blank/corrupt: the factory state.
// - Writing re-reads the region, then erases and programs only the copy that is NOT the newest,
//   with sequence = newest + 1. The newest copy is never touched, and the new copy is invalid
//   (erased, bad magic, or a checksum mismatch) until its bytes are all in place, so a power loss
//   at any point reads back as either the old state or the new state.
// - The write is checked by reading the region again: the new record must be what a read returns.
// - The minimum security version never decreases through this API (`minimumVersionDecrease`).
//   A write that would change nothing is skipped, so re-recording the same state costs no erase.
// - Nothing here allocates; the flash device is a generic parameter.

/// One of the two physical copies of the state record.
public enum StateCopy: Equatable, Sendable {
    case a, b
    /// The copy that is not this one.
    public var other: StateCopy { self == .a ? .b : .a }
}

/// The outcome of reading the state region.
public enum StateLoadResult: Equatable, Sendable {
    /// The newest valid record and the copy it was read from.
    case record(StateRecord, copy: StateCopy)
    /// Neither copy holds a valid record: a blank device, or both copies damaged. The caller
    /// treats it as the factory state (`BootState.factory`: minimum security version 0).
    case blankOrCorrupt
}

/// Both copies as read, and which one is current.
public struct StateReading: Equatable, Sendable {
    public let copyA: StateCopyStatus
    public let copyB: StateCopyStatus
    public let result: StateLoadResult

    /// Chooses the newest valid copy of `copyA` and `copyB` (copy A when the sequences are equal).
    public init(copyA: StateCopyStatus, copyB: StateCopyStatus) {
        self.copyA = copyA
        self.copyB = copyB
        switch (copyA.record, copyB.record) {
        case (nil, nil):
            result = .blankOrCorrupt
        case (let a?, nil):
            result = .record(a, copy: .a)
        case (nil, let b?):
            result = .record(b, copy: .b)
        case (let a?, let b?):
            result = StateRegion.isNewer(b.sequence, than: a.sequence) ? .record(b, copy: .b) : .record(a, copy: .a)
        }
    }

    /// What `copy` holds.
    public func status(_ copy: StateCopy) -> StateCopyStatus { copy == .a ? copyA : copyB }

    /// The newest valid record, if any.
    public var record: StateRecord? {
        if case .record(let record, _) = result { return record }
        return nil
    }

    /// The copy holding the newest valid record, if any.
    public var newestCopy: StateCopy? {
        if case .record(_, let copy) = result { return copy }
        return nil
    }

    /// The state in force: the newest record's, or the factory state when there is none.
    public var state: BootState { record?.state ?? .factory }

    /// Whether the region holds no valid record (so `state` is the factory state).
    public var isBlankOrCorrupt: Bool { result == .blankOrCorrupt }

    /// The copy the next write goes to: never the newest one.
    public var nextWriteCopy: StateCopy { newestCopy?.other ?? .a }

    /// The sequence number of the next record written (1 on a blank region).
    public var nextSequence: UInt64 { record.map { $0.sequence &+ 1 } ?? 1 }
}

/// Where the two copies live on a flash device (byte offsets of erase-block starts).
public struct StateRegion: Equatable, Sendable {
    public var copyAOffset: Int
    public var copyBOffset: Int

    public init(copyAOffset: Int, copyBOffset: Int) {
        self.copyAOffset = copyAOffset
        self.copyBOffset = copyBOffset
    }

    /// The byte offset of `copy`.
    public func offset(_ copy: StateCopy) -> Int { copy == .a ? copyAOffset : copyBOffset }

    /// Whether `a` is newer than `b` in serial-number arithmetic (RFC 1982 style): `a - b`,
    /// wrapping, read as a signed number, is positive. Equal numbers are not newer; numbers
    /// exactly 2^63 apart are not newer either way (then copy A wins the tie).
    public static func isNewer(_ a: UInt64, than b: UInt64) -> Bool {
        Int64(bitPattern: a &- b) > 0
    }

    /// Checks that each copy starts an erase block of `flash`, lies inside it, and that the copies
    /// are in different blocks (every read and write checks this first).
    public func checkLayout<F: FlashDevice>(for flash: F) throws(StateRegionError) {
        let block = flash.eraseBlockSize
        guard block >= StateRecord.size else { throw .eraseBlockTooSmall(block) }
        try checkCopy(.a, block: block, deviceSize: flash.size)
        try checkCopy(.b, block: block, deviceSize: flash.size)
        guard copyAOffset != copyBOffset else { throw .copiesShareEraseBlock(offset: copyAOffset) }
    }

    private func checkCopy(_ copy: StateCopy, block: Int, deviceSize: Int) throws(StateRegionError) {
        let start = offset(copy)
        guard start >= 0 && start % block == 0 else { throw .copyMisaligned(copy, offset: start) }
        guard deviceSize >= block && start <= deviceSize - block else { throw .copyOutOfBounds(copy, offset: start) }
    }

    // MARK: Reading

    /// Reads and decodes both copies. A failed device read is an error, never "blank": an
    /// unreadable region must not silently reset the minimum security version.
    public func read<F: FlashDevice>(from flash: F) throws(StateRegionError) -> StateReading {
        try checkLayout(for: flash)
        let a = try readCopy(.a, from: flash)
        let b = try readCopy(.b, from: flash)
        return StateReading(copyA: a, copyB: b)
    }

    private func readCopy<F: FlashDevice>(_ copy: StateCopy, from flash: F) throws(StateRegionError) -> StateCopyStatus {
        var bytes = StateRecordBytes(repeating: 0)
        let start = offset(copy)
        let ok = withUnsafeMutableBytes(of: &bytes) { flash.read(offset: start, into: $0) }
        guard ok else { throw .readFailed(copy) }
        return StateRecord.decode(bytes)
    }

    // MARK: Updates (each re-reads the region, so no cached state can go stale)

    /// Applies `change` to the current state and writes the result. Throws
    /// `minimumVersionDecrease` (writing nothing) if `change` lowered the minimum security
    /// version; writes nothing if `change` changed nothing. Returns the region as it now reads.
    @discardableResult
    public func update<F: FlashDevice>(in flash: inout F, _ change: (inout BootState) -> Void) throws(StateRegionError) -> StateReading {
        let reading = try read(from: flash)
        var next = reading.state
        change(&next)
        return try commit(next, after: reading, to: &flash)
    }

    /// Raises the minimum security version to `version`. Refuses (throws
    /// `minimumVersionDecrease`, writes nothing) when `version` is below the stored minimum;
    /// writes nothing when it is equal.
    @discardableResult
    public func raiseMinimumSecurityVersion<F: FlashDevice>(to version: UInt64, in flash: inout F) throws(StateRegionError) -> StateReading {
        try update(in: &flash) { $0.minimumSecurityVersion = version }
    }

    /// Counts one more boot attempt of `slot` (saturating); call it before trying the slot.
    @discardableResult
    public func recordBootAttempt<F: FlashDevice>(_ slot: BootSlot, in flash: inout F) throws(StateRegionError) -> StateReading {
        try update(in: &flash) { state in
            let count = state.bootAttempts(slot)
            state.setBootAttempts(slot, count == UInt32.max ? count : count + 1)
        }
    }

    /// Records that `slot`, holding a bundle of `securityVersion`, booted: it becomes the last
    /// booted slot, its attempt count returns to zero, and the minimum security version rises to
    /// `securityVersion` if that is higher. A version below the stored minimum cannot have been
    /// accepted, so it throws `minimumVersionDecrease` and writes nothing.
    @discardableResult
    public func recordBootSuccess<F: FlashDevice>(_ slot: BootSlot, securityVersion: UInt64, in flash: inout F) throws(StateRegionError) -> StateReading {
        try update(in: &flash) { state in
            state.lastBootedSlot = slot
            state.setBootAttempts(slot, 0)
            state.minimumSecurityVersion = securityVersion
        }
    }

    /// Sets the slot to try first (`nil`: slot A).
    @discardableResult
    public func setPreferredSlot<F: FlashDevice>(_ slot: BootSlot?, in flash: inout F) throws(StateRegionError) -> StateReading {
        try update(in: &flash) { $0.preferredSlot = slot }
    }

    /// Writes `next` unless it lowers the minimum (error) or equals the current state (skipped).
    private func commit<F: FlashDevice>(_ next: BootState, after reading: StateReading, to flash: inout F) throws(StateRegionError) -> StateReading {
        let current = reading.state
        guard next.minimumSecurityVersion >= current.minimumSecurityVersion else {
            throw .minimumVersionDecrease(stored: current.minimumSecurityVersion, requested: next.minimumSecurityVersion)
        }
        if next == current { return reading }
        return try write(next, after: reading, to: &flash)
    }

    /// The raw write, without the monotonic check: erase the copy that is not the newest,
    /// program the record with the next sequence number, read the region back to confirm.
    func write<F: FlashDevice>(_ state: BootState, after reading: StateReading, to flash: inout F) throws(StateRegionError) -> StateReading {
        try checkLayout(for: flash)
        let target = reading.nextWriteCopy
        let start = offset(target)
        let record = StateRecord(sequence: reading.nextSequence, state: state)
        let bytes = record.encode()
        guard flash.erase(blockAt: start) else { throw .eraseFailed(target) }
        let programmed = withUnsafeBytes(of: bytes) { flash.program(offset: start, bytes: $0) }
        guard programmed else { throw .programFailed(target) }
        let after = try read(from: flash)
        guard after.result == .record(record, copy: target) else { throw .verifyFailed(target) }
        return after
    }
}
