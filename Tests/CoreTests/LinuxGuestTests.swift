// Linux guests in Core: the Image header, the Linux image kind and initrd records in the bundle,
// the plan's placement rules, and the initrd in the guest's device tree.

import Testing
@testable import BulkheadCore

private func name(_ s: String) -> PartitionName { Array(s.utf8).withUnsafeBytes { PartitionName(bytes: $0)! } }

/// A 64-byte RV64 Image header (Documentation/arch/riscv/boot-image-header.rst) followed by `body` bytes.
func linuxImage(textOffset: UInt64 = 0x20_0000, imageSize: UInt64 = 0x40_0000, flags: UInt64 = 0, body: Int = 64,
                magic2: UInt32 = LinuxImageHeader.magic2) -> [UInt8] {
    var b = [UInt8](repeating: 0, count: 64 + body)
    BundleWriter.put(&b, 0, 0x0000_006F, 4)            // code0: j .
    BundleWriter.put(&b, 8, textOffset, 8)
    BundleWriter.put(&b, 16, imageSize, 8)
    BundleWriter.put(&b, 24, flags, 8)
    BundleWriter.put(&b, 32, 0x2, 4)                   // version 0.2
    BundleWriter.put(&b, 48, 0x5643_5349_52, 8)        // "RISCV"
    BundleWriter.put(&b, 56, UInt64(magic2), 4)
    return b
}

/// Partition 0: a Bulkhead guest (flat, no initrd); partition 1: Linux with an initrd.
private func linuxPlan(initrd: Int = 100) -> (PartitionPlan, [[UInt8]], [[UInt8]]) {
    var plan = PartitionPlan()
    var flat = PartitionSpec()
    flat.name = name("beat")
    _ = flat.harts.append(0)
    flat.memory = HostRegion(base: HostPhysAddr(0x8400_0000), size: 0x20_0000)
    flat.imageSize = 16
    _ = plan.append(flat)
    var linux = PartitionSpec()
    linux.name = name("linux")
    _ = linux.harts.append(1); _ = linux.harts.append(2)
    linux.memory = HostRegion(base: HostPhysAddr(0x9000_0000), size: 0x1000_0000)
    linux.imageKind = .linux
    linux.entry = GuestPhysAddr(0x8020_0000)
    let image = linuxImage()
    linux.imageSize = UInt64(image.count)
    linux.initrdSize = UInt64(initrd)
    _ = plan.append(linux)
    return (plan, [[UInt8](repeating: 0x13, count: 16), image], [[], (0..<initrd).map { UInt8(truncatingIfNeeded: $0 * 7 + 1) }])
}

private func digest(_ bytes: [UInt8]) -> [UInt8] {
    let sum = bytes.reduce(UInt8(0), &+)
    return (0..<64).map { UInt8(truncatingIfNeeded: bytes.count &+ $0) ^ sum }
}
private func sign(_ manifest: [UInt8]) -> [UInt8] { (0..<64).map { UInt8(truncatingIfNeeded: manifest.count &* $0) } }

private func encode(_ plan: PartitionPlan, _ images: [[UInt8]], _ initrds: [[UInt8]]) -> [UInt8] {
    BundleWriter.encode(plan: plan, images: images, initrds: initrds, securityVersion: 1, keyID: SigningKeyID(raw: 7),
                        digest: digest, sign: sign)
}

private func readError(_ bytes: [UInt8]) -> BundleError? {
    bytes.withUnsafeBytes { raw in
        do throws(BundleError) { _ = try BundleReader(bytes: raw); return nil } catch { return error }
    }
}

// Layout of linuxPlan()'s bundle: header 64, 2 records (640), 1 initrd record (96): manifest 800;
// signature [800, 864); image 0 at 864 (16), image 1 at 880 (128), the initrd at 1008 (100): 1108.
private let initrdRecord = 64 + 2 * 320

