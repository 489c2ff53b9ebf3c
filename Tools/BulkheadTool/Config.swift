// The TOML configuration: [[partition]] tables parsed strictly (unknown keys and wrong types rejected).
import BulkheadCore
import TOMLKit

/// One `[[partition]]` table, as written (not yet checked against the plan's rules).
public struct PartitionConfig: Equatable, Sendable {
    public var name: String
    /// The image path as written (relative to the configuration file's directory).
    public var image: String
    public var harts: [UInt32]
    public var memoryBase: UInt64
    public var memorySize: UInt64
    /// Guest-physical entry; `nil` means the ELF entry, else `guestRAMBase`.
    public var entry: UInt64?
    public var onFault: FaultPolicy
    public var bootargs: String

    public init(name: String, image: String, harts: [UInt32], memoryBase: UInt64, memorySize: UInt64,
                entry: UInt64? = nil, onFault: FaultPolicy = .stop, bootargs: String = "") {
        self.name = name; self.image = image; self.harts = harts; self.memoryBase = memoryBase
        self.memorySize = memorySize; self.entry = entry; self.onFault = onFault; self.bootargs = bootargs
    }
}

/// A parsed configuration file.
public struct Config: Sendable {
    /// The file as the user named it (used in every message).
    public var file: String
    public var partitions: [PartitionConfig]

    /// Every key a `[[partition]]` table may hold, in documentation order.
    public static let partitionKeys = ["name", "image", "harts", "memory_base", "memory_size", "entry", "on_fault", "bootargs"]

    /// Parses TOML `text`; `file` names the source in messages.
    public static func parse(_ text: String, file: String) throws(ToolError) -> Config {
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            let at = error.source.begin
            throw ToolError("\(file):\(at.line):\(at.column): TOML syntax error: \(error.description)")
        } catch {
            throw ToolError("\(file): TOML syntax error: \(error)")
        }
        for key in root.keys where key != "partition" {
            throw ToolError("\(file): unknown top-level key \"\(key)\"\(suggestion(key, ["partition"])) "
                            + "(a plan holds only [[partition]] tables)")
        }
        guard let value = root["partition"] else { return Config(file: file, partitions: []) }
        guard let array = value.array, array.allSatisfy({ $0.type == .table }) else {
            throw ToolError("\(file): \"partition\" must be an array of tables: write each one as [[partition]]")
        }
        var partitions: [PartitionConfig] = []
        for (index, element) in array.enumerated() {
            guard let table = element.table else { continue }
            partitions.append(try parsePartition(table, at: ConfigLocation(file: file, partition: index, name: nil)))
        }
        return Config(file: file, partitions: partitions)
    }

    private static func parsePartition(_ table: TOMLTable, at start: ConfigLocation) throws(ToolError) -> PartitionConfig {
        var at = start
        at.name = table["name"]?.string
        for key in table.keys where !partitionKeys.contains(key) {
            throw at.error("unknown key \"\(key)\"\(suggestion(key, partitionKeys)) "
                           + "(allowed: \(partitionKeys.joined(separator: ", ")))")
        }
        func required(_ key: String) throws(ToolError) -> TOMLValueConvertible {
            guard let v = table[key] else { throw at.error("missing required key \"\(key)\"") }
            return v
        }
        func string(_ key: String, _ v: TOMLValueConvertible) throws(ToolError) -> String {
            guard let s = v.string else { throw at.error(field: key, "expected a string, found \(describe(v))") }
            return s
        }
        func integer(_ key: String, _ v: TOMLValueConvertible, what: String = "an integer") throws(ToolError) -> UInt64 {
            guard let i = v.int else { throw at.error(field: key, "expected \(what), found \(describe(v))") }
            guard i >= 0 else { throw at.error(field: key, "expected \(what), found the negative value \(i)") }
            return UInt64(i)
        }

        let name = try string("name", try required("name"))
        let image = try string("image", try required("image"))
        guard !image.isEmpty else { throw at.error(field: "image", "the path is empty") }

        let hartsValue = try required("harts")
        let hartsWhat = "an array of hart ids (integers), e.g. [1, 2]"
        guard let hartsArray = hartsValue.array else {
            throw at.error(field: "harts", "expected \(hartsWhat), found \(describe(hartsValue))")
        }
        var harts: [UInt32] = []
        for element in hartsArray {
            guard let i = element.int else {
                throw at.error(field: "harts", "expected \(hartsWhat), found an element that is \(describe(element))")
            }
            guard i >= 0, i <= Int(UInt32.max) else {
                throw at.error(field: "harts", "hart id \(i) is out of range (0 to \(UInt32.max))")
            }
            harts.append(UInt32(i))
        }

        let memoryBase = try integer("memory_base", try required("memory_base"), what: "an integer address, e.g. 0x84000000")
        let sizeValue = try required("memory_size")
        let memorySize: UInt64
        if let text = sizeValue.string {
            guard let size = Size.parse(text) else {
                throw at.error(field: "memory_size", "\"\(text)\" is not a size: use \(Size.syntax)")
            }
            memorySize = size
        } else if sizeValue.int != nil {
            memorySize = try integer("memory_size", sizeValue)
        } else {
            throw at.error(field: "memory_size", "expected \(Size.syntax), found \(describe(sizeValue))")
        }

        var entry: UInt64?
        if let v = table["entry"] { entry = try integer("entry", v, what: "an integer guest-physical address, e.g. 0x80000000") }

        var onFault = FaultPolicy.stop
        if let v = table["on_fault"] {
            switch try string("on_fault", v) {
            case "stop": onFault = .stop
            case "restart": onFault = .restart
            case let other: throw at.error(field: "on_fault", "expected \"stop\" or \"restart\", found \"\(other)\"")
            }
        }
        var bootargs = ""
        if let v = table["bootargs"] { bootargs = try string("bootargs", v) }

        return PartitionConfig(name: name, image: image, harts: harts, memoryBase: memoryBase, memorySize: memorySize,
                               entry: entry, onFault: onFault, bootargs: bootargs)
    }

    /// "a string", "an integer", "a table" ...
    static func describe(_ value: TOMLValueConvertible) -> String {
        switch value.type {
        case .table: return "a table"
        case .array: return "an array"
        case .string: return "a string (\"\(value.string ?? "")\")"
        case .int: return "an integer"
        case .double: return "a floating-point number"
        case .bool: return "a boolean"
        case .date: return "a date"
        case .time: return "a time"
        case .dateTime: return "a date-time"
        }
    }

    /// ` (did you mean "memory_size"?)` when `key` is a near miss of one of `known`.
    static func suggestion(_ key: String, _ known: [String]) -> String {
        let best = known.map { ($0, editDistance(key, $0)) }.min { $0.1 < $1.1 }
        guard let (word, distance) = best, distance <= max(2, key.count / 3) else { return "" }
        return " (did you mean \"\(word)\"?)"
    }

    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in 1...max(b.count, 1) where !b.isEmpty {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return row[b.count]
    }
}
