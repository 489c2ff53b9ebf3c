// CFI parallel NOR flash with the Intel/Sharp command set (CFI primary vendor id 0x0001): QEMU's pflash_cfi01.
//
// The commands (Intel StrataFlash / "Basic Command Set"; CFI publication 100): 0xFF read array,
// 0x70 read status, 0x50 clear status, 0x20 + 0xD0 block erase, 0x40 + data word program. The
// status register: bit 7 ready, bit 5 erase error, bit 4 program error, bit 3 supply (Vpp)
// error, bit 1 block locked. QEMU virt wires two 16-bit devices side by side on a 4-byte bus, so
// each command is written once per 16-bit lane (0x00XX00XX) and each status lane is checked.
// Every operation ends by putting the device back into read-array mode, so the flash reads as
// plain memory between calls. Callers: Core's StateRegion and VerifiedBoot, through FlashDevice.
import BulkheadCore
import _Volatile

struct CFIFlash: FlashDevice {
    /// Where the device is mapped (host-physical).
    let base: UInt64
    let size: Int
    let eraseBlockSize: Int

    init(layout: FlashLayout) {
        base = layout.mappedBase.raw
        size = layout.deviceSize
        eraseBlockSize = layout.eraseBlockSize
    }

    private static let readArray: UInt32 = 0x00FF_00FF
    private static let readStatus: UInt32 = 0x0070_0070
    private static let clearStatus: UInt32 = 0x0050_0050
    private static let blockErase: UInt32 = 0x0020_0020
    private static let eraseConfirm: UInt32 = 0x00D0_00D0
    private static let wordProgram: UInt32 = 0x0040_0040
    private static let ready: UInt32 = 0x0080_0080
    /// Erase, program, supply and lock error bits, in both lanes.
    private static let errors: UInt32 = 0x003A_003A
    /// Status polls before an operation counts as timed out (QEMU completes at once; real parts
    /// take up to seconds for a block erase).
    private static let pollLimit = 50_000_000
    private static let bus = 4

    private func word(_ offset: Int) -> VolatileMappedRegister<UInt32> {
        VolatileMappedRegister(unsafeBitPattern: UInt(base &+ UInt64(offset)))
    }

    private func inBounds(_ offset: Int, _ count: Int) -> Bool {
        offset >= 0 && count >= 0 && offset <= size && count <= size - offset
    }

    func read(offset: Int, into buffer: UnsafeMutableRawBufferPointer) -> Bool {
        guard inBounds(offset, buffer.count) else { return false }
        guard buffer.count > 0, let destination = buffer.baseAddress,
              let source = UnsafeRawPointer(bitPattern: UInt(base &+ UInt64(offset))) else { return buffer.count == 0 }
        destination.copyMemory(from: source, byteCount: buffer.count)
        return true
    }

    mutating func erase(blockAt offset: Int) -> Bool {
        guard inBounds(offset, eraseBlockSize), offset % eraseBlockSize == 0 else { return false }
        let target = word(offset)
        target.store(CFIFlash.clearStatus)
        target.store(CFIFlash.blockErase)
        target.store(CFIFlash.eraseConfirm)
        return finish(target)   // the status register reports a failed erase (bit 5)
    }

    /// Programs whole bus words: `offset` and `bytes.count` must be multiples of 4. Each word may
    /// only clear bits of what the flash holds; the result is read back and compared.
    mutating func program(offset: Int, bytes: UnsafeRawBufferPointer) -> Bool {
        guard inBounds(offset, bytes.count), offset % CFIFlash.bus == 0, bytes.count % CFIFlash.bus == 0 else { return false }
        var i = 0
        while i < bytes.count {
            let value = bytes.loadUnaligned(fromByteOffset: i, as: UInt32.self)
            let target = word(offset + i)
            let current = target.load()
            guard current & value == value else { return false }   // would need a 0 -> 1 change
            if current != value {
                target.store(CFIFlash.clearStatus)
                target.store(CFIFlash.wordProgram)
                target.store(value)
                guard finish(target) else { return false }
                guard target.load() == value else { return false }
            }
            i += CFIFlash.bus
        }
        return true
    }

    /// Waits for the device to be ready, checks the status for errors and returns to read-array
    /// mode (also on failure).
    private func finish(_ target: VolatileMappedRegister<UInt32>) -> Bool {
        target.store(CFIFlash.readStatus)
        var status: UInt32 = 0
        var polls = 0
        while polls < CFIFlash.pollLimit {
            status = target.load()
            if status & CFIFlash.ready == CFIFlash.ready { break }
            polls += 1
        }
        let ok = status & CFIFlash.ready == CFIFlash.ready && status & CFIFlash.errors == 0
        if !ok { target.store(CFIFlash.clearStatus) }
        target.store(CFIFlash.readArray)
        return ok
    }
}
