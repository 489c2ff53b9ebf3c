// Configuration + image files -> PartitionPlan, checked by Core's one validation function.
import BulkheadCore
import Foundation

/// A validated plan with the images it describes, ready to encode as a bundle.
public struct LoadedPlan {
    public var config: Config
    public var plan: PartitionPlan
    /// `images[i]` is partition `i`'s flat image (raw file, or an ELF file flattened).
    public var images: [[UInt8]]
    /// `initrds[i]` is partition `i`'s initrd (empty: none).
    public var initrds: [[UInt8]] = []
    /// `warning: ...` lines about a plan that is valid but probably not what was meant.
    public var warnings: [String] = []
}

public enum PlanBuilder {
    /// Reads and parses the configuration file at `path`, loads its images and validates the plan
    /// for the board `options` name, completed by the configuration's `[board]` table.
    public static func load(configPath path: String, options: BoardOptions) throws(ToolError) -> (LoadedPlan, ResolvedBoard) {
        let config = try read(configPath: path)
        let board = try options.filled(from: config.board).resolve()
        return (try load(config, configPath: path, board: board), board)
    }

    /// Reads and parses the configuration file at `path`, loads its images and validates the plan.
    public static func load(configPath path: String, board: ResolvedBoard) throws(ToolError) -> LoadedPlan {
        try load(try read(configPath: path), configPath: path, board: board)
    }

    /// The configuration file at `path`, parsed.
    public static func read(configPath path: String) throws(ToolError) -> Config {
        let text: String
        do {
            text = try String(contentsOf: URL(fileURLWithPath: path), encoding: .utf8)
        } catch {
            throw ToolError.cannotRead(path, "the configuration", error)
        }
        return try Config.parse(text, file: path)
    }

    /// Loads the images of the parsed `config` (paths relative to `path`'s directory) and validates its plan.
    static func load(_ config: Config, configPath path: String, board: ResolvedBoard) throws(ToolError) -> LoadedPlan {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let loaded = try build(config, directory: directory, board: board)
        for warning in loaded.warnings { FileHandle.standardError.write(Data((warning + "\n").utf8)) }
        return loaded
    }

    /// Builds and validates the plan of `config`; image paths are relative to `directory`. Every
    /// error found is reported (the first thrown, the others in its `more`): each partition's
    /// own, then, if the partitions are valid, the first channel or device error.
    public static func build(_ config: Config, directory: String, board: ResolvedBoard) throws(ToolError) -> LoadedPlan {
        let file = config.file
        let lines = config.lines
        guard config.partitions.count <= PlanLimits.maxPartitions else {
            throw ToolError.plan(.tooManyPartitions(count: config.partitions.count), file: file, plan: PartitionPlan(), lines: lines)
        }
        guard config.channels.count <= ChannelLimits.maxChannels else {
            throw ToolError.plan(.tooManyChannels(count: config.channels.count), file: file, plan: PartitionPlan(), lines: lines)
        }
        var errors: [ToolError] = []
        // `named` holds every partition (as far as it was built), so messages name them by index;
        // `specs[p]` is partition p's spec when it was built without error.
        var named = PartitionPlan()
        var specs: [PartitionSpec?] = []
        var images: [[UInt8]] = []
        var initrds: [[UInt8]] = []
        var warnings: [String] = []
        for (p, partition) in config.partitions.enumerated() {
            var spec = PartitionSpec()
            var image: [UInt8] = []
            var initrd: [UInt8] = []
            do {
                try buildPartition(partition, index: p, into: &spec, image: &image, initrd: &initrd, named: named,
                                   config: config, directory: directory, board: board)
                specs.append(spec)
            } catch {
                errors.append(error)
                specs.append(nil)
            }
            _ = named.append(spec)
            if let warning = imageKindWarning(image, partition, at: ConfigLocation(file: file, partition: p, name: partition.name,
                                                                                 lines: lines)) {
                warnings.append(warning)
            }
            images.append(image)
            initrds.append(initrd)
        }
        errors += validatePartitions(specs, named: named, board: board, config: config)

        var plan = PartitionPlan()
        plan.flags = config.bundle?.flags ?? BundleFlags()
        for spec in specs { _ = plan.append(spec ?? PartitionSpec()) }
        for (c, channel) in config.channels.enumerated() {
            do {
                _ = plan.appendChannel(try channelSpec(channel, index: c, config: config))
            } catch {
                errors.append(error)
            }
        }
        let deviceTotal = config.partitions.reduce(0) { $0 + $1.devices.count }
        guard deviceTotal <= DeviceLimits.maxDevices else {
            throw ToolError.collected(errors + [ToolError.plan(.tooManyDevices(count: deviceTotal), file: file, plan: plan,
                                                               lines: lines)])!
        }
        for (p, partition) in config.partitions.enumerated() {
            let at = ConfigLocation(file: file, partition: p, name: partition.name, lines: lines)
            for path in partition.devices {
                do {
                    _ = plan.devices.append(try deviceSpec(path, owner: p, board: board, at: at))
                } catch {
                    errors.append(error)
                }
            }
        }
        if errors.isEmpty {
            do {
                try plan.validate(for: board.limits)
            } catch {
                errors.append(ToolError.plan(error, file: file, plan: plan, lines: lines))
            }
        }
        if let error = ToolError.collected(errors) { throw error }
        return LoadedPlan(config: config, plan: plan, images: images, initrds: initrds, warnings: warnings)
    }

