// Test support: page-table memory over a host array at made-up physical addresses.

import Testing
@testable import BulkheadCore

/// A fake `PageTableMemory`: a bump allocator over `capacity` bytes pretending to sit at
/// host-physical `base`. Any load or store outside what was allocated is recorded as a test issue.
struct FakeTableMemory: PageTableMemory {
    let base: UInt64
    let capacity: UInt64
    /// Hands out blocks 8 bytes past the requested alignment (to test the builder's check).
    var misalign = false
    private(set) var words: [UInt64]
    private(set) var used: UInt64 = 0
    private(set) var allocations: [(base: HostPhysAddr, bytes: UInt64)] = []

    init(base: UInt64 = 0x8100_0000, capacity: UInt64 = 1 << 20) {
        self.base = base
        self.capacity = capacity
        self.words = Array(repeating: 0, count: Int(capacity / 8))
    }

    mutating func allocate(bytes: UInt64, alignment: UInt64) -> HostPhysAddr? {
        let start = (base + used + alignment - 1) / alignment * alignment + (misalign ? 8 : 0)
        guard start + bytes <= base + capacity else { return nil }
        used = start + bytes - base
        allocations.append((HostPhysAddr(start), bytes))
        for a in stride(from: start, to: start + bytes, by: 8) {
            #expect(words[index(a)] == 0, "fresh table memory must be zero")
        }
        return HostPhysAddr(start)
    }

    func load(_ at: HostPhysAddr) -> UInt64 {
        guard isAllocated(at) else {
            Issue.record("load outside table memory at \(String(at.raw, radix: 16))")
            return 0
        }
        return words[index(at.raw)]
    }

    mutating func store(_ value: UInt64, at: HostPhysAddr) {
        guard isAllocated(at) else {
            Issue.record("store outside table memory at \(String(at.raw, radix: 16))")
            return
        }
        words[index(at.raw)] = value
    }

    /// Overwrites an entry directly (to build corrupt or unusual tables in tests).
    mutating func poke(_ value: UInt64, at: HostPhysAddr) { words[index(at.raw)] = value }

    func isAllocated(_ at: HostPhysAddr) -> Bool {
        at.raw % 8 == 0 && allocations.contains { at.raw >= $0.base.raw && at.raw < $0.base.raw + $0.bytes }
    }

    private func index(_ address: UInt64) -> Int { Int((address - base) / 8) }
}

/// Every table page and leaf of a G-stage table, gathered with `forEachEntry`.
struct GStageContents {
    var tables: [(address: HostPhysAddr, level: Int)] = []
    var leaves: [(guest: GuestPhysAddr, pte: PTE, size: UInt64)] = []

    init<M: PageTableMemory>(_ table: GStageTable, _ memory: M) {
        var tables: [(address: HostPhysAddr, level: Int)] = []
        var leaves: [(guest: GuestPhysAddr, pte: PTE, size: UInt64)] = []
        table.forEachEntry(memory: memory,
                           table: { tables.append(($0, $1)) },
                           leaf: { leaves.append(($0, $1, $2)) })
        self.tables = tables
        self.leaves = leaves
    }

    var leafSizes: [UInt64] { leaves.map(\.size) }

    /// Host-physical byte ranges the tables themselves occupy.
    var tableRanges: [Range<UInt64>] {
        tables.map { $0.address.raw ..< $0.address.raw + ($0.level == 2 ? Sv39x4.rootSize : Sv39x4.tableSize) }
    }

    /// Host-physical ranges the leaves map.
    var mappedHostRanges: [Range<UInt64>] {
        leaves.map { $0.pte.address.raw ..< $0.pte.address.raw + $0.size }
    }
}

func pagingSpec(base: UInt64, size: UInt64) -> PartitionSpec {
    var s = PartitionSpec()
    s.memory = HostRegion(base: HostPhysAddr(base), size: size)
    return s
}
