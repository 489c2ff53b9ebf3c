// FDTReader and HostDescription on QEMU's own DTBs and on trees compiled by dtc.

import Foundation
import Testing
@testable import BulkheadCore

@Suite("FDT reader on QEMU virt fixtures")
struct FDTReaderQEMUTests {
    @Test func headerAndLayout() throws {
        let blob = try FDTFixtures.load("qemu-virt-smp4.dtb")
        try withReader(blob) { reader throws in
            #expect(reader.version == 17)
            #expect(reader.totalSize == blob.count)
            #expect(reader.reservationCount == 0)
            #expect(reader.reservation(at: 0) == nil)
            #expect(reader.root.isRoot)
            #expect(reader.root.name.count == 0)
        }
    }

    @Test func hostDescriptionWithH() throws {
        let host = try hostDescription(try FDTFixtures.load("qemu-virt-smp4.dtb"))
        #expect(host.ram == HostRegion(base: HostPhysAddr(0x8000_0000), size: 1 << 30))
        #expect(host.hartMask == 0b1111)
        #expect(host.hypervisorHartMask == 0b1111)
        #expect(host.ignoredHartCount == 0)
        #expect(host.firstHart == 0)
        #expect(host.hasHypervisorExtension)
        #expect(fixedText(host.isa) == "rv64imafdch_zicsr_zifencei_zihintpause_zba_zbb_zbc_zbs_sstc")
        #expect(!host.isaTruncated)
        #expect(fixedText(host.guestISA) == "rv64imafdc_zicsr_zifencei_zihintpause_zba_zbb_zbc_zbs_sstc")
        #expect(fixedText(host.mmuType) == "riscv,sv48")
        #expect(host.timebaseFrequency == 10_000_000)
        let console = try #require(host.console)
        #expect(console.base == HostPhysAddr(0x1000_0000))
        #expect(console.size == 0x100)
        #expect(console.is16550Compatible)
        #expect(console.regShift == 0)
        #expect(console.regIOWidth == 1)
        #expect(console.clockFrequency == 0x38_4000)

        var sink = StringSink()
        host.write(to: &sink)
        #expect(sink.text == "RAM 0x80000000 + 1 GiB, harts 0xf (H 0xf), timebase 10000000 Hz, console 16550 @ 0x10000000")
        let map = try MemoryMap.place(image: HostRegion(base: HostPhysAddr(0x8020_0000), size: 0x10_0000), ram: host.ram,
                                      firmwareReserved: host.firmwareReserved, poolSize: 0x80_0000, stagingSize: 0x300_0000)
        let limits = host.boardLimits(memoryMap: map)
        #expect(limits.hasHart(3) && !limits.hasHart(4))
        #expect(limits.ram == host.ram)
    }

    @Test func hostDescriptionWithoutH() throws {
        let host = try hostDescription(try FDTFixtures.load("qemu-virt-noh.dtb"))
        #expect(host.ram == HostRegion(base: HostPhysAddr(0x8000_0000), size: 1 << 30))
        #expect(host.hartMask == 0b1111)
        #expect(host.hypervisorHartMask == 0)
        #expect(!host.hasHypervisorExtension)
        #expect(fixedText(host.isa) == "rv64imafdc_zicsr_zifencei_zihintpause_zba_zbb_zbc_zbs_sstc")
        #expect(host.timebaseFrequency == 10_000_000)
        #expect(host.console?.base == HostPhysAddr(0x1000_0000))
        #expect(host.console?.is16550Compatible == true)
    }

    @Test func pathLookup() throws {
        try withReader(try FDTFixtures.load("qemu-virt-smp4.dtb")) { reader throws in
            #expect(try reader.findNode("/")?.isRoot == true)
            #expect(try reader.node("/cpus").name.text == "cpus")
            #expect(try reader.node("/chosen").depth == 1)
            let serial = try reader.node("/soc/serial@10000000")
            #expect(serial.name.text == "serial@10000000")
            #expect(serial.baseName.text == "serial")
            #expect(serial.unitAddress.text == "10000000")
            #expect(serial.depth == 2)
            // A component without a unit address matches the name before '@'.
            #expect(try reader.findNode("/soc/serial")?.offset == serial.offset)
            #expect(try reader.findNode("/memory")?.name.text == "memory@80000000")
            // Trailing and doubled slashes are tolerated.
            #expect(try reader.findNode("//soc//serial@10000000/")?.offset == serial.offset)
            // A unit address must match exactly.
            #expect(try reader.findNode("/soc/serial@1000000") == nil)
            #expect(try reader.findNode("/soc/seria") == nil)
            #expect(try reader.findNode("/nothing/here") == nil)
            #expect(fdtError { _ = try reader.node("/nothing") } == .nodeNotFound)
            #expect(fdtError { _ = try reader.findNode("") } == .badPath)
            // No /aliases node in QEMU's tree: an alias path finds nothing.
            #expect(try reader.findNode("serial0") == nil)
            #expect(try reader.parent(of: serial)?.name.text == "soc")
            #expect(try reader.parent(of: reader.root) == nil)
        }
    }

