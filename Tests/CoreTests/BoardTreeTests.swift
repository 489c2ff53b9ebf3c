// The board from the device tree: firmware-reserved memory, the initrd range, 16550-style consoles,
// MemoryMap placement, and the SpacemiT K3 and ESWIN EIC7700X boards from test trees.

import Foundation
import Testing
@testable import BulkheadCore

/// A small tree: `memreserve` lines, then the root's extra content (`body`), one hart with H and
/// 1 GiB of RAM at 0x8000_0000 unless `memory` replaces that node.
private func tree(_ body: String, memreserve: String = "",
                  memory: String = "memory@80000000 { device_type = \"memory\"; reg = <0x0 0x80000000 0x0 0x40000000>; };")
    -> String {
    """
    /dts-v1/;
    \(memreserve)
    / {
        #address-cells = <2>;
        #size-cells = <2>;
        cpus {
            #address-cells = <1>;
            #size-cells = <0>;
            timebase-frequency = <10000000>;
            cpu@0 { device_type = "cpu"; reg = <0>; riscv,isa = "rv64imafdch_zicsr"; };
        };
        \(memory)
        \(body)
    };
    """
}

private func host(_ dts: String) throws -> HostDescription { try hostDescription(try DTC.compile(dts)) }

private func region(_ base: UInt64, _ size: UInt64) -> HostRegion { HostRegion(base: HostPhysAddr(base), size: size) }

private func firmware(_ list: ReservedRegions) -> [HostRegion] {
    (0..<list.count).map { list[$0].region }
}

private func text(_ write: (inout StringSink) -> Void) -> String {
    var sink = StringSink()
    write(&sink)
    return sink.text
}

@Suite struct ReservedMemoryTests {
    @Test func bothSourcesWithTwoCells() throws {
        let h = try host(tree("""
            reserved-memory {
                #address-cells = <2>;
                #size-cells = <2>;
                ranges;
                mmode_resv0@80000000 { reg = <0x0 0x80000000 0x0 0x40000>; no-map; };
                two@90000000 { reg = <0x0 0x90000000 0x0 0x1000>, <0x1 0x0 0x0 0x2000>; };
                off@a0000000 { reg = <0x0 0xa0000000 0x0 0x1000>; status = "disabled"; };
                dynamic { size = <0x0 0x100000>; };
                empty@b0000000 { reg = <0x0 0xb0000000 0x0 0x0>; };
            };
            """, memreserve: "/memreserve/ 0xbfe00000 0x200000;\n/memreserve/ 0x88000000 0x1000;"))
        // The memory reservation block first, then /reserved-memory (disabled, reg-less and empty nodes skipped).
        #expect(firmware(h.firmwareReserved) == [region(0xbfe0_0000, 0x20_0000), region(0x8800_0000, 0x1000),
                                                 region(0x8000_0000, 0x4_0000), region(0x9000_0000, 0x1000),
                                                 region(0x1_0000_0000, 0x2000)])
        #expect((0..<h.firmwareReserved.count).allSatisfy { h.firmwareReserved[$0].kind == .firmware })
    }

    @Test func reservedMemoryUsesItsOwnCells() throws {
        let h = try host(tree("""
            reserved-memory {
                #address-cells = <1>;
                #size-cells = <1>;
                ranges;
                sbi@80000000 { reg = <0x80000000 0x80000>; };
                pair@90000000 { reg = <0x90000000 0x1000 0x91000000 0x2000>; };
            };
            """))
        #expect(firmware(h.firmwareReserved) == [region(0x8000_0000, 0x8_0000), region(0x9000_0000, 0x1000),
                                                 region(0x9100_0000, 0x2000)])
    }

    @Test func aTreeWithoutReservedMemoryReservesNothing() throws {
        #expect(try host(tree("")).firmwareReserved.count == 0)
    }

    @Test func sixteenRegionsFitAndSeventeenAreRefused() throws {
        func nodes(_ n: Int) -> String {
            "reserved-memory { #address-cells = <1>; #size-cells = <1>; ranges; "
                + (0..<n).map { "r@\(String(0x9000_0000 + $0 * 0x1000, radix: 16)) { reg = <\(0x9000_0000 + $0 * 0x1000) 0x1000>; };" }
                    .joined(separator: " ") + " };"
        }
        #expect(try host(tree(nodes(16))).firmwareReserved.count == 16)
        let blob = try DTC.compile(tree(nodes(17)))
        #expect(fdtError { _ = try hostDescription(blob) } == .tooManyReservedRegions)
        // The memory reservation block counts too.
        let mixed = try DTC.compile(tree(nodes(16), memreserve: "/memreserve/ 0x88000000 0x1000;"))
        #expect(fdtError { _ = try hostDescription(mixed) } == .tooManyReservedRegions)
        #expect(text { FDTError.tooManyReservedRegions.write(to: &$0) }
                    == "more than 16 firmware-reserved memory regions (/reserved-memory and the memory reservation block)")
    }

    @Test func aTreeWithoutMemorySaysSo() throws {
        let blob = try DTC.compile(tree("", memory: ""))
        #expect(fdtError { _ = try hostDescription(blob) } == .noMemory)
        #expect(text { FDTError.noMemory.write(to: &$0) } == "no /memory node with a non-empty reg (the loader may be meant to add it)")
        let lenient = try blob.withUnsafeBytes { raw in try HostDescription(reader: FDTReader(raw), requiringMemory: false) }
        #expect(lenient.ram.size == 0 && lenient.hartMask == 1)
    }
}

