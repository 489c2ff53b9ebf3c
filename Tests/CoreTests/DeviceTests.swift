// Device passthrough: the board's DeviceCatalog (QEMU virt's tree and hand-made ones), every device
// PlanError from validate (partition, field, message), the dma = "trusted" addresses, device records
// and partition flags in the bundle, the guest's device tree (virtual PLIC and device nodes),
// HostPLIC, the G-stage mappings of devices, and the policy digest.

import Foundation
import Testing
@testable import BulkheadCore

// MARK: - Fixtures

private let mib: UInt64 = 0x10_0000

private func text<let n: Int>(_ s: String) -> FixedText<n> {
    Array(s.utf8).withUnsafeBytes { FixedText<n>(bytes: $0)! }
}

/// A device as a plan records it (no check: tests build wrong ones on purpose).
private func device(_ path: String, owner: UInt8, compatible: String = "", base: UInt64, size: UInt64 = 0x1000,
                    interrupts: [UInt32] = [], dma: Bool = false) -> DeviceSpec {
    var d = DeviceSpec()
    d.owner = owner
    d.path = text(path)
    d.compatible = text(compatible)
    d.region = HostRegion(base: HostPhysAddr(base), size: size)
    for (i, source) in interrupts.prefix(DeviceLimits.maxInterrupts).enumerated() { d.interrupts[i] = source }
    d.interruptCount = min(interrupts.count, DeviceLimits.maxInterrupts)
    d.dmaCapable = dma
    return d
}

/// QEMU virt's goldfish RTC, exactly as its tree describes it.
private func rtc(owner: UInt8 = 0) -> DeviceSpec {
    device("/soc/rtc@101000", owner: owner, compatible: "google,goldfish-rtc", base: 0x10_1000, interrupts: [11])
}

/// QEMU virt's virtio-mmio transport `n` (1 ... 8): at 0x1000_n000, PLIC source n, DMA-capable.
private func virtio(_ n: Int, owner: UInt8) -> DeviceSpec {
    device("/soc/virtio_mmio@1000\(n)000", owner: owner, compatible: "virtio,mmio", base: 0x1000_0000 + UInt64(n) * 0x1000,
           interrupts: [UInt32(n)], dma: true)
}

/// QEMU virt's PCIe host bridge: one 256 MiB region, dma-coherent, no interrupts of its own.
private func pci(owner: UInt8) -> DeviceSpec {
    device("/soc/pci@30000000", owner: owner, compatible: "pci-host-ecam-generic", base: 0x3000_0000, size: 0x1000_0000,
           dma: true)
}

private func table(_ devices: [DeviceSpec]) -> DeviceTable {
    var t = DeviceTable()
    for d in devices {
        let added = t.append(d)
        #expect(added)
    }
    return t
}

private func catalog(_ blob: [UInt8]) throws -> DeviceCatalog {
    try blob.withUnsafeBytes { raw in try DeviceCatalog(reader: FDTReader(raw)) }
}

private func virtCatalog() throws -> DeviceCatalog { try catalog(FDTFixtures.load("qemu-virt-smp4.dtb")) }

private func lookup(_ c: DeviceCatalog, _ path: String) -> BoardDevice? {
    Array(path.utf8).withUnsafeBytes { c.find(path: $0) }
}

private func crc(_ s: String) -> UInt32 { Array(s.utf8).withUnsafeBytes { CRC32C.checksum($0) } }

/// A made-up board: devices QEMU virt does not have (two regions, five interrupts, sources 0,
/// 255 and 256, one in RAM, overlapping ones, one without `compatible`, a disabled one, one behind
/// a translating bus, one under /reserved-memory), and a console found by compatible alone (no
/// stdout-path).
private let customBoardSource = """
    /dts-v1/;
    / {
        #address-cells = <2>;
        #size-cells = <2>;
        interrupt-parent = <&plic>;
        chosen { };
        memory@80000000 { device_type = "memory"; reg = <0x0 0x80000000 0x0 0x40000000>; };
        reserved-memory {
            #address-cells = <2>;
            #size-cells = <2>;
            ranges;
            firmware@80000000 { reg = <0x0 0x80000000 0x0 0x200000>; };
        };
        cpus {
            #address-cells = <1>;
            #size-cells = <0>;
            cpu@0 {
                device_type = "cpu";
                reg = <0>;
                compatible = "riscv";
                cpu0_intc: interrupt-controller { #interrupt-cells = <1>; interrupt-controller; compatible = "riscv,cpu-intc"; };
            };
        };
        plic: plic@c000000 {
            compatible = "sifive,plic-1.0.0", "riscv,plic0";
            reg = <0x0 0xc000000 0x0 0x4000000>;
            interrupt-controller;
            #interrupt-cells = <1>;
            riscv,ndev = <255>;
            interrupts-extended = <&cpu0_intc 9>;
        };
        soc {
            #address-cells = <2>;
            #size-cells = <2>;
            compatible = "simple-bus";
            ranges;
            uart@10000000 { compatible = "ns16550a"; reg = <0x0 0x10000000 0x0 0x1000>; interrupts = <10>; };
            twin@20000000 { compatible = "acme,twin"; reg = <0x0 0x20000000 0x0 0x1000 0x0 0x20001000 0x0 0x1000>; };
            many@21000000 { compatible = "acme,many"; reg = <0x0 0x21000000 0x0 0x1000>; interrupts = <1 2 3 4 5>; };
            zero@22000000 { compatible = "acme,zero"; reg = <0x0 0x22000000 0x0 0x1000>; interrupts = <0>; };
            high@23000000 { compatible = "acme,high"; reg = <0x0 0x23000000 0x0 0x1000>; interrupts = <256>; };
            top@23001000 { compatible = "acme,top"; reg = <0x0 0x23001000 0x0 0x1000>; interrupts = <255>; };
            inram@bff00000 { compatible = "acme,inram"; reg = <0x0 0xbff00000 0x0 0x1000>; };
            off@25000000 { compatible = "acme,off"; reg = <0x0 0x25000000 0x0 0x1000>; status = "disabled"; };
            wide@26000000 { compatible = "acme,wide"; reg = <0x0 0x26000000 0x0 0x2000>; interrupts = <30>; };
            inner@26001000 { compatible = "acme,inner"; reg = <0x0 0x26001000 0x0 0x1000>; interrupts = <31>; };
            plain@27000000 { reg = <0x0 0x27000000 0x0 0x1000>; };
            empty@27001000 { compatible = "acme,empty"; reg = <0x0 0x27001000 0x0 0x0>; };
            gpio: gpio@28000000 { compatible = "acme,gpio"; reg = <0x0 0x28000000 0x0 0x1000>; interrupts = <40>;
                                  interrupt-controller; #interrupt-cells = <2>; };
            button@28001000 { compatible = "acme,button"; reg = <0x0 0x28001000 0x0 0x1000>; interrupt-parent = <&gpio>; interrupts = <3 0>; };
            ext@28002000 { compatible = "acme,ext"; reg = <0x0 0x28002000 0x0 0x1000>; interrupts-extended = <&plic 41>; };
            line-a@29000000 { compatible = "acme,line"; reg = <0x0 0x29000000 0x0 0x1000>; interrupts = <50>; };
            line-b@29001000 { compatible = "acme,line"; reg = <0x0 0x29001000 0x0 0x1000>; interrupts = <50>; };
            line-c@29002000 { compatible = "acme,line"; reg = <0x0 0x29002000 0x0 0x1000>; interrupts = <51 50>; };
            long@2a000000 {
                compatible = "acme,a-compatible-string-longer-than-forty-eight-bytes", "acme,short";
                reg = <0x0 0x2a000000 0x0 0x1000>;
            };
        };
        bus@40000000 {
            #address-cells = <1>;
            #size-cells = <1>;
            compatible = "simple-bus";
            ranges = <0x0 0x0 0x40000000 0x100000>;
            timer@2000 { compatible = "acme,timer"; reg = <0x2000 0x1000>; interrupts = <60>; };
        };
    };
    """

private func customCatalog() throws -> DeviceCatalog { try catalog(DTC.compile(customBoardSource)) }

/// QEMU virt's memory map: 1 GiB of RAM at 0x8000_0000, harts 0-3, the first 64 MiB reserved.
private func board(_ devices: DeviceCatalog) -> BoardLimits {
    BoardLimits(ram: HostRegion(base: HostPhysAddr(0x8000_0000), size: PageSize.giga), hartMask: 0b1111,
                reserved: virtReserved, devices: devices)
}

/// alpha: hart 0, [0x8400_0000, +64 MiB), dma none; beta: harts 1 and 2, [0x8800_0000, +64 MiB),
/// dma trusted (unless `betaDMA` is false), entered at its own RAM base.
private func devicePlan(_ devices: [DeviceSpec], betaDMA: Bool = true) -> PartitionPlan {
    var alpha = PartitionSpec()
    alpha.name = text("alpha")
    _ = alpha.harts.append(0)
    alpha.memory = HostRegion(base: HostPhysAddr(0x8400_0000), size: 64 * mib)
    alpha.imageSize = 0x1000
    alpha.entry = GuestPhysAddr(0x8000_0000)
    var beta = PartitionSpec()
    beta.name = text("beta")
    _ = beta.harts.append(1)
    _ = beta.harts.append(2)
    beta.memory = HostRegion(base: HostPhysAddr(0x8800_0000), size: 64 * mib)
    beta.imageSize = 0x1000
    beta.flags.dmaTrusted = betaDMA
    beta.entry = beta.ramBase
    var plan = PartitionPlan()
    _ = plan.append(alpha)
    _ = plan.append(beta)
    plan.devices = table(devices)
    return plan
}