@Suite("Linux guests: Image header, initrd records, placement, device tree")
struct LinuxGuestTests {
    @Test func imageHeader() throws {
        let image = linuxImage(textOffset: 0x20_0000, imageSize: 0x123_4000)
        let h = try image.withUnsafeBytes { (raw) throws(LinuxImageHeader.Problem) in try LinuxImageHeader(raw) }
        #expect(h.textOffset == 0x20_0000 && h.imageSize == 0x123_4000 && h.version == 2)
        #expect(h.footprint(fileLength: 100) == 0x123_4000)
        #expect(LinuxImageHeader(image: linuxImage(imageSize: 0))?.footprint(fileLength: 999) == 999)
        func problem(_ b: [UInt8]) -> LinuxImageHeader.Problem? {
            b.withUnsafeBytes { raw in
                do throws(LinuxImageHeader.Problem) { _ = try LinuxImageHeader(raw); return nil } catch { return error }
            }
        }
        #expect(problem(Array(image[0..<63])) == .tooShort(63))
        #expect(problem(linuxImage(magic2: 0x0543_5353)) == .noMagic)
        #expect(problem(linuxImage(flags: 1)) == .bigEndian)
        #expect(problem(linuxImage(textOffset: 0x10_0000)) == .textOffsetMisaligned(0x10_0000))
        #expect(problem(linuxImage(textOffset: 0)) == nil)
    }

    @Test func roundTripWithAnInitrd() throws {
        let (plan, images, initrds) = linuxPlan()
        let b = encode(plan, images, initrds)
        #expect(b.count == 1108)
        #expect(b[44] == 1 && b[45] == 0 && b[46] == 96 && b[47] == 0)       // initrd_count 1, record size 96
        #expect(b[64 + 3] == 0 && b[64 + 320 + 3] == 1)                       // image kinds: flat, linux
        #expect(b[initrdRecord] == 1)                                         // names partition 1
        #expect(BundleWriter.get(b, initrdRecord + 8, 8) == 1008 && BundleWriter.get(b, initrdRecord + 16, 8) == 100)
        try b.withUnsafeBytes { raw throws in
            let r = try BundleReader(bytes: raw)
            #expect(r.initrdCount == 1)
            #expect(r.manifestRange == BundleRange(offset: 0, count: 800))
            #expect(r.signatureRange == BundleRange(offset: 800, count: 64))
            #expect(r.plan[0].imageKind == .flat && r.plan[0].initrdSize == 0)
            #expect(r.plan[1].imageKind == .linux && r.plan[1].initrdSize == 100)
            #expect(r.initrdRange(0).count == 0 && r.initrd(0).isEmpty && r.initrdDigest(0).isEmpty)
            #expect(r.initrdRange(1) == BundleRange(offset: 1008, count: 100))
            #expect([UInt8](r.initrd(1)) == initrds[1])
            #expect([UInt8](r.initrdDigest(1)) == digest(initrds[1]))
            #expect([UInt8](r.image(1)) == images[1])
            #expect(r.initrdRange(9).count == 0)
        }
    }

    @Test func withoutInitrdsTheHeaderFieldsStayZero() throws {
        let (plan, images, _) = linuxPlan(initrd: 0)
        var p = plan
        var s = p[1]; s.initrdSize = 0; p.partitions[1] = s
        let b = encode(p, images, [[], []])
        #expect(b[44..<48].allSatisfy { $0 == 0 })
        #expect(b == encode(p, images, []))
    }

