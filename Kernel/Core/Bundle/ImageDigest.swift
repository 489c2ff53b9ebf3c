// Image digests of bundle format 4: SHA-512 over the SHA-512 of each 256 KiB chunk, so every hart can hash chunks.
//
// digest(image) = SHA-512(SHA-512(chunk 0) || SHA-512(chunk 1) || ... ), chunk i being bytes
// 256 KiB·i ..< min(256 KiB·(i+1), length); an empty image has no chunk (the digest is SHA-512 of
// nothing). docs/bundle-format.md specifies it; the CLI computes the same with swift-crypto. The
// chunks are independent, so the hypervisor hashes them on all its harts at boot (`runner`), and
// in rounds of `roundSize` chunks so its memory use does not grow with the image.

/// Up to `capacity` payloads (images, initrds) whose chunks are numbered one after the other.
public struct ChunkedPayloads: Sendable {
    public static let chunkSize = 0x4_0000
    public static let capacity = 16

    var bases = InlineArray<16, UInt>(repeating: 0)
    var lengths = InlineArray<16, Int>(repeating: 0)
    /// firstChunk[k] = the number of the payload k's first chunk; firstChunk[count] = totalChunks.
    var firstChunk = InlineArray<17, Int>(repeating: 0)
    public private(set) var count = 0

    public init() {}

    public var totalChunks: Int { firstChunk[count] }

    /// Adds `payload`; false when `capacity` payloads are already there.
    public mutating func append(_ payload: UnsafeRawBufferPointer) -> Bool {
        guard count < Self.capacity else { return false }
        bases[count] = UInt(bitPattern: payload.baseAddress)
        lengths[count] = payload.count
        firstChunk[count + 1] = firstChunk[count] + (payload.count + Self.chunkSize - 1) / Self.chunkSize
        count += 1
        return true
    }

    /// The payload chunk `index` belongs to (index < totalChunks).
    public func payload(ofChunk index: Int) -> Int {
        var k = 0
        while k + 1 < count && firstChunk[k + 1] <= index { k += 1 }
        return k
    }

    /// SHA-512 of chunk `index` (index < totalChunks).
    public func hashChunk(_ index: Int) -> SHA512Digest {
        let k = payload(ofChunk: index)
        let offset = (index - firstChunk[k]) * Self.chunkSize
        let length = min(Self.chunkSize, lengths[k] - offset)
        return SHA512.hash(UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: bases[k] &+ UInt(offset)), count: length))
    }
}

public enum ImageDigest {
    /// Hashes chunks `first ..< first + count` of the ChunkedPayloads at `payloads` into the
    /// SHA512Digest array at `out` (digest of chunk first + i at out[i]).
    public typealias ChunkRunner = @convention(c) (UnsafeRawPointer, Int, Int, UnsafeMutableRawPointer) -> Void

    /// One the platform supplies to hash a round on several harts; nil (the default) hashes on
    /// the calling hart. Set once at boot.
    nonisolated(unsafe) public static var runner: ChunkRunner? = nil

    /// Chunks hashed per round (the round's digests are kept on the stack: 32 x 64 bytes).
    public static let roundSize = 32

    /// The digest of each payload, in order.
    public static func digests(of payloads: ChunkedPayloads) -> InlineArray<16, SHA512Digest> {
        var outer = InlineArray<16, SHA512>(repeating: SHA512())
        var round = InlineArray<32, SHA512Digest>(repeating: SHA512Digest(bytes: InlineArray(repeating: 0)))
        var first = 0
        while first < payloads.totalChunks {
            let n = min(roundSize, payloads.totalChunks - first)
            withUnsafePointer(to: payloads) { p in
                withUnsafeMutableBytes(of: &round) { out in
                    if let runner, let base = out.baseAddress {
                        runner(UnsafeRawPointer(p), first, n, base)
                    } else {
                        let digests = out.bindMemory(to: SHA512Digest.self)
                        var i = 0
                        while i < n { digests[i] = p.pointee.hashChunk(first + i); i += 1 }
                    }
                }
            }
            var i = 0
            while i < n {
                let k = payloads.payload(ofChunk: first + i)
                round[i].withBytes { outer[k].update($0) }
                i += 1
            }
            first += n
        }
        var result = InlineArray<16, SHA512Digest>(repeating: SHA512Digest(bytes: InlineArray(repeating: 0)))
        var k = 0
        while k < payloads.count {
            result[k] = outer[k].finalize()
            k += 1
        }
        return result
    }

    /// The digest of one payload.
    public static func digest(_ payload: UnsafeRawBufferPointer) -> SHA512Digest {
        var one = ChunkedPayloads()
        _ = one.append(payload)
        return digests(of: one)[0]
    }
}
