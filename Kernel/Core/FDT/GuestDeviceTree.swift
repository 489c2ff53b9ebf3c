// GuestDeviceTree: the device tree one partition sees (its vCPUs, its RAM, the SBI console).
//
// Shape (all addresses guest-physical, #address-cells = #size-cells = 2 at the root):
//   /                  compatible "bulkhead,partition", model "Bulkhead partition <name>"
//   /chosen            bootargs (when set), stdout-path "/bulkhead-console" (or "/serial@10000000"),
//                      bulkhead,boot-count <u32>, bulkhead,partition-name "<name>",
//                      linux,initrd-start and linux,initrd-end <u64> (with an initrd; Linux:
//                      Documentation/devicetree/bindings/chosen.txt: the initrd is [start, end))
//   /bulkhead-console  compatible "bulkhead,sbi-console" (the console is SBI DBCN)
//   /serial@10000000   (partitions with the virtual UART: Linux ones and those with `uart = true`)
//                      compatible "altr,16550-FIFO128" "ns16550a", reg, clock-frequency; no
//                      `interrupts`, so Linux's 8250 driver and U-Boot's ns16550 poll it; stdout-path names it
//   /cpus              #address-cells 1, #size-cells 0, timebase-frequency
//     cpu@<vcpu>       device_type "cpu", reg <vcpu>, status "okay", compatible "riscv",
//                      riscv,isa, riscv,isa-base + riscv,isa-extensions (the same ISA as a list, when
//                      riscv,isa is a plain rv64/rv32 string), mmu-type, phandle
//       interrupt-controller   #interrupt-cells 1, interrupt-controller, compatible
//                              "riscv,cpu-intc", phandle
//   /memory@<base>     device_type "memory", reg <spec.ramBase, spec.memory.size> (0x80000000, or the
//                      host-physical base for dma = "trusted")
//   /plic@c000000      (partitions with device interrupts: the virtual PLIC) compatible
//                      "sifive,plic-1.0.0" "riscv,plic0", reg, #interrupt-cells 1, #address-cells 0,
//                      interrupt-controller, riscv,ndev <highest source>, interrupts-extended
//                      <vCPU i's intc, 9 (supervisor external)> per vCPU (context i = vCPU i), phandle
//   /<name>@<address>  one per device the partition owns, named as in the board's tree: compatible,
//                      reg <address, size> (guest-physical = host-physical), and with interrupts:
//                      interrupts <sources>, interrupt-parent <the PLIC>
//   /bulkhead          (only with shared-memory channels) compatible "bulkhead,channels",
//                      #address-cells 2, #size-cells 2
//     shared-memory@<address>  compatible "bulkhead,shared-memory", reg <address, size>,
//                      bulkhead,channel <u32 id>, bulkhead,channel-name "<name>",
//                      bulkhead,writable (present when this partition may write)
// vCPU ids (0..<harts.count) are what the guest sees as hart ids, never the physical ones.

public enum GuestDeviceTree {
    /// phandle of vCPU `vcpu`'s node; its interrupt controller gets the next one.
    public static func cpuPhandle(vcpu: Int) -> UInt32 { UInt32(truncatingIfNeeded: 1 &+ 2 &* vcpu) }
    public static func interruptControllerPhandle(vcpu: Int) -> UInt32 { cpuPhandle(vcpu: vcpu) &+ 1 }
    /// phandle of the virtual PLIC (above every vCPU's).
    public static let plicPhandle: UInt32 = 0x100
    /// Where the virtual PLIC appears: QEMU virt's PLIC address, so guest and board agree.
    public static let plicBase = GuestPhysAddr(0x0C00_0000)

    /// `riscv,isa-base` ("rv64i") and `riscv,isa-extensions` (one string per extension: each
    /// single letter, then each '_'-separated name), the form Linux prefers (Linux:
    /// Documentation/devicetree/bindings/riscv/extensions.yaml). Written only when `isa` is
    /// `rv32`/`rv64` + 'i' + letters + lowercase names, without 'g' or version numbers; else
    /// `riscv,isa` alone describes the hart.
    static func writeISAExtensions(_ w: inout FDTWriter, isa: UnsafeRawBufferPointer) throws(FDTError) {
        guard let letters = isaLetters(isa) else { return }
        try w.beginProperty("riscv,isa-base")
        try w.appendValue(bytes: UnsafeRawBufferPointer(rebasing: isa[0..<4]))
        try w.appendValue(byte: UInt8(ascii: "i"))
        try w.appendValue(byte: 0)
        try w.endProperty()
        try w.beginProperty("riscv,isa-extensions")
        for i in letters {
            try w.appendValue(byte: isa[i])
            try w.appendValue(byte: 0)
        }
        var i = letters.upperBound
        while i < isa.count {
            // isa[i] is '_': one name up to the next '_' or the end.
            var end = i + 1
            while end < isa.count && isa[end] != UInt8(ascii: "_") { end += 1 }
            if end > i + 1 {
                try w.appendValue(bytes: UnsafeRawBufferPointer(rebasing: isa[(i + 1)..<end]))
                try w.appendValue(byte: 0)
            }
            i = end
        }
        try w.endProperty()
    }

