// `bulkhead flash`, `bulkhead provision` and `bulkhead flash-info`: build and examine a board's
// bundle flash image (slots A and B, the two state copies, the device secret; docs/flash-layout.md).
// The state record is written by Core's StateRegion over a FlashImage and the device-secret record
// is Core's DeviceSecretRecord, so both are byte for byte what the kernel reads.
import BulkheadCore
import Foundation

/// `32 MiB in 256 KiB erase blocks: the entry stub at 0x0 (256 KiB), slot A at 0x40000 (12 MiB), ...`:
/// the layout in one sentence, for help texts.
public func flashLayoutDescription(_ layout: FlashLayout) -> String {
    func area(_ name: String, _ r: FlashRange) -> String { "\(name) at \(hex(UInt64(r.offset))) (\(Size.describe(UInt64(r.size))))" }
    var areas: [String] = []
    if layout.entryStub.size > 0 {
        areas.append(area("an entry stub", layout.entryStub) + ", a jump to the hypervisor at \(hex(layout.entryTarget.raw))")
    }
    areas += [area("slot A", layout.slotA), area("slot B", layout.slotB)]
    if layout.updateArea.isPresent {
        areas += [area("update record copy A", layout.updateRecordA), area("update record copy B", layout.updateRecordB),
                  area("\(layout.updateArea.slotCount) partition-update image slots", layout.updateImages)]
    }
    if layout.keystoreA.size > 0 { areas += [area("keystore copy A", layout.keystoreA), area("keystore copy B", layout.keystoreB)] }
    if layout.deviceSecret.size > 0 { areas.append(area("the device secret", layout.deviceSecret)) }
    areas += [area("state copy A", layout.stateA), area("state copy B", layout.stateB)]
    return "\(Size.describe(UInt64(layout.deviceSize))) in \(Size.describe(UInt64(layout.eraseBlockSize))) erase blocks: "
        + areas.joined(separator: ", ") + "; the rest is reserved and stays erased"
}

/// What `bulkhead flash` is asked to do. The actions run in the order of the fields.
public struct FlashRequest: Equatable, Sendable {
    /// Writing one bundle into one slot.
    public struct SlotWrite: Equatable, Sendable {
        public var slot: BootSlot
        public var bundlePath: String
        /// Skip the strict parse of the bundle (the size is still checked): for tests that need
        /// malformed or truncated bundles in flash.
        public var unchecked: Bool

        public init(slot: BootSlot, bundlePath: String, unchecked: Bool = false) {
            self.slot = slot; self.bundlePath = bundlePath; self.unchecked = unchecked
        }
    }

    /// What to do with the preferred slot.
    public enum Preference: Equatable, Sendable {
        /// Leave it alone.
        case keep
        /// Set it (`nil`: no preference, the kernel tries slot A first).
        case set(BootSlot?)
    }

    /// Erase both state copies (the factory state: minimum security version 0).
    public var resetState: Bool
    public var write: SlotWrite?
    /// Slots to erase (after the write).
    public var eraseSlots: [BootSlot]
    /// Applied last, with `StateRegion.setPreferredSlot`.
    public var prefer: Preference

    public init(resetState: Bool = false, write: SlotWrite? = nil, eraseSlots: [BootSlot] = [], prefer: Preference = .keep) {
        self.resetState = resetState; self.write = write; self.eraseSlots = eraseSlots; self.prefer = prefer
    }

    /// The request the command line spells: `--slot a|b BUNDLE [--unchecked]`, `--erase-slot a|b`
    /// (repeatable), `--prefer a|b|none`, `--reset-state`.
    public init(resetState: Bool, slot: String?, bundle: String?, unchecked: Bool, eraseSlots: [String],
                prefer: String?) throws(ToolError) {
        var write: SlotWrite?
        switch (slot, bundle) {
        case (let slot?, let bundle?):
            write = SlotWrite(slot: try FlashRequest.slot(slot, option: "--slot"), bundlePath: bundle, unchecked: unchecked)
        case (let slot?, nil):
            throw ToolError("--slot \(slot): name the bundle to write after the image: bulkhead flash IMAGE --slot \(slot) BUNDLE")
        case (nil, let bundle?):
            throw ToolError("\(bundle): say which slot the bundle goes in: bulkhead flash IMAGE --slot a|b \(bundle)")
        case (nil, nil):
            if unchecked { throw ToolError("--unchecked only applies to writing a bundle (--slot a|b BUNDLE)") }
        }
        var erase: [BootSlot] = []
        for text in eraseSlots {
            let s = try FlashRequest.slot(text, option: "--erase-slot")
            if !erase.contains(s) { erase.append(s) }
        }
        var preference = Preference.keep
        if let prefer {
            switch prefer.lowercased() {
            case "none": preference = .set(nil)
            case "a": preference = .set(.a)
            case "b": preference = .set(.b)
            default: throw ToolError("--prefer: \"\(prefer)\" is not a slot: use a, b or none")
            }
        }
        self.init(resetState: resetState, write: write, eraseSlots: erase, prefer: preference)
    }

