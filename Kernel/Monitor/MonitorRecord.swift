// The monitor's own state record (next-stage floor, boot counter) in two flash copies, power-fail-safe (docs/monitor.md).
//
// Record (64 bytes, little-endian, CRC-32C as Core's StateRecord, docs/flash-layout.md):
//   0 magic "BHMONST1" (8)   8 format version u16 = 1   10 record size u16 = 64   12 reserved u32
//   16 sequence u64          24 next-stage floor u64    32 boot counter u64       40..<60 reserved
//   60 crc32c of bytes 0..<60
// The two copies each own an erase block; the same scheme as Core's StateRegion: a read takes the
// valid copy with the newer sequence (serial-number order, StateRegion.isNewer); a write erases and
// programs only the other copy, with sequence + 1, and reads the region back. So a power loss at
// any point leaves either the old record or the new one. The floor never decreases through `commit`.
import BulkheadCore

/// The monitor's persistent state.
struct MonitorState: Equatable {
    /// The lowest next-stage security version the monitor enters.
    var floor: UInt64 = 0
    /// Boots that accepted a next stage (written before any key service runs).
    var bootCounter: UInt64 = 0
}

enum MonitorRecord {
    static let size = 64
    static let magic: UInt64 = 0x3154_534E_4F4D_4842      // "BHMONST1" read little-endian
    static let formatVersion: UInt64 = 1
    static let checksumOffset = 60

    static func encode(sequence: UInt64, state: MonitorState) -> InlineArray<64, UInt8> {
        var b = InlineArray<64, UInt8>(repeating: 0)
        put(magic, 8, &b, 0); put(formatVersion, 2, &b, 8); put(UInt64(size), 2, &b, 10)
        put(sequence, 8, &b, 16); put(state.floor, 8, &b, 24); put(state.bootCounter, 8, &b, 32)
        put(UInt64(checksum(b)), 4, &b, checksumOffset)
        return b
    }

    /// (sequence, state) of a valid copy; nil for erased, foreign, torn or corrupt bytes.
    static func decode(_ b: InlineArray<64, UInt8>) -> (UInt64, MonitorState)? {
        guard get(b, 0, 8) == magic, get(b, 8, 2) == formatVersion, get(b, 10, 2) == UInt64(size),
              get(b, checksumOffset, 4) == UInt64(checksum(b)) else { return nil }
        return (get(b, 16, 8), MonitorState(floor: get(b, 24, 8), bootCounter: get(b, 32, 8)))
    }

    static func checksum(_ b: InlineArray<64, UInt8>) -> UInt32 {
        withUnsafeBytes(of: b) { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<checksumOffset])) }
    }

    private static func put(_ v: UInt64, _ width: Int, _ b: inout InlineArray<64, UInt8>, _ at: Int) {
        var i = 0
        while i < width { b[at + i] = UInt8(truncatingIfNeeded: v >> UInt64(8 * i)); i += 1 }
    }

    private static func get(_ b: InlineArray<64, UInt8>, _ at: Int, _ width: Int) -> UInt64 {
        var v: UInt64 = 0
        var i = width
        while i > 0 { i -= 1; v = v << 8 | UInt64(b[at + i]) }
        return v
    }
}

/// Why the record could not be read or written.
enum MonitorRecordError: Error, Equatable {
    case noFlashWriter
    case readFailed
    case eraseFailed
    case programFailed
    case verifyFailed
    case floorDecrease

    func write<S: TextSink>(to out: inout S) {
        switch self {
        case .noFlashWriter: out.write("the firmware passed no flash writer")
        case .readFailed: out.write("the flash read failed")
        case .eraseFailed: out.write("the erase failed")
        case .programFailed: out.write("the program failed")
        case .verifyFailed: out.write("the record read back differs")
        case .floorDecrease: out.write("the floor would decrease")
        }
    }
}

/// The two copies: QEMU virt's reserved blocks 123 and 124 (docs/flash-layout.md), M-only by PMP.
struct MonitorRecordRegion {
    var copyA: Int
    var copyB: Int
    static let qemuVirt = MonitorRecordRegion(copyA: 0x1EC_0000, copyB: 0x1F0_0000)

    /// The newest valid copy: (sequence, state, copy index 0 = A, 1 = B); nil when neither is valid.
    func read<F: FlashDevice>(_ flash: F) throws(MonitorRecordError) -> (UInt64, MonitorState, Int)? {
        let a = try copy(copyA, flash), b = try copy(copyB, flash)
        switch (a, b) {
        case (nil, nil): return nil
        case (let a?, nil): return (a.0, a.1, 0)
        case (nil, let b?): return (b.0, b.1, 1)
        case (let a?, let b?): return StateRegion.isNewer(b.0, than: a.0) ? (b.0, b.1, 1) : (a.0, a.1, 0)
        }
    }

    /// The state in force (all zero when neither copy is valid: the factory state).
    func state<F: FlashDevice>(_ flash: F) throws(MonitorRecordError) -> MonitorState {
        try read(flash)?.1 ?? MonitorState()
    }

    /// Writes `next` into the copy that is not the newest, then checks the read-back. Refuses a
    /// lower floor; writes nothing when `next` equals the current state.
    func commit<F: FlashDevice>(_ next: MonitorState, to flash: inout F) throws(MonitorRecordError) {
        let current = try read(flash)
        let state = current?.1 ?? MonitorState()
        guard next.floor >= state.floor else { throw .floorDecrease }
        if next == state { return }
        let sequence = (current?.0 ?? 0) &+ 1
        let target = current?.2 == 0 ? copyB : copyA
        let bytes = MonitorRecord.encode(sequence: sequence, state: next)
        guard flash.erase(blockAt: target) else { throw .eraseFailed }
        guard withUnsafeBytes(of: bytes, { flash.program(offset: target, bytes: $0) }) else { throw .programFailed }
        guard let after = try read(flash), after.0 == sequence, after.1 == next else { throw .verifyFailed }
    }

    private func copy<F: FlashDevice>(_ offset: Int, _ flash: F) throws(MonitorRecordError) -> (UInt64, MonitorState)? {
        var b = InlineArray<64, UInt8>(repeating: 0)
        guard withUnsafeMutableBytes(of: &b, { flash.read(offset: offset, into: $0) }) else { throw .readFailed }
        return MonitorRecord.decode(b)
    }
}

public typealias FlashErase = @convention(c) (UnsafeMutableRawPointer?, UInt64) -> Int32
public typealias FlashProgram = @convention(c) (UnsafeMutableRawPointer?, UInt64, UnsafeRawPointer?, UInt64) -> Int32

/// The firmware's flash, through the callbacks it passed (init's reader, set_flash_writer's writer).
struct FirmwareFlash: FlashDevice {
    var eraseBlockSize: Int { FlashLayout.qemuVirt.eraseBlockSize }
    var size: Int { FlashLayout.qemuVirt.deviceSize }
    let readFn: FlashRead
    let eraseFn: FlashErase
    let programFn: FlashProgram
    let context: UnsafeMutableRawPointer?

    func read(offset: Int, into buffer: UnsafeMutableRawBufferPointer) -> Bool {
        readFn(context, UInt64(offset), buffer.baseAddress, UInt64(buffer.count)) == 0
    }
    mutating func erase(blockAt offset: Int) -> Bool { eraseFn(context, UInt64(offset)) == 0 }
    mutating func program(offset: Int, bytes: UnsafeRawBufferPointer) -> Bool {
        programFn(context, UInt64(offset), bytes.baseAddress, UInt64(bytes.count)) == 0
    }
}
