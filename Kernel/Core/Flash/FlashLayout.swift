// Where the entry stub, slot A, slot B, the two state-region copies and the partition-update area lie in a board's bundle flash.
//
// Invariants a layout that passes `validate()` keeps: every area starts on an erase-block
// boundary, is a whole number of erase blocks long and lies inside the device; no two areas
// share an erase block (so erasing one never touches another); each state copy is exactly one
// erase block. QEMU virt's layout is `FlashLayout.qemuVirt` (docs/flash-layout.md).

/// The areas of the bundle flash.
public enum FlashArea: Equatable, Sendable {
    /// Board-specific start-up code that must sit in this flash (empty on most boards).
    case entryStub
    case slotA, slotB, stateA, stateB
    /// The device secret's block (optional).
    case deviceSecret
    /// The two copies of the keystore record (optional; docs/keys.md).
    case keystoreA, keystoreB
    /// The partition-update area (optional; UpdateArea.swift): its two record copies and its image slots.
    case updateRecordA, updateRecordB, updateImages

    /// The number of areas.
    public static let count = 11

    /// Whether a layout may leave the area out (size 0).
    public var isOptional: Bool {
        switch self {
        case .entryStub, .deviceSecret, .keystoreA, .keystoreB, .updateRecordA, .updateRecordB, .updateImages: return true
        case .slotA, .slotB, .stateA, .stateB: return false
        }
    }

    /// The areas in flash-layout order, by index 0 ..< `count` (`nil` past the last).
    public static func at(_ index: Int) -> FlashArea? {
        switch index {
        case 0: return .entryStub
        case 1: return .slotA
        case 2: return .slotB
        case 3: return .stateA
        case 4: return .stateB
        case 5: return .deviceSecret
        case 6: return .keystoreA
        case 7: return .keystoreB
        case 8: return .updateRecordA
        case 9: return .updateRecordB
        case 10: return .updateImages
        default: return nil
        }
    }
}

/// A byte range of the flash device: `offset ..< offset + size`.
public struct FlashRange: Equatable, Sendable {
    public var offset: Int
    public var size: Int
    public init(offset: Int, size: Int) { self.offset = offset; self.size = size }
}

/// The bundle flash of one board: its geometry, where the CPU sees it, and its areas.
public struct FlashLayout: Equatable, Sendable {
    /// Where the device is memory-mapped (host-physical; reads are plain loads).
    public var mappedBase: HostPhysAddr
    /// The device's size in bytes.
    public var deviceSize: Int
    /// Bytes in one erase block.
    public var eraseBlockSize: Int
    /// Where the firmware enters S-mode when this flash is present, if it does (size 0: never).
    /// The stub there jumps to `entryTarget`, the hypervisor's load address.
    public var entryStub: FlashRange
    public var entryTarget: HostPhysAddr
    public var slotA: FlashRange
    public var slotB: FlashRange
    public var stateA: FlashRange
    public var stateB: FlashRange
    /// The block holding the device secret (QEMU's stand-in for OTP; size 0: the board keeps
    /// its secret elsewhere). Only the hypervisor reads it; no guest ever maps this flash.
    public var deviceSecret: FlashRange
    /// The keystore record's two copies, an erase block or more each (size 0: no keystore).
    public var keystoreA: FlashRange
    public var keystoreB: FlashRange
    /// The partition-update area (size 0: the board keeps no partition updates across reboots).
    public var updateRecordA: FlashRange
    public var updateRecordB: FlashRange
    public var updateImages: FlashRange

    public init(mappedBase: HostPhysAddr, deviceSize: Int, eraseBlockSize: Int,
                entryStub: FlashRange = FlashRange(offset: 0, size: 0), entryTarget: HostPhysAddr = HostPhysAddr(0),
                slotA: FlashRange, slotB: FlashRange, stateA: FlashRange, stateB: FlashRange,
                deviceSecret: FlashRange = FlashRange(offset: 0, size: 0),
                keystoreA: FlashRange = FlashRange(offset: 0, size: 0), keystoreB: FlashRange = FlashRange(offset: 0, size: 0),
                updateRecordA: FlashRange = FlashRange(offset: 0, size: 0), updateRecordB: FlashRange = FlashRange(offset: 0, size: 0),
                updateImages: FlashRange = FlashRange(offset: 0, size: 0)) {
        self.mappedBase = mappedBase; self.deviceSize = deviceSize; self.eraseBlockSize = eraseBlockSize
        self.entryStub = entryStub; self.entryTarget = entryTarget
        self.slotA = slotA; self.slotB = slotB; self.stateA = stateA; self.stateB = stateB
        self.deviceSecret = deviceSecret
        self.keystoreA = keystoreA; self.keystoreB = keystoreB
        self.updateRecordA = updateRecordA; self.updateRecordB = updateRecordB; self.updateImages = updateImages
    }

