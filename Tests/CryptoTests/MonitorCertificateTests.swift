// The chained attestation's Core half: the monitor's device key and certificate against swift-crypto, and the certificate parser's refusals.
import Crypto
import Foundation
import Testing
@testable import BulkheadCore

@Suite struct MonitorCertificateTests {
    let secretBytes: [UInt8] = (0..<32).map { UInt8($0 &* 7 &+ 3) }
    let measurementBytes: [UInt8] = (0..<64).map { UInt8(255 - $0) }

    var secret: SecretBytes { var s = SecretBytes(repeating: 0); for i in 0..<32 { s[i] = secretBytes[i] }; return s }
    var measurement: BulkheadCore.SHA512Digest { var d = InlineArray<64, UInt8>(repeating: 0); for i in 0..<64 { d[i] = measurementBytes[i] }; return BulkheadCore.SHA512Digest(bytes: d) }

    /// Reference: the monitor's device key seed and the hypervisor's attestation seed, computed with swift-crypto.
    func referenceSeeds() -> (monitor: [UInt8], attestation: [UInt8]) {
        let monitor = HKDF<Crypto.SHA512>.deriveKey(inputKeyMaterial: SymmetricKey(data: secretBytes),
                                             salt: Array("Bulkhead monitor device key v1".utf8), info: [UInt8](), outputByteCount: 32)
        let cdi = HKDF<Crypto.SHA512>.deriveKey(inputKeyMaterial: SymmetricKey(data: secretBytes),
                                         salt: Array("Bulkhead hypervisor CDI v1".utf8), info: measurementBytes, outputByteCount: 64)
        let att = HKDF<Crypto.SHA512>.expand(pseudoRandomKey: cdi, info: Array("Bulkhead attestation key v1".utf8), outputByteCount: 32)
        return (monitor.withUnsafeBytes { Array($0) }, att.withUnsafeBytes { Array($0) })
    }

    /// Ours: the certificate the monitor would write for this secret and measurement.
    func certificate() -> [UInt8] {
        var mSeed = KeyChain.monitorDeviceSeed(secret: secret)
        var cdi = KeyChain.hypervisorCDI(secret: secret, identity: measurement)
        var aSeed = KeyChain.attestationSeed(hypervisorCDI: cdi)
        var monitorKey = withUnsafeBytes(of: &mSeed) { Ed25519PrivateKey(seed: $0)! }
        var attKey = withUnsafeBytes(of: &aSeed) { Ed25519PrivateKey(seed: $0)! }
        var out = [UInt8](repeating: 0, count: MonitorCertificate.size)
        let n = out.withUnsafeMutableBytes { MonitorCertificate.write(into: $0, measurement: measurement, publicKey: attKey.publicKey, deviceKey: monitorKey) }
        #expect(n == MonitorCertificate.size)
        monitorKey.wipe(); attKey.wipe(); secureZero(&mSeed); secureZero(&aSeed); secureZero(&cdi)
        return out
    }

    func monitorPublicKey() -> Ed25519PublicKey {
        let ref = try! Curve25519.Signing.PrivateKey(rawRepresentation: referenceSeeds().monitor)
        return ref.publicKey.rawRepresentation.withUnsafeBytes { Ed25519PublicKey(bytes: $0)! }
    }

    @Test func seedsMatchSwiftCrypto() {
        var m = KeyChain.monitorDeviceSeed(secret: secret)
        let ref = referenceSeeds()
        #expect(withUnsafeBytes(of: &m) { Array($0) } == ref.monitor)
        var a = KeyChain.attestationSeed(hypervisorCDI: KeyChain.hypervisorCDI(secret: secret, identity: measurement))
        #expect(withUnsafeBytes(of: &a) { Array($0) } == ref.attestation)
        #expect(ref.monitor != ref.attestation)
    }

    @Test func certificateVerifiesWithSwiftCryptoAndCarriesTheAttestationKey() throws {
        let cert = certificate()
        let ref = referenceSeeds()
        let monitorKey = try Curve25519.Signing.PrivateKey(rawRepresentation: ref.monitor).publicKey
        #expect(monitorKey.isValidSignature(Data(cert[128..<192]), for: Data(cert[0..<128])))
        let attPublic = try Curve25519.Signing.PrivateKey(rawRepresentation: ref.attestation).publicKey.rawRepresentation
        #expect(Array(cert[72..<104]) == Array(attPublic))
        #expect(Array(cert[8..<72]) == measurementBytes)
        #expect(Array(cert[0..<8]) == [0x42, 0x48, 0x4D, 0x43, 1, 0, 192, 0])
        let result = cert.withUnsafeBytes { MonitorCertificate.verify($0, monitorKey: monitorPublicKey()) }
        let contents = try result.get()
        #expect(withUnsafeBytes(of: contents.publicKey) { Array($0) } == Array(attPublic))
        #expect(contents.measurement == measurement)
    }

    func failure(_ bytes: [UInt8]) -> MonitorCertificate.Failure? {
        let key = monitorPublicKey()
        switch bytes.withUnsafeBytes({ MonitorCertificate.verify($0, monitorKey: key) }) {
        case .success: return nil
        case .failure(let f): return f
        }
    }

    @Test func refusesTruncation() {
        let cert = certificate()
        #expect(failure(Array(cert.dropLast())) == .truncated)
        #expect(failure([]) == .truncated)
        #expect(failure(cert + [0]) == .truncated)
    }

    @Test func refusesEveryChangedByte() {
        let cert = certificate()
        #expect(failure(cert) == nil)
        for i in 0..<cert.count {
            var c = cert
            c[i] ^= 0x01
            let f = failure(c)
            #expect(f != nil, "byte \(i) changed and accepted")
            switch i {
            case 0..<4: #expect(f == .badMagic)
            case 4..<6: #expect(f == .unsupportedVersion(UInt16(c[4]) | UInt16(c[5]) << 8))
            case 6..<8: #expect(f == .badSize)
            case 104..<128: #expect(f == .reservedNotZero)
            default: #expect(f == .badSignature)
            }
        }
    }

    @Test func refusesAnotherDevicesMonitorKey() {
        let cert = certificate()
        let other = Curve25519.Signing.PrivateKey().publicKey.rawRepresentation.withUnsafeBytes { Ed25519PublicKey(bytes: $0)! }
        #expect(cert.withUnsafeBytes { if case .failure(.badSignature) = MonitorCertificate.verify($0, monitorKey: other) { return true }; return false })
    }
}