private func validationError(_ plan: PartitionPlan, _ board: BoardLimits) -> PlanError? {
    do throws(PlanError) {
        try plan.validate(for: board)
        return nil
    } catch {
        return error
    }
}

private func render(_ error: PlanError, _ plan: PartitionPlan) -> String {
    var sink = StringSink()
    error.write(to: &sink, plan: plan)
    return sink.text
}

private func expectRejected(
    _ plan: PartitionPlan, on board: BoardLimits, _ expected: PlanError, partition: Int?, field: PlanField?, message: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let error = validationError(plan, board)
    #expect(error == expected, sourceLocation: sourceLocation)
    guard let error else { return }
    #expect(error.partition == partition, sourceLocation: sourceLocation)
    #expect(error.field == field, sourceLocation: sourceLocation)
    #expect(render(error, plan) == message, sourceLocation: sourceLocation)
}

// MARK: - DeviceCatalog

@Suite("Devices: the board's DeviceCatalog")
struct DeviceCatalogTests {
    @Test func qemuVirtRTCAndVirtio() throws {
        let c = try virtCatalog()
        #expect(c.isKnown)
        #expect(!DeviceCatalog().isKnown && DeviceCatalog().count == 0)
        let rtc = try #require(lookup(c, "/soc/rtc@101000"))
        #expect(rtc.region == HostRegion(base: HostPhysAddr(0x10_1000), size: 0x1000))
        #expect(rtc.regCount == 1)
        #expect(rtc.interruptCount == 1 && rtc.interrupts[0] == 11)
        #expect(!rtc.dmaCapable)
        #expect(rtc.reserved == .none)
        #expect(rtc.pathHash == crc("/soc/rtc@101000"))
        #expect(rtc.compatibleHash == crc("google,goldfish-rtc"))

        let virtio = try #require(lookup(c, "/soc/virtio_mmio@10008000"))
        #expect(virtio.dmaCapable)
        #expect(virtio.interruptCount == 1 && virtio.interrupts[0] == 8)
        #expect(virtio.region == HostRegion(base: HostPhysAddr(0x1000_8000), size: 0x1000))
        #expect(virtio.reserved == .none)
        #expect(virtio.compatibleHash == crc("virtio,mmio"))
        for n in 1...8 {
            let other = try #require(lookup(c, "/soc/virtio_mmio@1000\(n)000"))
            #expect(other.interrupts[0] == UInt32(n) && other.dmaCapable)
        }

        // dma-coherent makes a device DMA-capable too (fw-cfg, the PCIe host bridge).
        let fwcfg = try #require(lookup(c, "/fw-cfg@10100000"))
        #expect(fwcfg.dmaCapable && fwcfg.interruptCount == 0)
        #expect(fwcfg.region == HostRegion(base: HostPhysAddr(0x1010_0000), size: 0x18))
        let bridge = try #require(lookup(c, "/soc/pci@30000000"))
        #expect(bridge.dmaCapable && bridge.region == HostRegion(base: HostPhysAddr(0x3000_0000), size: 0x1000_0000))
    }

    @Test func qemuVirtReservedDevices() throws {
        let c = try virtCatalog()
        let expected: [(String, ReservedDevice)] = [
            ("/soc/serial@10000000", .console),
            ("/soc/plic@c000000", .interruptController),
            ("/soc/clint@2000000", .timer),
            ("/flash@20000000", .flash),
            ("/soc/test@100000", .powerControl),
        ]
        for (path, reason) in expected {
            let entry = try #require(lookup(c, path), "\(path)")
            #expect(entry.reserved == reason, "\(path)")
        }
        // The flash has two banks: two `reg` entries, the first one kept.
        let flash = try #require(lookup(c, "/flash@20000000"))
        #expect(flash.regCount == 2 && flash.region == HostRegion(base: HostPhysAddr(0x2000_0000), size: 0x200_0000))
        // Nothing else is reserved.
        #expect((0..<c.count).filter { c.entries[$0].reserved != .none }.count == expected.count)
    }

    @Test func onlyEnabledNodesWithRegOutsideCPUsAndMemory() throws {
        let c = try virtCatalog()
        for path in ["/cpus", "/cpus/cpu@0", "/cpus/cpu@3", "/cpus/cpu@0/interrupt-controller", "/memory@80000000",
                     "/soc", "/chosen", "/poweroff", "/platform-bus@4000000", "/"] {
            #expect(lookup(c, path) == nil, "\(path)")
        }
        // fw-cfg, flash; under /soc: rtc, serial, test, pci, 8 virtio, plic, clint.
        #expect(c.count == 16)
    }

    @Test func findTakesTheExactFullPath() throws {
        let c = try virtCatalog()
        #expect(lookup(c, "/soc/rtc@101000") != nil)
        for path in ["/soc/rtc", "/rtc@101000", "soc/rtc@101000", "/soc/rtc@101000/", "/soc/rtc@0101000",
                     "/soc/RTC@101000", "/soc/rtc@102000", "/soc/nothing@0", ""] {
            #expect(lookup(c, path) == nil, "\(path)")
        }
        #expect(c.find(pathHash: crc("/soc/virtio_mmio@10001000"))?.interrupts[0] == 1)
        #expect(c.find(pathHash: 0) == nil)
    }

    @Test func aHandMadeBoard() throws {
        let c = try customCatalog()
        // No stdout-path: the first ns16550a is the console.
        #expect(lookup(c, "/soc/uart@10000000")?.reserved == .console)
        #expect(lookup(c, "/soc/off@25000000") == nil, "a disabled node is not a device")
        #expect(lookup(c, "/reserved-memory/firmware@80000000") == nil)
        #expect(lookup(c, "/memory@80000000") == nil)
        let many = try #require(lookup(c, "/soc/many@21000000"))
        #expect(many.interruptCount == 5, "the real count is kept, so validation can refuse it")
        #expect((0..<4).map { many.interrupts[$0] } == [1, 2, 3, 4])
        #expect(lookup(c, "/soc/twin@20000000")?.regCount == 2)
        #expect(lookup(c, "/soc/plain@27000000")?.compatibleHash == 0)
        // A translating bus: the region is the CPU's address.
        let timer = try #require(lookup(c, "/bus@40000000/timer@2000"))
        #expect(timer.region == HostRegion(base: HostPhysAddr(0x4000_2000), size: 0x1000))
        // The first compatible string, cut at what a device record keeps (48 bytes).
        let long = "acme,a-compatible-string-longer-than-forty-eight-bytes"
        #expect(lookup(c, "/soc/long@2a000000")?.compatibleHash == crc(String(long.prefix(DeviceCompatible.capacity))))
    }

    @Test func nodesWhoseRegIsNotAnMMIORegionAreSkippedNotFatal() throws {
        // A PCI bus's children use 3 address cells, and a node outside its bus's `ranges` has no
        // CPU address: neither can be given, and neither may make the whole tree unusable (the
        // kernel reads the catalogue at every boot, with or without devices in the plan).
        let blob = try DTC.compile("""
            /dts-v1/;
            / {
                #address-cells = <2>;
                #size-cells = <2>;
                pci@30000000 {
                    #address-cells = <3>;
                    #size-cells = <2>;
                    device_type = "pci";
                    compatible = "pci-host-ecam-generic";
                    reg = <0x0 0x30000000 0x0 0x10000000>;
                    bridge@0,0 { reg = <0x0 0x0 0x0 0x0 0x0>; };
                };
                odd@50000000 { reg = <0x0 0x50000000 0x0>; };
                bus@40000000 {
                    #address-cells = <1>;
                    #size-cells = <1>;
                    ranges = <0x0 0x0 0x40000000 0x1000>;
                    outside@8000 { reg = <0x8000 0x1000>; };
                    inside@0 { reg = <0x0 0x1000>; };
                };
                rtc@101000 { compatible = "google,goldfish-rtc"; reg = <0x0 0x101000 0x0 0x1000>; interrupts = <11>; };
            };
            """)
        let c = try catalog(blob)
        #expect(lookup(c, "/rtc@101000")?.interrupts[0] == 11)
        #expect(lookup(c, "/pci@30000000") != nil)
        #expect(lookup(c, "/pci@30000000/bridge@0,0") == nil)
        #expect(lookup(c, "/bus@40000000/outside@8000") == nil)
        #expect(lookup(c, "/odd@50000000") == nil, "a `reg` of 3 cells where entries have 4")
        #expect(lookup(c, "/bus@40000000/inside@0")?.region == HostRegion(base: HostPhysAddr(0x4000_0000), size: 0x1000))
    }
}

// MARK: - Validation

