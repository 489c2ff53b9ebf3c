// Verified boot from the bundle flash: slot order, copy to RAM, verify, anti-rollback, state updates.
//
// The boot order (docs/flash-layout.md, "Boot order"):
// 1. Read the state region. A region the device cannot read halts the boot: it must never read
//    as the factory state, which would reset the anti-rollback floor.
// 2. Try the preferred slot first (slot A when none is set), unless it has `maxBootAttempts` or
//    more attempts without a success and the other slot has fewer: then the other slot first.
// 3. For each slot in that order: count one boot attempt in the state region; copy the bundle
//    from flash into the RAM staging area (what is verified is exactly what will run: nothing is
//    read from flash again); parse it strictly; check key, revocation, signature, the stored
//    minimum security version and every image digest (`BundleVerifier`); validate the plan for
//    this board. The first failure rejects the slot and is reported with its reason.
// 4. The first slot accepted is recorded as booted; its security version becomes the new
//    minimum when it is higher, so an older bundle can never boot again.
// 5. When no slot is accepted, the boot fails: no guest may start.
// A state write that fails is reported and the boot goes on: the bundle being booted has already
// passed every check, so only the bookkeeping of this boot is lost.
// No heap: the flash is a generic parameter, the observer too; every index is bounded.

/// Why a slot was not booted.
public enum SlotRejection: Error, Equatable, Sendable {
    /// The slot's first bytes are erased (0xFF): no bundle was ever written there.
    case empty
    /// The device could not read the slot.
    case unreadable
    /// The header declares more bytes than the slot (or the staging area) holds.
    case tooLarge(declared: UInt64, capacity: UInt64)
    /// The strict parser refused the bundle. `erasedFrom` is set when the bundle's declared bytes
    /// are erased (0xFF) from that offset to their end: most likely an interrupted write.
    case malformed(BundleError, erasedFrom: Int?)
    /// The bundle parsed but failed verification (key, signature, rollback, digests).
    case refused(BundleVerdict, erasedFrom: Int?)
    /// The bundle verified, but its plan does not fit this board.
    case invalidPlan(PlanError)

    /// Writes a one-line reason, e.g. `bad signature: ...`; `plan` names partitions (may be empty).
    public func write<S: TextSink>(to out: inout S, plan: PartitionPlan) {
        switch self {
        case .empty:
            out.write("empty (erased)")
        case .unreadable:
            out.write("the flash could not be read")
        case .tooLarge(let declared, let capacity):
            out.write("the bundle declares "); out.write(decimal: declared)
            out.write(" bytes, more than the slot holds ("); out.write(size: capacity); out.write(")")
        case .malformed(let error, let erased):
            error.write(to: &out)
            VerifiedBoot.writeTruncationHint(erased, to: &out)
        case .refused(let verdict, let erased):
            verdict.write(to: &out, plan: plan)
            VerifiedBoot.writeTruncationHint(erased, to: &out)
        case .invalidPlan(let error):
            out.write("invalid partition plan: "); error.write(to: &out, plan: plan)
        }
    }
}

/// Why nothing can boot.
public enum VerifiedBootError: Error, Equatable, Sendable {
    /// The state region could not be read (so the anti-rollback floor is unknown).
    case stateUnreadable(StateRegionError)
    /// Neither slot holds a bundle that passes every check.
    case noBootableSlot

    public func write<S: TextSink>(to out: inout S) {
        switch self {
        case .stateUnreadable(let error):
            out.write("cannot read the state region: "); error.write(to: &out)
        case .noBootableSlot:
            out.write("no slot holds a bundle that verifies")
        }
    }
}

/// Hears what the boot flow does, as it happens (the kernel logs it; tests record it).
public protocol VerifiedBootObserver {
    /// The state region as read before any slot is tried.
    mutating func stateRead(_ reading: StateReading)
    /// `slot` was refused. `bundle` is its parsed bundle when it got that far (for partition names).
    mutating func slotRejected(_ slot: BootSlot, _ why: SlotRejection, bundle: BundleReader?)
    /// A state-region update failed; the boot continues.
    mutating func stateWriteFailed(_ error: StateRegionError)
}

