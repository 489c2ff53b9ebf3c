// Ed25519 private keys in OpenSSH's own format ("-----BEGIN OPENSSH PRIVATE KEY-----", what `ssh-keygen -t ed25519` writes).
//
// No library among the project's dependencies reads this format (swift-asn1 reads DER, and the
// format is not DER; swift-nio-ssh has no key-file reader), so it is read here, following OpenSSH's
// PROTOCOL.key and the SSH wire encodings of RFC 4251 (uint32, string) and RFC 8709 (ssh-ed25519):
//
//     "openssh-key-v1\0"   string ciphername   string kdfname   string kdfoptions   uint32 N = 1
//     string public key (string "ssh-ed25519", string 32-byte key)
//     string private section: uint32 check, uint32 check (equal), string "ssh-ed25519",
//            string public key (32), string private key (64: seed then public key),
//            string comment, padding 1, 2, 3, ... to the cipher's block size (8 when unencrypted)
//
// Only unencrypted keys are read (cipher and KDF "none"): an encrypted one is refused with the
// command that removes its passphrase. The key is then rebuilt with swift-crypto from its seed and
// must give the public key the file carries.
import Crypto
import Foundation

enum OpenSSHKey {
    static let magic = Array("openssh-key-v1\u{0}".utf8)

    /// The Ed25519 private key an OpenSSH private-key PEM text holds.
    static func privateKey(_ text: String) throws(ToolError) -> Curve25519.Signing.PrivateKey {
        let body = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("-----") }.joined()
        guard let decoded = Data(base64Encoded: body) else { throw ToolError("the OpenSSH key's body is not base64") }
        var r = Reader(bytes: [UInt8](decoded))
        guard r.take(magic.count) == magic else { throw ToolError("not an OpenSSH private key (no \"openssh-key-v1\" magic)") }
        let cipher = try r.text("the cipher name")
        let kdf = try r.text("the KDF name")
        _ = try r.string("the KDF options")
        guard cipher == "none" && kdf == "none" else {
            throw ToolError("the OpenSSH key is encrypted (\(cipher), \(kdf)): remove its passphrase first "
                            + "(`ssh-keygen -p -N '' -f FILE`, on a copy) or convert it to PKCS#8")
        }
        let count = try r.uint32("the key count")
        guard count == 1 else { throw ToolError("the OpenSSH file holds \(count) keys; one is read") }
        var outer = Reader(bytes: try r.string("the public key"))
        let outerType = try outer.text("the public key type")
        guard outerType == "ssh-ed25519" else { throw ToolError("an OpenSSH \(outerType) key, not ssh-ed25519") }
        let publicKey = try outer.string("the public key")
        var inner = Reader(bytes: try r.string("the private section"))
        guard r.remaining == 0 else { throw ToolError("\(r.remaining) bytes follow the OpenSSH key's private section") }
        let check1 = try inner.uint32("the check value"), check2 = try inner.uint32("the check value")
        guard check1 == check2 else { throw ToolError("the OpenSSH key's two check values differ (a wrong or damaged key)") }
        guard try inner.text("the private key type") == "ssh-ed25519" else { throw ToolError("the private key is not ssh-ed25519") }
        let innerPublic = try inner.string("the private section's public key")
        let pair = try inner.string("the private key")
        _ = try inner.string("the comment")
        guard publicKey.count == 32, innerPublic == publicKey else {
            throw ToolError("the OpenSSH key's public key is not 32 bytes or differs between its two copies")
        }
        guard pair.count == 64, Array(pair[32...]) == publicKey else {
            throw ToolError("the OpenSSH private key is not the 64 bytes seed ‖ public key")
        }
        // Padding 1, 2, 3, ... up to an 8-byte boundary.
        var expected: UInt8 = 1
        while inner.remaining > 0 {
            guard try inner.byte() == expected, expected <= 8 else { throw ToolError("the OpenSSH key's padding is damaged") }
            expected += 1
        }
        let key: Curve25519.Signing.PrivateKey
        do {
            key = try Curve25519.Signing.PrivateKey(rawRepresentation: Array(pair[0..<32]))
        } catch {
            throw ToolError("not a usable Ed25519 private key: \(error)")
        }
        guard Array(key.publicKey.rawRepresentation) == publicKey else {
            throw ToolError("the public key the OpenSSH file carries is not the one of its private key")
        }
        return key
    }

    /// SSH wire-format reads (RFC 4251 §5), each naming what it reads when the bytes run out.
    private struct Reader {
        let bytes: [UInt8]
        var at = 0

        var remaining: Int { bytes.count - at }

        mutating func take(_ n: Int) -> [UInt8]? {
            guard n >= 0, n <= remaining else { return nil }
            defer { at += n }
            return Array(bytes[at..<(at + n)])
        }

        mutating func byte() throws(ToolError) -> UInt8 {
            guard let b = take(1) else { throw ToolError("the OpenSSH key is cut off") }
            return b[0]
        }

        mutating func uint32(_ what: String) throws(ToolError) -> UInt32 {
            guard let b = take(4) else { throw ToolError("the OpenSSH key is cut off in \(what)") }
            return b.reduce(0) { $0 << 8 | UInt32($1) }
        }

        mutating func string(_ what: String) throws(ToolError) -> [UInt8] {
            let length = try uint32(what)
            guard let b = take(Int(length)) else { throw ToolError("the OpenSSH key is cut off in \(what)") }
            return b
        }

        mutating func text(_ what: String) throws(ToolError) -> String {
            String(decoding: try string(what), as: UTF8.self)
        }
    }
}