@Suite struct InitrdTests {
    private func initrd(_ properties: String) throws -> HostRegion? {
        try host(tree("chosen { \(properties) };")).initrd
    }

    @Test func thirtyTwoAndSixtyFourBitCells() throws {
        #expect(try initrd("") == nil)
        #expect(try initrd("linux,initrd-start = <0x88000000>; linux,initrd-end = <0x88400000>;")
                    == region(0x8800_0000, 0x40_0000))
        #expect(try initrd("linux,initrd-start = <0x1 0x0>; linux,initrd-end = <0x1 0x1000>;")
                    == region(0x1_0000_0000, 0x1000))
        // One of each width.
        #expect(try initrd("linux,initrd-start = <0x88000000>; linux,initrd-end = /bits/ 64 <0x88001000>;")
                    == region(0x8800_0000, 0x1000))
    }

    @Test func theLoadersReservationOfTheInitrdIsNotKeptAsFirmwareMemory() throws {
        // booti adds the initrd's exact range to the memory reservation block; the hypervisor
        // moves the bundle into staging, so only other reservations stay.
        let chosen = "chosen { linux,initrd-start = <0x8c300000>; linux,initrd-end = <0x8c323338>; };"
        let h = try host(tree(chosen, memreserve: "/memreserve/ 0x8c300000 0x23338; /memreserve/ 0x8c300000 0x24000;"))
        #expect(h.initrd == region(0x8C30_0000, 0x2_3338))
        #expect(firmware(h.firmwareReserved) == [region(0x8C30_0000, 0x2_4000)])     // not the exact match
    }

    @Test func badRangesAreRefused() throws {
        func error(_ properties: String) throws -> FDTError? {
            let blob = try DTC.compile(tree("chosen { \(properties) };"))
            return fdtError { _ = try hostDescription(blob) }
        }
        #expect(try error("linux,initrd-start = <0x88000000>;") == .badInitrdProperty)
        #expect(try error("linux,initrd-end = <0x88000000>;") == .badInitrdProperty)
        #expect(try error("linux,initrd-start = /bits/ 16 <0x1>; linux,initrd-end = <0x88000000>;") == .badInitrdProperty)
        #expect(try error("linux,initrd-start = <0x0 0x0 0x1>; linux,initrd-end = <0x88000000>;") == .badInitrdProperty)
        #expect(try error("linux,initrd-start = <0x88000000>; linux,initrd-end = <0x88000000>;") == .emptyInitrdRange)
        #expect(try error("linux,initrd-start = <0x88001000>; linux,initrd-end = <0x88000000>;") == .emptyInitrdRange)
        #expect(text { FDTError.emptyInitrdRange.write(to: &$0) } == "/chosen linux,initrd-end is not above linux,initrd-start")
        #expect(text { FDTError.badInitrdProperty.write(to: &$0) }
                    == "/chosen linux,initrd-start and linux,initrd-end must both be present, each a 32- or 64-bit value")
    }
}