@Suite("Devices: plan validation")
struct DeviceValidationTests {
    @Test func aValidPlanWithDevicesPasses() throws {
        let b = board(try virtCatalog())
        let plan = devicePlan([rtc(owner: 0), virtio(8, owner: 1), pci(owner: 1), virtio(1, owner: 1)])
        #expect(validationError(plan, b) == nil)
        // Two devices of one partition, none DMA-capable, in a partition without dma = "trusted".
        let top = device("/soc/top@23001000", owner: 0, compatible: "acme,top", base: 0x2300_1000, interrupts: [255])
        let plain = device("/soc/plain@27000000", owner: 0, base: 0x2700_0000)     // a node without compatible
        let timer = device("/bus@40000000/timer@2000", owner: 0, compatible: "acme,timer", base: 0x4000_2000, interrupts: [60])
        #expect(validationError(devicePlan([top, plain, timer], betaDMA: false), board(try customCatalog())) == nil)
        // The compatible string recorded is the first one, cut to 48 bytes.
        let long = "acme,a-compatible-string-longer-than-forty-eight-bytes"
        let cut = device("/soc/long@2a000000", owner: 0, compatible: String(long.prefix(48)), base: 0x2a00_0000)
        #expect(validationError(devicePlan([cut]), board(try customCatalog())) == nil)
        let second = device("/soc/long@2a000000", owner: 0, compatible: "acme,short", base: 0x2a00_0000)
        #expect(validationError(devicePlan([second]), board(try customCatalog())) == .deviceMismatch(partition: 0, device: 0))
    }

    @Test func ownerUnknown() throws {
        let plan = devicePlan([rtc(owner: 0), rtc(owner: 2)])
        expectRejected(plan, on: board(try virtCatalog()), .deviceOwnerUnknown(device: 1), partition: nil, field: nil,
                       message: "device #1 belongs to no partition of the plan")
        #expect(PlanError.deviceOwnerUnknown(device: 1).device == 1)
    }

    @Test func notOnBoard() throws {
        let missing = device("/soc/rtc@102000", owner: 0, compatible: "google,goldfish-rtc", base: 0x10_2000, interrupts: [11])
        let plan = devicePlan([missing])
        let message = "partition #0 \"alpha\", field devices: device /soc/rtc@102000 is not an enabled node with a `reg` in the board's device tree"
        expectRejected(plan, on: board(try virtCatalog()), .deviceNotOnBoard(partition: 0, device: 0), partition: 0,
                       field: .devices, message: message)
        // Without a catalogue (no tree read), no device is on the board.
        let unknown = devicePlan([virtio(8, owner: 1)])
        expectRejected(unknown, on: board(DeviceCatalog()), .deviceNotOnBoard(partition: 1, device: 0), partition: 1,
                       field: .devices,
                       message: "partition #1 \"beta\", field devices: device /soc/virtio_mmio@10008000 is not an enabled node with a `reg` in the board's device tree")
        // A disabled node, and a path without its unit address.
        let off = device("/soc/off@25000000", owner: 0, compatible: "acme,off", base: 0x2500_0000)
        #expect(validationError(devicePlan([off]), board(try customCatalog())) == .deviceNotOnBoard(partition: 0, device: 0))
        var short = rtc()
        short.path = text("/soc/rtc")
        #expect(validationError(devicePlan([short]), board(try virtCatalog())) == .deviceNotOnBoard(partition: 0, device: 0))
    }

