// `bulkhead --version` prints the CLI version, which matches the hypervisor's.
import Foundation
import Testing
import BulkheadTool

@Suite struct VersionTests {
    @Test func matchesTheKernelsVersion() throws {
        let boot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Kernel/Boot/Boot.swift")
        let text = try String(contentsOf: boot, encoding: .utf8)
        #expect(text.contains("let bulkheadVersion: StaticString = \"\(bulkheadToolVersion)\""))
    }

    @Test func versionFlagPrintsIt() throws {
        let run = try runBulkhead(["--version"])
        #expect(run.code == 0)
        #expect(run.out == "\(bulkheadToolVersion)\n")
        #expect(run.err.isEmpty)
    }

    /// `pack --version N` (the bundle's security version) is not taken for the CLI's version.
    @Test func packVersionIsStillTheSecurityVersion() throws {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("small.bin", [UInt8](repeating: 0x13, count: 64))
        let config = ws.config(partition("a"))
        #expect(try runBulkhead(["keygen", "-o", ws.directory + "/k"]).code == 0)
        let run = try runBulkhead(["pack", config, "-o", ws.directory + "/b.bin", "--key", ws.directory + "/k.key",
                                   "--version", "3"])
        #expect(run.code == 0, "\(run.err)")
        #expect(!run.out.hasPrefix(bulkheadToolVersion))
        let inspect = try runBulkhead(["inspect", ws.directory + "/b.bin"])
        #expect(inspect.out.contains("security version: 3"), "\(inspect.out)")
        // --security-version is the option's name; the help shows it.
        let named = try runBulkhead(["pack", config, "-o", ws.directory + "/c.bin", "--key", ws.directory + "/k.key",
                                     "--security-version", "9"])
        #expect(named.code == 0, "\(named.err)")
        #expect(try runBulkhead(["inspect", ws.directory + "/c.bin"]).out.contains("security version: 9"))
        #expect(try runBulkhead(["pack", "--help"]).out.contains("--security-version <n>"))
        #expect(try runBulkhead(["--version"]).out == bulkheadToolVersion + "\n")
    }
}
