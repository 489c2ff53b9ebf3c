// Size strings: "16M", "1G", "512K" or plain bytes, as the configuration and --ram-size accept them.
import BulkheadCore

public enum Size {
    /// Parses decimal digits with an optional K, M or G suffix (binary units, any case).
    /// Returns nil for anything else, including values that overflow 64 bits.
    public static func parse(_ text: String) -> UInt64? {
        var digits = Substring(text)
        var multiplier: UInt64 = 1
        switch digits.last {
        case "K", "k": multiplier = 1 << 10
        case "M", "m": multiplier = 1 << 20
        case "G", "g": multiplier = 1 << 30
        default: break
        }
        if multiplier != 1 { digits = digits.dropLast() }
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= "0" && $0 <= "9" }), let value = UInt64(digits) else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : product
    }

    /// How a size is described in help and error messages.
    static let syntax = "an integer number of bytes or a string like \"16M\" (suffix K, M or G)"

    /// `16 MiB`, `4096 bytes`: the largest binary unit that divides `size` exactly.
    /// (Written here rather than with TextSink.write(size:), which divides by 2 MiB for "MiB".)
    public static func describe(_ size: UInt64) -> String {
        let units: [(UInt64, String)] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
        for (unit, name) in units where size != 0 && size % unit == 0 { return "\(size / unit) \(name)" }
        return size == 1 ? "1 byte" : "\(size) bytes"
    }
}

/// `0x84000000`: the same wording the kernel prints.
func hex(_ value: UInt64) -> String {
    var sink = StringSink()
    sink.write(hex: value)
    return sink.text
}