    @Test func reservedDevices() throws {
        let b = board(try virtCatalog())
        let cases: [(DeviceSpec, ReservedDevice, String)] = [
            (device("/soc/serial@10000000", owner: 0, compatible: "ns16550a", base: 0x1000_0000, size: 0x100, interrupts: [10]),
             .console, "the hypervisor's console UART"),
            (device("/soc/plic@c000000", owner: 0, base: 0xC00_0000, size: 0x60_0000), .interruptController,
             "an interrupt controller the hypervisor owns"),
            (device("/soc/clint@2000000", owner: 0, base: 0x200_0000, size: 0x1_0000), .timer,
             "the CLINT/ACLINT the hypervisor and firmware use"),
            (device("/flash@20000000", owner: 0, compatible: "cfi-flash", base: 0x2000_0000, size: 0x200_0000), .flash,
             "the flash that holds the bundles"),
            (device("/soc/test@100000", owner: 0, compatible: "sifive,test1", base: 0x10_0000), .powerControl,
             "the machine's test/poweroff device"),
        ]
        for (spec, reason, why) in cases {
            let plan = devicePlan([spec])
            let path = spec.path.withBytes { String(decoding: $0, as: UTF8.self) }
            expectRejected(plan, on: b, .deviceReserved(partition: 0, device: 0, reason: reason), partition: 0, field: .devices,
                           message: "partition #0 \"alpha\", field devices: device \(path) is reserved: it is \(why)")
        }
        // The console of a tree without stdout-path: its first ns16550a.
        let uart = device("/soc/uart@10000000", owner: 1, compatible: "ns16550a", base: 0x1000_0000, interrupts: [10])
        #expect(validationError(devicePlan([uart]), board(try customCatalog())) ==
                .deviceReserved(partition: 1, device: 0, reason: .console))
    }

    @Test func mismatch() throws {
        let b = board(try virtCatalog())
        let message = "partition #1 \"beta\", field devices: device /soc/rtc@101000 does not match the board's node at that path (region, interrupts, compatible or DMA)"
        let edits: [(String, (inout DeviceSpec) -> Void)] = [
            ("region size", { $0.region.size = 0x2000 }),
            ("region base", { $0.region.base = HostPhysAddr(0x10_2000) }),
            ("interrupt", { $0.interrupts[0] = 12 }),
            ("extra interrupt", { $0.interrupts[1] = 12; $0.interruptCount = 2 }),
            ("no interrupt", { $0.interruptCount = 0 }),
            ("dma flag", { $0.dmaCapable = true }),
            ("compatible", { $0.compatible = text("google,goldfish-rtd") }),
            ("empty compatible", { $0.compatible = DeviceCompatible() }),
            ("compatible prefix", { $0.compatible = text("google,goldfish") }),
        ]
        for (what, edit) in edits {
            var spec = rtc(owner: 1)
            edit(&spec)
            let plan = devicePlan([virtio(8, owner: 1), spec])
            let error = validationError(plan, b)
            #expect(error == .deviceMismatch(partition: 1, device: 1), "\(what)")
            if let error {
                #expect(error.field == .devices && error.partition == 1, "\(what)")
                #expect(render(error, plan) == message, "\(what)")
            }
        }
        // The virtio transport without its DMA flag.
        var quiet = virtio(8, owner: 1)
        quiet.dmaCapable = false
        #expect(validationError(devicePlan([quiet]), b) == .deviceMismatch(partition: 1, device: 0))
    }

    @Test func multipleRegions() throws {
        let twin = device("/soc/twin@20000000", owner: 0, compatible: "acme,twin", base: 0x2000_0000)
        expectRejected(devicePlan([twin]), on: board(try customCatalog()), .deviceMultipleRegions(partition: 0, device: 0, count: 2),
                       partition: 0, field: .devices,
                       message: "partition #0 \"alpha\", field devices: device /soc/twin@20000000 has 2 `reg` entries; only devices with one region can be given")
    }

    @Test func misaligned() throws {
        // QEMU's fw-cfg: 0x18 bytes (it is dma-coherent, but its region is refused first).
        let fwcfg = device("/fw-cfg@10100000", owner: 0, compatible: "qemu,fw-cfg-mmio", base: 0x1010_0000, size: 0x18, dma: true)
        expectRejected(devicePlan([fwcfg]), on: board(try virtCatalog()), .deviceMisaligned(partition: 0, device: 0),
                       partition: 0, field: .devices,
                       message: "partition #0 \"alpha\", field devices: device /fw-cfg@10100000 has a region that is not 4 KiB aligned (0x10100000 + 0x18)")
        let empty = device("/soc/empty@27001000", owner: 1, compatible: "acme,empty", base: 0x2700_1000, size: 0)
        expectRejected(devicePlan([empty]), on: board(try customCatalog()), .deviceMisaligned(partition: 1, device: 0),
                       partition: 1, field: .devices,
                       message: "partition #1 \"beta\", field devices: device /soc/empty@27001000 has a region that is not 4 KiB aligned (0x27001000 + 0x0)")
    }

    @Test func inRAM() throws {
        let inram = device("/soc/inram@bff00000", owner: 0, compatible: "acme,inram", base: 0xBFF0_0000)
        expectRejected(devicePlan([inram]), on: board(try customCatalog()), .deviceInRAM(partition: 0, device: 0),
                       partition: 0, field: .devices,
                       message: "partition #0 \"alpha\", field devices: device /soc/inram@bff00000 has a region inside RAM (0xbff00000 + 0x1000)")
    }

    @Test func assignedTwice() throws {
        let b = board(try virtCatalog())
        expectRejected(devicePlan([rtc(owner: 0), rtc(owner: 1)]), on: b,
                       .deviceAssignedTwice(partition: 1, device: 1, first: 0, firstOwner: 0), partition: 1, field: .devices,
                       message: "partition #1 \"beta\", field devices: device /soc/rtc@101000 is already given (device #0 of partition #0 \"alpha\"); a device belongs to one partition only")
        // Twice to the same partition, after another device.
        #expect(validationError(devicePlan([virtio(8, owner: 1), rtc(owner: 1), rtc(owner: 1)]), b) ==
                .deviceAssignedTwice(partition: 1, device: 2, first: 1, firstOwner: 1))
        // Two nodes whose regions overlap.
        let wide = device("/soc/wide@26000000", owner: 1, compatible: "acme,wide", base: 0x2600_0000, size: 0x2000, interrupts: [30])
        let inner = device("/soc/inner@26001000", owner: 0, compatible: "acme,inner", base: 0x2600_1000, interrupts: [31])
        expectRejected(devicePlan([wide, inner]), on: board(try customCatalog()),
                       .deviceAssignedTwice(partition: 0, device: 1, first: 0, firstOwner: 1), partition: 0, field: .devices,
                       message: "partition #0 \"alpha\", field devices: device /soc/inner@26001000 is already given (device #0 of partition #1 \"beta\"); a device belongs to one partition only")
    }

    @Test func aPLICSourceBelongsToOnePartition() throws {
        // Two nodes sharing one interrupt line: one partition may own both, two partitions may not
        // (the physical source has one owner, and each virtual PLIC would mirror its enables).
        let b = board(try customCatalog())
        let a = device("/soc/line-a@29000000", owner: 0, compatible: "acme,line", base: 0x2900_0000, interrupts: [50])
        var second = device("/soc/line-b@29001000", owner: 0, compatible: "acme,line", base: 0x2900_1000, interrupts: [50])
        #expect(validationError(devicePlan([a, second]), b) == nil)
        second.owner = 1
        let plan = devicePlan([a, second])
        expectRejected(plan, on: b, .deviceInterruptShared(partition: 1, device: 1, source: 50, first: 0, firstOwner: 0),
                       partition: 1, field: .devices,
                       message: "partition #1 \"beta\", field devices: device /soc/line-b@29001000 uses PLIC source 50, which device #0 of partition #0 \"alpha\" also uses; an interrupt belongs to one partition only")
        // Any of a device's sources, against any earlier device of another partition.
        let wide = device("/soc/wide@26000000", owner: 1, compatible: "acme,wide", base: 0x2600_0000, size: 0x2000, interrupts: [30])
        let third = device("/soc/line-c@29002000", owner: 1, compatible: "acme,line", base: 0x2900_2000, interrupts: [51, 50])
        #expect(validationError(devicePlan([wide, a, third]), b) ==
                .deviceInterruptShared(partition: 1, device: 2, source: 50, first: 1, firstOwner: 0))
        var own = third
        own.owner = 0
        #expect(validationError(devicePlan([wide, a, own]), b) == nil)
    }

    @Test func tooManyInterrupts() throws {
        // Interrupts of another controller (a GPIO block's, inherited or own interrupt-parent), or
        // given with interrupts-extended, cannot be delivered through the virtual PLIC.
        let button = device("/soc/button@28001000", owner: 0, compatible: "acme,button", base: 0x2800_1000, interrupts: [3, 0])
        expectRejected(devicePlan([button]), on: board(try customCatalog()), .deviceInterruptsNotOnPLIC(partition: 0, device: 0),
                       partition: 0, field: .devices,
                       message: "partition #0 \"alpha\", field devices: device /soc/button@28001000 has interrupts that go to "
                           + "another interrupt controller than the PLIC (its interrupt-parent or interrupts-extended); only PLIC "
                           + "interrupts can be delivered to a partition")
        let ext = device("/soc/ext@28002000", owner: 0, compatible: "acme,ext", base: 0x2800_2000, interrupts: [41])
        expectRejected(devicePlan([ext]), on: board(try customCatalog()), .deviceInterruptsNotOnPLIC(partition: 0, device: 0),
                       partition: 0, field: .devices,
                       message: "partition #0 \"alpha\", field devices: device /soc/ext@28002000 has interrupts that go to "
                           + "another interrupt controller than the PLIC (its interrupt-parent or interrupts-extended); only PLIC "
                           + "interrupts can be delivered to a partition")
        #expect(try lookup(customCatalog(), "/soc/line-a@29000000")?.interruptsOnPLIC == true, "inherited from the root")
        let many = device("/soc/many@21000000", owner: 0, compatible: "acme,many", base: 0x2100_0000, interrupts: [1, 2, 3, 4])
        expectRejected(devicePlan([many]), on: board(try customCatalog()), .deviceTooManyInterrupts(partition: 0, device: 0, count: 5),
                       partition: 0, field: .devices,
                       message: "partition #0 \"alpha\", field devices: device /soc/many@21000000 has 5 interrupts; at most 4 are supported")
    }

    @Test func interruptOutOfRange() throws {
        let b = board(try customCatalog())
        let zero = device("/soc/zero@22000000", owner: 0, compatible: "acme,zero", base: 0x2200_0000, interrupts: [0])
        expectRejected(devicePlan([zero]), on: b, .deviceInterruptOutOfRange(partition: 0, device: 0, source: 0),
                       partition: 0, field: .devices,
                       message: "partition #0 \"alpha\", field devices: device /soc/zero@22000000 uses PLIC source 0; sources 1 to 255 are supported")
        let high = device("/soc/high@23000000", owner: 1, compatible: "acme,high", base: 0x2300_0000, interrupts: [256])
        expectRejected(devicePlan([high]), on: b, .deviceInterruptOutOfRange(partition: 1, device: 0, source: 256),
                       partition: 1, field: .devices,
                       message: "partition #1 \"beta\", field devices: device /soc/high@23000000 uses PLIC source 256; sources 1 to 255 are supported")
    }

    @Test func needsTrustedDMA() throws {
        let b = board(try virtCatalog())
        expectRejected(devicePlan([rtc(owner: 0), virtio(8, owner: 0)]), on: b, .deviceNeedsTrustedDMA(partition: 0, device: 1),
                       partition: 0, field: .dma,
                       message: "partition #0 \"alpha\", field dma: device /soc/virtio_mmio@10008000 can do DMA, which reaches all memory without an IOMMU: its partition must say dma = \"trusted\"")
        #expect(validationError(devicePlan([pci(owner: 1)], betaDMA: false), b) == .deviceNeedsTrustedDMA(partition: 1, device: 0))
        #expect(validationError(devicePlan([pci(owner: 1)], betaDMA: true), b) == nil)
    }

    @Test func theFirstBadDeviceIsReported() throws {
        let b = board(try virtCatalog())
        let serial = device("/soc/serial@10000000", owner: 1, base: 0x1000_0000, size: 0x100)
        #expect(validationError(devicePlan([rtc(owner: 0), serial, rtc(owner: 1)]), b) ==
                .deviceReserved(partition: 1, device: 1, reason: .console))
        // Partition errors come first.
        var plan = devicePlan([serial])
        plan.partitions[0].imageSize = 0
        #expect(validationError(plan, b) == .emptyImage(partition: 0))
    }

    @Test func tooManyDevicesMessage() {
        let plan = devicePlan([])
        let error = PlanError.tooManyDevices(count: 9)
        #expect(error.partition == nil && error.field == nil && error.device == nil)
        #expect(render(error, plan) == "the plan gives 9 devices; at most 8 are supported")
        var full = DeviceTable()
        for n in 1...8 {
            let added = full.append(virtio(n, owner: 1))
            #expect(added)
        }
        let ninth = full.append(rtc())
        #expect(!ninth)
        #expect(full.count == 8)
    }
}

// MARK: - dma = "trusted" addresses

@Suite("Devices: dma = \"trusted\" puts guest RAM at its host address")
struct TrustedDMAAddressTests {
    @Test func addressesFollowTheFlag() {
        var spec = PartitionSpec()
        spec.memory = HostRegion(base: HostPhysAddr(0x8800_0000), size: 64 * mib)
        spec.initrdSize = 0x3000
        #expect(spec.ramBase == guestRAMBase)
        #expect(spec.deviceTreeAddress == GuestPhysAddr(0x8000_0000 + 64 * mib - PlanLimits.deviceTreeReserve))
        #expect(spec.initrdAddress == GuestPhysAddr(0x8000_0000 + 64 * mib - PlanLimits.deviceTreeReserve - 0x3000))
        #expect(spec.guestMemory.guestBase == guestRAMBase)
        spec.flags.dmaTrusted = true
        #expect(spec.flags.raw == 1)
        #expect(spec.ramBase == GuestPhysAddr(0x8800_0000))
        #expect(spec.deviceTreeAddress == GuestPhysAddr(0x8800_0000 + 64 * mib - PlanLimits.deviceTreeReserve))
        #expect(spec.initrdAddress == GuestPhysAddr(0x8800_0000 + 64 * mib - PlanLimits.deviceTreeReserve - 0x3000))
        #expect(spec.guestMemory.guestBase == GuestPhysAddr(0x8800_0000))
        // uart is a separate bit.
        spec.flags.uart = true
        #expect(spec.flags.raw == 3 && spec.hasVirtualUART)
        spec.flags.dmaTrusted = false
        #expect(spec.flags.raw == 2 && spec.ramBase == guestRAMBase)
    }

