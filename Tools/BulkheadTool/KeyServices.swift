// Key services and the device secret as the CLI shows them: service names from Core's KeyPolicy,
// the device secret's fingerprint, and the secret file `bulkhead provision --secret-file` reads.
import BulkheadCore
import Crypto
import Foundation

public enum KeyServices {
    /// The configuration names of every key service, in KeyPolicy's order
    /// (`derive`, `seal`, `attest`, `keystore`, `random`).
    public static let names: [String] = {
        var out: [String] = []
        var i = 0
        while let (_, name) = KeyPolicy.entry(i) { out.append(name.description); i += 1 }
        return out
    }()

    /// `derive, seal` for a policy, or `none` when it allows no service.
    public static func describe(_ policy: KeyPolicy) -> String {
        var out: [String] = []
        var i = 0
        while let (service, name) = KeyPolicy.entry(i) {
            if policy.allows(service) { out.append(name.description) }
            i += 1
        }
        return out.isEmpty ? "none" : out.joined(separator: ", ")
    }
}

public enum DeviceSecretFile {
    /// The bytes hashed in front of the secret for its fingerprint (domain separation: the
    /// fingerprint is no key, and no key derivation uses this label).
    public static let fingerprintLabel = "bulkhead device secret fingerprint"

    /// The first 8 bytes of SHA-512(`fingerprintLabel` ‖ secret), as 16 lowercase hex digits:
    /// names a secret without revealing it.
    public static func fingerprint(_ secret: [UInt8]) -> String {
        var hasher = Crypto.SHA512()
        hasher.update(data: Array(fingerprintLabel.utf8))
        hasher.update(data: secret)
        return hexString(Array(hasher.finalize()).prefix(8))
    }

    /// 32 bytes from the system's CSPRNG (swift-crypto's `SymmetricKey`, the OS's random source).
    public static func random() -> [UInt8] {
        SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
    }

    /// The secret in the file at `path`: 64 hex digits (either case), optionally surrounded by
    /// white space (a final newline, say), nothing else.
    public static func load(path: String) throws(ToolError) -> [UInt8] {
        SafeFile.warnIfExposed(path, what: "device secret")
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ToolError.cannotRead(path, "the device secret file", error)
        }
        return try parse([UInt8](data), file: path)
    }

    /// `bytes` as a secret file (see `load`).
    public static func parse(_ bytes: [UInt8], file: String) throws(ToolError) -> [UInt8] {
        let format = "a device secret file holds the 32-byte secret as 64 hex digits"
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        let text = bytes.drop(while: isSpace).reversed().drop(while: isSpace).reversed()
        guard text.count == 64 else {
            throw ToolError("\(file): \(format); found \(text.count) character\(text.count == 1 ? "" : "s")")
        }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        let digits = Array(text)
        var secret: [UInt8] = []
        for i in stride(from: 0, to: 64, by: 2) {
            guard let high = nibble(digits[i]), let low = nibble(digits[i + 1]) else {
                let at = nibble(digits[i]) == nil ? i : i + 1
                throw ToolError("\(file): \(format); character \(at + 1) is not a hex digit")
            }
            secret.append(high << 4 | low)
        }
        if secret.allSatisfy({ $0 == 0 }) || secret.allSatisfy({ $0 == 0xFF }) {
            throw ToolError("\(file): the secret is all \(secret[0] == 0 ? "zero" : "0xFF") bytes: that is blank storage, not a secret")
        }
        return secret
    }
}
