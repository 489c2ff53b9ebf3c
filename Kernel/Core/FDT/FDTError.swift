// FDTError: every way reading or writing a flattened device tree can fail (typed, no payloads).

/// Errors from `FDTReader`, `FDTWriter`, `HostDescription` and `GuestDeviceTree`.
///
/// A malformed blob always produces one of these; no input makes the FDT code trap.
public enum FDTError: Error, Equatable, Sendable {
    // Header and block layout.
    /// The buffer is shorter than the header, or than the header's `totalsize`.
    case truncated
    /// The first word is not 0xd00dfeed.
    case badMagic
    /// `version` < 16 or `last_comp_version` > 17.
    case unsupportedVersion
    /// `totalsize` is smaller than the header itself.
    case badTotalSize
    /// The structure block is misaligned, outside `totalsize`, or overlaps the header/strings.
    case badStructBlock
    /// The strings block is outside `totalsize` or overlaps the header.
    case badStringsBlock
    /// The memory reservation block is misaligned, outside `totalsize`, or lacks its terminator.
    case badReservationMap

    // Structure block contents.
    /// A token word is not one of BEGIN_NODE, END_NODE, PROP, NOP, END (or is misaligned).
    case badToken
    /// A token or its payload runs past the end of the structure block, or FDT_END is missing.
    case truncatedStructure
    /// A node name, property name or string value has no terminating NUL inside its block.
    case unterminatedString
    /// A property's name offset lies outside the strings block.
    case badNameOffset
    /// Nodes are not properly nested: END_NODE without a node, a property outside a node or after
    /// a child node, more than one root, or FDT_END while nodes are still open.
    case badNesting
    /// Nodes nest deeper than `FDTReader.maxDepth`.
    case nestingTooDeep

    // Lookups and values.
    /// A path is empty or an alias does not resolve to an absolute path.
    case badPath
    case nodeNotFound
    case propertyNotFound
    /// A property's length does not fit the requested type (u32, u64, cells, reg entries).
    case badPropertyLength
    /// `#address-cells`/`#size-cells` are larger than 2 (values wider than 64 bits).
    case unsupportedCellCount
    /// A `reg`/`ranges` index is past the last entry.
    case indexOutOfRange
    /// A `reg` address is not covered by its parent bus's `ranges`.
    case addressNotTranslatable
    /// A value does not fit the fixed-size storage it is copied into.
    case valueTooLong

    // Host description.
    /// No usable `/memory` node with a non-empty `reg`.
    case noMemory
    /// No enabled `/cpus/cpu@N` node.
    case noHarts

    // Writer.
    /// The output buffer cannot hold the tree.
    case bufferTooSmall
    /// Writer calls out of order: a property after a child node, `endNode` with no open node,
    /// a second root, `finish` with open nodes or an open property.
    case writerMisuse
    /// A node or property name is empty (except the root's) or contains a NUL byte.
    case invalidName
}
