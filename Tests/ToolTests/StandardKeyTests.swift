// PKCS#8 and SPKI PEM Ed25519 keys (RFC 8410) read wherever a signing key is, with the key id a
// swift-crypto key of the same bytes has; OpenSSH private keys refused with the supported formats.
import BulkheadCore
@testable import BulkheadTool
import Crypto
import Foundation
import Testing

@Suite("CLI: PKCS#8 and SPKI PEM keys")
struct StandardKeyTests {
    /// The fixed RFC 8410 DER prefixes (section 10.3's examples), built here independently of the tool.
    static let pkcs8V0Prefix: [UInt8] = [0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70,
                                         0x04, 0x22, 0x04, 0x20]
    static let spkiPrefix: [UInt8] = [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00]

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
        // OpenSSH private keys: recognised, refused with the formats that are read.
        let ssh = write(ws, "id_ed25519", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n")
        #expect(throws: ToolError("\(ssh): an OpenSSH private key, which bulkhead cannot read (no library it uses parses the "
                                  + "OpenSSH format); --key reads \(StandardKeys.privateFormats)")) {
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
}
