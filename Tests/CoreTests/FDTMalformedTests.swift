// Malformed DTBs: truncations, corrupted headers, bad tokens and strings, random damage.

import Foundation
import Testing
@testable import BulkheadCore

/// Reads everything a blob offers, through every accessor, ignoring FDTErrors (crashes are bugs).
func exerciseEverything(_ blob: [UInt8]) {
    blob.withUnsafeBytes { raw in
        _ = fdtError { _ = try HostDescription(dtb: raw) }
        _ = fdtError {
            let reader = try FDTReader(raw)
            for path: StaticString in ["/", "/cpus", "/chosen", "/memory", "/soc/serial", "serial0", "/cpus/cpu@0"] {
                _ = try? reader.findNode(path)
            }
            var index = 0
            while reader.reservation(at: index) != nil { index += 1 }
            var walker = reader.walk()
            while let node = try walker.next() {
                _ = try? reader.parent(of: node)
                _ = try? reader.regCount(of: node)
                _ = try? reader.reg(of: node, index: 0)
                _ = try? reader.translatedReg(of: node, index: 0)
                _ = try? reader.addressCells(of: node)
                _ = try? reader.isEnabled(node)
                _ = try? reader.isCompatible(node, with: "ns16550a")
                var children = reader.children(of: node)
                while (try? children.next()).flatMap({ $0 }) != nil {}
                var properties = reader.properties(of: node)
                while let property = try properties.next() {
                    _ = try? property.u32()
                    _ = try? property.u64()
                    _ = try? property.integer()
                    _ = try? property.cells(at: 0, count: 2)
                    _ = try? property.cell(at: property.cellCount)
                    _ = try? property.string()
                    if var list = try? property.strings() { while list.next() != nil {} }
                }
            }
        }
    }
}

@Suite("Malformed DTBs")
struct FDTMalformedTests {
    static func guestBlob() throws -> [UInt8] { try buildGuestTree(samplePartition()) }

