// Shell completion (README "Shell completion"): --board, --slot, --erase-slot and --prefer complete
// to their values, which the command line also checks before any work is done.
import BulkheadCore
@testable import BulkheadTool
import Foundation
import Testing

@Suite("CLI: shell completion and enumerated options")
struct CompletionTests {
    @Test func completionScriptsListTheValues() throws {
        for shell in ["bash", "zsh", "fish"] {
            let run = try runBulkhead(["--generate-completion-script", shell])
            #expect(run.code == 0, "\(shell)")
            for board in BoardOptions.knownBoards { #expect(run.out.contains(board), "\(shell): \(board)") }
            #expect(run.out.contains("none"), "\(shell): --prefer none")
        }
        let bash = try runBulkhead(["--generate-completion-script", "bash"]).out
        #expect(bash.contains("'qemu-virt'$'\\n''spacemit-k3'$'\\n''eswin-eic7700x'"))
        #expect(bash.contains("'a'$'\\n''b'$'\\n''none'"))
    }

    @Test func valuesAreCheckedByTheCommandLine() throws {
        let ws = Workspace()
        defer { ws.remove() }
        let image = ws.directory + "/f.img"
        // Either case for a slot, as before.
        #expect(try runBulkhead(["flash", image, "--create", "--reset-state", "--prefer", "B"]).code == 0)
        #expect(try runBulkhead(["flash", image, "--erase-slot", "A"]).code == 0)
        for arguments in [["flash", image, "--prefer", "c"], ["flash", image, "--erase-slot", "both"],
                          ["flash", image, "--slot", "c", image], ["flash-info", image, "--board", "pi"],
                          ["check", ws.directory + "/c.toml", "--board", "pi"]] {
            let run = try runBulkhead(arguments)
            #expect(run.code == 64, "\(arguments)")
            #expect(run.err.contains("is invalid for"), "\(arguments): \(run.err)")
        }
        #expect(try runBulkhead(["check", ws.directory + "/c.toml", "--board", "pi"]).err
                .contains("Please provide one of 'qemu-virt', 'spacemit-k3' or 'eswin-eic7700x'"))
    }
}
