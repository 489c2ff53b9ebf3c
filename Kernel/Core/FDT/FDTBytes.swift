// Checked big-endian loads and byte-string helpers shared by the FDT reader and writer.

/// Byte helpers. Every load checks its bounds and returns `nil` instead of trapping.
enum FDTBytes {
    @inline(__always)
    static func u32(_ b: UnsafeRawBufferPointer, at offset: Int) -> UInt32? {
        guard offset >= 0, offset <= b.count &- 4 else { return nil }
        return UInt32(b[offset]) << 24 | UInt32(b[offset &+ 1]) << 16
            | UInt32(b[offset &+ 2]) << 8 | UInt32(b[offset &+ 3])
    }

    @inline(__always)
    static func u64(_ b: UnsafeRawBufferPointer, at offset: Int) -> UInt64? {
        guard let hi = u32(b, at: offset), let lo = u32(b, at: offset &+ 4) else { return nil }
        return UInt64(hi) << 32 | UInt64(lo)
    }

    /// The sub-buffer `[start, start + count)`, or `nil` when it is not inside `b`.
    @inline(__always)
    static func slice(_ b: UnsafeRawBufferPointer, from start: Int, count: Int) -> UnsafeRawBufferPointer? {
        guard start >= 0, count >= 0, start <= b.count, count <= b.count &- start else { return nil }
        return UnsafeRawBufferPointer(rebasing: b[start..<(start &+ count)])
    }

    /// Index of the first `byte` in `b[from..<end]`, or `nil`.
    static func index(of byte: UInt8, in b: UnsafeRawBufferPointer, from: Int, to end: Int) -> Int? {
        guard from >= 0, end <= b.count else { return nil }
        var i = from
        while i < end {
            if b[i] == byte { return i }
            i &+= 1
        }
        return nil
    }

    static func index(of byte: UInt8, in b: UnsafeRawBufferPointer) -> Int? {
        index(of: byte, in: b, from: 0, to: b.count)
    }

    static func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        var i = 0
        while i < a.count {
            if a[i] != b[i] { return false }
            i &+= 1
        }
        return true
    }

    static func equal(_ a: UnsafeRawBufferPointer, _ s: StaticString) -> Bool {
        s.withUTF8Buffer { equal(a, UnsafeRawBufferPointer($0)) }
    }

    /// `value` rounded up to a multiple of 4.
    @inline(__always)
    static func align4(_ value: Int) -> Int { (value &+ 3) & ~3 }

    /// Calls `body` with the UTF-8 bytes of `s`, passing its typed error through.
    static func withBytes<R>(
        of s: StaticString, _ body: (UnsafeRawBufferPointer) throws(FDTError) -> R
    ) throws(FDTError) -> R {
        let result: Result<R, FDTError> = s.withUTF8Buffer { buffer in
            do throws(FDTError) {
                return .success(try body(UnsafeRawBufferPointer(buffer)))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}
