// FDTWriter and GuestDeviceTree: output checked by dtc and by our own reader.

import Foundation
import Testing
@testable import BulkheadCore

/// The text of one node's block in dtc's output: from "name {" to the matching "};".
func dtsBlock(_ dts: String, _ header: String) -> String? {
    guard let start = dts.range(of: header + " {") else { return nil }
    var depth = 0
    var index = start.upperBound
    depth = 1
    while index < dts.endIndex {
        let c = dts[index]
        if c == "{" { depth += 1 }
        if c == "}" { depth -= 1; if depth == 0 { return String(dts[start.lowerBound..<index]) } }
        index = dts.index(after: index)
    }
    return nil
}

@Suite("Guest device tree")
struct GuestDeviceTreeTests {
    @Test func dtcAcceptsAndShowsEverything() throws {
        let blob = try buildGuestTree(samplePartition(), bootCount: 3)
        let dts = try DTC.decompile(blob)

        let root = try #require(dtsBlock(dts, "/"))
        #expect(root.contains("#address-cells = <0x02>;"))
        #expect(root.contains("#size-cells = <0x02>;"))
        #expect(root.contains("compatible = \"bulkhead,partition\";"))
        #expect(root.contains("model = \"Bulkhead partition linux\";"))

        let chosen = try #require(dtsBlock(dts, "chosen"))
        #expect(chosen.contains("bootargs = \"console=hvc0 earlycon=sbi\";"))
        #expect(chosen.contains("stdout-path = \"/bulkhead-console\";"))
        #expect(chosen.contains("bulkhead,boot-count = <0x03>;"))
        #expect(chosen.contains("bulkhead,partition-name = \"linux\";"))

        let console = try #require(dtsBlock(dts, "bulkhead-console"))
        #expect(console.contains("compatible = \"bulkhead,sbi-console\";"))

        let cpus = try #require(dtsBlock(dts, "cpus"))
        #expect(cpus.contains("#address-cells = <0x01>;"))
        #expect(cpus.contains("#size-cells = <0x00>;"))
        #expect(cpus.contains("timebase-frequency = <0x989680>;"))
        #expect(dtsBlock(dts, "cpu@2") == nil)   // vCPU ids, not the physical harts 2 and 3

        var phandles: [String] = []
        for vcpu in 0..<2 {
            let cpu = try #require(dtsBlock(dts, "cpu@\(vcpu)"))
            #expect(cpu.contains("device_type = \"cpu\";"))
            #expect(cpu.contains("reg = <0x0\(vcpu)>;"))
            #expect(cpu.contains("status = \"okay\";"))
            #expect(cpu.contains("compatible = \"riscv\";"))
            #expect(cpu.contains("riscv,isa = \"rv64imafdc_zicsr_zifencei\";"))
            #expect(cpu.contains("mmu-type = \"riscv,sv48\";"))
            let intc = try #require(dtsBlock(cpu, "interrupt-controller"))
            #expect(intc.contains("#interrupt-cells = <0x01>;"))
            #expect(intc.contains("interrupt-controller;"))
            #expect(intc.contains("compatible = \"riscv,cpu-intc\";"))
            for line in cpu.split(separator: "\n") where line.contains("phandle = ") {
                phandles.append(line.trimmingCharacters(in: .whitespaces))
            }
        }
        #expect(phandles.count == 4)
        #expect(Set(phandles).count == 4)

        let memory = try #require(dtsBlock(dts, "memory@80000000"))
        #expect(memory.contains("device_type = \"memory\";"))
        #expect(memory.contains("reg = <0x00 0x80000000 0x00 0x10000000>;"))
    }

