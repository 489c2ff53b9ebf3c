// GuestSlice -> GuestMemory.check -> GuestBuffer: a guest's claim becomes a buffer only inside its
// RAM, and copies in and out of the buffer never leave it.

import Testing
@testable import BulkheadCore

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
        #expect(buffer.withBytes { Array($0) } == Array(8..<24).map(UInt8.init))
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

    @Test func anEmptyClaimAtTheEndOfRAMIsAnEmptyBuffer() throws {
        let ram = RAM()
        let buffer = try #require(ram.memory.check(GuestSlice(GuestPhysAddr(0x8000_0040), length: 0)))
        #expect(buffer.count == 0)
        var none = [UInt8]()
        #expect(none.withUnsafeMutableBytes { buffer.copyIn(to: $0) })
        #expect(buffer.load(UInt8.self, at: 0) == nil)
    }
}