@Suite struct ConsoleStrideTests {
    static let compatibles: [(String, UInt32, UInt32)] = [
        ("\"ns16550a\"", 0, 1), ("\"ns16550\"", 2, 4), ("\"snps,dw-apb-uart\"", 2, 4),
        ("\"spacemit,k3-uart\", \"intel,xscale-uart\"", 2, 4), ("\"spacemit,k1-uart\", \"intel,xscale-uart\"", 2, 4),
    ]

    private func uart(_ compatible: String, shift: UInt32, width: UInt32) -> String {
        """
        soc {
            #address-cells = <2>; #size-cells = <2>; ranges;
            other@10000000 { compatible = "sifive,uart0"; reg = <0x0 0x10000000 0x0 0x1000>; };
            serial@d4017000 { compatible = \(compatible); reg = <0x0 0xd4017000 0x0 0x100>;
                              reg-shift = <\(shift)>; reg-io-width = <\(width)>; };
        };
        """
    }

    @Test func eachCompatibleWithItsStrideThroughStdoutPath() throws {
        for (compatible, shift, width) in Self.compatibles {
            let h = try host(tree(uart(compatible, shift: shift, width: width)
                                  + "chosen { stdout-path = \"/soc/serial@d4017000:115200n8\"; };"))
            let console = try #require(h.console, "\(compatible)")
            #expect(console.base == HostPhysAddr(0xd401_7000), "\(compatible)")
            #expect(console.is16550Compatible, "\(compatible)")
            #expect(console.regShift == shift && console.regIOWidth == width, "\(compatible)")
            #expect(console.stride == UInt64(1) << UInt64(shift), "\(compatible)")
        }
    }

    @Test func eachCompatibleIsFoundWithoutStdoutPath() throws {
        for (compatible, shift, width) in Self.compatibles {
            let console = try #require(try host(tree(uart(compatible, shift: shift, width: width))).console, "\(compatible)")
            // The SiFive UART before it is not a 16550: the search skips it.
            #expect(console.base == HostPhysAddr(0xd401_7000), "\(compatible)")
            #expect(console.is16550Compatible, "\(compatible)")
        }
        // Only a non-16550 UART: no console from the search.
        #expect(try host(tree(uart("\"sifive,uart0\"", shift: 0, width: 1))).console == nil)
    }

    @Test func summaryShowsTheStride() throws {
        let h = try host(tree(uart("\"snps,dw-apb-uart\"", shift: 2, width: 4)))
        #expect(text { h.write(to: &$0) }
                    == "RAM 0x80000000 + 1 GiB, harts 0x1 (H 0x1), timebase 10000000 Hz, console 16550 @ 0xd4017000 "
                    + "(stride 4, 4-byte access)")
    }
}

@Suite struct MemoryMapTests {
    private let ram = region(0x8000_0000, 0x4000_0000)
    private let pool: UInt64 = 0x80_0000, staging: UInt64 = 0x300_0000

    private func place(image: HostRegion, ram: HostRegion? = nil, firmware: ReservedRegions = ReservedRegions())
        -> Result<MemoryMap, MemoryMapError> {
        do throws(MemoryMapError) {
            return .success(try MemoryMap.place(image: image, ram: ram ?? self.ram, firmwareReserved: firmware,
                                                poolSize: pool, stagingSize: staging))
        } catch { return .failure(error) }
    }

