// HostDescription: the board facts the hypervisor needs, read from the DTB its loader passes in.
//
// RAM: the first enabled root child whose `device_type` is "memory" (or named memory[@...]) with a
// non-empty `reg`; entry 0, decoded with the root's #address-cells/#size-cells. No such node is
// `FDTError.noMemory` (some trees leave /memory to the loader), unless the caller allows it.
// Firmware-reserved memory: every entry of the header's memory reservation block, then every `reg`
// entry of each enabled /reserved-memory child (decoded with /reserved-memory's own cells); empty
// entries are skipped, more than `maxFirmwareReserved` is `FDTError.tooManyReservedRegions`.
// Initrd: /chosen `linux,initrd-start`/`linux,initrd-end` (each 4 or 8 bytes), end above start.
// Harts: every /cpus child with `device_type = "cpu"` that is enabled (see FDTReader.isEnabled);
// its `reg` is the hart id. Hart ids above 63 cannot be put in the mask and are only counted.
// The "first cpu" is the first enabled one in blob order; its ISA string, MMU type and H-extension
// support are reported. Every enabled hart's own H support goes into `hypervisorHartMask`.
// Console: /chosen `stdout-path` (or the legacy `linux,stdout-path`), with any ":options" cut
// off and an alias resolved through /aliases; when that is absent, does not resolve, or names a
// node without `reg`, the first enabled node compatible with one of the 16550-style UARTs
// (`HostConsole.compatibles16550`). Its address is translated through bus `ranges`.

/// The console UART described by the host tree.
public struct HostConsole: Equatable, Sendable {
    /// Physical base address of the register block (`reg` entry 0, translated to the CPU's view).
    public var base: HostPhysAddr
    public var size: UInt64
    /// Whether `compatible` lists one of `compatibles16550`: the hypervisor's 16550 driver can use it.
    public var is16550Compatible: Bool
    /// `reg-shift` (0 when absent): registers are `1 << regShift` bytes apart.
    public var regShift: UInt32
    /// `reg-io-width` (1 when absent): bytes per register access.
    public var regIOWidth: UInt32
    /// `clock-frequency` (0 when absent or not a u32).
    public var clockFrequency: UInt32

    /// Register-compatible 16550 UARTs (registers at `offset << regShift`, accessed `regIOWidth`
    /// bytes wide): QEMU virt's, the DesignWare APB UART of most RISC-V SoCs, and SpacemiT's
    /// XScale-style UART (K1, K3: reg-shift 2, reg-io-width 4).
    public static let compatibles16550: (StaticString, StaticString, StaticString, StaticString, StaticString) =
        ("ns16550a", "ns16550", "snps,dw-apb-uart", "spacemit,k3-uart", "spacemit,k1-uart")

    /// Bytes between consecutive registers (`1 << regShift`; 0 for a shift of 64 or more).
    public var stride: UInt64 { regShift < 64 ? UInt64(1) << UInt64(regShift) : 0 }
}

/// What the host device tree says about the machine. Fixed-size: no heap.
public struct HostDescription: Sendable {
    /// Longest `riscv,isa` kept. A longer string is cut at the last '_' that fits (`isaTruncated`).
    public static let isaCapacity = 512
    public typealias ISAText = FixedText<512>
    public typealias MMUTypeText = FixedText<16>

    /// Most firmware-reserved regions kept; a tree with more is refused, never cut short.
    public static let maxFirmwareReserved = 16