    /// QEMU virt's second pflash bank (`-drive if=pflash,unit=1,format=raw,file=...`): 32 MiB of
    /// Intel/Sharp CFI flash at 0x2200_0000 with 256 KiB erase blocks (QEMU's
    /// `VIRT_FLASH_SECTOR_SIZE`). When this bank is attached, QEMU 7.2 has OpenSBI enter S-mode
    /// at its first byte (hw/riscv/virt.c treats it as S-mode firmware) instead of at the
    /// `-kernel` image, so its first erase block holds a stub that jumps to the hypervisor at
    /// 0x8020_0000. Then slots of 12 MiB each, the partition-update area (two record blocks and
    /// five 1 MiB image slots, then 512 KiB free), the two keystore copies, 512 KiB reserved (the
    /// secure monitor's record), the device secret's block, and the two state copies in the last
    /// two erase blocks.
    public static let qemuVirt = FlashLayout(
        mappedBase: HostPhysAddr(0x2200_0000),
        deviceSize: 0x200_0000,
        eraseBlockSize: 0x4_0000,
        entryStub: FlashRange(offset: 0x000_0000, size: 0x4_0000),
        entryTarget: HostPhysAddr(0x8020_0000),
        slotA: FlashRange(offset: 0x004_0000, size: 0x0C0_0000),
        slotB: FlashRange(offset: 0x0C4_0000, size: 0x0C0_0000),
        stateA: FlashRange(offset: 0x1F8_0000, size: 0x4_0000),
        stateB: FlashRange(offset: 0x1FC_0000, size: 0x4_0000),
        deviceSecret: FlashRange(offset: 0x1F4_0000, size: 0x4_0000),
        keystoreA: FlashRange(offset: 0x1E4_0000, size: 0x4_0000),
        keystoreB: FlashRange(offset: 0x1E8_0000, size: 0x4_0000),
        updateRecordA: FlashRange(offset: 0x184_0000, size: 0x4_0000),
        updateRecordB: FlashRange(offset: 0x188_0000, size: 0x4_0000),
        updateImages: FlashRange(offset: 0x18C_0000, size: 0x50_0000))

    /// The entry stub's two instructions, little-endian words for the stub's first 8 bytes:
    /// `auipc t0, hi` and `jalr x0, lo(t0)`, which jump to `entryTarget` from the stub's
    /// address (RISC-V unprivileged spec, 2.4 and 2.5; `hi` rounds so that the sign-extended
    /// 12-bit `lo` completes the offset). Registers a0 (hart id) and a1 (device tree) pass
    /// through untouched. Nil without a stub, or when the target is not within ±2 GiB.
    public func entryStubInstructions() -> (UInt32, UInt32)? {
        guard entryStub.size >= 8 else { return nil }
        let pc = Int64(bitPattern: address(.entryStub).raw)
        let offset = Int64(bitPattern: entryTarget.raw) &- pc
        guard offset >= -0x8000_0000 && offset < 0x7FFF_F800 else { return nil }
        let hi = (offset &+ 0x800) >> 12
        let lo = offset &- (hi << 12)               // in -2048 ... 2047
        let t0: UInt32 = 5
        let auipc = (UInt32(truncatingIfNeeded: hi) << 12) | (t0 << 7) | 0x17
        let jalr = (UInt32(truncatingIfNeeded: lo) << 20) | (t0 << 15) | 0x67
        return (auipc, jalr)
    }

    /// The byte range of `area`.
    public func range(_ area: FlashArea) -> FlashRange {
        switch area {
        case .entryStub: return entryStub
        case .slotA: return slotA
        case .slotB: return slotB
        case .stateA: return stateA
        case .stateB: return stateB
        case .deviceSecret: return deviceSecret
        case .keystoreA: return keystoreA
        case .keystoreB: return keystoreB
        case .updateRecordA: return updateRecordA
        case .updateRecordB: return updateRecordB
        case .updateImages: return updateImages
        }
    }

    /// The byte range of bundle slot `slot`.
    public func range(_ slot: BootSlot) -> FlashRange { slot == .a ? slotA : slotB }

