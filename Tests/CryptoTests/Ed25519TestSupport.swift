// Ed25519 test helpers: byte-array adapters for the verifier and a tiny big-integer oracle.
@testable import BulkheadCore

/// Ed25519.verify on byte arrays; a key that does not decode counts as a failed verification.
func ed25519Verify(signature: [UInt8], message: [UInt8], key: [UInt8]) -> Bool {
    guard let publicKey = ed25519Key(key) else { return false }
    return signature.withUnsafeBytes { s in
        message.withUnsafeBytes { m in Ed25519.verify(signature: s, message: m, publicKey: publicKey) }
    }
}

func ed25519Key(_ bytes: [UInt8]) -> Ed25519PublicKey? {
    bytes.withUnsafeBytes { Ed25519PublicKey(bytes: $0) }
}

/// Four little-endian words of a 32-byte array.
func ed25519Words(_ bytes: [UInt8]) -> (UInt64, UInt64, UInt64, UInt64) {
    precondition(bytes.count == 32)
    var w: [UInt64] = [0, 0, 0, 0]
    for i in 0..<32 { w[i / 8] |= UInt64(bytes[i]) << (8 * UInt64(i % 8)) }
    return (w[0], w[1], w[2], w[3])
}

func ed25519Bytes(_ w: (UInt64, UInt64, UInt64, UInt64)) -> [UInt8] {
    let ws = [w.0, w.1, w.2, w.3]
    return (0..<32).map { UInt8(truncatingIfNeeded: ws[$0 / 8] >> (8 * UInt64($0 % 8))) }
}

/// A deterministic generator (SplitMix64) so that failures reproduce.
struct Ed25519TestRandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) } }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// Arbitrary-precision unsigned integer, little-endian base-2^32 digits: an oracle that shares
/// no code or representation with Field25519/Scalar25519.
struct Ed25519BigNumber: Equatable, CustomStringConvertible {
    var digits: [UInt64]  // each < 2^32, no trailing zeros

    init(digits: [UInt64]) {
        self.digits = digits
        while let last = self.digits.last, last == 0 { self.digits.removeLast() }
    }

    init(_ v: UInt64) { self.init(digits: [v & 0xffff_ffff, v >> 32]) }

    /// From little-endian bytes.
    init(littleEndian bytes: [UInt8]) {
        var d = [UInt64](repeating: 0, count: (bytes.count + 3) / 4)
        for (i, b) in bytes.enumerated() { d[i / 4] |= UInt64(b) << (8 * UInt64(i % 4)) }
        self.init(digits: d)
    }

    func littleEndian(count: Int) -> [UInt8] {
        (0..<count).map { i in
            let d = i / 4 < digits.count ? digits[i / 4] : 0
            return UInt8(truncatingIfNeeded: d >> (8 * UInt64(i % 4)))
        }
    }

    var description: String {
        let b = littleEndian(count: max(1, digits.count * 4))
        return b.reversed().map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    var bitCount: Int {
        guard let top = digits.last else { return 0 }
        return (digits.count - 1) * 32 + (64 - top.leadingZeroBitCount)
    }

    func bit(_ i: Int) -> Bool { i / 32 < digits.count && (digits[i / 32] >> UInt64(i % 32)) & 1 == 1 }

    static func + (a: Ed25519BigNumber, b: Ed25519BigNumber) -> Ed25519BigNumber {
        var out: [UInt64] = []
        var carry: UInt64 = 0
        for i in 0..<max(a.digits.count, b.digits.count) {
            let s = (i < a.digits.count ? a.digits[i] : 0) + (i < b.digits.count ? b.digits[i] : 0) + carry
            out.append(s & 0xffff_ffff)
            carry = s >> 32
        }
        out.append(carry)
        return Ed25519BigNumber(digits: out)
    }

    /// a - b for a ≥ b.
    static func - (a: Ed25519BigNumber, b: Ed25519BigNumber) -> Ed25519BigNumber {
        precondition(a >= b)
        var out: [UInt64] = []
        var borrow: Int64 = 0
        for i in 0..<a.digits.count {
            var s = Int64(a.digits[i]) - Int64(i < b.digits.count ? b.digits[i] : 0) - borrow
            borrow = s < 0 ? 1 : 0
            if s < 0 { s += 1 << 32 }
            out.append(UInt64(s))
        }
        return Ed25519BigNumber(digits: out)
    }

    static func * (a: Ed25519BigNumber, b: Ed25519BigNumber) -> Ed25519BigNumber {
        var out = [UInt64](repeating: 0, count: a.digits.count + b.digits.count + 1)
        for i in 0..<a.digits.count {
            var carry: UInt64 = 0
            for j in 0..<b.digits.count {
                let t = out[i + j] + a.digits[i] * b.digits[j] + carry
                out[i + j] = t & 0xffff_ffff
                carry = t >> 32
            }
            var k = i + b.digits.count
            while carry != 0 {
                let t = out[k] + carry
                out[k] = t & 0xffff_ffff
                carry = t >> 32
                k += 1
            }
        }
        return Ed25519BigNumber(digits: out)
    }

    static func >= (a: Ed25519BigNumber, b: Ed25519BigNumber) -> Bool {
        if a.digits.count != b.digits.count { return a.digits.count > b.digits.count }
        for i in stride(from: a.digits.count - 1, through: 0, by: -1) where a.digits[i] != b.digits[i] {
            return a.digits[i] > b.digits[i]
        }
        return true
    }

    static func < (a: Ed25519BigNumber, b: Ed25519BigNumber) -> Bool { !(a >= b) }

    /// self mod m, by binary long division.
    func mod(_ m: Ed25519BigNumber) -> Ed25519BigNumber {
        var r = Ed25519BigNumber(digits: [])
        for i in stride(from: bitCount - 1, through: 0, by: -1) {
            r = r + r + (bit(i) ? Ed25519BigNumber(1) : Ed25519BigNumber(digits: []))
            if r >= m { r = r - m }
        }
        return r
    }

    /// 2^n.
    static func power2(_ n: Int) -> Ed25519BigNumber {
        var d = [UInt64](repeating: 0, count: n / 32 + 1)
        d[n / 32] = 1 << UInt64(n % 32)
        return Ed25519BigNumber(digits: d)
    }

    static let p = power2(255) - Ed25519BigNumber(19)
    static let order = power2(252) + Ed25519BigNumber(littleEndian: hexBytes("14def9dea2f79cd65812631a5cf5d3ed").reversed())
}

extension Field25519 {
    /// The value of the limbs, not reduced.
    var bigValue: Ed25519BigNumber {
        Ed25519BigNumber(l0) + Ed25519BigNumber(l1) * Ed25519BigNumber.power2(51) + Ed25519BigNumber(l2) * Ed25519BigNumber.power2(102)
            + Ed25519BigNumber(l3) * Ed25519BigNumber.power2(153) + Ed25519BigNumber(l4) * Ed25519BigNumber.power2(204)
    }

    /// The canonical value, via canonicalWords().
    var canonicalValue: Ed25519BigNumber { Ed25519BigNumber(littleEndian: ed25519Bytes(canonicalWords())) }
}
