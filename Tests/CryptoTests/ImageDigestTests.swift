// Chunked image digests (bundle format 4): Core's ImageDigest against the definition computed with swift-crypto.
@testable import BulkheadCore
import Crypto
import Foundation
import Testing

/// The definition, with swift-crypto: SHA-512 over the SHA-512 of each 256 KiB chunk.
private func reference(_ bytes: [UInt8]) -> [UInt8] {
    var outer = Crypto.SHA512()
    var offset = 0
    while offset < bytes.count {
        let end = min(offset + 0x4_0000, bytes.count)
        outer.update(data: Array(Crypto.SHA512.hash(data: bytes[offset..<end])))
        offset = end
    }
    return Array(outer.finalize())
}

private func core(_ bytes: [UInt8]) -> [UInt8] {
    bytes.withUnsafeBytes { ImageDigest.digest($0) }.withBytes { Array($0) }
}

/// Calls `body` with an installed runner that hashes each round's chunks backwards (as if other
/// harts finished first) and counts the chunks it hashed.
nonisolated(unsafe) private var runnerChunks = 0
private func withReversedRunner(_ body: () -> Void) {
    ImageDigest.runner = { payloads, first, count, out in
        let p = payloads.assumingMemoryBound(to: ChunkedPayloads.self)
        let digests = out.assumingMemoryBound(to: BulkheadCore.SHA512Digest.self)
        var i = count - 1
        while i >= 0 { digests[i] = p.pointee.hashChunk(first + i); runnerChunks += 1; i -= 1 }
    }
    defer { ImageDigest.runner = nil }
    body()
}

@Suite("Image digests (chunked SHA-512)", .serialized)
struct ImageDigestTests {
    static let sizes = [0, 1, 127, 128, 0x3_FFFF, 0x4_0000, 0x4_0001, 0x8_0000, 3 * 0x4_0000 + 77, 40 * 0x4_0000 + 5]

    @Test func matchesTheDefinitionAtChunkBoundaries() {
        for size in Self.sizes {
            let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
            #expect(core(bytes) == reference(bytes), "size \(size)")
        }
        // An empty image is SHA-512 of nothing; a one-chunk image is SHA-512 of its SHA-512.
        #expect(core([]) == Array(Crypto.SHA512.hash(data: [UInt8]())))
        let small: [UInt8] = [1, 2, 3]
        #expect(core(small) == Array(Crypto.SHA512.hash(data: Array(Crypto.SHA512.hash(data: small)))))
    }

    @Test func aRunnerOnOtherHartsGivesTheSameDigestsInRounds() {
        var images: [[UInt8]] = []
        for (k, size) in [0, 5, 0x4_0000 * 33 + 9, 100, 0x4_0000 * 2].enumerated() {
            images.append((0..<size).map { UInt8(truncatingIfNeeded: $0 ^ k) })
        }
        var payloads = ChunkedPayloads()
        let buffers = images.map { bytes -> UnsafeMutableRawBufferPointer in
            let b = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 8)
            b.copyBytes(from: bytes)
            return UnsafeMutableRawBufferPointer(rebasing: b[0..<bytes.count])
        }
        defer { buffers.forEach { UnsafeMutableRawBufferPointer(start: $0.baseAddress, count: 1).deallocate() } }
        for b in buffers { let added = payloads.append(UnsafeRawBufferPointer(b)); #expect(added) }
        #expect(payloads.totalChunks == 0 + 1 + 34 + 1 + 2)
        runnerChunks = 0
        var digests = InlineArray<16, BulkheadCore.SHA512Digest>(repeating: BulkheadCore.SHA512Digest(bytes: InlineArray(repeating: 0)))
        withReversedRunner { digests = ImageDigest.digests(of: payloads) }
        #expect(runnerChunks == 38)
        for k in images.indices { #expect(digests[k].withBytes { Array($0) } == reference(images[k]), "image \(k)") }
    }

    @Test func atMostSixteenPayloads() {
        var payloads = ChunkedPayloads()
        let byte: [UInt8] = [7]
        byte.withUnsafeBytes { b in
            for _ in 0..<16 { let added = payloads.append(b); #expect(added) }
            let seventeenth = payloads.append(b)
            #expect(!seventeenth)
        }
        #expect(payloads.count == 16 && payloads.totalChunks == 16)
        #expect(payloads.payload(ofChunk: 15) == 15)
    }
}
