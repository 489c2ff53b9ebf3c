// The monitor's C entry points on the host: a fake flash (secret, state record, power loss), a device tree whose RAM covers the test's buffers, swift-crypto as the reference.
import BulkheadCore
import Crypto
import Foundation
import Testing
@testable import MonitorHost

/// The fake flash's device-secret record (nil: erased); read by `fakeFlashRead`.
nonisolated(unsafe) var fakeSecretRecord: [UInt8]? = nil

/// The fake NOR flash's monitor-record blocks (MonitorRecordRegion.qemuVirt: two 256 KiB blocks
/// from `fakeRecordBase`), with the FlashDevice semantics (erase sets 0xFF, program only clears
/// bits) and a power-loss budget: after `fakePowerBudget` more program/erase steps (a byte each,
/// an erase counts 1) every step fails, a torn erase leaves the block half-erased, a torn program
/// leaves its last byte half-programmed.
nonisolated(unsafe) var fakeRecordBlocks = [UInt8](repeating: 0xFF, count: 0x8_0000)
nonisolated(unsafe) var fakePowerBudget = Int.max
nonisolated(unsafe) var fakeReadFails = false
let fakeRecordBase = 0x1EC_0000

func fakeStep() -> Bool {
    guard fakePowerBudget > 0 else { return false }
    fakePowerBudget -= 1
    return true
}

let fakeFlashRead: FlashRead = { _, offset, buffer, length in
    guard let buffer, !fakeReadFails else { return -1 }
    if length == 64, offset == UInt64(FlashLayout.qemuVirt.deviceSecret.offset) {
        let bytes = fakeSecretRecord ?? [UInt8](repeating: 0xFF, count: 64)
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: 64) }
        return 0
    }
    let start = Int(offset) - fakeRecordBase
    guard start >= 0, start + Int(length) <= fakeRecordBlocks.count else { return -1 }
    fakeRecordBlocks.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress! + start, byteCount: Int(length)) }
    return 0
}
let fakeFlashErase: FlashErase = { _, offset in
    let start = Int(offset) - fakeRecordBase
    guard start >= 0, start % 0x4_0000 == 0, start < fakeRecordBlocks.count else { return -1 }
    guard fakeStep() else {
        for i in 0..<0x2_0000 { fakeRecordBlocks[start + i] = 0xFF }      // torn: half erased
        return -1
    }
    for i in 0..<0x4_0000 { fakeRecordBlocks[start + i] = 0xFF }
    return 0
}
let fakeFlashProgram: FlashProgram = { _, offset, bytes, length in
    let start = Int(offset) - fakeRecordBase
    guard let bytes, start >= 0, start + Int(length) <= fakeRecordBlocks.count else { return -1 }
    for i in 0..<Int(length) {
        let new = bytes.load(fromByteOffset: i, as: UInt8.self)
        guard fakeStep() else {
            fakeRecordBlocks[start + i] &= new | 0x0F                      // torn: some bits cleared
            return -1
        }
        guard fakeRecordBlocks[start + i] & new == new else { return -1 }
        fakeRecordBlocks[start + i] = new
    }
    return 0
}

