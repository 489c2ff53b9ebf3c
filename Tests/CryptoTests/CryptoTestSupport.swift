// Shared helpers for the crypto tests: hex decoding and byte-array adapters.
import BulkheadCore

func hexBytes(_ hex: String) -> [UInt8] {
    var out: [UInt8] = []
    var high: UInt8? = nil
    for c in hex.utf8 where c != 32 && c != 10 {
        let v: UInt8 = c <= 57 ? c - 48 : (c | 0x20) - 87
        if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
    }
    return out
}