    @Test func readsBackWithOurReader() throws {
        let blob = try buildGuestTree(samplePartition(harts: [5, 1, 7]), bootCount: 0)
        let host = try hostDescription(blob)
        #expect(host.ram == HostRegion(base: HostPhysAddr(0x8000_0000), size: 0x1000_0000))
        #expect(host.hartMask == 0b111)
        #expect(host.firstHart == 0)
        #expect(!host.hasHypervisorExtension)
        #expect(fixedText(host.isa) == "rv64imafdc_zicsr_zifencei")
        #expect(fixedText(host.mmuType) == "riscv,sv48")
        #expect(host.timebaseFrequency == 10_000_000)
        #expect(host.console == nil)   // the SBI console has no registers

        try withReader(blob) { reader throws in
            #expect(reader.version == 17)
            #expect(reader.lastCompatibleVersion == 16)
            #expect(reader.reservationCount == 0)
            let chosen = try reader.node("/chosen")
            #expect(try reader.property("bulkhead,boot-count", in: chosen).u32() == 0)
            #expect(try reader.property("bulkhead,partition-name", in: chosen).string().text == "linux")
            #expect(try reader.property("bootargs", in: chosen).string().text == "console=hvc0 earlycon=sbi")
            #expect(try reader.property("model", in: reader.root).string().text == "Bulkhead partition linux")
            #expect(try reader.isCompatible(try reader.node("/bulkhead-console"), with: "bulkhead,sbi-console"))
            var seen = Set<UInt32>()
            for path in ["/cpus/cpu@0", "/cpus/cpu@1", "/cpus/cpu@2"] {
                let cpu = try Array(path.utf8).withUnsafeBytes { try reader.node(path: $0) }
                seen.insert(try reader.property("phandle", in: cpu).u32())
                let intc = try #require(try reader.findChild(of: cpu, named: "interrupt-controller"))
                seen.insert(try reader.property("phandle", in: intc).u32())
            }
            #expect(seen.count == 6)
            #expect(!seen.contains(0))
            #expect(try reader.findNode("/cpus/cpu@3") == nil)
        }
    }

    @Test func emptyBootargsAreOmitted() throws {
        let blob = try buildGuestTree(samplePartition(name: "rtos", harts: [0], memorySize: 0x20_0000, bootargs: ""),
                                      mmuType: "", bootCount: 7)
        try withReader(blob) { reader throws in
            let chosen = try reader.node("/chosen")
            #expect(try reader.findProperty("bootargs", in: chosen) == nil)
            #expect(try reader.property("bulkhead,boot-count", in: chosen).u32() == 7)
            #expect(try reader.findProperty("mmu-type", in: try reader.node("/cpus/cpu@0")) == nil)
            #expect(try reader.reg(of: try reader.node("/memory")) == FDTRegion(address: 0x8000_0000, size: 0x20_0000))
        }
        let dts = try DTC.decompile(blob)
        #expect(!dts.contains("bootargs"))
        #expect(dts.contains("model = \"Bulkhead partition rtos\";"))
    }

    @Test func fitsTheReservedArea() throws {
        var spec = samplePartition(harts: [0, 1, 2, 3, 4, 5, 6, 7],
                                   bootargs: String(repeating: "x", count: PlanLimits.maxBootargsLength))
        spec.name = Array(String(repeating: "n", count: PlanLimits.maxNameLength).utf8).withUnsafeBytes { PartitionName(bytes: $0)! }
        let isa = "rv64imafdc" + String(repeating: "_zextension", count: 40)
        let blob = try buildGuestTree(spec, isa: isa)
        #expect(blob.count < Int(PlanLimits.deviceTreeReserve))
        _ = try DTC.decompile(blob)
    }

