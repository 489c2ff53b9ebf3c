// Exit codes (README.md, "Exit codes"): 0 ok, 1 invalid input, 2 I/O error, 64 usage; and file
// errors in plain words (FileReason), never Foundation's error domains and numbers.
import BulkheadCore
@testable import BulkheadTool
import Foundation
import Testing

/// The directory holding the built products (the `bulkhead` executable among them).
private var productsDirectory: URL {
    #if os(macOS)
    for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
        return bundle.bundleURL.deletingLastPathComponent()
    }
    #endif
    return Bundle.main.bundleURL
}

/// Runs the built `bulkhead` with `arguments`: its exit code, standard output and standard error.
func runBulkhead(_ arguments: [String]) throws -> (code: Int32, out: String, err: String) {
    let process = Process()
    process.executableURL = productsDirectory.appendingPathComponent("bulkhead")
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

@Suite struct ExitCodeTests {
    @Test func mapping() {
        #expect(ToolError.exitSuccess == 0)
        #expect(ToolError.exitCode(.invalidInput) == 1)
        #expect(ToolError.exitCode(.io) == 2)
        #expect(ToolError.exitUsage == 64)
        #expect(ToolError("bad").exitCode == 1)
        #expect(ToolError.io("gone").exitCode == 2)
    }

    @Test func fileProblemsAreIOErrors() throws {
        let ws = Workspace()
        defer { ws.remove() }
        let layout = FlashLayout.qemuVirt
        #expect(throws: ToolError.io("\(ws.directory)/none.img: cannot read the flash image: no such file")) {
            try FlashImage.load(path: ws.directory + "/none.img", layout: layout)
        }
        #expect(throws: ToolError.io("\(ws.directory): cannot read the flash image: is a directory")) {
            try FlashImage.load(path: ws.directory, layout: layout)
        }
        #expect(throws: ToolError.io("\(ws.directory)/none.toml: cannot read the configuration: no such file")) {
            try PlanBuilder.load(configPath: ws.directory + "/none.toml", board: try BoardOptions().resolve())
        }
        #expect(throws: ToolError.io("\(ws.directory)/none.key: cannot read the private key: no such file")) {
            try SigningKeys.loadPrivate(ws.directory + "/none.key")
        }
    }

    @Test func binaryExitCodes() throws {
        let ws = Workspace()
        defer { ws.remove() }
        // 0: a good command.
        #expect(try runBulkhead(["--help"]).code == 0)
        // 1: invalid input (a configuration that is not TOML).
        let bad = ws.config("this is [not toml")
        let invalid = try runBulkhead(["check", bad])
        #expect(invalid.code == 1)
        #expect(invalid.err.hasPrefix("error: \(bad):"))
        // 2: a file that cannot be read.
        let missing = try runBulkhead(["check", ws.directory + "/none.toml"])
        #expect(missing.code == 2)
        #expect(missing.err == "error: \(ws.directory)/none.toml: cannot read the configuration: no such file\n")
        let directory = try runBulkhead(["check", ws.directory])
        #expect(directory.code == 2)
        #expect(directory.err == "error: \(ws.directory): cannot read the configuration: is a directory\n")
        // 64: a bad command line.
        #expect(try runBulkhead(["check", "--no-such-option", bad]).code == 64)
        #expect(try runBulkhead(["no-such-command"]).code == 64)
    }
}

@Suite struct FileReasonTests {
    @Test func posixCodes() {
        #expect(FileReason.reason(errno: ENOENT) == "no such file")
        #expect(FileReason.reason(errno: EACCES) == "permission denied")
        #expect(FileReason.reason(errno: EPERM) == "permission denied")
        #expect(FileReason.reason(errno: EISDIR) == "is a directory")
        #expect(FileReason.reason(errno: ENOSPC) == "not enough space")
        #expect(FileReason.reason(errno: EROFS) == "read-only file system")
    }

    @Test func foundationErrors() {
        let path = "/nonexistent-bulkhead-test/x"
        #expect(FileReason.reason(POSIXError(.ENOSPC), path: path) == "not enough space")
        #expect(FileReason.reason(NSError(domain: NSPOSIXErrorDomain, code: Int(EISDIR)), path: path) == "is a directory")
        let wrapped = NSError(domain: NSCocoaErrorDomain, code: 256,
                              userInfo: [NSUnderlyingErrorKey: NSError(domain: NSPOSIXErrorDomain, code: Int(EACCES))])
        #expect(FileReason.reason(wrapped, path: path) == "permission denied")
        #expect(FileReason.reason(CocoaError(.fileReadNoSuchFile), path: path) == "no such file")
        #expect(FileReason.reason(CocoaError(.fileWriteOutOfSpace), path: path) == "not enough space")
        // A bare code 256 (unknown): the file itself is looked at.
        #expect(FileReason.reason(NSError(domain: NSCocoaErrorDomain, code: 256), path: path) == "no such file")
        #expect(FileReason.reason(NSError(domain: NSCocoaErrorDomain, code: 256), path: "/") == "is a directory")
    }

    @Test func realReads() throws {
        let ws = Workspace()
        defer { ws.remove() }
        for path in [ws.directory, ws.directory + "/none"] {
            do {
                _ = try Data(contentsOf: URL(fileURLWithPath: path))
                Issue.record("\(path) was read")
            } catch {
                let reason = FileReason.reason(error, path: path)
                #expect(reason == (path == ws.directory ? "is a directory" : "no such file"))
                #expect(!reason.contains("NSCocoaErrorDomain") && !reason.contains("error 256"))
            }
        }
    }

    /// No message of a file error shows Foundation's domains or the "could not be completed" text.
    @Test func messagesArePlain() throws {
        let ws = Workspace()
        defer { ws.remove() }
        let unreadable = ws.directory + "/secret.bin"
        ws.write("secret.bin", [1, 2, 3])
        chmod(unreadable, 0)
        if getuid() != 0 {
            #expect(throws: ToolError.io("\(unreadable): cannot read the flash image: permission denied")) {
                try FlashImage.load(path: unreadable, layout: FlashLayout.qemuVirt)
            }
        }
        #expect(throws: ToolError.io("\(ws.directory)/none/x.bin: cannot write the bundle: cannot create a file in "
                                     + "\(ws.directory)/none: no such file")) {
            try SafeFile.write([1], to: ws.directory + "/none/x.bin", newMode: 0o644, what: "the bundle")
        }
    }
}