    @Test func propertiesAndCells() throws {
        try withReader(try FDTFixtures.load("qemu-virt-smp4.dtb")) { reader throws in
            let cpus = try reader.node("/cpus")
            #expect(try reader.addressCells(of: cpus) == 1)
            #expect(try reader.sizeCells(of: cpus) == 0)
            #expect(try reader.property("timebase-frequency", in: cpus).u32() == 10_000_000)
            #expect(try reader.property("timebase-frequency", in: cpus).integer() == 10_000_000)
            #expect(fdtError { _ = try reader.property("timebase-frequency", in: cpus).u64() } == .badPropertyLength)
            #expect(fdtError { _ = try reader.property("no-such-thing", in: cpus) } == .propertyNotFound)

            let cpu2 = try reader.node("/cpus/cpu@2")
            #expect(try reader.reg(of: cpu2) == FDTRegion(address: 2, size: 0))
            #expect(try reader.property("status", in: cpu2).string().text == "okay")
            #expect(try reader.isEnabled(cpu2))

            let flash = try reader.node("/flash@20000000")
            #expect(try reader.regCount(of: flash) == 2)
            #expect(try reader.reg(of: flash, index: 1) == FDTRegion(address: 0x2200_0000, size: 0x200_0000))
            #expect(fdtError { _ = try reader.reg(of: flash, index: 2) } == .indexOutOfRange)

            let test = try reader.node("/soc/test@100000")
            let compatible = try reader.property("compatible", in: test)
            var list = try compatible.strings()
            var entries: [String] = []
            while let entry = list.next() { entries.append(entry.text) }
            #expect(entries == ["sifive,test1", "sifive,test0", "syscon"])
            #expect(try compatible.string().text == "sifive,test1")
            #expect(try compatible.contains(string: "syscon"))
            #expect(try !compatible.contains(string: "sysco"))
            #expect(try reader.isCompatible(test, with: "sifive,test0"))

            // PCI's three address cells cannot be decoded into 64 bits.
            let pci = try reader.node("/soc/pci@30000000")
            #expect(try reader.addressCells(of: pci) == 3)
            let intc = try reader.node("/cpus/cpu@0/interrupt-controller")
            #expect(try reader.property("interrupt-controller", in: intc).isEmpty)
            #expect(try reader.property("#interrupt-cells", in: intc).cell(at: 0) == 1)
            #expect(fdtError { _ = try reader.property("#interrupt-cells", in: intc).cell(at: 1) } == .indexOutOfRange)
        }
    }

    @Test func walkMatchesDTC() throws {
        let blob = try FDTFixtures.load("qemu-virt-smp4.dtb")
        let dts = try DTC.decompile(blob)
        let dtcNodes = dts.split(separator: "\n").filter { $0.hasSuffix("{") }.count
        try withReader(blob) { reader throws in
            var walker = reader.walk()
            var count = 0
            var maxDepth = 0
            var lastSerialParent = -2
            while let node = try walker.next() {
                count += 1
                maxDepth = max(maxDepth, node.depth)
                if node.name.text == "serial@10000000" { lastSerialParent = node.parentOffset }
            }
            #expect(count == dtcNodes)
            #expect(maxDepth == 4)   // /cpus/cpu-map/cluster0/core0
            #expect(lastSerialParent == (try reader.node("/soc")).offset)

            var children = reader.children(of: try reader.node("/cpus"))
            var names: [String] = []
            while let child = try children.next() { names.append(child.name.text) }
            #expect(names == ["cpu@0", "cpu@1", "cpu@2", "cpu@3", "cpu-map"])
            #expect(try reader.firstNode(compatibleWith: "ns16550a")?.name.text == "serial@10000000")
            #expect(try reader.firstNode(compatibleWith: "no,such-device") == nil)
        }
    }
}