    /// A warning when a partition that is not `kind = "linux"` is given a Linux Image (magic2
    /// "RSC\x05" at offset 56) or a gzip file (1f 8b): it would be entered as flat code.
    static func imageKindWarning(_ image: [UInt8], _ partition: PartitionConfig, at: ConfigLocation) -> String? {
        guard partition.imageKind != .linux else { return nil }
        let what: String
        if image.count >= LinuxImageHeader.size,
           image[56..<60].elementsEqual(withUnsafeBytes(of: LinuxImageHeader.magic2.littleEndian, Array.init)) {
            what = "is a RISC-V Linux Image (magic \"RSC\\x05\" at offset 56), but the partition does not say kind = \"linux\": "
                + "it would be loaded and entered as a flat image, not at the Image's text_offset"
        } else if image.starts(with: [0x1F, 0x8B]) {
            what = "is gzip-compressed (it starts with 1f 8b): the partition would enter the compressed bytes as code; "
                + "give the uncompressed image (for Linux, arch/riscv/boot/Image with kind = \"linux\")"
        } else {
            return nil
        }
        return "warning: \(at.prefix("image")), field image: \"\(partition.image)\" \(what)"
    }

    /// Partition `p` of the configuration as a spec, with its image and initrd. `named` holds
    /// the partitions before it (for messages).
    private static func buildPartition(_ partition: PartitionConfig, index p: Int, into spec: inout PartitionSpec,
                                       image: inout [UInt8], initrd: inout [UInt8], named: PartitionPlan,
                                       config: Config, directory: String, board: ResolvedBoard) throws(ToolError) {
        let file = config.file
        let at = ConfigLocation(file: file, partition: p, name: partition.name, lines: config.lines)
        let nameBytes = Array(partition.name.utf8)
        guard let name = nameBytes.withUnsafeBytes({ PartitionName(bytes: $0) }) else {
            throw ToolError.plan(.nameTooLong(partition: p), file: file, plan: named,
                                 suffix: " (\"\(partition.name)\" is \(nameBytes.count) bytes)", lines: config.lines)
        }
        spec.name = name
        for hart in partition.harts where !spec.harts.append(hart) {
            var shown = named
            _ = shown.append(spec)
            throw ToolError.plan(.tooManyHarts(partition: p), file: file, plan: shown,
                                 suffix: " (\(partition.harts.count) are)", lines: config.lines)
        }
        spec.memory = HostRegion(base: HostPhysAddr(partition.memoryBase), size: partition.memorySize)
        spec.onFault = partition.onFault
        let bootBytes = Array(partition.bootargs.utf8)
        guard let bootargs = bootBytes.withUnsafeBytes({ Bootargs(bytes: $0) }) else {
            var shown = named
            _ = shown.append(spec)
            throw ToolError.plan(.bootargsTooLong(partition: p), file: file, plan: shown,
                                 suffix: " (they are \(bootBytes.count))", lines: config.lines)
        }
        spec.bootargs = bootargs
        spec.keyPolicy = partition.keyPolicy
        spec.flags = partition.flags
        for target in partition.update {
            // Plan validation refuses the partition itself; here only the names are resolved.
            guard let q = config.partitions.firstIndex(where: { $0.name == target }) else {
                let known = config.partitions.map { "\"\($0.name)\"" }.joined(separator: ", ")
                throw at.error(field: "update", "\"\(target)\" names no partition of the configuration (partitions: \(known))")
            }
            spec.updateTargets |= UInt8(1 << q)
        }

        let loaded = try loadImage(partition, ramBase: spec.ramBase, directory: directory, board: board, at: at)
        spec.imageSize = UInt64(loaded.bytes.count)
        spec.entry = GuestPhysAddr(partition.entry ?? loaded.entry ?? spec.ramBase.raw)
        spec.imageKind = partition.imageKind
        if let path = partition.initrd {
            initrd = try readFile(path, field: "initrd", directory: directory, at: at)
            guard !initrd.isEmpty else { throw at.error(field: "initrd", "\"\(path)\" is empty") }
        }
        spec.initrdSize = UInt64(initrd.count)
        if partition.imageKind == .linux {
            try placeLinux(&spec, image: loaded.bytes, partition: partition, at: at)
        }
        image = loaded.bytes
    }

