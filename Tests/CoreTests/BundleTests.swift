// Bundle format v3: writer/reader round trip, the signed ranges, every specific BundleError,
// every truncation, corrupted length/offset/count fields, reserved bytes, trailing bytes; and the
// same for a bundle with channel records (ChannelBundleTests at the end).

import Testing
@testable import BulkheadCore

// MARK: - Fixtures

private func text<let n: Int>(_ s: String) -> FixedText<n> {
    Array(s.utf8).withUnsafeBytes { FixedText<n>(bytes: $0)! }
}

/// Three partitions; image lengths 13, 8 and 5 so that the layout has padding between images.
private func samplePlan() -> (PartitionPlan, [[UInt8]]) {
    let images: [[UInt8]] = [
        (0..<13).map { UInt8($0 + 1) },
        (0..<8).map { UInt8(0x40 + $0) },
        [0xAA, 0xBB, 0xCC, 0xDD, 0xEE],
    ]
    let names = ["alpha", "beta-1", "gamma_2"]
    let harts: [[UInt32]] = [[1, 2], [3], [5, 6, 7]]
    let boot = ["console=hvc0", "", "x"]
    // Key services: derive + seal, none, every one.
    let keys: [KeyPolicy] = [KeyPolicy(raw: KeyPolicy.derive.raw | KeyPolicy.seal.raw), KeyPolicy(), .all]
    var plan = PartitionPlan()
    for i in 0..<3 {
        var spec = PartitionSpec()
        spec.name = text(names[i])
        for h in harts[i] { let added = spec.harts.append(h); #expect(added) }
        spec.memory = HostRegion(base: HostPhysAddr(0x8400_0000 + UInt64(i) * 0x100_0000), size: 0x100_0000)
        spec.entry = GuestPhysAddr(0x8000_0000 + UInt64(i) * 2)
        spec.imageSize = UInt64(images[i].count)
        spec.onFault = i == 1 ? .restart : .stop
        spec.bootargs = text(boot[i])
        spec.keyPolicy = keys[i]
        let added = plan.append(spec)
        #expect(added)
    }
    return (plan, images)
}

/// A stand-in for SHA-512 (the reader checks structure only): 64 bytes that depend on the image.
private func fakeDigest(_ image: [UInt8]) -> [UInt8] {
    let sum = image.reduce(UInt8(0), &+)
    return (0..<64).map { UInt8(truncatingIfNeeded: image.count &* 31 &+ $0) ^ sum }
}

/// A stand-in for Ed25519: 64 bytes that depend on the manifest.
private func fakeSign(_ manifest: [UInt8]) -> [UInt8] {
    (0..<64).map { UInt8(truncatingIfNeeded: manifest.count &+ $0 &* 7) ^ manifest[$0 % manifest.count] }
}

private let sampleKeyID = SigningKeyID(raw: 0xF1E2_D3C4_B5A6_9788)
private let sampleVersion: UInt64 = 0x0123_4567_89AB_CDEF

private func encode(_ plan: PartitionPlan, _ images: [[UInt8]], version: UInt64 = sampleVersion) -> [UInt8] {
    BundleWriter.encode(plan: plan, images: images, securityVersion: version, keyID: sampleKeyID,
                        digest: fakeDigest, sign: fakeSign)
}

private func sampleBundle() -> [UInt8] {
    let (plan, images) = samplePlan()
    return encode(plan, images)
}

// Layout of the sample: manifest [0, 1024) = header 64 + 3 records of 320; signature
// [1024, 1088); images at 1088 (13 bytes), 1104 (1101 -> 8-aligned; 8 bytes), 1112 (5 bytes).
private let sampleManifestLength = 1024
private let sampleTotal = 1117

private func read(_ bytes: [UInt8]) -> Result<(PartitionPlan, [BundleRange], [[UInt8]]), BundleError> {
    bytes.withUnsafeBytes { raw in
        do throws(BundleError) {
            let reader = try BundleReader(bytes: raw)
            let ranges = (0..<reader.plan.count).map { reader.imageRange($0) }
            let images = (0..<reader.plan.count).map { [UInt8](reader.image($0)) }
            return .success((reader.plan, ranges, images))
        } catch {
            return .failure(error)
        }
    }
}

private func readError(_ bytes: [UInt8]) -> BundleError? {
    if case .failure(let e) = read(bytes) { return e }
    return nil
}

private func put(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt64, _ width: Int) {
    BundleWriter.put(&bytes, offset, value, width)
}

private func get(_ bytes: [UInt8], _ offset: Int, _ width: Int) -> UInt64 {
    (0..<width).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << UInt64(8 * $1) }
}

private func rec(_ p: Int, _ field: Int) -> Int { BundleFormat.recordOffset(p) + field }

private func sameSpec(_ a: PartitionSpec, _ b: PartitionSpec) -> Bool {
    guard a.name.equals(b.name), a.harts.count == b.harts.count, a.memory == b.memory, a.entry == b.entry,
          a.imageSize == b.imageSize, a.onFault == b.onFault, a.bootargs.equals(b.bootargs),
          a.keyPolicy == b.keyPolicy else { return false }
    return (0..<a.harts.count).allSatisfy { a.harts[$0] == b.harts[$0] }
}

/// What must hold for any buffer the reader accepts, whatever its content.
private func checkInvariants(_ bytes: [UInt8], _ plan: PartitionPlan, _ ranges: [BundleRange], _ images: [[UInt8]]) {
    let recordsEnd = BundleFormat.imagesStart(partitionCount: plan.count, channelCount: plan.channelCount)
    #expect(plan.count == Int(get(bytes, BundleFormat.Header.partitionCount, 2)))
    #expect(plan.channelCount == Int(get(bytes, BundleFormat.Header.channelCount, 2)))
    #expect(UInt64(bytes.count) == get(bytes, BundleFormat.Header.totalLength, 8))
    for (p, r) in ranges.enumerated() {
        #expect(r.offset >= recordsEnd && r.offset % 8 == 0 && r.offset + r.count <= bytes.count)
        #expect(UInt64(r.count) == plan[p].imageSize)
        #expect(images[p] == Array(bytes[r.offset..<(r.offset + r.count)]))
        for q in 0..<p where r.count > 0 && ranges[q].count > 0 {
            #expect(r.offset + r.count <= ranges[q].offset || ranges[q].offset + ranges[q].count <= r.offset)
        }
    }
}

// MARK: - Round trip and layout

