// Where each key of a TOML configuration is written, so that errors can say `FILE:LINE:`.
// TOMLKit gives the values but not their positions: this scanner reads the text once and records
// the line of every table header and of every key, per table.
import BulkheadCore

/// The line numbers (1-based) of a configuration's table headers and keys.
public struct ConfigLines: Sendable, Equatable {
    /// A table: `partition` #i, `channel` #i, `board` (#0), or the top level (name "", #0).
    struct Table: Hashable, Sendable {
        var name: String
        var index: Int
    }

    private var headers: [Table: Int] = [:]
    private var keys: [Table: [String: Int]] = [:]

    public init() {}

    /// Scans `text`. Keys inside multi-line arrays, inline tables and multi-line strings are not
    /// keys of the table; a dotted key (`a.b = 1`) counts as its first part.
    public init(_ text: String) {
        var counts: [String: Int] = [:]
        var current = Table(name: "", index: 0)
        var scanner = Scanner()
        var number = 0
        // By bytes: "\r\n" is one Character, so a String split at "\n" would not see CRLF lines.
        for line in text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false) {
            number += 1
            let bytes = Array(line)
            if scanner.isAtTopLevel {
                let trimmed = bytes.drop { $0 == 0x20 || $0 == 0x09 }
                if trimmed.starts(with: Array("[[".utf8)) {
                    let name = Self.headerName(trimmed.dropFirst(2))
                    current = Table(name: name, index: counts[name, default: 0])
                    counts[name, default: 0] += 1
                    headers[current] = number
                } else if trimmed.first == UInt8(ascii: "[") {
                    current = Table(name: Self.headerName(trimmed.dropFirst()), index: 0)
                    headers[current] = number
                } else if let key = Self.keyName(trimmed), keys[current]?[key] == nil {
                    keys[current, default: [:]][key] = number
                }
            }
            scanner.scan(bytes)
        }
    }

    /// The line of `key` in table `name` #`index` (`nil`: not written there).
    public func line(_ name: String, _ index: Int = 0, key: String) -> Int? { keys[Table(name: name, index: index)]?[key] }

    /// The line of the header of table `name` #`index` (`[[partition]]`, `[board]`).
    public func header(_ name: String, _ index: Int = 0) -> Int? { headers[Table(name: name, index: index)] }

    /// `FILE:LINE` for `key` of table `name` #`index`, else its header's line, else just `FILE`.
    public func locate(_ file: String, _ name: String, _ index: Int = 0, key: String? = nil) -> String {
        guard let line = key.flatMap({ line(name, index, key: $0) }) ?? header(name, index) else { return file }
        return "\(file):\(line)"
    }

    /// `FILE:LINE` for a top-level key (`key = ...`, or the first `[key]` or `[[key]]` header).
    public func locateTopLevel(_ file: String, key: String) -> String {
        (line("", key: key) ?? header(key)).map { "\(file):\($0)" } ?? file
    }

    /// `FILE:LINE` for the field plan validation `error` is about (else its table's header, else `FILE`).
    func locate(_ error: PlanError, file: String) -> String {
        var key: String?
        if let field = error.field {
            var sink = StringSink()
            field.write(to: &sink)
            key = sink.text
        }
        if let p = error.partition { return locate(file, "partition", p, key: key) }
        if let c = error.channel { return locate(file, "channel", c, key: key) }
        switch error {
        case .tooManyPartitions: return locate(file, "partition", PlanLimits.maxPartitions)
        case .tooManyChannels: return locate(file, "channel", ChannelLimits.maxChannels)
        default: return file
        }
    }

    /// `partition` from `partition]]` or ` board ]`.
    private static func headerName(_ rest: ArraySlice<UInt8>) -> String {
        let name = rest.prefix { $0 != UInt8(ascii: "]") }
        return String(decoding: name, as: UTF8.self).trimmingSpaces
    }

    /// The key of a `key = value` line (its first part, unquoted), or `nil`.
    private static func keyName(_ line: ArraySlice<UInt8>) -> String? {
        guard let first = line.first, first != UInt8(ascii: "#") else { return nil }
        var key: [UInt8] = []
        if first == UInt8(ascii: "\"") || first == UInt8(ascii: "'") {
            let body = line.dropFirst().prefix { $0 != first }
            guard body.count < line.count - 1 else { return nil }
            key = Array(body)
        } else {
            key = Array(line.prefix { $0 != UInt8(ascii: "=") && $0 != UInt8(ascii: ".") && $0 != 0x20 && $0 != 0x09 })
        }
        guard !key.isEmpty, line.contains(UInt8(ascii: "=")) else { return nil }
        return String(decoding: key, as: UTF8.self)
    }

    /// Follows strings, comments and brackets across lines: a line starts at the top level when
    /// it is outside every multi-line string, array and inline table.
    private struct Scanner {
        var depth = 0
        /// The delimiter of the multi-line string we are in (`"""` or `'''`), if any.
        var multiline: UInt8?

        var isAtTopLevel: Bool { depth == 0 && multiline == nil }

        mutating func scan(_ line: [UInt8]) {
            var i = 0
            func triple(_ c: UInt8) -> Bool { i + 2 < line.count && line[i] == c && line[i + 1] == c && line[i + 2] == c }
            while i < line.count {
                if let quote = multiline {
                    if line[i] == UInt8(ascii: "\\") && quote == UInt8(ascii: "\"") { i += 2; continue }
                    if triple(quote) { multiline = nil; i += 3; continue }
                    i += 1
                    continue
                }
                let c = line[i]
                switch c {
                case UInt8(ascii: "#"):
                    return
                case UInt8(ascii: "\""), UInt8(ascii: "'"):
                    if triple(c) { multiline = c; i += 3; continue }
                    i += 1
                    while i < line.count && line[i] != c {
                        if c == UInt8(ascii: "\"") && line[i] == UInt8(ascii: "\\") { i += 1 }
                        i += 1
                    }
                    i += 1
                case UInt8(ascii: "["), UInt8(ascii: "{"):
                    depth += 1; i += 1
                case UInt8(ascii: "]"), UInt8(ascii: "}"):
                    depth = max(0, depth - 1); i += 1
                default:
                    i += 1
                }
            }
        }
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        let bytes = Array(utf8)
        let start = bytes.firstIndex { $0 != 0x20 && $0 != 0x09 } ?? bytes.count
        let end = bytes.lastIndex { $0 != 0x20 && $0 != 0x09 }.map { $0 + 1 } ?? start
        return String(decoding: bytes[start..<max(start, end)], as: UTF8.self)
    }
}
