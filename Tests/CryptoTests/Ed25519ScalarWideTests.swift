// Scalar edge cases for the byte-at-a-time reduction mod L and for NAF widths other than 5, against the big-integer oracle.
import Testing
@testable import BulkheadCore

@Suite("Ed25519 scalars: wide reduction and NAF widths")
struct Ed25519ScalarWideTests {
    static func reduced(_ v: Ed25519BigNumber) -> [UInt8] {
        ed25519Bytes(Scalar25519(reducingWide: Ed25519ScalarTests.wide(v.littleEndian(count: 64))).words)
    }

    @Test("reduction mod L near multiples of L, where the quotient estimate overshoots and L is added back")
    func nearMultiples() {
        let order = Ed25519BigNumber.order
        var rng = Ed25519TestRandom(state: 11)
        var inputs: [Ed25519BigNumber] = []
        // m·L - 1, m·L, m·L + 1 for small and large m (m·L below 2^512).
        for _ in 0..<60 {
            let m = Ed25519BigNumber(littleEndian: rng.bytes(1 + rng.below(32)))
            let ml = m * order
            guard ml.bitCount <= 512, ml.bitCount > 0 else { continue }
            inputs += [ml - Ed25519BigNumber(1), ml, ml + Ed25519BigNumber(1)]
        }
        // (L - 1)·2^(8j) and 2^(252 + 8j) - 1: remainders whose top byte sits just below or at 2^252.
        for j in 0..<32 {
            inputs.append((order - Ed25519BigNumber(1)) * Ed25519BigNumber.power2(8 * j))
            inputs.append(Ed25519BigNumber.power2(252 + 8 * j) - Ed25519BigNumber(1))
        }
        for v in inputs where v.bitCount <= 512 {
            #expect(Self.reduced(v) == v.mod(order).littleEndian(count: 32), "input \(v)")
        }
    }

    @Test("reduction mod L on random 512-bit inputs with random runs of 0x00 and 0xff bytes")
    func randomRuns() {
        let order = Ed25519BigNumber.order
        var rng = Ed25519TestRandom(state: 12)
        for _ in 0..<150 {
            var bytes = rng.bytes(64)
            let start = rng.below(64)
            let fill: UInt8 = rng.below(2) == 0 ? 0 : 0xff
            for i in start..<min(64, start + rng.below(40)) { bytes[i] = fill }
            let v = Ed25519BigNumber(littleEndian: bytes)
            #expect(Self.reduced(v) == v.mod(order).littleEndian(count: 32))
        }
    }

    @Test("width-w NAF for w = 2...7: odd digits below 2^(w-1), w - 1 zeros after each, sums back", arguments: 2...7)
    func nafWidths(width: Int) {
        var rng = Ed25519TestRandom(state: 13 &+ UInt64(width))
        let order = Ed25519BigNumber.order
        var scalars: [Ed25519BigNumber] = [order - Ed25519BigNumber(1), Ed25519BigNumber(digits: []), Ed25519BigNumber(1),
                                           Ed25519BigNumber(63), Ed25519BigNumber(64), Ed25519BigNumber.power2(252) - Ed25519BigNumber(1)]
        for _ in 0..<30 { scalars.append(Ed25519BigNumber(littleEndian: rng.bytes(64)).mod(order)) }
        let limit = 1 << (width - 1)
        for v in scalars {
            let s = Scalar25519(reducingWide: Ed25519ScalarTests.wide(v.littleEndian(count: 64)))
            let digits = s.nonAdjacentForm(width: width)
            var positive = Ed25519BigNumber(digits: [])
            var negative = Ed25519BigNumber(digits: [])
            var lastNonZero = -10
            for i in 0..<256 {
                let d = Int(digits[i])
                guard d != 0 else { continue }
                #expect(d % 2 != 0 && abs(d) < limit)
                #expect(i - lastNonZero >= width)
                #expect(i <= 253)
                lastNonZero = i
                let term = Ed25519BigNumber(UInt64(abs(d))) * Ed25519BigNumber.power2(i)
                if d > 0 { positive = positive + term } else { negative = negative + term }
            }
            #expect(positive - negative == v)
        }
    }
}
