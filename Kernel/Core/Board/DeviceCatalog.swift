// DeviceCatalog: the board's device nodes that partitions may be given, read once from its device tree.
//
// The CLI reads it from the board's DTB (`--dtb`, or the board's shipped tree) and the kernel
// from the tree firmware passed in; plan validation checks every DeviceSpec against it, so a
// bundle naming a device this board does not have, or one the hypervisor keeps, is refused in
// both places by the same code. An entry is every enabled node with a `reg` in the CPU's
// address space, outside /cpus, /memory and /reserved-memory. Paths are kept as their CRC-32C (a label, not a security check:
// a device also has to match the entry's region and interrupts exactly).

/// Why the hypervisor keeps a device for itself.
public enum ReservedDevice: UInt8, Sendable {
    case none = 0
    /// The UART /chosen/stdout-path names: the hypervisor's console.
    case console
    /// An interrupt controller (the PLIC): the hypervisor owns it and emulates one per partition.
    case interruptController
    /// A CLINT or ACLINT: machine timers and software interrupts.
    case timer
    /// A CFI flash: it holds the bundle slots, the state region and the device secret.
    case flash
    /// The test/poweroff/reset device (sifive,test0/1, syscon): it powers the machine off.
    case powerControl

    public func write<S: TextSink>(to out: inout S) {
        switch self {
        case .none: out.write("available")
        case .console: out.write("the hypervisor's console UART")
        case .interruptController: out.write("an interrupt controller the hypervisor owns")
        case .timer: out.write("the CLINT/ACLINT the hypervisor and firmware use")
        case .flash: out.write("the flash that holds the bundles")
        case .powerControl: out.write("the machine's test/poweroff device")
        }
    }
}

/// One device node of the board.
public struct BoardDevice: Sendable {
    public var pathHash: UInt32 = 0
    /// CRC-32C of the node's first `compatible` string (0: none).
    public var compatibleHash: UInt32 = 0
    /// `reg` entry 0, translated to the CPU's physical address space.
    public var region = HostRegion(base: HostPhysAddr(0), size: 0)
    public var regCount = 0
    /// The `interrupts` cells (one cell per PLIC source), up to `DeviceLimits.maxInterrupts`.
    public var interrupts = InlineArray<4, UInt32>(repeating: 0)
    /// The number of cells in `interrupts` (may exceed what is kept: then the device is refused).
    public var interruptCount = 0
    /// Whether its interrupts go to the PLIC (its `interrupt-parent`, its own or inherited): those
    /// of another controller (a GPIO block, `interrupts-extended`) cannot be delivered.
    public var interruptsOnPLIC = true
    public var dmaCapable = false
    public var reserved = ReservedDevice.none
    public init() {}
}

/// The board's device nodes (fixed size; a board with more is read up to `capacity`).
public struct DeviceCatalog: Sendable {
    public static let capacity = 48
    public var entries: InlineArray<48, BoardDevice>
    public private(set) var count: Int
    /// Whether the catalogue was read from a device tree at all (plans with devices need one).
    public private(set) var isKnown: Bool

    public init() { entries = InlineArray(repeating: BoardDevice()); count = 0; isKnown = false }

