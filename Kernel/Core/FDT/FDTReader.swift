// FDTReader: validates a flattened device tree blob (DTSpec v0.4 §5) and navigates its nodes.
//
// Invariants: `init` checks the header, the block layout, the reservation map and the whole
// structure block in one linear pass (tokens, nesting, names, name offsets), so a reader that
// exists describes a well-formed tree. Every later access is still bounds-checked and reports a
// typed `FDTError` rather than trusting that pass. The reader does not copy the blob: the memory
// must stay valid and unchanged while the reader or any node/property from it is in use.
//
// Paths: "/a/b@1/c" is absolute; a path not starting with '/' begins with an alias from
// /aliases ("serial0" or "serial0/child"). A component with a unit address ("serial@10000000")
// matches that full name only. A component without '@' ("memory") matches a node of exactly that
// name if there is one, else the first node whose name before '@' equals it ("memory@80000000").

/// One token of the structure block (internal; offsets are from the start of the blob).
enum FDTToken {
    case beginNode(name: UnsafeRawBufferPointer, next: Int)
    case endNode(next: Int)
    case property(nameOffset: Int, value: UnsafeRawBufferPointer, next: Int)
    case nop(next: Int)
    case end
}

/// Token values (DTSpec §5.4.1).
enum FDTTag {
    static let beginNode: UInt32 = 0x1
    static let endNode: UInt32 = 0x2
    static let property: UInt32 = 0x3
    static let nop: UInt32 = 0x4
    static let end: UInt32 = 0x9
}

/// A validated, read-only view of a DTB.
public struct FDTReader {
    public static let magic: UInt32 = 0xd00d_feed
    /// Deepest node nesting accepted (the root is depth 0).
    public static let maxDepth = 32

    /// The blob, cut to the header's `totalsize`.
    public let blob: UnsafeRawBufferPointer
    public let version: UInt32
    public let lastCompatibleVersion: UInt32
    public let bootCPUID: UInt32
    let structStart: Int
    let structEnd: Int
    let stringsStart: Int
    let stringsEnd: Int
    let reservationStart: Int
    /// Number of entries in the memory reservation block (terminator excluded).
    public let reservationCount: Int
    /// The root node.
    public private(set) var root: FDTNode

    public var totalSize: Int { blob.count }

    /// Validates `bytes` as a DTB; `bytes` may be longer than the blob's `totalsize`.
    public init(_ bytes: UnsafeRawBufferPointer) throws(FDTError) {
        guard bytes.count >= 4 else { throw .truncated }
        guard FDTBytes.u32(bytes, at: 0) == Self.magic else { throw .badMagic }
        guard bytes.count >= 28 else { throw .truncated }
        func field(_ index: Int) -> UInt32 { FDTBytes.u32(bytes, at: index &* 4) ?? 0 }
        let version = field(5), lastCompatible = field(6)
        guard version >= 16, lastCompatible <= 17 else { throw .unsupportedVersion }
        let headerSize = version >= 17 ? 40 : 36
        guard bytes.count >= headerSize else { throw .truncated }
        let total = Int(field(1))
        guard total >= headerSize else { throw .badTotalSize }
        guard total <= bytes.count else { throw .truncated }

        // Structure block: 4-aligned, inside the blob, after the header.
        let structOffset = Int(field(2)), stringsOffset = Int(field(3))
        let stringsSize = Int(field(8))
        let structSize: Int
        if version >= 17 {
            structSize = Int(field(9))
        } else if stringsOffset > structOffset {
            structSize = stringsOffset &- structOffset
        } else {
            structSize = total &- structOffset
        }
        guard structOffset >= headerSize, structOffset & 3 == 0, structOffset <= total,
              structSize >= 4, structSize <= total &- structOffset else { throw .badStructBlock }
        guard stringsOffset >= headerSize, stringsOffset <= total,
              stringsSize <= total &- stringsOffset else { throw .badStringsBlock }
        let structEnd = structOffset &+ structSize, stringsEnd = stringsOffset &+ stringsSize
        if stringsSize > 0 && structOffset < stringsEnd && stringsOffset < structEnd {
            throw .badStructBlock
        }

        // Memory reservation block: 8-aligned, (address, size) pairs up to a (0, 0) terminator.
        let reservationOffset = Int(field(4))
        guard reservationOffset >= headerSize, reservationOffset & 7 == 0 else { throw .badReservationMap }
        var entry = reservationOffset, count = 0
        while true {
            guard entry <= total &- 16, let address = FDTBytes.u64(bytes, at: entry),
                  let size = FDTBytes.u64(bytes, at: entry &+ 8) else { throw .badReservationMap }
            entry &+= 16
            if address == 0 && size == 0 { break }
            count &+= 1
        }
        if reservationOffset < structEnd && structOffset < entry { throw .badReservationMap }
        if stringsSize > 0 && reservationOffset < stringsEnd && stringsOffset < entry { throw .badReservationMap }

        self.blob = UnsafeRawBufferPointer(rebasing: bytes[0..<total])
        self.version = version
        self.lastCompatibleVersion = lastCompatible
        self.bootCPUID = field(7)
        self.structStart = structOffset
        self.structEnd = structEnd
        self.stringsStart = stringsOffset
        self.stringsEnd = stringsEnd
        self.reservationStart = reservationOffset
        self.reservationCount = count
        self.root = FDTNode(offset: structOffset, parentOffset: -1, depth: 0,
                            name: UnsafeRawBufferPointer(rebasing: bytes[0..<0]), contentOffset: structOffset)
        self.root = try validateStructure()
    }

