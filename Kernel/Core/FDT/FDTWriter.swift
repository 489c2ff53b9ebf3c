// FDTWriter: builds a DTB (DTSpec v0.4 §5, version 17) in a caller's buffer, without allocating.
//
// Layout while writing: header (40 bytes) | reservation map (just its 16-byte terminator) |
// structure block growing up ... free ... strings block growing down from the buffer's end.
// A property's name offset is first stored as its distance from the buffer's end; `finish()`
// moves the strings block down to follow the structure block and rewrites each name offset.
// Every write checks the free space first and throws `bufferTooSmall`; nothing is written past
// the buffer. Calls must nest like the tree (`writerMisuse` otherwise): one root, each node's
// properties before its children, `finish()` once with every node closed.

public struct FDTWriter {
    public static let headerSize = 40
    static let structStart = 56   // header + one 16-byte reservation terminator

    let buffer: UnsafeMutableRawBufferPointer
    /// Usable bytes: the buffer, capped at what the 32-bit header fields can describe.
    let capacity: Int
    var structEnd = FDTWriter.structStart
    var stringsLow: Int
    var depth = 0
    var rootDone = false
    /// Whether the innermost open node already has a child (properties must come first).
    var sawChild = false
    /// Offset of the open property's FDT_PROP token, or -1.
    var openProperty = -1
    var finished = false
    /// Written as the header's `boot_cpuid_phys`.
    public var bootCPUID: UInt32 = 0

    public init(buffer: UnsafeMutableRawBufferPointer) throws(FDTError) {
        self.buffer = buffer
        capacity = buffer.count < Int(UInt32.max) ? buffer.count : Int(UInt32.max)
        stringsLow = capacity
        guard capacity >= Self.structStart &+ 4 else { throw .bufferTooSmall }
        var i = 0
        while i < Self.structStart { buffer[i] = 0; i &+= 1 }
    }

    // MARK: Raw output

    private func store32(_ value: UInt32, at offset: Int) {
        guard offset >= 0, offset <= capacity &- 4 else { return }
        buffer[offset] = UInt8(truncatingIfNeeded: value >> 24)
        buffer[offset &+ 1] = UInt8(truncatingIfNeeded: value >> 16)
        buffer[offset &+ 2] = UInt8(truncatingIfNeeded: value >> 8)
        buffer[offset &+ 3] = UInt8(truncatingIfNeeded: value)
    }

    /// Claims `count` bytes of the structure block; returns where they start.
    private mutating func claim(_ count: Int) throws(FDTError) -> Int {
        guard count >= 0, count <= stringsLow &- structEnd else { throw .bufferTooSmall }
        let start = structEnd
        structEnd &+= count
        return start
    }

    private mutating func emit32(_ value: UInt32) throws(FDTError) {
        store32(value, at: try claim(4))
    }

    private mutating func emit(bytes: UnsafeRawBufferPointer) throws(FDTError) {
        let start = try claim(bytes.count)
        var i = 0
        while i < bytes.count { buffer[start &+ i] = bytes[i]; i &+= 1 }
    }

    private mutating func emit(byte: UInt8) throws(FDTError) {
        buffer[try claim(1)] = byte
    }

    private mutating func padToWord() throws(FDTError) {
        while structEnd & 3 != 0 { try emit(byte: 0) }
    }

    private func checkOpen() throws(FDTError) {
        guard !finished, openProperty < 0 else { throw .writerMisuse }
    }

    // MARK: Nodes

    /// Opens a node. The first node is the root and must have the empty name.
    public mutating func beginNode(name: UnsafeRawBufferPointer) throws(FDTError) {
        try beginNode(name: name, unitAddress: nil)
    }

    public mutating func beginNode(_ name: StaticString) throws(FDTError) {
        try FDTBytes.withBytes(of: name) { (bytes) throws(FDTError) in try beginNode(name: bytes, unitAddress: nil) }
    }

    /// Opens a node named `name@<unitAddress in lower-case hex>` (e.g. "cpu@0", "memory@80000000").
    public mutating func beginNode(_ name: StaticString, unitAddress: UInt64) throws(FDTError) {
        try FDTBytes.withBytes(of: name) { (bytes) throws(FDTError) in
            try beginNode(name: bytes, unitAddress: unitAddress)
        }
    }