    /// The device nodes of `reader`'s tree.
    public init(reader: FDTReader) throws(FDTError) {
        self.init()
        isKnown = true
        var console = try HostDescription.stdoutNode(reader)
        if console == nil { console = try reader.firstNode(compatibleWith: "ns16550a") }
        var plic = try reader.firstNode(compatibleWith: "sifive,plic-1.0.0")
        if plic == nil { plic = try reader.firstNode(compatibleWith: "riscv,plic0") }
        var plicPhandle: UInt32? = nil
        if let plic, let phandle = try reader.findProperty("phandle", in: plic) { plicPhandle = try phandle.u32() }
        // A running CRC per depth: paths[d] is the register after the path of the open node at depth d.
        var paths = InlineArray<32, UInt32>(repeating: CRC32C.initialValue)
        var skipBelow = Int.max
        var walker = reader.walk()
        while let node = try walker.next() {
            guard node.depth > 0, node.depth < 32 else { continue }
            if node.depth <= skipBelow { skipBelow = Int.max }
            var crc = paths[node.depth &- 1]
            crc = withUnsafeBytes(of: UInt8(ascii: "/")) { CRC32C.update(crc, with: $0) }
            crc = CRC32C.update(crc, with: node.name)
            paths[node.depth] = crc
            guard node.depth < skipBelow else { continue }
            if node.depth == 1 && (FDTBytes.equal(node.baseName, "cpus") || FDTBytes.equal(node.baseName, "memory")
                                   || FDTBytes.equal(node.baseName, "reserved-memory")) {
                skipBelow = 1
                continue
            }
            guard count < Self.capacity, try reader.isEnabled(node) else { continue }
            // A `reg` that is no MMIO region of the CPU (a PCI device's, with 3 address cells; one
            // outside its bus's `ranges`; a malformed one) cannot be given to a partition: skip
            // the node rather than refuse the whole tree, which the kernel reads at every boot.
            let regCount: Int
            let region: FDTRegion
            do throws(FDTError) {
                regCount = try reader.regCount(of: node)
                guard regCount > 0 else { continue }
                region = try reader.translatedReg(of: node, walker: walker)
            } catch {
                guard error == .unsupportedCellCount || error == .addressNotTranslatable
                        || error == .badPropertyLength else { throw error }
                continue
            }
            var device = BoardDevice()
            device.pathHash = CRC32C.finish(crc)
            device.region = HostRegion(base: HostPhysAddr(region.address), size: region.size)
            device.regCount = regCount
            if let compatible = try reader.findProperty("compatible", in: node) {
                var list = try compatible.strings()
                if let first = list.next() {
                    // As much as a device record keeps (DeviceCompatible's capacity).
                    let kept = UnsafeRawBufferPointer(rebasing: first[0..<min(first.count, DeviceCompatible.capacity)])
                    device.compatibleHash = CRC32C.checksum(kept)
                }
            }
            if try reader.findProperty("interrupts-extended", in: node) != nil {
                device.interruptCount = 1
                device.interruptsOnPLIC = false
            } else if let interrupts = try reader.findProperty("interrupts", in: node) {
                device.interruptCount = interrupts.cellCount
                let parent = try Self.interruptParent(reader, node, walker)
                device.interruptsOnPLIC = parent != nil && parent == plicPhandle
                var i = 0
                while i < interrupts.cellCount && i < DeviceLimits.maxInterrupts {
                    device.interrupts[i] = try interrupts.cell(at: i)
                    i &+= 1
                }
            }
            let virtio = try reader.isCompatible(node, with: "virtio,mmio")
            let coherent = try reader.findProperty("dma-coherent", in: node) != nil
            device.dmaCapable = virtio || coherent
            device.reserved = try Self.reservation(reader, node, isConsole: console?.offset == node.offset)
            entries[count] = device
            count &+= 1
        }
    }

    /// The phandle of `node`'s interrupt parent: its own `interrupt-parent`, else the nearest
    /// ancestor's (Devicetree Specification, "interrupt-parent"). `walker` has just returned `node`.
    private static func interruptParent(_ reader: FDTReader, _ node: FDTNode, _ walker: FDTWalker) throws(FDTError) -> UInt32? {
        if let own = try reader.findProperty("interrupt-parent", in: node) { return try own.u32() }
        var level = node.depth &- 1
        while level >= 0 {
            let ancestor = try reader.node(atOffset: walker.ancestor(at: level))
            if let inherited = try reader.findProperty("interrupt-parent", in: ancestor) { return try inherited.u32() }
            level &-= 1
        }
        return nil
    }

    private static func reservation(_ reader: FDTReader, _ node: FDTNode, isConsole: Bool) throws(FDTError) -> ReservedDevice {
        if isConsole { return .console }
        if try reader.findProperty("interrupt-controller", in: node) != nil { return .interruptController }
        guard let list = try reader.findProperty("compatible", in: node) else { return .none }
        for i in 0..<timerCompatibles.count { if try list.contains(string: timerCompatibles[i]) { return .timer } }
        if try list.contains(string: "cfi-flash") { return .flash }
        for i in 0..<powerCompatibles.count { if try list.contains(string: powerCompatibles[i]) { return .powerControl } }
        return .none
    }

    /// CLINT and ACLINT bindings (Linux Documentation/devicetree/bindings/timer/sifive,clint.yaml,
    /// interrupt-controller/riscv,aclint-*.yaml).
    private static let timerCompatibles: InlineArray<5, StaticString> =
        ["riscv,clint0", "sifive,clint0", "riscv,aclint-mswi", "riscv,aclint-mtimer", "riscv,aclint-sswi"]
    /// QEMU virt's test device (power off, reset) and syscon blocks that poweroff/reboot nodes drive.
    private static let powerCompatibles: InlineArray<3, StaticString> = ["sifive,test0", "sifive,test1", "syscon"]

    /// The entry for the node at `path` (bytes of an absolute path), if the board has it.
    public func find(path: UnsafeRawBufferPointer) -> BoardDevice? {
        find(pathHash: CRC32C.checksum(path))
    }

    public func find(pathHash: UInt32) -> BoardDevice? {
        var i = 0
        while i < count {
            if entries[i].pathHash == pathHash { return entries[i] }
            i &+= 1
        }
        return nil
    }
}
