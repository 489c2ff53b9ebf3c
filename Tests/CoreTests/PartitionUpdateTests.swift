// Partition update format v1: writer/reader round trip, every truncation, every single-byte
// corruption of the header, signature, digests and payloads, and each verifier check (signer,
// partition, policy binding, floor, fit, digests), with Core's own SHA-512 and Ed25519.

import Testing
@testable import BulkheadCore

// MARK: - Fixtures

private func name(_ s: String) -> PartitionName { Array(s.utf8).withUnsafeBytes { PartitionName(bytes: $0)! } }

/// Core's image digest (chunked SHA-512, as in bundles) as bytes.
private func sha512(_ bytes: [UInt8]) -> [UInt8] {
    bytes.withUnsafeBytes { ImageDigest.digest($0) }.withBytes { Array($0) }
}

/// A signer with Core's Ed25519, its key id and its trust anchor.
private struct Signer {
    let key: Ed25519PrivateKey
    let anchor: TrustAnchor
    init(seed: UInt8) {
        let seedBytes = [UInt8](repeating: seed, count: 32)
        key = seedBytes.withUnsafeBytes { Ed25519PrivateKey(seed: $0)! }
        let k = key
        anchor = k.withPublicKeyBytes { TrustAnchor(publicKey: $0)! }
    }
    var keyID: SigningKeyID { anchor.keyID }
    func sign(_ message: [UInt8]) -> [UInt8] {
        message.withUnsafeBytes { key.sign(message: $0) }.withBytes { Array($0) }
    }
    var anchors: TrustAnchors { var a = TrustAnchors(); _ = a.add(anchor); return a }
}

private let vendor = Signer(seed: 7)

/// Two partitions ("alpha", "beta") joined by a queue; `change` edits the plan before packing.
private func bundle(images: [[UInt8]] = [[1, 2, 3, 4], [5, 6, 7, 8, 9]],
                    change: (inout PartitionPlan) -> Void = { _ in }) -> [UInt8] {
    var plan = PartitionPlan()
    for i in 0..<2 {
        var spec = PartitionSpec()
        spec.name = name(i == 0 ? "alpha" : "beta")
        _ = spec.harts.append(UInt32(i + 1))
        spec.memory = HostRegion(base: HostPhysAddr(0x8400_0000 + UInt64(i) * 0x100_0000), size: 0x100_0000)
        spec.entry = GuestPhysAddr(0x8000_0000)
        spec.imageSize = UInt64(images[i].count)
        _ = plan.append(spec)
    }
    var channel = ChannelSpec()
    channel.name = Array("pingpong".utf8).withUnsafeBytes { ChannelName(bytes: $0)! }
    channel.kind = .queue
    channel.endpoints[0] = 0
    channel.endpoints[1] = 1
    channel.depth = 4
    channel.messageSize = 64
    _ = plan.appendChannel(channel)
    change(&plan)
    return BundleWriter.encode(plan: plan, images: images, securityVersion: 3, keyID: vendor.keyID,
                               digest: sha512, sign: vendor.sign)
}

private let newImage: [UInt8] = (0..<21).map { UInt8($0 &* 3 &+ 1) }
private let newInitrd: [UInt8] = (0..<11).map { UInt8(0xA0 &+ $0) }

/// An update of partition `index` (named `partitionName`) of `installed`, bound to its policy.
private func update(for installed: [UInt8], index: Int = 1, partitionName: String = "beta", image: [UInt8] = newImage,
                    initrd: [UInt8] = newInitrd, entry: UInt64 = 0x8000_0000, version: UInt64 = 5,
                    signer: Signer = vendor, policyOf policyIndex: Int? = nil) -> [UInt8] {
    let policy = installed.withUnsafeBytes { raw in
        PartitionUpdateVerifier.policyDigest(bundle: try! BundleReader(bytes: raw), partition: policyIndex ?? index)
    }.withBytes { Array($0) }
    return PartitionUpdateWriter.encode(partition: index, name: name(partitionName), entry: GuestPhysAddr(entry), image: image,
                                        initrd: initrd, policyDigest: policy, securityVersion: version, keyID: signer.keyID,
                                        digest: sha512, sign: signer.sign)
}

