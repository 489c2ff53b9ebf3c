// The configuration's optional [board] table: the machine the plan is for, used where the command
// line gives no --board, --harts or --ram-size (the command line wins).
import BulkheadCore
import TOMLKit

/// `[board]`: `board = "qemu-virt"`, `harts = 8`, `ram_size = "1G"`, each optional.
public struct BoardTable: Equatable, Sendable {
    public var board: String?
    public var harts: Int?
    /// As written (a size string, or an integer number of bytes as decimal text).
    public var ramSize: String?

    public init(board: String? = nil, harts: Int? = nil, ramSize: String? = nil) {
        self.board = board; self.harts = harts; self.ramSize = ramSize
    }

    /// Every key the table may hold, in documentation order.
    public static let keys = ["board", "harts", "ram_size"]

    /// Parses the `[board]` table `value`; every error found is reported at its line.
    static func parse(_ value: TOMLValueConvertible, file: String, lines: ConfigLines) throws(ToolError) -> BoardTable {
        func error(_ key: String?, _ text: String) -> ToolError {
            ToolError("\(lines.locate(file, "board", key: key)): [board]\(key.map { ", field \($0)" } ?? ""): \(text)")
        }
        var (table, errors) = try Config.singleTable(value, name: "board", keys: keys, file: file, lines: lines)
        var result = BoardTable()
        if let v = table["board"] {
            if let name = v.string {
                if KnownBoards.named(name) != nil {
                    result.board = name
                } else {
                    let known = KnownBoards.all.map(\.nameString)
                    errors.append(error("board", "unknown board \"\(name)\"\(Config.suggestion(name, known)) "
                                        + "(known boards: \(known.joined(separator: ", ")))"))
                }
            } else {
                errors.append(error("board", "expected a string, found \(Config.describe(v))"))
            }
        }
        if let v = table["harts"] {
            if let n = v.int, (1...64).contains(n) {
                result.harts = n
            } else {
                errors.append(error("harts", v.int.map { "\($0) is not between 1 and 64" }
                                    ?? "expected the number of harts (1 to 64), found \(Config.describe(v))"))
            }
        }
        if let v = table["ram_size"] {
            do throws(ToolError) {
                let size = try Config.size(v, field: "ram_size") { (field, text) in error(field, text) }
                guard size > 0 else { throw error("ram_size", "the RAM size is zero") }
                result.ramSize = String(size)
            } catch {
                errors.append(error)
            }
        }
        if let error = ToolError.collected(errors) { throw error }
        return result
    }
}

extension BoardOptions {
    /// These options, with what the command line left out taken from the configuration's
    /// `[board]` table (the command line wins).
    public func filled(from table: BoardTable?) -> BoardOptions {
        guard let table else { return self }
        var options = self
        options.board = board ?? table.board
        options.harts = harts ?? table.harts
        options.ramSize = ramSize ?? table.ramSize
        return options
    }
}
