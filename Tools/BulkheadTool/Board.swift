// Board selection for the CLI: --board, --ram-size, --harts and --dtb resolved into the limits a plan must fit.
import BulkheadCore
import Foundation

/// The board options every command accepts.
public struct BoardOptions: Sendable {
    /// The board's name; `nil` means the configuration's `[board]` board, else qemu-virt.
    public var board: String?
    /// RAM size (a size string); `nil` means the board's default.
    public var ramSize: String?
    /// Number of harts (ids 0 ..< harts); `nil` means the board's default.
    public var harts: Int?
    /// The board's device tree blob (devices are checked against it); `nil` means the board's shipped tree.
    public var dtb: String?

    public init(board: String? = nil, ramSize: String? = nil, harts: Int? = nil, dtb: String? = nil) {
        self.board = board; self.ramSize = ramSize; self.harts = harts; self.dtb = dtb
    }

    /// The names `--board` accepts (Core's `KnownBoards`), in their order.
    public static var knownBoards: [String] { KnownBoards.all.map(\.nameString) }

    /// Looks the board up and applies the RAM and hart overrides.
    public func resolve() throws(ToolError) -> ResolvedBoard {
        let board = self.board ?? "qemu-virt"
        guard let data = KnownBoards.named(board) else {
            let known = Self.knownBoards.joined(separator: ", ")
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
        let memoryMap: MemoryMap
        var limits: BoardLimits
        do throws(MemoryMapError) {
            memoryMap = try data.typicalMemoryMap(ram: ram)
            limits = try data.limits(ram: ram, hartMask: BoardData.hartMask(count: hartCount))
        } catch {
            var sink = StringSink()
            error.write(to: &sink)
            throw ToolError("\(data.nameString) with RAM \(hex(ram.base.raw)) + \(Size.describe(ram.size)): \(sink.text)")
        }
        let tree = try deviceTree(board: data)
        let catalog = tree.bytes.withUnsafeBytes { (raw) -> Result<DeviceCatalog, FDTError> in
            do throws(FDTError) { return .success(try DeviceCatalog(reader: FDTReader(raw))) } catch { return .failure(error) }
        }
        switch catalog {
        case .success(let devices): limits.devices = devices
        case .failure(let error):
            var sink = StringSink()
            error.write(to: &sink)
            throw ToolError("\(tree.source): not a usable device tree: \(sink.text)")
        }
        return ResolvedBoard(data: data, limits: limits, memoryMap: memoryMap, hartCount: hartCount, deviceTree: tree.bytes,
                             deviceTreeSource: tree.source)
    }

    /// The `--dtb` file's bytes, or the board's shipped tree (QEMU virt's, dumped with
    /// `qemu-system-riscv64 -M virt,dumpdtb=`, in Tools/BulkheadTool/Resources).
    private func deviceTree(board: BoardData) throws(ToolError) -> (bytes: [UInt8], source: String) {
        if let dtb {
            do {
                return (Array(try Data(contentsOf: URL(fileURLWithPath: dtb))), dtb)
            } catch {
                throw ToolError.io("--dtb: cannot read \"\(dtb)\": \(FileReason.reason(error, path: dtb))")
            }
        }
        guard let url = Bundle.module.url(forResource: board.nameString, withExtension: "dtb"),
              let data = try? Data(contentsOf: url) else {
            throw ToolError("the \(board.nameString) board ships no device tree: give one with --dtb FILE")
        }
        return (Array(data), "the shipped \(board.nameString) device tree")
    }
}

/// A board with its RAM and harts fixed.
public struct ResolvedBoard: Sendable {
    public var data: BoardData
    public var limits: BoardLimits
    /// The hypervisor's memory as a booted one would place it (loaded 2 MiB above the RAM base).
    public var memoryMap: MemoryMap
    public var hartCount: Int
    /// The board's device tree blob, and where it came from (for messages).
    public var deviceTree: [UInt8] = []
    public var deviceTreeSource = ""

    /// The board's flash layout; boards without a flash driver (`bundleFlash` nil) have none.
    public func flashLayout() throws(ToolError) -> FlashLayout {
        guard let layout = data.bundleFlash else {
            throw ToolError("the \(data.nameString) board has no flash driver yet: flash images exist for qemu-virt only")
        }
        return layout
    }

    /// `qemu-virt (RAM 0x80000000 + 1 GiB, harts 0-3)`.
    public var summary: String {
        let harts = hartCount == 1 ? "hart 0" : "harts 0-\(hartCount - 1)"
        return "\(data.nameString) (RAM \(hex(limits.ram.base.raw)) + \(Size.describe(limits.ram.size)), \(harts))"
    }
}