    @Test func aFlatTrustedPartitionsEntryIsCheckedAgainstItsOwnRAM() throws {
        let b = board(try virtCatalog())
        var plan = devicePlan([])
        #expect(plan[1].entry == GuestPhysAddr(0x8800_0000))
        #expect(validationError(plan, b) == nil)
        plan.partitions[1].entry = GuestPhysAddr(0x8800_0000 + 0x1000 - 2)
        #expect(validationError(plan, b) == nil)
        for bad: UInt64 in [0x8000_0000, 0x8800_0000 + 0x1000, 0x87FF_FFFE] {
            plan.partitions[1].entry = GuestPhysAddr(bad)
            #expect(validationError(plan, b) == .entryOutsideImage(partition: 1), "entry \(String(bad, radix: 16))")
        }
        plan.partitions[1].entry = GuestPhysAddr(0x8800_0001)
        #expect(validationError(plan, b) == .entryMisaligned(partition: 1))
        // Without the flag, the same partition is entered at 0x8000_0000.
        plan = devicePlan([], betaDMA: false)
        plan.partitions[1].entry = GuestPhysAddr(0x8800_0000)
        #expect(validationError(plan, b) == .entryOutsideImage(partition: 1))
        plan.partitions[1].entry = guestRAMBase
        #expect(validationError(plan, b) == nil)
    }

    @Test func aLinuxTrustedPartitionIsEnteredAboveItsOwnRAMBase() throws {
        let b = board(try virtCatalog())
        var plan = devicePlan([])
        plan.partitions[1].imageKind = .linux
        plan.partitions[1].entry = GuestPhysAddr(0x8800_0000 + PageSize.mega)
        #expect(validationError(plan, b) == nil)
        #expect(plan[1].imageLoadOffset == PageSize.mega)
        plan.partitions[1].entry = GuestPhysAddr(0x8000_0000 + PageSize.mega)
        #expect(validationError(plan, b) == .linuxEntryMisaligned(partition: 1))
    }
}

// MARK: - Bundle records

/// A stand-in for SHA-512 (the reader checks structure only).
private func fakeDigest(_ image: [UInt8]) -> [UInt8] { (0..<64).map { UInt8(truncatingIfNeeded: image.count &+ $0) } }
/// A stand-in for Ed25519.
private func fakeSign(_ manifest: [UInt8]) -> [UInt8] {
    (0..<64).map { UInt8(truncatingIfNeeded: manifest.count &+ $0 &* 3) ^ manifest[$0 % manifest.count] }
}

private let longPath = "/soc/" + String(repeating: "p", count: 50) + "@12345600"     // 64 bytes
private let longCompatible = "acme," + String(repeating: "c", count: 43)           // 48 bytes

/// Two partitions (flags uart, and dma-trusted + uart) and four devices: the RTC, a virtio
/// transport, one with the longest path and compatible and four interrupts, and one with no
/// interrupts, no compatible and an owner no partition has (the reader leaves owners to validation).
private func bundlePlan() -> (PartitionPlan, [[UInt8]]) {
    var plan = devicePlan([
        rtc(owner: 0),
        virtio(8, owner: 1),
        device(longPath, owner: 1, compatible: longCompatible, base: 0x1_2345_6000, size: 0x10_0000,
               interrupts: [1, 255, 0x1234_5678, 4], dma: false),
        device("/x", owner: 7, base: 0, size: 0),
    ])
    plan.partitions[0].flags.uart = true
    plan.partitions[1].flags.uart = true
    let images: [[UInt8]] = [[UInt8](repeating: 0x13, count: 0x1000), [UInt8](repeating: 0x17, count: 0x1000)]
    return (plan, images)
}

private func encode(_ plan: PartitionPlan, _ images: [[UInt8]]) -> [UInt8] {
    BundleWriter.encode(plan: plan, images: images, securityVersion: 1, keyID: SigningKeyID(raw: 0x1122_3344_5566_7788),
                        digest: fakeDigest, sign: fakeSign)
}

private func readBundle(_ bytes: [UInt8]) -> Result<PartitionPlan, BundleError> {
    bytes.withUnsafeBytes { raw in
        do throws(BundleError) {
            return .success(try BundleReader(bytes: raw).plan)
        } catch {
            return .failure(error)
        }
    }
}

private func readError(_ bytes: [UInt8]) -> BundleError? {
    if case .failure(let e) = readBundle(bytes) { return e }
    return nil
}

private func describe(_ error: BundleError) -> String {
    var sink = StringSink()
    error.write(to: &sink)
    return sink.text
}

/// The 192-byte device record as docs/bundle-format.md lays it out, built by hand.
private func expectedRecord(_ d: DeviceSpec, owner: UInt8) -> [UInt8] {
    var r = [UInt8](repeating: 0, count: 192)
    func put(_ at: Int, _ value: UInt64, _ width: Int) {
        for i in 0..<width { r[at + i] = UInt8(truncatingIfNeeded: value >> UInt64(8 * i)) }
    }
    r[0] = owner
    r[1] = UInt8(d.interruptCount)
    r[2] = d.dmaCapable ? 1 : 0
    r[3] = UInt8(d.path.count)
    r[4] = UInt8(d.compatible.count)
    put(8, d.region.base.raw, 8)
    put(16, d.region.size, 8)
    for i in 0..<d.interruptCount { put(24 + 4 * i, UInt64(d.interrupts[i]), 4) }
    d.path.withBytes { for (i, b) in $0.enumerated() { r[64 + i] = b } }
    d.compatible.withBytes { for (i, b) in $0.enumerated() { r[128 + i] = b } }
    return r
}

private func sameDevice(_ a: DeviceSpec, _ b: DeviceSpec) -> Bool {
    guard a.owner == b.owner, a.path.equals(b.path), a.compatible.equals(b.compatible), a.region == b.region,
          a.interruptCount == b.interruptCount, a.dmaCapable == b.dmaCapable else { return false }
    return (0..<a.interruptCount).allSatisfy { a.interrupts[$0] == b.interrupts[$0] }
}

/// Where device record `d` of `bundlePlan()` starts: after the header and the two partition records.
private func deviceRecord(_ d: Int) -> Int { 64 + 2 * 320 + 192 * d }

@Suite("Devices: bundle records and partition flags")
struct DeviceBundleTests {
    @Test func roundTripKeepsEveryField() throws {
        let (plan, images) = bundlePlan()
        #expect(longPath.utf8.count == 64 && longCompatible.utf8.count == 48)
        var signed: [UInt8] = []
        let bytes = BundleWriter.encode(plan: plan, images: images, securityVersion: 1, keyID: SigningKeyID(raw: 1),
                                        digest: fakeDigest, sign: { signed = $0; return fakeSign($0) })
        let decoded = try readBundle(bytes).get()
        #expect(decoded.count == 2)
        #expect(decoded[0].flags.raw == PartitionFlags.uart)
        #expect(decoded[1].flags.raw == PartitionFlags.uart | PartitionFlags.dmaTrusted)
        #expect(decoded[1].flags.dmaTrusted && decoded[1].flags.uart && !decoded[0].flags.dmaTrusted)
        #expect(decoded[1].entry == GuestPhysAddr(0x8800_0000))
        #expect(decoded.devices.count == 4)
        for d in 0..<4 {
            #expect(sameDevice(decoded.devices[d], plan.devices[d]), "device \(d)")
        }
        #expect(decoded.devices[2].interrupts[2] == 0x1234_5678)
        #expect(decoded.devices[3].owner == 7 && decoded.devices[3].compatible.count == 0)

        // The header counts them; the records sit after the partition records, as documented.
        #expect(bytes[48] == 4 && bytes[49] == 0 && bytes[50] == 192 && bytes[51] == 0)
        #expect(bytes[64 + 288] == 2 && bytes[64 + 320 + 288] == 3)
        for d in 0..<4 {
            #expect(Array(bytes[deviceRecord(d)..<deviceRecord(d + 1)]) == expectedRecord(plan.devices[d], owner: plan.devices[d].owner),
                    "record \(d)")
        }

