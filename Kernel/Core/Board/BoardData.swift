// Board data: each supported board's fixed memory map (reserved memory, bundle staging, defaults).

/// What the hypervisor knows about a board before it reads the device tree.
///
/// Invariant: `[bundleAddress, bundleAddress + bundleMaxSize)` lies inside `reserved`, so no
/// partition is ever given the memory the verified bundle is kept in.
public struct BoardData: Sendable {
    /// The board's name, as the CLI's `--board` option spells it.
    public var name: StaticString
    /// Firmware, the hypervisor and the bundle staging area: no partition may use any of it.
    public var reserved: HostRegion
    /// The staging area (host-physical): the hypervisor copies a slot's bundle here from flash,
    /// verifies this copy, and loads and reloads partitions from it.
    public var bundleAddress: HostPhysAddr
    /// The largest bundle the staging area holds.
    public var bundleMaxSize: UInt64
    /// The flash that holds the bundle slots and the state region.
    public var bundleFlash: FlashLayout
    /// Where shared-memory channels get their memory (inside `reserved`, so never a partition's).
    public var sharedPool: HostRegion
    /// The board's RAM when nothing else says otherwise (the CLI's default; the kernel reads the DTB).
    public var defaultRAM: HostRegion
    /// Harts 0 ..< defaultHartCount exist when nothing else says otherwise.
    public var defaultHartCount: Int

    public init(name: StaticString, reserved: HostRegion, bundleAddress: HostPhysAddr, bundleMaxSize: UInt64,
                bundleFlash: FlashLayout, sharedPool: HostRegion, defaultRAM: HostRegion, defaultHartCount: Int) {
        self.name = name; self.reserved = reserved
        self.bundleAddress = bundleAddress; self.bundleMaxSize = bundleMaxSize; self.bundleFlash = bundleFlash
        self.sharedPool = sharedPool
        self.defaultRAM = defaultRAM; self.defaultHartCount = defaultHartCount
    }

    /// The staging area the bundle is loaded into.
    public var bundleStaging: HostRegion { HostRegion(base: bundleAddress, size: bundleMaxSize) }

    /// What a plan is validated against on this board, given its RAM and its harts.
    public func limits(ram: HostRegion, hartMask: UInt64) -> BoardLimits {
        BoardLimits(ram: ram, hartMask: hartMask, reserved: reserved, sharedPool: sharedPool)
    }

    /// A mask with bits 0 ..< `count` set (all 64 bits from 64 harts up; none for 0 or less).
    public static func hartMask(count: Int) -> UInt64 {
        if count <= 0 { return 0 }
        if count >= 64 { return UInt64.max }
        return (UInt64(1) << UInt64(count)) &- 1
    }

    /// The limits of this board with its default RAM and harts.
    public var defaultLimits: BoardLimits {
        limits(ram: defaultRAM, hartMask: BoardData.hartMask(count: defaultHartCount))
    }

    /// Whether `text` (bytes) is this board's name.
    public func isNamed(_ text: UnsafeRawBufferPointer) -> Bool {
        name.withUTF8Buffer { own in
            guard own.count == text.count else { return false }
            var i = 0
            while i < own.count { if own[i] != text[i] { return false }; i += 1 }
            return true
        }
    }
}

/// The boards Bulkhead knows. The kernel build picks one (`Boards/<Board>/`); the host CLI offers all.
public enum KnownBoards {
    /// QEMU's `virt` machine: OpenSBI at 0x8000_0000, the hypervisor at 0x8020_0000, the bundle
    /// staged at 0x8100_0000 (at most 48 MiB); partitions start at 0x8400_0000. Bundles live in
    /// the second pflash bank (`FlashLayout.qemuVirt`); shared-memory channels take their memory
    /// from 0x8080_0000 (8 MiB, below the staging area).
    public static let qemuVirt = BoardData(
        name: "qemu-virt",
        reserved: HostRegion(base: HostPhysAddr(0x8000_0000), size: 0x0400_0000),
        bundleAddress: HostPhysAddr(0x8100_0000),
        bundleMaxSize: 0x0300_0000,
        bundleFlash: .qemuVirt,
        sharedPool: HostRegion(base: HostPhysAddr(0x8080_0000), size: 0x80_0000),
        defaultRAM: HostRegion(base: HostPhysAddr(0x8000_0000), size: 0x4000_0000),
        defaultHartCount: 4)

    /// The known boards in a fixed order; `nil` past the last one.
    public static func board(at index: Int) -> BoardData? {
        switch index {
        case 0: return qemuVirt
        default: return nil
        }
    }

    /// The board called `name` (bytes of its name), if Bulkhead knows it.
    public static func named(_ name: UnsafeRawBufferPointer) -> BoardData? {
        var i = 0
        while let board = board(at: i) {
            if board.isNamed(name) { return board }
            i += 1
        }
        return nil
    }
}

#if !hasFeature(Embedded)
extension BoardData {
    /// The board's name as a `String` (host only).
    public var nameString: String { name.withUTF8Buffer { String(decoding: $0, as: UTF8.self) } }
}

extension KnownBoards {
    /// Every known board (host only).
    public static var all: [BoardData] {
        var boards: [BoardData] = []
        var i = 0
        while let b = board(at: i) { boards.append(b); i += 1 }
        return boards
    }

    /// The board called `name` (host only).
    public static func named(_ name: String) -> BoardData? {
        var copy = name
        return copy.withUTF8 { named(UnsafeRawBufferPointer($0)) }
    }
}
#endif
