// The monitor's C entry points on the host: a fake flash, a device tree whose RAM covers the test's buffers, swift-crypto as the reference.
import BulkheadCore
import Crypto
import Foundation
import Testing
@testable import MonitorHost

/// The fake flash's device-secret record (nil: erased); read by `fakeFlashRead`.
nonisolated(unsafe) var fakeSecretRecord: [UInt8]? = nil

let fakeFlashRead: FlashRead = { _, offset, buffer, length in
    guard let buffer, length == 64, offset == UInt64(FlashLayout.qemuVirt.deviceSecret.offset) else { return -1 }
    let bytes = fakeSecretRecord ?? [UInt8](repeating: 0xFF, count: 64)
    bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: 64) }
    return 0
}
let quietPutChar: PutChar = { _ in }

/// A signed next stage in a host buffer: the 4096-byte header then the image, and the tree.
final class Fixture {
    let signer = try! Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 0x31, count: 32))
    let buffer: UnsafeMutableRawBufferPointer
    let image: [UInt8] = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
    var dtb: [UInt8] = []
    var imageAddress: UInt64 { UInt64(UInt(bitPattern: buffer.baseAddress!)) + 4096 }
    var keyID: UInt64 { Array(Crypto.SHA512.hash(data: signer.publicKey.rawRepresentation)).prefix(8).reversed().reduce(0) { $0 << 8 | UInt64($1) } }

    init() throws {
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096 + 3000, alignment: 4096)
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        let base = UInt64(UInt(bitPattern: buffer.baseAddress!))
        let dts = """
            /dts-v1/;
            / { #address-cells = <2>; #size-cells = <2>;
              cpus { #address-cells = <1>; #size-cells = <0>; timebase-frequency = <10000000>;
                cpu@0 { device_type = "cpu"; reg = <0>; riscv,isa = "rv64imac"; status = "okay"; }; };
              memory@0 { device_type = "memory"; reg = <\(base >> 32) \(base & 0xFFFF_FFFF) 0x0 0x2000>; }; };
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/dtc")
        p.arguments = ["-q", "-I", "dts", "-O", "dtb"]
        let input = Pipe(), output = Pipe()
        p.standardInput = input; p.standardOutput = output
        try p.run()
        input.fileHandleForWriting.write(Data(dts.utf8)); try input.fileHandleForWriting.close()
        dtb = [UInt8](output.fileHandleForReading.readDataToEndOfFile())
        p.waitUntilExit()
        writeHeader()
        var anchors = TrustAnchors()
        let key = signer.publicKey.rawRepresentation
        key.withUnsafeBytes { if let a = TrustAnchor(publicKey: $0) { _ = anchors.add(a) } }
        hostTrustAnchors = (anchors, RevokedKeys())
    }
    deinit { buffer.deallocate() }

    /// Writes the image and a correctly signed header (then tests may change bytes).
    func writeHeader(loadAddress: UInt64? = nil, size: UInt64 = 3000, version: UInt32 = 1) {
        var h = [UInt8](repeating: 0, count: 104)
        func put(_ v: UInt64, _ at: Int) { for i in 0..<8 { h[at + i] = UInt8(truncatingIfNeeded: v >> UInt64(8 * i)) } }
        h.replaceSubrange(0..<8, with: Array("BHNEXT01".utf8))
        put(UInt64(version), 8)
        put(loadAddress ?? imageAddress, 16); put(size, 24); put(keyID, 32)
        h.replaceSubrange(40..<104, with: Array(Crypto.SHA512.hash(data: image)))
        let signed = h + Array(try! signer.signature(for: h))
        for i in 0..<signed.count { buffer[i] = signed[i] }
        for i in 0..<image.count { buffer[4096 + i] = image[i] }
    }

    /// Init then verify. The tree pointer outlives withUnsafeBytes: `dtb` is never mutated after
    /// init, so its storage stays put (a test-only shortcut).
    func verify() -> Int32 {
        dtb.withUnsafeBytes { _ = bulkheadMonitorInit($0.baseAddress, fakeFlashRead, nil, quietPutChar) }
        return dtb.withUnsafeBytes { _ in bulkheadMonitorVerifyOnStack(imageAddress, 1 << 20) }
    }
}

@Suite(.serialized) struct MonitorCAPITests {
    let secret: [UInt8] = (0..<32).map { UInt8(0x90 + $0) }

    func provision() {
        var s = SecretBytes(repeating: 0)
        for i in 0..<32 { s[i] = secret[i] }
        let record = DeviceSecretRecord.encode(s)
        fakeSecretRecord = (0..<64).map { record[$0] }
    }

    @Test func acceptsAndRefusesEachWayWithItsCode() throws {
        let f = try Fixture()
        // The tree must stay alive while verify reads it: keep it in the fixture for the call.
        fakeSecretRecord = nil
        #expect(f.dtb.withUnsafeBytes { d in bulkheadMonitorInit(d.baseAddress, fakeFlashRead, nil, quietPutChar) } == 0)
        #expect(f.verify() == 0)
        f.buffer[0] ^= 1; #expect(f.verify() == -2); f.writeHeader()                       // no header
        f.writeHeader(version: 2); #expect(f.verify() == -3)                                // bad version
        f.writeHeader(loadAddress: f.imageAddress + 8); #expect(f.verify() == -4)           // wrong address
        f.writeHeader(size: 0); #expect(f.verify() == -5)                                   // bad size
        f.writeHeader(size: 1 << 21); #expect(f.verify() == -5)
        f.writeHeader(); f.buffer[32] ^= 1; #expect(f.verify() == -7)                       // unknown key
        f.writeHeader(); f.buffer[110] ^= 1; #expect(f.verify() == -8)                      // bad signature
        f.writeHeader(); f.buffer[4096 + 5] ^= 1; #expect(f.verify() == -9)                 // digest mismatch
        f.writeHeader()
        var revoked = RevokedKeys()
        _ = revoked.add(SigningKeyID(raw: f.keyID))
        hostTrustAnchors.revoked = revoked
        #expect(f.verify() == -6)                                                           // revoked key
    }

    @Test func noDeviceSecretNoCDI() throws {
        let f = try Fixture()
        fakeSecretRecord = nil
        #expect(f.verify() == 0)
        #expect(bulkheadMonitorHasCDI() == 0)
        var word: UInt64 = 0
        #expect(bulkheadMonitorTakeCDIWord(0, &word) == -1)
        #expect(bulkheadMonitorCertificateWord(0, &word) == -1)
    }

    @Test func layeredDerivationMatchesSwiftCryptoAndTheCDIGoesOnceInOrder() throws {
        let f = try Fixture()
        provision()
        #expect(f.verify() == 0)
        let measurement = Array(Crypto.SHA512.hash(data: f.image))
        var got = [UInt8](repeating: 0, count: 64)
        #expect(got.withUnsafeMutableBufferPointer { bulkheadMonitorMeasurement($0.baseAddress) } == 0)
        #expect(got == measurement)
        // Reference chain with swift-crypto.
        let cdi = HKDF<Crypto.SHA512>.deriveKey(inputKeyMaterial: SymmetricKey(data: secret), salt: Array("Bulkhead hypervisor CDI v1".utf8),
                                                info: measurement, outputByteCount: 64).withUnsafeBytes { Array($0) }
        let attSeed = HKDF<Crypto.SHA512>.expand(pseudoRandomKey: SymmetricKey(data: cdi), info: Array("Bulkhead attestation key v1".utf8),
                                                 outputByteCount: 32).withUnsafeBytes { Array($0) }
        let monSeed = HKDF<Crypto.SHA512>.deriveKey(inputKeyMaterial: SymmetricKey(data: secret), salt: Array("Bulkhead monitor device key v1".utf8),
                                                    info: [UInt8](), outputByteCount: 32).withUnsafeBytes { Array($0) }
        // The certificate: public, readable any time, signed by the monitor key over the attestation key.
        var cert = [UInt8]()
        var word: UInt64 = 0
        for i in 0..<24 {
            #expect(bulkheadMonitorCertificateWord(UInt32(i), &word) == 0)
            for b in 0..<8 { cert.append(UInt8(truncatingIfNeeded: word >> UInt64(8 * b))) }
        }
        #expect(bulkheadMonitorCertificateWord(24, &word) == -1)
        let monitorKey = try Curve25519.Signing.PrivateKey(rawRepresentation: monSeed).publicKey
        #expect(monitorKey.isValidSignature(Data(cert[128..<192]), for: Data(cert[0..<128])))
        #expect(Array(cert[8..<72]) == measurement)
        #expect(Array(cert[72..<104]) == Array(try Curve25519.Signing.PrivateKey(rawRepresentation: attSeed).publicKey.rawRepresentation))
        // The CDI: out of order refused, then words 0...7 in order, then refused.
        #expect(bulkheadMonitorTakeCDIWord(1, &word) == -1)
        var taken = [UInt8]()
        for i in 0..<8 {
            #expect(bulkheadMonitorTakeCDIWord(UInt32(i), &word) == 0)
            for b in 0..<8 { taken.append(UInt8(truncatingIfNeeded: word >> UInt64(8 * b))) }
        }
        #expect(taken == cdi)
        #expect(bulkheadMonitorTakeCDIWord(0, &word) == -1)
        #expect(bulkheadMonitorTakeCDIWord(8, &word) == -1)
        #expect(bulkheadMonitorHasCDI() == 0)
    }

    @Test func keyServicesAndTheCDIExcludeEachOther() throws {
        let f = try Fixture()
        provision()
        #expect(f.verify() == 0)
        let out = f.imageAddress + 2904                    // 32 bytes inside the tree's RAM and the buffer
        var value: UInt64 = 0
        #expect(bulkheadMonitorKeyCallOnStack(10, 0, 0, 0, 0, &value) == -2)               // not offered: SBI_ERR_NOT_SUPPORTED
        #expect(bulkheadMonitorKeyCallOnStack(9, out, 32, 0, 7, &value) == 0)               // random
        #expect((0..<32).contains { f.buffer[4096 + 2904 + $0] != 0 })
        var word: UInt64 = 0
        #expect(bulkheadMonitorTakeCDIWord(0, &word) == -1)                                // a key call came first
        // The other order: the CDI taken first, then every key call is denied.
        f.writeHeader()                                      // the random bytes landed in the image
        #expect(f.verify() == 0)
        #expect(bulkheadMonitorTakeCDIWord(0, &word) == 0)
        #expect(bulkheadMonitorKeyCallOnStack(9, out, 32, 0, 7, &value) == -4)              // SBI_ERR_DENIED
    }
}