/// The bundle that will run: where it came from and what the floor was and now is.
public struct BootedBundle {
    public let slot: BootSlot
    /// The parsed bundle, borrowing the staging area.
    public let bundle: BundleReader
    /// The minimum security version before this boot, and after it was recorded.
    public let previousMinimum: UInt64
    public let minimum: UInt64
    /// The state region's sequence number after this boot's writes: it grows with every boot,
    /// so it serves as a per-boot counter (the DRBG's seed uses it).
    public let stateSequence: UInt64
    /// True when a loader handed the bundle over in RAM (`bootPreloaded`), not read from `slot`.
    public let preloaded: Bool

    public init(slot: BootSlot, bundle: BundleReader, previousMinimum: UInt64, minimum: UInt64, stateSequence: UInt64,
                preloaded: Bool = false) {
        self.slot = slot; self.bundle = bundle; self.previousMinimum = previousMinimum; self.minimum = minimum
        self.stateSequence = stateSequence; self.preloaded = preloaded
    }
}

/// One device's verified-boot inputs: its flash layout, trust anchors and board limits.
public struct VerifiedBoot {
    /// A slot with this many attempts and no success is tried after the other slot.
    public static let maxBootAttempts: UInt32 = 3
    /// Bytes read to tell an erased slot from a written one (a bundle header's size).
    static let probeSize = BundleFormat.headerSize

    public var layout: FlashLayout
    public var trustAnchors: TrustAnchors
    public var revoked: RevokedKeys
    public var limits: BoardLimits

    public init(layout: FlashLayout, trustAnchors: TrustAnchors, revoked: RevokedKeys, limits: BoardLimits) {
        self.layout = layout; self.trustAnchors = trustAnchors; self.revoked = revoked; self.limits = limits
    }

    /// The order in which the slots are tried (see the top of this file).
    public static func slotOrder(_ state: BootState) -> (first: BootSlot, second: BootSlot) {
        let first = state.firstSlot
        if state.bootAttempts(first) >= maxBootAttempts && state.bootAttempts(first.other) < maxBootAttempts {
            return (first.other, first)
        }
        return (first, first.other)
    }

    /// Runs the boot order over `flash`, copying bundles into `staging`. Returns the accepted
    /// bundle (borrowing `staging`, which must outlive it).
    public func boot<F: FlashDevice, O: VerifiedBootObserver>(
        flash: inout F, staging: UnsafeMutableRawBufferPointer, observer: inout O
    ) throws(VerifiedBootError) -> BootedBundle {
        let region = layout.stateRegion
        let reading: StateReading
        do { reading = try region.read(from: flash) } catch { throw .stateUnreadable(error) }
        observer.stateRead(reading)
        let minimum = reading.state.minimumSecurityVersion
        let order = VerifiedBoot.slotOrder(reading.state)
        var attempt = 0
        while attempt < 2 {
            let slot = attempt == 0 ? order.first : order.second
            attempt += 1
            do { try region.recordBootAttempt(slot, in: &flash) } catch { observer.stateWriteFailed(error) }
            let bundle: BundleReader
            do {
                bundle = try load(slot, from: flash, into: staging)
            } catch {
                observer.slotRejected(slot, error, bundle: nil)
                continue
            }
            if let why = check(bundle, minimum: minimum) {
                observer.slotRejected(slot, why, bundle: bundle)
                continue
            }
            var recorded = minimum
            var sequence = reading.record?.sequence ?? 0
            do {
                let after = try region.recordBootSuccess(slot, securityVersion: bundle.securityVersion, in: &flash)
                recorded = after.state.minimumSecurityVersion
                sequence = after.record?.sequence ?? sequence
            } catch {
                observer.stateWriteFailed(error)
            }
            return BootedBundle(slot: slot, bundle: bundle, previousMinimum: minimum, minimum: recorded,
                                stateSequence: sequence)
        }
        throw .noBootableSlot
    }

