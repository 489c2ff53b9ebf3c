// The configuration's [bundle] table: require_rollback_floor sets the bundle's header flag.
import BulkheadCore
@testable import BulkheadTool
import Foundation
import Testing

@Suite("CLI: the [bundle] table")
struct BundleTableTests {
    @Test func parsesAndErrorsNameTheLine() throws {
        #expect(try Config.parse("[bundle]\nrequire_rollback_floor = true\n", file: "b.toml").bundle
                == BundleTable(requireRollbackFloor: true))
        #expect(try Config.parse("# none\n", file: "b.toml").bundle == nil)
        do {
            _ = try Config.parse("[bundle]\nrequire_rollback_floor = \"yes\"\nfloor = 1\n", file: "b.toml")
            Issue.record("accepted")
        } catch {
            #expect(error.all.map(\.message) == [
                "b.toml:3: [bundle]: unknown key \"floor\" (allowed: require_rollback_floor)",
                "b.toml:2: [bundle], field require_rollback_floor: expected true or false, found a string (\"yes\")",
            ])
        }
        #expect(throws: ToolError("b.toml:1: \"bundle\" must be a table: write it as [bundle]")) {
            try Config.parse("bundle = 1\n", file: "b.toml")
        }
    }

    @Test func packSetsTheHeaderFlagAndInspectShowsIt() throws {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("one.bin", [UInt8](repeating: 0x13, count: 64))
        let key = try SigningKeys.generate(base: ws.directory + "/keys/vendor")
        for demand in [false, true] {
            let config = ws.config(partition("one", harts: "[1]", image: "one.bin")
                                   + (demand ? "[bundle]\nrequire_rollback_floor = true\n" : ""))
            let out = ws.directory + "/bundle-\(demand).bin"
            _ = try Commands.pack(configPath: config, output: out, keyPath: key.privatePath, securityVersion: 1,
                                  board: BoardOptions())
            let bytes = [UInt8](FileManager.default.contents(atPath: out)!)
            #expect(bytes[BundleFormat.Header.flags] == (demand ? 1 : 0))
            try bytes.withUnsafeBytes { raw in
                let reader = try BundleReader(bytes: raw)
                #expect(reader.plan.flags.requireRollbackFloor == demand)
                #expect(Commands.describe(reader, file: out).contains("rollback floor:   required") == demand)
            }
        }
    }
}