    /// One pass over the structure block; returns the root node.
    private func validateStructure() throws(FDTError) -> FDTNode {
        var offset = structStart
        var depth = 0
        var root: FDTNode? = nil
        var sawChild = false
        while true {
            switch try token(at: offset) {
            case .beginNode(let name, let next):
                if depth == 0 {
                    guard root == nil else { throw .badNesting }
                    root = FDTNode(offset: offset, parentOffset: -1, depth: 0, name: name, contentOffset: next)
                }
                depth &+= 1
                guard depth <= Self.maxDepth else { throw .nestingTooDeep }
                sawChild = false
                offset = next
            case .endNode(let next):
                guard depth > 0 else { throw .badNesting }
                depth &-= 1
                sawChild = true
                offset = next
            case .property(let nameOffset, _, let next):
                guard depth > 0, !sawChild else { throw .badNesting }
                _ = try propertyName(at: nameOffset)
                offset = next
            case .nop(let next):
                offset = next
            case .end:
                guard depth == 0, let root else { throw .badNesting }
                return root
            }
        }
    }

    // MARK: Tokens

    /// Decodes the token at `offset` (from the blob start), checking every byte it covers.
    func token(at offset: Int) throws(FDTError) -> FDTToken {
        guard offset >= structStart, offset & 3 == 0 else { throw .badToken }
        guard offset <= structEnd &- 4, let tag = FDTBytes.u32(blob, at: offset) else {
            throw .truncatedStructure
        }
        let payload = offset &+ 4
        switch tag {
        case FDTTag.beginNode:
            guard let nul = FDTBytes.index(of: 0, in: blob, from: payload, to: structEnd) else {
                throw .unterminatedString
            }
            let next = FDTBytes.align4(nul &+ 1)
            guard next <= structEnd,
                  let name = FDTBytes.slice(blob, from: payload, count: nul &- payload) else {
                throw .truncatedStructure
            }
            return .beginNode(name: name, next: next)
        case FDTTag.endNode:
            return .endNode(next: payload)
        case FDTTag.property:
            guard payload <= structEnd &- 8, let length = FDTBytes.u32(blob, at: payload),
                  let nameOffset = FDTBytes.u32(blob, at: payload &+ 4) else { throw .truncatedStructure }
            let valueStart = payload &+ 8
            guard Int(length) <= structEnd &- valueStart else { throw .truncatedStructure }
            let next = FDTBytes.align4(valueStart &+ Int(length))
            guard next <= structEnd,
                  let value = FDTBytes.slice(blob, from: valueStart, count: Int(length)) else {
                throw .truncatedStructure
            }
            return .property(nameOffset: Int(nameOffset), value: value, next: next)
        case FDTTag.nop:
            return .nop(next: payload)
        case FDTTag.end:
            return .end
        default:
            throw .badToken
        }
    }

    /// The NUL-terminated name at `nameOffset` in the strings block, without its NUL.
    func propertyName(at nameOffset: Int) throws(FDTError) -> UnsafeRawBufferPointer {
        guard nameOffset >= 0, nameOffset < stringsEnd &- stringsStart else { throw .badNameOffset }
        let start = stringsStart &+ nameOffset
        guard let nul = FDTBytes.index(of: 0, in: blob, from: start, to: stringsEnd),
              let name = FDTBytes.slice(blob, from: start, count: nul &- start) else {
            throw .unterminatedString
        }
        return name
    }

    /// Offset just past the FDT_END_NODE that closes the node whose content starts at `content`.
    func endOfNode(contentOffset content: Int) throws(FDTError) -> Int {
        var offset = content
        var depth = 1
        while true {
            switch try token(at: offset) {
            case .beginNode(_, let next):
                depth &+= 1
                guard depth <= Self.maxDepth else { throw .nestingTooDeep }
                offset = next
            case .endNode(let next):
                depth &-= 1
                if depth == 0 { return next }
                offset = next
            case .property(_, _, let next), .nop(let next):
                offset = next
            case .end:
                throw .badNesting
            }
        }
    }

