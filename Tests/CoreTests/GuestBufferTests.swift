// GuestSlice -> GuestMemory.check -> GuestBuffer: a guest's claim becomes a buffer only inside its
// RAM, and copies in and out of the buffer never leave it.

import Foundation
import Testing
@testable import BulkheadCore

/// The buffer's bytes, as forEachChunk hands them over.
private func chunks(_ buffer: GuestBuffer) -> [UInt8] {
    var all: [UInt8] = []
    buffer.forEachChunk { all.append(contentsOf: $0) }
    return all
}

/// Every GuestAccess.copy call, while the recording hook below is installed.
private let recordLock = NSLock()
nonisolated(unsafe) private var recorded: [(guest: UInt64, host: UInt64, count: Int, toGuest: Bool)] = []

@Suite("GuestBuffer: checked guest memory")
struct GuestBufferTests {
    /// 64 bytes of real host memory standing in for a partition's RAM at guest 0x8000_0000.
    final class RAM {
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 8)
        init() { for i in 0..<64 { bytes[i] = UInt8(i) } }
        deinit { bytes.deallocate() }
        var memory: GuestMemory {
            GuestMemory(host: HostRegion(base: HostPhysAddr(UInt64(UInt(bitPattern: bytes.baseAddress!))), size: 64))
        }
    }

    @Test func aClaimInsideTheRAMBecomesABufferOverThoseBytes() throws {
        let ram = RAM()
        let buffer = try #require(ram.memory.check(GuestSlice(GuestPhysAddr(0x8000_0008), length: 16)))
        #expect(buffer.count == 16)
        #expect(chunks(buffer) == Array(8..<24).map(UInt8.init))
    }

    @Test func aClaimReachingOutsideTheRAMIsRefused() {
        let memory = RAM().memory
        #expect(memory.check(GuestSlice(GuestPhysAddr(0x8000_0030), length: 17)) == nil)       // one byte past the end
        #expect(memory.check(GuestSlice(GuestPhysAddr(0x7FFF_FFFF), length: 2)) == nil)        // one byte below
        #expect(memory.check(GuestSlice(GuestPhysAddr(0x8000_0000), length: UInt64.max)) == nil)
        #expect(memory.check(GuestSlice(GuestPhysAddr(UInt64.max), length: 1)) == nil)
        #expect(memory.check(GuestSlice(GuestPhysAddr(0x8000_0030), length: 16)) != nil)       // ends exactly at the end
    }

    @Test func copiesStayInsideTheBuffer() throws {
        let ram = RAM()
        let buffer = try #require(ram.memory.check(GuestSlice(GuestPhysAddr(0x8000_0010), length: 8)))
        var out = [UInt8](repeating: 0, count: 4)
        #expect(out.withUnsafeMutableBytes { buffer.copyIn(to: $0, from: 4) })
        #expect(out == [20, 21, 22, 23])
        #expect(!out.withUnsafeMutableBytes { buffer.copyIn(to: $0, from: 5) })                // would read past the end
        #expect(!out.withUnsafeMutableBytes { buffer.copyIn(to: $0, from: -1) })
        #expect([UInt8]([0xAA, 0xBB]).withUnsafeBytes { buffer.copyOut(from: $0, at: 6) })
        #expect(ram.bytes[0x16] == 0xAA && ram.bytes[0x17] == 0xBB)
        #expect(![UInt8]([1, 2, 3]).withUnsafeBytes { buffer.copyOut(from: $0, at: 6) })               // would write past the end
        #expect(ram.bytes[0x18] == 0x18)                                                        // the next byte untouched
    }

    @Test func loadsAreLittleEndianAndBounded() throws {
        let ram = RAM()
        let buffer = try #require(ram.memory.check(GuestSlice(GuestPhysAddr(0x8000_0000), length: 10)))
        #expect(buffer.load(UInt16.self, at: 2) == 0x0302)
        #expect(buffer.load(UInt64.self, at: 2) == 0x0908_0706_0504_0302)
        #expect(buffer.load(UInt64.self, at: 3) == nil)
        #expect(buffer.load(UInt8.self, at: 10) == nil)
    }

    @Test func forEachChunkHandsOverTheWholeBufferInPiecesOfAtMost256Bytes() throws {
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: 600, alignment: 8)
        defer { bytes.deallocate() }
        for i in 0..<600 { bytes[i] = UInt8(truncatingIfNeeded: i &* 7) }
        let memory = GuestMemory(host: HostRegion(base: HostPhysAddr(UInt64(UInt(bitPattern: bytes.baseAddress!))), size: 600))
        let buffer = try #require(memory.check(GuestSlice(GuestPhysAddr(0x8000_0001), length: 599)))
        var sizes: [Int] = []
        var all: [UInt8] = []
        buffer.forEachChunk { sizes.append($0.count); all.append(contentsOf: $0) }
        #expect(sizes == [256, 256, 87])
        #expect(all == Array(bytes[1..<600]))
    }

    /// The kernel moves guest bytes with HLV/HSV by guest-physical address: the hook gets the
    /// guest address (and the host one) of exactly the bytes asked for, in the right direction.
    @Test func copiesGoThroughTheGuestAccessHookWithGuestAddresses() throws {
        let ram = RAM()
        let host = UInt64(UInt(bitPattern: ram.bytes.baseAddress!))
        let buffer = try #require(ram.memory.check(GuestSlice(GuestPhysAddr(0x8000_0010), length: 16)))
        GuestAccess.copy = { hypervisor, guest, host, count, toGuest in
            recordLock.withLock { recorded.append((guest, host, count, toGuest)) }
            let memory = UnsafeMutableRawPointer(bitPattern: UInt(host))!      // as the default does
            if toGuest { memory.copyMemory(from: hypervisor, byteCount: count) } else { hypervisor.copyMemory(from: memory, byteCount: count) }
        }
        defer { GuestAccess.copy = nil }
        var four = [UInt8](repeating: 0, count: 4)
        #expect(four.withUnsafeMutableBytes { buffer.copyIn(to: $0, from: 2) })
        #expect([UInt8]([9, 9]).withUnsafeBytes { buffer.copyOut(from: $0, at: 5) })
        let mine = recordLock.withLock { recorded.filter { $0.host >= host && $0.host < host + 64 } }
        #expect(mine.count == 2)
        #expect(mine.first.map { $0.guest == 0x8000_0012 && $0.host == host + 0x12 && $0.count == 4 && !$0.toGuest } == true)
        #expect(mine.last.map { $0.guest == 0x8000_0015 && $0.host == host + 0x15 && $0.count == 2 && $0.toGuest } == true)
        #expect(four == [0x12, 0x13, 0x14, 0x15] && ram.bytes[0x15] == 9 && ram.bytes[0x16] == 9)
    }

    @Test func anEmptyClaimAtTheEndOfRAMIsAnEmptyBuffer() throws {
        let ram = RAM()
        let buffer = try #require(ram.memory.check(GuestSlice(GuestPhysAddr(0x8000_0040), length: 0)))
        #expect(buffer.count == 0)
        var none = [UInt8]()
        #expect(none.withUnsafeMutableBytes { buffer.copyIn(to: $0) })
        #expect(buffer.load(UInt8.self, at: 0) == nil)
    }
}
