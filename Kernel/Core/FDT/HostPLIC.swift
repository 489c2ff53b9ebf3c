// HostPLIC: the board's platform-level interrupt controller as its device tree describes it.
//
// The node is the first enabled one compatible with "sifive,plic-1.0.0" or "riscv,plic0" (Linux
// Documentation/devicetree/bindings/interrupt-controller/sifive,plic-1.0.0.yaml). Its
// `interrupts-extended` lists one <phandle cause> pair per PLIC context, in context order: the
// phandle names a hart's "riscv,cpu-intc" node (a child of the cpu node, whose `reg` is the hart
// id) and the cause is 11 for the machine-mode external interrupt, 9 for the supervisor one
// (privileged spec, scause codes). The hypervisor uses each hart's supervisor context.

public struct HostPLIC: Sendable {
    /// The register block (`reg` entry 0, translated).
    public var region = HostRegion(base: HostPhysAddr(0), size: 0)
    /// `riscv,ndev`: sources 1 ... sourceCount exist.
    public var sourceCount: UInt32 = 0
    /// Per hart id (< Limits.harts): the context of its supervisor external interrupt, or -1 when it has none.
    public var supervisorContext = PerHart<Int32>(repeating: -1)

    public init() {}

    /// The board's PLIC, or `nil` when the tree has none.
    public init?(reader: FDTReader) throws(FDTError) {
        var node = try reader.firstNode(compatibleWith: "sifive,plic-1.0.0")
        if node == nil { node = try reader.firstNode(compatibleWith: "riscv,plic0") }
        guard let plic = node else { return nil }
        self.init()
        let reg = try reader.translatedReg(of: plic)
        region = HostRegion(base: HostPhysAddr(reg.address), size: reg.size)
        sourceCount = try reader.property("riscv,ndev", in: plic).u32()
        guard let contexts = try reader.findProperty("interrupts-extended", in: plic) else { return }
        var pair = 0
        while pair &* 2 &+ 1 < contexts.cellCount {
            let phandle = try contexts.cell(at: pair &* 2)
            let cause = try contexts.cell(at: pair &* 2 &+ 1)
            if cause == 9, let hart = try Self.hartOfInterruptController(reader, phandle: phandle), hart < Limits.harts {
                supervisorContext[Int(hart)] = Int32(truncatingIfNeeded: pair)
            }
            pair &+= 1
        }
    }

    /// The hart id whose cpu node holds the interrupt controller with `phandle`.
    static func hartOfInterruptController(_ reader: FDTReader, phandle: UInt32) throws(FDTError) -> UInt64? {
        var walker = reader.walk()
        while let node = try walker.next() {
            guard let value = try reader.findProperty("phandle", in: node), value.value.count == 4,
                  try value.u32() == phandle else { continue }
            guard let cpu = try reader.parent(of: node), try reader.regCount(of: cpu) > 0 else { return nil }
            return try reader.reg(of: cpu).address
        }
        return nil
    }

    /// The supervisor context of `hart`, if it has one.
    public func context(ofHart hart: Int) -> Int? {
        guard hart >= 0, hart < Limits.harts, supervisorContext[hart] >= 0 else { return nil }
        return Int(supervisorContext[hart])
    }
}
