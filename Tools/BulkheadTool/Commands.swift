// The `bulkhead` subcommands' logic (keygen, pack, check, inspect, verify); Tools/bulkhead/main.swift only parses arguments.
import BulkheadCore
import Foundation

public enum Commands {
    /// `bulkhead check CONFIG`: parse, load the images, validate. Returns a one-line summary.
    public static func check(configPath: String, board options: BoardOptions) throws(ToolError) -> String {
        let (loaded, board) = try PlanBuilder.load(configPath: configPath, options: options)
        let n = loaded.plan.count
        return "\(configPath): OK: \(n) partition\(n == 1 ? "" : "s")\(channelsPhrase(loaded.plan)) valid for \(board.summary)"
    }

    /// `bulkhead check CONFIG --json`: what `check` found, with the plan's warnings.
    public static func checkResult(configPath: String, board options: BoardOptions) throws(ToolError)
        -> (result: CheckResult, warnings: [String], problem: ToolError?) {
        let (loaded, board) = try PlanBuilder.load(configPath: configPath, options: options)
        let plan = loaded.plan
        let result = CheckResult(file: configPath, board: board.summary,
                                 partitions: (0..<plan.count).map { partitionName(plan, $0) },
                                 channels: (0..<plan.channelCount).map { c in
                                     plan.channel(c).name.withBytes { String(decoding: $0, as: UTF8.self) } })
        return (result, loaded.warnings, nil)
    }

    /// `bulkhead keygen -o BASE`: writes BASE.key (0600) and BASE.pub. Returns what was written.
    public static func keygen(output: String, format: SigningKeys.FileFormat = .text) throws(ToolError) -> String {
        let generated = try SigningKeys.generate(base: output, format: format)
        return "\(generated.privatePath): private key (keep it secret; mode 0600)\n"
            + "\(generated.publicPath): public key\n"
            + "key id: \(generated.keyID.hex)"
    }

    /// `bulkhead pack CONFIG -o OUTPUT --key KEY --version N`: check, encode, sign, re-read and
    /// re-verify, write. Returns a one-line summary.
    public static func pack(configPath: String, output: String, keyPath: String, securityVersion: UInt64,
                            board options: BoardOptions) throws(ToolError) -> String {
        let key = try SigningKeys.loadPrivate(keyPath)
        let (loaded, board) = try PlanBuilder.load(configPath: configPath, options: options)
        let bundle = try BundleSigning.encode(plan: loaded.plan, images: loaded.images, initrds: loaded.initrds,
                                              securityVersion: securityVersion, key: key)
        guard UInt64(bundle.count) <= board.data.bundleMaxSize else {
            throw ToolError("\(configPath): the bundle would be \(bundle.count) bytes; \(board.data.nameString)'s staging "
                            + "area at \(hex(board.memoryMap.staging.base.raw)) holds \(Size.describe(board.data.bundleMaxSize))")
        }
        // The kernel's reader must accept what we write, and the signature and digests must
        // check out: verify before anything reaches a board.
        let problem = bundle.withUnsafeBytes { (bytes) -> ToolError? in
            do throws(BundleError) {
                let reader = try BundleReader(bytes: bytes)
                if let failure = BundleSigning.check(reader, key: key.publicKey) {
                    let text = BundleSigning.message(failure, bundle: reader, file: "the packed bundle", keyFile: keyPath)
                    return ToolError("internal error: \(text)", signatureProblem: failure)
                }
                return nil
            } catch {
                return ToolError.bundle(error, file: "internal error: the packed bundle")
            }
        }
        if let problem { throw problem }
        try SafeFile.refuseOverwrite(output: output, option: "-o",
                                     inputs: packInputs(configPath: configPath, keyPath: keyPath, dtb: options.dtb,
                                                        config: loaded.config))
        try SafeFile.write(bundle, to: output, newMode: 0o644, what: "the bundle")
        let n = loaded.plan.count
        return "\(output): \(n) partition\(n == 1 ? "" : "s")\(channelsPhrase(loaded.plan)), \(bundle.count) bytes (bundle format "
            + "\(BundleFormat.version), security version \(securityVersion), signed by key id "
            + "\(SigningKeys.keyID(of: key.publicKey).hex)) for \(board.summary)"
    }