    @Test(arguments: ["qemu-virt-smp4.dtb", "qemu-virt-noh.dtb", "guest"])
    func everyTruncationIsTruncated(_ name: String) throws {
        let blob = name == "guest" ? try Self.guestBlob() : try FDTFixtures.load(name)
        for length in 0..<blob.count {
            let error = Array(blob[0..<length]).withUnsafeBytes { raw in fdtError { _ = try FDTReader(raw) } }
            #expect(error == .truncated, "length \(length)")
        }
        // A longer buffer is fine: the blob is cut to totalsize.
        try withReader(blob + [0xFF, 0xFF, 0xFF, 0xFF]) { reader in #expect(reader.totalSize == blob.count) }
    }

    @Test func truncationWithMatchingTotalSize() throws {
        // Cut the blob and patch totalsize to agree: now the blocks stick out.
        let blob = try FDTFixtures.load("qemu-virt-smp4.dtb")
        let structEnd = Int(blob.header(Header.structOffset) + blob.header(Header.structSize))
        let stringsEnd = Int(blob.header(Header.stringsOffset) + blob.header(Header.stringsSize))
        #expect(structEnd <= stringsEnd)
        for length in 40..<blob.count {
            var cut = Array(blob[0..<length])
            cut.setHeader(Header.totalSize, UInt32(length))
            let error = cut.withUnsafeBytes { raw in fdtError { _ = try FDTReader(raw) } }
            let expected: FDTError = length < structEnd ? .badStructBlock : .badStringsBlock
            #expect(error == expected, "length \(length)")
        }
    }

    @Test func corruptedHeaderFields() throws {
        let good = try Self.guestBlob()
        func parse(_ patch: (inout [UInt8]) -> Void) -> FDTError? {
            var blob = good
            patch(&blob)
            return blob.withUnsafeBytes { raw in fdtError { _ = try FDTReader(raw) } }
        }
        #expect(parse { _ in } == nil)
        for byte in 0..<4 {
            #expect(parse { $0[byte] ^= 0x01 } == .badMagic)
        }
        #expect(parse { $0.setHeader(Header.magic, 0xedfe0dd0) } == .badMagic)   // little-endian
        #expect(parse { $0.setHeader(Header.totalSize, 0) } == .badTotalSize)
        #expect(parse { $0.setHeader(Header.totalSize, 39) } == .badTotalSize)
        #expect(parse { $0.setHeader(Header.totalSize, UInt32(good.count + 1)) } == .truncated)
        #expect(parse { $0.setHeader(Header.totalSize, 0xFFFF_FFFF) } == .truncated)
        #expect(parse { $0.setHeader(Header.version, 15) } == .unsupportedVersion)
        #expect(parse { $0.setHeader(Header.version, 1) } == .unsupportedVersion)
        #expect(parse { $0.setHeader(Header.lastCompatible, 18) } == .unsupportedVersion)
        #expect(parse { $0.setHeader(Header.structOffset, 0) } == .badStructBlock)
        #expect(parse { $0.setHeader(Header.structOffset, 58) } == .badStructBlock)      // misaligned
        #expect(parse { $0.setHeader(Header.structOffset, 0xFFFF_FFFC) } == .badStructBlock)
        #expect(parse { $0.setHeader(Header.structSize, 0xFFFF_FFFF) } == .badStructBlock)
        #expect(parse { $0.setHeader(Header.structSize, 0) } == .badStructBlock)
        #expect(parse { $0.setHeader(Header.stringsOffset, UInt32(good.count + 1)) } == .badStringsBlock)
        #expect(parse { $0.setHeader(Header.stringsOffset, 8) } == .badStringsBlock)     // inside the header
        #expect(parse { $0.setHeader(Header.stringsSize, 0xFFFF_FFFF) } == .badStringsBlock)
        #expect(parse { $0.setHeader(Header.stringsOffset, 56) } == .badStructBlock)     // overlaps struct
        #expect(parse { $0.setHeader(Header.reservationOffset, 44) } == .badReservationMap)  // misaligned
        #expect(parse { $0.setHeader(Header.reservationOffset, 0) } == .badReservationMap)   // the header
        #expect(parse { $0.setHeader(Header.reservationOffset, 0xFFFF_FFF8) } == .badReservationMap)
        #expect(parse { $0.setWord(1, at: 44) } == .badReservationMap)  // entry with no terminator before the struct
        // Struct block ending before FDT_END.
        #expect(parse { $0.setHeader(Header.structSize, $0.header(Header.structSize) - 4) } == .truncatedStructure)
        // Version 16 has no size_dt_struct: the struct block runs to the strings block.
        #expect(parse { $0.setHeader(Header.version, 16); $0.setHeader(Header.structSize, 0) } == nil)
    }

    @Test func badTokens() throws {
        let good = try Self.guestBlob()
        func parse(_ patch: (inout [UInt8]) -> Void) -> FDTError? {
            var blob = good
            patch(&blob)
            return blob.withUnsafeBytes { raw in fdtError { _ = try FDTReader(raw) } }
        }
        let first = Int(good.header(Header.structOffset))
        let endToken = first + Int(good.header(Header.structSize)) - 4
        #expect(good.word(at: first) == 1)
        #expect(good.word(at: endToken) == 9)
        for token: UInt32 in [0, 5, 6, 7, 8, 10, 0xFFFF_FFFF, 0x0100_0000] {
            #expect(parse { $0.setWord(token, at: first) } == .badToken, "\(token)")
            #expect(parse { $0.setWord(token, at: endToken) } == .badToken, "\(token)")
        }
        #expect(parse { $0.setWord(2, at: first) } == .badNesting)           // END_NODE first
        #expect(parse { $0.setWord(9, at: first) } == .badNesting)           // END with no root
        #expect(parse { $0.setWord(4, at: endToken) } == .truncatedStructure) // NOP instead of END
        #expect(parse { $0.setWord(2, at: endToken) } == .badNesting)        // extra END_NODE
        #expect(parse { $0.setWord(9, at: endToken - 4) } == .badNesting)    // END before the root closes
        // First property of the root: make its length run past the struct block.
        let prop = first + 8
        #expect(good.word(at: prop) == 3)
        #expect(parse { $0.setWord(0x7FFF_FFFF, at: prop + 4) } == .truncatedStructure)
        #expect(parse { $0.setWord(0xFFFF_FFFF, at: prop + 4) } == .truncatedStructure)
        #expect(parse { $0.setWord(good.header(Header.stringsSize), at: prop + 8) } == .badNameOffset)
        #expect(parse { $0.setWord(0xFFFF_FFFF, at: prop + 8) } == .badNameOffset)
    }

    @Test func handMadeStructures() throws {
        func parse(_ build: (inout RawBlob) -> Void) -> FDTError? {
            var raw = RawBlob()
            build(&raw)
            return raw.bytes.withUnsafeBytes { bytes in fdtError { _ = try FDTReader(bytes) } }
        }
        #expect(parse { $0.begin(""); $0.property("a", u32: 1); $0.end(); $0.finish() } == nil)
        #expect(parse { $0.nop(); $0.begin(""); $0.nop(); $0.property("a", u32: 1); $0.nop(); $0.end(); $0.nop(); $0.finish() } == nil)
        // A node name that runs to the end of the structure block.
        #expect(parse { $0.begin(""); $0.begin("runaway", terminated: false) } == .unterminatedString)
        // A property name with no NUL inside the strings block.
        #expect(parse {
            $0.strings = Array("abc".utf8)
            $0.begin(""); $0.property(nameOffset: 0, [1, 2, 3, 4]); $0.end(); $0.finish()
        } == .unterminatedString)
        #expect(parse {
            $0.strings = Array("abc\0".utf8)
            $0.begin(""); $0.property(nameOffset: 4, []); $0.end(); $0.finish()
        } == .badNameOffset)
        // Empty strings block: every name offset is bad.
        #expect(parse { $0.begin(""); $0.property(nameOffset: 0, []); $0.end(); $0.finish() } == .badNameOffset)
        #expect(parse { $0.begin(""); $0.end() } == .truncatedStructure)                 // no FDT_END
        #expect(parse { $0.begin(""); $0.end(); $0.end(); $0.finish() } == .badNesting)
        #expect(parse { $0.begin(""); $0.finish() } == .badNesting)
        #expect(parse { $0.begin(""); $0.end(); $0.begin(""); $0.end(); $0.finish() } == .badNesting)
        #expect(parse { $0.property("a", u32: 1); $0.begin(""); $0.end(); $0.finish() } == .badNesting)
        #expect(parse { $0.begin(""); $0.end(); $0.property("a", u32: 1); $0.finish() } == .badNesting)
        #expect(parse {
            $0.begin(""); $0.begin("child"); $0.end(); $0.property("late", u32: 1); $0.end(); $0.finish()
        } == .badNesting)
        #expect(parse { $0.finish() } == .badNesting)
        // Property header cut by the end of the block.
        #expect(parse { $0.begin(""); $0.word(3); $0.word(0) } == .truncatedStructure)
        // Nesting: 32 levels are accepted, 33 are not.
        func nested(_ levels: Int) -> FDTError? {
            parse { raw in
                for _ in 0..<levels { raw.begin(raw.structure.isEmpty ? "" : "n") }
                for _ in 0..<levels { raw.end() }
                raw.finish()
            }
        }
        #expect(nested(FDTReader.maxDepth) == nil)
        #expect(nested(FDTReader.maxDepth + 1) == .nestingTooDeep)
    }

    @Test func badValues() throws {
        var raw = RawBlob()
        raw.begin("")
        raw.property("#address-cells", u32: 3)
        raw.property("#size-cells", u32: 1)
        raw.property("unterminated", Array("abc".utf8))
        raw.property("short", [1, 2, 3])
        raw.begin("dev@0")
        raw.property("reg", [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
        raw.end()
        raw.begin("aliases")
        raw.property("relative", string: "dev@0")
        raw.property("broken", Array("/dev@0".utf8))
        raw.end()
        raw.begin("bus")
        raw.property("#address-cells", u32: 1)
        raw.property("#size-cells", u32: 1)
        raw.begin("odd")
        raw.property("reg", [0, 0, 0, 1, 0, 0])
        raw.end()
        raw.end()
        raw.end()
        raw.finish()
        try withReader(raw.bytes) { reader throws in
            let root = reader.root
            let unterminated = try reader.property("unterminated", in: root)
            #expect(fdtError { _ = try unterminated.string() } == .unterminatedString)
            #expect(fdtError { _ = try unterminated.strings() } == .unterminatedString)
            #expect(fdtError { _ = try unterminated.contains(string: "abc") } == .unterminatedString)
            #expect(!unterminated.equals(string: "abc"))
            let short = try reader.property("short", in: root)
            #expect(fdtError { _ = try short.u32() } == .badPropertyLength)
            #expect(fdtError { _ = try short.cells(at: 0, count: 1) } == .badPropertyLength)
            #expect(fdtError { _ = try short.cells(at: 0, count: 3) } == .unsupportedCellCount)
            #expect(fdtError { _ = try short.cells(at: -1, count: 1) } == .badPropertyLength)
            #expect(fdtError { _ = try short.cells(at: Int.max, count: 2) } == .badPropertyLength)
            #expect(fdtError { _ = try short.cell(at: Int.min) } == .indexOutOfRange)
            let device = try reader.node("/dev@0")
            #expect(fdtError { _ = try reader.reg(of: device) } == .unsupportedCellCount)
            #expect(fdtError { _ = try reader.findNode("relative") } == .badPath)
            #expect(fdtError { _ = try reader.findNode("broken") } == .unterminatedString)
            let odd = try reader.node("/bus/odd")
            #expect(fdtError { _ = try reader.reg(of: odd) } == .badPropertyLength)
            #expect(fdtError { _ = try reader.regCount(of: odd) } == .badPropertyLength)
            #expect(fdtError { _ = try reader.reg(of: try reader.node("/bus")) } == .propertyNotFound)
        }
        // The same damage seen through HostDescription: no /memory usable, so a typed error.
        #expect(fdtError { _ = try hostDescription(raw.bytes) } == .noMemory)
    }

    @Test func everyByteFlipIsHandled() throws {
        let blob = try Self.guestBlob()
        for index in 0..<blob.count {
            for mask: UInt8 in [0x01, 0x80, 0xFF] {
                var damaged = blob
                damaged[index] ^= mask
                exerciseEverything(damaged)
            }
        }
    }

    @Test func randomDamageIsHandled() throws {
        var generator = SplitMix64(seed: 0x5EED_F00D)
        for name in ["qemu-virt-smp4.dtb", "guest"] {
            let blob = name == "guest" ? try Self.guestBlob() : try FDTFixtures.load(name)
            for _ in 0..<300 {
                var damaged = blob
                for _ in 0..<Int.random(in: 1...8, using: &generator) {
                    let index = Int.random(in: 0..<damaged.count, using: &generator)
                    switch Int.random(in: 0..<3, using: &generator) {
                    case 0: damaged[index] = UInt8.random(in: 0...255, using: &generator)
                    case 1: damaged[index & ~3 ..< min(damaged.count, (index & ~3) + 4)].withUnsafeMutableBufferPointer {
                        for i in $0.indices { $0[i] = [0, 0, 0, 2][i % 4] }    // drop an END_NODE in
                    }
                    default: damaged[index] = 0
                    }
                }
                exerciseEverything(damaged)
            }
        }
    }
}

/// A small seeded generator (SplitMix64) so random tests and the fake flash are repeatable.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
