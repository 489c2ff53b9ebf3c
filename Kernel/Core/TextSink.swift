// Allocation-free text output: the kernel console and host strings share one formatting path.

/// Where formatted text goes. The kernel implements it over the UART; the host over `String`.
public protocol TextSink {
    mutating func write(byte: UInt8)
}

extension TextSink {
    public mutating func write(_ text: StaticString) {
        text.withUTF8Buffer { for b in $0 { write(byte: b) } }
    }
    public mutating func write(bytes: UnsafeRawBufferPointer) {
        for b in bytes { write(byte: b) }
    }
    public mutating func write(decimal value: UInt64) {
        var digits = InlineArray<20, UInt8>(repeating: 0)
        var n = value, count = 0
        repeat { digits[count] = UInt8(truncatingIfNeeded: 48 &+ n % 10); n /= 10; count += 1 } while n > 0
        while count > 0 { count -= 1; write(byte: digits[count]) }
    }
    public mutating func write(decimal value: Int) {
        if value < 0 { write(byte: UInt8(ascii: "-")); write(decimal: value.magnitude.toU64) } else { write(decimal: UInt64(value)) }
    }
    /// `0x`-prefixed lower-case hexadecimal without leading zeros.
    public mutating func write(hex value: UInt64) {
        write("0x")
        var shift = 60
        while shift > 0 && (value >> UInt64(shift)) & 0xF == 0 { shift -= 4 }
        while shift >= 0 {
            let nibble = UInt8(truncatingIfNeeded: (value >> UInt64(shift)) & 0xF)
            write(byte: nibble < 10 ? 48 &+ nibble : 87 &+ nibble)
            shift -= 4
        }
    }
    /// Exactly two lower-case hexadecimal digits, no prefix (for digests and key ids).
    public mutating func write(hexByte value: UInt8) {
        let high = value >> 4, low = value & 0xF
        write(byte: high < 10 ? 48 &+ high : 87 &+ high)
        write(byte: low < 10 ? 48 &+ low : 87 &+ low)
    }
    /// `bytes` as lower-case hex, two digits a byte, no prefix (a key, a digest, a fingerprint).
    public mutating func write(hexBytes bytes: UnsafeRawBufferPointer) {
        var i = 0
        while i < bytes.count { write(hexByte: bytes[i]); i &+= 1 }
    }
    /// A size in the largest whole binary unit: `2 MiB`, `4096 bytes`.
    public mutating func write(size: UInt64) {
        let mib: UInt64 = 1 << 20, gib: UInt64 = 1 << 30
        if size != 0 && size % gib == 0 { write(decimal: size / gib); write(" GiB") }
        else if size != 0 && size % mib == 0 { write(decimal: size / mib); write(" MiB") }
        else if size != 0 && size % 1024 == 0 { write(decimal: size / 1024); write(" KiB") }
        else { write(decimal: size); write(" bytes") }
    }
}

extension UInt {
    @inline(__always) var toU64: UInt64 { UInt64(self) }
}

#if !hasFeature(Embedded)
/// Host-side sink that collects text into a `String` (used by the CLI and tests).
public struct StringSink: TextSink {
    public var bytes: [UInt8] = []
    public init() {}
    public mutating func write(byte: UInt8) { bytes.append(byte) }
    public var text: String { String(decoding: bytes, as: UTF8.self) }
}
#endif