    @Test func initrdRecordErrors() {
        let (plan, images, initrds) = linuxPlan()
        let good = encode(plan, images, initrds)
        #expect(readError(good) == nil)
        func with(_ at: Int, _ value: UInt64, _ width: Int) -> BundleError? {
            var b = good; BundleWriter.put(&b, at, value, width); return readError(b)
        }
        #expect(with(64 + 320 + 3, 3, 1) == .unknownImageKind(partition: 1, value: 3))
        #expect(with(44, 9, 2) == .tooManyInitrds(count: 9))
        #expect(with(46, 64, 2) == .wrongInitrdRecordSize(64, count: 1))
        #expect(with(44, 0, 2) == .wrongInitrdRecordSize(96, count: 0))
        #expect(with(initrdRecord, 2, 1) == .initrdUnknownPartition(record: 0, partition: 2))
        #expect(with(initrdRecord + 16, 0, 8) == .initrdEmpty(partition: 1))
        #expect(with(initrdRecord + 8, 880, 8) == .initrdOverlap(partition: 1))          // onto image 1
        #expect(with(initrdRecord + 8, 1004, 8) == .imageMisaligned(partition: 1, offset: 1004))
        #expect(with(initrdRecord + 16, 101, 8) == .imageOutOfBounds(partition: 1, offset: 1008, length: 101))
        #expect(with(initrdRecord + 8, 800, 8) == .imageOverlapsManifest(partition: 1, offset: 800))
        #expect(with(initrdRecord + 16, 99, 8) == .bytesAfterImages(end: 1107, totalLength: 1108))
        for at in Array(initrdRecord + 1..<initrdRecord + 8) + Array(initrdRecord + 24..<initrdRecord + 32) + Array(53..<64) {
            #expect(with(at, 0x80, 1) == .reservedNotZero(offset: UInt64(at)), "offset \(at)")
        }
        // Every truncation fails; no byte past the end is accepted.
        for n in stride(from: 0, to: good.count, by: 7) { #expect(readError(Array(good[0..<n])) != nil) }
        #expect(readError(good + [0]) != nil)
    }

    @Test func initrdRecordsInPartitionOrderOnce() {
        var (plan, images, initrds) = linuxPlan()
        var flat = plan[0]; flat.initrdSize = 8; plan.partitions[0] = flat
        initrds[0] = [1, 2, 3, 4, 5, 6, 7, 8]
        let good = encode(plan, images, initrds)
        #expect(readError(good) == nil)
        var swapped = good
        swapped[initrdRecord] = 1; swapped[initrdRecord + 96] = 0
        #expect(readError(swapped) == .initrdOutOfOrder(record: 1, partition: 0))
        var twice = good
        twice[initrdRecord] = 1
        #expect(readError(twice) == .initrdOutOfOrder(record: 1, partition: 1))
    }

    @Test func placementAndValidation() throws {
        let (plan, _, _) = linuxPlan(initrd: 0x1000 + 1)
        let board = KnownBoards.qemuVirt.defaultLimits
        try plan.validate(for: board)
        let linux = plan[1]
        #expect(linux.imageLoadOffset == 0x20_0000)
        #expect(linux.deviceTreeAddress == GuestPhysAddr(0x8FFF_0000))
        #expect(linux.initrdAddress == GuestPhysAddr(0x8FFE_E000))   // 4 KiB aligned, below the tree
        #expect(plan[0].imageLoadOffset == 0)

        func error(_ change: (inout PartitionSpec) -> Void) -> PlanError? {
            var p = plan
            var s = p[1]; change(&s); p.partitions[1] = s
            do throws(PlanError) { try p.validate(for: board); return nil } catch { return error }
        }
        #expect(error { $0.entry = GuestPhysAddr(0x8010_0000) } == .linuxEntryMisaligned(partition: 1))
        #expect(error { $0.entry = GuestPhysAddr(0x7FE0_0000) } == .linuxEntryMisaligned(partition: 1))
        #expect(error { $0.entry = GuestPhysAddr(0x9000_0000) } == .linuxEntryMisaligned(partition: 1))
        #expect(error { $0.entry = GuestPhysAddr(0x8000_0000) } == nil)
        #expect(error { $0.initrdSize = 0x1000_0000 } == .initrdTooLarge(partition: 1, initrdSize: 0x1000_0000, limit: 0xFFF_0000))
        // The image may not reach the initrd.
        #expect(error { $0.initrdSize = 0xFFF_0000 - 0x20_1000; $0.imageSize = 0x1000 } == nil)
        #expect(error { $0.initrdSize = 0xFFF_0000 - 0x20_1000; $0.imageSize = 0x1001 }
                == .imageTooLarge(partition: 1, imageSize: 0x1001, limit: 0x1000))
        #expect(error { $0.initrdSize = 0xFFF_0000 - 0x20_0000 } == .linuxEntryMisaligned(partition: 1))
        var message = StringSink()
        PlanError.linuxEntryMisaligned(partition: 1).write(to: &message, plan: plan)
        #expect(message.text == "partition #1 \"linux\", field entry: a Linux Image must be loaded at the RAM base plus a multiple of 2 MiB inside its RAM (its text_offset)")
    }

