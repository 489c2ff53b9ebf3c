// FlashImage's NOR semantics, and `bulkhead flash` / `flash-info` on real signed bundles and state records.

import BulkheadCore
import Foundation
import Testing
@testable import BulkheadTool

/// A workspace with a signed two-partition bundle ("one", "two"; security version 5) and a flash
/// image path that does not exist yet.
struct FlashSetup {
    let signed: SignedSetup
    let image: String
    let layout = FlashLayout.qemuVirt

    init() throws {
        signed = try SignedSetup()
        image = signed.ws.directory + "/flash.img"
    }

    var ws: Workspace { signed.ws }
    var bundle: [UInt8] { signed.bytes }
    var bundlePath: String { signed.bundlePath }
    var keyID: String { signed.key.keyID.hex }

    /// `bulkhead flash IMAGE --create` with `request`.
    @discardableResult
    func flash(_ request: FlashRequest) throws(ToolError) -> String {
        try Commands.flash(imagePath: image, request: request, create: true)
    }

    /// `bulkhead flash-info IMAGE`, split into lines.
    func info() throws -> [String] {
        try Commands.flashInfo(imagePath: image).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    /// What `bulkhead flash` creates: all 0xFF but for the entry stub.
    var newImage: FlashImage {
        var image = FlashImage.blank(layout: layout)
        let words = layout.entryStubInstructions()!
        for (i, word) in [words.0, words.1].enumerated() {
            for b in 0..<4 { image.bytes[layout.entryStub.offset + 4 * i + b] = UInt8(truncatingIfNeeded: word >> UInt32(8 * b)) }
        }
        return image
    }

    /// flash-info's three state lines (both copies, the state in force).
    func stateLines() throws -> [String] { try info().filter { $0.hasPrefix("state") } }

    func load() throws -> FlashImage { try FlashImage.load(path: image, layout: layout) }

    var fileBytes: [UInt8]? { FileManager.default.contents(atPath: image).map { [UInt8]($0) } }

    /// The bytes of `slot` in `flash`.
    func slot(_ slot: BootSlot, in flash: FlashImage) -> [UInt8] { Array(flash.bytes(in: layout.range(slot))) }

    /// The first 64 bytes of state copy `copy` in `flash`.
    func record(_ copy: StateCopy, in flash: FlashImage) -> [UInt8] {
        let range = copy == .a ? layout.stateA : layout.stateB
        return Array(flash.bytes(in: range).prefix(StateRecord.size))
    }
}

extension Array where Element == String {
    /// The first line that starts with `prefix`.
    func line(_ prefix: String) -> String? { first { $0.hasPrefix(prefix) } }
}

/// Core's text for a bundle with the wrong magic.
let badMagicText: String = { var sink = StringSink(); BundleError.badMagic.write(to: &sink); return sink.text }()

/// The bytes of a state record, for comparing with what the flash holds.
func recordBytes(_ record: StateRecord) -> [UInt8] {
    withUnsafeBytes(of: record.encode()) { Array($0) }
}

@Suite("CLI: flash images")
struct FlashImageTests {
    // MARK: FlashImage

    @Test func programOnlyClearsBits() {
        var flash = FlashImage(bytes: [UInt8](repeating: 0xFF, count: 64), eraseBlockSize: 16)
        func program(_ offset: Int, _ bytes: [UInt8]) -> Bool {
            bytes.withUnsafeBytes { flash.program(offset: offset, bytes: $0) }
        }
        #expect(program(3, [0x0F, 0xA5]))
        #expect(flash.bytes[3] == 0x0F && flash.bytes[4] == 0xA5)
        #expect(program(3, [0x03]))                   // 0x0F -> 0x03 only clears bits
        #expect(flash.bytes[3] == 0x03)
        #expect(!program(3, [0x07]))                  // 0x03 -> 0x07 would set bit 2
        #expect(flash.bytes[3] == 0x03)
        // A refused call changes nothing, not even the bytes before the offending one.
        #expect(!program(2, [0x00, 0x00, 0xFF]))      // byte 4 (0xA5) cannot become 0xFF
        #expect(flash.bytes[2] == 0xFF && flash.bytes[3] == 0x03 && flash.bytes[4] == 0xA5)
        #expect(program(5, []))
        // Out of range.
        #expect(!program(63, [0, 0]))
        #expect(!program(-1, [0]))
        #expect(!program(64, [0]))
        #expect(program(63, [0]))
    }

