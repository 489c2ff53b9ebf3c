// Optional instructions the hypervisor uses when the harts have them: Zknh or Zbb for SHA-512 (image and identity hashing).
import BulkheadCore

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
        if zbb && zknh { function = ExtensionCode.sha512Zknh; name = "Zknh instructions" }
        else if zbb { function = ExtensionCode.sha512Zbb; name = "Zbb rotations" }
    }
    guard let function else { log { out in out.write("SHA-512: "); out.write(name) }; return }
    SHA512.compressFunction = function
    let abc: StaticString = "abc"
    let passed = abc.withUTF8Buffer { SHA512.hash(UnsafeRawBufferPointer($0)) } == SHA512Digest(bytes: knownAnswer)
    if !passed { SHA512.compressFunction = nil }
    log { out in
        out.write("SHA-512: "); out.write(name)
        out.write(passed ? " (known-answer test passed)" : " FAILED the known-answer test; portable code used")
    }
}

/// SHA-512("abc"), FIPS 180-4 / NIST's example values.
private let knownAnswer: InlineArray<64, UInt8> = [
    0xdd, 0xaf, 0x35, 0xa1, 0x93, 0x61, 0x7a, 0xba, 0xcc, 0x41, 0x73, 0x49, 0xae, 0x20, 0x41, 0x31,
    0x12, 0xe6, 0xfa, 0x4e, 0x89, 0xa9, 0x7e, 0xa2, 0x0a, 0x9e, 0xee, 0xe6, 0x4b, 0x55, 0xd3, 0x9a,
    0x21, 0x92, 0x99, 0x2a, 0x27, 0x4f, 0xc1, 0xa8, 0x36, 0xba, 0x3c, 0x23, 0xa3, 0xfe, 0xeb, 0xbd,
    0x45, 0x4d, 0x44, 0x23, 0x64, 0x3c, 0xe8, 0x0e, 0x2a, 0x9a, 0xc9, 0x4f, 0xa5, 0x4c, 0xa4, 0x9f,
]
