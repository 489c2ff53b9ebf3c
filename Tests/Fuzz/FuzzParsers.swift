// libFuzzer entry point: feeds arbitrary bytes to the parsers that read untrusted input at boot, and SBI calls to the dispatch.
// Built by `make fuzz` with `swiftc -sanitize=fuzzer,address` over the Core sources; any crash,
// trap or sanitizer report fails the run. The first input byte picks the target: 0 the bundle
// reader, 1 the device-tree reader, 2 the partition-update reader, 3 a guest's SBI calls
// (FuzzDispatch.swift), 4 the system report reader (what `attest verify --system` parses).
import Foundation

/// A fixed two-partition bundle (fake digests and signature: only structure matters) that a
/// parsed update's partition, policy and fit checks run against.
private let updateTarget: [UInt8] = {
    var plan = PartitionPlan()
    for i in 0..<2 {
        var spec = PartitionSpec()
        spec.name = Array((i == 0 ? "hello" : "pong").utf8).withUnsafeBytes { PartitionName(bytes: $0)! }
        _ = spec.harts.append(UInt32(i + 1))
        spec.memory = HostRegion(base: HostPhysAddr(0x8400_0000 + UInt64(i) * 0x10_0000), size: 0x10_0000)
        spec.entry = GuestPhysAddr(0x8000_0000)
        spec.imageSize = 8
        _ = plan.append(spec)
    }
    return BundleWriter.encode(plan: plan, images: [[UInt8](repeating: 0x13, count: 8), [UInt8](repeating: 0x13, count: 8)],
                               securityVersion: 0, keyID: SigningKeyID(raw: 0), digest: { _ in [UInt8](repeating: 0, count: 64) },
                               sign: { _ in [UInt8](repeating: 0, count: 64) })
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let body = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    switch data[0] % 5 {
    case 0:
        if let bundle = try? BundleReader(bytes: body) {
            // Every range the reader hands out must lie inside the input.
            var p = 0
            while p < bundle.plan.count {
                let range = bundle.imageRange(p)
                precondition(range.offset >= 0 && range.count >= 0 && range.offset + range.count <= body.count,
                             "image range outside the bundle")
                p += 1
            }
            // Channel records lie inside the signed manifest, and plan validation (which the
            // kernel runs next) never traps on whatever the records hold.
            let manifest = bundle.manifestRange
            var c = 0
            while c < bundle.plan.channelCount {
                let range = bundle.channelRecordRange(c)
                precondition(range.offset >= 0 && range.offset + range.count <= manifest.count, "channel record outside the manifest")
                c += 1
            }
            let board = BoardLimits(ram: HostRegion(base: HostPhysAddr(0x8000_0000), size: 0x4000_0000), hartMask: 0xF,
                                    reserved: ReservedRegions(HostRegion(base: HostPhysAddr(0x8000_0000), size: 0x400_0000), kind: .hypervisor),
                                    sharedPool: HostRegion(base: HostPhysAddr(0x8080_0000), size: 0x80_0000))
            _ = try? bundle.plan.validate(for: board)
        }
    case 2:
        if let update = try? PartitionUpdateReader(bytes: body) {
            // The payloads lie inside the input, after the header and the signature.
            for range in [update.imageRange, update.initrdRange] {
                precondition(range.count == 0 || (range.offset >= PartitionUpdateFormat.imageOffset && range.count >= 0
                                                  && range.offset + range.count <= body.count), "payload outside the update")
            }
            // The checks after the signature never trap on whatever the authenticated header holds.
            updateTarget.withUnsafeBytes { raw in
                guard let bundle = try? BundleReader(bytes: raw) else { preconditionFailure("the fixed bundle parses") }
                _ = try? PartitionUpdateVerifier.checkTarget(update: update, installed: bundle)
                _ = try? PartitionUpdateVerifier.checkFit(update: update, installed: bundle)
            }
            _ = try? PartitionUpdateVerifier.checkDigests(update: update)
        }
    case 3:
        fuzzDispatch(body)
    case 4:
        if let report = try? SystemReport.Reader(bytes: body) {
            // Every entry lies inside the report, before the signature.
            precondition(report.bytes.count == SystemReport.size(partitions: report.partitionCount, channels: report.channelCount))
            let last = report.channelCount > 0 ? report.channelEntry(report.channelCount - 1) : report.partitionEntry(report.partitionCount - 1)
            precondition(last.count > 0 && report.signedBytes.count == body.count - SystemReport.signatureSize, "entry outside the report")
            precondition(report.caller < report.partitionCount)
        }
    default:
        if let host = try? HostDescription(dtb: body) {
            precondition(host.isa.count <= HostDescription.isaCapacity)
        }
    }
    return 0
}
