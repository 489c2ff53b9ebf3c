// PKCS#8 and SPKI PEM Ed25519 keys (RFC 8410) read wherever a signing key is, with the key id a
// swift-crypto key of the same bytes has; OpenSSH Ed25519 private keys from ssh-keygen read, encrypted or other ones refused.
import BulkheadCore
@testable import BulkheadTool
import Crypto
import Foundation
import Testing

@Suite("CLI: PKCS#8, SPKI and OpenSSH keys")
struct StandardKeyTests {
    /// The fixed RFC 8410 DER prefixes (section 10.3's examples), built here independently of the tool.
    static let pkcs8V0Prefix: [UInt8] = [0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70,
                                         0x04, 0x22, 0x04, 0x20]
    static let spkiPrefix: [UInt8] = [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00]

    // OpenSSH private keys (OpenSSHKey.swift), written by `ssh-keygen -t ed25519` (OpenSSH 9.2):
    // an unencrypted one, the same format encrypted with a passphrase, and an RSA key.
    static let openSSHKey = """
-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACARS0wsyDyWeDZB/6FIeMZ7KoyTVBU6pp6FBMtAcJqKWAAAAJD/VI80/1SP
NAAAAAtzc2gtZWQyNTUxOQAAACARS0wsyDyWeDZB/6FIeMZ7KoyTVBU6pp6FBMtAcJqKWA
AAAEDcmstv4+SkX9xmr0aPC164A3VT8gRKWY6DXxlSd/stDxFLTCzIPJZ4NkH/oUh4xnsq
jJNUFTqmnoUEy0BwmopYAAAADWJ1bGtoZWFkIHRlc3Q=
-----END OPENSSH PRIVATE KEY-----
"""
    /// The raw public key of `openSSHKey`, from the .pub file ssh-keygen wrote beside it.
    static let openSSHPublicKey = "114b4c2cc83c96783641ffa14878c67b2a8c9354153aa69e8504cb40709a8a58"
    static let openSSHEncryptedKey = """
-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABALzj+2xK
nnEKfAQvKiE4gvAAAAEAAAAAEAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIF2z9o3+6Lx8LAe3
S6WdUhHyUE95npswtl6Lo+IncScdAAAAkBxbGEekUglKVrxR26Gzyb4agAmJG/5SOjtYT6
fGNgdtymDNK++VOgFJainaImM8Xp3CahGVpG9t7vqBSsR8UxNttgv4T83F0Z0n7ho3FHRc
7lkLAcdWxrcJBC/EEMXbQ/qAW3roWS3AK6av7W8Pr1amYgtFk3Wy8uf1tbCtJPKSK4Go8f
oDlCXnDc3dzMly7w==
-----END OPENSSH PRIVATE KEY-----
"""
    static let openSSHRSAKey = """
-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAlwAAAAdzc2gtcn
NhAAAAAwEAAQAAAIEA4e0b4Y7gnHMw1umjC3oPv5C38Ft+KWy+w/WwhYrC6qWYinWdT3jn
lhz+Tx82tSzLscmTTI1EHi6yMxm/rv8iSJiX9nCW0WItw2nemTM7rK0TdXONnI1SsF+Wtb
uIcC5Qas4Fc8r8A1OOtr7fj6LPUWbl9E3ATSRLySt4n87M9EUAAAIAMFCzKjBQsyoAAAAH
c3NoLXJzYQAAAIEA4e0b4Y7gnHMw1umjC3oPv5C38Ft+KWy+w/WwhYrC6qWYinWdT3jnlh
z+Tx82tSzLscmTTI1EHi6yMxm/rv8iSJiX9nCW0WItw2nemTM7rK0TdXONnI1SsF+WtbuI
cC5Qas4Fc8r8A1OOtr7fj6LPUWbl9E3ATSRLySt4n87M9EUAAAADAQABAAAAgQCHjviqt0
sINIm6egdtjHjEjbYATzV875XrCJE5H5BisKe9dGLGW5pBVPY2TVlLDizOaU+roBueLJCZ
3rpH6ygK3G35NaqpKkL/VYO3x0ZfDSSwwKeFctiMwuRTBYC0A1BWbBrS8wmOIEpyJ/pmsq
OluXsEPgMWybGiKSHMtjfLJQAAAEBc6GN1qV6jIv5pxXcEtpyeMbWjotIMcrhNQqvfL2BT
jLNODnQglZlteQwg6llyVu7Kt20iJ/54P45GSSBBZ45WAAAAQQD2LTqFlb293tD//uSQVG
yN6D38UkESgttBZDRYbyTY5LXtieQ5F4XqaPJraMLIti/SRmTSXc7G43Cs0rTQ5p33AAAA
QQDq8QP2R9tG84brqsT2xDyQV/Ll8uRNST//0fkT9nl1TipArPCyPQVU1P+mjMfbvjUi5g
dNPrIGTG/90yiBpKCjAAAAB3Jvb3RAdm0BAgM=
-----END OPENSSH PRIVATE KEY-----
"""