@Suite("FDT reader on dtc-compiled trees")
struct FDTReaderDTCTests {
    static let board = """
    /dts-v1/;
    /memreserve/ 0x80000000 0x200000;
    / {
        #address-cells = <2>;
        #size-cells = <2>;
        compatible = "test,board";
        aliases {
            serial0 = "/soc/uart@10010000";
            serial1 = &uart1;
        };
        chosen {
            stdout-path = "serial0:115200n8";
        };
        reserved-memory { };
        memory@80000000 {
            device_type = "memory";
            reg = <0x0 0x80000000 0x0 0x20000000>, <0x1 0x0 0x0 0x10000000>;
        };
        cpus {
            #address-cells = <1>;
            #size-cells = <0>;
            timebase-frequency = <1000000>;
            cpu@0 {
                device_type = "cpu";
                reg = <0>;
                status = "disabled";
                riscv,isa = "rv64imac";
            };
            cpu@1 {
                device_type = "cpu";
                reg = <1>;
                status = "okay";
                riscv,isa = "rv64imafdc_zicsr";
                riscv,isa-extensions = "i", "m", "a", "f", "d", "c", "h", "zicsr";
                mmu-type = "riscv,sv39";
            };
            cpu@2 {
                device_type = "cpu";
                reg = <2>;
                riscv,isa = "rv64imafdch_zicsr";
            };
            cpu@3 {
                device_type = "cpu";
                reg = <3>;
                status = "okay";
                riscv,isa = "rv64imafdc";
            };
            cpu@40 {
                device_type = "cpu";
                reg = <0x40>;
                riscv,isa = "rv64imafdc";
            };
        };
        soc {
            #address-cells = <1>;
            #size-cells = <1>;
            compatible = "simple-bus";
            ranges = <0x0 0x0 0x0 0x40000000>;
            serial@10000000 {
                compatible = "ns16550a";
                reg = <0x10000000 0x100>;
            };
            uart@10010000 {
                compatible = "sifive,uart0";
                reg = <0x10010000 0x1000>;
            };
            uart1: uart@10011000 {
                compatible = "sifive,uart0";
                reg = <0x10011000 0x1000>;
            };
        };
    };
    """

    @Test func aliasWithOptions() throws {
        let blob = try DTC.compile(Self.board)
        let host = try hostDescription(blob)
        #expect(host.ram == HostRegion(base: HostPhysAddr(0x8000_0000), size: 0x2000_0000))
        #expect(host.hartMask == 0b1110)          // cpu@0 disabled
        #expect(host.ignoredHartCount == 1)       // hart 0x40 does not fit the mask
        #expect(host.hypervisorHartMask == 0b0110)
        #expect(host.firstHart == 1)
        #expect(host.hasHypervisorExtension)      // from riscv,isa-extensions
        #expect(fixedText(host.isa) == "rv64imafdc_zicsr")
        #expect(fixedText(host.mmuType) == "riscv,sv39")
        #expect(host.timebaseFrequency == 1_000_000)
        let console = try #require(host.console)
        #expect(console.base == HostPhysAddr(0x1001_0000))
        #expect(console.size == 0x1000)
        #expect(!console.is16550Compatible)

        try withReader(blob) { reader throws in
            #expect(reader.reservationCount == 1)
            #expect(reader.reservation(at: 0) == FDTRegion(address: 0x8000_0000, size: 0x20_0000))
            #expect(try reader.findNode("serial1")?.name.text == "uart@10011000")
            #expect(try reader.findNode("serial2") == nil)
            let memory = try reader.node("/memory@80000000")
            #expect(try reader.reg(of: memory, index: 1) == FDTRegion(address: 0x1_0000_0000, size: 0x1000_0000))
        }
    }

