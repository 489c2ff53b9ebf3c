// `bulkhead key public`: the public key file of a private key, the same bytes keygen wrote.
import BulkheadCore
@testable import BulkheadTool
import Foundation
import Testing

@Suite("CLI: key public")
struct KeyPublicTests {
    @Test func derivesWhatKeygenWroteAndNeverOverwrites() throws {
        let ws = Workspace()
        defer { ws.remove() }
        let pair = try SigningKeys.generate(base: ws.directory + "/k")
        let written = try String(contentsOfFile: pair.publicPath, encoding: .utf8)
        #expect(try SigningKeys.publicKeyText(ofPrivate: pair.privatePath, output: nil) == written)
        let copy = ws.directory + "/again.pub"
        #expect(try SigningKeys.publicKeyText(ofPrivate: pair.privatePath, output: copy) == written)
        #expect(try String(contentsOfFile: copy, encoding: .utf8) == written)
        #expect(throws: ToolError("\(copy): already exists; key public never overwrites a file (remove it or choose another name)")) {
            try SigningKeys.publicKeyText(ofPrivate: pair.privatePath, output: copy)
        }
        // A public key is not a private key.
        #expect(throws: ToolError.self) { try SigningKeys.publicKeyText(ofPrivate: pair.publicPath, output: nil) }
    }
}
