// Ed25519 keys in the standard PEM forms (RFC 8410), read through swift-asn1:
//
//     -----BEGIN PRIVATE KEY-----   PKCS#8 OneAsymmetricKey (what `openssl genpkey -algorithm ed25519` writes)
//     -----BEGIN PUBLIC KEY-----    SubjectPublicKeyInfo    (what `openssl pkey -pubout` writes)
//
// An OpenSSH private key ("-----BEGIN OPENSSH PRIVATE KEY-----") is recognised here and read by
// OpenSSHKey.swift (no library on the build machine parses that format).
import Foundation
import SwiftASN1

enum StandardKeys {
    /// id-Ed25519 (RFC 8410, section 3).
    static let ed25519 = ASN1ObjectIdentifier("1.3.101.112")

    /// What a PEM key file holds, by its `-----BEGIN ...-----` label.
    enum Kind: Equatable {
        case privateKey       // PKCS#8
        case publicKey        // SubjectPublicKeyInfo
        case openSSHPrivateKey
        case other(String)
    }

    /// Whether `text` is a PEM document (its first non-blank line is a BEGIN line).
    static func isPEM(_ text: String) -> Bool {
        text.drop { $0.isWhitespace }.hasPrefix("-----BEGIN ")
    }

    /// The formats `--key` reads, for messages.
    static let privateFormats = "a `bulkhead keygen` .key file, a PKCS#8 PEM Ed25519 key (\"-----BEGIN PRIVATE KEY-----\", "
        + "as `openssl genpkey -algorithm ed25519` writes) or an unencrypted OpenSSH Ed25519 key (`ssh-keygen -t ed25519`)"
    /// The formats a public key is read in, for messages.
    static let publicFormats = "a `bulkhead keygen` .pub file or an SPKI PEM Ed25519 public key (\"-----BEGIN PUBLIC KEY-----\", "
        + "as `openssl pkey -pubout` writes)"

    /// The label and DER bytes of a PEM document.
    static func document(_ text: String) throws(ToolError) -> (kind: Kind, der: [UInt8]) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        // Recognised by its first line: swift-asn1 does not read the OpenSSH format's body.
        if trimmed.hasPrefix("-----BEGIN OPENSSH PRIVATE KEY-----") { return (.openSSHPrivateKey, []) }
        let doc: PEMDocument
        do {
            doc = try PEMDocument(pemString: trimmed)
        } catch {
            throw ToolError("not a readable PEM document (\(error))")
        }
        switch doc.discriminator {
        case "PRIVATE KEY": return (.privateKey, doc.derBytes)
        case "PUBLIC KEY": return (.publicKey, doc.derBytes)
        case "OPENSSH PRIVATE KEY": return (.openSSHPrivateKey, doc.derBytes)
        default: return (.other(doc.discriminator), doc.derBytes)
        }
    }

    /// The 32-byte seed of a PKCS#8 Ed25519 private key (RFC 8410 section 7: OneAsymmetricKey
    /// version 0 or 1, algorithm id-Ed25519 without parameters, privateKey an OCTET STRING holding
    /// the CurvePrivateKey OCTET STRING; attributes [0] and publicKey [1] may follow), and the
    /// public key when the file carries one.
    static func pkcs8Seed(_ der: [UInt8]) throws(ToolError) -> (seed: [UInt8], publicKey: [UInt8]?) {
        do {
            return try DER.sequence(try DER.parse(der), identifier: .sequence) { nodes in
                let version = try Int(derEncoded: &nodes)
                guard version == 0 || version == 1 else {
                    throw ToolError("PKCS#8 version \(version); 0 or 1 expected")
                }
                try algorithm(&nodes)
                let wrapped = try ASN1OctetString(derEncoded: &nodes)
                let seed = try ASN1OctetString(derEncoded: Array(wrapped.bytes))
                guard seed.bytes.count == 32 else {
                    throw ToolError("the private key is \(seed.bytes.count) bytes; an Ed25519 key is 32")
                }
                var publicKey: [UInt8]?
                while let node = nodes.next() {
                    if node.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) { continue }
                    let bits = try ASN1BitString(derEncoded: node,
                                                 withIdentifier: ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific))
                    publicKey = Array(bits.bytes)
                }
                return (Array(seed.bytes), publicKey)
            }
        } catch let error as ToolError {
            throw error
        } catch {
            throw ToolError("not a PKCS#8 Ed25519 private key (\(error))")
        }
    }

    /// The 32-byte key of an SPKI Ed25519 public key (RFC 8410 section 4).
    static func spkiKey(_ der: [UInt8]) throws(ToolError) -> [UInt8] {
        do {
            return try DER.sequence(try DER.parse(der), identifier: .sequence) { nodes in
                try algorithm(&nodes)
                let bits = try ASN1BitString(derEncoded: &nodes)
                guard bits.paddingBits == 0, bits.bytes.count == 32 else {
                    throw ToolError("the public key is \(bits.bytes.count) bytes; an Ed25519 key is 32")
                }
                return Array(bits.bytes)
            }
        } catch let error as ToolError {
            throw error
        } catch {
            throw ToolError("not an SPKI Ed25519 public key (\(error))")
        }
    }

    /// The PKCS#8 PEM of an Ed25519 seed (RFC 8410 section 7: OneAsymmetricKey version 0,
    /// id-Ed25519, the seed as a CurvePrivateKey OCTET STRING inside the privateKey OCTET STRING).
    static func pkcs8PEM(seed: [UInt8]) throws(ToolError) -> String {
        try pem("PRIVATE KEY") { s in
            try s.appendConstructedNode(identifier: .sequence) { s in
                try s.serialize(0)
                try appendAlgorithm(&s)
                var inner = DER.Serializer()
                try inner.serialize(ASN1OctetString(contentBytes: ArraySlice(seed)))
                try s.serialize(ASN1OctetString(contentBytes: ArraySlice(inner.serializedBytes)))
            }
        }
    }

    /// The SPKI PEM of an Ed25519 public key (RFC 8410 section 4).
    static func spkiPEM(publicKey: [UInt8]) throws(ToolError) -> String {
        try pem("PUBLIC KEY") { s in
            try s.appendConstructedNode(identifier: .sequence) { s in
                try appendAlgorithm(&s)
                try s.serialize(ASN1BitString(bytes: ArraySlice(publicKey)))
            }
        }
    }

    private static func pem(_ label: String, _ body: (inout DER.Serializer) throws -> Void) throws(ToolError) -> String {
        do {
            var serializer = DER.Serializer()
            try body(&serializer)
            return PEMDocument(type: label, derBytes: serializer.serializedBytes).pemString + "\n"
        } catch {
            throw ToolError("cannot encode the \(label.lowercased()) as DER: \(error)")
        }
    }

    private static func appendAlgorithm(_ s: inout DER.Serializer) throws {
        try s.appendConstructedNode(identifier: .sequence) { s in try s.serialize(ed25519) }
    }

    /// AlgorithmIdentifier: SEQUENCE { id-Ed25519 } (the parameters are absent, RFC 8410 section 3).
    private static func algorithm(_ nodes: inout ASN1NodeCollection.Iterator) throws {
        guard let node = nodes.next() else { throw ToolError("the algorithm identifier is missing") }
        let oid = try DER.sequence(node, identifier: .sequence) { inner in try ASN1ObjectIdentifier(derEncoded: &inner) }
        guard oid == ed25519 else {
            throw ToolError("the key's algorithm is \(oid), not Ed25519 (1.3.101.112); only Ed25519 keys sign bundles")
        }
    }
}