/// A fresh, blank fake flash (no secret, erased record blocks, no power loss).
func resetFakeFlash() {
    fakeSecretRecord = nil
    fakeRecordBlocks = [UInt8](repeating: 0xFF, count: 0x8_0000)
    fakePowerBudget = Int.max
    fakeReadFails = false
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
    func writeHeader(loadAddress: UInt64? = nil, size: UInt64 = 3000, version: UInt32 = 2, securityVersion: UInt64 = 0) {
        var h = [UInt8](repeating: 0, count: version == 1 ? 104 : 112)
        func put(_ v: UInt64, _ at: Int) { for i in 0..<8 { h[at + i] = UInt8(truncatingIfNeeded: v >> UInt64(8 * i)) } }
        h.replaceSubrange(0..<8, with: Array("BHNEXT01".utf8))
        put(UInt64(version), 8)
        put(loadAddress ?? imageAddress, 16); put(size, 24); put(keyID, 32)
        h.replaceSubrange(40..<104, with: Array(Crypto.SHA512.hash(data: image)))
        if version != 1 { put(securityVersion, 104) }
        let signed = h + Array(try! signer.signature(for: h))
        for i in 0..<signed.count { buffer[i] = signed[i] }
        for i in 0..<image.count { buffer[4096 + i] = image[i] }
    }

    /// Init then verify. The tree pointer outlives withUnsafeBytes: `dtb` is never mutated after
    /// init, so its storage stays put (a test-only shortcut).
    func verify(writer: Bool = true) -> Int32 {
        dtb.withUnsafeBytes { _ = bulkheadMonitorInit($0.baseAddress, fakeFlashRead, nil, quietPutChar) }
        if writer { _ = bulkheadMonitorSetFlashWriter(fakeFlashErase, fakeFlashProgram) }
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
        resetFakeFlash()
        #expect(f.dtb.withUnsafeBytes { d in bulkheadMonitorInit(d.baseAddress, fakeFlashRead, nil, quietPutChar) } == 0)
        #expect(f.verify() == 0)
        f.buffer[0] ^= 1; #expect(f.verify() == -2); f.writeHeader()                       // no header
        f.writeHeader(version: 1); #expect(f.verify() == -3)                                // format 1: no security version
        f.writeHeader(version: 3); #expect(f.verify() == -3)                                // unknown format
        f.writeHeader(loadAddress: f.imageAddress + 8); #expect(f.verify() == -4)           // wrong address
        f.writeHeader(size: 0); #expect(f.verify() == -5)                                   // bad size
        f.writeHeader(size: 1 << 21); #expect(f.verify() == -5)
        f.writeHeader(); f.buffer[32] ^= 1; #expect(f.verify() == -7)                       // unknown key
        f.writeHeader(); f.buffer[120] ^= 1; #expect(f.verify() == -8)                      // bad signature
        f.writeHeader(); f.buffer[104] ^= 1; #expect(f.verify() == -8)                      // security version is signed
        f.writeHeader(); f.buffer[4096 + 5] ^= 1; #expect(f.verify() == -9)                 // digest mismatch
        f.writeHeader()
        var revoked = RevokedKeys()
        _ = revoked.add(SigningKeyID(raw: f.keyID))
        hostTrustAnchors.revoked = revoked
        #expect(f.verify() == -6)                                                           // revoked key
    }

    @Test func noDeviceSecretNoCDI() throws {
        let f = try Fixture()
        resetFakeFlash()
        #expect(f.verify() == 0)
        #expect(bulkheadMonitorHasCDI() == 0)
        var word: UInt64 = 0
        #expect(bulkheadMonitorTakeCDIWord(0, &word) == -1)
        #expect(bulkheadMonitorCertificateWord(0, &word) == -1)
    }

    @Test func layeredDerivationMatchesSwiftCryptoAndTheCDIGoesOnceInOrder() throws {
        let f = try Fixture()
        resetFakeFlash()
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
        resetFakeFlash()
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

/// The monitor's state record through the C API: floor, rollback, boot counter, torn writes (in
/// the same serialized suite: the library's state and the fake flash are global).
extension MonitorCAPITests {
    /// The record the fake flash holds now (floor, boot counter), read as the monitor reads it.
    func stored() throws -> MonitorState {
        let flash = FirmwareFlash(readFn: fakeFlashRead, eraseFn: fakeFlashErase, programFn: fakeFlashProgram, context: nil)
        return try MonitorRecordRegion.qemuVirt.state(flash)
    }

    @Test func theRecordBlocksAreReservedFlashAndTheRangeCoversBoth() {
        let layout = FlashLayout.qemuVirt
        var offset: UInt64 = 0, size: UInt64 = 0
        #expect(bulkheadMonitorRecordRange(&offset, &size) == 0)
        #expect(offset == UInt64(fakeRecordBase) && size == 0x8_0000)
        let areas = [layout.entryStub, layout.slotA, layout.slotB, layout.stateA, layout.stateB,
                     layout.deviceSecret, layout.keystoreA, layout.keystoreB]
        for a in areas {
            #expect(UInt64(a.offset + a.size) <= offset || UInt64(a.offset) >= offset + size)
        }
        #expect(bulkheadMonitorRecordRange(nil, &size) == -1)
    }

    @Test func floorRisesAndAnOlderVersionIsRefused() throws {
        let f = try Fixture()
        resetFakeFlash()
        f.writeHeader(securityVersion: 5)
        #expect(f.verify() == 0)
        #expect(try stored() == MonitorState(floor: 5, bootCounter: 1))
        f.writeHeader(securityVersion: 3)
        #expect(f.verify() == -10)                                                         // rollback
        #expect(bulkheadMonitorHasCDI() == 0)
        var m = [UInt8](repeating: 0, count: 64)
        #expect(m.withUnsafeMutableBufferPointer { bulkheadMonitorMeasurement($0.baseAddress) } == -1)
        #expect(try stored() == MonitorState(floor: 5, bootCounter: 1))                    // nothing written
        f.writeHeader(securityVersion: 5)
        #expect(f.verify() == 0)                                                           // equal: accepted
        #expect(try stored() == MonitorState(floor: 5, bootCounter: 2))
        f.writeHeader(securityVersion: 9)
        #expect(f.verify() == 0)
        #expect(try stored() == MonitorState(floor: 9, bootCounter: 3))
        f.writeHeader(securityVersion: 8)
        #expect(f.verify() == -10)
        // A stage that fails its signature never touches the record.
        f.writeHeader(securityVersion: 20); f.buffer[120] ^= 1
        #expect(f.verify() == -8)
        #expect(try stored() == MonitorState(floor: 9, bootCounter: 3))
    }

    @Test func withoutAWriterOrAReadableRecordNothingIsEntered() throws {
        let f = try Fixture()
        resetFakeFlash()
        #expect(f.verify(writer: false) == -11)
        #expect(bulkheadMonitorSetFlashWriter(nil, fakeFlashProgram) == -1)
        fakeReadFails = true
        #expect(f.verify() == -11)
        fakeReadFails = false
        fakePowerBudget = 0                                                                // every write fails
        #expect(f.verify() == -11)
        #expect(bulkheadMonitorHasCDI() == 0)
    }

    @Test func aTornWriteLeavesTheOldOrTheNewRecord() throws {
        let f = try Fixture()
        resetFakeFlash()
        f.writeHeader(securityVersion: 4)
        #expect(f.verify() == 0)                                   // copy A: floor 4, boot 1
        #expect(f.verify() == 0)                                   // copy B: floor 4, boot 2
        let before = fakeRecordBlocks
        // One erase step, then 64 program steps: cut power at every point of the next write.
        var sawOld = false, sawNew = false
        for budget in 0...66 {
            fakeRecordBlocks = before
            fakePowerBudget = budget
            f.writeHeader(securityVersion: 7)
            let rc = f.verify()
            fakePowerBudget = Int.max
            let state = try stored()
            if state == MonitorState(floor: 4, bootCounter: 2) {
                #expect(rc == -11); sawOld = true
            } else {
                #expect(state == MonitorState(floor: 7, bootCounter: 3)); #expect(rc == 0); sawNew = true
            }
            // Power back: the old version is refused only when the new floor made it.
            f.writeHeader(securityVersion: 4)
            #expect(f.verify() == (state.floor == 7 ? -10 : 0))
        }
        #expect(sawOld && sawNew)
    }

    @Test func twoBootsGiveDifferentRandomAndSealingNonces() throws {
        let f = try Fixture()
        resetFakeFlash()
        var s = SecretBytes(repeating: 0)
        for i in 0..<32 { s[i] = UInt8(0x90 + i) }
        let record = DeviceSecretRecord.encode(s)
        fakeSecretRecord = (0..<64).map { record[$0] }
        let base = f.imageAddress - 4096                    // scratch in the header's ignored bytes
        func boot() -> (random: [UInt8], nonce: [UInt8]) {
            f.writeHeader()
            #expect(f.verify() == 0)
            var value: UInt64 = 0
            // The same boot value both times: only the boot counter differs.
            #expect(bulkheadMonitorKeyCallOnStack(9, base + 1024, 32, 0, 7, &value) == 0)
            let random = (0..<32).map { f.buffer[1024 + $0] }
            // seal: request (data, len, aad, len, out, len) at 1536, data at 1600, blob at 1664.
            let request: [UInt64] = [base + 1600, 16, 0, 0, base + 1664, 64]
            for (i, w) in request.enumerated() { for b in 0..<8 { f.buffer[1536 + 8 * i + b] = UInt8(truncatingIfNeeded: w >> UInt64(8 * b)) } }
            for i in 0..<16 { f.buffer[1600 + i] = 0x41 }
            #expect(bulkheadMonitorKeyCallOnStack(6, 1, base + 1536, 0, 7, &value) == 0)
            return (random, (16..<28).map { f.buffer[1664 + $0] })
        }
        let first = boot(), second = boot()
        #expect(try stored().bootCounter == 2)
        #expect(first.random != second.random)
        #expect(first.nonce != second.nonce)
        #expect(first.random.contains { $0 != 0 } && first.nonce.contains { $0 != 0 })
    }
}
