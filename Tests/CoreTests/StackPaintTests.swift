// StackPaint: a painted stack's high-water mark.

import Testing
@testable import BulkheadCore

@Suite("Diagnostics: stack high-water marks from paint")
struct StackPaintTests {
    let paint: UInt64 = 0x5354_414B_5041_494E

    private func highWater(_ words: [UInt64]) -> Int {
        words.withUnsafeBytes { StackPaint.highWater($0, paint: paint) }
    }

    @Test func untouchedUsedAndOverflowed() {
        let p = paint
        #expect(highWater([p, p, p, p]) == 0)                       // never used
        #expect(highWater([p, p, 7, p]) == 16)                      // used down to word 2 (a painted word above counts as used)
        #expect(highWater([p, 0, 0, 0]) == 24)
        #expect(highWater([0, p, p, p]) == 32)                      // the lowest word written: wholly used, maybe overflowed
        #expect(highWater([]) == 0)
    }
}
