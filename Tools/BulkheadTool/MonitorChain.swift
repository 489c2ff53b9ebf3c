// `bulkhead attest verify --monitor-key KEY --certificate CERT REPORT`: the whole chain device → monitor → hypervisor → partition (docs/monitor.md).
import BulkheadCore
import Crypto
import Foundation

extension Commands {
    /// A certificate file: 192 raw bytes, or its 384 hex digits (what the hypervisor prints after
    /// "monitor certificate: "; whitespace is ignored).
    static func loadCertificate(_ path: String) throws(ToolError) -> [UInt8] {
        let data: [UInt8]
        do { data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw ToolError.cannotRead(path, "the monitor certificate (--certificate)", error)
        }
        if data.count == MonitorCertificate.size { return data }
        let text = String(decoding: data, as: UTF8.self).filter { !$0.isWhitespace }
        guard let bytes = parseHex(text) else {
            throw ToolError("--certificate: \(path) is neither 192 bytes nor hex digits")
        }
        return bytes
    }

    /// The first link, device → monitor: the certificate at `certificatePath` checked with the
    /// monitor's device key; returns that key, the hypervisor attestation key and the measurement
    /// the certificate vouches for (hex), or names the failure.
    static func certifiedHypervisor(monitorKey: String, certificatePath: String) throws(ToolError)
        -> (monitorKey: String, attestationKey: String, measurement: String) {
        let monitor = try DeviceAttestationKey.load(monitorKey)
        let cert = try loadCertificate(certificatePath)
        guard let coreKey = monitor.rawRepresentation.withUnsafeBytes({ Ed25519PublicKey(bytes: $0) }) else {
            throw ToolError("--monitor-key: not a valid Ed25519 public key")
        }
        let contents: MonitorCertificate.Contents
        switch cert.withUnsafeBytes({ MonitorCertificate.verify($0, monitorKey: coreKey) }) {
        case .success(let c): contents = c
        case .failure(let f): throw ToolError("link device → monitor: \(certificatePath): the certificate is refused: \(describe(f))")
        }
        return (hexString(monitor.rawRepresentation), withUnsafeBytes(of: contents.publicKey) { hexString(Array($0)) },
                contents.measurement.withBytes { hexString(Array($0)) })
    }

    /// Checks the chain link by link and names the link that fails (verifiedThroughChain).
    /// Returns `attest verify`'s lines after a chain line.
    public static func attestVerifyChain(reportPath: String, monitorKey: String, certificatePath: String,
                                         nonce: String? = nil, bundlePath: String? = nil) throws(ToolError) -> String {
        let (r, chain) = try verifiedThroughChain(monitorKey: monitorKey, certificatePath: certificatePath,
                                                  link: "partition", target: "report",
                                                  identity: { $0.hypervisorIdentity }) { (key) throws(ToolError) in
            try attestVerifyResult(reportPath: reportPath, deviceKey: key, nonce: nonce, bundlePath: bundlePath)
        }
        return ([chain] + describe(r)).joined(separator: "\n")
    }

    /// The whole chain for a report that `verify` checks with a given attestation key: the
    /// certificate (device → monitor), the report with the certificate's attestation key
    /// (hypervisor → `link`), then the report's hypervisor identity against the certificate's
    /// measurement (monitor → hypervisor). Returns the verified report and the "chain: valid" line.
    static func verifiedThroughChain<R>(monitorKey: String, certificatePath: String, link: String, target: String,
                                        identity: (R) -> String,
                                        verify: (String) throws(ToolError) -> R) throws(ToolError) -> (R, String) {
        let (monitorHex, hypervisorKey, measurement) = try certifiedHypervisor(monitorKey: monitorKey, certificatePath: certificatePath)
        let r: R
        do {
            r = try verify(hypervisorKey)
        } catch {
            throw ToolError("link hypervisor → \(link): \(error.message)")
        }
        guard identity(r) == measurement else {
            throw ToolError("link monitor → hypervisor: the report's hypervisor identity \(identity(r).prefix(16))... "
                            + "is not the certificate's measurement \(measurement.prefix(16))...")
        }
        return (r, "chain: valid (monitor key \(monitorHex.prefix(16))... → hypervisor key "
                   + "\(hypervisorKey.prefix(16))... for measurement \(measurement.prefix(16))... → \(target))")
    }

    static func describe(_ f: MonitorCertificate.Failure) -> String {
        switch f {
        case .truncated: return "it is not 192 bytes"
        case .badMagic: return "bad magic (\"BHMC\" expected)"
        case .unsupportedVersion(let v): return "version \(v) is not supported (1 is)"
        case .badSize: return "its length field is not 192"
        case .reservedNotZero: return "reserved bytes 104..127 are not zero"
        case .badPublicKey: return "its attestation key is not a valid Ed25519 point"
        case .badSignature: return "bad signature: it was not signed by this monitor key"
        }
    }
}