        // The manifest (the signed bytes) ends after the device records; the signature follows them.
        let manifest = 64 + 2 * 320 + 4 * 192
        #expect(BundleFormat.manifestLength(partitionCount: 2, channelCount: 0, initrdCount: 0, deviceCount: 4) == manifest)
        #expect(signed == Array(bytes[0..<manifest]))
        try bytes.withUnsafeBytes { raw throws in
            let reader = try BundleReader(bytes: raw)
            #expect(reader.deviceCount == 4)
            #expect(reader.manifestRange == BundleRange(offset: 0, count: manifest))
            #expect(reader.signatureRange == BundleRange(offset: manifest, count: 64))
            #expect([UInt8](reader.signature) == fakeSign(signed))
            #expect(reader.imageRange(0) == BundleRange(offset: manifest + 64, count: 0x1000))
            #expect(reader.imageRange(1) == BundleRange(offset: manifest + 64 + 0x1000, count: 0x1000))
        }
        #expect(bytes.count == manifest + 64 + 0x2000)
    }

    @Test func aPlanWithoutDevicesHasNoRecordsAndZeroSizes() throws {
        var (plan, images) = bundlePlan()
        plan.devices = DeviceTable()
        let bytes = encode(plan, images)
        #expect(bytes[48] == 0 && bytes[50] == 0)
        #expect(bytes.count == 64 + 640 + 64 + 0x2000)
        #expect(try readBundle(bytes).get().devices.count == 0)
    }

    @Test func partitionFlags() {
        let (plan, images) = bundlePlan()
        let bytes = encode(plan, images)
        func with(_ partition: Int, _ flags: UInt8) -> Result<PartitionPlan, BundleError> {
            var b = bytes
            b[64 + 320 * partition + 288] = flags
            return readBundle(b)
        }
        #expect((try? with(0, 0).get())?[0].flags.raw == 0)
        #expect((try? with(0, 1).get())?[0].flags.dmaTrusted == true)
        for bad: UInt8 in [4, 0x80, 0xFF, 7] {
            let error = readError({ var b = bytes; b[64 + 320 + 288] = bad; return b }())
            #expect(error == .unknownPartitionFlags(partition: 1, value: bad))
        }
        #expect(describe(.unknownPartitionFlags(partition: 1, value: 4))
                == "partition record #1: the flags 0x4 set bits outside dma-trusted (0x1) and uart (0x2)")
    }

    @Test func headerCountAndSize() {
        let (plan, images) = bundlePlan()
        let bytes = encode(plan, images)
        func with(_ offset: Int, _ value: UInt64, _ width: Int = 2, in source: [UInt8]? = nil) -> BundleError? {
            var b = source ?? bytes
            BundleWriter.put(&b, offset, value, width)
            return readError(b)
        }
        #expect(with(48, 9) == .tooManyDevices(count: 9))
        #expect(with(48, 0xFFFF) == .tooManyDevices(count: 0xFFFF))
        #expect(describe(.tooManyDevices(count: 9)) == "the bundle has 9 device records; at most 8 are supported")
        // With devices the size must be 192; without, 0.
        #expect(with(50, 0) == .wrongDeviceRecordSize(0, count: 4))
        #expect(with(50, 191) == .wrongDeviceRecordSize(191, count: 4))
        #expect(with(50, 193) == .wrongDeviceRecordSize(193, count: 4))
        #expect(with(48, 0) == .wrongDeviceRecordSize(192, count: 0))
        var none = bundlePlan()
        none.0.devices = DeviceTable()
        let plain = encode(none.0, none.1)
        #expect(with(50, 192, in: plain) == .wrongDeviceRecordSize(192, count: 0))
        #expect(describe(.wrongDeviceRecordSize(0, count: 4)) == "the device record size is 0 bytes; with 4 device records it must be 192")
        #expect(describe(.wrongDeviceRecordSize(192, count: 0)) == "the device record size is 192 bytes; with 0 device records it must be 0")
        // A count larger than the records there: the declared length no longer covers the manifest.
        // One record more than written: the manifest grows over the first image.
        #expect(with(48, 5) == .imageOverlapsManifest(partition: 0, offset: UInt64(deviceRecord(4) + 64)))
        // The bundle flags byte after the device fields (bit 0 defined), then the reserved bytes.
        #expect(with(52, 2, 1) == .unknownBundleFlags(value: 2))
        for at in 53..<64 { #expect(with(at, 1, 1) == .reservedNotZero(offset: UInt64(at)), "offset \(at)") }
    }

    @Test func malformedDeviceRecords() {
        let (plan, images) = bundlePlan()
        let bytes = encode(plan, images)
        func with(_ record: Int, _ field: Int, _ value: UInt8) -> BundleError? {
            var b = bytes
            b[deviceRecord(record) + field] = value
            return readError(b)
        }
        #expect(with(0, 1, 5) == .malformedDeviceRecord(record: 0))      // interrupt count
        #expect(with(0, 1, 0xFF) == .malformedDeviceRecord(record: 0))
        #expect(with(1, 3, 0) == .malformedDeviceRecord(record: 1))      // path length 0
        #expect(with(1, 3, 65) == .malformedDeviceRecord(record: 1))     // path length 65
        #expect(with(3, 4, 49) == .malformedDeviceRecord(record: 3))     // compatible length 49
        #expect(with(2, 2, 2) == .malformedDeviceRecord(record: 2))      // unknown flag
        #expect(with(2, 2, 0x81) == .malformedDeviceRecord(record: 2))
        #expect(describe(.malformedDeviceRecord(record: 2))
                == "device record #2: its interrupt count, path length, compatible length or flags are out of range")
        // In range but different: accepted, and read as written.
        var b = bytes
        b[deviceRecord(0) + 2] = 1
        #expect((try? readBundle(b).get())?.devices[0].dmaCapable == true)
        b = bytes
        b[deviceRecord(0) + 1] = 4                                           // interrupts 2-4 are the zero bytes there
        let four = try? readBundle(b).get()
        #expect(four?.devices[0].interruptCount == 4 && four?.devices[0].interrupts[3] == 0)
        b = bytes
        b[deviceRecord(0) + 3] = 14                                          // a shorter path: its last byte is no longer zero padding
        #expect(readError(b) == .reservedNotZero(offset: UInt64(deviceRecord(0) + 64 + 14)))
    }

    @Test func everyReservedByteOfADeviceRecordIsChecked() {
        let (plan, images) = bundlePlan()
        let bytes = encode(plan, images)
        // Record 0: the RTC (1 interrupt, a 15-byte path, a 19-byte compatible).
        // Record 3: no interrupts, a 2-byte path, no compatible.
        let layouts: [(record: Int, reserved: [Int])] = [
            (0, Array(5..<8) + Array(28..<64) + Array((64 + 15)..<128) + Array((128 + 19)..<192)),
            (3, Array(5..<8) + Array(24..<64) + Array((64 + 2)..<128) + Array(128..<192)),
            (2, Array(5..<8) + Array(40..<64) + Array(176..<192)),
        ]
        for (record, reserved) in layouts {
            for at in reserved {
                var b = bytes
                b[deviceRecord(record) + at] = 0x80
                #expect(readError(b) == .reservedNotZero(offset: UInt64(deviceRecord(record) + at)), "record \(record) byte \(at)")
            }
            // And every other byte is a field: changing it is not a reserved-byte error.
            // (Except the interrupt count and the lengths, which move where the reserved bytes start.)
            for at in 0..<192 where !reserved.contains(at) && ![1, 3, 4].contains(at) {
                var b = bytes
                b[deviceRecord(record) + at] ^= 0x01
                if case .reservedNotZero(let offset) = readError(b) {
                    Issue.record("record \(record) byte \(at): reservedNotZero at \(offset)")
                }
            }
        }
    }

    @Test func theSignatureFollowsTheDeviceRecords() {
        let (plan, images) = bundlePlan()
        let bytes = encode(plan, images)
        let manifest = deviceRecord(4)
        #expect(Array(bytes[manifest..<(manifest + 64)]) == fakeSign(Array(bytes[0..<manifest])))
        // One record fewer in the plan: everything after moves up by 192 bytes.
        var three = plan
        var t = DeviceTable()
        for d in 0..<3 { _ = t.append(plan.devices[d]) }
        three.devices = t
        let shorter = encode(three, images)
        #expect(shorter.count == bytes.count - 192)
        #expect(Array(shorter[deviceRecord(3)..<(deviceRecord(3) + 64)]) == fakeSign(Array(shorter[0..<deviceRecord(3)])))
    }
}

// MARK: - The guest's device tree

private func guestTree(_ spec: PartitionSpec, devices: DeviceTable, partition: Int) throws -> [UInt8] {
    var buffer = [UInt8](repeating: 0, count: 0x1_0000)
    let isa = Array("rv64imac_zicsr".utf8), mmu = Array("riscv,sv39".utf8)
    let size = try buffer.withUnsafeMutableBytes { out in
        try isa.withUnsafeBytes { isaRaw in
            try mmu.withUnsafeBytes { mmuRaw in
                try GuestDeviceTree.build(into: out, spec: spec, isa: isaRaw, mmuType: mmuRaw, timebaseFrequency: 10_000_000,
                                          bootCount: 0, devices: devices, partition: partition)
            }
        }
    }
    return Array(buffer[0..<size])
}

private func node(_ r: FDTReader, _ path: String) throws -> FDTNode? {
    try Array(path.utf8).withUnsafeBytes { try r.findNode(path: $0) }
}

private func property(_ r: FDTReader, _ n: FDTNode, _ name: String) throws -> FDTProperty? {
    try Array(name.utf8).withUnsafeBytes { try r.findProperty(named: $0, in: n) }
}

private func cells(_ r: FDTReader, _ n: FDTNode, _ name: String) throws -> [UInt32]? {
    guard let p = try property(r, n, name) else { return nil }
    #expect(p.value.count % 4 == 0)
    return try (0..<p.cellCount).map { try p.cell(at: $0) }
}

private func strings(_ r: FDTReader, _ n: FDTNode, _ name: String) throws -> [String]? {
    guard let p = try property(r, n, name) else { return nil }
    var list = try p.strings()
    var out: [String] = []
    while let s = list.next() { out.append(String(decoding: s, as: UTF8.self)) }
    return out
}