    /// The node whose FDT_BEGIN_NODE is at `offset`; parent and depth are unknown (-1).
    func node(atOffset offset: Int) throws(FDTError) -> FDTNode {
        guard case .beginNode(let name, let next) = try token(at: offset) else { throw .badNesting }
        return FDTNode(offset: offset, parentOffset: -1, depth: -1, name: name, contentOffset: next)
    }

    // MARK: Memory reservation block

    /// The reservation entry at `index`, or `nil` past the last one.
    public func reservation(at index: Int) -> FDTRegion? {
        guard index >= 0, index < reservationCount,
              let address = FDTBytes.u64(blob, at: reservationStart &+ index &* 16),
              let size = FDTBytes.u64(blob, at: reservationStart &+ index &* 16 &+ 8) else { return nil }
        return FDTRegion(address: address, size: size)
    }

    // MARK: Iteration

    /// The direct children of `node`, in blob order.
    public func children(of node: FDTNode) -> FDTChildIterator {
        FDTChildIterator(reader: self, parent: node, cursor: node.contentOffset)
    }

    /// The properties of `node`, in blob order.
    public func properties(of node: FDTNode) -> FDTPropertyIterator {
        FDTPropertyIterator(reader: self, cursor: node.contentOffset)
    }

    /// Every node, depth first in blob order, starting with the root.
    public func walk() -> FDTWalker {
        FDTWalker(reader: self, cursor: root.offset)
    }

    /// The parent of `node` (found by walking the tree), or `nil` for the root.
    public func parent(of node: FDTNode) throws(FDTError) -> FDTNode? {
        guard node.parentOffset >= 0 else { return nil }
        var walker = walk()
        while let candidate = try walker.next() {
            if candidate.offset == node.parentOffset { return candidate }
        }
        throw .nodeNotFound
    }
}

/// Direct children of one node. `next()` returns `nil` after the last child.
public struct FDTChildIterator {
    let reader: FDTReader
    let parent: FDTNode
    var cursor: Int
    var finished = false

    public mutating func next() throws(FDTError) -> FDTNode? {
        while !finished {
            switch try reader.token(at: cursor) {
            case .property(_, _, let next), .nop(let next):
                cursor = next
            case .beginNode(let name, let next):
                let child = FDTNode(offset: cursor, parentOffset: parent.offset, depth: parent.depth &+ 1,
                                    name: name, contentOffset: next)
                cursor = try reader.endOfNode(contentOffset: next)
                return child
            case .endNode:
                finished = true
            case .end:
                throw .badNesting
            }
        }
        return nil
    }
}

/// Properties of one node. `next()` returns `nil` after the last property.
public struct FDTPropertyIterator {
    let reader: FDTReader
    var cursor: Int
    var finished = false

    public mutating func next() throws(FDTError) -> FDTProperty? {
        while !finished {
            switch try reader.token(at: cursor) {
            case .property(let nameOffset, let value, let next):
                cursor = next
                return FDTProperty(name: try reader.propertyName(at: nameOffset), value: value)
            case .nop(let next):
                cursor = next
            case .beginNode, .endNode:
                finished = true
            case .end:
                throw .badNesting
            }
        }
        return nil
    }
}

/// Every node of the tree, depth first; keeps the chain of ancestors of the last node returned.
public struct FDTWalker {
    let reader: FDTReader
    var cursor: Int
    var finished = false
    /// Offsets of the open nodes: `open[0]` is the root, `open[depth]` the last node returned.
    var open = InlineArray<32, Int>(repeating: -1)
    var depth = 0

    init(reader: FDTReader, cursor: Int) { self.reader = reader; self.cursor = cursor }

    public mutating func next() throws(FDTError) -> FDTNode? {
        while !finished {
            switch try reader.token(at: cursor) {
            case .beginNode(let name, let next):
                guard depth < FDTReader.maxDepth, depth < open.count else { throw .nestingTooDeep }
                let parent = depth > 0 ? open[depth &- 1] : -1
                let node = FDTNode(offset: cursor, parentOffset: parent, depth: depth, name: name, contentOffset: next)
                open[depth] = cursor
                depth &+= 1
                cursor = next
                return node
            case .endNode(let next):
                guard depth > 0 else { throw .badNesting }
                depth &-= 1
                cursor = next
                if depth == 0 { finished = true }
            case .property(_, _, let next), .nop(let next):
                cursor = next
            case .end:
                finished = true
            }
        }
        return nil
    }

    /// Offset of the ancestor at `level` (0 = root) of the node last returned.
    func ancestor(at level: Int) -> Int {
        guard level >= 0, level < depth, level < open.count else { return -1 }
        return open[level]
    }
}
