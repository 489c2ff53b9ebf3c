// libFuzzer entry point: feeds arbitrary bytes to the parsers that read untrusted input at boot.
// Built by `make fuzz` with `swiftc -sanitize=fuzzer,address` over the Core sources; any crash,
// trap or sanitizer report fails the run. The first input byte picks the parser.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let body = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    switch data[0] % 2 {
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
        }
    default:
        if let host = try? HostDescription(dtb: body) {
            precondition(host.isa.count <= HostDescription.isaCapacity)
        }
    }
    return 0
}