    /// The first RAM region (size 0 when the tree has none and the caller allowed that).
    public var ram = HostRegion(base: HostPhysAddr(0), size: 0)
    /// Memory the firmware keeps for itself (all of kind `.firmware`).
    public var firmwareReserved = ReservedRegions()
    /// The initial RAM disk's range from /chosen, if the loader passed one.
    public var initrd: HostRegion? = nil
    /// Bit `n` set for each enabled hart with id `n` (< 64).
    public var hartMask: UInt64 = 0
    /// The subset of `hartMask` whose own ISA description includes H.
    public var hypervisorHartMask: UInt64 = 0
    /// Enabled harts whose id is 64 or more (not in the masks).
    public var ignoredHartCount = 0
    /// Hart id of the first enabled cpu.
    public var firstHart: UInt32 = 0
    /// Whether the first enabled cpu has the H extension.
    public var hasHypervisorExtension = false
    /// The first enabled cpu's `riscv,isa` (empty when it has none).
    public var isa = ISAText()
    /// True when `isa` had to be shortened to fit `isaCapacity`.
    public var isaTruncated = false
    /// `isa` with 'h' removed from its single-letter part: what a guest (which cannot use H) is told.
    public var guestISA = ISAText()
    /// The first enabled cpu's `mmu-type` (e.g. "riscv,sv48"; empty when absent).
    public var mmuType = MMUTypeText()
    /// `/cpus/timebase-frequency` (or the first cpu's own), in Hz.
    public var timebaseFrequency: UInt32 = 0
    /// The console UART, if one was found.
    public var console: HostConsole? = nil

    public init() {}

    /// Parses a DTB held in `dtb`.
    public init(dtb: UnsafeRawBufferPointer) throws(FDTError) {
        try self.init(reader: FDTReader(dtb))
    }

    /// Parses the tree `reader` holds. With `requiringMemory` false, a tree without /memory
    /// leaves `ram` empty instead of failing (for tools that describe such trees).
    public init(reader: FDTReader, requiringMemory: Bool = true) throws(FDTError) {
        self.init()
        do throws(FDTError) {
            try readMemory(reader)
        } catch {
            if error != .noMemory || requiringMemory { throw error }
        }
        initrd = try Self.readInitrd(reader)
        try readReservedMemory(reader)
        try readCPUs(reader)
        console = try Self.findConsole(reader)
    }

    /// The board limits for plan validation: this RAM and these harts, minus the firmware's
    /// reserved memory and the hypervisor's (`memoryMap.reservation`), channels from its pool.
    public func boardLimits(memoryMap: MemoryMap) -> BoardLimits {
        BoardLimits(ram: ram, hartMask: hartMask, reserved: memoryMap.reserved(firmware: firmwareReserved),
                    sharedPool: memoryMap.sharedPool)
    }

    /// One-line summary for the boot log, e.g.
    /// `RAM 0x80000000 + 1 GiB, harts 0xf (H 0xf), timebase 10000000 Hz, console 16550 @ 0x10000000`.
    public func write<S: TextSink>(to out: inout S) {
        out.write("RAM "); out.write(hex: ram.base.raw); out.write(" + "); out.write(size: ram.size)
        out.write(", harts "); out.write(hex: hartMask)
        out.write(" (H "); out.write(hex: hypervisorHartMask); out.write(")")
        out.write(", timebase "); out.write(decimal: UInt64(timebaseFrequency)); out.write(" Hz, console ")
        if let console {
            out.write(console.is16550Compatible ? "16550 @ " : "uart @ ")
            out.write(hex: console.base.raw)
            if console.regShift != 0 || console.regIOWidth != 1 {
                out.write(" (stride "); out.write(decimal: console.stride)
                out.write(", "); out.write(decimal: UInt64(console.regIOWidth)); out.write("-byte access)")
            }
        } else {
            out.write("none")
        }
    }

    // MARK: Memory

    private mutating func readMemory(_ reader: FDTReader) throws(FDTError) {
        var children = reader.children(of: reader.root)
        while let node = try children.next() {
            let typed = try reader.findProperty("device_type", in: node)?.equals(string: "memory") ?? false
            guard typed || FDTBytes.equal(node.baseName, "memory"), try reader.isEnabled(node),
                  try reader.regCount(of: node) > 0 else { continue }
            let region = try reader.reg(of: node, index: 0)
            guard region.size > 0 else { continue }
            ram = HostRegion(base: HostPhysAddr(region.address), size: region.size)
            return
        }
        throw .noMemory
    }