    /// Every file `pack` reads: the configuration, the key, the device tree and each partition's
    /// image and initrd (relative to the configuration's directory).
    static func packInputs(configPath: String, keyPath: String, dtb: String?, config: Config) -> [SafeFile.Input] {
        var inputs = [SafeFile.Input("the configuration", configPath), SafeFile.Input("the private key (--key)", keyPath)]
        if let dtb { inputs.append(SafeFile.Input("the device tree (--dtb)", dtb)) }
        let directory = URL(fileURLWithPath: configPath).deletingLastPathComponent().path
        func resolved(_ path: String) -> String { path.hasPrefix("/") ? path : directory + "/" + path }
        for (i, partition) in config.partitions.enumerated() {
            inputs.append(SafeFile.Input("partition #\(i) \"\(partition.name)\"'s image", resolved(partition.image)))
            if let initrd = partition.initrd {
                inputs.append(SafeFile.Input("partition #\(i) \"\(partition.name)\"'s initrd", resolved(initrd)))
            }
        }
        return inputs
    }

    /// `bulkhead verify BUNDLE --public-key KEY`: structure, key id, signature, image digests.
    /// Returns a one-line summary; throws the first failure.
    public static func verify(bundlePath: String, publicKeyPath: String) throws(ToolError) -> String {
        let verified = try verifyResult(bundlePath: bundlePath, publicKeyPath: publicKeyPath)
        let n = verified.images
        return "\(bundlePath): OK: the signature by key id \(verified.keyID) verifies with "
            + "\(publicKeyPath), and \(n == 1 ? "the image matches its" : "all \(n) images match their") "
            + "SHA-512 digest\(n == 1 ? "" : "s") (security version \(verified.securityVersion))"
    }

    /// `verify`'s checks, and what it found (for `verify --json`).
    public static func verifyResult(bundlePath: String, publicKeyPath: String) throws(ToolError) -> VerifyResult {
        let bytes = try readBundle(bundlePath)
        let key = try SigningKeys.loadPublic(publicKeyPath)
        let result = bytes.withUnsafeBytes { (raw) -> Result<VerifyResult, ToolError> in
            do throws(BundleError) {
                let reader = try BundleReader(bytes: raw)
                if let failure = BundleSigning.check(reader, key: key) {
                    return .failure(ToolError(BundleSigning.message(failure, bundle: reader, file: bundlePath,
                                                                    keyFile: publicKeyPath),
                                              signatureProblem: failure))
                }
                return .success(VerifyResult(file: bundlePath, publicKey: publicKeyPath, keyID: reader.keyID.hex,
                                             securityVersion: reader.securityVersion, images: reader.plan.count))
            } catch {
                return .failure(ToolError.bundle(error, file: bundlePath))
            }
        }
        return try result.get()
    }

    /// `, 2 channels` (nothing for a plan without channels, so those summaries read as before).
    static func channelsPhrase(_ plan: PartitionPlan) -> String {
        let c = plan.channelCount
        return c == 0 ? "" : ", \(c) channel\(c == 1 ? "" : "s")"
    }

    /// The bytes of the bundle (or `what`) file at `path`.
    static func readBundle(_ path: String, what: String = "the bundle") throws(ToolError) -> [UInt8] {
        do {
            return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw ToolError.cannotRead(path, what, error)
        }
    }

    /// What `bulkhead inspect` found: the listing, and the validation failure if the plan does
    /// not fit the board (a malformed bundle throws instead).
    public struct Inspection {
        public var report: String
        public var problem: ToolError?
        /// The same, for `inspect --json`.
        public var result: InspectResult
    }

    /// `bulkhead inspect BUNDLE`: parse with Core's BundleReader, list, validate against the board.
    public static func inspect(bundlePath: String, board options: BoardOptions) throws(ToolError) -> Inspection {
        let board = try options.resolve()
        return try inspect(bytes: try readBundle(bundlePath), file: bundlePath, board: board)
    }

    /// `inspect` over bytes already in memory.
    public static func inspect(bytes: [UInt8], file: String, board: ResolvedBoard) throws(ToolError) -> Inspection {
        let result = bytes.withUnsafeBytes { (raw) -> Result<Inspection, BundleError> in
            do throws(BundleError) {
                let reader = try BundleReader(bytes: raw)
                var report = describe(reader, file: file)
                var problem: ToolError?
                do throws(PlanError) {
                    try reader.plan.validate(for: board.limits)
                    report += "plan: valid for \(board.summary)\n"
                } catch {
                    problem = ToolError.plan(error, file: file, plan: reader.plan)
                    report += "plan: NOT valid for \(board.summary)\n"
                }
                return .success(Inspection(report: report, problem: problem,
                                           result: inspectResult(reader, file: file, board: board.summary, valid: problem == nil)))
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let inspection): return inspection
        case .failure(let error): throw ToolError.bundle(error, file: file)
        }
    }

