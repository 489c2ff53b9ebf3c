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
    /// More firmware-reserved regions (/reserved-memory `reg` entries plus memory reservation
    /// block entries) than `HostDescription.maxFirmwareReserved`.
    case tooManyReservedRegions
    /// `/chosen` `linux,initrd-start` or `linux,initrd-end` is not 4 or 8 bytes, or only one is present.
    case badInitrdProperty
    /// `/chosen` `linux,initrd-end` is not above `linux,initrd-start`.
    case emptyInitrdRange

    // Writer.
    /// The output buffer cannot hold the tree.
    case bufferTooSmall
    /// Writer calls out of order: a property after a child node, `endNode` with no open node,
    /// a second root, `finish` with open nodes or an open property.
    case writerMisuse
    /// A node or property name is empty (except the root's) or contains a NUL byte.
    case invalidName
}

extension FDTError {
    /// A short English reason, for the boot log and the CLI.
    public func write<S: TextSink>(to out: inout S) {
        switch self {
        case .truncated: out.write("the blob is shorter than its header says")
        case .badMagic: out.write("bad magic (not a flattened device tree)")
        case .unsupportedVersion: out.write("unsupported FDT version")
        case .badTotalSize: out.write("bad totalsize in the header")
        case .badStructBlock: out.write("the structure block lies outside the blob")
        case .badStringsBlock: out.write("the strings block lies outside the blob")
        case .badReservationMap: out.write("bad memory reservation map")
        case .badToken: out.write("unknown token in the structure block")
        case .truncatedStructure: out.write("the structure block ends early")
        case .unterminatedString: out.write("an unterminated string")
        case .badNameOffset: out.write("a property name offset outside the strings block")
        case .badNesting: out.write("unbalanced nodes")
        case .nestingTooDeep: out.write("nodes nested too deeply")
        case .badPath: out.write("a malformed path")
        case .nodeNotFound: out.write("a required node is missing")
        case .propertyNotFound: out.write("a required property is missing")
        case .badPropertyLength: out.write("a property has the wrong length")
        case .unsupportedCellCount: out.write("unsupported #address-cells or #size-cells")
        case .indexOutOfRange: out.write("an index past the end of a property")
        case .addressNotTranslatable: out.write("an address that no bus range translates")
        case .valueTooLong: out.write("a value too long to keep")
        case .noMemory: out.write("no /memory node with a non-empty reg (the loader may be meant to add it)")
        case .noHarts: out.write("no enabled harts")
        case .tooManyReservedRegions:
            out.write("more than "); out.write(decimal: HostDescription.maxFirmwareReserved)
            out.write(" firmware-reserved memory regions (/reserved-memory and the memory reservation block)")
        case .badInitrdProperty:
            out.write("/chosen linux,initrd-start and linux,initrd-end must both be present, each a 32- or 64-bit value")
        case .emptyInitrdRange: out.write("/chosen linux,initrd-end is not above linux,initrd-start")
        case .bufferTooSmall: out.write("the output buffer is too small")
        case .writerMisuse: out.write("the writer was misused")
        case .invalidName: out.write("an invalid node or property name")
        }
    }
}
