// The limits are spelled once in Core (Limits.swift); the C layer's copies in layout.h and the
// per-partition and per-hart table types must agree with them.

import Foundation
import Testing
@testable import BulkheadCore

/// The integer `#define`s of Kernel/Arch/RISCV64/include/layout.h.
private func layoutDefines() throws -> [String: Int] {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let text = try String(contentsOf: root.appendingPathComponent("Kernel/Arch/RISCV64/include/layout.h"), encoding: .utf8)
    var defines: [String: Int] = [:]
    for line in text.split(separator: "\n") {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard words.count >= 3, words[0] == "#define" else { continue }
        let value = String(words[2])
        if let number = value.hasPrefix("0x") ? Int(value.dropFirst(2), radix: 16) : Int(value) {
            defines[String(words[1])] = number
        }
    }
    return defines
}

@Suite("Limits: spelled once")
struct LimitsTests {
    @Test func theCLayerAgrees() throws {
        let defines = try layoutDefines()
        #expect(defines["BH_MAX_HARTS"] == Limits.harts)
        #expect(defines["BH_MAX_PARTITIONS"] == Limits.partitions)
    }

    @Test func theTableTypesHaveOneEntryPerPartitionAndHart() {
        #expect(PerPartition<UInt8>(repeating: 0).count == Limits.partitions)
        #expect(PerHart<UInt8>(repeating: 0).count == Limits.harts)
        #expect(PlanLimits.maxPartitions == Limits.partitions)
        #expect(PlanLimits.maxHartsPerPartition <= Limits.harts)
    }

    @Test func hartMasksFitInTheirWords() {
        // Hart and partition masks are UInt8/UInt64 bit sets in the kernel and the console.
        #expect(Limits.harts <= 8 && Limits.partitions <= 8)
    }
}