    /// Every partition and channel in `reader`, as `inspect --json` shows them.
    static func inspectResult(_ reader: BundleReader, file: String, board: String, valid: Bool) -> InspectResult {
        let plan = reader.plan
        let partitions = (0..<plan.count).map { p -> InspectResult.Partition in
            let spec = plan[p]
            let initrd = reader.initrdRange(p)
            return InspectResult.Partition(
                index: p, name: partitionName(plan, p), harts: (0..<spec.harts.count).map { spec.harts[$0] },
                memoryBase: spec.memory.base.raw, memorySize: spec.memory.size, entry: spec.entry.raw,
                kind: spec.imageKind == .linux ? "linux" : spec.imageKind == .payload ? "payload" : "bulkhead",
                imageSize: reader.imageRange(p).count, imageLoadAddress: spec.ramBase.raw &+ spec.imageLoadOffset,
                imageDigest: hexString(reader.imageDigest(p)), initrdSize: initrd.count,
                initrdDigest: initrd.count > 0 ? hexString(reader.initrdDigest(p)) : nil,
                onFault: spec.onFault == .restart ? "restart" : "stop",
                bootargs: spec.bootargs.withBytes { String(decoding: $0, as: UTF8.self) },
                keys: spec.keyPolicy.raw == 0 ? [] : KeyServices.describe(spec.keyPolicy).components(separatedBy: ", "),
                uart: spec.hasVirtualUART, dmaTrusted: spec.flags.dmaTrusted,
                devices: (0..<plan.devices.count).filter { Int(plan.devices[$0].owner) == p }.map { d in
                    plan.devices[d].path.withBytes { String(decoding: $0, as: UTF8.self) } })
        }
        let channels = (0..<plan.channelCount).map { c -> InspectResult.Channel in
            let channel = plan.channel(c)
            let shared = channel.kind == .sharedMemory
            return InspectResult.Channel(
                index: c, name: channel.name.withBytes { String(decoding: $0, as: UTF8.self) },
                kind: shared ? "shared" : "queue", endpoints: [Int(channel.endpoints[0]), Int(channel.endpoints[1])],
                direction: channel.direction == .forward ? "forward" : "both", depth: channel.depth,
                messageSize: channel.messageSize, size: channel.size,
                access: shared ? [0, 1].map { channel.access[$0] == .readWrite ? "rw" : "ro" } : [],
                doorbell: channel.doorbell)
        }
        return InspectResult(file: file, formatVersion: Int(BundleFormat.version), length: reader.totalLength,
                             securityVersion: reader.securityVersion, keyID: reader.keyID.hex,
                             signature: hexString(reader.signature),
                             requireRollbackFloor: reader.plan.flags.requireRollbackFloor, partitions: partitions, channels: channels,
                             board: board, planValid: valid)
    }

