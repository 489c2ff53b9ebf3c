// Uncarried (loose) field values: products and squares of limbs up to 2^53 - 1, and the uncarried sums and differences, against the oracle.
import Testing
@testable import BulkheadCore

@Suite("Ed25519 field: loose inputs (lazy reduction)")
struct Ed25519LooseFieldTests {
    static let looseMax: UInt64 = (1 << 53) - 1

    /// Limbs anywhere below 2^53, with a share of extremes (0, 2^51 - 1, 2^52, 2^53 - 1).
    static func randomLoose(_ rng: inout Ed25519TestRandom) -> Field25519 {
        func limb(_ rng: inout Ed25519TestRandom) -> UInt64 {
            switch rng.below(7) {
            case 0: return 0
            case 1: return (1 << 51) - 1
            case 2: return 1 << 52
            case 3: return looseMax
            default: return rng.next() % (looseMax + 1)
            }
        }
        return Field25519(limb(&rng), limb(&rng), limb(&rng), limb(&rng), limb(&rng))
    }

    @Test("multiply and square accept limbs below 2^53 and return bounded limbs")
    func looseProducts() {
        var rng = Ed25519TestRandom(state: 21)
        let p = Ed25519BigNumber.p
        var cases: [(Field25519, Field25519)] = []
        let top = Field25519(Self.looseMax, Self.looseMax, Self.looseMax, Self.looseMax, Self.looseMax)
        cases.append((top, top))
        for _ in 0..<200 { cases.append((Self.randomLoose(&rng), Self.randomLoose(&rng))) }
        for (a, b) in cases {
            let product = a.loose * b.loose
            #expect(Ed25519FieldTests.isBounded(product))
            #expect(product.canonicalValue == (a.bigValue * b.bigValue).mod(p))
            let square = a.loose.squaredInline()
            #expect(Ed25519FieldTests.isBounded(square))
            #expect(square.canonicalValue == (a.bigValue * a.bigValue).mod(p))
            #expect(a.squared().canonicalValue == square.canonicalValue)
        }
    }

    @Test("uncarried sums and differences of bounded values: right value, limbs below 2^53")
    func uncarriedSums() {
        var rng = Ed25519TestRandom(state: 22)
        let p = Ed25519BigNumber.p
        let maxBounded = Field25519(Ed25519FieldTests.maxLimb, Ed25519FieldTests.maxLimb, Ed25519FieldTests.maxLimb,
                                    Ed25519FieldTests.maxLimb, Ed25519FieldTests.maxLimb)
        var cases: [(Field25519, Field25519, Field25519)] = [(maxBounded, maxBounded, maxBounded), (.zero, maxBounded, maxBounded)]
        for _ in 0..<200 {
            cases.append((Ed25519FieldTests.randomElement(&rng), Ed25519FieldTests.randomElement(&rng),
                          Ed25519FieldTests.randomElement(&rng)))
        }
        func isLoose(_ f: LooseField25519) -> Bool {
            [f.value.l0, f.value.l1, f.value.l2, f.value.l3, f.value.l4].allSatisfy { $0 <= Self.looseMax }
        }
        for (a, b, c) in cases {
            let sum = a.plusUncarried(b)
            let sum3 = a.plusUncarried(b, c)
            let difference = a.minusUncarried(b)
            #expect(isLoose(sum) && isLoose(sum3) && isLoose(difference))
            #expect(sum.value.bigValue.mod(p) == (a.bigValue + b.bigValue).mod(p))
            #expect(sum3.value.bigValue.mod(p) == (a.bigValue + b.bigValue + c.bigValue).mod(p))
            #expect(difference.value.bigValue.mod(p) == (a.bigValue + p + p + p - b.bigValue).mod(p))
            // And they multiply correctly (the way the point formulas use them).
            #expect((sum * difference.value.loose).canonicalValue == (sum.value.bigValue * difference.value.bigValue).mod(p))
        }
    }
}