    @Test func qemuVirtKeepsTodaysAddresses() throws {
        let opensbi = ReservedRegions(region(0x8000_0000, 0x4_0000), kind: .firmware)
        let map = try place(image: region(0x8020_0000, 0xd_1000), firmware: opensbi).get()
        #expect(map.sharedPool == region(0x8040_0000, 8 << 20))
        #expect(map.staging == region(0x8100_0000, 48 << 20))
        #expect(map.reservation == region(0x8020_0000, 0x3E0_0000))
        #expect(text { map.write(to: &$0) }
                    == "hypervisor 0x80200000-0x802d1000, shared pool 0x80400000 + 8 MiB, staging 0x81000000 + 48 MiB")
        let reserved = map.reserved(firmware: opensbi)
        #expect(reserved.count == 2 && reserved[0].kind == .firmware && reserved[1] == ReservedRegion(map.reservation, kind: .hypervisor))
        // An image ending exactly on a 2 MiB boundary: the pool starts right there.
        #expect(try place(image: region(0x8020_0000, 0x20_0000)).get().sharedPool.base == HostPhysAddr(0x8040_0000))
    }

    @Test func placementFollowsTheLoadAddress() throws {
        // Loaded elsewhere (U-Boot's kernel_addr_r), with 2 GiB of RAM: everything moves along.
        let big = region(0x8000_0000, 0x8000_0000)
        let map = try place(image: region(0x9020_0000, 0x10_0000), ram: big).get()
        #expect(map.sharedPool.base == HostPhysAddr(0x9040_0000))
        #expect(map.staging.base == HostPhysAddr(0x9100_0000))
        #expect(map.reservation == region(0x9020_0000, 0x3E0_0000))
        // A pool that ends off a 16 MiB boundary pushes the staging area to the next one.
        let late = try place(image: region(0x80A0_0000, 0x10_0000)).get()
        #expect(late.sharedPool.base == HostPhysAddr(0x80C0_0000) && late.staging.base == HostPhysAddr(0x8200_0000))
    }

    @Test func imageOutsideRAM() {
        let image = region(0x7000_0000, 0x10_0000)
        #expect(place(image: image) == .failure(.imageOutsideRAM(image: image, ram: ram)))
        let straddling = region(0xBFF0_0000, 0x20_0000)
        #expect(place(image: straddling) == .failure(.imageOutsideRAM(image: straddling, ram: ram)))
        #expect(place(image: region(0x8020_0000, 0)) == .failure(.imageOutsideRAM(image: region(0x8020_0000, 0), ram: ram)))
        #expect(text { MemoryMapError.imageOutsideRAM(image: image, ram: ram).write(to: &$0) }
                    == "the hypervisor image [0x70000000, 0x70100000) is not inside RAM [0x80000000, 0xc0000000)")
    }

    @Test func pastTheEndOfRAM() {
        let small = region(0x8000_0000, 0x200_0000)    // 32 MiB
        #expect(place(image: region(0x8020_0000, 0x10_0000), ram: small) == .failure(.pastRAMEnd(end: 0x8400_0000, ram: small)))
        #expect(text { MemoryMapError.pastRAMEnd(end: 0x8400_0000, ram: small).write(to: &$0) }
                    == "the shared pool and bundle staging area would end at 0x84000000, past the end of RAM [0x80000000, 0x82000000)")
        // Near the top of the address space: no wrap-around.
        let top = region(0xFFFF_FFFF_FF00_0000, 0xFF_FFFF)
        if case .failure(.pastRAMEnd) = place(image: region(0xFFFF_FFFF_FF00_0000, 0x1000), ram: top) {} else {
            Issue.record("expected pastRAMEnd at the top of the address space")
        }
    }

    @Test func overlappingFirmware() {
        let sbi = region(0x8100_0000, 0x1000)
        let list = ReservedRegions(sbi, kind: .firmware)
        #expect(place(image: region(0x8020_0000, 0x10_0000), firmware: list)
                    == .failure(.overlapsFirmware(reservation: region(0x8020_0000, 0x3E0_0000), firmware: sbi)))
        #expect(text { MemoryMapError.overlapsFirmware(reservation: region(0x8020_0000, 0x3E0_0000), firmware: sbi).write(to: &$0) }
                    == "the hypervisor's memory [0x80200000, 0x84000000) overlaps memory the firmware reserves [0x81000000, 0x81001000)")
        // Firmware right below the image and right after the staging area is fine.
        var around = ReservedRegions(region(0x8000_0000, 0x20_0000), kind: .firmware)
        _ = around.append(ReservedRegion(region(0x8400_0000, 0x1000), kind: .firmware))
        #expect((try? place(image: region(0x8020_0000, 0x10_0000), firmware: around).get()) != nil)
    }
}