/// The reader's and then the verifier's verdict: nil when accepted.
private func check(_ bytes: [UInt8], installed: [UInt8], anchors: TrustAnchors = vendor.anchors,
                   revoked: RevokedKeys = RevokedKeys(), floor: UInt64 = 0) -> PartitionUpdateError? {
    installed.withUnsafeBytes { rawBundle in
        let bundle = try! BundleReader(bytes: rawBundle)
        return bytes.withUnsafeBytes { raw -> PartitionUpdateError? in
            do throws(PartitionUpdateError) {
                let reader = try PartitionUpdateReader(bytes: raw)
                try PartitionUpdateVerifier.verify(update: reader, installed: bundle, trustAnchors: anchors, revoked: revoked,
                                                   floor: floor)
                return nil
            } catch {
                return error
            }
        }
    }
}

private func parse(_ bytes: [UInt8]) -> PartitionUpdateError? {
    bytes.withUnsafeBytes { raw in
        do throws(PartitionUpdateError) { _ = try PartitionUpdateReader(bytes: raw); return nil } catch { return error }
    }
}

// Layout of the sample update: header [0, 288), signature [288, 352), image [352, 373),
// padding [373, 376), initrd [376, 387).
private let imageEnd = 373
private let initrdStart = 376
private let sampleTotal = 387