    /// `a` or `b` (either case) as a slot.
    static func slot(_ text: String, option: String) throws(ToolError) -> BootSlot {
        switch text.lowercased() {
        case "a": return .a
        case "b": return .b
        default: throw ToolError("\(option): \"\(text)\" is not a slot: use a or b")
        }
    }

    /// Whether the request does anything at all.
    public var isEmpty: Bool { !resetState && write == nil && eraseSlots.isEmpty && prefer == .keep }
}

/// `A` or `B`.
func slotName(_ slot: BootSlot) -> String { slot == .a ? "A" : "B" }

extension Commands {
    /// `bulkhead flash IMAGE ...`: loads IMAGE (or, with `create`, starts from a blank one if the
    /// file does not exist; without it a missing IMAGE is an error, so a mistyped path never
    /// becomes a new image), applies the request's actions in order (reset the state, write a slot, erase
    /// slots, set the preferred slot), then writes the file once. On any error nothing is
    /// written. The image is written as `SafeFile.write` does (through a symlink, keeping its
    /// mode; a new image is 0600: it holds the device secret). Returns one line per action.
    public static func flash(imagePath: String, request: FlashRequest, create: Bool = false,
                             board boardName: String = "qemu-virt") throws(ToolError) -> String {
        let layout = try BoardOptions(board: boardName).resolve().flashLayout()
        guard !request.isEmpty else {
            throw ToolError("\(imagePath): nothing to do: pass --slot a|b BUNDLE, --erase-slot a|b, --prefer a|b|none "
                            + "or --reset-state (with --create, a missing image is created blank: --create --reset-state "
                            + "alone does just that)")
        }
        if let write = request.write, request.eraseSlots.contains(write.slot) {
            throw ToolError("--slot \(slotName(write.slot).lowercased()) and --erase-slot \(slotName(write.slot).lowercased()) "
                            + "contradict each other: the erase would remove the bundle just written")
        }
        if let write = request.write {
            try SafeFile.refuseOverwrite(output: imagePath, option: "flash", inputs: [SafeFile.Input("the bundle --slot writes", write.bundlePath)])
        }
        var lines: [String] = []
        var image = try openOrCreate(imagePath, layout: layout, create: create, lines: &lines)

        if request.resetState {
            try erase(layout.stateA, in: &image, file: imagePath, what: "state copy A")
            try erase(layout.stateB, in: &image, file: imagePath, what: "state copy B")
            lines.append("\(imagePath): state region: both copies erased (factory state: minimum security version 0)")
        }
        if let write = request.write {
            lines.append(try writeBundle(write, layout: layout, into: &image, file: imagePath))
            // A new bundle gets a fresh start: failures counted against the old one must not
            // send the new one to the back of the boot order (VerifiedBoot.slotOrder).
            if let written = try updateState(of: &image, layout: layout, file: imagePath, { $0.setBootAttempts(write.slot, 0) }) {
                lines.append("\(imagePath): slot \(slotName(write.slot)): boot attempts reset (\(written))")
            }
        }
        for slot in request.eraseSlots {
            try erase(layout.range(slot), in: &image, file: imagePath, what: "slot \(slotName(slot))")
            lines.append("\(imagePath): slot \(slotName(slot)): erased")
        }
        if case .set(let slot) = request.prefer {
            let choice = slot.map(slotName) ?? "none"
            let written = try updateState(of: &image, layout: layout, file: imagePath) { $0.preferredSlot = slot }
            lines.append("\(imagePath): preferred slot: \(choice) (\(written ?? "already so; nothing written"))")
        }
        try image.save(path: imagePath)
        return lines.joined(separator: "\n")
    }