    /// A human listing of every partition and channel in `reader`.
    public static func describe(_ reader: BundleReader, file: String) -> String {
        let plan = reader.plan
        var out = "\(file): Bulkhead bundle, format version \(BundleFormat.version), "
            + "\(plan.count) partition\(plan.count == 1 ? "" : "s"), "
            + "\(plan.channelCount) channel\(plan.channelCount == 1 ? "" : "s"), \(reader.totalLength) bytes\n"
        out += "security version: \(reader.securityVersion)\n"
        out += "signing key id:   \(reader.keyID.hex)\n"
        if plan.flags.requireRollbackFloor {
            out += "rollback floor:   required: boots only where the anti-rollback floor is kept in persistent storage\n"
        }
        out += "manifest:         \(reader.manifestRange.count) bytes at 0x0 (signed)\n"
        out += "signature:        \(hexString(reader.signature))\n"
        out += "                  (Ed25519; not checked here: use `bulkhead verify --public-key`)\n"
        for p in 0..<plan.count {
            let spec = plan[p]
            let name = partitionName(plan, p)
            let harts = (0..<spec.harts.count).map { String(spec.harts[$0]) }.joined(separator: ", ")
            let range = reader.imageRange(p)
            let end = spec.memory.base.raw &+ spec.memory.size
            out += "partition #\(p) \"\(name)\"\n"
            out += "  harts:     \(harts.isEmpty ? "(none)" : harts)   (vCPU i runs on the i-th hart)\n"
            out += "  memory:    \(hex(spec.memory.base.raw)) + \(Size.describe(spec.memory.size))"
                + "   [\(hex(spec.memory.base.raw)), \(hex(end)))\n"
            out += "  entry:     \(hex(spec.entry.raw)) (guest-physical)\n"
            out += "  image:     \(range.count) bytes at bundle offset \(hex(UInt64(range.offset)))"
                + ", loaded at \(hex(spec.ramBase.raw &+ spec.imageLoadOffset))"
                + (spec.imageKind == .linux ? " (a Linux Image)" : spec.imageKind == .payload ? " (a payload, at its entry)" : "") + "\n"
            out += "  digest:    \(hexString(reader.imageDigest(p)))\n"
            let initrd = reader.initrdRange(p)
            if initrd.count > 0 {
                out += "  initrd:    \(initrd.count) bytes at bundle offset \(hex(UInt64(initrd.offset)))"
                    + ", loaded at \(hex(spec.initrdAddress.raw))\n"
                out += "  digest:    \(hexString(reader.initrdDigest(p)))   (initrd)\n"
            }
            out += "  on fault:  \(spec.onFault == .restart ? "restart" : "stop")\n"
            let bootargs = spec.bootargs.withBytes { String(decoding: $0, as: UTF8.self) }
            out += "  bootargs:  \(bootargs.isEmpty ? "(none)" : "\"\(bootargs)\"")\n"
            out += "  keys:      \(spec.keyPolicy.raw == 0 ? "none (the partition may call no key service)" : KeyServices.describe(spec.keyPolicy))\n"
            out += "  console:   " + (spec.hasVirtualUART ? "virtual 16550 UART at \(hex(VirtualUART.base.raw)) and SBI" : "SBI") + "\n"
            out += "  dma:       " + (spec.flags.dmaTrusted
                ? "trusted: guest-physical RAM = host-physical; its DMA-capable devices can reach ALL memory (no IOMMU)\n"
                : "none (RAM at guest-physical \(hex(guestRAMBase.raw)))\n")
            for d in 0..<plan.devices.count where Int(plan.devices[d].owner) == p {
                out += "  device:    " + describeDevice(plan.devices[d]) + "\n"
            }
        }
        for d in 0..<plan.devices.count where Int(plan.devices[d].owner) >= plan.count {
            out += "device #\(d) belongs to partition #\(plan.devices[d].owner), which the bundle does not have\n"
        }
        let layout = ChannelLayout(plan: plan)
        for c in 0..<plan.channelCount {
            out += describeChannel(plan, c, layout: layout)
        }
        return out
    }

    /// `/soc/rtc@101000 (google,goldfish-rtc) 0x101000 + 4 KiB, interrupts 11`.
    static func describeDevice(_ device: DeviceSpec) -> String {
        let path = device.path.withBytes { String(decoding: $0, as: UTF8.self) }
        let compatible = device.compatible.withBytes { String(decoding: $0, as: UTF8.self) }
        let interrupts = (0..<device.interruptCount).map { String(device.interrupts[$0]) }.joined(separator: ", ")
        return "\(path) (\(compatible.isEmpty ? "no compatible" : compatible)) \(hex(device.region.base.raw)) + "
            + "\(Size.describe(device.region.size))"
            + (interrupts.isEmpty ? ", no interrupts" : ", PLIC interrupt\(device.interruptCount == 1 ? "" : "s") \(interrupts)")
            + (device.dmaCapable ? ", DMA-capable" : "")
    }

    /// `channel #c "name"` and its kind, endpoints (by partition name), sizes, access and doorbell.
    static func describeChannel(_ plan: PartitionPlan, _ c: Int, layout: ChannelLayout) -> String {
        let channel = plan.channel(c)
        let name = channel.name.withBytes { String(decoding: $0, as: UTF8.self) }
        func endpoint(_ e: Int) -> String {
            let p = Int(channel.endpoints[e])
            return p < plan.count ? "partition #\(p) \"\(partitionName(plan, p))\"" : "partition #\(p) (not in the plan)"
        }
        let forward = channel.direction == .forward
        var out = "channel #\(c) \"\(name)\"\n"
        switch channel.kind {
        case .queue:
            out += "  kind:      queue, " + (forward ? "forward (endpoint 0 sends, endpoint 1 receives)" : "both directions") + "\n"
            out += "  endpoints: 0 = \(endpoint(0)), 1 = \(endpoint(1))\n"
            out += "  queue:     depth \(channel.depth) x \(channel.messageSize)-byte messages"
                + (forward ? "" : " per direction") + " (\(channel.queueStorage) bytes of hypervisor memory)\n"
        case .sharedMemory:
            out += "  kind:      shared memory, " + (forward ? "forward (only endpoint 0 writes)" : "both directions") + "\n"
            out += "  endpoints: 0 = \(endpoint(0)), 1 = \(endpoint(1))\n"
            func access(_ e: Int) -> String {
                let written = channel.access[e] == .readWrite ? "rw" : "ro"
                let effective = channel.effectiveAccess(e) == .readWrite ? "rw" : "ro"
                return written == effective ? written : "\(written) (mapped \(effective): the channel is forward)"
            }
            out += "  memory:    \(Size.describe(channel.size)) at guest-physical \(hex(layout.sharedWindow(c).raw)) "
                + "in both partitions\n"
            out += "  access:    endpoint 0 \(access(0)), endpoint 1 \(access(1))\n"
        }
        out += "  doorbell:  \(channel.doorbell ? "yes (notify interrupts the peer)" : "no")\n"
        return out
    }
}
