// The one way the CLI writes a file, and the checks that keep it from destroying or exposing one.
//
// - `refuseOverwrite`: a command's output must not be one of its inputs (compared by the files
//   themselves: real paths and device/inode, so `./k.key`, `dir/../k.key`, symlinks and hard
//   links are all caught).
// - `write`: follows a symlink to the file it names, writes a temporary file in that file's
//   directory, fsyncs it and renames it over the resolved path, so the symlink stays and the
//   real file is replaced whole or not at all. The target's existing mode is kept; a new file
//   gets `newMode` (exactly, whatever the umask).
// - `groupOrOtherAccessWarning`: the ssh-style warning for a secret file others can read.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum SafeFile {
    /// The plain reason for the current `errno`.
    static func errnoReason() -> String { FileReason.currentErrno() }

    /// `path` made absolute against the working directory.
    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    /// The real path of an existing file (every symlink and `.`/`..` resolved), or nil.
    public static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The file a write to `path` must replace: `path` with its symlinks followed (also a
    /// dangling one, to the file it would create), made absolute. Throws for a symlink loop.
    public static func writeTarget(_ path: String) throws(ToolError) -> String {
        var current = absolute(path)
        for _ in 0..<40 {
            var info = stat()
            guard lstat(current, &info) == 0, info.st_mode & S_IFMT == S_IFLNK else { return current }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(current, &buffer, buffer.count - 1)
            guard n >= 0 else { throw ToolError.io("\(path): cannot read the symbolic link: \(errnoReason())") }
            let link = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            current = link.hasPrefix("/") ? link : (current as NSString).deletingLastPathComponent + "/" + link
        }
        throw ToolError.io("\(path): too many levels of symbolic links")
    }

    /// One input of a command: what it is (e.g. "the private key (--key)") and its path.
    public struct Input {
        public var what: String
        public var path: String
        public init(_ what: String, _ path: String) { self.what = what; self.path = path }
    }

    /// Throws when `output` (given with `option`, e.g. "-o") names the same file as one of
    /// `inputs`: the same real path, or the same device and inode (a hard link).
    public static func refuseOverwrite(output: String, option: String, inputs: [Input]) throws(ToolError) {
        var outInfo = stat()
        let outExists = stat(output, &outInfo) == 0
        let outReal = realPath(output)   // nil when there is no such file: then it is no input either
        for input in inputs {
            var inInfo = stat()
            let sameInode = outExists && stat(input.path, &inInfo) == 0
                && inInfo.st_dev == outInfo.st_dev && inInfo.st_ino == outInfo.st_ino
            let samePath = outReal != nil && outReal == realPath(input.path)
            if sameInode || samePath {
                throw ToolError("\(option) \(output): this is \(input.what) (\(input.path)), an input of the command; "
                                + "writing there would destroy it: choose another output path")
            }
        }
    }

    /// Writes `bytes` to `path` (`what` names it in errors, e.g. "the bundle"): to the file a
    /// symlink names, through a temporary file in its directory, fsync and rename. An existing
    /// target keeps its mode; a new one gets `newMode`. Nothing changes if anything fails.
    public static func write(_ bytes: [UInt8], to path: String, newMode: mode_t, what: String) throws(ToolError) {
        let target = try writeTarget(path)
        let shown = target == absolute(path) ? path : "\(path) (-> \(target))"
        var info = stat()
        var mode = newMode
        if stat(target, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFREG else {
                throw ToolError.io("\(shown): cannot write \(what): \(info.st_mode & S_IFMT == S_IFDIR ? "is a directory" : "not a regular file")")
            }
            mode = info.st_mode & 0o7777
        }
        let directory = (target as NSString).deletingLastPathComponent
        var template = Array((directory + "/." + (target as NSString).lastPathComponent + ".XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw ToolError.io("\(shown): cannot write \(what): cannot create a file in \(directory): \(errnoReason())")
        }
        let temp = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        func fail(_ reason: String) -> ToolError {
            close(fd)
            unlink(temp)
            return ToolError.io("\(shown): cannot write \(what): \(reason)")
        }
        guard fchmod(fd, mode) == 0 else { throw fail(errnoReason()) }
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { posixWrite(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw fail(n < 0 ? errnoReason() : "nothing written") }
            written += n
        }
        guard fsync(fd) == 0 else { throw fail(errnoReason()) }
        guard close(fd) == 0 else {
            let reason = errnoReason()
            unlink(temp)
            throw ToolError.io("\(shown): cannot write \(what): \(reason)")
        }
        guard rename(temp, target) == 0 else {
            let reason = errnoReason()
            unlink(temp)
            throw ToolError.io("\(shown): cannot write \(what): \(reason)")
        }
        let dirFD = open(directory, O_RDONLY)
        if dirFD >= 0 { _ = fsync(dirFD); close(dirFD) }
    }

    /// The warning for a secret file (`what`, e.g. "private key") that group or others may
    /// access, as ssh gives it; nil when only the owner can.
    public static func groupOrOtherAccessWarning(_ path: String, what: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & 0o077 != 0 else { return nil }
        let mode = String(info.st_mode & 0o7777, radix: 8)
        return "warning: \(path): the \(what) file has mode 0\(mode): group or others can access it; "
            + "only its owner should (chmod 600 \(path))"
    }

    /// Prints `groupOrOtherAccessWarning` on standard error, if there is one.
    static func warnIfExposed(_ path: String, what: String) {
        if let warning = groupOrOtherAccessWarning(path, what: what) {
            FileHandle.standardError.write(Data((warning + "\n").utf8))
        }
    }
}

/// write(2) (the name `write` is taken inside `SafeFile`).
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, buffer, count)
    #else
    return Darwin.write(fd, buffer, count)
    #endif
}
