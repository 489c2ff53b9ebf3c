// CFI parallel NOR flash with the Intel/Sharp command set (CFI primary vendor id 0x0001): QEMU's pflash_cfi01.
//
// The commands (Intel StrataFlash / "Basic Command Set"; CFI publication 100): 0xFF read array,
// 0x70 read status, 0x50 clear status, 0x20 + 0xD0 block erase, 0x40 + data word program, 0xE8 +
// count + data + 0xD0 buffered program (up to the write buffer's size, which the CFI query table
// gives at 0x2A as 2^n bytes per device: 0x98 query mode), used for runs of words within one
// write-buffer-aligned window: one program operation for the whole run instead of one per word. The
// status register: bit 7 ready, bit 5 erase error, bit 4 program error, bit 3 supply (Vpp)
// error, bit 1 block locked. QEMU virt wires two 16-bit devices side by side on a 4-byte bus, so
// each command is written once per 16-bit lane (0x00XX00XX) and each status lane is checked.
// Every operation ends by putting the device back into read-array mode, so the flash reads as
// plain memory between calls. Callers: Core's StateRegion and VerifiedBoot, through FlashDevice.
import BulkheadCore

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
    private static let bufferedProgram: UInt32 = 0x00E8_00E8
    private static let cfiQuery: UInt32 = 0x0098_0098
    private static let ready: UInt32 = 0x0080_0080
    /// Erase, program, supply and lock error bits, in both lanes.
    private static let errors: UInt32 = 0x003A_003A
    /// Status polls before an operation counts as timed out (QEMU completes at once; real parts
    /// take up to seconds for a block erase).
    private static let pollLimit = 50_000_000
    private static let bus = 4

    private func word(_ offset: Int) -> MMIORegister<UInt32> {
        MMIORegister(unsafeBitPattern: UInt(base &+ UInt64(offset)))
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
    /// only clear bits of what the flash holds; the result is read back and compared. Runs of
    /// words inside one write-buffer window go in one buffered program; a device without a write
    /// buffer is programmed word by word.
    mutating func program(offset: Int, bytes: UnsafeRawBufferPointer) -> Bool {
        guard inBounds(offset, bytes.count), offset % CFIFlash.bus == 0, bytes.count % CFIFlash.bus == 0 else { return false }
        var i = 0
        while i < bytes.count {
            let value = bytes.loadUnaligned(fromByteOffset: i, as: UInt32.self)
            guard word(offset + i).load() & value == value else { return false }   // would need a 0 -> 1 change
            i += CFIFlash.bus
        }
        let window = writeBufferBytes()
        i = 0
        while i < bytes.count {
            let start = offset + i
            let end = window > CFIFlash.bus ? min(offset + bytes.count, (start / window + 1) * window) : start + CFIFlash.bus
            let run = UnsafeRawBufferPointer(rebasing: bytes[i ..< i + (end - start)])
            guard window > CFIFlash.bus ? programBuffer(at: start, run) : programWord(at: start, run.loadUnaligned(as: UInt32.self)) else {
                return false
            }
            i += end - start
        }
        return true
    }

    /// One word with the word-program command (skipped when it already holds `value`).
    private func programWord(at offset: Int, _ value: UInt32) -> Bool {
        let target = word(offset)
        if target.load() == value { return true }
        target.store(CFIFlash.clearStatus)
        target.store(CFIFlash.wordProgram)
        target.store(value)
        return finish(target) && target.load() == value
    }

    /// Up to one write buffer of words starting at `offset`, within one buffer-aligned window:
    /// 0xE8, wait for the buffer, the word count minus one in each lane, the words, 0xD0; then
    /// the status, and every word read back (skipped when the flash already holds them all).
    private func programBuffer(at offset: Int, _ run: UnsafeRawBufferPointer) -> Bool {
        let words = run.count / CFIFlash.bus
        var same = true
        var k = 0
        while k < words && same { same = word(offset + k * CFIFlash.bus).load() == run.loadUnaligned(fromByteOffset: k * CFIFlash.bus, as: UInt32.self); k += 1 }
        if same { return true }
        let target = word(offset)
        target.store(CFIFlash.clearStatus)
        target.store(CFIFlash.bufferedProgram)
        var polls = 0
        while target.load() & CFIFlash.ready != CFIFlash.ready {      // the buffer is free
            polls += 1
            if polls >= CFIFlash.pollLimit { target.store(CFIFlash.readArray); return false }
        }
        let count = UInt32(words - 1)
        target.store(count | count << 16)
        k = 0
        while k < words {
            word(offset + k * CFIFlash.bus).store(run.loadUnaligned(fromByteOffset: k * CFIFlash.bus, as: UInt32.self))
            k += 1
        }
        target.store(CFIFlash.eraseConfirm)
        guard finish(target) else { return false }
        k = 0
        while k < words {
            guard word(offset + k * CFIFlash.bus).load() == run.loadUnaligned(fromByteOffset: k * CFIFlash.bus, as: UInt32.self) else { return false }
            k += 1
        }
        return true
    }

    /// The write buffer in bus bytes (2^n bytes per device from the CFI query table at 0x2A, two
    /// devices), capped at 1024 words (the count field's range used here); 0 without a buffer.
    private func writeBufferBytes() -> Int {
        let query = word(0x55 * CFIFlash.bus)
        query.store(CFIFlash.cfiQuery)
        let signature = (word(0x10 * CFIFlash.bus).load() & 0xFF, word(0x11 * CFIFlash.bus).load() & 0xFF,
                         word(0x12 * CFIFlash.bus).load() & 0xFF)
        let n = Int(word(0x2A * CFIFlash.bus).load() & 0xFF)
        query.store(CFIFlash.readArray)
        guard signature == (0x51, 0x52, 0x59), n > 0, n < 16 else { return 0 }        // "QRY"
        return min((1 << n) * 2, 1024 * CFIFlash.bus)
    }

    /// Waits for the device to be ready, checks the status for errors and returns to read-array
    /// mode (also on failure).
    private func finish(_ target: MMIORegister<UInt32>) -> Bool {
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