    // MARK: Reserved memory and the initrd

    private mutating func readReservedMemory(_ reader: FDTReader) throws(FDTError) {
        var i = 0
        while let entry = reader.reservation(at: i) {
            try addFirmwareReserved(entry)
            i &+= 1
        }
        guard let parent = try reader.findNode("/reserved-memory") else { return }
        var children = reader.children(of: parent)
        while let child = try children.next() {
            guard try reader.isEnabled(child) else { continue }
            let count = try reader.regCount(of: child)
            var r = 0
            while r < count {
                try addFirmwareReserved(try reader.reg(of: child, index: r))
                r &+= 1
            }
        }
    }

    /// Adds one firmware region (empty ones are skipped; one running past the top of the
    /// address space is cut at the top, so it still overlaps everything it covers). The
    /// loader's reservation of the initrd itself (U-Boot's booti adds one exactly covering
    /// /chosen's range) is left out: the hypervisor moves the bundle into its staging area, so
    /// that memory is free once boot has read it.
    private mutating func addFirmwareReserved(_ entry: FDTRegion) throws(FDTError) {
        guard entry.size > 0 else { return }
        if let initrd, initrd.base.raw == entry.address && initrd.size == entry.size { return }
        let size = min(entry.size, UInt64.max &- entry.address)
        guard firmwareReserved.count < Self.maxFirmwareReserved,
              firmwareReserved.append(ReservedRegion(HostRegion(base: HostPhysAddr(entry.address), size: size),
                                                     kind: .firmware)) else { throw .tooManyReservedRegions }
    }

    /// `[linux,initrd-start, linux,initrd-end)` from /chosen; `nil` when neither is present.
    static func readInitrd(_ reader: FDTReader) throws(FDTError) -> HostRegion? {
        guard let chosen = try reader.findNode("/chosen") else { return nil }
        let start = try reader.findProperty("linux,initrd-start", in: chosen)
        let end = try reader.findProperty("linux,initrd-end", in: chosen)
        if start == nil && end == nil { return nil }
        guard let start, let end, start.value.count == 4 || start.value.count == 8,
              end.value.count == 4 || end.value.count == 8 else { throw .badInitrdProperty }
        let first = try start.integer(), last = try end.integer()
        guard last > first else { throw .emptyInitrdRange }
        return HostRegion(base: HostPhysAddr(first), size: last &- first)
    }

    // MARK: CPUs

    private mutating func readCPUs(_ reader: FDTReader) throws(FDTError) {
        let cpus = try reader.node("/cpus")
        var sawFirst = false
        var children = reader.children(of: cpus)
        while let cpu = try children.next() {
            guard try reader.findProperty("device_type", in: cpu)?.equals(string: "cpu") ?? false,
                  try reader.isEnabled(cpu) else { continue }
            let hartID = try reader.reg(of: cpu, index: 0).address
            let hasH = try Self.hasHypervisorExtension(reader, cpu)
            if hartID < 64 {
                hartMask |= UInt64(1) << hartID
                if hasH { hypervisorHartMask |= UInt64(1) << hartID }
            } else {
                ignoredHartCount &+= 1
            }
            if !sawFirst {
                sawFirst = true
                firstHart = UInt32(truncatingIfNeeded: hartID)
                hasHypervisorExtension = hasH
                try readFirstCPU(reader, cpu)
            }
        }
        guard sawFirst else { throw .noHarts }
        var frequency = try reader.findProperty("timebase-frequency", in: cpus)
        if frequency == nil, let cpu = try Self.firstEnabledCPU(reader, cpus) {
            frequency = try reader.findProperty("timebase-frequency", in: cpu)
        }
        guard let frequency else { throw .propertyNotFound }
        let value = try frequency.integer()
        guard value <= UInt64(UInt32.max) else { throw .valueTooLong }
        timebaseFrequency = UInt32(value)
    }

