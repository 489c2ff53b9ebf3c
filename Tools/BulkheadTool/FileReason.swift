// Plain reasons for file errors: "no such file", "permission denied", "is a directory", ...
// Every read and write of a user's file reports its failure through `FileReason`, so no message
// shows Foundation's "The operation could not be completed" or "NSCocoaErrorDomain error 256".
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum FileReason {
    /// The plain reason for the POSIX error number `code`.
    public static func reason(errno code: Int32) -> String {
        switch code {
        case ENOENT: return "no such file"
        case EACCES, EPERM: return "permission denied"
        case EISDIR: return "is a directory"
        case ENOTDIR: return "a component of the path is not a directory"
        case ENOSPC: return "not enough space"
        case EDQUOT: return "disk quota exceeded"
        case EROFS: return "read-only file system"
        case ENAMETOOLONG: return "file name too long"
        case ELOOP: return "too many levels of symbolic links"
        case EFBIG: return "file too large"
        case EIO: return "input/output error"
        case EEXIST: return "already exists"
        case EMFILE, ENFILE: return "too many open files"
        default: return String(cString: strerror(code)).lowercased()
        }
    }

    /// The plain reason for the current `errno`.
    public static func currentErrno() -> String { reason(errno: errno) }

    /// The POSIX error number behind `error` (a POSIXError, an NSError of the POSIX domain, or a
    /// CocoaError with one as its underlying error), if there is one.
    static func posixCode(_ error: Error) -> Int32? {
        if let posix = error as? POSIXError { return posix.code.rawValue }
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return Int32(truncatingIfNeeded: ns.code) }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? Error { return posixCode(underlying) }
        return nil
    }

    /// The plain reason for `error`, thrown by Foundation or the system while reading or writing
    /// `path`. When the error carries no usable code, the file itself is looked at.
    public static func reason(_ error: Error, path: String) -> String {
        if let code = posixCode(error) { return reason(errno: code) }
        if let cocoa = error as? CocoaError {
            switch cocoa.code {
            case .fileNoSuchFile, .fileReadNoSuchFile: return "no such file"
            case .fileReadNoPermission, .fileWriteNoPermission: return "permission denied"
            case .fileWriteOutOfSpace: return "not enough space"
            case .fileWriteVolumeReadOnly: return "read-only file system"
            case .fileReadInvalidFileName, .fileWriteInvalidFileName: return "invalid file name"
            case .fileReadTooLarge: return "file too large"
            case .fileWriteFileExists: return "already exists"
            default: break
            }
        }
        return reason(lookingAt: path)
    }

    /// The reason a read of `path` would fail, found by looking at it.
    static func reason(lookingAt path: String) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { return currentErrno() }
        if info.st_mode & S_IFMT == S_IFDIR { return "is a directory" }
        if access(path, R_OK) != 0 { return currentErrno() }
        return "input/output error"
    }
}