    @Test func stdoutPathVariants() throws {
        func console(_ chosen: String, _ extra: String = "") throws -> HostConsole? {
            let dts = Self.board
                .replacingOccurrences(of: "stdout-path = \"serial0:115200n8\";", with: chosen)
                .replacingOccurrences(of: "reserved-memory { };", with: "reserved-memory { };" + extra)
            return try hostDescription(try DTC.compile(dts)).console
        }
        // Absolute path with options.
        #expect(try console("stdout-path = \"/soc/uart@10011000:115200\";")?.base == HostPhysAddr(0x1001_1000))
        // Alias through a phandle reference (dtc turns it into a path).
        #expect(try console("stdout-path = \"serial1\";")?.base == HostPhysAddr(0x1001_1000))
        // Legacy property name.
        #expect(try console("linux,stdout-path = \"/soc/uart@10011000\";")?.base == HostPhysAddr(0x1001_1000))
        // No stdout-path, unknown alias, relative alias value: first ns16550a.
        for chosen in ["", "stdout-path = \"serial9\";", "stdout-path = \"bad0\";", "stdout-path = \":x\";"] {
            let found = try console(chosen, "aliases2 { };")
            #expect(found?.base == HostPhysAddr(0x1000_0000), "\(chosen)")
            #expect(found?.is16550Compatible == true)
        }
        // stdout-path naming a node without reg also falls back.
        #expect(try console("stdout-path = \"/reserved-memory\";")?.base == HostPhysAddr(0x1000_0000))
    }

    @Test func aliasValueMustBeAbsolute() throws {
        let dts = Self.board.replacingOccurrences(of: "serial0 = \"/soc/uart@10010000\";",
                                                  with: "serial0 = \"soc/uart@10010000\";")
        try withReader(try DTC.compile(dts)) { reader throws in
            #expect(fdtError { _ = try reader.findNode("serial0") } == .badPath)
        }
        // HostDescription treats that as "no usable stdout-path" and falls back.
        #expect(try hostDescription(try DTC.compile(dts)).console?.base == HostPhysAddr(0x1000_0000))
    }

    @Test func rangesTranslation() throws {
        let dts = """
        /dts-v1/;
        / {
            #address-cells = <2>;
            #size-cells = <2>;
            memory@80000000 { device_type = "memory"; reg = <0x0 0x80000000 0x0 0x10000000>; };
            cpus {
                #address-cells = <1>; #size-cells = <0>; timebase-frequency = /bits/ 64 <4000000>;
                cpu@5 { device_type = "cpu"; reg = <5>; riscv,isa = "rv64gch"; };
            };
            bus@f0000000 {
                #address-cells = <1>;
                #size-cells = <1>;
                ranges = <0x0 0x0 0x10000000 0x1000000>, <0x40000000 0x1 0x0 0x1000000>;
                inner {
                    #address-cells = <1>;
                    #size-cells = <1>;
                    ranges = <0x1000 0x40000000 0x1000>;
                    serial@1000 { compatible = "ns16550a"; reg = <0x1000 0x100>; reg-shift = <2>; reg-io-width = <4>; };
                };
                serial@2000 { compatible = "ns16550a"; reg = <0x2000 0x100>; status = "disabled"; };
                gap@8000000 { reg = <0x8000000 0x10>; };
            };
        };
        """
        let blob = try DTC.compile(dts)
        let host = try hostDescription(blob)
        #expect(host.hartMask == 1 << 5)
        #expect(host.timebaseFrequency == 4_000_000)   // a 64-bit value is accepted
        #expect(host.hasHypervisorExtension)
        // The disabled serial@2000 is skipped; the inner one goes 0x1000 -> 0x40000000 -> 0x1_0000_0000.
        let console = try #require(host.console)
        #expect(console.base == HostPhysAddr(0x1_0000_0000))
        #expect(console.regShift == 2)
        #expect(console.regIOWidth == 4)
        try withReader(blob) { reader throws in
            let disabled = try reader.node("/bus@f0000000/serial@2000")
            #expect(try reader.translatedReg(of: disabled) == FDTRegion(address: 0x1000_2000, size: 0x100))
            #expect(try reader.reg(of: disabled) == FDTRegion(address: 0x2000, size: 0x100))
            let gap = try reader.node("/bus@f0000000/gap@8000000")
            #expect(fdtError { _ = try reader.translatedReg(of: gap) } == .addressNotTranslatable)
        }
    }