    /// The image at `path`, its entry stub repaired if the layout has one and it is wrong; or,
    /// when there is no such file and `create` is set, a blank image with the entry stub (without
    /// `create`, a missing file is an error). Appends a line for what it did.
    static func openOrCreate(_ path: String, layout: FlashLayout, create: Bool, lines: inout [String]) throws(ToolError) -> FlashImage {
        var image: FlashImage
        let dangling = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) != nil
        if FileManager.default.fileExists(atPath: path) {
            image = try FlashImage.load(path: path, layout: layout)
            if let stub = entryStub(layout), entryStubStatus(image, layout: layout) != .expected {
                try writeEntryStub(stub, layout: layout, into: &image, file: path)
                lines.append("\(path): entry stub: rewritten (it did not hold the jump to \(hex(layout.entryTarget.raw)))")
            }
        } else if !create {
            throw ToolError("\(path): no such flash image\(dangling ? " (a symbolic link to a file that does not exist)" : ""); "
                            + "pass --create to create a new blank one")
        } else {
            image = FlashImage.blank(layout: layout)
            var line = "\(path): new image, \(Size.describe(UInt64(layout.deviceSize))) erased (0xFF)"
            if let stub = entryStub(layout) {
                try writeEntryStub(stub, layout: layout, into: &image, file: path)
                line += " with the entry stub (jump to \(hex(layout.entryTarget.raw)))"
            }
            lines.append(line + ": both slots empty, state region in the factory state")
        }
        return image
    }

    /// `bulkhead provision IMAGE [--secret-file FILE] [--force]`: writes a device-secret record
    /// (Core's `DeviceSecretRecord`) holding `secret`, or 32 bytes from the system CSPRNG when
    /// `secret` is nil, into the layout's device-secret block. The image is opened or created as
    /// `flash` does. A valid secret already there is replaced only with `force`. Nothing else in
    /// the image changes (the entry stub aside, repaired as by `flash`). Returns one line per
    /// action; the secret itself is never shown, only its fingerprint.
    public static func provision(imagePath: String, secret given: [UInt8]?, force: Bool,
                                 board boardName: String = "qemu-virt") throws(ToolError) -> String {
        let board = try BoardOptions(board: boardName).resolve()
        let layout = try board.flashLayout()
        guard layout.deviceSecret.size > 0 else {
            throw ToolError("\(imagePath): \(board.data.nameString)'s flash has no device-secret block (the board keeps "
                            + "its secret elsewhere)")
        }
        let secret = given ?? DeviceSecretFile.random()
        guard secret.count == 32 else {
            throw ToolError("\(imagePath): a device secret is 32 bytes, not \(secret.count)")
        }
        var lines: [String] = []
        var image = try openOrCreate(imagePath, layout: layout, create: true, lines: &lines)
        let (status, old) = deviceSecret(in: image, layout: layout)
        switch status {
        case .valid:
            guard force else {
                throw ToolError("\(imagePath): a device secret is already provisioned; --force replaces it, and every "
                                + "key derived from it changes")
            }
            if old == secret {
                lines.append("\(imagePath): the device secret is rewritten with the same secret (no key changes)")
            } else {
                lines.append("\(imagePath): replacing the device secret with fingerprint \(DeviceSecretFile.fingerprint(old)) "
                             + "(every key derived from it changes)")
            }
        case .erased:
            break
        default:
            lines.append("\(imagePath): the device-secret block held \(describe(status)): overwritten")
        }
        try erase(layout.deviceSecret, in: &image, file: imagePath, what: "the device secret")
        var fixed = SecretBytes(repeating: 0)
        for i in 0..<32 { fixed[i] = secret[i] }
        let record = DeviceSecretRecord.encode(fixed)
        let programmed = withUnsafeBytes(of: record) { image.program(offset: layout.deviceSecret.offset, bytes: $0) }
        guard programmed else { throw ToolError("\(imagePath): the device secret: cannot program the record") }
        // Read back through Core's decoder: what the hypervisor will find.
        let (check, stored) = deviceSecret(in: image, layout: layout)
        guard check == .valid, stored == secret else {
            throw ToolError("internal error: \(imagePath): the device-secret record does not read back: \(describe(check))")
        }
        try image.save(path: imagePath)
        lines.append("\(imagePath): device secret provisioned (fingerprint \(DeviceSecretFile.fingerprint(secret)))")
        return lines.joined(separator: "\n")
    }

    /// The status of the device-secret record in `image`, and its secret when valid (else empty).
    static func deviceSecret(in image: FlashImage, layout: FlashLayout) -> (DeviceSecretRecord.Status, [UInt8]) {
        var record = InlineArray<64, UInt8>(repeating: 0xFF)
        let bytes = Array(image.bytes(in: layout.deviceSecret).prefix(DeviceSecretRecord.size))
        for i in 0..<min(bytes.count, DeviceSecretRecord.size) { record[i] = bytes[i] }
        let (status, secret) = DeviceSecretRecord.decode(record)
        guard status == .valid else { return (status, []) }
        return (status, (0..<32).map { secret[$0] })
    }

    /// Core's one-line text for a device-secret status.
    static func describe(_ status: DeviceSecretRecord.Status) -> String {
        var sink = StringSink()
        DeviceSecretRecord.write(status, to: &sink)
        return sink.text
    }

    /// Applies `change` to the state through Core's StateRegion (so the record is exactly what
    /// the kernel writes). Returns `wrote state copy X, sequence N`, or nil when nothing changed.
    private static func updateState(of image: inout FlashImage, layout: FlashLayout, file: String,
                                    _ change: (inout BootState) -> Void) throws(ToolError) -> String? {
        let region = layout.stateRegion
        do throws(StateRegionError) {
            let before = try region.read(from: image)
            let after = try region.update(in: &image, change)
            guard after != before else { return nil }
            return "wrote state copy \(after.newestCopy == .b ? "B" : "A"), sequence \(after.record?.sequence ?? 0)"
        } catch {
            var sink = StringSink()
            error.write(to: &sink)
            throw ToolError("\(file): \(sink.text)")
        }
    }

    /// The entry stub's bytes (the two instructions, then 0xFF to the end of its area), or nil
    /// when the layout has no stub.
    static func entryStub(_ layout: FlashLayout) -> [UInt8]? {
        guard layout.entryStub.size > 0, let (first, second) = layout.entryStubInstructions() else { return nil }
        var bytes = [UInt8](repeating: 0xFF, count: layout.entryStub.size)
        for (i, word) in [first, second].enumerated() {
            for b in 0..<4 { bytes[4 * i + b] = UInt8(truncatingIfNeeded: word >> UInt32(8 * b)) }
        }
        return bytes
    }

    /// What the entry-stub area of `image` holds.
    enum EntryStubStatus { case none, expected, erased, other }

    static func entryStubStatus(_ image: FlashImage, layout: FlashLayout) -> EntryStubStatus {
        guard let stub = entryStub(layout) else { return .none }
        let area = image.bytes(in: layout.entryStub)
        if area.elementsEqual(stub) { return .expected }
        return area.allSatisfy { $0 == 0xFF } ? .erased : .other
    }

    private static func writeEntryStub(_ stub: [UInt8], layout: FlashLayout, into image: inout FlashImage,
                                       file: String) throws(ToolError) {
        try erase(layout.entryStub, in: &image, file: file, what: "the entry stub")
        let programmed = stub.withUnsafeBytes { image.program(offset: layout.entryStub.offset, bytes: $0) }
        guard programmed else { throw ToolError("\(file): the entry stub: cannot program it") }
    }

    /// Erases every block of `range`.
    private static func erase(_ range: FlashRange, in image: inout FlashImage, file: String, what: String) throws(ToolError) {
        var offset = range.offset
        while offset < range.offset + range.size {
            guard image.erase(blockAt: offset) else {
                throw ToolError("\(file): \(what): cannot erase the block at \(hex(UInt64(offset)))")
            }
            offset += image.eraseBlockSize
        }
    }

    /// Checks the bundle (size, then the strict parse unless unchecked), erases the slot and
    /// programs the bundle from the slot's first byte. Returns the summary line.
    private static func writeBundle(_ write: FlashRequest.SlotWrite, layout: FlashLayout, into image: inout FlashImage,
                                    file: String) throws(ToolError) -> String {
        let bundle = try readBundle(write.bundlePath)
        let range = layout.range(write.slot)
        let name = slotName(write.slot)
        guard bundle.count <= range.size else {
            throw ToolError("\(write.bundlePath): the bundle is \(bundle.count) bytes; slot \(name) holds "
                            + "\(Size.describe(UInt64(range.size)))")
        }
        let parsed = bundle.withUnsafeBytes { (raw) -> Result<String, BundleError> in
            do throws(BundleError) {
                return .success(bundleSummary(try BundleReader(bytes: raw), names: false))
            } catch {
                return .failure(error)
            }
        }
        var details: String
        switch parsed {
        case .success(let summary):
            details = summary
        case .failure(let error):
            guard write.unchecked else { throw ToolError.bundle(error, file: write.bundlePath) }
            var sink = StringSink()
            error.write(to: &sink)
            details = "\(bundle.count) bytes, unchecked: not a valid bundle: \(sink.text)"
        }
        try erase(range, in: &image, file: file, what: "slot \(name)")
        let programmed = bundle.withUnsafeBytes { image.program(offset: range.offset, bytes: $0) }
        guard programmed else { throw ToolError("\(file): slot \(name): cannot program the bundle") }
        return "\(file): slot \(name): wrote \(write.bundlePath) (\(details))"
    }

    /// `123456 bytes, 3 partitions, security version 2, key id 0123456789abcdef`; with `names`,
    /// `3 partitions (hello, heartbeat, intruder), 123456 bytes, security version 2, key id ...`.
    static func bundleSummary(_ reader: BundleReader, names: Bool) -> String {
        let n = reader.plan.count
        var partitions = "\(n) partition\(n == 1 ? "" : "s")"
        if names && n > 0 {
            partitions += " (" + (0..<n).map { partitionName(reader.plan, $0) }.joined(separator: ", ") + ")"
        }
        let size = "\(reader.totalLength) bytes"
        let rest = "security version \(reader.securityVersion), key id \(reader.keyID.hex)"
        return names ? "\(partitions), \(size), \(rest)" : "\(size), \(partitions), \(rest)"
    }

    /// `bulkhead flash-info IMAGE`: what each slot and state copy holds, and the state in force.
    public static func flashInfo(imagePath: String, board boardName: String = "qemu-virt") throws(ToolError) -> String {
        text(try flashInfoResult(imagePath: imagePath, board: boardName))
    }

    /// `flash-info`'s findings (for `flash-info --json`).
    public static func flashInfoResult(imagePath: String, board boardName: String = "qemu-virt") throws(ToolError) -> FlashInfoResult {
        let board = try BoardOptions(board: boardName).resolve()
        let layout = try board.flashLayout()
        let image = try FlashImage.load(path: imagePath, layout: layout)
        return try flashInfoResult(image: image, layout: layout, file: imagePath, boardName: board.data.nameString)
    }

    /// `flash-info` over an image already in memory.
    public static func flashInfo(image: FlashImage, layout: FlashLayout, file: String, boardName: String) throws(ToolError) -> String {
        text(try flashInfoResult(image: image, layout: layout, file: file, boardName: boardName))
    }

    /// The listing of `info`: one line each for the image, the stub, the slots, the state copies,
    /// the state, the keystore copies and the device secret.
    static func text(_ info: FlashInfoResult) -> String {
        var lines = ["\(info.file): \(info.board) bundle flash, \(Size.describe(UInt64(info.size)))"]
        if let stub = info.entryStub { lines.append("entry stub: \(stub)") }
        lines += info.slots.map { "slot \($0.slot): \($0.status)" }
        lines += info.stateCopies.map { "state copy \($0.copy): \($0.status)" }
        let s = info.state
        lines.append("state: " + (s.factory ? "factory (no valid copy): " : "")
            + "minimum security version \(s.minimumSecurityVersion), boot attempts A \(s.bootAttemptsA) B \(s.bootAttemptsB), "
            + "last booted \(s.lastBootedSlot ?? "none"), preferred \(s.preferredSlot ?? "none")")
        lines += info.keystore
        if let secret = info.deviceSecret { lines.append("device secret: " + secret) }
        return lines.joined(separator: "\n")
    }

    static func flashInfoResult(image: FlashImage, layout: FlashLayout, file: String,
                                boardName: String) throws(ToolError) -> FlashInfoResult {
        let target = hex(layout.entryTarget.raw)
        var stub: String?
        switch entryStubStatus(image, layout: layout) {
        case .none: break
        case .expected: stub = "jump to \(target)"
        case .erased: stub = "erased (QEMU would start nothing here: `bulkhead flash` on the image writes it)"
        case .other: stub = "not the jump to \(target) (`bulkhead flash` on the image rewrites it)"
        }
        let slots = [BootSlot.a, .b].map { slot in
            FlashInfoResult.Slot(slot: slotName(slot), status: describeSlot(image.bytes(in: layout.range(slot))))
        }
        let reading: StateReading
        do throws(StateRegionError) {
            reading = try layout.stateRegion.read(from: image)
        } catch {
            var sink = StringSink()
            error.write(to: &sink)
            throw ToolError("\(file): \(sink.text)")
        }
        let copies = [StateCopy.a, .b].map { copy in
            var sink = StringSink()
            reading.status(copy).write(to: &sink)
            return FlashInfoResult.StateCopy(copy: copy == .a ? "A" : "B", status: sink.text)
        }
        guard isBulkheadFlash(image, layout: layout, reading: reading) else {
            throw ToolError("\(file): not a Bulkhead flash image: neither slot holds a bundle or is empty, and neither "
                            + "state copy is valid or erased (`bulkhead flash --create IMAGE` makes one)")
        }
        let s = reading.state
        let state = FlashInfoResult.State(factory: reading.isBlankOrCorrupt, minimumSecurityVersion: s.minimumSecurityVersion,
                                          bootAttemptsA: Int(s.bootAttemptsA), bootAttemptsB: Int(s.bootAttemptsB),
                                          lastBootedSlot: s.lastBootedSlot.map(slotName), preferredSlot: s.preferredSlot.map(slotName))
        var secret: String?
        if layout.deviceSecret.size > 0 {
            let (status, bytes) = deviceSecret(in: image, layout: layout)
            secret = status == .valid ? "provisioned (fingerprint \(DeviceSecretFile.fingerprint(bytes)))" : describe(status)
        }
        return FlashInfoResult(file: file, board: boardName, size: image.size, entryStub: stub, slots: slots, stateCopies: copies,
                               state: state, keystore: layout.keystoreA.size > 0 ? keystoreLines(image, layout) : [],
                               deviceSecret: secret)
    }

    /// `keystore copy A: valid, sequence 3, partitions vault, tenant` (erased, damaged) for each copy,
    /// then which is current. The entries are sealed: only the partition names are readable.
    static func keystoreLines(_ image: FlashImage, _ layout: FlashLayout) -> [String] {
        var record = [UInt8](repeating: 0, count: KeystoreRecord.maxSize)
        var lines: [String] = []
        for (name, range) in [("A", layout.keystoreA), ("B", layout.keystoreB)] {
            let status = record.withUnsafeMutableBytes { raw -> KeystoreRecord.CopyStatus in
                let single = KeystoreRegion(copyA: range, copyB: FlashRange(offset: 0, size: 0))
                return single.load(image, into: raw).statusA
            }
            switch status {
            case .erased: lines.append("keystore copy \(name): erased")
            case .damaged: lines.append("keystore copy \(name): damaged (a torn write; ignored)")
            case .valid(let sequence):
                let names = record.withUnsafeBytes { raw in
                    (0..<KeystoreRecord.entryCount(raw)).map { i in KeystoreRecord.withEntryName(raw, i) { String(decoding: $0, as: UTF8.self) } }
                }
                lines.append("keystore copy \(name): valid, sequence \(sequence), "
                             + (names.isEmpty ? "no partitions" : "partitions " + names.joined(separator: ", ")))
            }
        }
        return lines
    }

    /// `empty` (the first 64 bytes are 0xFF), `bundle, ...`, or `not a valid bundle: ...`.
    /// Whether `image` looks like a Bulkhead flash image: some slot is empty or holds a bundle the
    /// reader accepts, or some state copy is valid or erased. A file that is none of these (a
    /// disk image, a kernel, random bytes of the right size) is not one.
    static func isBulkheadFlash(_ image: FlashImage, layout: FlashLayout, reading: StateReading) -> Bool {
        for slot in [BootSlot.a, .b] {
            let bytes = image.bytes(in: layout.range(slot))
            if bytes.prefix(BundleFormat.headerSize).allSatisfy({ $0 == 0xFF }) { return true }
            let parses = bytes.withUnsafeBytes { (raw) -> Bool in
                do throws(BundleError) { _ = try BundleReader(staging: raw); return true } catch { return false }
            }
            if parses { return true }
        }
        for copy in [StateCopy.a, .b] {
            switch reading.status(copy) {
            case .valid, .erased: return true
            default: continue
            }
        }
        return false
    }

    static func describeSlot(_ bytes: ArraySlice<UInt8>) -> String {
        if bytes.prefix(BundleFormat.headerSize).allSatisfy({ $0 == 0xFF }) { return "empty" }
        return bytes.withUnsafeBytes { (raw) -> String in
            do throws(BundleError) {
                return "bundle, " + bundleSummary(try BundleReader(staging: raw), names: true)
            } catch {
                var sink = StringSink()
                error.write(to: &sink)
                return "not a valid bundle: \(sink.text)"
            }
        }
    }
}