private func rootChildren(_ r: FDTReader) throws -> [String] {
    var names: [String] = []
    var children = r.children(of: try r.findNode("/")!)
    while let child = try children.next() { names.append(String(decoding: child.name, as: UTF8.self)) }
    return names
}

/// Two vCPUs (physical harts 2 and 3), 64 MiB at 0x8800_0000.
private func treeSpec(dma: Bool) -> PartitionSpec {
    var spec = samplePartition(name: "dev", harts: [2, 3], memorySize: 64 * mib)
    spec.memory.base = HostPhysAddr(0x8800_0000)
    spec.flags.dmaTrusted = dma
    return spec
}

/// Partition 0: the RTC (source 11), virtio 3 (source 3), a node with sources 20 and 7, the PCIe
/// bridge (no interrupts). Partition 1: virtio 8.
private func treeDevices() -> DeviceTable {
    table([
        rtc(owner: 0),
        virtio(8, owner: 1),
        virtio(3, owner: 0),
        device("/bus@40000000/timer@2000", owner: 0, compatible: "acme,timer", base: 0x4000_2000, interrupts: [20, 7]),
        pci(owner: 0),
    ])
}

@Suite("Devices: the guest's device tree")
struct DeviceGuestTreeTests {
    @Test func virtualPLICNode() throws {
        let blob = try guestTree(treeSpec(dma: true), devices: treeDevices(), partition: 0)
        _ = try DTC.decompile(blob)       // dtc accepts it
        try withReader(blob) { r throws in
            let plic = try #require(try node(r, "/plic@c000000"))
            #expect(try strings(r, plic, "compatible") == ["sifive,plic-1.0.0", "riscv,plic0"])
            #expect(try r.reg(of: plic) == FDTRegion(address: 0xC00_0000, size: PLICLayout.span))
            #expect(try cells(r, plic, "#interrupt-cells") == [1])
            #expect(try property(r, plic, "interrupt-controller")?.isEmpty == true)
            #expect(try cells(r, plic, "riscv,ndev") == [20], "the highest source the partition owns")
            let phandle = try #require(try cells(r, plic, "phandle")?.first)
            #expect(phandle == GuestDeviceTree.plicPhandle)
            // One <intc, 9> pair per vCPU, naming that vCPU's interrupt controller.
            var expected: [UInt32] = []
            for vcpu in 0..<2 {
                let intc = try #require(try node(r, "/cpus/cpu@\(vcpu)/interrupt-controller"))
                let intcPhandle = try #require(try cells(r, intc, "phandle")?.first)
                expected += [intcPhandle, 9]
            }
            #expect(try cells(r, plic, "interrupts-extended") == expected)
            // The PLIC's phandle is no other node's.
            var owners = 0
            var walker = r.walk()
            while let n = try walker.next() { if try cells(r, n, "phandle") == [phandle] { owners += 1 } }
            #expect(owners == 1)
        }
    }

    @Test func deviceNodes() throws {
        let blob = try guestTree(treeSpec(dma: true), devices: treeDevices(), partition: 0)
        try withReader(blob) { r throws in
            let children = try rootChildren(r)
            for name in ["rtc@101000", "virtio_mmio@10003000", "timer@2000", "pci@30000000", "plic@c000000"] {
                #expect(children.contains(name), "\(name) in \(children)")
            }
            #expect(!children.contains("virtio_mmio@10008000"), "partition 1's device")
            #expect(Set(children).count == children.count, "no two nodes of the root share a name")

            let rtcNode = try #require(try node(r, "/rtc@101000"))
            #expect(try strings(r, rtcNode, "compatible") == ["google,goldfish-rtc"])
            #expect(try r.reg(of: rtcNode) == FDTRegion(address: 0x10_1000, size: 0x1000))
            #expect(try cells(r, rtcNode, "interrupts") == [11])
            #expect(try cells(r, rtcNode, "interrupt-parent") == [GuestDeviceTree.plicPhandle])

            let timer = try #require(try node(r, "/timer@2000"))
            #expect(try strings(r, timer, "compatible") == ["acme,timer"])
            #expect(try r.reg(of: timer) == FDTRegion(address: 0x4000_2000, size: 0x1000))
            #expect(try cells(r, timer, "interrupts") == [20, 7])
            #expect(try cells(r, timer, "interrupt-parent") == [GuestDeviceTree.plicPhandle])

            let virtioNode = try #require(try node(r, "/virtio_mmio@10003000"))
            #expect(try cells(r, virtioNode, "interrupts") == [3])

            // Without interrupts: no interrupts and no interrupt-parent.
            let bridge = try #require(try node(r, "/pci@30000000"))
            #expect(try r.reg(of: bridge) == FDTRegion(address: 0x3000_0000, size: 0x1000_0000))
            #expect(try property(r, bridge, "interrupts") == nil)
            #expect(try property(r, bridge, "interrupt-parent") == nil)

            // dma = "trusted": RAM at its host-physical base.
            let memory = try #require(try node(r, "/memory@88000000"))
            #expect(try r.reg(of: memory) == FDTRegion(address: 0x8800_0000, size: 64 * mib))
            #expect(try node(r, "/memory@80000000") == nil)
        }
    }

    @Test func theOtherPartitionSeesOnlyItsOwn() throws {
        let blob = try guestTree(treeSpec(dma: false), devices: treeDevices(), partition: 1)
        try withReader(blob) { r throws in
            let children = try rootChildren(r)
            #expect(children.contains("virtio_mmio@10008000"))
            for name in ["rtc@101000", "virtio_mmio@10003000", "timer@2000", "pci@30000000"] {
                #expect(!children.contains(name), "\(name)")
            }
            let plic = try #require(try node(r, "/plic@c000000"))
            #expect(try cells(r, plic, "riscv,ndev") == [8])
            let memory = try #require(try node(r, "/memory@80000000"))
            #expect(try r.reg(of: memory) == FDTRegion(address: 0x8000_0000, size: 64 * mib))
        }
    }

    @Test func noPLICWithoutInterrupts() throws {
        // Only the PCIe bridge (no interrupts): its node, but no PLIC.
        let onlyBridge = try guestTree(treeSpec(dma: true), devices: table([pci(owner: 0), virtio(8, owner: 1)]), partition: 0)
        try withReader(onlyBridge) { r throws in
            #expect(try node(r, "/plic@c000000") == nil)
            #expect(try node(r, "/pci@30000000") != nil)
        }
        // No devices at all: neither, and the tree is what it was before devices existed.
        let none = try guestTree(treeSpec(dma: false), devices: table([rtc(owner: 1)]), partition: 0)
        let before = try buildGuestTree(treeSpec(dma: false), isa: "rv64imac_zicsr", mmuType: "riscv,sv39")
        #expect(none == before)
        try withReader(none) { r throws in
            #expect(try rootChildren(r) == ["chosen", "bulkhead-console", "cpus", "memory@80000000"])
        }
    }
}

// MARK: - HostPLIC

private func hostPLIC(_ blob: [UInt8]) throws -> HostPLIC? {
    try blob.withUnsafeBytes { raw in try HostPLIC(reader: FDTReader(raw)) }
}

