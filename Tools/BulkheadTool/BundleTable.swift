// The configuration's optional [bundle] table: demands the bundle makes of the machine that boots it.
import BulkheadCore
import TOMLKit

/// `[bundle]`: `require_rollback_floor = true` (default false): the bundle boots only where the
/// anti-rollback floor is kept in persistent storage (docs/bundle-format.md, header flags).
public struct BundleTable: Equatable, Sendable {
    public var requireRollbackFloor = false

    public init(requireRollbackFloor: Bool = false) { self.requireRollbackFloor = requireRollbackFloor }

    /// Every key the table may hold, in documentation order.
    public static let keys = ["require_rollback_floor"]

    /// The header flags this table asks for.
    public var flags: BundleFlags {
        var flags = BundleFlags()
        flags.requireRollbackFloor = requireRollbackFloor
        return flags
    }

    /// Parses the `[bundle]` table `value`; every error found is reported at its line.
    static func parse(_ value: TOMLValueConvertible, file: String, lines: ConfigLines) throws(ToolError) -> BundleTable {
        var (table, errors) = try Config.singleTable(value, name: "bundle", keys: keys, file: file, lines: lines)
        var result = BundleTable()
        if let v = table["require_rollback_floor"] {
            if let flag = v.bool {
                result.requireRollbackFloor = flag
            } else {
                errors.append(ToolError("\(lines.locate(file, "bundle", key: "require_rollback_floor")): [bundle], field "
                                        + "require_rollback_floor: expected true or false, found \(Config.describe(v))"))
            }
        }
        if let error = ToolError.collected(errors) { throw error }
        return result
    }
}
