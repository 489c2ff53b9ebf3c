// The bench guest's embedded Ed25519 vector (Guests/bench/Ed25519Vector.swift) still verifies, with Core and swift-crypto.
import Crypto
import Foundation
import Testing
@testable import BulkheadCore

@Suite("bench guest Ed25519 vector")
struct BenchVectorTests {
    static let source: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let file = root.appendingPathComponent("Guests/bench/Ed25519Vector.swift")
        return (try? String(contentsOf: file, encoding: .utf8)) ?? ""
    }()

    /// The bytes of the array literal that follows `let name: InlineArray<N, UInt8> = [`.
    static func bytes(named name: String) -> [UInt8] {
        guard let start = source.range(of: "let \(name): InlineArray<"),
              let open = source.range(of: "= [", range: start.upperBound..<source.endIndex),
              let close = source.range(of: "]", range: open.upperBound..<source.endIndex) else { return [] }
        return source[open.upperBound..<close.lowerBound]
            .split(whereSeparator: { $0 == "," || $0.isWhitespace })
            .compactMap { UInt8($0.dropFirst(2), radix: 16) }
    }

    /// The message as the guest builds it; the test also checks the guest still uses this formula.
    static let message: [UInt8] = (0..<1024).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }

    @Test("the source holds the key, the signature and the message formula this test expects")
    func sourceShape() {
        #expect(Self.bytes(named: "benchPublicKey").count == 32)
        #expect(Self.bytes(named: "benchSignature").count == 64)
        #expect(Self.source.contains("let benchMessageSize = 1024"))
        #expect(Self.source.contains("UInt8(truncatingIfNeeded: i &* 37 &+ 11)"))
    }

    @Test("the key is the seed 00..1f's, and the signature verifies with Core and swift-crypto")
    func verifies() throws {
        let key = Self.bytes(named: "benchPublicKey")
        let signature = Self.bytes(named: "benchSignature")
        let seed = (0..<32).map { UInt8($0) }
        let secret = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
        #expect(Array(secret.publicKey.rawRepresentation) == key)
        #expect(ed25519Verify(signature: signature, message: Self.message, key: key))
        let theirs = try Curve25519.Signing.PublicKey(rawRepresentation: key)
        #expect(theirs.isValidSignature(signature, for: Self.message))
        // And it is a real check: one flipped message bit fails.
        var altered = Self.message
        altered[500] ^= 1
        #expect(!ed25519Verify(signature: signature, message: altered, key: key))
    }
}