    @Test func missingPieces() throws {
        let noMemory = """
        /dts-v1/;
        / { #address-cells = <2>; #size-cells = <2>;
            cpus { #address-cells = <1>; #size-cells = <0>; timebase-frequency = <1>;
                   cpu@0 { device_type = "cpu"; reg = <0>; }; }; };
        """
        #expect(fdtError { _ = try hostDescription(try DTC.compile(noMemory)) } == .noMemory)
        let noHarts = """
        /dts-v1/;
        / { #address-cells = <2>; #size-cells = <2>;
            memory@0 { device_type = "memory"; reg = <0 0 0 0x1000>; };
            cpus { #address-cells = <1>; #size-cells = <0>; timebase-frequency = <1>;
                   cpu@0 { device_type = "cpu"; reg = <0>; status = "disabled"; }; }; };
        """
        #expect(fdtError { _ = try hostDescription(try DTC.compile(noHarts)) } == .noHarts)
        let noTimebase = noHarts.replacingOccurrences(of: " status = \"disabled\";", with: "")
            .replacingOccurrences(of: "timebase-frequency = <1>;", with: "")
        #expect(fdtError { _ = try hostDescription(try DTC.compile(noTimebase)) } == .propertyNotFound)
        let noCPUs = """
        /dts-v1/;
        / { #address-cells = <2>; #size-cells = <2>;
            memory@0 { device_type = "memory"; reg = <0 0 0 0x1000>; }; };
        """
        #expect(fdtError { _ = try hostDescription(try DTC.compile(noCPUs)) } == .nodeNotFound)
        // Without #address-cells/#size-cells the root defaults to 2 and 1: a 4-cell reg is malformed.
        let defaultCells = """
        /dts-v1/;
        / { memory@0 { device_type = "memory"; reg = <0 0 0 0x1000>; }; };
        """
        #expect(fdtError { _ = try hostDescription(try DTC.compile(defaultCells)) } == .badPropertyLength)
        // No console at all is not an error.
        let host = try hostDescription(try DTC.compile(noTimebase.replacingOccurrences(
            of: "cpu@0 {", with: "cpu@0 { timebase-frequency = <7>;")))
        #expect(host.console == nil)
        #expect(host.timebaseFrequency == 7)    // taken from the cpu node
        #expect(host.isa.count == 0)
        #expect(!host.hasHypervisorExtension)
    }
}

@Suite("ISA strings")
struct FDTISATests {
    func hasH(_ isa: String) -> Bool {
        Array(isa.utf8).withUnsafeBytes { HostDescription.isaHasHypervisorLetter($0) }
    }

    func guest(_ isa: String) -> String {
        fixedText(Array(isa.utf8).withUnsafeBytes { HostDescription.withoutHypervisorLetter($0) })
    }

    @Test func singleLetterPart() {
        #expect(hasH("rv64imafdch"))
        #expect(hasH("rv64imafdch_zicsr"))
        #expect(hasH("RV64IMAFDCH"))
        #expect(hasH("rv32imach_zba"))
        #expect(!hasH("rv64imafdc_zihintpause"))   // 'h' only in a multi-letter extension
        #expect(!hasH("rv64imafdc_h"))
        #expect(!hasH("riscv"))
        #expect(!hasH("rv"))
        #expect(!hasH(""))
        #expect(guest("rv64imafdch_zicsr_zihintpause") == "rv64imafdc_zicsr_zihintpause")
        #expect(guest("rv64imafdc") == "rv64imafdc")
        #expect(guest("x") == "x")
    }

    @Test func longISAIsCutAtAnUnderscore() throws {
        var extensions = "rv64imafdch"
        var i = 0
        while extensions.utf8.count < 700 { extensions += "_zext\(i)"; i += 1 }
        let dts = """
        /dts-v1/;
        / { #address-cells = <2>; #size-cells = <2>;
            memory@0 { device_type = "memory"; reg = <0 0 0 0x1000>; };
            cpus { #address-cells = <1>; #size-cells = <0>; timebase-frequency = <1>;
                   cpu@0 { device_type = "cpu"; reg = <0>; riscv,isa = "\(extensions)"; }; }; };
        """
        let host = try hostDescription(try DTC.compile(dts))
        let isa = fixedText(host.isa)
        #expect(host.isaTruncated)
        #expect(isa.utf8.count <= HostDescription.isaCapacity)
        #expect(extensions.hasPrefix(isa))
        #expect(Array(extensions.utf8)[isa.utf8.count] == UInt8(ascii: "_"))
        #expect(host.hasHypervisorExtension)
        #expect(fixedText(host.guestISA) == "rv64imafdc" + isa.dropFirst("rv64imafdch".count))
    }
}