@Suite("Bundle format v4")
struct BundleTests {
    @Test func theRollbackFloorDemandRoundTripsInTheHeaderFlags() throws {
        var (plan, images) = samplePlan()
        plan.flags.requireRollbackFloor = true
        let bytes = BundleWriter.encode(plan: plan, images: images, securityVersion: sampleVersion, keyID: sampleKeyID,
                                        digest: fakeDigest, sign: fakeSign)
        #expect(bytes[52] == 1)
        let (decoded, _, _) = try read(bytes).get()
        #expect(decoded.flags.requireRollbackFloor)
    }

    @Test func theUpdatePolicyRoundTripsInRecordByte289() throws {
        var (plan, images) = samplePlan()
        plan.partitions[0].updateTargets = 0b110
        let bytes = encode(plan, images)
        #expect(bytes[64 + 289] == 0b110)
        #expect(bytes[64 + 320 + 289] == 0)
        let (decoded, _, _) = try read(bytes).get()
        #expect(decoded[0].updateTargets == 0b110)
        #expect(decoded[0].mayUpdate(1) && decoded[0].mayUpdate(2) && !decoded[0].mayUpdate(0) && !decoded[0].mayUpdate(8))
        #expect(decoded[1].updateTargets == 0)
    }

    @Test func roundTrip() throws {
        let (plan, images) = samplePlan()
        var signed: [UInt8] = []
        let bytes = BundleWriter.encode(plan: plan, images: images, securityVersion: sampleVersion, keyID: sampleKeyID,
                                        digest: fakeDigest, sign: { signed = $0; return fakeSign($0) })
        let (decoded, ranges, decodedImages) = try read(bytes).get()
        #expect(decoded.count == plan.count)
        for p in 0..<plan.count { #expect(sameSpec(decoded[p], plan[p])) }
        #expect(decodedImages == images)
        #expect(ranges == [BundleRange(offset: 1088, count: 13), BundleRange(offset: 1104, count: 8),
                           BundleRange(offset: 1112, count: 5)])
        #expect(bytes.count == sampleTotal)
        checkInvariants(bytes, decoded, ranges, decodedImages)
        // The signer saw the final manifest: every field, the digests included, was written first.
        #expect(signed == Array(bytes[0..<sampleManifestLength]))
        #expect(bytes[52] == 0 && decoded.flags == BundleFlags())
        try bytes.withUnsafeBytes { raw throws in
            let reader = try BundleReader(bytes: raw)
            #expect(reader.securityVersion == sampleVersion)
            #expect(reader.keyID == sampleKeyID)
            #expect(reader.manifestRange == BundleRange(offset: 0, count: sampleManifestLength))
            #expect([UInt8](reader.manifestBytes) == signed)
            #expect(reader.signatureRange == BundleRange(offset: 1024, count: 64))
            #expect([UInt8](reader.signature) == fakeSign(signed))
            for p in 0..<3 {
                #expect(reader.imageDigestRange(p) == BundleRange(offset: 64 + 320 * p + 224, count: 64))
                #expect([UInt8](reader.imageDigest(p)) == fakeDigest(images[p]))
            }
            #expect(reader.imageDigest(3).count == 0 && reader.imageDigest(-1).count == 0)
            #expect(reader.imageDigestRange(3) == BundleRange(offset: 0, count: 0))
        }
    }

    @Test func headerBytes() {
        let b = sampleBundle()
        #expect(Array(b[0..<8]) == Array("BULKHEAD".utf8))
        #expect(get(b, 8, 2) == 4)       // version
        #expect(get(b, 10, 2) == 64)     // header size
        #expect(get(b, 12, 2) == 320)    // record size
        #expect(get(b, 14, 2) == 3)      // partition count
        #expect(get(b, 16, 8) == UInt64(sampleTotal))
        #expect(Array(b[24..<32]) == [0xEF, 0xCD, 0xAB, 0x89, 0x67, 0x45, 0x23, 0x01])   // security version
        #expect(Array(b[32..<40]) == [0x88, 0x97, 0xA6, 0xB5, 0xC4, 0xD3, 0xE2, 0xF1])   // key id
        #expect(get(b, 40, 2) == 0)      // channel count
        #expect(get(b, 42, 2) == 64)     // channel record size
        #expect(b[44..<64].allSatisfy { $0 == 0 })
        // Record #0 ("alpha", harts 1 2, stop, bootargs "console=hvc0").
        let r = BundleFormat.recordOffset(0)
        #expect(r == 64 && BundleFormat.recordOffset(2) == 704)
        #expect(b[r] == 5 && b[r + 1] == 2 && b[r + 2] == 0 && b[r + 3] == 0 && get(b, r + 4, 2) == 12)
        #expect(b[r + 6] == 0x03 && b[r + 7] == 0)                                    // key_policy: derive, seal
        #expect(get(b, BundleFormat.recordOffset(1) + 6, 2) == 0)                     // no key services
        #expect(get(b, BundleFormat.recordOffset(2) + 6, 2) == 0x3F)                  // all six
        #expect(Array(b[(r + 8)..<(r + 13)]) == Array("alpha".utf8))
        #expect(get(b, r + 24, 4) == 1 && get(b, r + 28, 4) == 2)
        #expect(get(b, r + 56, 8) == 0x8400_0000 && get(b, r + 64, 8) == 0x100_0000 && get(b, r + 72, 8) == 0x8000_0000)
        #expect(get(b, r + 80, 8) == 1088 && get(b, r + 88, 8) == 13)
        #expect(Array(b[(r + 96)..<(r + 108)]) == Array("console=hvc0".utf8))
        #expect(Array(b[(r + 224)..<(r + 288)]) == fakeDigest(samplePlan().1[0]))
        #expect(b[(r + 288)..<(r + 320)].allSatisfy { $0 == 0 })
        #expect(Array(b[1024..<1088]) == fakeSign(Array(b[0..<1024])))
        #expect(b[1101..<1104].allSatisfy { $0 == 0 })   // padding after image #0
    }

    @Test func keyIDBytes() {
        let bytes: [UInt8] = [0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xFF]
        let id = bytes.withUnsafeBytes { SigningKeyID(prefixOf: $0) }
        #expect(id == SigningKeyID(raw: 0xEFCD_AB89_6745_2301))
        #expect(id?.byte(0) == 0x01 && id?.byte(7) == 0xEF)
        var sink = StringSink()
        id?.write(to: &sink)
        #expect(sink.text == "0123456789abcdef")
        #expect(Array(bytes[0..<7]).withUnsafeBytes { SigningKeyID(prefixOf: $0) } == nil)
    }

    @Test func signerErrorsPropagate() {
        struct Refused: Error, Equatable {}
        let (plan, images) = samplePlan()
        #expect(throws: Refused()) {
            try BundleWriter.encode(plan: plan, images: images, securityVersion: 0, keyID: sampleKeyID,
                                    digest: fakeDigest, sign: { (_: [UInt8]) throws(Refused) -> [UInt8] in throw Refused() })
        }
    }

    @Test func emptyPlanAndEmptyImage() throws {
        let empty = encode(PartitionPlan(), [])
        #expect(empty.count == 128)   // header + signature
        try empty.withUnsafeBytes { raw throws in
            let reader = try BundleReader(bytes: raw)
            #expect(reader.plan.count == 0 && reader.manifestRange.count == 64 && reader.signatureRange.offset == 64)
        }
        var (plan, images) = samplePlan()
        var spec = plan[2]; spec.imageSize = 0
        var shorter = PartitionPlan()
        _ = shorter.append(plan[0]); _ = shorter.append(spec)
        images = [images[0], []]
        let bytes = encode(shorter, images)
        let (decoded, ranges, _) = try read(bytes).get()
        #expect(decoded[1].imageSize == 0 && ranges[1] == BundleRange(offset: 64 + 640 + 64, count: 0))
        // The structural reader accepts it; plan validation is what rejects an empty image.
        #expect(throws: PlanError.emptyImage(partition: 1)) {
            try decoded.validate(for: KnownBoards.qemuVirt.limits(ram: KnownBoards.qemuVirt.defaultRAM, hartMask: 0xFF))
        }
    }

    @Test func stagingAreaIgnoresBytesPastTheBundle() throws {
        let b = sampleBundle()
        let staging = b + [UInt8](repeating: 0xEE, count: 100)
        try staging.withUnsafeBytes { raw throws in
            let reader = try BundleReader(staging: raw)
            #expect(reader.totalLength == b.count)
            #expect([UInt8](reader.image(0)) == samplePlan().1[0])
            #expect(reader.imageRange(7) == BundleRange(offset: 0, count: 0))
            #expect(reader.image(-1).count == 0)
            #expect([UInt8](reader.manifestBytes) == Array(b[0..<sampleManifestLength]))
        }
        // Truncated staging areas still fail.
        _ = Array(b.dropLast()).withUnsafeBytes { raw in
            #expect(throws: BundleError.truncated(needed: UInt64(sampleTotal), available: UInt64(sampleTotal - 1))) {
                try BundleReader(staging: raw)
            }
        }
    }

    @Test func qemuVirtBoardKeepsTheStagingAreaReserved() throws {
        let board = KnownBoards.qemuVirt
        let map = try board.typicalMemoryMap(ram: board.defaultRAM)
        #expect(map.reservation.contains(map.staging))
        #expect(board.defaultRAM.contains(map.reservation))
        #expect(board.defaultLimits.hartMask == 0xF)
        #expect(try KnownBoards.named("qemu-virt")?.typicalMemoryMap(ram: board.defaultRAM).staging.base == HostPhysAddr(0x8100_0000))
        #expect(KnownBoards.named("qemu") == nil)
    }

    // MARK: - Each error

    @Test func specificErrors() {
        let good = sampleBundle()
        let total = UInt64(sampleTotal)
        /// The error for `good` with `width` bytes at `offset` set to `value`.
        func set(_ offset: Int, _ value: UInt64, _ width: Int = 1) -> BundleError? {
            var b = good; put(&b, offset, value, width); return readError(b)
        }
        #expect(readError([]) == .truncated(needed: 8, available: 0))
        #expect(readError(Array(good[0..<40])) == .truncated(needed: 64, available: 40))
        #expect(set(3, 0x6B) == .badMagic)
        #expect(set(8, 1, 2) == .unsupportedVersion(1))   // version 1 (unsigned) is refused
        #expect(set(8, 2, 2) == .unsupportedVersion(2))   // version 2 (no channel records) is refused
        #expect(set(8, 3, 2) == .unsupportedVersion(3))   // version 3 (whole-image digests) is refused
        #expect(set(8, 5, 2) == .unsupportedVersion(5))
        #expect(set(10, 72, 2) == .wrongHeaderSize(72))
        #expect(set(12, 256, 2) == .wrongRecordSize(256))
        #expect(set(14, 9, 2) == .tooManyPartitions(count: 9))
        #expect(readError(good + [0]) == .trailingBytes(declared: total, available: total + 1))
        #expect(set(16, total + 1, 8) == .truncated(needed: total + 1, available: total))
        #expect(set(16, 100, 8) == .truncated(needed: 1088, available: 100))
        #expect(set(16, 1050, 8) == .truncated(needed: 1088, available: 1050))   // no room for the signature
        #expect(set(40, 17, 2) == .tooManyChannels(count: 17))
        #expect(set(40, 1, 2) == .truncated(needed: 1152, available: total))   // a channel record that is not there
        #expect(set(42, 0, 2) == .wrongChannelRecordSize(0))
        #expect(set(42, 320, 2) == .wrongChannelRecordSize(320))
        #expect(set(44, 1) == .wrongInitrdRecordSize(0, count: 1))    // initrd_count (once reserved)
        #expect(set(46, 96) == .wrongInitrdRecordSize(96, count: 0))
        #expect(set(48, 1) == .wrongDeviceRecordSize(0, count: 1))    // device_count (once reserved)
        #expect(set(48, 9) == .tooManyDevices(count: 9))
        #expect(set(50, 192) == .wrongDeviceRecordSize(192, count: 0))
        #expect(set(52, 2) == .unknownBundleFlags(value: 2))    // bundle flags (once reserved)
        #expect(set(52, 0x81) == .unknownBundleFlags(value: 0x81))
        #expect(set(53, 1) == .reservedNotZero(offset: 53))
        #expect(set(63, 1) == .reservedNotZero(offset: 63))
        #expect(set(rec(1, 3), 3) == .unknownImageKind(partition: 1, value: 3))   // image kind (once reserved)
        #expect(set(rec(1, 6), 0x40) == .unknownKeyPolicy(partition: 1, value: 0x40))
        #expect(set(rec(1, 7), 1) == .unknownKeyPolicy(partition: 1, value: 0x100))
        #expect(set(rec(2, 6), 0xFFFF, 2) == .unknownKeyPolicy(partition: 2, value: 0xFFFF))
        #expect(set(rec(2, 288), 4) == .unknownPartitionFlags(partition: 2, value: 4))   // flags (once reserved)
        #expect(set(rec(2, 290), 1) == .reservedNotZero(offset: UInt64(rec(2, 290))))   // 289: update targets (once reserved)
        #expect(set(rec(2, 319), 1) == .reservedNotZero(offset: UInt64(rec(2, 319))))
        #expect(set(rec(0, 8 + 15), 0x61) == .reservedNotZero(offset: UInt64(rec(0, 23))))
        #expect(set(rec(0, 24 + 4 * 7), 9, 4) == .reservedNotZero(offset: UInt64(rec(0, 52))))
        #expect(set(rec(0, 96 + 127), 0x61) == .reservedNotZero(offset: UInt64(rec(0, 223))))
        #expect(set(1101, 1) == .reservedNotZero(offset: 1101))   // padding after image #0
        #expect(set(rec(1, 0), 17) == .nameTooLong(partition: 1, length: 17))
        #expect(set(rec(1, 1), 9) == .tooManyHarts(partition: 1, count: 9))
        #expect(set(rec(1, 4), 129, 2) == .bootargsTooLong(partition: 1, length: 129))
        #expect(set(rec(1, 2), 2) == .unknownFaultPolicy(partition: 1, value: 2))
        #expect(set(rec(1, 80), 1108, 8) == .imageMisaligned(partition: 1, offset: 1108))
        #expect(set(rec(2, 88), 6, 8) == .imageOutOfBounds(partition: 2, offset: 1112, length: 6))
        #expect(set(rec(2, 88), UInt64.max, 8) == .imageOutOfBounds(partition: 2, offset: 1112, length: .max))
        #expect(set(rec(2, 80), UInt64.max & ~7, 8) == .imageOutOfBounds(partition: 2, offset: UInt64.max & ~7, length: 5))
        #expect(set(rec(0, 80), 1080, 8) == .imageOverlapsManifest(partition: 0, offset: 1080))   // in the signature
        #expect(set(rec(0, 80), 1016, 8) == .imageOverlapsManifest(partition: 0, offset: 1016))   // in the records
        #expect(set(rec(0, 80), 0, 8) == .imageOverlapsManifest(partition: 0, offset: 0))
        #expect(set(rec(1, 80), 1096, 8) == .imageOverlap(partition: 1, other: 0))
        #expect(set(rec(2, 88), 4, 8) == .bytesAfterImages(end: 1116, totalLength: total))
    }

    @Test func everyErrorHasAMessage() {
        let errors: [BundleError] = [
            .truncated(needed: 8, available: 0), .badMagic, .unsupportedVersion(2), .wrongHeaderSize(1),
            .wrongRecordSize(1), .tooManyPartitions(count: 9), .trailingBytes(declared: 1, available: 2),
            .reservedNotZero(offset: 3), .nameTooLong(partition: 0, length: 17), .tooManyHarts(partition: 0, count: 9),
            .bootargsTooLong(partition: 0, length: 200), .unknownFaultPolicy(partition: 0, value: 7),
            .unknownKeyPolicy(partition: 0, value: 0x20),
            .imageMisaligned(partition: 0, offset: 3), .imageOutOfBounds(partition: 0, offset: 8, length: 8),
            .imageOverlapsManifest(partition: 0, offset: 8), .imageOverlap(partition: 1, other: 0),
            .bytesAfterImages(end: 1, totalLength: 2),
            .tooManyChannels(count: 17), .wrongChannelRecordSize(63), .channelNameTooLong(channel: 1, length: 17),
            .unknownChannelKind(channel: 1, value: 0), .unknownChannelDirection(channel: 1, value: 2),
            .unknownChannelAccess(channel: 1, endpoint: 1, value: 2), .unknownDoorbellValue(channel: 1, value: 2),
        ]
        var seen = Set<String>()
        for e in errors {
            var sink = StringSink()
            e.write(to: &sink)
            #expect(sink.text.count > 10)
            #expect(seen.insert(sink.text).inserted)
        }
        var sink = StringSink()
        BundleError.imageOverlap(partition: 1, other: 0).write(to: &sink)
        #expect(sink.text == "partition record #1: the image overlaps the image of partition #0")
        sink = StringSink()
        BundleError.unsupportedVersion(1).write(to: &sink)
        #expect(sink.text == "format version 1 is not supported (this build reads version 4, signed; version 1 bundles "
                + "are unsigned: repack with `bulkhead pack --key`)")
        func text(_ e: BundleError) -> String { var sink = StringSink(); e.write(to: &sink); return sink.text }
        #expect(text(.unsupportedVersion(2)) == "format version 2 is not supported (this build reads version 4, "
                + "which adds channel records: repack with this `bulkhead pack`)")
        #expect(text(.unsupportedVersion(3)) == "format version 3 is not supported (this build reads version 4, "
                + "whose image digests are chunked: repack with this `bulkhead pack`)")
        #expect(text(.tooManyChannels(count: 17)) == "the bundle has 17 channels; at most 16 are supported")
        #expect(text(.wrongChannelRecordSize(63)) == "the channel record size is 63 bytes; format version 4 has 64")
        #expect(text(.channelNameTooLong(channel: 1, length: 17)) == "channel record #1: the name length 17 exceeds 16")
        #expect(text(.unknownChannelKind(channel: 0, value: 9)) == "channel record #0: unknown channel kind value 9 (1 = queue, 2 = shared memory)")
        #expect(text(.unknownChannelDirection(channel: 2, value: 2)) == "channel record #2: unknown direction value 2 (0 = both, 1 = forward)")
        #expect(text(.unknownChannelAccess(channel: 1, endpoint: 1, value: 0))
                == "channel record #1: unknown access value 0 for endpoint 1 (1 = read-only, 3 = read-write)")
        #expect(text(.unknownDoorbellValue(channel: 0, value: 255)) == "channel record #0: the doorbell flag is 255, not 0 or 1")
        #expect(text(.unknownKeyPolicy(partition: 2, value: 0x8021)) == "partition record #2: the key policy 0x8021 sets "
                + "bits outside the known key services (derive 0x1, seal 0x2, attest 0x4, keystore 0x8, random 0x10, attest_system 0x20)")
        #expect(BundleError.unknownKeyPolicy(partition: 2, value: 0x20).partition == 2)
        #expect(BundleError.unknownDoorbellValue(channel: 3, value: 2).channel == 3)
        #expect(BundleError.unknownDoorbellValue(channel: 3, value: 2).partition == nil)
        #expect(BundleError.nameTooLong(partition: 1, length: 17).channel == nil)
    }

    // MARK: - Malformed inputs

    @Test func everyTruncationFails() {
        let good = sampleBundle()
        for n in 0..<good.count {
            #expect(readError(Array(good[0..<n])) != nil, "prefix of \(n) bytes")
        }
    }

    /// Every header or record length/offset/count field, set to a range of wrong values: the
    /// reader either rejects the bundle or decodes it consistently. Which corruptions survive is
    /// asserted exactly.
    @Test func corruptedLengthAndOffsetFields() {
        let good = sampleBundle()
        typealias H = BundleFormat.Header
        typealias R = BundleFormat.Record
        var fields: [(name: String, offset: Int, width: Int)] = [
            ("version", H.version, 2), ("headerSize", H.headerSize, 2), ("recordSize", H.recordSize, 2),
            ("partitionCount", H.partitionCount, 2), ("totalLength", H.totalLength, 8),
            ("channelCount", H.channelCount, 2), ("channelRecordSize", H.channelRecordSize, 2),
        ]
        for p in 0..<3 {
            fields += [("#\(p).nameLength", rec(p, R.nameLength), 1), ("#\(p).hartCount", rec(p, R.hartCount), 1),
                       ("#\(p).onFault", rec(p, R.onFault), 1), ("#\(p).bootargsLength", rec(p, R.bootargsLength), 2),
                       ("#\(p).imageOffset", rec(p, R.imageOffset), 8), ("#\(p).imageLength", rec(p, R.imageLength), 8)]
        }
        var survivors: [String] = []
        for f in fields {
            let original = get(good, f.offset, f.width)
            let top: UInt64 = f.width == 8 ? .max : (1 << UInt64(8 * f.width)) - 1
            var values: Set<UInt64> = [0, 1, top, top / 2 + 1, original &+ 1, original &+ 8, original &- 1, original &- 8]
            values = values.filter { $0 <= top && $0 != original }
            for v in values.sorted() {
                var b = good
                put(&b, f.offset, v, f.width)
                switch read(b) {
                case .failure: break
                case .success(let (plan, ranges, images)):
                    checkInvariants(b, plan, ranges, images)
                    survivors.append("\(f.name)=\(v)")
                }
            }
        }
        // Only these decode. They grow a name, a hart list or boot arguments into their zero
        // padding (+1 or +8; the plan's validation then rejects the NUL in a name, or hart 0),
        // turn a fault policy into the other valid one, or grow image #0 over one zero padding
        // byte (13 -> 14 still ends before image #1 at 848). No offset, count, size or total
        // length corruption survives.
        #expect(survivors.sorted() == [
            "#0.bootargsLength=13", "#0.bootargsLength=20", "#0.hartCount=3", "#0.imageLength=14",
            "#0.nameLength=13", "#0.nameLength=6", "#0.onFault=1",
            "#1.bootargsLength=1", "#1.bootargsLength=8", "#1.hartCount=2", "#1.nameLength=14", "#1.nameLength=7",
            "#1.onFault=0",
            "#2.bootargsLength=2", "#2.bootargsLength=9", "#2.hartCount=4", "#2.nameLength=15", "#2.nameLength=8",
            "#2.onFault=1",
        ].sorted())
    }

    /// Every reserved byte of the header and records, and every padding byte, set non-zero:
    /// `reservedNotZero` at exactly that offset.
    @Test func everyReservedByteMustBeZero() {
        let good = sampleBundle()
        typealias R = BundleFormat.Record
        var offsets = Array(BundleFormat.Header.reserved..<BundleFormat.Header.reservedEnd)
        let (plan, _) = samplePlan()
        for p in 0..<3 {
            let spec = plan[p]
            offsets += Array(rec(p, R.name + spec.name.count)..<rec(p, R.name + R.nameCapacity))
            offsets += Array(rec(p, R.harts + 4 * spec.harts.count)..<rec(p, R.harts + 4 * R.hartSlots))
            offsets += Array(rec(p, R.bootargs + spec.bootargs.count)..<rec(p, R.bootargs + R.bootargsCapacity))
            offsets += Array(rec(p, R.reserved2)..<rec(p, R.end))
        }
        offsets += [1101, 1102, 1103]
        for i in offsets {
            var b = good
            b[i] = 0x80
            #expect(readError(b) == .reservedNotZero(offset: UInt64(i)), "offset \(i)")
        }
    }

    /// key_policy (offset 6, u16, once reserved zero): each known service bit alone decodes to
    /// that service, zero to none, and each of the 10 other bits is `unknownKeyPolicy`.
    @Test func everyKeyPolicyBit() throws {
        let good = sampleBundle()
        typealias R = BundleFormat.Record
        #expect(R.keyPolicy == 6)
        var i = 0
        var known: [UInt16] = []
        while let (service, _) = KeyPolicy.entry(i) { known.append(service.raw); i += 1 }
        #expect(known == [1, 2, 4, 8, 16, 32] && KeyPolicy.all.raw == known.reduce(0, |))
        for p in 0..<3 {
            for bit in 0..<16 {
                let value = UInt16(1) << UInt16(bit)
                var b = good
                put(&b, rec(p, R.keyPolicy), UInt64(value), 2)
                if known.contains(value) {
                    let (plan, _, _) = try read(b).get()
                    #expect(plan[p].keyPolicy == KeyPolicy(raw: value), "partition \(p), bit \(bit)")
                    #expect(plan[p].keyPolicy.allows(KeyPolicy(raw: value)))
                } else {
                    #expect(readError(b) == .unknownKeyPolicy(partition: p, value: value), "partition \(p), bit \(bit)")
                }
            }
            var b = good
            put(&b, rec(p, R.keyPolicy), 0, 2)
            #expect(try read(b).get().0[p].keyPolicy == KeyPolicy())
        }
        // The writer stores exactly the raw value, for every combination of the known bits.
        var plan = samplePlan().0
        let images = samplePlan().1
        for raw in UInt16(0)...0x1F {
            var spec = plan[1]
            spec.keyPolicy = KeyPolicy(raw: raw)
            plan.partitions[1] = spec
            let bytes = encode(plan, images)
            #expect(get(bytes, rec(1, R.keyPolicy), 2) == UInt64(raw))
            #expect(try read(bytes).get().0[1].keyPolicy == KeyPolicy(raw: raw))
        }
    }

    /// Every byte is signed (manifest), the signature, inside an image, or required zero: a
    /// change the reader accepts is always in the manifest, the signature or an image, and a
    /// change to the signature, a digest or an image is always left to the verifier.
    @Test func everyByteIsSignedHashedOrZero() throws {
        let good = sampleBundle()
        let payload = [1024..<1088, 1088..<1101, 1104..<1112, 1112..<1117] + (0..<3).map { (rec($0, 224)..<rec($0, 288)) }
        for i in 0..<good.count {
            var b = good
            b[i] ^= 0x5A
            let accepted = readError(b) == nil
            if payload.contains(where: { $0.contains(i) }) {
                #expect(accepted, "byte \(i) is payload")
            } else if accepted {
                #expect(i < sampleManifestLength, "byte \(i) outside the manifest changed without the reader noticing")
            }
        }
    }

    /// Flipping any single byte of the header or records either fails or decodes consistently.
    @Test func everySingleByteFlipInTheManifest() {
        let good = sampleBundle()
        var decoded = 0
        for i in 0..<BundleFormat.recordOffset(3) {
            var b = good
            b[i] ^= 0xFF
            if case .success(let (plan, ranges, images)) = read(b) {
                checkInvariants(b, plan, ranges, images)
                decoded += 1
            }
        }
        // Survivors are only plain data: name/bootargs characters, hart ids, memory, entry.
        #expect(decoded > 0)
    }
}

