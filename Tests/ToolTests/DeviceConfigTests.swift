// Devices in the CLI: the `devices`, `dma` and `uart` keys, the plan builder against the shipped
// QEMU virt tree and `--dtb`, and what pack writes and inspect shows.

import BulkheadCore
import Foundation
import Testing
@testable import BulkheadTool

/// QEMU virt's tree with 4 harts, from the Core tests' fixtures.
private let smp4Tree = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("CoreTests/Fixtures/qemu-virt-smp4.dtb").path

private let base = "name = \"a\"\nimage = \"i.bin\"\nharts = [1]\nmemory_base = 0\nmemory_size = 0\n"

@Suite("CLI: devices, dma and uart")
struct DeviceConfigTests {
    @Test func parsesDevicesDMAAndUART() throws {
        let config = try Config.parse("""
            [[partition]]
            \(base)devices = ["/soc/rtc@101000", "/soc/virtio_mmio@10008000"]
            dma = "trusted"
            uart = true

            [[partition]]
            name = "b"
            image = "i.bin"
            harts = [2]
            memory_base = 0
            memory_size = 0
            devices = []
            dma = "none"
            uart = false

            [[partition]]
            name = "c"
            image = "i.bin"
            harts = [3]
            memory_base = 0
            memory_size = 0
            """, file: "d.toml")
        #expect(config.partitions.map(\.devices) == [["/soc/rtc@101000", "/soc/virtio_mmio@10008000"], [], []])
        #expect(config.partitions.map(\.flags.raw) == [PartitionFlags.dmaTrusted | PartitionFlags.uart, 0, 0])
        #expect(config.partitions[0] == PartitionConfig(
            name: "a", image: "i.bin", harts: [1], memoryBase: 0, memorySize: 0,
            devices: ["/soc/rtc@101000", "/soc/virtio_mmio@10008000"], flags: PartitionFlags(raw: 3)))
        // Only dma, only uart.
        let dmaOnly = try Config.parse("[[partition]]\n\(base)dma = \"trusted\"", file: "d.toml")
        #expect(dmaOnly.partitions[0].flags.raw == PartitionFlags.dmaTrusted)
        let uartOnly = try Config.parse("[[partition]]\n\(base)uart = true", file: "d.toml")
        #expect(uartOnly.partitions[0].flags.raw == PartitionFlags.uart)
    }

    @Test func configErrors() {
        let what = "an array of device-tree paths, e.g. [\"/soc/rtc@101000\"]"
        let cases: [(String, String)] = [
            ("devices = \"/soc/rtc@101000\"",
             "field devices: expected \(what), found a string (\"/soc/rtc@101000\")"),
            ("devices = 3", "field devices: expected \(what), found an integer"),
            ("devices = { path = \"/soc/rtc@101000\" }", "field devices: expected \(what), found a table"),
            ("devices = [\"/soc/rtc@101000\", 1]", "field devices: expected \(what), found an element that is an integer"),
            ("devices = [[\"/soc/rtc@101000\"]]", "field devices: expected \(what), found an element that is an array"),
            ("devices = [\"soc/rtc@101000\"]",
             "field devices: \"soc/rtc@101000\" is not an absolute device-tree path (it must start with /)"),
            ("devices = [\"\"]", "field devices: \"\" is not an absolute device-tree path (it must start with /)"),
            ("devices = [\"/soc/rtc@101000\", \"/soc/pci@30000000\", \"/soc/rtc@101000\"]",
             "field devices: \"/soc/rtc@101000\" is listed twice"),
            ("dma = \"yes\"",
             "field dma: expected \"trusted\" (guest-physical = host-physical RAM, for DMA-capable devices) or \"none\", found \"yes\""),
            ("dma = \"Trusted\"",
             "field dma: expected \"trusted\" (guest-physical = host-physical RAM, for DMA-capable devices) or \"none\", found \"Trusted\""),
            ("dma = true", "field dma: expected a string, found a boolean"),
            ("uart = \"yes\"", "field uart: expected true or false, found a string (\"yes\")"),
            ("uart = 1", "field uart: expected true or false, found an integer"),
        ]
        for (line, expected) in cases {
            #expect(throws: ToolError(located("t.toml", "[[partition]]\n" + base + line, "partition #0 \"a\", \(expected)")),
                    "\(line)") {
                try Config.parse("[[partition]]\n" + base + line, file: "t.toml")
            }
        }
    }

    /// Runs `check` on `toml` (with a 64-byte `small.bin`) and returns the config's path and the error.
    private func checkError(_ toml: String, board: BoardOptions = BoardOptions()) -> (path: String, error: ToolError?) {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("small.bin", [UInt8](repeating: 0x13, count: 64))
        let path = ws.config(toml)
        do {
            _ = try Commands.check(configPath: path, board: board)
            return (path, nil)
        } catch {
            return (path, error)
        }
    }

    private func devices(_ paths: String...) -> String {
        "devices = [" + paths.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
    }

    @Test func theBuilderFindsEachPathInTheShippedTree() {
        let shipped = "the shipped qemu-virt device tree"
        let cases: [(String, String)] = [
            ("/soc/nothing@0", "device \"/soc/nothing@0\" does not exist in \(shipped)"),
            ("/soc/rtc@101000/x", "device \"/soc/rtc@101000/x\" does not exist in \(shipped)"),
            ("/soc/rtc", "device \"/soc/rtc\" in \(shipped) is disabled or has no `reg` (give the node's full name, with its unit address)"),
            ("/soc", "device \"/soc\" in \(shipped) is disabled or has no `reg` (give the node's full name, with its unit address)"),
            ("/soc/" + String(repeating: "x", count: 60), "device \"/soc/\(String(repeating: "x", count: 60))\": the path is longer than 64 bytes"),
        ]
        for (path, message) in cases {
            let (config, error) = checkError(partition("a", extra: devices(path)))
            #expect(error == ToolError("\(config):7: partition #0 \"a\", field devices: \(message)"), "\(path)")
        }
        // 64 bytes is not too long, merely absent.
        let sixtyFour = "/soc/" + String(repeating: "x", count: 59)
        let (config, error) = checkError(partition("a", extra: devices(sixtyFour)))
        #expect(error?.message == "\(config):7: partition #0 \"a\", field devices: device \"\(sixtyFour)\" does not exist in \(shipped)")
    }

    @Test func validationErrorsNameThePartitionAndDevice() {
        func expect(_ toml: String, _ expected: PlanError, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
            let (config, error) = checkError(toml)
            #expect(error?.planError == expected, sourceLocation: sourceLocation)
            #expect(error?.message == located(config, toml, message), sourceLocation: sourceLocation)
        }
        expect(partition("a", extra: devices("/soc/serial@10000000")), .deviceReserved(partition: 0, device: 0, reason: .console),
               "partition #0 \"a\", field devices: device /soc/serial@10000000 is reserved: it is the hypervisor's console UART")
        expect(partition("a", extra: devices("/soc/plic@c000000")),
               .deviceReserved(partition: 0, device: 0, reason: .interruptController),
               "partition #0 \"a\", field devices: device /soc/plic@c000000 is reserved: it is an interrupt controller the hypervisor owns")
        expect(partition("a", extra: devices("/soc/rtc@101000", "/soc/virtio_mmio@10008000")),
               .deviceNeedsTrustedDMA(partition: 0, device: 1),
               "partition #0 \"a\", field dma: device /soc/virtio_mmio@10008000 can do DMA, which reaches all memory without an IOMMU: its partition must say dma = \"trusted\"")
        expect(partition("a", extra: devices("/soc/virtio_mmio@10008000") + "\ndma = \"none\""),
               .deviceNeedsTrustedDMA(partition: 0, device: 0),
               "partition #0 \"a\", field dma: device /soc/virtio_mmio@10008000 can do DMA, which reaches all memory without an IOMMU: its partition must say dma = \"trusted\"")
        expect(partition("a", extra: devices("/fw-cfg@10100000") + "\ndma = \"trusted\""), .deviceMisaligned(partition: 0, device: 0),
               "partition #0 \"a\", field devices: device /fw-cfg@10100000 has a region that is not 4 KiB aligned (0x10100000 + 0x18)")
        expect(partition("a", extra: devices("/soc/rtc@101000"))
               + partition("b", harts: "[2]", base: "0x85000000", extra: devices("/soc/rtc@101000")),
               .deviceAssignedTwice(partition: 1, device: 1, first: 0, firstOwner: 0),
               "partition #1 \"b\", field devices: device /soc/rtc@101000 is already given (device #0 of partition #0 \"a\"); a device belongs to one partition only")
        // Nine devices in all, over two partitions.
        let five = (1...5).map { "/soc/virtio_mmio@1000\($0)000" }
        let four = (6...8).map { "/soc/virtio_mmio@1000\($0)000" } + ["/soc/rtc@101000"]
        let nine = partition("a", extra: "devices = [" + five.map { "\"\($0)\"" }.joined(separator: ", ") + "]\ndma = \"trusted\"")
            + partition("b", harts: "[2]", base: "0x85000000",
                        extra: "devices = [" + four.map { "\"\($0)\"" }.joined(separator: ", ") + "]\ndma = \"trusted\"")
        expect(nine, .tooManyDevices(count: 9), "the plan gives 9 devices; at most 8 are supported")
        // Eight are fine.
        let eight = partition("a", extra: "devices = [" + five.map { "\"\($0)\"" }.joined(separator: ", ") + "]\ndma = \"trusted\"")
            + partition("b", harts: "[2]", base: "0x85000000",
                        extra: "devices = [" + four.dropLast().map { "\"\($0)\"" }.joined(separator: ", ") + "]\ndma = \"trusted\"")
        #expect(checkError(eight).error == nil)
    }

    @Test func dtbOption() throws {
        let ws = Workspace()
        defer { ws.remove() }
        let missing = ws.directory + "/missing.dtb"
        #expect(throws: ToolError.io("--dtb: cannot read \"\(missing)\": no such file")) {
            try BoardOptions(dtb: missing).resolve()
        }
        ws.write("notes.txt", Array("not a device tree\n".utf8))
        let notes = ws.directory + "/notes.txt"
        #expect(throws: ToolError("\(notes): not a usable device tree: bad magic (not a flattened device tree)")) {
            try BoardOptions(dtb: notes).resolve()
        }
        ws.write("empty.dtb", [])
        #expect(throws: ToolError("\(ws.directory)/empty.dtb: not a usable device tree: the blob is shorter than its header says")) {
            try BoardOptions(dtb: ws.directory + "/empty.dtb").resolve()
        }
        // A usable tree: its devices, and its name in messages.
        let given = try BoardOptions(dtb: smp4Tree).resolve()
        #expect(given.deviceTreeSource == smp4Tree)
        #expect(given.limits.devices.isKnown)
        #expect(Array("/soc/rtc@101000".utf8).withUnsafeBytes { given.limits.devices.find(path: $0) }?.interrupts[0] == 11)
        let shipped = try BoardOptions().resolve()
        #expect(shipped.deviceTreeSource == "the shipped qemu-virt device tree")
        #expect(shipped.limits.devices.count == given.limits.devices.count)
        let (config, error) = checkError(partition("a", extra: devices("/soc/nothing@0")), board: BoardOptions(dtb: smp4Tree))
        #expect(error == ToolError("\(config):7: partition #0 \"a\", field devices: device \"/soc/nothing@0\" does not exist in \(smp4Tree)"))
        #expect(checkError(partition("a", extra: devices("/soc/rtc@101000")), board: BoardOptions(dtb: smp4Tree)).error == nil)
    }

    @Test func packThenInspectListsDevicesAndDMA() throws {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("small.bin", [UInt8](repeating: 0x13, count: 64))
        let toml = partition("clock", extra: devices("/soc/rtc@101000") + "\nuart = true")
            + partition("net", harts: "[2]", base: "0x85000000",
                        extra: devices("/soc/virtio_mmio@10008000", "/soc/pci@30000000") + "\ndma = \"trusted\"")
        let config = ws.config(toml)
        let output = ws.directory + "/bundle.bin"
        let key = try SigningKeys.generate(base: ws.directory + "/keys/test")
        _ = try Commands.pack(configPath: config, output: output, keyPath: key.privatePath, securityVersion: 1,
                              board: BoardOptions())
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: output)))
        let manifest = 64 + 2 * 320 + 3 * 192
        #expect(bytes.count == manifest + 64 + 2 * 64)
        try bytes.withUnsafeBytes { raw throws in
            let reader = try BundleReader(bytes: raw)
            let plan = reader.plan
            #expect(reader.manifestRange.count == manifest)
            #expect(plan[0].flags.raw == PartitionFlags.uart && plan[1].flags.raw == PartitionFlags.dmaTrusted)
            #expect(plan[0].entry == GuestPhysAddr(0x8000_0000))
            #expect(plan[1].entry == GuestPhysAddr(0x8500_0000), "a raw image of a dma-trusted partition starts at its host RAM base")
            #expect(plan.devices.count == 3)
            let owners = (0..<3).map { plan.devices[$0].owner }
            #expect(owners == [0, 1, 1])
            let compatibles = (0..<3).map { d in plan.devices[d].compatible.withBytes { String(decoding: $0, as: UTF8.self) } }
            #expect(compatibles == ["google,goldfish-rtc", "virtio,mmio", "pci-host-ecam-generic"])
            #expect(plan.devices[0].region == HostRegion(base: HostPhysAddr(0x10_1000), size: 0x1000))
            #expect(plan.devices[0].interruptCount == 1 && plan.devices[0].interrupts[0] == 11 && !plan.devices[0].dmaCapable)
            #expect(plan.devices[1].interrupts[0] == 8 && plan.devices[1].dmaCapable)
            #expect(plan.devices[2].interruptCount == 0 && plan.devices[2].region.size == 0x1000_0000)
            try plan.validate(for: try BoardOptions().resolve().limits)
        }

        let inspection = try Commands.inspect(bundlePath: output, board: BoardOptions())
        #expect(inspection.problem == nil)
        let report = inspection.report
        #expect(report.contains("manifest:         \(manifest) bytes at 0x0 (signed)\n"))
        #expect(report.contains("""
              console:   virtual 16550 UART at 0x10000000 and SBI
              dma:       none (RAM at guest-physical 0x80000000)
              device:    /soc/rtc@101000 (google,goldfish-rtc) 0x101000 + 4 KiB, PLIC interrupt 11
            partition #1 "net"
            """), "\(report)")
        #expect(report.contains("  entry:     0x85000000 (guest-physical)\n"))
        #expect(report.contains("loaded at 0x85000000\n"))
        #expect(report.contains("""
              console:   SBI
              dma:       trusted: guest-physical RAM = host-physical; its DMA-capable devices can reach ALL memory (no IOMMU)
              device:    /soc/virtio_mmio@10008000 (virtio,mmio) 0x10008000 + 4 KiB, PLIC interrupt 8, DMA-capable
              device:    /soc/pci@30000000 (pci-host-ecam-generic) 0x30000000 + 256 MiB, no interrupts, DMA-capable
            plan: valid for qemu-virt
            """), "\(report)")

        // A hand-edited device record: listed, then reported invalid (the reader leaves owners to validation).
        var bad = bytes
        bad[BundleFormat.deviceRecordOffset(1, partitionCount: 2, channelCount: 0, initrdCount: 0)] = 5
        let listed = try Commands.inspect(bytes: bad, file: "bad.bin", board: try BoardOptions().resolve())
        #expect(listed.report.contains("device #1 belongs to partition #5, which the bundle does not have\n"))
        #expect(!listed.report.contains("/soc/virtio_mmio@10008000 (virtio,mmio)"))
        #expect(listed.problem == ToolError("bad.bin: device #1 belongs to no partition of the plan",
                                            planError: .deviceOwnerUnknown(device: 1)))
        // An RTC claiming another interrupt no longer matches the board.
        bad = bytes
        bad[BundleFormat.deviceRecordOffset(0, partitionCount: 2, channelCount: 0, initrdCount: 0) + BundleFormat.DeviceRecord.interrupts] = 12
        let moved = try Commands.inspect(bytes: bad, file: "bad.bin", board: try BoardOptions().resolve())
        #expect(moved.report.contains("device:    /soc/rtc@101000 (google,goldfish-rtc) 0x101000 + 4 KiB, PLIC interrupt 12\n"))
        #expect(moved.problem?.planError == .deviceMismatch(partition: 0, device: 0))
        // A malformed record is the reader's error.
        bad = bytes
        bad[BundleFormat.deviceRecordOffset(2, partitionCount: 2, channelCount: 0, initrdCount: 0) + BundleFormat.DeviceRecord.flags] = 2
        #expect(throws: ToolError("bad.bin: device record #2: its interrupt count, path length, compatible length or flags are out of range",
                                  bundleError: .malformedDeviceRecord(record: 2))) {
            try Commands.inspect(bytes: bad, file: "bad.bin", board: try BoardOptions().resolve())
        }
    }

    @Test func describeDevice() {
        var device = DeviceSpec()
        device.path = Array("/soc/timer@2000".utf8).withUnsafeBytes { DevicePath(bytes: $0)! }
        device.region = HostRegion(base: HostPhysAddr(0x4000_2000), size: 0x18)
        device.interrupts[0] = 20
        device.interrupts[1] = 7
        device.interruptCount = 2
        #expect(Commands.describeDevice(device) == "/soc/timer@2000 (no compatible) 0x40002000 + 24 bytes, PLIC interrupts 20, 7")
    }
}
