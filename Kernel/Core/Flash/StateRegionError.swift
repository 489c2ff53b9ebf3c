// Every way reading or writing the state region can fail, each naming the copy it is about.

/// A state-region failure: a layout that does not fit the device, a device operation that
/// failed, or an update that would lower the minimum security version.
public enum StateRegionError: Error, Equatable, Sendable {
    /// The device's erase block is smaller than one record.
    case eraseBlockTooSmall(Int)
    /// The copy's offset is negative or not the start of an erase block.
    case copyMisaligned(StateCopy, offset: Int)
    /// The copy's erase block extends past the end of the device.
    case copyOutOfBounds(StateCopy, offset: Int)
    /// Both copies are in the same erase block, so one erase would destroy both.
    case copiesShareEraseBlock(offset: Int)
    /// The device could not read the copy.
    case readFailed(StateCopy)
    /// The device could not erase the copy's block (power loss, device error).
    case eraseFailed(StateCopy)
    /// The device could not program the new record into the copy.
    case programFailed(StateCopy)
    /// After programming, reading the region did not return the record just written.
    case verifyFailed(StateCopy)
    /// The update would lower the minimum security version (nothing was written).
    case minimumVersionDecrease(stored: UInt64, requested: UInt64)

    /// Writes a one-line description, e.g. `state copy B: erase failed`.
    public func write<S: TextSink>(to out: inout S) {
        switch self {
        case .eraseBlockTooSmall(let size):
            out.write("state region: the erase block ("); out.write(decimal: size)
            out.write(" bytes) is smaller than a state record ("); out.write(decimal: StateRecord.size); out.write(" bytes)")
        case .copyMisaligned(let copy, let offset):
            StateRegionError.name(copy, to: &out); out.write("offset "); out.write(hex: UInt64(truncatingIfNeeded: offset))
            out.write(" is not the start of an erase block")
        case .copyOutOfBounds(let copy, let offset):
            StateRegionError.name(copy, to: &out); out.write("the erase block at "); out.write(hex: UInt64(truncatingIfNeeded: offset))
            out.write(" extends past the end of the flash")
        case .copiesShareEraseBlock(let offset):
            out.write("state region: both copies are in the erase block at "); out.write(hex: UInt64(truncatingIfNeeded: offset))
        case .readFailed(let copy):
            StateRegionError.name(copy, to: &out); out.write("read failed")
        case .eraseFailed(let copy):
            StateRegionError.name(copy, to: &out); out.write("erase failed")
        case .programFailed(let copy):
            StateRegionError.name(copy, to: &out); out.write("program failed")
        case .verifyFailed(let copy):
            StateRegionError.name(copy, to: &out); out.write("the record read back differs from the record written")
        case .minimumVersionDecrease(let stored, let requested):
            out.write("state region: refusing to lower the minimum security version from ")
            out.write(decimal: stored); out.write(" to "); out.write(decimal: requested)
        }
    }

    private static func name<S: TextSink>(_ copy: StateCopy, to out: inout S) {
        out.write(copy == .a ? "state copy A: " : "state copy B: ")
    }
}