    private static func firstEnabledCPU(_ reader: FDTReader, _ cpus: FDTNode) throws(FDTError) -> FDTNode? {
        var children = reader.children(of: cpus)
        while let cpu = try children.next() {
            if try reader.findProperty("device_type", in: cpu)?.equals(string: "cpu") ?? false,
               try reader.isEnabled(cpu) { return cpu }
        }
        return nil
    }

    private mutating func readFirstCPU(_ reader: FDTReader, _ cpu: FDTNode) throws(FDTError) {
        if let property = try reader.findProperty("riscv,isa", in: cpu) {
            let text = try property.string()
            let kept = Self.isaPrefixLength(text, capacity: Self.isaCapacity)
            guard kept > 0 || text.count == 0 else { throw .valueTooLong }
            isaTruncated = kept < text.count
            let isaBytes = UnsafeRawBufferPointer(rebasing: text[0..<kept])
            guard let stored = ISAText(bytes: isaBytes) else { throw .valueTooLong }
            isa = stored
            guestISA = Self.withoutHypervisorLetter(isaBytes)
        }
        if let property = try reader.findProperty("mmu-type", in: cpu) {
            guard let stored = MMUTypeText(bytes: try property.string()) else { throw .valueTooLong }
            mmuType = stored
        }
    }

    /// How much of `isa` to keep: all of it if it fits, else up to the last '_' that fits.
    static func isaPrefixLength(_ isa: UnsafeRawBufferPointer, capacity: Int) -> Int {
        guard isa.count > capacity else { return isa.count }
        var i = capacity
        while i > 0 {
            if isa[i] == UInt8(ascii: "_") { return i }
            i &-= 1
        }
        return 0
    }

    /// The bounds of the single-letter part of an ISA string: after "rv32"/"rv64", up to the
    /// first '_'. `nil` when the string does not start with "rv" and two digits.
    static func singleLetterRange(_ isa: UnsafeRawBufferPointer) -> Range<Int>? {
        guard isa.count >= 4, isa[0] | 0x20 == UInt8(ascii: "r"), isa[1] | 0x20 == UInt8(ascii: "v"),
              isa[2] >= UInt8(ascii: "0"), isa[2] <= UInt8(ascii: "9"),
              isa[3] >= UInt8(ascii: "0"), isa[3] <= UInt8(ascii: "9") else { return nil }
        let end = FDTBytes.index(of: UInt8(ascii: "_"), in: isa, from: 4, to: isa.count) ?? isa.count
        return 4..<end
    }

    /// Whether an ISA string's single-letter part contains 'h' (either case).
    public static func isaHasHypervisorLetter(_ isa: UnsafeRawBufferPointer) -> Bool {
        guard let letters = singleLetterRange(isa) else { return false }
        for i in letters where isa[i] | 0x20 == UInt8(ascii: "h") { return true }
        return false
    }

    /// Whether an ISA string names the multi-letter extension `name` (lower case, e.g. "zbb"):
    /// one of its '_'-separated parts after the single-letter part equals it, ignoring case.
    public static func isaHasExtension(_ isa: UnsafeRawBufferPointer, _ name: StaticString) -> Bool {
        guard let letters = singleLetterRange(isa) else { return false }
        var start = letters.upperBound
        while start < isa.count {
            let end = FDTBytes.index(of: UInt8(ascii: "_"), in: isa, from: start &+ 1, to: isa.count) ?? isa.count
            let part = start &+ 1 ..< end                        // after the '_'
            let matches = name.withUTF8Buffer { wanted in
                guard wanted.count == part.count else { return false }
                var i = 0
                while i < wanted.count { if isa[part.lowerBound &+ i] | 0x20 != wanted[i] { return false }; i &+= 1 }
                return true
            }
            if matches { return true }
            start = end
        }
        return false
    }