    /// Each partition's first plan error, by Core's validation: the partitions that were built
    /// are validated together; a partition that fails is reported and left out, and the rest
    /// validated again (a partition is only checked against those before it, so the errors come
    /// in partition order and none is reported twice). Messages use the configuration's indices.
    static func validatePartitions(_ specs: [PartitionSpec?], named: PartitionPlan, board: ResolvedBoard,
                                   config: Config) -> [ToolError] {
        var errors: [ToolError] = []
        var active = specs.indices.filter { specs[$0] != nil }
        while !active.isEmpty {
            var subset = PartitionPlan()
            for p in active { _ = subset.append(specs[p]!) }
            do {
                try subset.validate(for: board.limits)
                break
            } catch {
                guard let q = error.partition else { break }
                errors.append(ToolError.plan(error.renumbered { active[$0] }, file: config.file, plan: named,
                                             lines: config.lines))
                active.remove(at: q)
            }
        }
        if specs.isEmpty {
            errors.append(ToolError.plan(.noPartitions, file: config.file, plan: named, lines: config.lines))
        }
        return errors
    }

    /// A Linux Image: checks its header (Documentation/arch/riscv/boot-image-header.rst), enters it
    /// at the RAM base + text_offset, and checks that all it occupies (image_size, with its bss)
    /// stays below the initrd and the device tree.
    static func placeLinux(_ spec: inout PartitionSpec, image: [UInt8], partition: PartitionConfig,
                           at: ConfigLocation) throws(ToolError) {
        let parsed = image.withUnsafeBytes { (raw) -> Result<LinuxImageHeader, LinuxImageHeader.Problem> in
            do throws(LinuxImageHeader.Problem) { return .success(try LinuxImageHeader(raw)) } catch { return .failure(error) }
        }
        let header: LinuxImageHeader
        switch parsed {
        case .success(let h): header = h
        case .failure(let problem):
            let why: String
            switch problem {
            case .tooShort(let n): why = "it is \(n) bytes, shorter than the 64-byte Image header"
            case .noMagic: why = "it has no RISC-V Image header (magic2 \"RSC\\x05\" at offset 56); use the uncompressed Image (arch/riscv/boot/Image), not vmlinux or Image.gz"
            case .bigEndian: why = "its header flags say big-endian"
            case .textOffsetMisaligned(let t): why = "its text_offset \(hex(t)) is not a multiple of 2 MiB"
            }
            throw at.error(field: "image", "\"\(partition.image)\" is not a usable Linux Image: \(why)")
        }
        spec.entry = spec.ramBase.adding(header.textOffset)
        let footprint = header.footprint(fileLength: UInt64(image.count))
        let top = spec.initrdSize > 0 ? spec.initrdOffset : spec.memory.size &- PlanLimits.deviceTreeReserve
        guard spec.initrdSize <= spec.memory.size &- PlanLimits.deviceTreeReserve,
              header.textOffset <= top, footprint <= top - header.textOffset else {
            throw at.error(field: "memory_size", "the Linux Image occupies \(footprint) bytes (image_size) from offset "
                           + "\(hex(header.textOffset)); with the initrd (\(spec.initrdSize) bytes) and the 64 KiB device tree "
                           + "it does not fit in \(Size.describe(spec.memory.size))")
        }
    }