    static func pem(_ label: String, _ der: [UInt8]) -> String {
        let base64 = Data(der).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN \(label)-----\n\(base64)\n-----END \(label)-----\n"
    }

    /// PKCS#8 version 1 with the public key ([1] IMPLICIT BIT STRING) after the private one.
    static func pkcs8V1(seed: [UInt8], publicKey: [UInt8]) -> [UInt8] {
        [0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20] + seed
            + [0x81, 0x21, 0x00] + publicKey
    }

    func write(_ ws: Workspace, _ name: String, _ text: String) -> String {
        ws.write(name, Array(text.utf8))
        _ = chmod(ws.directory + "/" + name, 0o600)
        return ws.directory + "/" + name
    }

    @Test func swiftCryptoKeysInPEMHaveTheirKeyID() throws {
        let ws = Workspace()
        defer { ws.remove() }
        let key = Curve25519.Signing.PrivateKey()
        let seed = Array(key.rawRepresentation), pub = Array(key.publicKey.rawRepresentation)
        let expected = SigningKeys.keyID(of: key.publicKey)

        let v0 = write(ws, "v0.pem", Self.pem("PRIVATE KEY", Self.pkcs8V0Prefix + seed))
        #expect(SigningKeys.keyID(of: try SigningKeys.loadPrivate(v0).publicKey) == expected)
        #expect(try SigningKeys.loadPrivate(v0).rawRepresentation == key.rawRepresentation)
        let v1 = write(ws, "v1.pem", Self.pem("PRIVATE KEY", Self.pkcs8V1(seed: seed, publicKey: pub)))
        #expect(SigningKeys.keyID(of: try SigningKeys.loadPrivate(v1).publicKey) == expected)
        let spki = write(ws, "k.pub.pem", Self.pem("PUBLIC KEY", Self.spkiPrefix + pub))
        #expect(SigningKeys.keyID(of: try SigningKeys.loadPublic(spki)) == expected)
        // `key public` of a PEM key is the keygen-format public key file.
        #expect(try SigningKeys.publicKeyText(ofPrivate: v0, output: nil)
                == "BULKHEAD ED25519 PUBLIC KEY\n\(hexString(pub))\n")
    }

    @Test func packWithAPEMKeyVerifiesWithItsSPKIPublicKey() throws {
        let ws = Workspace()
        defer { ws.remove() }
        let key = Curve25519.Signing.PrivateKey()
        let keyPath = write(ws, "k.pem", Self.pem("PRIVATE KEY", Self.pkcs8V0Prefix + Array(key.rawRepresentation)))
        let pubPath = write(ws, "k.spki", Self.pem("PUBLIC KEY", Self.spkiPrefix + Array(key.publicKey.rawRepresentation)))
        ws.write("small.bin", [0x13, 0, 0, 0])
        let config = ws.config(partition("p"))
        let bundle = ws.directory + "/b.bin"
        _ = try Commands.pack(configPath: config, output: bundle, keyPath: keyPath, securityVersion: 1, board: BoardOptions())
        let report = try Commands.verify(bundlePath: bundle, publicKeyPath: pubPath)
        #expect(report.contains(SigningKeys.keyID(of: key.publicKey).hex))
    }

    @Test func wrongKindsAndFormatsAreNamed() throws {
        let ws = Workspace()
        defer { ws.remove() }
        let key = Curve25519.Signing.PrivateKey()
        let seed = Array(key.rawRepresentation), pub = Array(key.publicKey.rawRepresentation)
        let spki = write(ws, "p.pem", Self.pem("PUBLIC KEY", Self.spkiPrefix + pub))
        #expect(throws: ToolError("\(spki): this is a public key: --key needs the private key file (NAME.key); the .pub file is for verify")) {
            try SigningKeys.loadPrivate(spki)
        }
        let priv = write(ws, "k.pem", Self.pem("PRIVATE KEY", Self.pkcs8V0Prefix + seed))
        #expect(throws: ToolError("\(priv): this is a private key: --public-key needs the public key file (NAME.pub), never the private key")) {
            try SigningKeys.loadPublic(priv)
        }
        // Another algorithm (X25519, 1.3.101.110) is refused by its OID.
        var x25519 = Self.pkcs8V0Prefix + seed
        x25519[11] = 0x6E
        let x = write(ws, "x.pem", Self.pem("PRIVATE KEY", x25519))
        #expect(throws: ToolError("\(x): the key's algorithm is 1.3.101.110, not Ed25519 (1.3.101.112); only Ed25519 keys sign bundles")) {
            try SigningKeys.loadPrivate(x)
        }
        // A carried public key that is not the private key's.
        let other = Array(Curve25519.Signing.PrivateKey().publicKey.rawRepresentation)
        let mismatch = write(ws, "m.pem", Self.pem("PRIVATE KEY", Self.pkcs8V1(seed: seed, publicKey: other)))
        #expect(throws: ToolError("\(mismatch): the public key the PKCS#8 file carries is not the one of its private key")) {
            try SigningKeys.loadPrivate(mismatch)
        }
        // A cut-off OpenSSH private key.
        let ssh = write(ws, "id_ed25519", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n")
        #expect(throws: ToolError("\(ssh): the OpenSSH key is cut off in the cipher name")) {
            try SigningKeys.loadPrivate(ssh)
        }
        let cert = write(ws, "c.pem", Self.pem("CERTIFICATE", [0x30, 0x00]))
        #expect(throws: ToolError("\(cert): a PEM \"CERTIFICATE\" document, not an Ed25519 private key; --key reads \(StandardKeys.privateFormats)")) {
            try SigningKeys.loadPrivate(cert)
        }
        // Truncated DER never traps.
        let full = Self.pkcs8V0Prefix + seed
        for n in 1..<full.count {
            let path = write(ws, "t.pem", Self.pem("PRIVATE KEY", Array(full[0..<n])))
            #expect(throws: ToolError.self) { try SigningKeys.loadPrivate(path) }
        }
    }

    /// Keys from `openssl genpkey -algorithm ed25519`, when openssl is installed.
    @Test func opensslKeys() throws {
        let openssl = "/usr/bin/openssl"
        guard FileManager.default.isExecutableFile(atPath: openssl) else { return }
        let ws = Workspace()
        defer { ws.remove() }
        func run(_ arguments: [String]) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: openssl)
            process.arguments = arguments
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "openssl \(arguments)")
        }
        let priv = ws.directory + "/o.pem", pub = ws.directory + "/o.pub.pem", der = ws.directory + "/o.pub.der"
        try run(["genpkey", "-algorithm", "ed25519", "-out", priv])
        _ = chmod(priv, 0o600)
        try run(["pkey", "-in", priv, "-pubout", "-out", pub])
        try run(["pkey", "-in", priv, "-pubout", "-outform", "DER", "-out", der])
        let raw = Array(try Data(contentsOf: URL(fileURLWithPath: der)).suffix(32))
        let expected = SigningKeys.keyID(of: try Curve25519.Signing.PublicKey(rawRepresentation: raw))
        #expect(SigningKeys.keyID(of: try SigningKeys.loadPrivate(priv).publicKey) == expected)
        #expect(SigningKeys.keyID(of: try SigningKeys.loadPublic(pub)) == expected)
    }

    /// `keygen --format pem` writes what the readers (and OpenSSL) read: PKCS#8 and SPKI.
    @Test func keygenWritesPEMThatReadsBack() throws {
        let ws = Workspace()
        defer { ws.remove() }
        let pair = try SigningKeys.generate(base: ws.directory + "/p", format: .pem)
        let privateText = try String(contentsOfFile: pair.privatePath, encoding: .utf8)
        let publicText = try String(contentsOfFile: pair.publicPath, encoding: .utf8)
        #expect(privateText.hasPrefix("-----BEGIN PRIVATE KEY-----\n") && publicText.hasPrefix("-----BEGIN PUBLIC KEY-----\n"))
        let key = try SigningKeys.loadPrivate(pair.privatePath)
        #expect(SigningKeys.keyID(of: key.publicKey) == pair.keyID)
        #expect(SigningKeys.keyID(of: try SigningKeys.loadPublic(pair.publicPath)) == pair.keyID)
        // The fixed RFC 8410 encodings: a 48-byte PKCS#8 v1 and a 44-byte SPKI around the 32-byte keys.
        let der = try #require(Data(base64Encoded: privateText.split(separator: "\n")[1].description))
        #expect(der.count == 48 && Array(der.suffix(32)) == Array(key.rawRepresentation))
        let spki = try #require(Data(base64Encoded: publicText.split(separator: "\n")[1].description))
        #expect(spki.count == 44 && Array(spki.suffix(32)) == Array(key.publicKey.rawRepresentation))
        var mode = stat()
        #expect(stat(pair.privatePath, &mode) == 0 && mode.st_mode & 0o777 == 0o600)
    }

    // MARK: OpenSSH private keys

    @Test func anOpenSSHKeyFromSSHKeygenIsRead() throws {
        let ws = Workspace()
        defer { ws.remove() }
        let path = write(ws, "id_ed25519", Self.openSSHKey)
        let key = try SigningKeys.loadPrivate(path)
        #expect(hexString(key.publicKey.rawRepresentation) == Self.openSSHPublicKey)
        // It signs: swift-crypto verifies the signature with the public key ssh-keygen wrote.
        let message = Array("bundle manifest".utf8)
        let raw = stride(from: 0, to: 64, by: 2).map { UInt8(Self.openSSHPublicKey.dropFirst($0).prefix(2), radix: 16) ?? 0 }
        let publicKey = try Curve25519.Signing.PublicKey(rawRepresentation: raw)
        #expect(publicKey.isValidSignature(try key.signature(for: message), for: message))
    }

    @Test func openSSHKeysThatCannotBeReadSayWhy() throws {
        let ws = Workspace()
        defer { ws.remove() }
        let encrypted = write(ws, "enc", Self.openSSHEncryptedKey)
        #expect(throws: ToolError("\(encrypted): the OpenSSH key is encrypted (aes256-ctr, bcrypt): remove its passphrase first "
                                  + "(`ssh-keygen -p -N '' -f FILE`, on a copy) or convert it to PKCS#8")) {
            try SigningKeys.loadPrivate(encrypted)
        }
        let rsa = write(ws, "rsa", Self.openSSHRSAKey)
        #expect(throws: ToolError("\(rsa): an OpenSSH ssh-rsa key, not ssh-ed25519")) { try SigningKeys.loadPrivate(rsa) }

        // Every cut of the decoded key, and every changed byte, is refused (never a trap).
        let body = Self.openSSHKey.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        let bytes = [UInt8](try #require(Data(base64Encoded: body)))
        func reencoded(_ b: [UInt8]) -> String {
            "-----BEGIN OPENSSH PRIVATE KEY-----\n" + Data(b).base64EncodedString() + "\n-----END OPENSSH PRIVATE KEY-----\n"
        }
        for n in 0..<bytes.count {
            let path = write(ws, "cut", reencoded(Array(bytes[0..<n])))
            #expect(throws: ToolError.self) { try SigningKeys.loadPrivate(path) }
        }
        var refused = 0
        for i in 0..<bytes.count {
            var changed = bytes
            changed[i] ^= 0x01
            let path = write(ws, "changed", reencoded(changed))
            if (try? SigningKeys.loadPrivate(path)) == nil { refused += 1 }
        }
        // Only the comment's 13 bytes may change without harm (OpenSSH does not protect it either).
        #expect(refused == bytes.count - 13)
        // The two check values are compared: the first lies after the magic (15 bytes), cipher and
        // KDF names ("none", 4 + 4 each), empty KDF options (4), the key count (4), the public key
        // (4 + 51) and the private section's length (4): at offset 98.
        var check = bytes
        check[98] ^= 0xFF
        let damaged = write(ws, "check", reencoded(check))
        #expect(throws: ToolError("\(damaged): the OpenSSH key's two check values differ (a wrong or damaged key)")) {
            try SigningKeys.loadPrivate(damaged)
        }
    }
}
