// Board data: what a device tree cannot say about each supported board (flash, sizes, CLI defaults).

/// What the hypervisor knows about a board besides its device tree. RAM, reserved memory, harts
/// and the console come from the tree at boot; the hypervisor's own memory is placed by MemoryMap
/// from where it was loaded.
public struct BoardData: Sendable {
    /// The board's name, as the CLI's `--board` option spells it.
    public var name: StaticString
    /// The largest bundle the staging area holds (the staging area's size).
    public var bundleMaxSize: UInt64
    /// The flash that holds the bundle slots and the state region; `nil` on a board without a
    /// driver for its persistent storage yet.
    public var bundleFlash: FlashLayout?
    /// Size of the shared-memory pool channels are carved from.
    public var sharedPoolSize: UInt64
    /// The board's RAM when nothing else says otherwise (the CLI's default; the kernel reads the DTB).
    public var defaultRAM: HostRegion
    /// Harts 0 ..< defaultHartCount exist when nothing else says otherwise.
    public var defaultHartCount: Int

    /// Where the loader typically puts the hypervisor: 2 MiB above the RAM base (OpenSBI's
    /// fw_jump and U-Boot's `kernel_addr_r` on these boards).
    public static let loadOffset: UInt64 = 0x20_0000
    /// The image size the CLI assumes (the hypervisor is smaller): placement is then the same
    /// for any image up to this size.
    public static let assumedImageSize: UInt64 = 0x20_0000

    public init(name: StaticString, bundleMaxSize: UInt64, bundleFlash: FlashLayout?, sharedPoolSize: UInt64,
                defaultRAM: HostRegion, defaultHartCount: Int) {
        self.name = name; self.bundleMaxSize = bundleMaxSize; self.bundleFlash = bundleFlash
        self.sharedPoolSize = sharedPoolSize
        self.defaultRAM = defaultRAM; self.defaultHartCount = defaultHartCount
    }

    /// The typical load address in `ram`: its base + `loadOffset`.
    public func typicalLoadAddress(ram: HostRegion) -> HostPhysAddr { ram.base.adding(Self.loadOffset) }

    /// The memory map a booted hypervisor would compute on `ram` without a tree at hand: loaded at
    /// the typical address, the firmware keeping [RAM base, load address).
    public func typicalMemoryMap(ram: HostRegion) throws(MemoryMapError) -> MemoryMap {
        try MemoryMap.place(image: HostRegion(base: typicalLoadAddress(ram: ram), size: Self.assumedImageSize), ram: ram,
                            firmwareReserved: typicalFirmwareReserved(ram: ram),
                            poolSize: sharedPoolSize, stagingSize: bundleMaxSize)
    }

    /// [RAM base, typical load address), as firmware: what the CLI assumes the firmware keeps.
    public func typicalFirmwareReserved(ram: HostRegion) -> ReservedRegions {
        ReservedRegions(HostRegion(base: ram.base, size: Self.loadOffset), kind: .firmware)
    }

    /// What a plan is validated against on this board, given its RAM and its harts, with the
    /// typical memory map (`typicalMemoryMap`).
    public func limits(ram: HostRegion, hartMask: UInt64) throws(MemoryMapError) -> BoardLimits {
        let map = try typicalMemoryMap(ram: ram)
        return BoardLimits(ram: ram, hartMask: hartMask, reserved: map.reserved(firmware: typicalFirmwareReserved(ram: ram)),
                           sharedPool: map.sharedPool)
    }

    /// A mask with bits 0 ..< `count` set (all 64 bits from 64 harts up; none for 0 or less).
    public static func hartMask(count: Int) -> UInt64 {
        if count <= 0 { return 0 }
        if count >= 64 { return UInt64.max }
        return (UInt64(1) << UInt64(count)) &- 1
    }

    /// The limits of this board with its default RAM and harts. (Every known board's default
    /// RAM holds its memory map, which the tests check; were it not so, no hart would be offered.)
    public var defaultLimits: BoardLimits {
        let harts = BoardData.hartMask(count: defaultHartCount)
        do throws(MemoryMapError) { return try limits(ram: defaultRAM, hartMask: harts) } catch {
            return BoardLimits(ram: defaultRAM, hartMask: 0, reserved: ReservedRegions(defaultRAM, kind: .hypervisor))
        }
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
    /// Every board's shared-memory pool: 8 MiB.
    public static let sharedPoolSize: UInt64 = 0x80_0000
    /// Every board's staging area: 48 MiB.
    public static let stagingSize: UInt64 = 0x0300_0000

    /// QEMU's `virt` machine: OpenSBI at 0x8000_0000, the hypervisor loaded at 0x8020_0000, so
    /// (MemoryMap) the pool at 0x8040_0000, the bundle staged at 0x8100_0000 (the QEMU tests
    /// preload bundles there) and partitions from 0x8400_0000. Bundles live in the second pflash
    /// bank (`FlashLayout.qemuVirt`).
    public static let qemuVirt = BoardData(
        name: "qemu-virt", bundleMaxSize: stagingSize, bundleFlash: .qemuVirt, sharedPoolSize: sharedPoolSize,
        defaultRAM: HostRegion(base: HostPhysAddr(0x8000_0000), size: 0x4000_0000),
        defaultHartCount: 4)

    /// A SpacemiT K3 board (8 X100 cores, RVA23 with H and Sstc; AIA interrupt controllers;
    /// 16550-style UARTs with 4-byte registers). RAM from 0x1_0000_0000; the CLI assumes 8 GiB.
    /// No CFI flash: no persistent state region yet.
    public static let spacemitK3 = BoardData(
        name: "spacemit-k3", bundleMaxSize: stagingSize, bundleFlash: nil, sharedPoolSize: sharedPoolSize,
        defaultRAM: HostRegion(base: HostPhysAddr(0x1_0000_0000), size: 0x2_0000_0000),
        defaultHartCount: 8)

    /// ESWIN EIC7700X (SiFive HiFive Premier P550, Milk-V Megrez): 4 P550 cores with a
    /// pre-ratified H and no Sstc; DesignWare UARTs. RAM from 0x8000_0000; the CLI assumes 16 GiB.
    /// No CFI flash: no persistent state region yet.
    public static let eswinEIC7700X = BoardData(
        name: "eswin-eic7700x", bundleMaxSize: stagingSize, bundleFlash: nil, sharedPoolSize: sharedPoolSize,
        defaultRAM: HostRegion(base: HostPhysAddr(0x8000_0000), size: 0x4_0000_0000),
        defaultHartCount: 4)

    /// The known boards in a fixed order; `nil` past the last one.
    public static func board(at index: Int) -> BoardData? {
        switch index {
        case 0: return qemuVirt
        case 1: return spacemitK3
        case 2: return eswinEIC7700X
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