    @Test func eraseWholeAlignedBlocks() {
        var flash = FlashImage(bytes: [UInt8](repeating: 0, count: 64), eraseBlockSize: 16)
        func erase(_ offset: Int) -> Bool { flash.erase(blockAt: offset) }
        #expect(!erase(8))             // not a block start
        #expect(!erase(64))            // past the end
        #expect(!erase(-16))
        #expect(flash.bytes.allSatisfy { $0 == 0 })
        #expect(erase(16))
        #expect(flash.bytes[0..<16].allSatisfy { $0 == 0 })
        #expect(flash.bytes[16..<32].allSatisfy { $0 == 0xFF })
        #expect(flash.bytes[32..<64].allSatisfy { $0 == 0 })
        #expect(erase(48))
        #expect(flash.bytes[48..<64].allSatisfy { $0 == 0xFF })
        // A non-whole trailing block cannot be erased.
        var odd = FlashImage(bytes: [UInt8](repeating: 0, count: 40), eraseBlockSize: 16)
        let erased = odd.erase(blockAt: 32)
        #expect(!erased)
    }

    @Test func readIsBoundsChecked() {
        let flash = FlashImage(bytes: (0..<32).map { UInt8($0) }, eraseBlockSize: 16)
        var buffer = [UInt8](repeating: 0xAA, count: 4)
        #expect(buffer.withUnsafeMutableBytes { flash.read(offset: 28, into: $0) })
        #expect(buffer == [28, 29, 30, 31])
        #expect(!buffer.withUnsafeMutableBytes { flash.read(offset: 29, into: $0) })
        #expect(!buffer.withUnsafeMutableBytes { flash.read(offset: -1, into: $0) })
        #expect(!buffer.withUnsafeMutableBytes { flash.read(offset: Int.max, into: $0) })
        #expect(flash.bytes(in: FlashRange(offset: 30, size: 4)).isEmpty)
        #expect(Array(flash.bytes(in: FlashRange(offset: 30, size: 2))) == [30, 31])
    }