/// Test trees for the two real boards, written from their public documentation (Linux's
/// k3.dtsi description and eic7700 device trees, the 8250/DesignWare UART bindings). Addresses
/// not given there (the interrupt controllers' blocks, the K3's RAM size) are placeholders.
enum BoardTrees {
    /// The shared skeleton: root cells, `serial0` = &uart0 as stdout, `harts` cpu nodes (each with
    /// its `cpuN_intc` interrupt controller and the given properties), one RAM node, one
    /// firmware-reserved region, and a simple bus holding `soc`.
    private static func board(model: String, compatible: String, chosen: String = "", timebase: Int, harts: Int,
                              cpu: String, memory: String, firmware: String, soc: String) -> String {
        let cpus = (0..<harts).map { i in
            """
                    cpu\(i): cpu@\(i) {
                        device_type = "cpu"; reg = <\(i)>; mmu-type = "riscv,sv48";
                        \(cpu)
                        cpu\(i)_intc: interrupt-controller { compatible = "riscv,cpu-intc"; interrupt-controller; #interrupt-cells = <1>; };
                    };
            """
        }.joined(separator: "\n")
        return """
        /dts-v1/;
        / {
            #address-cells = <2>;
            #size-cells = <2>;
            model = "\(model) (Bulkhead test tree)";
            compatible = \(compatible);
            aliases { serial0 = &uart0; };
            chosen { stdout-path = "serial0:115200n8"; \(chosen) };
            cpus {
                #address-cells = <1>;
                #size-cells = <0>;
                timebase-frequency = <\(timebase)>;
        \(cpus)
            };
            \(memory)
            reserved-memory { #address-cells = <2>; #size-cells = <2>; ranges; \(firmware) };
            soc {
                compatible = "simple-bus"; #address-cells = <2>; #size-cells = <2>; ranges;
                \(soc)
            };
        };
        """
    }

