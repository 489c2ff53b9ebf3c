// The secure monitor seen from the hypervisor (docs/monitor.md): whether the firmware below us
// has Bulkhead's monitor extension, and taking the CDI and the measurement it keeps for us.
import BulkheadCore

enum SecureMonitor {
    /// The monitor's SBI extension (Kernel/Monitor/include/bulkhead_monitor.h).
    static let extensionID: UInt64 = SecureMonitorExtension.eid
    static let getMeasurement: UInt64 = 1
    static let getCDI: UInt64 = 2
    static let getCertificate: UInt64 = 3

    enum Handoff {
        /// No monitor extension: a plain firmware (the hypervisor reads the device secret itself).
        case absent
        /// The extension is there but refused a word (SBI error): no CDI (no valid device secret
        /// in the monitor's flash, or somebody took it before us).
        case refused(Int64)
        /// `cdi` and `measurement` were filled in.
        case taken
    }

    /// SBI base probe_extension (SBI spec v2.0 §4.6): non-zero when the firmware implements it.
    static var present: Bool {
        let r = Firmware.call(0x10, 3, extensionID)
        return r.error == 0 && r.value != 0
    }

    /// Takes the monitor's measurement of this hypervisor image and the CDI it derived from the
    /// device secret and that measurement (get_measurement, then get_cdi, one 64-bit little-endian
    /// word per call). The monitor hands the CDI out once and wipes it, so this runs once, at boot,
    /// before any guest or other hart. On anything but `.taken`, `cdi` holds zeros.
    static func take(cdi: inout CDI, measurement: inout SHA512Digest) -> Handoff {
        guard present else { return .absent }
        let measured = withUnsafeMutableBytes(of: &measurement.bytes) { readWords(getMeasurement, into: $0) }
        if measured != 0 { return .refused(measured) }
        let taken = withUnsafeMutableBytes(of: &cdi) { readWords(getCDI, into: $0) }
        if taken != 0 {
            withUnsafeMutableBytes(of: &cdi) { secureZero($0) }
            return .refused(taken)
        }
        return .taken
    }

    /// Fills the 64 bytes of `output` with words 0...7 of call `fid`, one 64-bit little-endian
    /// word per call; the first SBI error stops it and is returned (0: all eight read).
    private static func readWords(_ fid: UInt64, into output: UnsafeMutableRawBufferPointer) -> Int64 {
        var w = 0
        while w < 8 {
            var r = Firmware.call(extensionID, fid, UInt64(w))
            if r.error != 0 { return r.error }
            output.storeBytes(of: r.value.littleEndian, toByteOffset: 8 * w, as: UInt64.self)
            r.value = 0
            w += 1
        }
        return 0
    }

    /// Reads the monitor's 192-byte certificate (get_certificate, words 0...23) into `output`:
    /// 0, or the first SBI error (a monitor before API version 4 has none: SBI_ERR_NOT_SUPPORTED).
    static func readCertificate(into output: UnsafeMutableRawBufferPointer) -> Int64 {
        guard output.count >= MonitorCertificate.size else { return -3 }
        var w = 0
        while w < MonitorCertificate.size / 8 {
            let r = Firmware.call(extensionID, getCertificate, UInt64(w))
            if r.error != 0 { return r.error }
            output.storeBytes(of: r.value.littleEndian, toByteOffset: 8 * w, as: UInt64.self)
            w += 1
        }
        return 0
    }

    /// Whether `cert` names this hypervisor: its measurement is `identity` and its public key
    /// `publicKey` (the signature is the verifier's to check: only it trusts the monitor's key).
    static func certificateMatches(_ cert: UnsafeRawBufferPointer, identity: SHA512Digest,
                                   publicKey: UnsafeRawBufferPointer) -> Bool {
        guard cert.count >= MonitorCertificate.size, publicKey.count == 32 else { return false }
        var difference: UInt8 = 0
        identity.withBytes { d in var i = 0; while i < 64 { difference |= d[i] ^ cert[8 + i]; i += 1 } }
        var i = 0
        while i < 32 { difference |= publicKey[i] ^ cert[72 + i]; i += 1 }
        return difference == 0
    }

    /// Asks for the CDI's first word again: the monitor must refuse now (SBI_ERR_DENIED, -4).
    /// The SBI error, or 0 when the monitor gave it out a second time (its value is dropped).
    static func askAgain() -> Int64 {
        var r = Firmware.call(extensionID, getCDI, 0)
        r.value = 0
        return r.error
    }
}