// MARK: - Channel records

/// The sample's three partitions plus three channels: a two-way queue with a doorbell, a
/// forward shared-memory channel (rw, ro) and a forward queue of the largest messages.
private func channelPlan() -> (PartitionPlan, [[UInt8]]) {
    var (plan, images) = samplePlan()
    var pingpong = ChannelSpec()
    pingpong.name = text("pingpong")
    pingpong.kind = .queue
    pingpong.endpoints = [0, 1]
    pingpong.depth = 4
    pingpong.messageSize = 64
    pingpong.doorbell = true
    var buffer = ChannelSpec()
    buffer.name = text("frame-buffer_16b")   // 16 bytes: the whole name field
    buffer.kind = .sharedMemory
    buffer.endpoints = [2, 0]
    buffer.direction = .forward
    buffer.size = 0x2000
    buffer.access = [.readWrite, .readOnly]
    var log = ChannelSpec()
    log.name = text("log")
    log.kind = .queue
    log.endpoints = [1, 2]
    log.direction = .forward
    log.depth = 1
    log.messageSize = 4096
    for c in [pingpong, buffer, log] { let added = plan.appendChannel(c); #expect(added) }
    return (plan, images)
}

private func channelBundle() -> [UInt8] {
    let (plan, images) = channelPlan()
    return encode(plan, images)
}

// Layout: header 64, partition records [64, 1024), channel records [1024, 1216) at 1024, 1088,
// 1152; signature [1216, 1280); images at 1280 (13 bytes), 1296 (8), 1304 (5); total 1309.
private let channelManifestLength = 1216
private let channelTotal = 1309

private func chan(_ c: Int, _ field: Int) -> Int { BundleFormat.channelRecordOffset(c, partitionCount: 3) + field }

private func sameChannel(_ a: ChannelSpec, _ b: ChannelSpec) -> Bool {
    a.name.equals(b.name) && a.kind == b.kind && a.endpoints[0] == b.endpoints[0] && a.endpoints[1] == b.endpoints[1]
        && a.direction == b.direction && a.depth == b.depth && a.messageSize == b.messageSize && a.size == b.size
        && a.access[0] == b.access[0] && a.access[1] == b.access[1] && a.doorbell == b.doorbell
}

private func readPlan(_ bytes: [UInt8]) -> PartitionPlan? {
    if case .success(let (plan, _, _)) = read(bytes) { return plan }
    return nil
}

@Suite("Bundle format v4: channel records")
struct ChannelBundleTests {
    @Test func layoutConstants() {
        #expect(BundleFormat.channelRecordSize == 64)
        #expect(BundleFormat.channelRecordOffset(0, partitionCount: 0) == 64)
        #expect(BundleFormat.channelRecordOffset(2, partitionCount: 3) == 64 + 960 + 128)
        #expect(BundleFormat.manifestLength(partitionCount: 3, channelCount: 3) == channelManifestLength)
        #expect(BundleFormat.manifestLength(partitionCount: 8, channelCount: 16) == 64 + 8 * 320 + 16 * 64)
        #expect(BundleFormat.imagesStart(partitionCount: 3, channelCount: 3) == channelManifestLength + 64)
        // The images start 8-byte aligned for every pair of counts.
        for p in 0...8 { for c in 0...16 { #expect(BundleFormat.imagesStart(partitionCount: p, channelCount: c) % 8 == 0) } }
        typealias C = BundleFormat.ChannelRecord
        #expect(C.name + C.nameCapacity == C.depth && C.depth + 4 == C.messageSize && C.messageSize + 4 == C.size)
        #expect(C.size + 8 == C.reserved && C.end == BundleFormat.channelRecordSize)
    }

    @Test func roundTrip() throws {
        let (plan, images) = channelPlan()
        var signed: [UInt8] = []
        let bytes = BundleWriter.encode(plan: plan, images: images, securityVersion: sampleVersion, keyID: sampleKeyID,
                                        digest: fakeDigest, sign: { signed = $0; return fakeSign($0) })
        #expect(bytes.count == channelTotal)
        let (decoded, ranges, decodedImages) = try read(bytes).get()
        #expect(decoded.count == 3 && decoded.channelCount == 3)
        for p in 0..<3 { #expect(sameSpec(decoded[p], plan[p])) }
        for c in 0..<3 { #expect(sameChannel(decoded.channel(c), plan.channel(c)), "channel \(c)") }
        #expect(decodedImages == images)
        #expect(ranges == [BundleRange(offset: 1280, count: 13), BundleRange(offset: 1296, count: 8),
                           BundleRange(offset: 1304, count: 5)])
        checkInvariants(bytes, decoded, ranges, decodedImages)
        #expect(signed == Array(bytes[0..<channelManifestLength]))   // the channel records are signed
        try bytes.withUnsafeBytes { raw throws in
            let reader = try BundleReader(bytes: raw)
            #expect(reader.manifestRange == BundleRange(offset: 0, count: channelManifestLength))
            #expect(reader.signatureRange == BundleRange(offset: channelManifestLength, count: 64))
            #expect([UInt8](reader.signature) == fakeSign(signed))
            #expect(reader.channelRecordRange(0) == BundleRange(offset: 1024, count: 64))
            #expect(reader.channelRecordRange(2) == BundleRange(offset: 1152, count: 64))
            #expect(reader.channelRecordRange(3) == BundleRange(offset: 0, count: 0))
            #expect(reader.channelRecordRange(-1) == BundleRange(offset: 0, count: 0))
            #expect(reader.imageDigestRange(1) == BundleRange(offset: 64 + 320 + 224, count: 64))
        }
        // The plan from the bundle is valid on the board (the pool holds the shared memory).
        try decoded.validate(for: KnownBoards.qemuVirt.limits(ram: KnownBoards.qemuVirt.defaultRAM, hartMask: 0xFF))
        // And through the staging-area reader too.
        try (bytes + [1, 2, 3]).withUnsafeBytes { raw throws in
            let reader = try BundleReader(staging: raw)
            #expect(reader.plan.channelCount == 3 && reader.totalLength == channelTotal)
        }
    }

    @Test func recordBytes() {
        let b = channelBundle()
        #expect(get(b, 40, 2) == 3 && get(b, 42, 2) == 64 && b[44..<64].allSatisfy { $0 == 0 })
        // pingpong: name 8, queue, endpoints 0 1, both, access rw rw (unused by a queue), doorbell.
        var r = chan(0, 0)
        #expect(r == 1024)
        #expect(Array(b[r..<(r + 8)]) == [8, 1, 0, 1, 0, 3, 3, 1])
        #expect(Array(b[(r + 8)..<(r + 16)]) == Array("pingpong".utf8) && b[(r + 16)..<(r + 24)].allSatisfy { $0 == 0 })
        #expect(get(b, r + 24, 4) == 4 && get(b, r + 28, 4) == 64 && get(b, r + 32, 8) == 0)
        #expect(b[(r + 40)..<(r + 64)].allSatisfy { $0 == 0 })
        // frame-buffer_16b: name 16, shared memory, endpoints 2 0, forward, rw ro, no doorbell, 8 KiB.
        r = chan(1, 0)
        #expect(Array(b[r..<(r + 8)]) == [16, 2, 2, 0, 1, 3, 1, 0])
        #expect(Array(b[(r + 8)..<(r + 24)]) == Array("frame-buffer_16b".utf8))
        #expect(get(b, r + 24, 4) == 0 && get(b, r + 28, 4) == 0 && get(b, r + 32, 8) == 0x2000)
        #expect(b[(r + 40)..<(r + 64)].allSatisfy { $0 == 0 })
        // log: queue 1 -> 2, depth 1, 4096-byte messages.
        r = chan(2, 0)
        #expect(Array(b[r..<(r + 8)]) == [3, 1, 1, 2, 1, 3, 3, 0])
        #expect(get(b, r + 24, 4) == 1 && get(b, r + 28, 4) == 4096)
    }

    @Test func specificErrors() {
        let good = channelBundle()
        let total = UInt64(channelTotal)
        func set(_ offset: Int, _ value: UInt64, _ width: Int = 1) -> BundleError? {
            var b = good; put(&b, offset, value, width); return readError(b)
        }
        typealias C = BundleFormat.ChannelRecord
        #expect(set(40, 17, 2) == .tooManyChannels(count: 17))
        #expect(set(40, 0xFFFF, 2) == .tooManyChannels(count: 0xFFFF))
        #expect(set(40, 4, 2) == .truncated(needed: 1344, available: total))    // one record more than there is
        #expect(set(40, 2, 2) == .reservedNotZero(offset: 1216))                // the signature is read as padding
        #expect(set(42, 0, 2) == .wrongChannelRecordSize(0))
        #expect(set(42, 65, 2) == .wrongChannelRecordSize(65))
        #expect(set(chan(1, C.nameLength), 17) == .channelNameTooLong(channel: 1, length: 17))
        #expect(set(chan(1, C.nameLength), 255) == .channelNameTooLong(channel: 1, length: 255))
        #expect(set(chan(0, C.kind), 0) == .unknownChannelKind(channel: 0, value: 0))
        #expect(set(chan(0, C.kind), 3) == .unknownChannelKind(channel: 0, value: 3))
        #expect(set(chan(2, C.direction), 2) == .unknownChannelDirection(channel: 2, value: 2))
        #expect(set(chan(1, C.access), 0) == .unknownChannelAccess(channel: 1, endpoint: 0, value: 0))
        #expect(set(chan(1, C.access + 1), 2) == .unknownChannelAccess(channel: 1, endpoint: 1, value: 2))
        #expect(set(chan(0, C.access + 1), 0) == .unknownChannelAccess(channel: 0, endpoint: 1, value: 0))   // on a queue too
        #expect(set(chan(0, C.doorbell), 2) == .unknownDoorbellValue(channel: 0, value: 2))
        #expect(set(chan(2, C.name + 3), 0x61) == .reservedNotZero(offset: UInt64(chan(2, C.name + 3))))
        #expect(set(chan(2, C.reserved), 1) == .reservedNotZero(offset: UInt64(chan(2, C.reserved))))
        #expect(set(chan(0, C.end - 1), 1) == .reservedNotZero(offset: UInt64(chan(0, C.end - 1))))
        // An image may not start inside the channel records or the signature that follows them.
        #expect(set(rec(0, BundleFormat.Record.imageOffset), 1200, 8) == .imageOverlapsManifest(partition: 0, offset: 1200))
        #expect(set(rec(0, BundleFormat.Record.imageOffset), 1272, 8) == .imageOverlapsManifest(partition: 0, offset: 1272))
    }

    /// The reader checks structure only: endpoints and sizes that the plan rules reject decode,
    /// and `PartitionPlan.validate` reports them.
    @Test func planRulesAreLeftToValidation() {
        let good = channelBundle()
        let board = try! KnownBoards.qemuVirt.limits(ram: KnownBoards.qemuVirt.defaultRAM, hartMask: 0xFF)
        typealias C = BundleFormat.ChannelRecord
        func planError(_ offset: Int, _ value: UInt64, _ width: Int = 1) -> PlanError? {
            var b = good; put(&b, offset, value, width)
            guard let plan = readPlan(b) else { return nil }
            do throws(PlanError) { try plan.validate(for: board); return nil } catch { return error }
        }
        #expect(planError(chan(0, C.endpoints), 200) == .channelUnknownPartition(channel: 0, endpoint: 0))
        #expect(planError(chan(0, C.endpoints + 1), 3) == .channelUnknownPartition(channel: 0, endpoint: 1))
        #expect(planError(chan(0, C.endpoints + 1), 0) == .channelSameEndpoints(channel: 0))
        #expect(planError(chan(0, C.depth), 0, 4) == .channelDepthOutOfRange(channel: 0, depth: 0))
        #expect(planError(chan(0, C.messageSize), 4097, 4) == .channelMessageSizeOutOfRange(channel: 0, size: 4097))
        #expect(planError(chan(0, C.size), 0x1000, 8) == .channelFieldNotForKind(channel: 0, field: .size))
        #expect(planError(chan(1, C.depth), 1, 4) == .channelFieldNotForKind(channel: 1, field: .depth))
        #expect(planError(chan(1, C.size), 0x1001, 8) == .channelSizeInvalid(channel: 1, size: 0x1001))
        #expect(planError(chan(1, C.name), 0x41) == .channelInvalidNameCharacter(channel: 1))
        // A name length of 0 leaves the name's bytes where padding must be: a structural error.
        #expect(readError({ var b = good; b[chan(1, C.nameLength)] = 0; return b }())
                == .reservedNotZero(offset: UInt64(chan(1, C.name))))
    }

    /// Each one-byte field of a channel record set to every value: an unknown value gives its own
    /// error, a known one decodes to exactly that value.
    @Test func everyValueOfEachCodedField() {
        let good = channelBundle()
        typealias C = BundleFormat.ChannelRecord
        for c in 0..<3 {
            for v in 0...255 {
                let value = UInt8(v)
                func with(_ field: Int) -> [UInt8] { var b = good; b[chan(c, field)] = value; return b }
                if let kind = ChannelKind(rawValue: value) {
                    #expect(readPlan(with(C.kind))?.channel(c).kind == kind)
                } else {
                    #expect(readError(with(C.kind)) == .unknownChannelKind(channel: c, value: value))
                }
                if let direction = ChannelDirection(rawValue: value) {
                    #expect(readPlan(with(C.direction))?.channel(c).direction == direction)
                } else {
                    #expect(readError(with(C.direction)) == .unknownChannelDirection(channel: c, value: value))
                }
                for e in 0..<2 {
                    if let access = SharedAccess(rawValue: value) {
                        #expect(readPlan(with(C.access + e))?.channel(c).access[e] == access)
                    } else {
                        #expect(readError(with(C.access + e)) == .unknownChannelAccess(channel: c, endpoint: e, value: value))
                    }
                }
                if value <= 1 {
                    #expect(readPlan(with(C.doorbell))?.channel(c).doorbell == (value == 1))
                } else {
                    #expect(readError(with(C.doorbell)) == .unknownDoorbellValue(channel: c, value: value))
                }
                let nameLength = channelPlan().0.channel(c).name.count
                if v > 16 {
                    #expect(readError(with(C.nameLength)) == .channelNameTooLong(channel: c, length: v))
                } else if v < nameLength {
                    #expect(readError(with(C.nameLength)) == .reservedNotZero(offset: UInt64(chan(c, C.name + v))))
                } else {
                    #expect(readPlan(with(C.nameLength))?.channel(c).name.count == v)   // grows into zero padding
                }
                // Endpoints are any byte (plan validation checks them).
                #expect(readPlan(with(C.endpoints))?.channel(c).endpoints[0] == value)
                #expect(readPlan(with(C.endpoints + 1))?.channel(c).endpoints[1] == value)
            }
        }
    }

    @Test func everyTruncationFails() {
        let good = channelBundle()
        for n in 0..<good.count {
            #expect(readError(Array(good[0..<n])) != nil, "prefix of \(n) bytes")
        }
        #expect(readError(good + [0]) == .trailingBytes(declared: UInt64(channelTotal), available: UInt64(channelTotal + 1)))
    }

    @Test func everyReservedByteOfAChannelRecordMustBeZero() {
        let good = channelBundle()
        let (plan, _) = channelPlan()
        typealias C = BundleFormat.ChannelRecord
        var offsets: [Int] = Array(BundleFormat.Header.reserved..<BundleFormat.Header.reservedEnd)
        for c in 0..<3 {
            offsets += Array(chan(c, C.name + plan.channel(c).name.count)..<chan(c, C.name + C.nameCapacity))
            offsets += Array(chan(c, C.reserved)..<chan(c, C.end))
        }
        offsets += [1293, 1294, 1295]   // padding after image #0
        for i in offsets {
            var b = good
            b[i] = 0x80
            #expect(readError(b) == .reservedNotZero(offset: UInt64(i)), "offset \(i)")
        }
    }

    /// Every byte is signed, the signature, inside an image, or required zero (as for the
    /// bundle without channels): a change the reader accepts outside the payload is in the manifest.
    @Test func everyByteIsSignedHashedOrZero() {
        let good = channelBundle()
        let payload = [1216..<1280, 1280..<1293, 1296..<1304, 1304..<1309] + (0..<3).map { (rec($0, 224)..<rec($0, 288)) }
        for i in 0..<good.count {
            var b = good
            b[i] ^= 0x5A
            let accepted = readError(b) == nil
            if payload.contains(where: { $0.contains(i) }) {
                #expect(accepted, "byte \(i) is payload")
            } else if accepted {
                #expect(i < channelManifestLength, "byte \(i) outside the manifest changed without the reader noticing")
            }
        }
    }

    /// Flipping any byte of a channel record either fails or decodes consistently; the survivors
    /// are exactly the fields whose every value is structurally valid.
    @Test func everySingleByteFlipInTheChannelRecords() {
        let good = channelBundle()
        typealias C = BundleFormat.ChannelRecord
        var survivors = Set<Int>()
        for i in 1024..<channelManifestLength {
            var b = good
            b[i] ^= 0xFF
            if case .success(let (plan, ranges, images)) = read(b) {
                checkInvariants(b, plan, ranges, images)
                survivors.insert((i - 1024) % 64)
            }
        }
        // Endpoints, the name's used bytes, depth, message size, size; 0xFF is never a valid kind,
        // direction, access, doorbell or name length, nor a reserved byte.
        let expected = Set([C.endpoints, C.endpoints + 1] + Array(C.name..<(C.name + 16)) + Array(C.depth..<C.reserved))
        #expect(survivors == expected)
    }

    @Test func aFullPlanRoundTrips() throws {
        // 8 partitions and 16 channels: the largest manifest.
        var plan = PartitionPlan()
        var images: [[UInt8]] = []
        for p in 0..<8 {
            var spec = PartitionSpec()
            spec.name = text("p\(p)")
            _ = spec.harts.append(UInt32(p))
            spec.memory = HostRegion(base: HostPhysAddr(0x8400_0000 + UInt64(p) * 0x20_0000), size: 0x20_0000)
            spec.imageSize = 8
            _ = plan.append(spec)
            images.append([UInt8](repeating: UInt8(p), count: 8))
        }
        for c in 0..<16 {
            var ch = ChannelSpec()
            ch.name = text("c\(c)")
            ch.kind = c % 2 == 0 ? .queue : .sharedMemory
            ch.endpoints = [UInt8(c % 8), UInt8((c + 1) % 8)]
            if ch.kind == .queue { ch.depth = 1; ch.messageSize = 8 } else { ch.size = 0x1000 }
            let added = plan.appendChannel(ch)
            #expect(added)
        }
        let bytes = encode(plan, images)
        #expect(bytes.count == 64 + 8 * 320 + 16 * 64 + 64 + 8 * 8)
        let (decoded, _, _) = try read(bytes).get()
        #expect(decoded.count == 8 && decoded.channelCount == 16)
        for c in 0..<16 { #expect(sameChannel(decoded.channel(c), plan.channel(c))) }
    }
}