    /// Eight X100 harts (RVA23: H, Sstc, AIA), S- and M-mode IMSICs and an APLIC, a SpacemiT UART.
    static let spacemitK3: String = {
        let isa = "rv64imafdcvh_zicbom_zicboz_zicntr_zicond_zicsr_zifencei_zihintpause_zihpm_zba_zbb_zbc_zbs_smaia_ssaia_sstc_svinval_svnapot_svpbmt"
        let sContexts = (0..<8).map { "<&cpu\($0)_intc 9>" }.joined(separator: ", ")
        let mContexts = (0..<8).map { "<&cpu\($0)_intc 11>" }.joined(separator: ", ")
        return board(
            model: "SpacemiT K3", compatible: "\"spacemit,k3\"",
            chosen: "linux,initrd-start = <0x1 0x20000000>; linux,initrd-end = <0x1 0x20800000>;",
            timebase: 24_000_000, harts: 8,
            cpu: """
                compatible = "spacemit,x100", "riscv"; riscv,isa = "\(isa)"; riscv,isa-base = "rv64i";
                riscv,isa-extensions = "i", "m", "a", "f", "d", "c", "v", "h", "smaia", "ssaia", "sstc", "svpbmt";
                """,
            memory: "memory@100000000 { device_type = \"memory\"; reg = <0x1 0x00000000 0x2 0x00000000>; };",
            firmware: "opensbi@100000000 { reg = <0x1 0x0 0x0 0x80000>; no-map; };",
            soc: """
                dma-noncoherent;
                mimsic: interrupt-controller@e0000000 {
                    compatible = "spacemit,k3-imsics", "riscv,imsics"; reg = <0x0 0xe0000000 0x0 0x400000>;
                    interrupt-controller; #interrupt-cells = <0>; msi-controller; #msi-cells = <0>;
                    riscv,num-ids = <511>; interrupts-extended = \(mContexts); status = "reserved";
                };
                simsic: interrupt-controller@e0400000 {
                    compatible = "spacemit,k3-imsics", "riscv,imsics"; reg = <0x0 0xe0400000 0x0 0x400000>;
                    interrupt-controller; #interrupt-cells = <0>; msi-controller; #msi-cells = <0>;
                    riscv,num-ids = <511>; interrupts-extended = \(sContexts);
                };
                saplic: interrupt-controller@e0804000 {
                    compatible = "spacemit,k3-aplic", "riscv,aplic"; reg = <0x0 0xe0804000 0x0 0x4000>;
                    interrupt-controller; #interrupt-cells = <2>; msi-parent = <&simsic>; riscv,num-sources = <512>;
                };
                uart0: serial@d4017000 {
                    compatible = "spacemit,k3-uart", "intel,xscale-uart"; reg = <0x0 0xd4017000 0x0 0x100>;
                    reg-shift = <2>; reg-io-width = <4>; clock-frequency = <14700000>;
                    interrupt-parent = <&saplic>; interrupts = <42 4>;
                };
                """)
    }()

    /// Four P550 harts (pre-ratified H, no Sstc), a PLIC, a DesignWare UART.
    static let eswinEIC7700X: String = {
        let contexts = (0..<4).map { "<&cpu\($0)_intc 11>, <&cpu\($0)_intc 9>" }.joined(separator: ", ")
        return board(
            model: "SiFive HiFive Premier P550", compatible: "\"sifive,hifive-premier-p550\", \"eswin,eic7700\"",
            timebase: 1_000_000, harts: 4,
            cpu: "compatible = \"sifive,p550\", \"riscv\"; riscv,isa = \"rv64imafdch_zicsr_zifencei_zba_zbb_sscofpmf\";",
            memory: "memory@80000000 { device_type = \"memory\"; reg = <0x0 0x80000000 0x4 0x00000000>; };",
            firmware: "mmode_resv0@80000000 { reg = <0x0 0x80000000 0x0 0x80000>; no-map; };",
            soc: """
                plic: interrupt-controller@c000000 {
                    compatible = "sifive,plic-1.0.0"; reg = <0x0 0x0c000000 0x0 0x4000000>;
                    interrupt-controller; #interrupt-cells = <1>; riscv,ndev = <520>;
                    interrupts-extended = \(contexts);
                };
                uart0: serial@50900000 {
                    compatible = "snps,dw-apb-uart"; reg = <0x0 0x50900000 0x0 0x10000>;
                    reg-shift = <2>; reg-io-width = <4>; clock-frequency = <200000000>;
                    interrupt-parent = <&plic>; interrupts = <100>;
                };
                """)
    }()
}

