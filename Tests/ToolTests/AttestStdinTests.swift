// `attest verify -`: the report as hex on standard input, as the vault guest prints it.
import BulkheadCore
@testable import BulkheadTool
import Foundation
import Testing

@Suite("CLI: attest verify reads a hex report from standard input")
struct AttestStdinTests {
    /// The vault's console lines for `report` (Guests/vault printReport), with the hypervisor's prefix.
    static func vaultLines(_ report: [UInt8], prefix: String = "[vault] ") -> String {
        var lines = ["\(prefix)vault: attest report \(report.count) bytes"]
        for offset in stride(from: 0, to: report.count, by: 32) {
            lines.append("\(prefix)vault: report \(offset) \(hexString(report[offset..<min(offset + 32, report.count)]))")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    @Test func consoleLinesAndPlainHexVerifyAsTheFileDoes() throws {
        let ws = Workspace()
        defer { ws.remove() }
        let report = try makeReport()
        ws.write("r.bin", report)
        let key = try publicKeyHex()
        let fromFile = try Commands.attestVerify(reportPath: ws.directory + "/r.bin", deviceKey: key)
        let expected = fromFile.replacingOccurrences(of: "\(ws.directory)/r.bin: attestation report",
                                                     with: "standard input: attestation report")
        let log = "OpenSBI v1.5\n[hv] booting\n" + Self.vaultLines(report) + "[vault] vault: done\n"
        #expect(try Commands.attestVerify(reportPath: "-", deviceKey: key, standardInput: Array(log.utf8)) == expected)
        #expect(try Commands.attestVerify(reportPath: "-", deviceKey: key,
                                          standardInput: Array(Self.vaultLines(report, prefix: "").utf8)) == expected)
        // Plain hex: one line, several lines, upper case, CRLF.
        let hex = hexString(report)
        for text in [hex + "\n", hex.uppercased(), stride(from: 0, to: hex.count, by: 64).map { i in
            String(hex.dropFirst(i).prefix(64)) }.joined(separator: "\r\n")] {
            #expect(try Commands.attestVerify(reportPath: "-", deviceKey: key, standardInput: Array(text.utf8)) == expected)
        }
        let json = try Commands.attestVerifyResult(reportPath: "-", deviceKey: key, standardInput: Array(hex.utf8))
        #expect(json.file == "standard input")
    }

    @Test func brokenInputIsNamed() throws {
        let report = try makeReport()
        let key = try publicKeyHex()
        func error(_ text: String) -> String? {
            do { _ = try Commands.attestVerify(reportPath: "-", deviceKey: key, standardInput: Array(text.utf8)); return nil }
            catch { return error.message }
        }
        var lines = Self.vaultLines(report).split(separator: "\n").map(String.init)
        lines.remove(at: 3)   // offset 64
        #expect(error(lines.joined(separator: "\n"))
                == "standard input: line 4: the report line at offset 96 does not follow on from the 64 bytes before it "
                + "(a line is missing or repeated)")
        #expect(error("[vault] vault: report 0 zz\n")
                == "standard input: line 1: expected \"vault: report OFFSET HEX\", found \"[vault] vault: report 0 zz\"")
        #expect(error("not hex\n") == "standard input: expected the report as hex digits, or the vault's \"vault: report OFFSET HEX\" lines")
        #expect(error("") == "standard input: expected the report as hex digits, or the vault's \"vault: report OFFSET HEX\" lines")
        // The bytes are checked as a file's are: a report one line short is too short.
        #expect(error(Self.vaultLines(Array(report.prefix(288))))?.hasPrefix("standard input: ") == true)
    }
}
