// Ed25519 key files for signing bundles: generation (swift-crypto), the text format, key ids.
//
// A key file is two lines of ASCII text (docs/bundle-format.md, "Key files"):
//
//     BULKHEAD ED25519 PRIVATE KEY          or   BULKHEAD ED25519 PUBLIC KEY
//     <64 hex digits: the 32-byte seed>          <64 hex digits: the 32-byte public key>
//
// The private key file is created with mode 0600 and never overwritten.
import BulkheadCore
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum SigningKeys {
    public static let privateHeader = "BULKHEAD ED25519 PRIVATE KEY"
    public static let publicHeader = "BULKHEAD ED25519 PUBLIC KEY"

    /// The id of `publicKey` (32 bytes): the first 8 bytes of its SHA-512.
    public static func keyID(of publicKey: Curve25519.Signing.PublicKey) -> SigningKeyID {
        let digest = Array(Crypto.SHA512.hash(data: publicKey.rawRepresentation))
        return digest.withUnsafeBytes { SigningKeyID(prefixOf: $0)! }
    }

    /// The text of a key file: the header line, then the key's 32 bytes in lowercase hex.
    public static func fileText(header: String, key: some DataProtocol) -> String {
        "\(header)\n\(hexString(Array(key)))\n"
    }

    /// What `bulkhead keygen` wrote.
    public struct Generated {
        public var privatePath: String
        public var publicPath: String
        public var keyID: SigningKeyID
    }

    /// The files keygen writes: Bulkhead's two-line text, or PEM (PKCS#8 and SPKI, RFC 8410).
    public enum FileFormat: String, CaseIterable, Sendable {
        case text, pem
    }

    /// Generates a key pair and writes `BASE.key` (mode 0600) and `BASE.pub`; `base` may end in
    /// `.key` or `.pub`, which is dropped. Refuses to overwrite either file.
    public static func generate(base: String, format: FileFormat = .text) throws(ToolError) -> Generated {
        var isDirectory: ObjCBool = false
        if base.hasSuffix("/") || FileManager.default.fileExists(atPath: base, isDirectory: &isDirectory) && isDirectory.boolValue {
            throw ToolError("-o \(base): this names a directory; give the key pair's path without extension, such as "
                            + "\(base.hasSuffix("/") ? base : base + "/")dev (writes dev.key and dev.pub there)")
        }
        var base = base
        for suffix in [".key", ".pub"] where base.hasSuffix(suffix) { base.removeLast(suffix.count) }
        let privatePath = base + ".key", publicPath = base + ".pub"
        // Split at the last "/" by hand: NSString's path methods crash on some short paths
        // (`keygen -o k` trapped in deletingLastPathComponent on Linux Foundation).
        let slash = base.lastIndex(of: "/")
        let name = slash.map { String(base[base.index(after: $0)...]) } ?? base
        guard !name.isEmpty, name != ".", name != ".." else {
            throw ToolError("-o: \"\(base)\" names no file: give a path such as keys/dev (writes keys/dev.key and keys/dev.pub)")
        }
        for path in [privatePath, publicPath] where FileManager.default.fileExists(atPath: path) {
            throw ToolError("\(path): already exists; keygen never overwrites a key (remove it or choose another name)")
        }
        let directory = slash.map { $0 == base.startIndex ? "/" : String(base[..<$0]) } ?? ""
        if !directory.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw ToolError.io("\(directory): cannot create the directory: \(FileReason.reason(error, path: directory))")
            }
        }
        let key = Curve25519.Signing.PrivateKey()
        let privateText: String, publicText: String
        switch format {
        case .text:
            privateText = fileText(header: privateHeader, key: key.rawRepresentation)
            publicText = fileText(header: publicHeader, key: key.publicKey.rawRepresentation)
        case .pem:
            privateText = try StandardKeys.pkcs8PEM(seed: Array(key.rawRepresentation))
            publicText = try StandardKeys.spkiPEM(publicKey: Array(key.publicKey.rawRepresentation))
        }
        try writeNew(privatePath, privateText, mode: 0o600)
        do {
            try writeNew(publicPath, publicText, mode: 0o644)
        } catch {
            _ = unlink(privatePath)   // leave no half-written pair behind
            throw error
        }
        return Generated(privatePath: privatePath, publicPath: publicPath, keyID: keyID(of: key.publicKey))
    }

    /// Reads a private key file (`--key`): a `keygen` .key file, a PKCS#8 PEM Ed25519 key or an
    /// unencrypted OpenSSH Ed25519 key (OpenSSHKey.swift).
    public static func loadPrivate(_ path: String) throws(ToolError) -> Curve25519.Signing.PrivateKey {
        SafeFile.warnIfExposed(path, what: "private key")
        let hint = "--key needs the private key file (NAME.key); the .pub file is for verify"
        let text = try readKeyText(path, role: "private", header: privateHeader)
        guard StandardKeys.isPEM(text) else {
            let bytes = try keyBytes(path, text, header: privateHeader, other: publicHeader, role: "private", hint: hint)
            do {
                return try Curve25519.Signing.PrivateKey(rawRepresentation: bytes)
            } catch {
                throw ToolError("\(path): line 2: not a usable Ed25519 private key: \(error)")
            }
        }
        let (kind, der) = try inFile(path) { () throws(ToolError) in try StandardKeys.document(text) }
        switch kind {
        case .privateKey: break
        case .publicKey: throw ToolError("\(path): this is a public key: \(hint)")
        case .openSSHPrivateKey:
            return try inFile(path) { () throws(ToolError) in try OpenSSHKey.privateKey(text) }
        case .other(let label):
            throw ToolError("\(path): a PEM \"\(label)\" document, not an Ed25519 private key; --key reads \(StandardKeys.privateFormats)")
        }
        let (seed, carried) = try inFile(path) { () throws(ToolError) in try StandardKeys.pkcs8Seed(der) }
        let key: Curve25519.Signing.PrivateKey
        do {
            key = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
        } catch {
            throw ToolError("\(path): not a usable Ed25519 private key: \(error)")
        }
        if let carried, carried != Array(key.publicKey.rawRepresentation) {
            throw ToolError("\(path): the public key the PKCS#8 file carries is not the one of its private key")
        }
        return key
    }

    /// Reads a public key file (`--public-key`, the trust anchors): a `keygen` .pub file or an
    /// SPKI PEM Ed25519 public key.
    /// `hint` says what the file must be when it is another kind of key.
    public static func loadPublic(_ path: String, hint: String = "--public-key needs the public key file (NAME.pub), never the private key")
        throws(ToolError) -> Curve25519.Signing.PublicKey {
        let text = try readKeyText(path, role: "public", header: publicHeader)
        let bytes: [UInt8]
        if StandardKeys.isPEM(text) {
            let (kind, der) = try inFile(path) { () throws(ToolError) in try StandardKeys.document(text) }
            switch kind {
            case .publicKey: bytes = try inFile(path) { () throws(ToolError) in try StandardKeys.spkiKey(der) }
            case .privateKey, .openSSHPrivateKey: throw ToolError("\(path): this is a private key: \(hint)")
            case .other(let label):
                throw ToolError("\(path): a PEM \"\(label)\" document, not an Ed25519 public key; a public key is "
                                + StandardKeys.publicFormats)
            }
        } else {
            bytes = try keyBytes(path, text, header: publicHeader, other: privateHeader, role: "public", hint: hint)
        }
        do {
            return try Curve25519.Signing.PublicKey(rawRepresentation: bytes)
        } catch {
            throw ToolError("\(path): \(StandardKeys.isPEM(text) ? "" : "line 2: ")not a usable Ed25519 public key: \(error)")
        }
    }

    /// `body`'s result, its error message prefixed with `path`.
    private static func inFile<T>(_ path: String, _ body: () throws(ToolError) -> T) throws(ToolError) -> T {
        do { return try body() } catch { throw ToolError("\(path): \(error.message)") }
    }

    /// The text of a key file (at most 4 KiB of UTF-8).
    private static func readKeyText(_ path: String, role: String, header: String) throws(ToolError) -> String {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ToolError.cannotRead(path, "the \(role) key", error)
        }
        guard data.count <= 4096, let text = String(data: data, encoding: .utf8) else {
            throw ToolError("\(path): not a Bulkhead \(role) key file (expected two text lines, the first \"\(header)\")")
        }
        return text
    }

    /// The 32 key bytes of a Bulkhead key file's `text`, whose first line must be `header`.
    private static func keyBytes(_ path: String, _ text: String, header: String, other: String, role: String,
                                 hint: String) throws(ToolError) -> [UInt8] {
        let lines = keyFileLines(text)
        guard let first = lines.first, first == header else {
            if lines.first == other { throw ToolError("\(path): this is a \(role == "private" ? "public" : "private") key: \(hint)") }
            if lines.first == DeviceAttestationKey.fileHeader {
                throw ToolError("\(path): this is a device attestation key (from `bulkhead attest device-key`), not a "
                                + "bundle-signing key: \(hint)")
            }
            throw ToolError("\(path): line 1: not a Bulkhead \(role) key file (the first line must be \"\(header)\")")
        }
        guard lines.count == 2 else {
            throw ToolError("\(path): expected exactly 2 lines (\"\(header)\" and 64 hex digits), found \(lines.count)")
        }
        guard let bytes = parseHex(lines[1]), bytes.count == 32 else {
            throw ToolError("\(path): line 2: expected the 32-byte key as 64 hex digits, found \"\(lines[1].prefix(80))\"")
        }
        return bytes
    }

    /// `bulkhead key public`: the public key file text of the private key at `path`; with
    /// `output`, also writes it there as a new file (never overwritten).
    public static func publicKeyText(ofPrivate path: String, output: String?) throws(ToolError) -> String {
        let key = try loadPrivate(path)
        let text = fileText(header: publicHeader, key: key.publicKey.rawRepresentation)
        if let output {
            if FileManager.default.fileExists(atPath: output) {
                throw ToolError("\(output): already exists; key public never overwrites a file (remove it or choose another name)")
            }
            try writeNew(output, text, mode: 0o644)
        }
        return text
    }

    /// Creates `path` (which must not exist) with `mode` and writes `text`.
    private static func writeNew(_ path: String, _ text: String, mode: mode_t) throws(ToolError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard fd >= 0 else { throw ToolError.io("\(path): cannot create the key file: \(FileReason.currentErrno())") }
        defer { close(fd) }
        _ = fchmod(fd, mode)   // exactly `mode`, whatever the umask
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else {
                let reason = FileReason.currentErrno()
                _ = unlink(path)
                throw ToolError.io("\(path): cannot write the key file: \(reason)")
            }
            written += n
        }
    }
}