    /// The device at `path` in the board's device tree, as the plan records it. Only a path the
    /// board does not have is refused here (with why); `validate` checks the rest.
    static func deviceSpec(_ path: String, owner p: Int, board: ResolvedBoard, at: ConfigLocation) throws(ToolError) -> DeviceSpec {
        var device = DeviceSpec()
        device.owner = UInt8(p)
        let pathBytes = Array(path.utf8)
        guard let stored = pathBytes.withUnsafeBytes({ DevicePath(bytes: $0) }) else {
            throw at.error(field: "devices", "device \"\(path)\": the path is longer than \(BundleFormat.DeviceRecord.pathCapacity) bytes")
        }
        device.path = stored
        let entry = pathBytes.withUnsafeBytes { board.limits.devices.find(path: $0) }
        let compatible = board.deviceTree.withUnsafeBytes { (raw) -> Result<[UInt8]?, FDTError> in
            do throws(FDTError) {
                let reader = try FDTReader(raw)
                var copy = pathBytes
                let node = try copy.withUnsafeMutableBufferPointer { (buffer) throws(FDTError) -> FDTNode? in
                    try reader.findNode(path: UnsafeRawBufferPointer(buffer))
                }
                guard let node else { return .success(nil) }
                guard let list = try reader.findProperty("compatible", in: node) else { return .success([]) }
                var strings = try list.strings()
                return .success(strings.next().map { Array($0) } ?? [])
            } catch {
                return .failure(error)
            }
        }
        guard case .success(let found) = compatible, let first = found else {
            throw at.error(field: "devices", "device \"\(path)\" does not exist in \(board.deviceTreeSource)")
        }
        guard let entry else {
            throw at.error(field: "devices", "device \"\(path)\" in \(board.deviceTreeSource) is disabled or has no `reg` "
                           + "(give the node's full name, with its unit address)")
        }
        device.compatible = first.prefix(BundleFormat.DeviceRecord.compatibleCapacity).withUnsafeBytes { DeviceCompatible(bytes: $0) }
            ?? DeviceCompatible()
        device.region = entry.region
        device.interruptCount = min(entry.interruptCount, DeviceLimits.maxInterrupts)
        device.interrupts = entry.interrupts
        device.dmaCapable = entry.dmaCapable
        return device
    }

    /// The bytes of the file at `path` (relative to `directory`), for configuration field `field`.
    static func readFile(_ path: String, field: String, directory: String, at: ConfigLocation) throws(ToolError) -> [UInt8] {
        let full = path.hasPrefix("/") ? path : directory + "/" + path
        let resolved = URL(fileURLWithPath: full).standardizedFileURL.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory) else {
            throw at.ioError(field: field, "cannot read \"\(path)\" (\(resolved)): no such file")
        }
        guard !isDirectory.boolValue else {
            throw at.ioError(field: field, "cannot read \"\(path)\" (\(resolved)): is a directory")
        }
        do {
            return [UInt8](try Data(contentsOf: URL(fileURLWithPath: resolved)))
        } catch {
            throw at.ioError(field: field, "cannot read \"\(path)\" (\(resolved)): \(reason(error, path: resolved))")
        }
    }

    /// Channel `c` of `config` as Core's `ChannelSpec`: endpoints become partition indices. The
    /// plan's rules (name characters, ranges, sizes, memory) are checked by `validate` afterwards.
    static func channelSpec(_ channel: ChannelConfig, index c: Int, config: Config) throws(ToolError) -> ChannelSpec {
        let at = ChannelLocation(file: config.file, channel: c, name: channel.name, lines: config.lines)
        var spec = ChannelSpec()
        let nameBytes = Array(channel.name.utf8)
        guard let name = nameBytes.withUnsafeBytes({ ChannelName(bytes: $0) }) else {
            throw ChannelLocation(file: config.file, channel: c, name: nil, lines: config.lines).error(
                field: "name", "the name is longer than \(BundleFormat.ChannelRecord.nameCapacity) bytes "
                    + "(\"\(channel.name)\" is \(nameBytes.count) bytes)")
        }
        spec.name = name
        spec.kind = channel.kind
        guard channel.endpoints.count == 2 else {
            throw at.error(field: "endpoints", "expected two partition names, found \(channel.endpoints.count)")
        }
        for (e, endpoint) in channel.endpoints.enumerated() {
            // The first partition of that name (a duplicate name is a plan error of its own).
            guard let p = config.partitions.firstIndex(where: { $0.name == endpoint }) else {
                throw at.unknownPartition(endpoint: e, endpoint, partitions: config.partitions.map(\.name))
            }
            spec.endpoints[e] = UInt8(p)
        }
        spec.direction = channel.direction
        spec.depth = channel.depth
        spec.messageSize = channel.messageSize
        spec.size = channel.size
        guard channel.access.count == 2 else {
            throw at.error(field: "access", "expected one access per endpoint, found \(channel.access.count)")
        }
        spec.access[0] = channel.access[0]
        spec.access[1] = channel.access[1]
        spec.doorbell = channel.doorbell
        return spec
    }

    /// The image file's bytes (flattened when it is an ELF file) and the ELF entry, if any.
    static func loadImage(_ partition: PartitionConfig, ramBase: GuestPhysAddr, directory: String, board: ResolvedBoard,
                          at: ConfigLocation) throws(ToolError) -> (bytes: [UInt8], entry: UInt64?) {
        // A payload is loaded at its entry: an ELF file is flattened from there.
        let loadBase = partition.imageKind == .payload ? partition.entry ?? ramBase.raw : ramBase.raw
        let loadRoom = partition.memorySize &- min(partition.memorySize, loadBase &- min(loadBase, ramBase.raw))
        let path = partition.image.hasPrefix("/") ? partition.image : directory + "/" + partition.image
        let resolved = URL(fileURLWithPath: path).standardizedFileURL.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory) else {
            throw at.ioError(field: "image", "cannot read \"\(partition.image)\" (\(resolved)): no such file")
        }
        guard !isDirectory.boolValue else {
            throw at.ioError(field: "image", "cannot read \"\(partition.image)\" (\(resolved)): is a directory")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: resolved))
        } catch {
            throw at.ioError(field: "image", "cannot read \"\(partition.image)\" (\(resolved)): \(reason(error, path: resolved))")
        }
        let bytes = [UInt8](data)
        guard ELFImage.isELF(bytes) else { return (bytes, nil) }
        do {
            let flat = try ELFImage.flatten(bytes, ramBase: loadBase, ramSize: loadRoom,
                                            maxSize: board.data.bundleMaxSize)
            return (flat.bytes, flat.entry)
        } catch {
            throw at.error(field: "image", "\"\(partition.image)\" is not a usable ELF image: \(error.description)")
        }
    }

    /// A short reason for a file system error.
    static func reason(_ error: Error, path: String) -> String { FileReason.reason(error, path: path) }
}