    /// `isa` with every 'h' removed from its single-letter part.
    static func withoutHypervisorLetter(_ isa: UnsafeRawBufferPointer) -> ISAText {
        var result = ISAText()
        guard let letters = singleLetterRange(isa) else { return ISAText(bytes: isa) ?? result }
        var storage = InlineArray<512, UInt8>(repeating: 0)
        var count = 0
        for i in 0..<isa.count where count < storage.count {
            if letters.contains(i) && isa[i] | 0x20 == UInt8(ascii: "h") { continue }
            storage[count] = isa[i]
            count &+= 1
        }
        withUnsafeBytes(of: &storage) { raw in
            result = ISAText(bytes: UnsafeRawBufferPointer(rebasing: raw[0..<count])) ?? ISAText()
        }
        return result
    }

    /// H support of one cpu node: 'h' in the single-letter part of `riscv,isa`, or "h" in
    /// `riscv,isa-extensions`.
    static func hasHypervisorExtension(_ reader: FDTReader, _ cpu: FDTNode) throws(FDTError) -> Bool {
        if let isa = try reader.findProperty("riscv,isa", in: cpu),
           isaHasHypervisorLetter(try isa.string()) { return true }
        if let extensions = try reader.findProperty("riscv,isa-extensions", in: cpu),
           try extensions.contains(string: "h") { return true }
        return false
    }

    // MARK: Console

    static func findConsole(_ reader: FDTReader) throws(FDTError) -> HostConsole? {
        if let node = try stdoutNode(reader), let console = try console(reader, node) { return console }
        var walker = reader.walk()
        while let node = try walker.next() {
            if try is16550Compatible(reader, node), try reader.isEnabled(node) { return try console(reader, node) }
        }
        return nil
    }

    /// Whether `node`'s `compatible` lists one of `HostConsole.compatibles16550`.
    static func is16550Compatible(_ reader: FDTReader, _ node: FDTNode) throws(FDTError) -> Bool {
        let names = HostConsole.compatibles16550
        if try reader.isCompatible(node, with: names.0) { return true }
        if try reader.isCompatible(node, with: names.1) { return true }
        if try reader.isCompatible(node, with: names.2) { return true }
        if try reader.isCompatible(node, with: names.3) { return true }
        return try reader.isCompatible(node, with: names.4)
    }

    /// The node `/chosen/stdout-path` names, or `nil` when there is no such property or node.
    static func stdoutNode(_ reader: FDTReader) throws(FDTError) -> FDTNode? {
        guard let chosen = try reader.findNode("/chosen") else { return nil }
        var property = try reader.findProperty("stdout-path", in: chosen)
        if property == nil { property = try reader.findProperty("linux,stdout-path", in: chosen) }
        guard let property else { return nil }
        let text = try property.string()
        let end = FDTBytes.index(of: UInt8(ascii: ":"), in: text) ?? text.count
        guard end > 0 else { return nil }
        do throws(FDTError) {
            return try reader.findNode(path: UnsafeRawBufferPointer(rebasing: text[0..<end]))
        } catch {
            // A malformed alias means "no usable stdout-path": fall back to searching.
            if error == .badPath { return nil }
            throw error
        }
    }

    /// The UART described by `node`; `nil` when it has no `reg` (e.g. an SBI console node).
    static func console(_ reader: FDTReader, _ node: FDTNode) throws(FDTError) -> HostConsole? {
        guard try reader.regCount(of: node) > 0 else { return nil }
        let region = try reader.translatedReg(of: node, index: 0)
        func optionalU32(_ name: StaticString, _ fallback: UInt32) throws(FDTError) -> UInt32 {
            guard let property = try reader.findProperty(name, in: node), property.value.count == 4 else {
                return fallback
            }
            return try property.u32()
        }
        return HostConsole(
            base: HostPhysAddr(region.address), size: region.size,
            is16550Compatible: try is16550Compatible(reader, node),
            regShift: try optionalU32("reg-shift", 0),
            regIOWidth: try optionalU32("reg-io-width", 1),
            clockFrequency: try optionalU32("clock-frequency", 0))
    }
}