    @Test func blankSaveLoadAndWrongSize() throws {
        let ws = Workspace()
        defer { ws.remove() }
        let layout = FlashLayout.qemuVirt
        let blank = FlashImage.blank(layout: layout)
        #expect(blank.size == 32 << 20 && blank.eraseBlockSize == 256 << 10)
        #expect(blank.bytes.allSatisfy { $0 == 0xFF })
        var changed = blank
        #expect([UInt8](repeating: 0x5A, count: 3).withUnsafeBytes { changed.program(offset: 0x1F8_0000, bytes: $0) })
        let path = ws.directory + "/f.img"
        try changed.save(path: path)
        #expect(try FlashImage.load(path: path, layout: layout) == changed)

        ws.write("short.img", [UInt8](repeating: 0xFF, count: 1000))
        #expect(throws: ToolError("\(ws.directory)/short.img: the file is 1000 bytes; a flash image must be exactly "
                                  + "33554432 bytes (32 MiB)")) {
            try FlashImage.load(path: ws.directory + "/short.img", layout: layout)
        }
        #expect(throws: ToolError.io("\(ws.directory)/none.img: cannot read the flash image: no such file")) {
            try FlashImage.load(path: ws.directory + "/none.img", layout: layout)
        }
        // `flash` never resizes a file it was pointed at.
        #expect(throws: ToolError("\(ws.directory)/short.img: the file is 1000 bytes; a flash image must be exactly "
                                  + "33554432 bytes (32 MiB)")) {
            try Commands.flash(imagePath: ws.directory + "/short.img", request: FlashRequest(resetState: true))
        }
        #expect(FileManager.default.contents(atPath: ws.directory + "/short.img")?.count == 1000)
    }

    // MARK: bulkhead flash / flash-info

    @Test func writeBundleToSlotAThenReadItBack() throws {
        let s = try FlashSetup()
        defer { s.ws.remove() }
        let summary = try s.flash(FlashRequest(write: .init(slot: .a, bundlePath: s.bundlePath)))
        #expect(summary == """
            \(s.image): new image, 32 MiB erased (0xFF) with the entry stub (jump to 0x80200000): both slots empty, state region in the factory state
            \(s.image): slot A: wrote \(s.bundlePath) (\(s.bundle.count) bytes, 2 partitions, security version 5, key id \(s.keyID))
            """)
        let flash = try s.load()
        let slotA = s.slot(.a, in: flash)
        #expect(Array(slotA.prefix(s.bundle.count)) == s.bundle)
        #expect(slotA[s.bundle.count...].allSatisfy { $0 == 0xFF })
        // Everything else is as a new image has it: erased, apart from the entry stub.
        var expected = s.newImage
        expected.bytes.replaceSubrange(s.layout.slotA.offset..<(s.layout.slotA.offset + s.bundle.count), with: s.bundle)
        #expect(flash == expected)
        #expect(try s.info() == [
            "\(s.image): qemu-virt bundle flash, 32 MiB",
            "entry stub: jump to 0x80200000",
            "slot A: bundle, 2 partitions (one, two), \(s.bundle.count) bytes, security version 5, key id \(s.keyID)",
            "slot B: empty",
            "state copy A: erased",
            "state copy B: erased",
            "state: factory (no valid copy): minimum security version 0, boot attempts A 0 B 0, last booted none, preferred none",
            "keystore copy A: erased",
            "keystore copy B: erased",
            "device secret: not provisioned (the block is erased)",
        ])
        // The kernel's reader finds the bundle in the slot the way it would in flash.
        try flash.bytes(in: s.layout.slotA).withUnsafeBytes { raw throws in
            let reader = try BundleReader(staging: raw)
            #expect(reader.totalLength == s.bundle.count && reader.securityVersion == 5)
        }

        // The same bundle into slot B, then slot A erased.
        try s.flash(FlashRequest(write: .init(slot: .b, bundlePath: s.bundlePath), eraseSlots: [.a]))
        let info = try s.info()
        #expect(info.line("slot A:") == "slot A: empty")
        #expect(info.line("slot B:") == "slot B: bundle, 2 partitions (one, two), \(s.bundle.count) bytes, security version 5, key id \(s.keyID)")
        let after = try s.load()
        #expect(s.slot(.a, in: after).allSatisfy { $0 == 0xFF })
        #expect(Array(s.slot(.b, in: after).prefix(s.bundle.count)) == s.bundle)
    }

    @Test func writingASlotErasesWhatWasThere() throws {
        let s = try FlashSetup()
        defer { s.ws.remove() }
        let junk = s.signed.write("junk.bin", [UInt8](repeating: 0x00, count: 300_000))   // spans two erase blocks
        #expect(try s.flash(FlashRequest(write: .init(slot: .a, bundlePath: junk, unchecked: true)))
                .hasSuffix("\(s.image): slot A: wrote \(junk) (300000 bytes, unchecked: not a valid bundle: \(badMagicText))"))
        #expect(try s.info().line("slot A:") == "slot A: not a valid bundle: \(badMagicText)")
        #expect(s.slot(.a, in: try s.load())[0..<300_000].allSatisfy { $0 == 0 })
        try s.flash(FlashRequest(write: .init(slot: .a, bundlePath: s.bundlePath)))
        let slotA = s.slot(.a, in: try s.load())
        #expect(Array(slotA.prefix(s.bundle.count)) == s.bundle)
        #expect(slotA[s.bundle.count...].allSatisfy { $0 == 0xFF })
        // An explicit erase leaves the slot empty.
        #expect(try s.flash(FlashRequest(eraseSlots: [.a])) == "\(s.image): slot A: erased")
        #expect(s.slot(.a, in: try s.load()).allSatisfy { $0 == 0xFF })
        #expect(try s.info().line("slot A:") == "slot A: empty")
    }

    @Test func preferWritesTheRecordTheKernelWrites() throws {
        let s = try FlashSetup()
        defer { s.ws.remove() }
        #expect(try s.flash(FlashRequest(prefer: .set(.b))).hasSuffix("\(s.image): preferred slot: B (wrote state copy A, sequence 1)"))
        var flash = try s.load()
        let first = StateRecord(sequence: 1, state: BootState(preferredSlot: .b))
        #expect(try s.layout.stateRegion.read(from: flash).result == .record(first, copy: .a))
        #expect(s.record(.a, in: flash) == recordBytes(first))
        #expect(flash.bytes(in: s.layout.stateA).dropFirst(StateRecord.size).allSatisfy { $0 == 0xFF })
        #expect(flash.bytes(in: s.layout.stateB).allSatisfy { $0 == 0xFF })

        // Asking again writes nothing.
        let before = s.fileBytes
        #expect(try s.flash(FlashRequest(prefer: .set(.b))) == "\(s.image): preferred slot: B (already so; nothing written)")
        #expect(s.fileBytes == before)

        // The next record goes to the other copy.
        #expect(try s.flash(FlashRequest(prefer: .set(nil))) == "\(s.image): preferred slot: none (wrote state copy B, sequence 2)")
        flash = try s.load()
        #expect(s.record(.a, in: flash) == recordBytes(first))
        #expect(s.record(.b, in: flash) == recordBytes(StateRecord(sequence: 2, state: BootState())))

        // What the kernel records at boot shows up in flash-info's state line.
        try s.layout.stateRegion.recordBootAttempt(.b, in: &flash)
        try s.layout.stateRegion.recordBootSuccess(.a, securityVersion: 3, in: &flash)
        try flash.save(path: s.image)
        #expect(try s.stateLines() == [
            "state copy A: valid, sequence 3",
            "state copy B: valid, sequence 4",
            "state: minimum security version 3, boot attempts A 0 B 1, last booted A, preferred none",
        ])
        try s.flash(FlashRequest(prefer: .set(.a)))
        #expect(try s.info().line("state:") == "state: minimum security version 3, boot attempts A 0 B 1, last booted A, preferred A")
        #expect(try s.info().line("state copy A:") == "state copy A: valid, sequence 5")
    }

    @Test func writingASlotResetsItsBootAttempts() throws {
        let s = try FlashSetup()
        defer { s.ws.remove() }
        try s.flash(FlashRequest(write: .init(slot: .a, bundlePath: s.bundlePath)))
        var flash = try s.load()
        for _ in 0..<3 { try s.layout.stateRegion.recordBootAttempt(.a, in: &flash) }   // three failed boots of A
        try s.layout.stateRegion.recordBootAttempt(.b, in: &flash)
        try flash.save(path: s.image)
        #expect(VerifiedBoot.slotOrder(try s.layout.stateRegion.read(from: flash).state) == (BootSlot.b, BootSlot.a))
        // A new bundle in slot A starts with no failures (slot B's count stays) and goes first again.
        #expect(try s.flash(FlashRequest(write: .init(slot: .a, bundlePath: s.bundlePath))).hasSuffix(
            "\(s.image): slot A: boot attempts reset (wrote state copy A, sequence 5)"))
        let state = try s.layout.stateRegion.read(from: try s.load()).state
        #expect(state.bootAttemptsA == 0 && state.bootAttemptsB == 1)
        #expect(VerifiedBoot.slotOrder(state) == (BootSlot.a, BootSlot.b))
        // With nothing to reset, nothing is written.
        let before = s.fileBytes
        #expect(!(try s.flash(FlashRequest(write: .init(slot: .a, bundlePath: s.bundlePath)))).contains("boot attempts"))
        #expect(s.fileBytes == before)
    }

    @Test func resetStateErasesBothCopies() throws {
        let s = try FlashSetup()
        defer { s.ws.remove() }
        try s.flash(FlashRequest(write: .init(slot: .a, bundlePath: s.bundlePath), prefer: .set(.b)))
        try s.flash(FlashRequest(prefer: .set(.a)))
        #expect(try s.info().line("state copy A:") == "state copy A: valid, sequence 1")
        #expect(try s.flash(FlashRequest(resetState: true))
                == "\(s.image): state region: both copies erased (factory state: minimum security version 0)")
        let flash = try s.load()
        #expect(flash.bytes(in: s.layout.stateA).allSatisfy { $0 == 0xFF })
        #expect(flash.bytes(in: s.layout.stateB).allSatisfy { $0 == 0xFF })
        #expect(Array(s.slot(.a, in: flash).prefix(s.bundle.count)) == s.bundle)   // the slots are untouched
        #expect(try s.stateLines() == [
            "state copy A: erased",
            "state copy B: erased",
            "state: factory (no valid copy): minimum security version 0, boot attempts A 0 B 0, last booted none, preferred none",
        ])
        // Reset first, then the preference: a fresh region's first record, sequence 1 in copy A.
        try s.flash(FlashRequest(prefer: .set(.b)))
        try s.flash(FlashRequest(prefer: .set(.a)))
        let lines = try s.flash(FlashRequest(resetState: true, prefer: .set(.b))).split(separator: "\n")
        #expect(lines.count == 2 && lines[1] == "\(s.image): preferred slot: B (wrote state copy A, sequence 1)")
        #expect(s.record(.a, in: try s.load()) == recordBytes(StateRecord(sequence: 1, state: BootState(preferredSlot: .b))))
        #expect(try s.info().line("state copy B:") == "state copy B: erased")
    }

    @Test func malformedBundleNeedsUnchecked() throws {
        let s = try FlashSetup()
        defer { s.ws.remove() }
        var bad = s.bundle
        bad[0] ^= 0xFF
        let badPath = s.signed.write("bad.bin", bad)
        #expect(throws: ToolError.bundle(.badMagic, file: badPath)) {
            try s.flash(FlashRequest(write: .init(slot: .a, bundlePath: badPath)))
        }
        #expect(s.fileBytes == nil)   // nothing written, not even the new blank image
        let truncatedPath = s.signed.write("short.bin", Array(s.bundle[0..<(s.bundle.count - 1)]))
        let truncated = BundleError.truncated(needed: UInt64(s.bundle.count), available: UInt64(s.bundle.count - 1))
        #expect(throws: ToolError.bundle(truncated, file: truncatedPath)) {
            try s.flash(FlashRequest(write: .init(slot: .b, bundlePath: truncatedPath)))
        }
        let trailingPath = s.signed.write("long.bin", s.bundle + [0])
        #expect(throws: ToolError.self) { try s.flash(FlashRequest(write: .init(slot: .b, bundlePath: trailingPath))) }

        // With --unchecked they go in; flash-info reports them as the kernel's reader sees them.
        try s.flash(FlashRequest(write: .init(slot: .a, bundlePath: badPath, unchecked: true)))
        let line = try s.flash(FlashRequest(write: .init(slot: .b, bundlePath: truncatedPath, unchecked: true)))
        var text = StringSink()
        truncated.write(to: &text)
        #expect(line == "\(s.image): slot B: wrote \(truncatedPath) (\(s.bundle.count - 1) bytes, unchecked: not a valid bundle: \(text.text))")
        var info = try s.info()
        #expect(info.line("slot A:") == "slot A: not a valid bundle: \(badMagicText)")
        // In flash the missing last byte reads as 0xFF, and the header's length covers it: the
        // structure parses (only the image digest, checked at boot, can tell).
        #expect(info.line("slot B:") == "slot B: bundle, 2 partitions (one, two), \(s.bundle.count) bytes, security version 5, key id \(s.keyID)")
        // Cut inside the first record, the erased rest of the slot is not valid padding.
        let cutPath = s.signed.write("cut.bin", Array(s.bundle[0..<100]))
        try s.flash(FlashRequest(write: .init(slot: .b, bundlePath: cutPath, unchecked: true)))
        info = try s.info()
        #expect(info.line("slot B:") == "slot B: not a valid bundle: the reserved or padding byte at offset 0x64 is not zero")
        let flash = try s.load()
        #expect(Array(s.slot(.a, in: flash).prefix(bad.count)) == bad)
        // A valid bundle checked with --unchecked reads as it normally would.
        #expect(try s.flash(FlashRequest(write: .init(slot: .a, bundlePath: s.bundlePath, unchecked: true)))
                == "\(s.image): slot A: wrote \(s.bundlePath) (\(s.bundle.count) bytes, 2 partitions, security version 5, key id \(s.keyID))")
    }

    @Test func oversizedBundleIsRefused() throws {
        let s = try FlashSetup()
        defer { s.ws.remove() }
        let slotSize = s.layout.slotA.size
        var big = s.bundle
        big += [UInt8](repeating: 0, count: slotSize + 1 - big.count)
        let bigPath = s.signed.write("big.bin", big)
        for unchecked in [false, true] {
            #expect(throws: ToolError("\(bigPath): the bundle is 12582913 bytes; slot A holds 12 MiB")) {
                try s.flash(FlashRequest(write: .init(slot: .a, bundlePath: bigPath, unchecked: unchecked)))
            }
        }
        #expect(s.fileBytes == nil)
        // Exactly the slot's size fits (unchecked: the padding makes it an invalid bundle).
        let fullPath = s.signed.write("full.bin", Array(big[0..<slotSize]))
        try s.flash(FlashRequest(write: .init(slot: .b, bundlePath: fullPath, unchecked: true)))
        #expect(Array(try s.load().bytes(in: s.layout.slotB)) == Array(big[0..<slotSize]))
    }

    @Test func tornAndCorruptStateCopies() throws {
        let s = try FlashSetup()
        defer { s.ws.remove() }
        try s.flash(FlashRequest(prefer: .set(.b)))   // copy A, sequence 1: preferred B
        try s.flash(FlashRequest(prefer: .set(.a)))   // copy B, sequence 2: preferred A
        #expect(try s.info().line("state:") == "state: minimum security version 0, boot attempts A 0 B 0, last booted none, preferred A")

        // Copy B torn before its CRC was programmed: the CRC bytes still read 0xFF.
        var flash = try s.load()
        let b = s.layout.stateB.offset
        for i in StateRecord.checksumOffset..<StateRecord.size { flash.bytes[b + i] = 0xFF }
        let computed = flash.bytes.withUnsafeBytes {
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[b..<(b + StateRecord.checksumOffset)]))
        }
        try flash.save(path: s.image)
        #expect(try s.stateLines() == [
            "state copy A: valid, sequence 1",
            "state copy B: checksum mismatch (stored 0xffffffff, computed \(hex(UInt64(computed))))",
            "state: minimum security version 0, boot attempts A 0 B 0, last booted none, preferred B",
        ])

        // The next write replaces the damaged copy, never the good one.
        #expect(try s.flash(FlashRequest(prefer: .set(.a))) == "\(s.image): preferred slot: A (wrote state copy B, sequence 2)")
        #expect(try s.info().line("state copy B:") == "state copy B: valid, sequence 2")

        // Both copies damaged: the factory state.
        flash = try s.load()
        flash.bytes[s.layout.stateA.offset] = 0x00            // copy A: bad magic
        flash.bytes[b + 30] ^= 0x01                            // copy B: decayed bit
        try flash.save(path: s.image)
        let info = try s.info()
        #expect(info.line("state copy A:") == "state copy A: not a state record (bad magic)")
        #expect(info.line("state copy B:")?.hasPrefix("state copy B: checksum mismatch (stored 0x") == true)
        #expect(info.line("state:") == "state: factory (no valid copy): minimum security version 0, boot attempts A 0 B 0, last booted none, preferred none")
    }

    @Test func requestErrorsAndNothingWrittenOnFailure() throws {
        let s = try FlashSetup()
        defer { s.ws.remove() }
        #expect(throws: ToolError("\(s.image): nothing to do: pass --slot a|b BUNDLE, --erase-slot a|b, --prefer a|b|none "
                                  + "or --reset-state (with --create, a missing image is created blank: --create --reset-state "
                                  + "alone does just that)")) {
            try s.flash(FlashRequest())
        }
        #expect(throws: ToolError("--slot a and --erase-slot a contradict each other: the erase would remove the bundle just written")) {
            try s.flash(FlashRequest(write: .init(slot: .a, bundlePath: s.bundlePath), eraseSlots: [.a]))
        }
        #expect(throws: ToolError("unknown board \"pi\" (known boards: qemu-virt, spacemit-k3, eswin-eic7700x)")) {
            try Commands.flash(imagePath: s.image, request: FlashRequest(resetState: true), board: "pi")
        }
        #expect(throws: ToolError("unknown board \"pi\" (known boards: qemu-virt, spacemit-k3, eswin-eic7700x)")) {
            try Commands.flashInfo(imagePath: s.image, board: "pi")
        }
        #expect(s.fileBytes == nil)

        // --reset-state alone creates a blank image.
        #expect(try s.flash(FlashRequest(resetState: true)).hasPrefix("\(s.image): new image, 32 MiB erased (0xFF)"))
        #expect(try s.load() == s.newImage)

        // A failing action leaves the file exactly as it was, even after earlier actions succeeded.
        try s.flash(FlashRequest(write: .init(slot: .a, bundlePath: s.bundlePath), prefer: .set(.b)))
        let before = s.fileBytes
        #expect(throws: ToolError.self) {
            try s.flash(FlashRequest(resetState: true, write: .init(slot: .b, bundlePath: s.ws.directory + "/missing.bin")))
        }
        #expect(s.fileBytes == before)

        // The command line's spellings.
        #expect(try FlashRequest(resetState: false, slot: "B", bundle: "x.bin", unchecked: true, eraseSlots: ["a", "A"], prefer: "none")
                == FlashRequest(write: .init(slot: .b, bundlePath: "x.bin", unchecked: true), eraseSlots: [.a], prefer: .set(nil)))
        #expect(try FlashRequest(resetState: true, slot: nil, bundle: nil, unchecked: false, eraseSlots: [], prefer: "b")
                == FlashRequest(resetState: true, prefer: .set(.b)))
        #expect(throws: ToolError("--slot: \"c\" is not a slot: use a or b")) {
            try FlashRequest(resetState: false, slot: "c", bundle: "x.bin", unchecked: false, eraseSlots: [], prefer: nil)
        }
        #expect(throws: ToolError("--erase-slot: \"both\" is not a slot: use a or b")) {
            try FlashRequest(resetState: false, slot: nil, bundle: nil, unchecked: false, eraseSlots: ["both"], prefer: nil)
        }
        #expect(throws: ToolError("--prefer: \"x\" is not a slot: use a, b or none")) {
            try FlashRequest(resetState: false, slot: nil, bundle: nil, unchecked: false, eraseSlots: [], prefer: "x")
        }
        #expect(throws: ToolError("--slot a: name the bundle to write after the image: bulkhead flash IMAGE --slot a BUNDLE")) {
            try FlashRequest(resetState: false, slot: "a", bundle: nil, unchecked: false, eraseSlots: [], prefer: nil)
        }
        #expect(throws: ToolError("x.bin: say which slot the bundle goes in: bulkhead flash IMAGE --slot a|b x.bin")) {
            try FlashRequest(resetState: false, slot: nil, bundle: "x.bin", unchecked: false, eraseSlots: [], prefer: nil)
        }
        #expect(throws: ToolError("--unchecked only applies to writing a bundle (--slot a|b BUNDLE)")) {
            try FlashRequest(resetState: false, slot: nil, bundle: nil, unchecked: true, eraseSlots: [], prefer: nil)
        }
    }

    @Test func entryStubIsWrittenAndRepaired() throws {
        let s = try FlashSetup()
        defer { s.ws.remove() }
        try s.flash(FlashRequest(resetState: true))
        var flash = try s.load()
        // auipc t0, 0x5e200; jalr x0, 0(t0): from 0x22000000 to 0x80200000, little-endian.
        #expect(Array(flash.bytes(in: s.layout.entryStub).prefix(8)) == [0x97, 0x02, 0x20, 0x5E, 0x67, 0x80, 0x02, 0x00])
        #expect(flash.bytes(in: s.layout.entryStub).dropFirst(8).allSatisfy { $0 == 0xFF })
        #expect(try s.info().line("entry stub:") == "entry stub: jump to 0x80200000")

        let erased = flash.erase(blockAt: s.layout.entryStub.offset)
        #expect(erased)
        try flash.save(path: s.image)
        #expect(try s.info().line("entry stub:")
                == "entry stub: erased (QEMU would start nothing here: `bulkhead flash` on the image writes it)")
        flash.bytes[s.layout.entryStub.offset + 100] = 0
        try flash.save(path: s.image)
        #expect(try s.info().line("entry stub:") == "entry stub: not the jump to 0x80200000 (`bulkhead flash` on the image rewrites it)")
        #expect(try s.flash(FlashRequest(prefer: .set(.b))) == """
            \(s.image): entry stub: rewritten (it did not hold the jump to 0x80200000)
            \(s.image): preferred slot: B (wrote state copy A, sequence 1)
            """)
        #expect(try s.info().line("entry stub:") == "entry stub: jump to 0x80200000")
        // Once it is right, it is left alone.
        #expect(try s.flash(FlashRequest(prefer: .set(.a))) == "\(s.image): preferred slot: A (wrote state copy B, sequence 2)")
    }

    @Test func layoutDescription() {
        #expect(flashLayoutDescription(.qemuVirt) == "32 MiB in 256 KiB erase blocks: an entry stub at 0x0 (256 KiB), a jump to "
                + "the hypervisor at 0x80200000, slot A at 0x40000 (12 MiB), slot B at 0xc40000 (12 MiB), update record copy A at "
                + "0x1840000 (256 KiB), update record copy B at 0x1880000 (256 KiB), 5 partition-update image slots at 0x18c0000 "
                + "(5 MiB), keystore copy A at "
                + "0x1e40000 (256 KiB), keystore copy B at 0x1e80000 (256 KiB), the device secret "
                + "at 0x1f40000 (256 KiB), state copy A at 0x1f80000 (256 KiB), state copy B at 0x1fc0000 (256 KiB); the "
                + "rest is reserved and stays erased")
    }

    @Test func theBoardDataNamesTheFlash() throws {
        #expect(try BoardOptions().resolve().data.bundleFlash == .qemuVirt)
    }
}