/// The lines of a key file: split at "\n", each without a final "\r" (a file saved with CRLF line
/// endings reads as the same key on every command), the empty line after the last newline dropped.
/// Splits the bytes: to a String, "\r\n" is one Character, which a split at "\n" would not see.
func keyFileLines(_ text: String) -> [String] {
    var lines = Array(text.utf8).split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
        String(decoding: line.last == 0x0D ? line.dropLast() : line, as: UTF8.self)
    }
    if lines.last == "" { lines.removeLast() }
    return lines
}

/// Lowercase hex of `bytes`, two digits per byte, no separators.
public func hexString(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0xF)]) }
    return String(decoding: out, as: UTF8.self)
}

/// The bytes of an even-length string of hex digits (either case); nil for anything else.
func parseHex(_ text: String) -> [UInt8]? {
    let chars = Array(text.utf8)
    guard chars.count % 2 == 0 else { return nil }
    func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 97...102: return c - 87
        case 65...70: return c - 55
        default: return nil
        }
    }
    var out: [UInt8] = []
    var i = 0
    while i < chars.count {
        guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
        out.append(hi << 4 | lo)
        i += 2
    }
    return out
}

extension SigningKeyID {
    /// The 16 hex digits, in byte order.
    public var hex: String { hexString((0..<BundleFormat.keyIDSize).map { byte($0) }) }
}
