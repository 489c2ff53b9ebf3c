// The CLI side of Linux guests: kind = "linux" (the Image header decides the load address) and
// initrd = "path" (packed, hashed and signed in an initrd record), with their errors.

import BulkheadCore
import Foundation
import Testing
@testable import BulkheadTool

/// A 64-byte RV64 Image header (Documentation/arch/riscv/boot-image-header.rst) then `body` bytes.
private func image(textOffset: UInt64 = 0x20_0000, imageSize: UInt64 = 0x40_0000, body: Int = 192, magic: Bool = true) -> [UInt8] {
    var b = [UInt8](repeating: 0, count: 64 + body)
    BundleWriter.put(&b, 8, textOffset, 8)
    BundleWriter.put(&b, 16, imageSize, 8)
    BundleWriter.put(&b, 32, 2, 4)
    if magic { BundleWriter.put(&b, 56, UInt64(LinuxImageHeader.magic2), 4) }
    return b
}

@Suite("CLI: Linux partitions and initrds")
struct LinuxPackTests {
    @Test func packsALinuxImageWithItsInitrd() throws {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("small.bin", [0x13, 0, 0, 0])
        ws.write("Image", image())
        let initrd = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        ws.write("initrd.cpio", initrd)
        let config = ws.config(partition("beat", harts: "[0]", size: "\"2M\"")
            + partition("linux", harts: "[1, 2]", base: "0x90000000", size: "\"256M\"", image: "Image",
                        extra: "kind = \"linux\"\ninitrd = \"initrd.cpio\"\nbootargs = \"console=hvc0 earlycon=sbi\""))
        let output = ws.directory + "/bundle.bin"
        let key = try SigningKeys.generate(base: ws.directory + "/keys/test")
        _ = try Commands.pack(configPath: config, output: output, keyPath: key.privatePath, securityVersion: 1, board: BoardOptions())
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: output)))
        try bytes.withUnsafeBytes { raw throws in
            let reader = try BundleReader(bytes: raw)
            #expect(BundleSigning.check(reader, key: try SigningKeys.loadPublic(key.publicPath)) == nil)
            let linux = reader.plan[1]
            #expect(linux.imageKind == .linux && linux.entry == GuestPhysAddr(0x8020_0000))
            #expect(linux.initrdSize == 5000 && [UInt8](reader.initrd(1)) == initrd)
            #expect([UInt8](reader.initrdDigest(1)) == BundleSigning.imageDigest(initrd))
            #expect(reader.plan[0].imageKind == .flat && reader.initrdRange(0).count == 0)
        }
        let report = try Commands.inspect(bundlePath: output, board: BoardOptions()).report
        #expect(report.contains("loaded at 0x80200000 (a Linux Image)"))
        #expect(report.contains("initrd:    5000 bytes at bundle offset "))
        #expect(report.contains(", loaded at 0x8ffee000\n"))
        #expect(report.contains("\(hexString(BundleSigning.imageDigest(initrd)))   (initrd)"))

        // A changed initrd byte: the digest check names the initrd.
        var bad = bytes
        bad[bad.count - 1] ^= 1
        try bad.withUnsafeBytes { raw throws in
            let reader = try BundleReader(bytes: raw)
            #expect(BundleSigning.check(reader, key: try SigningKeys.loadPublic(key.publicPath)) == .initrdDigestMismatch(partition: 1))
        }
    }

    @Test func updatesALinuxPartitionWithItsInitrd() throws {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("small.bin", [0x13, 0, 0, 0])
        ws.write("Image", image())
        ws.write("initrd.cpio", [UInt8](repeating: 7, count: 3000))
        let config = ws.config(partition("beat", harts: "[0]", size: "\"2M\"")
            + partition("linux", harts: "[1, 2]", base: "0x90000000", size: "\"256M\"", image: "Image",
                        extra: "kind = \"linux\"\ninitrd = \"initrd.cpio\""))
        let key = try SigningKeys.generate(base: ws.directory + "/keys/test")
        let bundle = ws.directory + "/bundle.bin"
        _ = try Commands.pack(configPath: config, output: bundle, keyPath: key.privatePath, securityVersion: 1, board: BoardOptions())
        // The next release: another Image (text_offset 4 MiB, so another entry) and another initrd.
        let initrd = (0..<4097).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        ws.write("Image", image(textOffset: 0x40_0000, body: 300))
        ws.write("initrd.cpio", initrd)
        let update = ws.directory + "/linux-update.bin"
        _ = try Commands.packUpdate(configPath: config, partition: "linux", output: update, keyPath: key.privatePath,
                                    securityVersion: 2, board: BoardOptions())
        let verified = try Commands.verifyUpdate(path: update, publicKeyPath: key.publicPath, bundlePath: bundle)
        #expect(verified.partition == 1 && verified.partitionName == "linux")
        let (_, inspected) = try Commands.inspectUpdate(path: update)
        #expect(inspected.entry == 0x8040_0000 && inspected.imageSize == 364 && inspected.initrdSize == 4097)
        #expect(inspected.initrdDigest == hexString(BundleSigning.imageDigest(initrd)))
    }

    @Test func linuxAndInitrdErrors() throws {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("small.bin", [0x13, 0, 0, 0])
        ws.write("Image", image())
        ws.write("vmlinux", image(magic: false))
        ws.write("odd", image(textOffset: 0x1000))
        ws.write("huge", image(imageSize: 0x1000_0000))
        ws.write("empty", [])
        func failure(_ extra: String, image: String = "Image", size: String = "\"16M\"") -> String {
            let config = ws.config(partition("lx", size: size, image: image, extra: extra))
            do {
                _ = try PlanBuilder.load(configPath: config, board: try BoardOptions().resolve())
                return "accepted"
            } catch { return error.description.replacingOccurrences(of: ws.directory + "/", with: "") }
        }
        #expect(failure("kind = \"linux\"") == "accepted")
        #expect(failure("kind = \"vms\"") == "plan.toml:7: partition #0 \"lx\", field kind: expected \"bulkhead\" (a flat guest image), \"linux\" (a RISC-V Linux Image) or \"payload\" (a flat image loaded at its entry), found \"vms\"")
        #expect(failure("kind = \"linux\"\nentry = 0x80200000") == "plan.toml:8: partition #0 \"lx\", field entry: a Linux Image is entered at its load address (the RAM base + its header's text_offset): leave entry out")
        #expect(failure("kind = \"linux\"", image: "vmlinux").hasPrefix("plan.toml:3: partition #0 \"lx\", field image: \"vmlinux\" is not a usable Linux Image: it has no RISC-V Image header"))
        #expect(failure("kind = \"linux\"", image: "odd") == "plan.toml:3: partition #0 \"lx\", field image: \"odd\" is not a usable Linux Image: its text_offset 0x1000 is not a multiple of 2 MiB")
        #expect(failure("kind = \"linux\"", image: "huge").hasPrefix("plan.toml:6: partition #0 \"lx\", field memory_size: the Linux Image occupies 268435456 bytes (image_size) from offset 0x200000"))
        #expect(failure("initrd = \"missing.cpio\"").hasPrefix("plan.toml:7: partition #0 \"lx\", field initrd: cannot read \"missing.cpio\""))
        #expect(failure("initrd = \"empty\"") == "plan.toml:7: partition #0 \"lx\", field initrd: \"empty\" is empty")
        #expect(failure("initrd = \"\"") == "plan.toml:7: partition #0 \"lx\", field initrd: the path is empty")
        #expect(failure("initrd = 3") == "plan.toml:7: partition #0 \"lx\", field initrd: expected a string, found an integer")
        // An initrd as large as the RAM below the device tree.
        ws.write("big.cpio", [UInt8](repeating: 1, count: 0x20_0000))
        #expect(failure("initrd = \"big.cpio\"", size: "\"2M\"") == "plan.toml:7: partition #0 \"lx\", field initrd: the initrd (2097152 bytes) does not fit in the 2031616 bytes available below the device tree")
    }
}
