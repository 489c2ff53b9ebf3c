// HostDescription: the board facts the hypervisor needs, read from the DTB OpenSBI passes in.
//
// RAM: the first enabled root child whose `device_type` is "memory" (or named memory[@...]) with a
// non-empty `reg`; entry 0, decoded with the root's #address-cells/#size-cells.
// Harts: every /cpus child with `device_type = "cpu"` that is enabled (see FDTReader.isEnabled);
// its `reg` is the hart id. Hart ids above 63 cannot be put in the mask and are only counted.
// The "first cpu" is the first enabled one in blob order; its ISA string, MMU type and H-extension
// support are reported. Every enabled hart's own H support goes into `hypervisorHartMask`.
// Console: /chosen `stdout-path` (or the legacy `linux,stdout-path`), with any ":options" cut
// off and an alias resolved through /aliases; when that is absent, does not resolve, or names a
// node without `reg`, the first enabled node compatible with "ns16550a". Its address is
// translated through bus `ranges`.

/// The console UART described by the host tree.
public struct HostConsole: Equatable, Sendable {
    /// Physical base address of the register block (`reg` entry 0, translated to the CPU's view).
    public var base: HostPhysAddr
    public var size: UInt64
    /// Whether `compatible` lists "ns16550a" (the only UART the QEMU virt board has).
    public var isNS16550A: Bool
    /// `reg-shift` (0 when absent): registers are `1 << regShift` bytes apart.
    public var regShift: UInt32
    /// `reg-io-width` (1 when absent): bytes per register access.
    public var regIOWidth: UInt32
    /// `clock-frequency` (0 when absent or not a u32).
    public var clockFrequency: UInt32
}

/// What the host device tree says about the machine. Fixed-size: no heap.
public struct HostDescription: Sendable {
    /// Longest `riscv,isa` kept. A longer string is cut at the last '_' that fits (`isaTruncated`).
    public static let isaCapacity = 512
    public typealias ISAText = FixedText<512>
    public typealias MMUTypeText = FixedText<16>

    /// The first RAM region.
    public var ram = HostRegion(base: HostPhysAddr(0), size: 0)
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

    public init(reader: FDTReader) throws(FDTError) {
        self.init()
        try readMemory(reader)
        try readCPUs(reader)
        console = try Self.findConsole(reader)
    }

    /// The board limits for plan validation: this RAM and these harts, minus `reserved`.
    public func boardLimits(reserved: HostRegion) -> BoardLimits {
        BoardLimits(ram: ram, hartMask: hartMask, reserved: reserved)
    }

    /// One-line summary for the boot log, e.g.
    /// `RAM 0x80000000 + 1 GiB, harts 0xf (H 0xf), timebase 10000000 Hz, console ns16550a @ 0x10000000`.
    public func write<S: TextSink>(to out: inout S) {
        out.write("RAM "); out.write(hex: ram.base.raw); out.write(" + "); out.write(size: ram.size)
        out.write(", harts "); out.write(hex: hartMask)
        out.write(" (H "); out.write(hex: hypervisorHartMask); out.write(")")
        out.write(", timebase "); out.write(decimal: UInt64(timebaseFrequency)); out.write(" Hz, console ")
        if let console {
            out.write(console.isNS16550A ? "ns16550a @ " : "uart @ ")
            out.write(hex: console.base.raw)
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
        guard let node = try reader.firstNode(compatibleWith: "ns16550a") else { return nil }
        return try console(reader, node)
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
            isNS16550A: try reader.isCompatible(node, with: "ns16550a"),
            regShift: try optionalU32("reg-shift", 0),
            regIOWidth: try optionalU32("reg-io-width", 1),
            clockFrequency: try optionalU32("clock-frequency", 0))
    }
}
