// The TOML configuration: [[partition]] and [[channel]] tables parsed strictly (unknown keys,
// wrong types and keys of the other channel kind rejected).
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
    /// The key services the partition may call (`keys`; none by default).
    public var keyPolicy: KeyPolicy
    /// `kind`: a flat Bulkhead guest image (default), a Linux Image, or a payload loaded at `entry`.
    public var imageKind: ImageKind
    /// `initrd`: the initial RAM disk's path as written (relative to the configuration file), if any.
    public var initrd: String?
    /// `devices`: paths of nodes in the board's device tree, in the order written.
    public var devices: [String]
    /// `dma = "trusted"` and `uart = true`.
    public var flags: PartitionFlags
    /// `update`: the names of the partitions this one may deliver updates to, as written.
    public var update: [String] = []

    public init(name: String, image: String, harts: [UInt32], memoryBase: UInt64, memorySize: UInt64,
                entry: UInt64? = nil, onFault: FaultPolicy = .stop, bootargs: String = "", keyPolicy: KeyPolicy = KeyPolicy(),
                imageKind: ImageKind = .flat, initrd: String? = nil, devices: [String] = [], flags: PartitionFlags = PartitionFlags()) {
        self.name = name; self.image = image; self.harts = harts; self.memoryBase = memoryBase
        self.memorySize = memorySize; self.entry = entry; self.onFault = onFault; self.bootargs = bootargs
        self.keyPolicy = keyPolicy; self.imageKind = imageKind; self.initrd = initrd
        self.devices = devices; self.flags = flags
    }
}

/// One `[[channel]]` table, as written: its endpoints resolved to partitions that exist, the
/// other rules (name characters, ranges, the memory they need) left to `PartitionPlan.validate`.
public struct ChannelConfig: Equatable, Sendable {
    public var name: String
    public var kind: ChannelKind
    /// The partition names at endpoint 0 and endpoint 1, as written (each names a partition).
    public var endpoints: [String]
    public var direction: ChannelDirection
    /// Queue only (0 on a shared-memory channel).
    public var depth: UInt32
    public var messageSize: UInt32
    /// Shared memory only (0 on a queue).
    public var size: UInt64
    /// Shared memory only: per endpoint (read-write on a queue).
    public var access: [SharedAccess]
    public var doorbell: Bool

    public init(name: String, kind: ChannelKind, endpoints: [String], direction: ChannelDirection = .both,
                depth: UInt32 = 0, messageSize: UInt32 = 0, size: UInt64 = 0,
                access: [SharedAccess] = [.readWrite, .readWrite], doorbell: Bool = false) {
        self.name = name; self.kind = kind; self.endpoints = endpoints; self.direction = direction
        self.depth = depth; self.messageSize = messageSize; self.size = size; self.access = access
        self.doorbell = doorbell
    }

    /// A queue with `depth` messages of at most `messageSize` bytes waiting per direction.
    public static func queue(_ name: String, _ endpoints: [String], direction: ChannelDirection = .both,
                             depth: UInt32, messageSize: UInt32, doorbell: Bool = false) -> ChannelConfig {
        ChannelConfig(name: name, kind: .queue, endpoints: endpoints, direction: direction, depth: depth,
                      messageSize: messageSize, doorbell: doorbell)
    }

    /// `size` bytes of shared memory, mapped with `access` per endpoint.
    public static func shared(_ name: String, _ endpoints: [String], direction: ChannelDirection = .both, size: UInt64,
                              access: [SharedAccess] = [.readWrite, .readWrite], doorbell: Bool = false) -> ChannelConfig {
        ChannelConfig(name: name, kind: .sharedMemory, endpoints: endpoints, direction: direction, size: size,
                      access: access, doorbell: doorbell)
    }
}

/// A parsed configuration file.
public struct Config: Sendable {
    /// The file as the user named it (used in every message).
    public var file: String
    public var partitions: [PartitionConfig]
    public var channels: [ChannelConfig] = []
    /// Where each key is written in the file (empty for a configuration built in code).
    public var lines = ConfigLines()
    /// The `[board]` table, if the file has one.
    public var board: BoardTable?
    /// The `[bundle]` table, if the file has one.
    public var bundle: BundleTable?

