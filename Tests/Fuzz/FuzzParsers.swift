// libFuzzer entry point: feeds arbitrary bytes to the parsers that read untrusted input at boot, and SBI calls to the dispatch.
// Built by `make fuzz` with `swiftc -sanitize=fuzzer,address` over the Core sources; any crash,
// trap or sanitizer report fails the run. The first input byte picks the target: 0 the bundle
// reader, 1 the device-tree reader, 2 a guest's SBI calls (FuzzDispatch.swift).
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let body = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    switch data[0] % 3 {
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
        fuzzDispatch(body)
    default:
        if let host = try? HostDescription(dtb: body) {
            precondition(host.isa.count <= HostDescription.isaCapacity)
        }
    }
    return 0
}