    @Test func tooSmallBufferNeverOverflows() throws {
        let spec = samplePartition()
        let needed = try buildGuestTree(spec, isa: "rv64imafdc", mmuType: "riscv,sv48").count
        let isa = Array("rv64imafdc".utf8), mmu = Array("riscv,sv48".utf8)
        for size in 0..<needed {
            // The buffer is a prefix of a larger array whose tail must stay untouched.
            var storage = [UInt8](repeating: 0xA5, count: size + 64)
            let error = storage.withUnsafeMutableBytes { all in
                isa.withUnsafeBytes { isaRaw in
                    mmu.withUnsafeBytes { mmuRaw in
                        fdtError {
                            _ = try GuestDeviceTree.build(
                                into: UnsafeMutableRawBufferPointer(rebasing: all[0..<size]), spec: spec,
                                isa: isaRaw, mmuType: mmuRaw, timebaseFrequency: 1, bootCount: 0)
                        }
                    }
                }
            }
            #expect(error == .bufferTooSmall, "buffer of \(size) bytes")
            #expect(storage[size...].allSatisfy { $0 == 0xA5 }, "wrote past a buffer of \(size) bytes")
        }
    }
}

@Suite("FDT writer")
struct FDTWriterTests {
    /// Runs `body` on a writer over a fresh buffer and returns the finished blob.
    func write(capacity: Int = 4096, _ body: (inout FDTWriter) throws -> Void) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0xEE, count: capacity)
        let size = try buffer.withUnsafeMutableBytes { raw -> Int in
            var writer = try FDTWriter(buffer: raw)
            try body(&writer)
            return try writer.finish()
        }
        return Array(buffer[0..<size])
    }

    @Test func everyValueKind() throws {
        let blob = try write { w in
            try w.beginNode("")
            try w.property("empty")
            try w.property("word", u32: 0xDEAD_BEEF)
            try w.property("wide", u64: 0x0123_4567_89AB_CDEF)
            try w.property("pair", u64Pair: 0x1_0000_0000, 0x2000)
            try w.property("cells", cells: [1, 2, 3] as InlineArray<3, UInt32>)
            try w.property("text", string: "hello")
            try w.property("list", strings: ["a", "bc", ""] as InlineArray<3, StaticString>)
            let raw: [UInt8] = [1, 2, 3]
            try raw.withUnsafeBytes { bytes in try w.property("raw", bytes: bytes) }
            try w.beginNode("child", unitAddress: 0x10)
            try w.beginNode("grandchild", unitAddress: 0)
            try w.endNode()
            try w.endNode()
            try w.beginNode("sibling")
            try w.property("text", string: "again")
            try w.endNode()
            try w.endNode()
        }
        let dts = try DTC.decompile(blob)
        for line in ["empty;", "word = <0xdeadbeef>;", "wide = <0x1234567 0x89abcdef>;",
                     "pair = <0x01 0x00 0x00 0x2000>;", "cells = <0x01 0x02 0x03>;", "text = \"hello\";",
                     "list = \"a\\0bc\\0\";", "raw = [01 02 03];", "child@10 {", "grandchild@0 {",
                     "sibling {", "text = \"again\";"] {
            #expect(dts.contains(line), "\(line) missing from:\n\(dts)")
        }
        try withReader(blob) { reader throws in
            #expect(try reader.property("wide", in: reader.root).u64() == 0x0123_4567_89AB_CDEF)
            #expect(try reader.property("pair", in: reader.root).cells(at: 0, count: 2) == 0x1_0000_0000)
            #expect(try reader.property("pair", in: reader.root).cells(at: 2, count: 2) == 0x2000)
            #expect(try reader.property("raw", in: reader.root).value.count == 3)
            #expect(try reader.node("/child@10/grandchild@0").depth == 2)
            #expect(try reader.property("text", in: try reader.node("/sibling")).string().text == "again")
        }
    }

    @Test func propertyNamesAreDeduplicated() throws {
        let blob = try write { w in
            try w.beginNode("")
            try w.property("compatible", string: "x")
            try w.beginNode("a"); try w.property("compatible", string: "y"); try w.property("reg", u32: 1); try w.endNode()
            try w.beginNode("b"); try w.property("reg", u32: 2); try w.property("compatible", string: "z"); try w.endNode()
            try w.endNode()
        }
        // "compatible\0reg\0" in some order: 15 bytes.
        #expect(blob.header(Header.stringsSize) == 15)
        #expect(blob.header(Header.totalSize) == UInt32(blob.count))
        #expect(blob.header(Header.reservationOffset) == 40)
        #expect(blob.word(at: 40) == 0 && blob.word(at: 44) == 0 && blob.word(at: 48) == 0 && blob.word(at: 52) == 0)
        try withReader(blob) { reader throws in
            #expect(try reader.property("compatible", in: try reader.node("/b")).string().text == "z")
            #expect(try reader.property("reg", in: try reader.node("/a")).u32() == 1)
        }
        _ = try DTC.decompile(blob)
    }

    @Test func misuseIsReported() throws {
        func misuse(_ body: (inout FDTWriter) throws -> Void) -> FDTError? {
            var buffer = [UInt8](repeating: 0, count: 1024)
            return buffer.withUnsafeMutableBytes { raw in
                fdtError {
                    var writer = try FDTWriter(buffer: raw)
                    try body(&writer)
                    _ = try writer.finish()
                }
            }
        }
        #expect(misuse { w in try w.property("x") } == .writerMisuse)
        #expect(misuse { w in try w.endNode() } == .writerMisuse)
        #expect(misuse { w in } == .writerMisuse)   // no root
        #expect(misuse { w in try w.beginNode("") } == .writerMisuse)   // root left open
        #expect(misuse { w in try w.beginNode("root") } == .invalidName)
        #expect(misuse { w in
            try w.beginNode(""); try w.endNode(); try w.beginNode("")
        } == .writerMisuse)
        #expect(misuse { w in
            try w.beginNode(""); try w.beginNode("a"); try w.endNode(); try w.property("late")
        } == .writerMisuse)
        #expect(misuse { w in try w.beginNode(""); try w.beginNode("") } == .invalidName)
        #expect(misuse { w in try w.beginNode(""); try w.beginNode("a/b") } == .invalidName)
        #expect(misuse { w in try w.beginNode(""); try w.property("") } == .invalidName)
        #expect(misuse { w in
            try w.beginNode(""); try w.beginProperty("open"); try w.endNode()
        } == .writerMisuse)
        #expect(misuse { w in
            try w.beginNode(""); try w.beginProperty("open"); try w.endProperty(); try w.endProperty()
        } == .writerMisuse)
        #expect(misuse { w in try w.beginNode(""); try w.appendValue(u32: 1) } == .writerMisuse)
        #expect(misuse { w in
            try w.beginNode("")
            for _ in 0..<FDTReader.maxDepth { try w.beginNode("n") }
        } == .nestingTooDeep)
        // Nothing may follow finish().
        var buffer = [UInt8](repeating: 0, count: 256)
        let after = buffer.withUnsafeMutableBytes { raw in
            fdtError {
                var writer = try FDTWriter(buffer: raw)
                try writer.beginNode(""); try writer.endNode()
                _ = try writer.finish()
                _ = try writer.finish()
            }
        }
        #expect(after == .writerMisuse)
    }

    @Test func tinyBuffers() {
        for size in 0..<60 {
            var buffer = [UInt8](repeating: 0, count: size)
            let error = buffer.withUnsafeMutableBytes { raw in
                fdtError {
                    var writer = try FDTWriter(buffer: raw)
                    try writer.beginNode(""); try writer.endNode()
                    _ = try writer.finish()
                }
            }
            // header 40 + reservation 16 + BEGIN_NODE 8 + END_NODE 4 + END 4 = 72 bytes.
            #expect(error == .bufferTooSmall, "\(size)")
        }
    }

    @Test func smallestTree() throws {
        let blob = try write { w in try w.beginNode(""); try w.endNode() }
        #expect(blob.count == 72)
        #expect(try DTC.decompile(blob).contains("/ {"))
        try withReader(blob) { reader throws in
            var walker = reader.walk()
            #expect(try walker.next()?.isRoot == true)
            #expect(try walker.next() == nil)
        }
    }
}