    /// Every key a `[[partition]]` table may hold, in documentation order.
    public static let partitionKeys = ["name", "image", "harts", "memory_base", "memory_size", "entry", "on_fault", "bootargs",
                                       "keys", "kind", "initrd", "devices", "dma", "uart", "update"]

    /// Every key a `[[channel]]` table may hold, in documentation order.
    public static let channelKeys = ["name", "kind", "endpoints", "direction", "depth", "message_size", "size", "access", "doorbell"]
    /// The keys only a queue may hold, and those only a shared-memory channel may hold.
    static let queueOnlyKeys = ["depth", "message_size"]
    static let sharedOnlyKeys = ["size", "access"]
    /// The top-level keys: the two kinds of array of tables, and the board and bundle tables.
    static let topLevelKeys = ["partition", "channel", "board", "bundle"]

    /// Parses TOML `text`; `file` names the source in messages. Every error found is reported
    /// (the first thrown, the others in its `more`), each at the line of the key it is about.
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
        let lines = ConfigLines(text)
        var errors: [ToolError] = []
        for key in root.keys where !topLevelKeys.contains(key) {
            errors.append(ToolError("\(lines.locateTopLevel(file, key: key)): unknown top-level key \"\(key)\""
                                    + "\(suggestion(key, topLevelKeys)) (a plan holds only [[partition]] and [[channel]] tables, a [board] and a [bundle] table)"))
        }
        func tables(_ key: String) -> [TOMLTable] {
            do throws(ToolError) { return try Config.tables(key, in: root, file: file, lines: lines) } catch {
                errors.append(error)
                return []
            }
        }
        let partitionTables = tables("partition")
        var partitions: [PartitionConfig] = []
        for (index, table) in partitionTables.enumerated() {
            do {
                partitions.append(try parsePartition(table, at: ConfigLocation(file: file, partition: index, name: nil, lines: lines)))
            } catch {
                errors.append(error)
            }
        }
        // Channels name partitions as written, also those with errors of their own.
        let names = partitionTables.compactMap { $0["name"]?.string }
        var channels: [ChannelConfig] = []
        for (index, table) in tables("channel").enumerated() {
            do {
                channels.append(try parseChannel(table, at: ChannelLocation(file: file, channel: index, name: nil, lines: lines),
                                                 partitions: names))
            } catch {
                errors.append(error)
            }
        }
        var board: BoardTable?
        if let value = root["board"] {
            do { board = try BoardTable.parse(value, file: file, lines: lines) } catch { errors.append(error) }
        }
        var bundle: BundleTable?
        if let value = root["bundle"] {
            do { bundle = try BundleTable.parse(value, file: file, lines: lines) } catch { errors.append(error) }
        }
        if let error = ToolError.collected(errors) { throw error }
        return Config(file: file, partitions: partitions, channels: channels, lines: lines, board: board, bundle: bundle)
    }

    /// The single table `[name]` given as `value`, and an error for each key of it outside `keys`
    /// (each at its line); throws when `value` is not a table.
    static func singleTable(_ value: TOMLValueConvertible, name: String, keys: [String], file: String,
                            lines: ConfigLines) throws(ToolError) -> (table: TOMLTable, errors: [ToolError]) {
        guard let table = value.table else {
            throw ToolError("\(lines.locateTopLevel(file, key: name)): \"\(name)\" must be a table: write it as [\(name)]")
        }
        let errors = table.keys.filter { !keys.contains($0) }.map { key in
            ToolError("\(lines.locate(file, name, key: key)): [\(name)]: unknown key \"\(key)\""
                      + "\(suggestion(key, keys)) (allowed: \(keys.joined(separator: ", ")))")
        }
        return (table, errors)
    }

    /// The `[[key]]` tables of `root` (none when the key is absent).
    private static func tables(_ key: String, in root: TOMLTable, file: String,
                               lines: ConfigLines) throws(ToolError) -> [TOMLTable] {
        guard let value = root[key] else { return [] }
        guard let array = value.array, array.allSatisfy({ $0.type == .table }) else {
            throw ToolError("\(lines.locateTopLevel(file, key: key)): \"\(key)\" must be an array of tables: "
                            + "write each one as [[\(key)]]")
        }
        return array.compactMap { $0.table }
    }

    /// Runs each field's parse of one table, keeping every error: `attempt(fallback) { ... }`
    /// returns the field's value, or `fallback` after recording the error.
    private struct Collector {
        var errors: [ToolError] = []

        mutating func attempt<T>(_ fallback: T, _ body: () throws(ToolError) -> T) -> T {
            do { return try body() } catch {
                errors.append(error)
                return fallback
            }
        }

        mutating func check(_ body: () throws(ToolError) -> Void) { attempt((), body) }

        /// Throws what was collected, if anything.
        func finish() throws(ToolError) {
            if let error = ToolError.collected(errors) { throw error }
        }
    }

    private static func parseChannel(_ table: TOMLTable, at start: ChannelLocation,
                                     partitions: [String]) throws(ToolError) -> ChannelConfig {
        var at = start
        at.name = table["name"]?.string
        var collect = Collector()
        for key in table.keys where !channelKeys.contains(key) {
            collect.errors.append(at.error(key: key, "unknown key \"\(key)\"\(suggestion(key, channelKeys)) "
                                           + "(allowed: \(channelKeys.joined(separator: ", ")))"))
        }
        func required(_ key: String, _ why: String = "") throws(ToolError) -> TOMLValueConvertible {
            guard let v = table[key] else { throw at.error("missing required key \"\(key)\"\(why)") }
            return v
        }
        func string(_ key: String, _ v: TOMLValueConvertible) throws(ToolError) -> String {
            guard let s = v.string else { throw at.error(field: key, "expected a string, found \(describe(v))") }
            return s
        }
        /// An array of exactly two strings, one per endpoint.
        func pair(_ key: String, _ v: TOMLValueConvertible, example: String) throws(ToolError) -> [String] {
            let what = "an array of two strings, one per endpoint, e.g. \(example)"
            guard let array = v.array else { throw at.error(field: key, "expected \(what), found \(describe(v))") }
            var out: [String] = []
            for element in array {
                guard let s = element.string else {
                    throw at.error(field: key, "expected \(what), found an element that is \(describe(element))")
                }
                out.append(s)
            }
            guard out.count == 2 else {
                throw at.error(field: key, "expected \(what), found \(out.count) element\(out.count == 1 ? "" : "s")")
            }
            return out
        }
        func integer(_ key: String, _ v: TOMLValueConvertible, max: UInt64) throws(ToolError) -> UInt64 {
            guard let i = v.int else { throw at.error(field: key, "expected an integer, found \(describe(v))") }
            guard i >= 0 else { throw at.error(field: key, "expected an integer, found the negative value \(i)") }
            guard UInt64(i) <= max else { throw at.error(field: key, "\(i) is out of range (0 to \(max))") }
            return UInt64(i)
        }

        let name = collect.attempt("") { () throws(ToolError) in try string("name", try required("name")) }
        let kind: ChannelKind? = collect.attempt(nil) { () throws(ToolError) -> ChannelKind? in
            switch try string("kind", try required("kind")) {
            case "queue": return .queue
            case "shared": return .sharedMemory
            case let other: throw at.error(field: "kind", "expected \"queue\" or \"shared\", found \"\(other)\"")
            }
        }
        // A key of the other kind is an error even when its value would be harmless (the same
        // PlanError the plan validation reports when such a value reaches the plan).
        if let kind {
            let foreign = kind == .queue ? sharedOnlyKeys : queueOnlyKeys
            for key in Config.channelKeys where foreign.contains(key) && table[key] != nil {
                let field: PlanField = key == "depth" ? .depth : key == "message_size" ? .messageSize : key == "size" ? .size : .access
                let hint = kind == .queue ? " (a queue has depth and message_size)" : " (a shared-memory channel has size and access)"
                collect.errors.append(at.planError(.channelFieldNotForKind(channel: at.channel, field: field), suffix: hint))
            }
        }

        let endpoints = collect.attempt([]) { () throws(ToolError) in
            try pair("endpoints", try required("endpoints"), example: "[\"ping\", \"pong\"]")
        }
        for (e, endpoint) in endpoints.enumerated() where !partitions.contains(endpoint) {
            collect.errors.append(at.unknownPartition(endpoint: e, endpoint, partitions: partitions))
        }

        let direction = collect.attempt(ChannelDirection.both) { () throws(ToolError) -> ChannelDirection in
            guard let v = table["direction"] else { return .both }
            switch try string("direction", v) {
            case "both": return .both
            case "forward": return .forward
            case let other: throw at.error(field: "direction", "expected \"both\" or \"forward\", found \"\(other)\"")
            }
        }
        let doorbell = collect.attempt(false) { () throws(ToolError) -> Bool in
            guard let v = table["doorbell"] else { return false }
            guard let b = v.bool else { throw at.error(field: "doorbell", "expected true or false, found \(describe(v))") }
            return b
        }

        var config = ChannelConfig(name: name, kind: kind ?? .queue, endpoints: endpoints, direction: direction, doorbell: doorbell)
        switch kind {
        case .queue:
            let why = " (a queue needs depth and message_size)"
            config.depth = collect.attempt(0) { () throws(ToolError) in
                UInt32(try integer("depth", try required("depth", why), max: UInt64(UInt32.max)))
            }
            config.messageSize = collect.attempt(0) { () throws(ToolError) in
                UInt32(try integer("message_size", try required("message_size", why), max: UInt64(UInt32.max)))
            }
        case .sharedMemory:
            config.size = collect.attempt(0) { () throws(ToolError) -> UInt64 in
                let sizeValue = try required("size", " (a shared-memory channel needs its size)")
                return try Config.size(sizeValue, field: "size") { (field, text) in at.error(field: field, text) }
            }
            collect.check { () throws(ToolError) in
                guard let v = table["access"] else { return }
                config.access = []
                for word in try pair("access", v, example: "[\"rw\", \"ro\"]") {
                    switch word {
                    case "rw": config.access.append(.readWrite)
                    case "ro": config.access.append(.readOnly)
                    default: throw at.error(field: "access", "expected \"rw\" or \"ro\" for each endpoint, found \"\(word)\"")
                    }
                }
            }
        case nil:
            break
        }
        try collect.finish()
        return config
    }

    /// A size field: `"16M"` (Size.syntax) or an integer number of bytes.
    static func size(_ value: TOMLValueConvertible, field: String,
                     _ error: (String, String) -> ToolError) throws(ToolError) -> UInt64 {
        if let text = value.string {
            guard let size = Size.parse(text) else { throw error(field, "\"\(text)\" is not a size: use \(Size.syntax)") }
            return size
        }
        guard let i = value.int else { throw error(field, "expected \(Size.syntax), found \(describe(value))") }
        guard i >= 0 else { throw error(field, "expected an integer, found the negative value \(i)") }
        return UInt64(i)
    }

    private static func parsePartition(_ table: TOMLTable, at start: ConfigLocation) throws(ToolError) -> PartitionConfig {
        var at = start
        at.name = table["name"]?.string
        var collect = Collector()
        for key in table.keys where !partitionKeys.contains(key) {
            collect.errors.append(at.error(key: key, "unknown key \"\(key)\"\(suggestion(key, partitionKeys)) "
                                           + "(allowed: \(partitionKeys.joined(separator: ", ")))"))
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
        /// A path: a non-empty string.
        func path(_ key: String, _ v: TOMLValueConvertible) throws(ToolError) -> String {
            let path = try string(key, v)
            guard !path.isEmpty else { throw at.error(field: key, "the path is empty") }
            return path
        }

        let name = collect.attempt("") { () throws(ToolError) in try string("name", try required("name")) }
        let image = collect.attempt("") { () throws(ToolError) in try path("image", try required("image")) }

        let harts = collect.attempt([]) { () throws(ToolError) -> [UInt32] in
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
            return harts
        }

        let memoryBase = collect.attempt(0) { () throws(ToolError) in
            try integer("memory_base", try required("memory_base"), what: "an integer address, e.g. 0x84000000")
        }
        let memorySize = collect.attempt(0) { () throws(ToolError) in
            try Config.size(try required("memory_size"), field: "memory_size") { (field, text) in at.error(field: field, text) }
        }

        let entry = collect.attempt(nil) { () throws(ToolError) -> UInt64? in
            guard let v = table["entry"] else { return nil }
            return try integer("entry", v, what: "an integer guest-physical address, e.g. 0x80000000")
        }

        let onFault = collect.attempt(FaultPolicy.stop) { () throws(ToolError) -> FaultPolicy in
            guard let v = table["on_fault"] else { return .stop }
            switch try string("on_fault", v) {
            case "stop": return .stop
            case "restart": return .restart
            case let other: throw at.error(field: "on_fault", "expected \"stop\" or \"restart\", found \"\(other)\"")
            }
        }
        let bootargs = collect.attempt("") { () throws(ToolError) -> String in
            guard let v = table["bootargs"] else { return "" }
            return try string("bootargs", v)
        }
        let keyPolicy = collect.attempt(KeyPolicy()) { () throws(ToolError) -> KeyPolicy in
            guard let v = table["keys"] else { return KeyPolicy() }
            return try keyServices(v, at: at)
        }
        let imageKind = collect.attempt(ImageKind.flat) { () throws(ToolError) -> ImageKind in
            guard let v = table["kind"] else { return .flat }
            switch try string("kind", v) {
            case "bulkhead": return .flat
            case "linux": return .linux
            case "payload": return .payload
            case let other: throw at.error(field: "kind", "expected \"bulkhead\" (a flat guest image), \"linux\" (a RISC-V Linux Image) or \"payload\" (a flat image loaded at its entry), found \"\(other)\"")
            }
        }
        if imageKind == .linux, table["entry"] != nil {
            collect.errors.append(at.error(field: "entry", "a Linux Image is entered at its load address (the RAM base + its header's text_offset): leave entry out"))
        }
        if imageKind == .payload, table["entry"] == nil {
            collect.errors.append(at.error(field: "entry", "a payload is loaded and entered at its entry: give it, e.g. entry = 0x80200000"))
        }
        let initrd = collect.attempt(nil) { () throws(ToolError) -> String? in
            guard let v = table["initrd"] else { return nil }
            return try path("initrd", v)
        }

        let devices = collect.attempt([]) { () throws(ToolError) -> [String] in
            guard let v = table["devices"] else { return [] }
            let what = "an array of device-tree paths, e.g. [\"/soc/rtc@101000\"]"
            guard let array = v.array else { throw at.error(field: "devices", "expected \(what), found \(describe(v))") }
            var devices: [String] = []
            for element in array {
                guard let path = element.string else {
                    throw at.error(field: "devices", "expected \(what), found an element that is \(describe(element))")
                }
                guard path.hasPrefix("/") else {
                    throw at.error(field: "devices", "\"\(path)\" is not an absolute device-tree path (it must start with /)")
                }
                guard !devices.contains(path) else { throw at.error(field: "devices", "\"\(path)\" is listed twice") }
                devices.append(path)
            }
            return devices
        }
        var flags = PartitionFlags()
        collect.check { () throws(ToolError) in
            guard let v = table["dma"] else { return }
            switch try string("dma", v) {
            case "trusted": flags.dmaTrusted = true
            case "none": flags.dmaTrusted = false
            case let other: throw at.error(field: "dma", "expected \"trusted\" (guest-physical = host-physical RAM, for DMA-capable devices) or \"none\", found \"\(other)\"")
            }
        }
        collect.check { () throws(ToolError) in
            guard let v = table["uart"] else { return }
            guard let on = v.bool else { throw at.error(field: "uart", "expected true or false, found \(describe(v))") }
            flags.uart = on
        }
        let update = collect.attempt([]) { () throws(ToolError) -> [String] in
            guard let v = table["update"] else { return [] }
            let what = "an array of partition names, e.g. [\"heartbeat\"]"
            guard let array = v.array else { throw at.error(field: "update", "expected \(what), found \(describe(v))") }
            var names: [String] = []
            for element in array {
                guard let target = element.string else {
                    throw at.error(field: "update", "expected \(what), found an element that is \(describe(element))")
                }
                guard !names.contains(target) else { throw at.error(field: "update", "\"\(target)\" is listed twice") }
                names.append(target)
            }
            return names
        }
        try collect.finish()
        var config = PartitionConfig(name: name, image: image, harts: harts, memoryBase: memoryBase, memorySize: memorySize,
                                     entry: entry, onFault: onFault, bootargs: bootargs, keyPolicy: keyPolicy,
                                     imageKind: imageKind, initrd: initrd, devices: devices, flags: flags)
        config.update = update
        return config
    }

    /// The `keys` array: key service names (`KeyPolicy.named`), each at most once.
    private static func keyServices(_ value: TOMLValueConvertible, at: ConfigLocation) throws(ToolError) -> KeyPolicy {
        let what = "an array of key service names, e.g. [\"derive\", \"seal\"]"
        guard let array = value.array else { throw at.error(field: "keys", "expected \(what), found \(describe(value))") }
        var policy = KeyPolicy()
        for element in array {
            guard let name = element.string else {
                throw at.error(field: "keys", "expected \(what), found an element that is \(describe(element))")
            }
            guard let service = Array(name.utf8).withUnsafeBytes({ KeyPolicy.named($0) }) else {
                let known = KeyServices.names
                throw at.error(field: "keys", "unknown key service \"\(name)\"\(suggestion(name, known)) "
                               + "(known: \(known.joined(separator: ", ")))")
            }
            guard !policy.allows(service) else { throw at.error(field: "keys", "\"\(name)\" is listed twice") }
            policy.insert(service)
        }
        return policy
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

/// Where a channel configuration error is: `FILE:LINE: channel #0 "pingpong", field endpoints`.
struct ChannelLocation {
    var file: String
    var channel: Int
    var name: String?
    /// Where the configuration's keys are written (empty: messages name the file only).
    var lines = ConfigLines()

    /// `FILE:LINE: channel #i "name"`, with the line of `key` (else of the table's header).
    func prefix(_ key: String?) -> String {
        var s = "\(lines.locate(file, "channel", channel, key: key)): channel #\(channel)"
        if let name { s += " \"\(name)\"" }
        return s
    }

    func error(_ text: String) -> ToolError { ToolError("\(prefix(nil)): \(text)") }
    /// An error about key `key`, at its line, that names no field (an unknown key).
    func error(key: String, _ text: String) -> ToolError { ToolError("\(prefix(key)): \(text)") }
    func error(field: String, _ text: String) -> ToolError { ToolError("\(prefix(field)), field \(field): \(text)") }

    /// `FILE:LINE: <PlanError text>` for an error about this channel, worded by Core as the plan
    /// validation words it (the channel's name shown when it fits a plan's channel name).
    func planError(_ error: PlanError, suffix: String = "") -> ToolError {
        var plan = PartitionPlan()
        var spec = ChannelSpec()
        if let name, let fixed = Array(name.utf8).withUnsafeBytes({ ChannelName(bytes: $0) }) { spec.name = fixed }
        var i = 0
        while i <= channel && plan.appendChannel(i == channel ? spec : ChannelSpec()) { i += 1 }
        return ToolError.plan(error, file: file, plan: plan, suffix: suffix, lines: lines)
    }

    /// Endpoint `e` names `name`, which no partition has: `... endpoint 1 names no partition of
    /// the plan ("pang"; the partitions are "ping", "pong")`.
    func unknownPartition(endpoint e: Int, _ name: String, partitions: [String]) -> ToolError {
        let known = partitions.isEmpty ? "the plan has no partitions"
            : "the partitions are " + partitions.map { "\"\($0)\"" }.joined(separator: ", ")
        return planError(.channelUnknownPartition(channel: channel, endpoint: e), suffix: " (\"\(name)\"; \(known))")
    }
}
