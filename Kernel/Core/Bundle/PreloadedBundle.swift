// Verified boot of a bundle a loader already placed in the staging area (larger than a flash slot).
//
// A Linux partition's Image (tens of MiB) does not fit a 12 MiB flash slot, nor QEMU virt's
// 32 MiB flash bank. Such a bundle is handed over in RAM instead: the firmware or a loader (on
// QEMU: `-device loader,file=bundle.bin,addr=<staging>,force-raw=on`) writes it at the start of
// the staging area before the hypervisor runs. It gets exactly the checks a flash bundle gets
// (strict parse, key, revocation, signature, the flash state region's minimum security version,
// every image and initrd digest, the plan), and raises the anti-rollback floor the same way. It
// is tried before the flash slots; a staging area that does not start with the bundle magic (RAM
// is zero at power-on) means "none", and a refused one falls back to the flash slots.

//
// A board without persistent storage for the state region (no bundle flash driver yet) can only
// boot a bundle handed over in RAM, and cannot keep an anti-rollback floor: `bootWithoutState`
// checks it against floor 0 and refuses a bundle that demands the floor
// (`BundleFlags.requireRollbackFloor`) instead of running it without.

/// What `VerifiedBoot.bootPreloaded` found in the staging area.
public enum PreloadedBoot {
    /// The staging area does not start with "BULKHEAD": no bundle was handed over.
    case absent
    /// A bundle was handed over but fails a check (the flash slots are tried next).
    case rejected(SlotRejection, bundle: BundleReader?)
    /// It verified: boot it (`slot` is meaningless for it, `preloaded` says so).
    case booted(BootedBundle)
    /// It verified, but demands an anti-rollback floor this machine cannot keep.
    case floorRequired(bundle: BundleReader)
}

extension VerifiedBoot {
    /// Verifies the bundle at the start of `staging`, if a loader put one there, against the
    /// minimum security version in `flash`'s state region, and records its version as the new
    /// minimum when it is higher. Throws only when the state region cannot be read.
    public func bootPreloaded<F: FlashDevice>(flash: inout F, staging: UnsafeMutableRawBufferPointer,
                                              stateWriteFailed: (StateRegionError) -> Void = { _ in })
        throws(VerifiedBootError) -> PreloadedBoot {
        guard staging.count >= BundleFormat.headerSize,
              BundleReader.u64(UnsafeRawBufferPointer(staging), BundleFormat.Header.magic) == BundleFormat.magic else {
            return .absent
        }
        let region = layout.stateRegion
        let reading: StateReading
        do { reading = try region.read(from: flash) } catch { throw .stateUnreadable(error) }
        let minimum = reading.state.minimumSecurityVersion
        let bundle: BundleReader
        do {
            bundle = try BundleReader(staging: UnsafeRawBufferPointer(staging))
        } catch {
            return .rejected(.malformed(error, erasedFrom: nil), bundle: nil)
        }
        if let why = check(bundle, minimum: minimum) { return .rejected(why, bundle: bundle) }
        var recorded = minimum
        var sequence = reading.record?.sequence ?? 0
        if bundle.securityVersion > minimum {
            do {
                let after = try region.raiseMinimumSecurityVersion(to: bundle.securityVersion, in: &flash)
                recorded = after.state.minimumSecurityVersion
                sequence = after.record?.sequence ?? sequence
            } catch {
                stateWriteFailed(error)
            }
        }
        return .booted(BootedBundle(slot: .a, bundle: bundle, previousMinimum: minimum, minimum: recorded,
                                    stateSequence: sequence, preloaded: true))
    }

    /// Verifies the bundle at the start of `staging` on a machine with no state region (and no
    /// flash layout): against floor 0, recording nothing. A bundle with `require_rollback_floor`
    /// is refused (`.floorRequired`), never run without its check.
    public static func bootWithoutState(staging: UnsafeMutableRawBufferPointer, trustAnchors: TrustAnchors,
                                        revoked: RevokedKeys, limits: BoardLimits) -> PreloadedBoot {
        guard staging.count >= BundleFormat.headerSize,
              BundleReader.u64(UnsafeRawBufferPointer(staging), BundleFormat.Header.magic) == BundleFormat.magic else {
            return .absent
        }
        let bundle: BundleReader
        do {
            bundle = try BundleReader(staging: UnsafeRawBufferPointer(staging))
        } catch {
            return .rejected(.malformed(error, erasedFrom: nil), bundle: nil)
        }
        if let why = check(bundle, minimum: 0, trustAnchors: trustAnchors, revoked: revoked, limits: limits) {
            return .rejected(why, bundle: bundle)
        }
        if bundle.plan.flags.requireRollbackFloor { return .floorRequired(bundle: bundle) }
        return .booted(BootedBundle(slot: .a, bundle: bundle, previousMinimum: 0, minimum: 0, stateSequence: 0, preloaded: true))
    }
}