extension PlanError {
    /// The same error about partitions numbered by `index` (a plan's index to another plan's):
    /// the partition validation errors of a subset of the partitions, told with the full plan's
    /// numbers. Channel and device errors are returned as they are.
    func renumbered(_ index: (Int) -> Int) -> PlanError {
        switch self {
        case .emptyName(let p): return .emptyName(partition: index(p))
        case .nameTooLong(let p): return .nameTooLong(partition: index(p))
        case .invalidNameCharacter(let p): return .invalidNameCharacter(partition: index(p))
        case .duplicateName(let p, let first): return .duplicateName(partition: index(p), first: index(first))
        case .noHarts(let p): return .noHarts(partition: index(p))
        case .tooManyHarts(let p): return .tooManyHarts(partition: index(p))
        case .hartNotOnBoard(let p, let h): return .hartNotOnBoard(partition: index(p), hart: h)
        case .hartListedTwice(let p, let h): return .hartListedTwice(partition: index(p), hart: h)
        case .hartShared(let p, let h, let owner): return .hartShared(partition: index(p), hart: h, owner: index(owner))
        case .memoryEmpty(let p): return .memoryEmpty(partition: index(p))
        case .memoryMisaligned(let p, let f): return .memoryMisaligned(partition: index(p), field: f)
        case .memoryOutOfRange(let p): return .memoryOutOfRange(partition: index(p))
        case .memoryReserved(let p, let reserved): return .memoryReserved(partition: index(p), reserved: reserved)
        case .memoryOverlap(let p, let other): return .memoryOverlap(partition: index(p), other: index(other))
        case .emptyImage(let p): return .emptyImage(partition: index(p))
        case .imageTooLarge(let p, let size, let limit): return .imageTooLarge(partition: index(p), imageSize: size, limit: limit)
        case .entryOutsideImage(let p): return .entryOutsideImage(partition: index(p))
        case .entryMisaligned(let p): return .entryMisaligned(partition: index(p))
        case .memoryTooLarge(let p): return .memoryTooLarge(partition: index(p))
        case .bootargsTooLong(let p): return .bootargsTooLong(partition: index(p))
        case .initrdTooLarge(let p, let size, let limit): return .initrdTooLarge(partition: index(p), initrdSize: size, limit: limit)
        case .linuxEntryMisaligned(let p): return .linuxEntryMisaligned(partition: index(p))
        case .payloadEntryMisaligned(let p): return .payloadEntryMisaligned(partition: index(p))
        default: return self
        }
    }
}
