// GuestMemory.hostAddress(of:length:): a guest range is translated only when every byte of it lies
// inside the partition's RAM.

import Testing
@testable import BulkheadCore

@Suite("GuestMemory: hostAddress(of:length:)")
struct GuestMemoryTests {
    /// Guest [0x8000_0000, 0x8001_0000) maps to host [0x9000_0000, 0x9001_0000).
    let memory = GuestMemory(host: HostRegion(base: HostPhysAddr(0x9000_0000), size: 0x1_0000))

    private func translate(_ address: UInt64, _ length: UInt64) -> UInt64? {
        memory.hostAddress(of: GuestPhysAddr(address), length: length)?.raw
    }

    @Test func defaultGuestBaseIsGuestRAMBase() {
        #expect(memory.guestBase == guestRAMBase)
        #expect(guestRAMBase == GuestPhysAddr(0x8000_0000))
    }

    @Test func inside() {
        #expect(translate(0x8000_0010, 16) == 0x9000_0010)
        #expect(translate(0x8000_8000, 0x100) == 0x9000_8000)
    }

    @Test func edges() {
        #expect(translate(0x8000_0000, 1) == 0x9000_0000)            // first byte
        #expect(translate(0x8000_0000, 0x1_0000) == 0x9000_0000)     // the whole RAM
        #expect(translate(0x8000_FFFF, 1) == 0x9000_FFFF)            // last byte
        #expect(translate(0x8000_FFF0, 0x10) == 0x9000_FFF0)         // ends exactly at the end
    }

    @Test func pastTheEnd() {
        #expect(translate(0x8000_0000, 0x1_0001) == nil)             // one byte too many
        #expect(translate(0x8000_FFFF, 2) == nil)                    // straddles the end
        #expect(translate(0x8000_FFF1, 0x10) == nil)
        #expect(translate(0x8001_0000, 1) == nil)                    // starts at the end
        #expect(translate(0x8002_0000, 0) == nil)                    // zero length, beyond the end
        #expect(translate(0x8001_0001, 0) == nil)
    }

    @Test func beforeTheBase() {
        #expect(translate(0x7FFF_FFFF, 1) == nil)
        #expect(translate(0x7FFF_FFFF, 2) == nil)                    // straddles the base
        #expect(translate(0x7FFF_F000, 0x2000) == nil)
        #expect(translate(0, 1) == nil)
        #expect(translate(0, 0) == nil)
    }

    @Test func lengthOverflow() {
        #expect(translate(0x8000_0010, UInt64.max) == nil)
        #expect(translate(0x8000_0010, UInt64.max - 0xF) == nil)     // address + length wraps to 0
        #expect(translate(0x8000_0010, UInt64.max - 0x7FFF_FFFF) == nil)
        #expect(translate(0x8000_0000, UInt64.max) == nil)
    }

    @Test func addressOverflow() {
        #expect(translate(UInt64.max, 1) == nil)
        #expect(translate(UInt64.max, 0) == nil)
        #expect(translate(UInt64.max - 0xF, 0x20) == nil)
    }

    @Test func zeroLength() {
        #expect(translate(0x8000_0000, 0) == 0x9000_0000)
        #expect(translate(0x8000_1234, 0) == 0x9000_1234)
        // The empty range at the very end is still inside: it names no byte outside the RAM.
        #expect(translate(0x8001_0000, 0) == 0x9001_0000)
    }

    @Test func otherGuestBase() {
        let low = GuestMemory(guestBase: GuestPhysAddr(0x1000), host: HostRegion(base: HostPhysAddr(0x4000), size: 0x2000))
        #expect(low.hostAddress(of: GuestPhysAddr(0x1000), length: 0x2000) == HostPhysAddr(0x4000))
        #expect(low.hostAddress(of: GuestPhysAddr(0x2FFF), length: 1) == HostPhysAddr(0x5FFF))
        #expect(low.hostAddress(of: GuestPhysAddr(0xFFF), length: 1) == nil)
        #expect(low.hostAddress(of: GuestPhysAddr(0x3000), length: 1) == nil)
    }

    @Test func emptyRAM() {
        let none = GuestMemory(host: HostRegion(base: HostPhysAddr(0x9000_0000), size: 0))
        #expect(none.hostAddress(of: guestRAMBase, length: 1) == nil)
        #expect(none.hostAddress(of: guestRAMBase, length: 0) == HostPhysAddr(0x9000_0000))
        #expect(none.hostAddress(of: guestRAMBase.adding(1), length: 0) == nil)
    }

    @Test func hostRegionNearTheTopOfTheAddressSpace() {
        // The host side never wraps for accepted ranges: the largest offset is host.size.
        let top = GuestMemory(host: HostRegion(base: HostPhysAddr(0xFFFF_FFFF_FFFF_0000), size: 0x1_0000))
        #expect(top.hostAddress(of: GuestPhysAddr(0x8000_FFFF), length: 1) == HostPhysAddr(0xFFFF_FFFF_FFFF_FFFF))
        #expect(top.hostAddress(of: GuestPhysAddr(0x8000_FFFF), length: 2) == nil)
    }
}
