// FDTNode and FDTProperty: views into a validated blob, with checked accessors for values.

/// A node of the structure block, as handed out by `FDTReader`.
///
/// It points into the reader's blob: it is valid only while that memory is.
public struct FDTNode {
    /// Offset of the node's FDT_BEGIN_NODE token from the start of the blob.
    public let offset: Int
    /// Offset of the parent's FDT_BEGIN_NODE token, or -1 for the root.
    public let parentOffset: Int
    /// Nesting depth: 0 for the root.
    public let depth: Int
    /// The full name including any unit address (`serial@10000000`); empty for the root.
    public let name: UnsafeRawBufferPointer
    /// Offset of the first token after the name (its properties, then its children).
    let contentOffset: Int

    public var isRoot: Bool { parentOffset < 0 }

    /// The name without its `@unit-address` part (`serial`).
    public var baseName: UnsafeRawBufferPointer {
        guard let at = FDTBytes.index(of: UInt8(ascii: "@"), in: name) else { return name }
        return UnsafeRawBufferPointer(rebasing: name[0..<at])
    }

    /// The unit address text after `@` (`10000000`), empty when there is none.
    public var unitAddress: UnsafeRawBufferPointer {
        guard let at = FDTBytes.index(of: UInt8(ascii: "@"), in: name) else {
            return UnsafeRawBufferPointer(rebasing: name[name.count..<name.count])
        }
        return UnsafeRawBufferPointer(rebasing: name[(at &+ 1)..<name.count])
    }

    public func nameEquals(_ text: StaticString) -> Bool { FDTBytes.equal(name, text) }
}

/// One decoded `reg` (or translated) entry: an address and a size, both widened to 64 bits.
public struct FDTRegion: Equatable, Sendable {
    public var address: UInt64
    public var size: UInt64
    public init(address: UInt64, size: UInt64) { self.address = address; self.size = size }
}

/// A property: its name (from the strings block) and its raw value bytes.
public struct FDTProperty {
    public let name: UnsafeRawBufferPointer
    public let value: UnsafeRawBufferPointer

    public init(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        self.name = name; self.value = value
    }

    public var isEmpty: Bool { value.count == 0 }
    /// Number of whole 32-bit cells in the value.
    public var cellCount: Int { value.count / 4 }

    /// The value as one big-endian u32; it must be exactly 4 bytes.
    public func u32() throws(FDTError) -> UInt32 {
        guard value.count == 4, let v = FDTBytes.u32(value, at: 0) else { throw .badPropertyLength }
        return v
    }

    /// The value as one big-endian u64; it must be exactly 8 bytes.
    public func u64() throws(FDTError) -> UInt64 {
        guard value.count == 8, let v = FDTBytes.u64(value, at: 0) else { throw .badPropertyLength }
        return v
    }

    /// A u32 or u64 value (4 or 8 bytes), as properties such as `timebase-frequency` allow.
    public func integer() throws(FDTError) -> UInt64 {
        if value.count == 4 { return UInt64(try u32()) }
        return try u64()
    }

    /// The 32-bit cell at `index`.
    public func cell(at index: Int) throws(FDTError) -> UInt32 {
        guard index >= 0, index < cellCount else { throw .indexOutOfRange }
        guard let v = FDTBytes.u32(value, at: index &* 4) else { throw .badPropertyLength }
        return v
    }

    /// `count` (0...2) consecutive cells starting at cell `index`, as one big-endian number.
    public func cells(at index: Int, count: Int) throws(FDTError) -> UInt64 {
        guard count >= 0, count <= 2 else { throw .unsupportedCellCount }
        guard index >= 0, index <= cellCount, count <= cellCount &- index else { throw .badPropertyLength }
        var result: UInt64 = 0
        var i = 0
        while i < count {
            guard let c = FDTBytes.u32(value, at: (index &+ i) &* 4) else { throw .badPropertyLength }
            result = result << 32 | UInt64(c)
            i &+= 1
        }
        return result
    }

    /// The value as a string, without its NUL. The value must end with NUL; if it holds a string
    /// list, this is the first string.
    public func string() throws(FDTError) -> UnsafeRawBufferPointer {
        guard value.count > 0, value[value.count &- 1] == 0,
              let nul = FDTBytes.index(of: 0, in: value) else { throw .unterminatedString }
        return UnsafeRawBufferPointer(rebasing: value[0..<nul])
    }

    /// The value as a list of NUL-terminated strings (an empty value is an empty list).
    public func strings() throws(FDTError) -> FDTStringList {
        guard value.count == 0 || value[value.count &- 1] == 0 else { throw .unterminatedString }
        return FDTStringList(value: value)
    }

    /// Whether the string list holds exactly `text` as one of its entries.
    public func contains(string text: UnsafeRawBufferPointer) throws(FDTError) -> Bool {
        var list = try strings()
        while let entry = list.next() { if FDTBytes.equal(entry, text) { return true } }
        return false
    }

    public func contains(string text: StaticString) throws(FDTError) -> Bool {
        var list = try strings()
        while let entry = list.next() { if FDTBytes.equal(entry, text) { return true } }
        return false
    }

    /// Whether the value is exactly the string `text` (with its single NUL).
    public func equals(string text: StaticString) -> Bool {
        guard value.count > 0, value[value.count &- 1] == 0 else { return false }
        return FDTBytes.equal(UnsafeRawBufferPointer(rebasing: value[0..<(value.count &- 1)]), text)
    }
}

/// The strings of a string-list value (`compatible`, `riscv,isa-extensions`), NULs removed.
/// Created only from a value that ends with NUL, so iteration cannot fail. (Not a `Sequence`:
/// that conformance drags in array code the `-no-allocations` kernel build rejects.)
public struct FDTStringList: IteratorProtocol {
    let value: UnsafeRawBufferPointer
    var cursor = 0

    init(value: UnsafeRawBufferPointer) { self.value = value }

    public mutating func next() -> UnsafeRawBufferPointer? {
        guard cursor < value.count,
              let nul = FDTBytes.index(of: 0, in: value, from: cursor, to: value.count) else { return nil }
        let entry = UnsafeRawBufferPointer(rebasing: value[cursor..<nul])
        cursor = nul &+ 1
        return entry
    }
}
