// The secure monitor seen from the hypervisor (docs/monitor.md): whether the firmware below us
// has Bulkhead's monitor extension, and taking the CDI and the measurement it keeps for us.
import BulkheadCore
import CArch

enum SecureMonitor {
    /// The monitor's SBI extension (Kernel/Monitor/include/bulkhead_monitor.h).
    static let extensionID: UInt64 = 0x0A424C4B
    static let getMeasurement: UInt64 = 1
    static let getCDI: UInt64 = 2

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
        var w = 0
        while w < 8 {
            let r = Firmware.call(extensionID, getMeasurement, UInt64(w))
            if r.error != 0 { return .refused(r.error) }
            var b = 0
            while b < 8 { measurement.bytes[8 * w + b] = UInt8(truncatingIfNeeded: r.value >> UInt64(8 * b)); b += 1 }
            w += 1
        }
        w = 0
        while w < 8 {
            var r = Firmware.call(extensionID, getCDI, UInt64(w))
            if r.error != 0 {
                withUnsafeMutableBytes(of: &cdi) { secureZero($0) }
                return .refused(r.error)
            }
            var b = 0
            while b < 8 { cdi[8 * w + b] = UInt8(truncatingIfNeeded: r.value >> UInt64(8 * b)); b += 1 }
            r.value = 0
            w += 1
        }
        return .taken
    }

    /// Asks for the CDI's first word again: the monitor must refuse now (SBI_ERR_DENIED, -4).
    /// The SBI error, or 0 when the monitor gave it out a second time (its value is dropped).
    static func askAgain() -> Int64 {
        var r = Firmware.call(extensionID, getCDI, 0)
        r.value = 0
        return r.error
    }
}