@Suite("Devices: the board's PLIC (HostPLIC)")
struct HostPLICTests {
    @Test func qemuVirtSMP4() throws {
        // The fixture's PLIC: reg <0x0 0xc000000 0x0 0x600000>, riscv,ndev 0x60, interrupts-extended
        // <&cpu0_intc 11 &cpu0_intc 9 &cpu1_intc 11 &cpu1_intc 9 ...>: hart h's S context is 2h+1.
        let plic = try #require(try hostPLIC(FDTFixtures.load("qemu-virt-smp4.dtb")))
        #expect(plic.region == HostRegion(base: HostPhysAddr(0xC00_0000), size: 0x60_0000))
        #expect(plic.sourceCount == 96)
        for hart in 0..<4 { #expect(plic.context(ofHart: hart) == 2 * hart + 1, "hart \(hart)") }
        for hart in [4, 7, 8, -1, 100] { #expect(plic.context(ofHart: hart) == nil, "hart \(hart)") }
    }

    @Test func theShippedEightHartTree() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Tools/BulkheadTool/Resources/qemu-virt.dtb")
        let plic = try #require(try hostPLIC([UInt8](Data(contentsOf: url))))
        #expect(plic.sourceCount == 96)
        for hart in 0..<8 { #expect(plic.context(ofHart: hart) == 2 * hart + 1, "hart \(hart)") }
    }

    @Test func noPLIC() throws {
        #expect(try hostPLIC(DTC.compile(customBoardSource)) != nil)
        let withoutPLIC = customBoardSource.replacingOccurrences(of: "\"sifive,plic-1.0.0\", \"riscv,plic0\"",
                                                                 with: "\"acme,intc\"")
        #expect(try hostPLIC(DTC.compile(withoutPLIC)) == nil)
    }

    @Test func anSContextOnlyPLICWithTheOlderCompatible() throws {
        // Harts 1 and 0 (cpu@1 first), supervisor contexts only; a cause-11 (M) pair is ignored.
        let blob = try DTC.compile("""
            /dts-v1/;
            / {
                #address-cells = <2>;
                #size-cells = <2>;
                cpus {
                    #address-cells = <1>;
                    #size-cells = <0>;
                    cpu@0 { reg = <0>; intc0: interrupt-controller { interrupt-controller; #interrupt-cells = <1>; }; };
                    cpu@1 { reg = <1>; intc1: interrupt-controller { interrupt-controller; #interrupt-cells = <1>; }; };
                };
                interrupt-controller@c000000 {
                    compatible = "riscv,plic0";
                    reg = <0x0 0xc000000 0x0 0x4000000>;
                    riscv,ndev = <31>;
                    interrupt-controller;
                    #interrupt-cells = <1>;
                    interrupts-extended = <&intc1 9 &intc0 11 &intc0 9>;
                };
            };
            """)
        let plic = try #require(try hostPLIC(blob))
        #expect(plic.region == HostRegion(base: HostPhysAddr(0xC00_0000), size: 0x400_0000))
        #expect(plic.sourceCount == 31)
        #expect(plic.context(ofHart: 1) == 0)
        #expect(plic.context(ofHart: 0) == 2)
    }
}

// MARK: - G-stage mappings

@Suite("Devices: G-stage mappings")
struct DeviceGStageTests {
    private func translate(_ table: GStageTable, _ memory: FakeTableMemory, _ guest: UInt64) -> GStageTranslation? {
        table.translate(GuestPhysAddr(guest), memory: memory)
    }

    @Test func theOwnersDevicesAtTheirOwnAddressReadWrite() throws {
        let devices = treeDevices()
        var memory = FakeTableMemory(capacity: 4 << 20)
        let spec = pagingSpec(base: 0x8400_0000, size: 4 * mib)
        let table = try GStageTable.buildPartition(spec: spec, devices: devices, partition: 0, vmid: 1, memory: &memory)
        // Every byte of each 4 KiB device page maps to itself, read/write, not executable.
        for base: UInt64 in [0x10_1000, 0x1000_3000, 0x4000_2000] {
            for offset: UInt64 in [0, 4, 0x800, 0xFFF] {
                let t = translate(table, memory, base + offset)
                #expect(t == GStageTranslation(host: HostPhysAddr(base + offset), permissions: .readWrite, pageSize: PageSize.base),
                        "\(String(base + offset, radix: 16))")
                #expect(t?.permissions.contains(.execute) == false)
            }
            #expect(translate(table, memory, base - 1) == nil)
            #expect(translate(table, memory, base + 0x1000) == nil)
        }
        // The 256 MiB bridge: 2 MiB pages, read/write.
        for guest: UInt64 in [0x3000_0000, 0x3123_4568, 0x3FFF_FFFF] {
            #expect(translate(table, memory, guest) ==
                    GStageTranslation(host: HostPhysAddr(guest), permissions: .readWrite, pageSize: PageSize.mega))
        }
        #expect(translate(table, memory, 0x4000_0000) == nil)
        #expect(translate(table, memory, 0x2FFF_FFFF) == nil)
        // Partition 1's device is not mapped here; RAM still is, at 0x8000_0000.
        #expect(translate(table, memory, 0x1000_8000) == nil)
        #expect(translate(table, memory, 0x8000_0000) ==
                GStageTranslation(host: HostPhysAddr(0x8400_0000), permissions: .readWriteExecute, pageSize: PageSize.mega))
        // Every leaf is RAM (RWX) or a device (RW): 2 RAM superpages, 3 device pages, 128 bridge superpages.
        let contents = GStageContents(table, memory)
        let rw = contents.leaves.filter { $0.pte.permissions == .readWrite }
        let rwx = contents.leaves.filter { $0.pte.permissions == .readWriteExecute }
        #expect(rw.count == 3 + 128 && rwx.count == 2 && contents.leaves.count == rw.count + rwx.count)
        #expect(rw.allSatisfy { $0.guest.raw == $0.pte.address.raw })
    }

    @Test func onlyTheOwnersDevices() throws {
        let devices = treeDevices()
        var memory = FakeTableMemory()
        var spec = pagingSpec(base: 0x8800_0000, size: 2 * mib)
        spec.flags.dmaTrusted = true
        let table = try GStageTable.buildPartition(spec: spec, devices: devices, partition: 1, vmid: 2, memory: &memory)
        #expect(translate(table, memory, 0x1000_8000) ==
                GStageTranslation(host: HostPhysAddr(0x1000_8000), permissions: .readWrite, pageSize: PageSize.base))
        for other: UInt64 in [0x10_1000, 0x1000_3000, 0x4000_2000, 0x3000_0000, 0x1000_7000, 0x1000_9000] {
            #expect(translate(table, memory, other) == nil, "\(String(other, radix: 16))")
        }
        // dma = "trusted": RAM at its host address, nothing at 0x8000_0000.
        #expect(translate(table, memory, 0x8800_0000)?.host == HostPhysAddr(0x8800_0000))
        #expect(translate(table, memory, 0x8000_0000) == nil)
        // A partition that owns nothing gets RAM alone.
        var bare = FakeTableMemory()
        let none = try GStageTable.buildPartition(spec: spec, devices: devices, partition: 3, vmid: 4, memory: &bare)
        #expect(GStageContents(none, bare).leaves.count == 1)
    }
}

// MARK: - Policy digest

@Suite("Devices: the policy digest")
struct DevicePolicyDigestTests {
    /// SHA-512 of the policy label and `bytes`, as docs/keys.md defines it.
    private func digest(_ bytes: [UInt8]) -> SHA512Digest {
        var h = SHA512()
        Array("Bulkhead policy v1".utf8).withUnsafeBytes { h.update($0) }
        bytes.withUnsafeBytes { h.update($0) }
        return h.finalize()
    }

    private func spec() -> PartitionSpec {
        var s = PartitionSpec()
        s.keyPolicy = KeyPolicy(raw: 0x0105)
        s.onFault = .restart
        return s
    }

    @Test func unchangedWithoutFlagsOrDevices() {
        let old = digest([0x05, 0x01, 1])
        #expect(KeyChain.policyDigest(spec()) == old)
        #expect(KeyChain.policyDigest(spec(), devices: DeviceTable(), partition: 0) == old)
        // Devices owned by other partitions do not count.
        #expect(KeyChain.policyDigest(spec(), devices: table([rtc(owner: 1), virtio(8, owner: 2)]), partition: 0) == old)
        #expect(KeyChain.policyDigest(PartitionSpec()) == digest([0, 0, 0]))
    }

    @Test func flagsChangeIt() {
        var s = spec()
        let plain = KeyChain.policyDigest(s)
        s.flags.dmaTrusted = true
        let trusted = KeyChain.policyDigest(s)
        #expect(trusted != plain)
        #expect(trusted == digest([0x05, 0x01, 1, 1]))
        s.flags = PartitionFlags(raw: PartitionFlags.uart)
        #expect(KeyChain.policyDigest(s) == digest([0x05, 0x01, 1, 2]))
        #expect(KeyChain.policyDigest(s) != trusted && KeyChain.policyDigest(s) != plain)
    }

    @Test func ownedDevicesChangeIt() {
        let s = spec()
        let plain = KeyChain.policyDigest(s)
        let one = KeyChain.policyDigest(s, devices: table([rtc(owner: 0)]), partition: 0)
        #expect(one != plain)
        #expect(one == digest([0x05, 0x01, 1, 0] + expectedRecord(rtc(), owner: 0)))
        // Partition 1 owning the same device: the owner byte is measured as zero.
        #expect(KeyChain.policyDigest(s, devices: table([virtio(8, owner: 0), rtc(owner: 1)]), partition: 1) == one)
        // Two devices, in plan order; other partitions' devices in between change nothing.
        let two = KeyChain.policyDigest(s, devices: table([rtc(owner: 0), virtio(8, owner: 0)]), partition: 0)
        #expect(two == digest([0x05, 0x01, 1, 0] + expectedRecord(rtc(), owner: 0) + expectedRecord(virtio(8, owner: 0), owner: 0)))
        #expect(KeyChain.policyDigest(s, devices: table([rtc(owner: 0), pci(owner: 1), virtio(8, owner: 0), virtio(1, owner: 2)]),
                                      partition: 0) == two)
        #expect(two != one)
        // Any field of an owned device matters.
        var moved = rtc(owner: 0)
        moved.interrupts[0] = 12
        #expect(KeyChain.policyDigest(s, devices: table([moved]), partition: 0) != one)
        // And the whole key chain follows.
        let image = [UInt8](repeating: 1, count: 8).withUnsafeBytes { SHA512.hash($0) }
        var cdi = CDI(repeating: 0)
        cdi[0] = 1
        let without = KeyChain.partitionKeys(hypervisorCDI: cdi, spec: s, imageDigest: image, signingKey: SigningKeyID(raw: 1))
        let with = KeyChain.partitionKeys(hypervisorCDI: cdi, spec: s, devices: table([rtc(owner: 0)]), partition: 0,
                                          imageDigest: image, signingKey: SigningKeyID(raw: 1))
        #expect(without.policyDigest == plain && with.policyDigest == one)
        #expect(with.measurement != without.measurement)
    }
}