    @Test func deviceTreeNamesTheInitrd() throws {
        let (plan, _, _) = linuxPlan(initrd: 0x5000)
        var buffer = [UInt8](repeating: 0, count: Int(PlanLimits.deviceTreeReserve))
        let isa = Array("rv64imafdc_zicsr_zifencei_sstc".utf8), mmu = Array("riscv,sv48".utf8)
        let size = try buffer.withUnsafeMutableBytes { out in
            try isa.withUnsafeBytes { i in try mmu.withUnsafeBytes { m in
                try GuestDeviceTree.build(into: out, spec: plan[1], isa: i, mmuType: m, timebaseFrequency: 10_000_000, bootCount: 0)
            } }
        }
        let blob = Array(buffer[0..<size])
        try blob.withUnsafeBytes { raw in
            let reader = try FDTReader(raw)
            let chosen = try reader.node("/chosen")
            #expect(try reader.property("linux,initrd-start", in: chosen).u64() == 0x8FFE_B000)
            #expect(try reader.property("linux,initrd-end", in: chosen).u64() == 0x8FFF_0000)
        }
        // Without an initrd, neither property.
        let flatSize = try buffer.withUnsafeMutableBytes { out in
            try isa.withUnsafeBytes { i in try mmu.withUnsafeBytes { m in
                try GuestDeviceTree.build(into: out, spec: plan[0], isa: i, mmuType: m, timebaseFrequency: 10_000_000, bootCount: 0)
            } }
        }
        try Array(buffer[0..<flatSize]).withUnsafeBytes { raw in
            let reader = try FDTReader(raw)
            #expect(try reader.findProperty("linux,initrd-start", in: try reader.node("/chosen")) == nil)
        }
    }
}

@Suite("Guest device tree: riscv,isa-base and riscv,isa-extensions")
struct GuestISAExtensionsTests {
    private func extensions(_ isa: String) throws -> (base: String, list: [String])? {
        var spec = PartitionSpec()
        spec.name = Array("g".utf8).withUnsafeBytes { PartitionName(bytes: $0)! }
        _ = spec.harts.append(0)
        spec.memory = HostRegion(base: HostPhysAddr(0x8400_0000), size: 0x20_0000)
        var buffer = [UInt8](repeating: 0, count: 0x4000)
        let isaBytes = Array(isa.utf8), mmu = [UInt8]()
        let size = try buffer.withUnsafeMutableBytes { out in
            try isaBytes.withUnsafeBytes { i in try mmu.withUnsafeBytes { m in
                try GuestDeviceTree.build(into: out, spec: spec, isa: i, mmuType: m, timebaseFrequency: 1, bootCount: 0)
            } }
        }
        return try Array(buffer[0..<size]).withUnsafeBytes { raw in
            let reader = try FDTReader(raw)
            let cpu = try reader.node("/cpus/cpu@0")
            #expect(try reader.property("riscv,isa", in: cpu).string().text == isa)
            guard let base = try reader.findProperty("riscv,isa-base", in: cpu),
                  let list = try reader.findProperty("riscv,isa-extensions", in: cpu) else { return nil }
            let bytes = [UInt8](list.value)
            let names = bytes.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
            return (try base.string().text, names)
        }
    }

    @Test func qemuISAStringBecomesAList() throws {
        let got = try #require(try extensions("rv64imafdc_zicsr_zifencei_zihintpause_zba_zbb_zbc_zbs_sstc"))
        #expect(got.base == "rv64i")
        #expect(got.list == ["i", "m", "a", "f", "d", "c", "zicsr", "zifencei", "zihintpause", "zba", "zbb", "zbc", "zbs", "sstc"])
        let small = try #require(try extensions("rv32imac"))
        #expect(small.base == "rv32i" && small.list == ["i", "m", "a", "c"])
        #expect(try extensions("rv64imafdc_zve32x")?.list.last == "zve32x")
    }

    @Test func unusualStringsKeepRiscvIsaAlone() throws {
        for isa in ["rv64gc", "rv64imafdc_zicsr2p0", "RV64IMAC", "rv64e", "rv128i", "rv64i_Zba", "rv64imac__", "rv64"] {
            let got = try extensions(isa)
            if isa == "rv64imac__" { #expect(got?.list == ["i", "m", "a", "c"]); continue }
            #expect(got == nil, "\(isa)")
        }
    }
}

extension LinuxImageHeader {
    /// The header of `image`, or nil (test shorthand).
    init?(image: [UInt8]) {
        guard let h = image.withUnsafeBytes({ raw -> LinuxImageHeader? in
            do throws(LinuxImageHeader.Problem) { return try LinuxImageHeader(raw) } catch { return nil }
        }) else { return nil }
        self = h
    }
}

extension BundleWriter {
    /// Reads `width` bytes little-endian at `offset` (test shorthand).
    static func get(_ b: [UInt8], _ offset: Int, _ width: Int) -> UInt64 {
        (0..<width).reduce(UInt64(0)) { $0 | UInt64(b[offset + $1]) << UInt64(8 * $1) }
    }
}
