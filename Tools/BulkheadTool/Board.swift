// Board selection for the CLI: --board, --ram-size and --harts resolved into the limits a plan must fit.
import BulkheadCore

/// The board options every command accepts.
public struct BoardOptions: Sendable {
    public var board: String
    /// RAM size (a size string); `nil` means the board's default.
    public var ramSize: String?
    /// Number of harts (ids 0 ..< harts); `nil` means the board's default.
    public var harts: Int?

    public init(board: String = "qemu-virt", ramSize: String? = nil, harts: Int? = nil) {
        self.board = board; self.ramSize = ramSize; self.harts = harts
    }

    /// Looks the board up and applies the RAM and hart overrides.
    public func resolve() throws(ToolError) -> ResolvedBoard {
        guard let data = KnownBoards.named(board) else {
            let known = KnownBoards.all.map(\.nameString).joined(separator: ", ")
            throw ToolError("unknown board \"\(board)\" (known boards: \(known))")
        }
        var ram = data.defaultRAM
        if let ramSize {
            guard let size = Size.parse(ramSize), size > 0 else {
                throw ToolError("--ram-size: \"\(ramSize)\" is not a size: use \(Size.syntax)")
            }
            guard ram.base.raw.addingReportingOverflow(size).overflow == false else {
                throw ToolError("--ram-size: \(ramSize) of RAM at \(hex(ram.base.raw)) exceeds the 64-bit address space")
            }
            ram.size = size
        }
        var hartCount = data.defaultHartCount
        if let harts {
            guard harts >= 1 && harts <= 64 else { throw ToolError("--harts: \(harts) is not between 1 and 64") }
            hartCount = harts
        }
        return ResolvedBoard(data: data, limits: data.limits(ram: ram, hartMask: BoardData.hartMask(count: hartCount)),
                             hartCount: hartCount)
    }
}

/// A board with its RAM and harts fixed.
public struct ResolvedBoard: Sendable {
    public var data: BoardData
    public var limits: BoardLimits
    public var hartCount: Int

    /// `qemu-virt (RAM 0x80000000 + 1 GiB, harts 0-3)`.
    public var summary: String {
        let harts = hartCount == 1 ? "hart 0" : "harts 0-\(hartCount - 1)"
        return "\(data.nameString) (RAM \(hex(limits.ram.base.raw)) + \(Size.describe(limits.ram.size)), \(harts))"
    }
}