    /// Where the CPU sees the first byte of `area`.
    public func address(_ area: FlashArea) -> HostPhysAddr {
        mappedBase.adding(UInt64(truncatingIfNeeded: range(area).offset))
    }

    /// The keystore region the two keystore areas form.
    public var keystoreRegion: KeystoreRegion { KeystoreRegion(copyA: keystoreA, copyB: keystoreB) }

    /// The partition-update area the three update areas form.
    public var updateArea: UpdateArea { UpdateArea(recordA: updateRecordA, recordB: updateRecordB, images: updateImages) }

    /// The state region the two state areas form.
    public var stateRegion: StateRegion {
        StateRegion(copyAOffset: stateA.offset, copyBOffset: stateB.offset)
    }

    /// Checks the invariants at the top of this file; the first violation found is thrown.
    public func validate() throws(FlashLayoutError) {
        guard eraseBlockSize >= StateRecord.size, deviceSize >= eraseBlockSize, deviceSize % eraseBlockSize == 0 else {
            throw .badGeometry(deviceSize: deviceSize, eraseBlockSize: eraseBlockSize)
        }
        for i in 0..<FlashArea.count {
            guard let area = FlashArea.at(i) else { continue }
            let r = range(area)
            if area.isOptional && r.size == 0 { continue }
            guard r.size > 0 else { throw .empty(area) }
            guard r.offset >= 0, r.offset % eraseBlockSize == 0, r.size % eraseBlockSize == 0 else { throw .misaligned(area) }
            guard r.offset <= deviceSize, r.size <= deviceSize - r.offset else { throw .outOfBounds(area) }
            if area == .stateA || area == .stateB {
                guard r.size == eraseBlockSize else { throw .stateCopyNotOneBlock(area) }
            }
            for j in 0..<i {
                guard let earlier = FlashArea.at(j) else { continue }
                let e = range(earlier)
                if e.size == 0 { continue }
                // Both ranges are inside the device (checked above), so the sums cannot overflow.
                if r.offset < e.offset + e.size && e.offset < r.offset + r.size { throw .overlap(earlier, area) }
            }
        }
    }
}

/// Why a flash layout is unusable.
public enum FlashLayoutError: Error, Equatable, Sendable {
    /// The erase block is smaller than a state record, or the device is not whole blocks.
    case badGeometry(deviceSize: Int, eraseBlockSize: Int)
    case empty(FlashArea)
    /// The area does not start, or does not end, on an erase-block boundary.
    case misaligned(FlashArea)
    case outOfBounds(FlashArea)
    /// The two areas share bytes (so they share an erase block).
    case overlap(FlashArea, FlashArea)
    /// A state copy must be exactly one erase block.
    case stateCopyNotOneBlock(FlashArea)

    /// Writes a one-line description, e.g. `flash layout: state copy A overlaps slot B`.
    public func write<S: TextSink>(to out: inout S) {
        out.write("flash layout: ")
        switch self {
        case .badGeometry(let size, let block):
            out.write("a device of "); out.write(size: UInt64(truncatingIfNeeded: size))
            out.write(" is not a whole number of erase blocks of "); out.write(size: UInt64(truncatingIfNeeded: block))
            out.write(" (at least "); out.write(decimal: StateRecord.size); out.write(" bytes each)")
        case .empty(let area):
            FlashLayoutError.name(area, to: &out); out.write(" is empty")
        case .misaligned(let area):
            FlashLayoutError.name(area, to: &out); out.write(" does not start and end on erase-block boundaries")
        case .outOfBounds(let area):
            FlashLayoutError.name(area, to: &out); out.write(" extends past the end of the device")
        case .overlap(let first, let second):
            FlashLayoutError.name(second, to: &out); out.write(" overlaps "); FlashLayoutError.name(first, to: &out)
        case .stateCopyNotOneBlock(let area):
            FlashLayoutError.name(area, to: &out); out.write(" is not exactly one erase block")
        }
    }

    private static func name<S: TextSink>(_ area: FlashArea, to out: inout S) {
        switch area {
        case .entryStub: out.write("the entry stub")
        case .slotA: out.write("slot A")
        case .slotB: out.write("slot B")
        case .stateA: out.write("state copy A")
        case .stateB: out.write("state copy B")
        case .deviceSecret: out.write("the device secret")
        case .keystoreA: out.write("keystore copy A")
        case .keystoreB: out.write("keystore copy B")
        case .updateRecordA: out.write("update record copy A")
        case .updateRecordB: out.write("update record copy B")
        case .updateImages: out.write("the update image slots")
        }
    }
}