@Suite("Partition update format and verifier")
struct PartitionUpdateTests {
    @Test func roundTripAndLayout() throws {
        let installed = bundle()
        let bytes = update(for: installed)
        #expect(bytes.count == sampleTotal)
        #expect(check(bytes, installed: installed) == nil)
        bytes.withUnsafeBytes { raw in
            let r = try! PartitionUpdateReader(bytes: raw)
            #expect(r.partition == 1 && r.name.equals(name("beta")))
            #expect(r.securityVersion == 5 && r.keyID == vendor.keyID && r.entry == GuestPhysAddr(0x8000_0000))
            #expect(r.imageRange == BundleRange(offset: PartitionUpdateFormat.imageOffset, count: newImage.count))
            #expect(r.initrdRange == BundleRange(offset: initrdStart, count: newInitrd.count))
            #expect(Array(r.image) == newImage && Array(r.initrd) == newInitrd)
            #expect(Array(r.imageDigest) == sha512(newImage) && Array(r.initrdDigest) == sha512(newInitrd))
        }
        // "BHUPDATE", version 1, header 288; a bundle is not an update and the other way round.
        #expect(Array(bytes[0..<12]) == Array("BHUPDATE".utf8) + [1, 0, 0x20, 1])
        #expect(parse(installed) == .badMagic)
        #expect(bytes.withUnsafeBytes { raw in
            do throws(BundleError) { _ = try BundleReader(bytes: raw); return false } catch { return error == .badMagic }
        })
    }

    @Test func withoutInitrd() {
        let installed = bundle()
        let bytes = update(for: installed, initrd: [])
        #expect(bytes.count == imageEnd)
        #expect(check(bytes, installed: installed) == nil)
        // Without an initrd, its digest field is reserved zero (checked before the signature).
        var corrupt = bytes
        corrupt[PartitionUpdateFormat.Header.initrdDigest + 5] = 1
        #expect(parse(corrupt) == .reservedNotZero(offset: UInt64(PartitionUpdateFormat.Header.initrdDigest + 5)))
    }

    @Test func everyTruncation() {
        let bytes = update(for: bundle())
        for n in 0..<bytes.count {
            let expected: PartitionUpdateError
            if n < 8 {
                expected = .truncated(needed: 8, available: UInt64(n))
            } else if n < PartitionUpdateFormat.headerSize {
                expected = .truncated(needed: UInt64(PartitionUpdateFormat.headerSize), available: UInt64(n))
            } else {
                expected = .truncated(needed: UInt64(sampleTotal), available: UInt64(n))
            }
            #expect(parse(Array(bytes[0..<n])) == expected, "length \(n)")
        }
        #expect(parse(bytes + [0]) == .trailingBytes(declared: UInt64(sampleTotal), available: UInt64(sampleTotal + 1)))
    }

    /// The error each single-byte corruption (XOR 0x80) at `offset` must give.
    private func expectedError(at offset: Int, bytes: [UInt8]) -> PartitionUpdateError {
        typealias H = PartitionUpdateFormat.Header
        let total = UInt64(sampleTotal)
        func corruptedU64(_ field: Int) -> UInt64 {
            var v: UInt64 = 0
            for i in (0..<8).reversed() { v = v << 8 | UInt64(bytes[field + i] ^ (field + i == offset ? 0x80 : 0)) }
            return v
        }
        switch offset {
        case 0..<8: return .badMagic
        case 8..<10: return .unsupportedVersion(offset == 8 ? 0x81 : 0x8001)
        case 10..<12: return .wrongHeaderSize(offset == 10 ? 0x1A0 : 0x8120)
        case H.nameLength: return .badNameLength(4 ^ 0x80)
        case H.reserved0..<H.totalLength, (H.name + 4)..<H.entry, H.reserved1..<H.end:
            return .reservedNotZero(offset: UInt64(offset))
        case H.totalLength..<H.securityVersion:
            return .wrongTotalLength(declared: corruptedU64(H.totalLength), imageLength: UInt64(newImage.count),
                                     initrdLength: UInt64(newInitrd.count))
        case H.imageLength..<H.initrdLength:
            return .wrongTotalLength(declared: total, imageLength: corruptedU64(H.imageLength), initrdLength: UInt64(newInitrd.count))
        case H.initrdLength..<H.policyDigest:
            return .wrongTotalLength(declared: total, imageLength: UInt64(newImage.count), initrdLength: corruptedU64(H.initrdLength))
        case H.keyID..<H.name:
            var id = vendor.keyID
            id.raw ^= UInt64(0x80) << UInt64(8 * (offset - H.keyID))
            return .unknownKey(id)
        case imageEnd..<initrdStart: return .reservedNotZero(offset: UInt64(offset))
        case PartitionUpdateFormat.imageOffset..<imageEnd: return .imageDigestMismatch
        case initrdStart..<sampleTotal: return .initrdDigestMismatch
        default: return .badSignature(vendor.keyID)   // any other header byte (signed) or the signature
        }
    }

    @Test func everySingleByteCorruption() {
        let installed = bundle()
        let bytes = update(for: installed)
        for offset in 0..<bytes.count {
            var corrupt = bytes
            corrupt[offset] ^= 0x80
            let got = check(corrupt, installed: installed)
            #expect(got == expectedError(at: offset, bytes: bytes), "offset \(offset)")
        }
    }

    @Test func signerChecks() {
        let installed = bundle()
        let other = Signer(seed: 9)
        let bytes = update(for: installed, signer: other)
        #expect(check(bytes, installed: installed) == .unknownKey(other.keyID))
        var both = vendor.anchors
        _ = both.add(other.anchor)
        #expect(check(bytes, installed: installed, anchors: both) == nil)
        var revoked = RevokedKeys()
        _ = revoked.add(other.keyID)
        // Revoked wins even over a trusted key.
        #expect(check(bytes, installed: installed, anchors: both, revoked: revoked) == .revokedKey(other.keyID))
    }

    @Test func wrongPartition() {
        let installed = bundle()
        // Index 0 is "alpha", not "beta".
        #expect(check(update(for: installed, index: 0, policyOf: 1), installed: installed) == .wrongPartition(index: 0))
        #expect(check(update(for: installed, index: 2, policyOf: 1), installed: installed) == .unknownPartition(index: 2, count: 2))
        // The right name but the other partition's policy.
        #expect(check(update(for: installed, policyOf: 0), installed: installed) == .policyChanged(partition: 1))
        // Updating partition 0 the same way works.
        #expect(check(update(for: installed, index: 0, partitionName: "alpha"), installed: installed) == nil)
    }

    @Test func policyBinding() {
        let packed = bundle()
        let bytes = update(for: packed)
        // Other images (of either partition) and another security version: the same policy.
        #expect(check(bytes, installed: bundle(images: [[9, 9], [1, 2, 3]])) == nil)
        // Each policy change of partition 1 (or of a channel it is on) is refused.
        let changes: [(String, (inout PartitionPlan) -> Void)] = [
            ("harts", { _ = $0.partitions[1].harts.append(4) }),
            ("memory", { $0.partitions[1].memory = HostRegion(base: HostPhysAddr(0x8800_0000), size: 0x100_0000) }),
            ("keys", { $0.partitions[1].keyPolicy = .all }),
            ("on_fault", { $0.partitions[1].onFault = .restart }),
            ("bootargs", { $0.partitions[1].bootargs = Array("quiet".utf8).withUnsafeBytes { Bootargs(bytes: $0)! } }),
            ("uart", { $0.partitions[1].flags = PartitionFlags(raw: 2) }),
            ("update policy", { $0.partitions[1].updateTargets = 1 }),
            ("channel depth", { $0.channels[0].depth = 8 }),
        ]
        for (what, change) in changes {
            #expect(check(bytes, installed: bundle(change: change)) == .policyChanged(partition: 1), "\(what)")
        }
        // A change to partition 0 alone does not concern partition 1's update.
        #expect(check(bytes, installed: bundle(change: { $0.partitions[0].keyPolicy = .all })) == nil)
        #expect(check(bytes, installed: bundle(change: { $0.partitions[0].updateTargets = 2 })) == nil)
    }

    @Test func versionFloor() {
        let installed = bundle()
        let bytes = update(for: installed, version: 5)
        #expect(check(bytes, installed: installed, floor: 4) == nil)
        #expect(check(bytes, installed: installed, floor: 5) == .versionNotAboveFloor(version: 5, floor: 5))
        #expect(check(bytes, installed: installed, floor: 9) == .versionNotAboveFloor(version: 5, floor: 9))
    }

    @Test func imageMustFit() {
        let installed = bundle(change: { $0.partitions[1].memory.size = 0x10_0000 })
        // 1 MiB of RAM less the 64 KiB device tree reserve.
        let big = [UInt8](repeating: 1, count: 0x10_0000)
        let limit: UInt64 = 0x10_0000 - PlanLimits.deviceTreeReserve
        #expect(check(update(for: installed, image: big, initrd: []), installed: installed)
                == .imageDoesNotFit(.imageTooLarge(partition: 1, imageSize: 0x10_0000, limit: limit)))
        #expect(check(update(for: installed, entry: 0x8000_1000), installed: installed)
                == .imageDoesNotFit(.entryOutsideImage(partition: 1)))
        #expect(check(update(for: installed), installed: installed) == nil)
    }

    @Test func errorMessages() {
        let cases: [(PartitionUpdateError, String)] = [
            (.badMagic, "not a partition update (the magic is not \"BHUPDATE\")"),
            (.versionNotAboveFloor(version: 5, floor: 5), "rollback: the update's security version 5 is not above the partition's 5"),
            (.badSignature(SigningKeyID(raw: 0x0807_0605_0403_0201)),
             "bad signature: the Ed25519 signature over the update header does not verify with key id 0102030405060708"),
            (.imageDoesNotFit(.entryOutsideImage(partition: 1)), "the new image does not fit the partition: partition #1, field entry"),
        ]
        for (error, prefix) in cases {
            var sink = StringSink()
            error.write(to: &sink)
            #expect(sink.text.hasPrefix(prefix), "\(sink.text)")
        }
        // With the installed bundle's plan, partitions are named.
        let plan = bundle().withUnsafeBytes { try! BundleReader(bytes: $0).plan }
        var sink = StringSink()
        PartitionUpdateError.wrongPartition(index: 0).write(to: &sink, plan: plan)
        #expect(sink.text == "wrong partition: partition #0 \"alpha\" of the bundle does not have the name the update names")
        sink = StringSink()
        PartitionUpdateError.policyChanged(partition: 1).write(to: &sink, plan: plan)
        #expect(sink.text.hasPrefix("policy changed: partition #1 \"beta\"'s policy (harts, memory"), "\(sink.text)")
    }
}
