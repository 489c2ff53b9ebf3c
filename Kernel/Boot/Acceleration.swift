// Optional instructions the hypervisor uses when the harts have them: Zknh or Zbb for SHA-512 (image and identity hashing).
import BulkheadCore
import CArch

/// Installs the fastest SHA-512 compression function the first hart's `riscv,isa` allows
/// (Zknh with Zbb, then Zbb; Zkn and Zk include Zknh), after a known-answer test: the FIPS 180-4
/// example "abc" (NIST's SHA-512 example). A function that fails it is not used. Harts are taken
/// to be alike (as the device tree's first cpu); the boot log says which code hashes.
func selectSHA512(_ host: HostDescription) {
    var function: SHA512.CompressFunction? = nil
    var name: StaticString = "portable code (no Zbb or Zknh in riscv,isa)"
    host.isa.withBytes { isa in
        let zbb = HostDescription.isaHasExtension(isa, "zbb")
        let zknh = HostDescription.isaHasExtension(isa, "zknh") || HostDescription.isaHasExtension(isa, "zkn")
            || HostDescription.isaHasExtension(isa, "zk")
        if zbb && zknh { function = sha512_compress_zknh; name = "Zknh instructions" }
        else if zbb { function = sha512_compress_zbb; name = "Zbb rotations" }
    }
    guard let function else { log { out in out.write("SHA-512: "); out.write(name) }; return }
    SHA512.compressFunction = function
    let abc: StaticString = "abc"
    let digest = abc.withUTF8Buffer { SHA512.hash(UnsafeRawBufferPointer($0)) }
    let passed = digest.withBytes { d in
        knownAnswer.withUTF8Buffer { hex in
            var i = 0
            var same = true
            while i < 64 { same = same && d[i] == hexByte(hex, i); i += 1 }
            return same
        }
    }
    if !passed { SHA512.compressFunction = nil }
    log { out in
        out.write("SHA-512: "); out.write(name)
        out.write(passed ? " (known-answer test passed)" : " FAILED the known-answer test; portable code used")
    }
}

/// SHA-512("abc"), FIPS 180-4 / NIST's example values.
private let knownAnswer: StaticString =
    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"

private func hexByte(_ hex: UnsafeBufferPointer<UInt8>, _ i: Int) -> UInt8 {
    func nibble(_ c: UInt8) -> UInt8 { c <= UInt8(ascii: "9") ? c &- UInt8(ascii: "0") : c &- UInt8(ascii: "a") &+ 10 }
    return nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1])
}