    private mutating func beginNode(name: UnsafeRawBufferPointer, unitAddress: UInt64?) throws(FDTError) {
        try checkOpen()
        if depth == 0 {
            guard !rootDone else { throw .writerMisuse }
            guard name.count == 0, unitAddress == nil else { throw .invalidName }
        } else {
            guard name.count > 0 else { throw .invalidName }
            for b in name where b == 0 || b == UInt8(ascii: "/") { throw .invalidName }
        }
        guard depth < FDTReader.maxDepth else { throw .nestingTooDeep }
        try emit32(FDTTag.beginNode)
        try emit(bytes: name)
        if let unitAddress {
            try emit(byte: UInt8(ascii: "@"))
            var shift: UInt64 = 60
            while shift > 0 && (unitAddress >> shift) & 0xF == 0 { shift &-= 4 }
            while true {
                let nibble = UInt8(truncatingIfNeeded: (unitAddress >> shift) & 0xF)
                try emit(byte: nibble < 10 ? 48 &+ nibble : 87 &+ nibble)
                if shift == 0 { break }
                shift &-= 4
            }
        }
        try emit(byte: 0)
        try padToWord()
        depth &+= 1
        sawChild = false
    }

    /// Closes the innermost open node.
    public mutating func endNode() throws(FDTError) {
        try checkOpen()
        guard depth > 0 else { throw .writerMisuse }
        try emit32(FDTTag.endNode)
        depth &-= 1
        sawChild = true
        if depth == 0 { rootDone = true }
    }

    // MARK: Properties, piece by piece

    /// Starts a property of the innermost open node; add its value with `appendValue`, then
    /// call `endProperty()`.
    public mutating func beginProperty(name: UnsafeRawBufferPointer) throws(FDTError) {
        try checkOpen()
        guard depth > 0, !sawChild else { throw .writerMisuse }
        guard name.count > 0 else { throw .invalidName }
        for b in name where b == 0 { throw .invalidName }
        let nameOffset = try internName(name)
        let token = structEnd
        _ = try claim(12)
        store32(FDTTag.property, at: token)
        store32(0, at: token &+ 4)
        store32(nameOffset, at: token &+ 8)
        openProperty = token
    }

    public mutating func beginProperty(_ name: StaticString) throws(FDTError) {
        try FDTBytes.withBytes(of: name) { (bytes) throws(FDTError) in try beginProperty(name: bytes) }
    }

    public mutating func appendValue(bytes: UnsafeRawBufferPointer) throws(FDTError) {
        guard !finished, openProperty >= 0 else { throw .writerMisuse }
        try emit(bytes: bytes)
    }

    /// Appends the text of `string` (without a NUL; append `byte: 0` to end a string).
    public mutating func appendValue(string: StaticString) throws(FDTError) {
        try FDTBytes.withBytes(of: string) { (bytes) throws(FDTError) in try appendValue(bytes: bytes) }
    }

    public mutating func appendValue(byte: UInt8) throws(FDTError) {
        guard !finished, openProperty >= 0 else { throw .writerMisuse }
        try emit(byte: byte)
    }

    /// Appends one big-endian 32-bit cell.
    public mutating func appendValue(u32 value: UInt32) throws(FDTError) {
        guard !finished, openProperty >= 0 else { throw .writerMisuse }
        try emit32(value)
    }

    /// Appends a 64-bit value as two cells (high first).
    public mutating func appendValue(u64 value: UInt64) throws(FDTError) {
        try appendValue(u32: UInt32(truncatingIfNeeded: value >> 32))
        try appendValue(u32: UInt32(truncatingIfNeeded: value))
    }

    public mutating func endProperty() throws(FDTError) {
        guard !finished, openProperty >= 0 else { throw .writerMisuse }
        let valueStart = openProperty &+ 12
        store32(UInt32(truncatingIfNeeded: structEnd &- valueStart), at: openProperty &+ 4)
        openProperty = -1
        try padToWord()
    }

    // MARK: Properties, whole

    /// An empty property (a flag such as `interrupt-controller`).
    public mutating func property(_ name: StaticString) throws(FDTError) {
        try beginProperty(name); try endProperty()
    }

    public mutating func property(_ name: StaticString, bytes: UnsafeRawBufferPointer) throws(FDTError) {
        try beginProperty(name); try appendValue(bytes: bytes); try endProperty()
    }

    public mutating func property(_ name: StaticString, u32 value: UInt32) throws(FDTError) {
        try beginProperty(name); try appendValue(u32: value); try endProperty()
    }

    public mutating func property(_ name: StaticString, u64 value: UInt64) throws(FDTError) {
        try beginProperty(name); try appendValue(u64: value); try endProperty()
    }

    /// Two 64-bit values as four cells: a `reg` entry with #address-cells = #size-cells = 2.
    public mutating func property(_ name: StaticString, u64Pair first: UInt64, _ second: UInt64) throws(FDTError) {
        try beginProperty(name); try appendValue(u64: first); try appendValue(u64: second); try endProperty()
    }

