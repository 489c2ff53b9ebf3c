// `attest verify --monitor-key --certificate`: each link of the chain, with certificates built by swift-crypto.
import Crypto
import Foundation
import Testing
@testable import BulkheadTool

@Suite struct MonitorChainTests {
    let monitorSeed: [UInt8] = (0..<32).map { UInt8(truncatingIfNeeded: 0x11 &* $0 &+ 5) }

    /// A certificate as docs/monitor.md lays it out, signed with `seed`.
    func makeCertificate(measurement: [UInt8] = (0..<64).map { UInt8($0) }, seed: [UInt8]? = nil) throws -> [UInt8] {
        var c = [UInt8](repeating: 0, count: 128)
        c.replaceSubrange(0..<8, with: Array("BHMC".utf8) + [1, 0, 192, 0])
        c.replaceSubrange(8..<72, with: measurement)
        c.replaceSubrange(72..<104, with: Array(try Curve25519.Signing.PrivateKey(rawRepresentation: attestSeed).publicKey.rawRepresentation))
        return c + Array(try Curve25519.Signing.PrivateKey(rawRepresentation: seed ?? monitorSeed).signature(for: c))
    }

    func run(_ cert: [UInt8], report: [UInt8], asHex: Bool = false) throws -> String {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("cert", asHex ? Array((hexString(cert) + "\n").utf8) : cert)
        ws.write("report.bin", report)
        return try Commands.attestVerifyChain(reportPath: ws.directory + "/report.bin", monitorKey: try publicKeyHex(monitorSeed),
                                              certificatePath: ws.directory + "/cert")
    }

    func failure(_ cert: [UInt8], report: [UInt8], asHex: Bool = false) -> String {
        do { _ = try run(cert, report: report, asHex: asHex); return "" } catch let e as ToolError { return e.message } catch { return "\(error)" }
    }

    @Test func theWholeChainVerifies() throws {
        let report = try makeReport()
        let out = try run(try makeCertificate(), report: report)
        #expect(out.hasPrefix("chain: valid (monitor key \(try publicKeyHex(monitorSeed).prefix(16))..."))
        #expect(out.contains("signature: valid"))
        #expect(try run(try makeCertificate(), report: report, asHex: true).hasPrefix("chain: valid"))
    }

    @Test func eachLinkIsNamed() throws {
        let report = try makeReport()
        #expect(failure(try makeCertificate(seed: attestSeed), report: report).hasPrefix("link device → monitor: "))
        #expect(failure(Array(try makeCertificate().dropLast()), report: report, asHex: true).hasSuffix("it is not 192 bytes"))
        #expect(failure(Array(try makeCertificate().dropLast()), report: report).hasSuffix("is neither 192 bytes nor hex digits"))
        var otherMeasurement = (0..<64).map { UInt8($0) }
        otherMeasurement[63] ^= 1
        #expect(failure(try makeCertificate(measurement: otherMeasurement), report: report).hasPrefix("link monitor → hypervisor: "))
        var changed = report
        changed[100] ^= 1
        #expect(failure(try makeCertificate(), report: changed).hasPrefix("link hypervisor → partition: "))
    }
}
