// FDTReader lookups: nodes by path or alias, properties by name, cells, `reg` and `ranges`.

extension FDTReader {
    // MARK: Nodes

    /// The child of `node` named `name` (see the matching rule at the top of FDTReader.swift).
    public func findChild(of node: FDTNode, named name: UnsafeRawBufferPointer) throws(FDTError) -> FDTNode? {
        let hasUnit = FDTBytes.index(of: UInt8(ascii: "@"), in: name) != nil
        var candidate: FDTNode? = nil
        var children = children(of: node)
        while let child = try children.next() {
            if FDTBytes.equal(child.name, name) { return child }
            if !hasUnit && candidate == nil && FDTBytes.equal(child.baseName, name) { candidate = child }
        }
        return candidate
    }

    public func findChild(of node: FDTNode, named name: StaticString) throws(FDTError) -> FDTNode? {
        try FDTBytes.withBytes(of: name) { (bytes) throws(FDTError) in try findChild(of: node, named: bytes) }
    }

    /// The node at `path` (absolute, or starting with an alias), or `nil` when there is none.
    /// Throws `badPath` for an empty path or an alias whose value is not an absolute path.
    public func findNode(path: UnsafeRawBufferPointer) throws(FDTError) -> FDTNode? {
        guard path.count > 0 else { throw .badPath }
        let slash = UInt8(ascii: "/")
        if path[0] == slash { return try descend(from: root, path: path, start: 1) }
        let aliasEnd = FDTBytes.index(of: slash, in: path) ?? path.count
        let alias = UnsafeRawBufferPointer(rebasing: path[0..<aliasEnd])
        guard let aliases = try findChild(of: root, named: "aliases"),
              let property = try findProperty(named: alias, in: aliases) else { return nil }
        let target = try property.string()
        guard target.count > 0, target[0] == slash else { throw .badPath }
        guard let aliased = try descend(from: root, path: target, start: 1) else { return nil }
        return try descend(from: aliased, path: path, start: aliasEnd)
    }

    public func findNode(_ path: StaticString) throws(FDTError) -> FDTNode? {
        try FDTBytes.withBytes(of: path) { (bytes) throws(FDTError) in try findNode(path: bytes) }
    }

    /// Like `findNode`, but a missing node is `FDTError.nodeNotFound`.
    public func node(path: UnsafeRawBufferPointer) throws(FDTError) -> FDTNode {
        guard let node = try findNode(path: path) else { throw .nodeNotFound }
        return node
    }

    public func node(_ path: StaticString) throws(FDTError) -> FDTNode {
        guard let node = try findNode(path) else { throw .nodeNotFound }
        return node
    }

    /// Follows the '/'-separated components of `path[start...]` down from `node`.
    private func descend(from node: FDTNode, path: UnsafeRawBufferPointer, start: Int) throws(FDTError) -> FDTNode? {
        let slash = UInt8(ascii: "/")
        var current = node
        var i = start
        while i < path.count {
            if path[i] == slash { i &+= 1; continue }
            let end = FDTBytes.index(of: slash, in: path, from: i, to: path.count) ?? path.count
            guard let child = try findChild(of: current, named: UnsafeRawBufferPointer(rebasing: path[i..<end])) else {
                return nil
            }
            current = child
            i = end
        }
        return current
    }

    /// The first node, depth first, that is enabled and whose `compatible` lists `compatible`.
    public func firstNode(compatibleWith compatible: StaticString) throws(FDTError) -> FDTNode? {
        var walker = walk()
        while let node = try walker.next() {
            if try isCompatible(node, with: compatible), try isEnabled(node) { return node }
        }
        return nil
    }

    // MARK: Properties

    public func findProperty(named name: UnsafeRawBufferPointer, in node: FDTNode) throws(FDTError) -> FDTProperty? {
        var properties = properties(of: node)
        while let property = try properties.next() {
            if FDTBytes.equal(property.name, name) { return property }
        }
        return nil
    }

    public func findProperty(_ name: StaticString, in node: FDTNode) throws(FDTError) -> FDTProperty? {
        var properties = properties(of: node)
        while let property = try properties.next() {
            if FDTBytes.equal(property.name, name) { return property }
        }
        return nil
    }

    /// Like `findProperty`, but a missing property is `FDTError.propertyNotFound`.
    public func property(_ name: StaticString, in node: FDTNode) throws(FDTError) -> FDTProperty {
        guard let property = try findProperty(name, in: node) else { throw .propertyNotFound }
        return property
    }

    /// `status` absent, "okay" or "ok". ("disabled", "reserved", "fail", "fail-sss" are not.)
    public func isEnabled(_ node: FDTNode) throws(FDTError) -> Bool {
        guard let status = try findProperty("status", in: node) else { return true }
        return status.equals(string: "okay") || status.equals(string: "ok")
    }

    /// Whether the node's `compatible` list contains `compatible` (false when it has none).
    public func isCompatible(_ node: FDTNode, with compatible: StaticString) throws(FDTError) -> Bool {
        guard let list = try findProperty("compatible", in: node) else { return false }
        return try list.contains(string: compatible)
    }