    public mutating func property<let count: Int>(_ name: StaticString, cells: InlineArray<count, UInt32>) throws(FDTError) {
        try beginProperty(name)
        for i in cells.indices { try appendValue(u32: cells[i]) }
        try endProperty()
    }

    /// A string property (NUL added).
    public mutating func property(_ name: StaticString, string: StaticString) throws(FDTError) {
        try beginProperty(name); try appendValue(string: string); try appendValue(byte: 0); try endProperty()
    }

    public mutating func property(_ name: StaticString, string: UnsafeRawBufferPointer) throws(FDTError) {
        try beginProperty(name); try appendValue(bytes: string); try appendValue(byte: 0); try endProperty()
    }

    /// A string-list property: each string followed by its NUL.
    public mutating func property<let count: Int>(_ name: StaticString, strings: InlineArray<count, StaticString>) throws(FDTError) {
        try beginProperty(name)
        for i in strings.indices { try appendValue(string: strings[i]); try appendValue(byte: 0) }
        try endProperty()
    }

    // MARK: Strings block

    /// Returns the provisional offset (distance from `capacity`) of `name` in the strings block,
    /// adding it unless an identical string is already there.
    private mutating func internName(_ name: UnsafeRawBufferPointer) throws(FDTError) -> UInt32 {
        let strings = UnsafeRawBufferPointer(buffer)
        var start = stringsLow
        while start < capacity {
            guard let nul = FDTBytes.index(of: 0, in: strings, from: start, to: capacity) else { break }
            if nul &- start == name.count,
               FDTBytes.equal(UnsafeRawBufferPointer(rebasing: strings[start..<nul]), name) {
                return UInt32(truncatingIfNeeded: capacity &- start)
            }
            start = nul &+ 1
        }
        let needed = name.count &+ 1
        guard needed <= stringsLow &- structEnd else { throw .bufferTooSmall }
        stringsLow &-= needed
        var i = 0
        while i < name.count { buffer[stringsLow &+ i] = name[i]; i &+= 1 }
        buffer[stringsLow &+ name.count] = 0
        return UInt32(truncatingIfNeeded: capacity &- stringsLow)
    }

    // MARK: Finish

    /// Ends the structure block, moves the strings block into place, writes the header and
    /// returns the blob's total size. The writer cannot be used afterwards.
    public mutating func finish() throws(FDTError) -> Int {
        try checkOpen()
        guard depth == 0, rootDone else { throw .writerMisuse }
        try emit32(FDTTag.end)
        let structSize = structEnd &- Self.structStart
        let stringsSize = capacity &- stringsLow
        let stringsOffset = structEnd
        if stringsSize > 0, let base = buffer.baseAddress {
            (base + stringsOffset).copyMemory(from: UnsafeRawPointer(base + stringsLow), byteCount: stringsSize)
        }
        try rewriteNameOffsets(stringsSize: stringsSize)
        let total = stringsOffset &+ stringsSize
        let header: InlineArray<10, UInt32> = [
            FDTReader.magic, UInt32(truncatingIfNeeded: total), UInt32(Self.structStart),
            UInt32(truncatingIfNeeded: stringsOffset), UInt32(Self.headerSize), 17, 16, bootCPUID,
            UInt32(truncatingIfNeeded: stringsSize), UInt32(truncatingIfNeeded: structSize),
        ]
        for i in header.indices { store32(header[i], at: i &* 4) }
        finished = true
        return total
    }

    /// Turns each FDT_PROP's provisional name offset into its offset in the final strings block.
    private func rewriteNameOffsets(stringsSize: Int) throws(FDTError) {
        let blob = UnsafeRawBufferPointer(buffer)
        var offset = Self.structStart
        while true {
            guard let tag = FDTBytes.u32(blob, at: offset) else { throw .writerMisuse }
            switch tag {
            case FDTTag.beginNode:
                guard let nul = FDTBytes.index(of: 0, in: blob, from: offset &+ 4, to: structEnd) else {
                    throw .writerMisuse
                }
                offset = FDTBytes.align4(nul &+ 1)
            case FDTTag.property:
                guard let length = FDTBytes.u32(blob, at: offset &+ 4),
                      let provisional = FDTBytes.u32(blob, at: offset &+ 8) else { throw .writerMisuse }
                store32(UInt32(truncatingIfNeeded: stringsSize) &- provisional, at: offset &+ 8)
                offset = FDTBytes.align4(offset &+ 12 &+ Int(length))
            case FDTTag.endNode, FDTTag.nop:
                offset &+= 4
            default:
                return   // FDT_END
            }
        }
    }
}