    /// Copies `slot`'s bundle into `staging` and parses it (no signature or digest check yet).
    func load<F: FlashDevice>(_ slot: BootSlot, from flash: F,
                              into staging: UnsafeMutableRawBufferPointer) throws(SlotRejection) -> BundleReader {
        let range = layout.range(slot)
        let capacity = min(range.size, staging.count)
        guard capacity >= VerifiedBoot.probeSize else { throw .tooLarge(declared: UInt64(VerifiedBoot.probeSize), capacity: UInt64(capacity)) }
        let probe = UnsafeMutableRawBufferPointer(rebasing: staging[0..<VerifiedBoot.probeSize])
        guard flash.read(offset: range.offset, into: probe) else { throw .unreadable }
        if VerifiedBoot.erasedFrom(UnsafeRawBufferPointer(probe)) == 0 { throw .empty }
        let declared: UInt64
        do { declared = try BundleReader.declaredLength(UnsafeRawBufferPointer(probe)) } catch {
            throw .malformed(error, erasedFrom: nil)
        }
        guard declared <= UInt64(capacity) else { throw .tooLarge(declared: declared, capacity: UInt64(capacity)) }
        let whole = UnsafeMutableRawBufferPointer(rebasing: staging[0..<Int(declared)])
        guard flash.read(offset: range.offset, into: whole) else { throw .unreadable }
        do {
            return try BundleReader(bytes: UnsafeRawBufferPointer(whole))
        } catch {
            throw .malformed(error, erasedFrom: VerifiedBoot.truncation(UnsafeRawBufferPointer(whole)))
        }
    }

    /// The first check `bundle` fails, or nil when it may boot.
    func check(_ bundle: BundleReader, minimum: UInt64) -> SlotRejection? {
        Self.check(bundle, minimum: minimum, trustAnchors: trustAnchors, revoked: revoked, limits: limits)
    }

    /// Every check a bundle gets before it runs: key, revocation, signature, anti-rollback
    /// against `minimum`, digests, then its plan against `limits`; nil when it passes them all.
    static func check(_ bundle: BundleReader, minimum: UInt64, trustAnchors: TrustAnchors, revoked: RevokedKeys,
                      limits: BoardLimits) -> SlotRejection? {
        let verdict = BundleVerifier.verify(bundle: bundle, trustAnchors: trustAnchors, revoked: revoked,
                                            minimumVersion: minimum)
        guard verdict == .accepted else { return .refused(verdict, erasedFrom: VerifiedBoot.truncation(bundle.bytes)) }
        do { try bundle.plan.validate(for: limits) } catch { return .invalidPlan(error) }
        return nil
    }

    /// Where the run of erased (0xFF) bytes that ends `bytes` starts; `bytes.count` when the last
    /// byte is not 0xFF.
    static func erasedFrom(_ bytes: UnsafeRawBufferPointer) -> Int {
        var i = bytes.count
        while i > 0 && bytes[i - 1] == 0xFF { i -= 1 }
        return i
    }

    /// An erased tail at least this long on a bundle that failed its checks points to a write
    /// into the slot that was cut short (a real image rarely ends in 64 bytes of 0xFF).
    public static let truncationThreshold = 64

    /// The offset from which `bytes` is erased to its end, when that tail is long enough to
    /// suggest an interrupted write.
    static func truncation(_ bytes: UnsafeRawBufferPointer) -> Int? {
        let from = erasedFrom(bytes)
        return bytes.count - from >= truncationThreshold ? from : nil
    }

    static func writeTruncationHint<S: TextSink>(_ erasedFrom: Int?, to out: inout S) {
        guard let erasedFrom else { return }
        out.write(" (the slot is erased from bundle offset "); out.write(hex: UInt64(erasedFrom))
        out.write(" on: the bundle is truncated)")
    }
}