    /// The range of the single-letter extensions of `isa` (after "rv64"), when the whole string
    /// has the plain form `writeISAExtensions` accepts.
    static func isaLetters(_ isa: UnsafeRawBufferPointer) -> Range<Int>? {
        guard isa.count >= 5, isa[0] == UInt8(ascii: "r"), isa[1] == UInt8(ascii: "v"),
              (isa[2] == UInt8(ascii: "6") && isa[3] == UInt8(ascii: "4")) || (isa[2] == UInt8(ascii: "3") && isa[3] == UInt8(ascii: "2")),
              isa[4] == UInt8(ascii: "i") else { return nil }
        var end = 4
        while end < isa.count && isa[end] != UInt8(ascii: "_") {
            let c = isa[end]
            guard c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z"), c != UInt8(ascii: "g") else { return nil }
            end += 1
        }
        var i = end
        while i < isa.count {
            let c = isa[i]
            let lower = c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")
            let digit = c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")
            guard lower || c == UInt8(ascii: "_") || (digit && i > 0 && isa[i - 1] != UInt8(ascii: "_")) else { return nil }
            // A version number ("zicsr2p0") ends in a digit after a 'p': refuse it.
            if c == UInt8(ascii: "p") && i + 1 < isa.count && isa[i + 1] >= UInt8(ascii: "0") && isa[i + 1] <= UInt8(ascii: "9")
                && i > 0 && isa[i - 1] >= UInt8(ascii: "0") && isa[i - 1] <= UInt8(ascii: "9") { return nil }
            i += 1
        }
        return 4..<end
    }

    /// The virtual PLIC (when the partition's devices have interrupts) and a node per device.
    static func writeDevices(_ w: inout FDTWriter, devices: DeviceTable, partition: Int, vcpus: Int) throws(FDTError) {
        let sources = devices.sources(ownedBy: partition)
        if !sources.isEmpty {
            try w.beginNode("plic", unitAddress: plicBase.raw)
            try w.property("compatible", strings: ["sifive,plic-1.0.0", "riscv,plic0"] as InlineArray<2, StaticString>)
            try w.property("reg", u64Pair: plicBase.raw, PLICLayout.span)
            try w.property("#interrupt-cells", u32: 1)
            try w.property("#address-cells", u32: 0)
            try w.property("interrupt-controller")
            try w.property("riscv,ndev", u32: UInt32(sources.highest))
            try w.beginProperty("interrupts-extended")
            var vcpu = 0
            while vcpu < vcpus {
                try w.appendValue(u32: interruptControllerPhandle(vcpu: vcpu))
                try w.appendValue(u32: 9)      // supervisor external interrupt (privileged spec, scause 9)
                vcpu &+= 1
            }
            try w.endProperty()
            try w.property("phandle", u32: plicPhandle)
            try w.endNode()
        }
        var d = 0
        while d < devices.count {
            let device = devices[d]
            d &+= 1
            guard Int(device.owner) == partition else { continue }
            try device.path.withBytes { (path) throws(FDTError) in
                var start = path.count
                while start > 0 && path[start &- 1] != UInt8(ascii: "/") { start &-= 1 }
                try w.beginNode(name: UnsafeRawBufferPointer(rebasing: path[start..<path.count]))
            }
            if device.compatible.count > 0 {
                try device.compatible.withBytes { (text) throws(FDTError) in try w.property("compatible", string: text) }
            }
            try w.property("reg", u64Pair: device.region.base.raw, device.region.size)
            if device.interruptCount > 0 {
                try w.beginProperty("interrupts")
                var i = 0
                while i < device.interruptCount && i < DeviceLimits.maxInterrupts {
                    try w.appendValue(u32: device.interrupts[i])
                    i &+= 1
                }
                try w.endProperty()
                try w.property("interrupt-parent", u32: plicPhandle)
            }
            try w.endNode()
        }
    }

