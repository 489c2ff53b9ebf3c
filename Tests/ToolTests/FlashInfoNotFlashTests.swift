// `flash-info` on a file that is not a Bulkhead flash image fails (exit code 1) instead of listing it.
import BulkheadCore
import Foundation
import Testing
@testable import BulkheadTool

@Suite struct FlashInfoNotFlashTests {
    static let message = "not a Bulkhead flash image: neither slot holds a bundle or is empty, and neither state copy "
        + "is valid or erased (`bulkhead flash --create IMAGE` makes one)"

    @Test func zerosOfTheRightSizeAreRefused() throws {
        let ws = Workspace()
        defer { ws.remove() }
        let size = FlashLayout.qemuVirt.deviceSize
        ws.write("zeros.img", [UInt8](repeating: 0, count: size))
        let path = ws.directory + "/zeros.img"
        #expect(throws: ToolError("\(path): \(Self.message)")) { try Commands.flashInfo(imagePath: path) }
        let run = try runBulkhead(["flash-info", path])
        #expect(run.code == 1)
        #expect(run.out.isEmpty)
        #expect(run.err == "error: \(path): \(Self.message)\n")
    }

    @Test func aFreshImageIsListed() throws {
        let ws = Workspace()
        defer { ws.remove() }
        let path = ws.directory + "/new.img"
        try Commands.flash(imagePath: path, request: FlashRequest(resetState: true), create: true)
        #expect(try Commands.flashInfo(imagePath: path).contains("slot A: empty"))
        let run = try runBulkhead(["flash-info", path])
        #expect(run.code == 0)
    }

    @Test func wrongSizeIsInvalidInputAndMissingIsIO() throws {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("short.img", [1, 2, 3])
        #expect(try runBulkhead(["flash-info", ws.directory + "/short.img"]).code == 1)
        #expect(try runBulkhead(["flash-info", ws.directory + "/none.img"]).code == 2)
    }
}