    // MARK: Cells and reg

    /// `#address-cells` of `node` (what its children's `reg` uses); 2 when absent.
    public func addressCells(of node: FDTNode) throws(FDTError) -> Int {
        guard let property = try findProperty("#address-cells", in: node) else { return 2 }
        return Int(try property.u32())
    }

    /// `#size-cells` of `node` (what its children's `reg` uses); 1 when absent.
    public func sizeCells(of node: FDTNode) throws(FDTError) -> Int {
        guard let property = try findProperty("#size-cells", in: node) else { return 1 }
        return Int(try property.u32())
    }

    /// Cells per `reg` entry of `node`, from its parent's `#address-cells`/`#size-cells`.
    private func regLayout(of node: FDTNode) throws(FDTError) -> (address: Int, size: Int) {
        guard node.parentOffset >= 0 else { return (2, 1) }
        let parent = try self.node(atOffset: node.parentOffset)
        let address = try addressCells(of: parent), size = try sizeCells(of: parent)
        guard address <= 2, size <= 2 else { throw .unsupportedCellCount }
        return (address, size)
    }

    /// Number of entries in the node's `reg` (0 when it has none).
    public func regCount(of node: FDTNode) throws(FDTError) -> Int {
        guard let reg = try findProperty("reg", in: node) else { return 0 }
        let layout = try regLayout(of: node)
        let entryBytes = (layout.address &+ layout.size) &* 4
        guard entryBytes > 0, reg.value.count % entryBytes == 0 else { throw .badPropertyLength }
        return reg.value.count / entryBytes
    }

    /// Entry `index` of the node's `reg`, in its parent bus's address space.
    public func reg(of node: FDTNode, index: Int = 0) throws(FDTError) -> FDTRegion {
        let reg = try property("reg", in: node)
        let layout = try regLayout(of: node)
        let entryCells = layout.address &+ layout.size
        guard entryCells > 0, reg.value.count % (entryCells &* 4) == 0 else { throw .badPropertyLength }
        guard index >= 0, index < reg.cellCount / entryCells else { throw .indexOutOfRange }
        let first = index &* entryCells
        return FDTRegion(address: try reg.cells(at: first, count: layout.address),
                         size: try reg.cells(at: first &+ layout.address, count: layout.size))
    }

    /// Entry `index` of the node's `reg`, translated through each ancestor bus's `ranges` into
    /// the root's (the CPU's physical) address space. An empty `ranges` is the identity mapping;
    /// so is a missing one (lenient: DTSpec calls that untranslatable, but some trees omit it).
    public func translatedReg(of node: FDTNode, index: Int = 0) throws(FDTError) -> FDTRegion {
        var walker = walk()
        var found = false
        while let candidate = try walker.next() {
            if candidate.offset == node.offset { found = true; break }
        }
        guard found else { throw .nodeNotFound }
        return try translatedReg(of: node, walker: walker, index: index)
    }

    /// `translatedReg(of:index:)` for the node `walker` has just returned (its ancestors are the
    /// walker's open nodes): no second walk of the tree, for callers that visit every node.
    func translatedReg(of node: FDTNode, walker: FDTWalker, index: Int = 0) throws(FDTError) -> FDTRegion {
        var region = try reg(of: node, index: index)
        let depth = node.depth
        // Ancestors are walker levels 0 (root) ..< depth; level depth-1 is the parent bus.
        var level = depth &- 1
        while level >= 1 {
            let bus = try self.node(atOffset: walker.ancestor(at: level))
            let busParent = try self.node(atOffset: walker.ancestor(at: level &- 1))
            region.address = try translate(region.address, through: bus, into: busParent)
            level &-= 1
        }
        return region
    }

    private func translate(_ address: UInt64, through bus: FDTNode, into parent: FDTNode) throws(FDTError) -> UInt64 {
        guard let ranges = try findProperty("ranges", in: bus), !ranges.isEmpty else { return address }
        let childCells = try addressCells(of: bus), parentCells = try addressCells(of: parent)
        let sizeCells = try sizeCells(of: bus)
        guard childCells <= 2, parentCells <= 2, sizeCells <= 2 else { throw .unsupportedCellCount }
        let entryCells = childCells &+ parentCells &+ sizeCells
        guard entryCells > 0, ranges.value.count % (entryCells &* 4) == 0 else { throw .badPropertyLength }
        var entry = 0
        while entry &+ entryCells <= ranges.cellCount {
            let childBase = try ranges.cells(at: entry, count: childCells)
            let parentBase = try ranges.cells(at: entry &+ childCells, count: parentCells)
            let size = try ranges.cells(at: entry &+ childCells &+ parentCells, count: sizeCells)
            if address >= childBase && address &- childBase < size { return parentBase &+ (address &- childBase) }
            entry &+= entryCells
        }
        throw .addressNotTranslatable
    }
}