    /// Writes the partition's DTB into `buffer` and returns its size.
    /// - Parameters:
    ///   - isa: the `riscv,isa` string to show (no NUL), e.g. `HostDescription.guestISA`.
    ///   - mmuType: the `mmu-type` string (no NUL); omitted when empty.
    ///   - bootCount: 0 on the partition's first boot, +1 for each restart.
    public static func build(
        into buffer: UnsafeMutableRawBufferPointer,
        spec: PartitionSpec,
        isa: UnsafeRawBufferPointer,
        mmuType: UnsafeRawBufferPointer,
        timebaseFrequency: UInt32,
        bootCount: UInt32,
        sharedWindows: SharedWindows = SharedWindows(),
        devices: DeviceTable = DeviceTable(),
        partition: Int = 0
    ) throws(FDTError) -> Int {
        var w = try FDTWriter(buffer: buffer)
        try w.beginNode("")
        try w.property("#address-cells", u32: 2)
        try w.property("#size-cells", u32: 2)
        try w.property("compatible", string: "bulkhead,partition")
        try w.beginProperty("model")
        try w.appendValue(string: "Bulkhead partition ")
        try spec.name.withBytes { (name) throws(FDTError) in try w.appendValue(bytes: name) }
        try w.appendValue(byte: 0)
        try w.endProperty()

        try w.beginNode("chosen")
        if spec.bootargs.count > 0 {
            try spec.bootargs.withBytes { (args) throws(FDTError) in try w.property("bootargs", string: args) }
        }
        if spec.hasVirtualUART { try w.property("stdout-path", string: "/serial@10000000") }
        else { try w.property("stdout-path", string: "/bulkhead-console") }
        try w.property("bulkhead,boot-count", u32: bootCount)
        try spec.name.withBytes { (name) throws(FDTError) in try w.property("bulkhead,partition-name", string: name) }
        if spec.initrdSize > 0 {
            try w.property("linux,initrd-start", u64: spec.initrdAddress.raw)
            try w.property("linux,initrd-end", u64: spec.initrdAddress.raw &+ spec.initrdSize)
        }
        try w.endNode()

        try w.beginNode("bulkhead-console")
        try w.property("compatible", string: "bulkhead,sbi-console")
        try w.endNode()

        if spec.hasVirtualUART {
            try w.beginNode("serial", unitAddress: VirtualUART.base.raw)
            // The model's FIFO never fills: Linux's 8250 driver, which polls a UART without an
            // interrupt on a timer, then sends 128 bytes per tick (the Altera 16550 variant with
            // a 128-byte FIFO) instead of 16. "ns16550a" follows for any other reader.
            try w.property("compatible", strings: ["altr,16550-FIFO128", "ns16550a"])
            try w.property("reg", u64Pair: VirtualUART.base.raw, VirtualUART.registerSpan)
            try w.property("clock-frequency", u32: VirtualUART.clockFrequency)
            try w.endNode()
        }

        try w.beginNode("cpus")
        try w.property("#address-cells", u32: 1)
        try w.property("#size-cells", u32: 0)
        try w.property("timebase-frequency", u32: timebaseFrequency)
        var vcpu = 0
        while vcpu < spec.harts.count {
            try w.beginNode("cpu", unitAddress: UInt64(vcpu))
            try w.property("device_type", string: "cpu")
            try w.property("reg", u32: UInt32(truncatingIfNeeded: vcpu))
            try w.property("status", string: "okay")
            try w.property("compatible", string: "riscv")
            try w.property("riscv,isa", string: isa)
            try writeISAExtensions(&w, isa: isa)
            if mmuType.count > 0 { try w.property("mmu-type", string: mmuType) }
            try w.property("phandle", u32: cpuPhandle(vcpu: vcpu))
            try w.beginNode("interrupt-controller")
            try w.property("#interrupt-cells", u32: 1)
            try w.property("interrupt-controller")
            try w.property("compatible", string: "riscv,cpu-intc")
            try w.property("phandle", u32: interruptControllerPhandle(vcpu: vcpu))
            try w.endNode()
            try w.endNode()
            vcpu &+= 1
        }
        try w.endNode()

        try w.beginNode("memory", unitAddress: spec.ramBase.raw)
        try w.property("device_type", string: "memory")
        try w.property("reg", u64Pair: spec.ramBase.raw, spec.memory.size)
        try w.endNode()

        try writeDevices(&w, devices: devices, partition: partition, vcpus: spec.harts.count)

        if sharedWindows.count > 0 {
            try w.beginNode("bulkhead")
            try w.property("compatible", string: "bulkhead,channels")
            try w.property("#address-cells", u32: 2)
            try w.property("#size-cells", u32: 2)
            var i = 0
            while i < sharedWindows.count {
                let window = sharedWindows[i]
                try w.beginNode("shared-memory", unitAddress: window.address.raw)
                try w.property("compatible", string: "bulkhead,shared-memory")
                try w.property("reg", u64Pair: window.address.raw, window.size)
                try w.property("bulkhead,channel", u32: UInt32(truncatingIfNeeded: window.channel))
                try window.name.withBytes { (name) throws(FDTError) in try w.property("bulkhead,channel-name", string: name) }
                if window.writable { try w.property("bulkhead,writable") }
                try w.endNode()
                i += 1
            }
            try w.endNode()
        }

        try w.endNode()
        return try w.finish()
    }
}