@Suite struct BoardTreeTests {
    /// The limits a booted hypervisor would compute: loaded 2 MiB above the RAM base.
    private func bootLimits(_ h: HostDescription) throws -> (MemoryMap, BoardLimits) {
        let image = HostRegion(base: h.ram.base.adding(0x20_0000), size: 0xd_1000)
        let map = try MemoryMap.place(image: image, ram: h.ram, firmwareReserved: h.firmwareReserved,
                                      poolSize: KnownBoards.sharedPoolSize, stagingSize: KnownBoards.stagingSize)
        return (map, h.boardLimits(memoryMap: map))
    }

    private func plan(at base: UInt64, harts: [UInt32]) -> PartitionPlan {
        var spec = PartitionSpec()
        "p".utf8CString.withUnsafeBytes { spec.name = PartitionName(bytes: UnsafeRawBufferPointer(rebasing: $0.dropLast()))! }
        for h in harts { _ = spec.harts.append(h) }
        spec.memory = HostRegion(base: HostPhysAddr(base), size: 0x400_0000)
        spec.imageSize = 0x1000
        var plan = PartitionPlan()
        _ = plan.append(spec)
        return plan
    }

    @Test func spacemitK3() throws {
        let blob = try DTC.compile(BoardTrees.spacemitK3)
        let h = try hostDescription(blob)
        #expect(h.ram == region(0x1_0000_0000, 0x2_0000_0000))
        #expect(h.hartMask == 0xFF && h.hypervisorHartMask == 0xFF && h.hasHypervisorExtension)
        #expect(fixedText(h.isa).hasSuffix("_sstc_svinval_svnapot_svpbmt"))
        #expect(!fixedText(h.guestISA).hasPrefix("rv64imafdcvh"))
        #expect(h.timebaseFrequency == 24_000_000)
        #expect(firmware(h.firmwareReserved) == [region(0x1_0000_0000, 0x8_0000)])
        #expect(h.initrd == region(0x1_2000_0000, 0x80_0000))
        let console = try #require(h.console)
        #expect(console.base == HostPhysAddr(0xd401_7000) && console.is16550Compatible)
        #expect(console.regShift == 2 && console.regIOWidth == 4 && console.stride == 4)
        // AIA, not a PLIC: the hypervisor finds no PLIC to virtualise (README "Boards").
        try withReader(blob) { reader throws in
            #expect(try HostPLIC(reader: reader) == nil)
            #expect(try reader.firstNode(compatibleWith: "riscv,aplic") != nil)
            #expect(try reader.firstNode(compatibleWith: "riscv,imsics")?.name.text == "interrupt-controller@e0400000")
        }

        let (map, limits) = try bootLimits(h)
        #expect(map.sharedPool.base == HostPhysAddr(0x1_0040_0000) && map.staging.base == HostPhysAddr(0x1_0100_0000))
        #expect(limits.hartMask == 0xFF && limits.reserved.count == 2)
        #expect(limits.reserved[1] == ReservedRegion(region(0x1_0020_0000, 0x3E0_0000), kind: .hypervisor))
        #expect(validationError(plan(at: 0x1_0400_0000, harts: [0, 1]), limits) == nil)
        #expect(validationError(plan(at: 0x1_0000_0000, harts: [0]), limits)
                    == .memoryReserved(partition: 0, reserved: ReservedRegion(region(0x1_0000_0000, 0x8_0000), kind: .firmware)))
        #expect(validationError(plan(at: 0x8000_0000, harts: [0]), limits) == .memoryOutOfRange(partition: 0))
    }

    @Test func eswinEIC7700X() throws {
        let blob = try DTC.compile(BoardTrees.eswinEIC7700X)
        let h = try hostDescription(blob)
        #expect(h.ram == region(0x8000_0000, 0x4_0000_0000))
        #expect(h.hartMask == 0xF && h.hypervisorHartMask == 0xF && h.hasHypervisorExtension)
        #expect(fixedText(h.isa) == "rv64imafdch_zicsr_zifencei_zba_zbb_sscofpmf")
        #expect(!fixedText(h.isa).contains("sstc"))   // the P550 has no Sstc: guest timers go through SBI
        #expect(fixedText(h.guestISA) == "rv64imafdc_zicsr_zifencei_zba_zbb_sscofpmf")
        #expect(h.timebaseFrequency == 1_000_000)
        #expect(firmware(h.firmwareReserved) == [region(0x8000_0000, 0x8_0000)])
        #expect(h.initrd == nil)
        let console = try #require(h.console)
        #expect(console.base == HostPhysAddr(0x5090_0000) && console.is16550Compatible && console.stride == 4)
        #expect(console.regIOWidth == 4 && console.clockFrequency == 200_000_000)
        try withReader(blob) { reader throws in #expect(try HostPLIC(reader: reader)?.sourceCount == 520) }

        let (map, limits) = try bootLimits(h)
        #expect(map.staging.base == HostPhysAddr(0x8100_0000) && map.reservation.base == HostPhysAddr(0x8020_0000))
        #expect(validationError(plan(at: 0x8400_0000, harts: [3]), limits) == nil)
        #expect(validationError(plan(at: 0x8000_0000, harts: [0]), limits)
                    == .memoryReserved(partition: 0, reserved: ReservedRegion(region(0x8000_0000, 0x8_0000), kind: .firmware)))
        #expect(validationError(plan(at: 0x8200_0000, harts: [0]), limits)
                    == .memoryReserved(partition: 0, reserved: limits.reserved[1]))
        #expect(validationError(plan(at: 0x8400_0000, harts: [4]), limits) == .hartNotOnBoard(partition: 0, hart: 4))
    }

    /// Each known board's CLI limits: firmware [RAM base, +2 MiB), the hypervisor up to RAM base + 64 MiB.
    @Test func eachBoardsDefaultLimits() throws {
        let expected: [(String, UInt64, UInt64, Int, Bool)] = [
            ("qemu-virt", 0x8000_0000, 0x4000_0000, 4, true),
            ("spacemit-k3", 0x1_0000_0000, 0x2_0000_0000, 8, false),
            ("eswin-eic7700x", 0x8000_0000, 0x4_0000_0000, 4, false),
        ]
        #expect(KnownBoards.all.map(\.nameString) == expected.map(\.0))
        for (name, base, size, harts, flash) in expected {
            let board = try #require(KnownBoards.named(name))
            #expect(board.defaultRAM == region(base, size), "\(name)")
            #expect((board.bundleFlash != nil) == flash, "\(name)")
            #expect(board.typicalLoadAddress(ram: board.defaultRAM) == HostPhysAddr(base + 0x20_0000), "\(name)")
            let limits = board.defaultLimits
            #expect(limits.hartMask == BoardData.hartMask(count: harts), "\(name)")
            #expect(limits.reserved.count == 2, "\(name)")
            #expect(limits.reserved[0] == ReservedRegion(region(base, 0x20_0000), kind: .firmware), "\(name)")
            #expect(limits.reserved[1] == ReservedRegion(region(base + 0x20_0000, 0x3E0_0000), kind: .hypervisor), "\(name)")
            #expect(limits.sharedPool == region(base + 0x40_0000, 0x80_0000), "\(name)")
            #expect(try board.typicalMemoryMap(ram: board.defaultRAM).staging == region(base + 0x100_0000, 0x300_0000), "\(name)")
        }
        // A RAM too small for the staging area is refused with the reason.
        #expect(throws: MemoryMapError.pastRAMEnd(end: 0x8400_0000, ram: region(0x8000_0000, 0x200_0000))) {
            try KnownBoards.qemuVirt.limits(ram: region(0x8000_0000, 0x200_0000), hartMask: 1)
        }
    }
}

private func validationError(_ plan: PartitionPlan, _ board: BoardLimits) -> PlanError? {
    do throws(PlanError) { try plan.validate(for: board); return nil } catch { return error }
}
