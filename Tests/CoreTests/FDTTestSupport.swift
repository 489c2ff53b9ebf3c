// Helpers for the FDT tests: fixture loading, running dtc, hand-made blobs, big-endian patching.

import Foundation
import Testing
@testable import BulkheadCore

enum FDTFixtures {
    /// Tests/CoreTests/Fixtures, found from this file's path (Package.swift declares no resources).
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func load(_ name: String) throws -> [UInt8] {
        let url = directory.appendingPathComponent(name)
        return try [UInt8](Data(contentsOf: url))
    }
}

/// Runs the device tree compiler. A missing dtc is a test failure, not a skip.
enum DTC {
    static let missingMessage: Comment =
        "dtc not found: install it (apt-get install -y device-tree-compiler); the FDT tests need it"

    static var path: String? {
        var candidates = ["/usr/bin/dtc", "/usr/local/bin/dtc", "/opt/homebrew/bin/dtc"]
        if let searchPath = ProcessInfo.processInfo.environment["PATH"] {
            candidates += searchPath.split(separator: ":").map { "\($0)/dtc" }
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    struct Output {
        var status: Int32
        var stdout: [UInt8]
        var stderr: String
        var text: String { String(decoding: stdout, as: UTF8.self) }
    }

    /// Runs `dtc arguments...` with `input` on stdin.
    static func run(_ arguments: [String], input: [UInt8]) throws -> Output {
        let executable = try #require(path, missingMessage)
        let scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("bulkhead-fdt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let inputURL = scratch.appendingPathComponent("in")
        let outputURL = scratch.appendingPathComponent("out")
        let errorURL = scratch.appendingPathComponent("err")
        try Data(input).write(to: inputURL)
        _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments + ["-o", outputURL.path, inputURL.path]
        process.standardError = try FileHandle(forWritingTo: errorURL)
        try process.run()
        process.waitUntilExit()
        return Output(status: process.terminationStatus,
                      stdout: try [UInt8](Data(contentsOf: outputURL)),
                      stderr: String(decoding: try Data(contentsOf: errorURL), as: UTF8.self))
    }

    /// `dtc -I dts -O dtb`; fails the test on a compile error.
    static func compile(_ dts: String) throws -> [UInt8] {
        let output = try run(["-q", "-I", "dts", "-O", "dtb"], input: Array(dts.utf8))
        try #require(output.status == 0, "dtc failed to compile the test source: \(output.stderr)")
        return output.stdout
    }

    /// `dtc -I dtb -O dts`; fails the test when dtc rejects the blob.
    static func decompile(_ blob: [UInt8]) throws -> String {
        let output = try run(["-I", "dtb", "-O", "dts"], input: blob)
        try #require(output.status == 0, "dtc rejected the blob: \(output.stderr)")
        return output.text
    }
}

extension UnsafeRawBufferPointer {
    var text: String { String(decoding: self, as: UTF8.self) }
}

/// Big-endian word access on byte arrays, for patching headers and tokens.
extension Array where Element == UInt8 {
    func word(at offset: Int) -> UInt32 {
        UInt32(self[offset]) << 24 | UInt32(self[offset + 1]) << 16 | UInt32(self[offset + 2]) << 8
            | UInt32(self[offset + 3])
    }

    mutating func setWord(_ value: UInt32, at offset: Int) {
        self[offset] = UInt8(truncatingIfNeeded: value >> 24)
        self[offset + 1] = UInt8(truncatingIfNeeded: value >> 16)
        self[offset + 2] = UInt8(truncatingIfNeeded: value >> 8)
        self[offset + 3] = UInt8(truncatingIfNeeded: value)
    }

    /// Header field `index` (0 = magic, 1 = totalsize, 2 = off_dt_struct, ...).
    func header(_ index: Int) -> UInt32 { word(at: index * 4) }
    mutating func setHeader(_ index: Int, _ value: UInt32) { setWord(value, at: index * 4) }
}

enum Header {
    static let magic = 0, totalSize = 1, structOffset = 2, stringsOffset = 3, reservationOffset = 4
    static let version = 5, lastCompatible = 6, bootCPU = 7, stringsSize = 8, structSize = 9
}

/// Builds blobs by hand (host-side, with arrays) so tests can write what FDTWriter never would.
struct RawBlob {
    var structure: [UInt8] = []
    var strings: [UInt8] = []

    mutating func word(_ value: UInt32) {
        structure += [UInt8(truncatingIfNeeded: value >> 24), UInt8(truncatingIfNeeded: value >> 16),
                      UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }

    mutating func pad() { while structure.count % 4 != 0 { structure.append(0) } }

    mutating func begin(_ name: String, terminated: Bool = true) {
        word(1)
        structure += Array(name.utf8)
        if terminated { structure.append(0); pad() }
    }

    mutating func end() { word(2) }
    mutating func nop() { word(4) }
    mutating func finish() { word(9) }

    /// Interns `name` in the strings block (no de-duplication needed for tests).
    mutating func nameOffset(_ name: String) -> UInt32 {
        let offset = UInt32(strings.count)
        strings += Array(name.utf8) + [0]
        return offset
    }

    mutating func property(_ name: String, _ value: [UInt8]) {
        property(nameOffset: nameOffset(name), value)
    }

    mutating func property(nameOffset: UInt32, _ value: [UInt8], length: UInt32? = nil) {
        word(3)
        word(length ?? UInt32(value.count))
        word(nameOffset)
        structure += value
        pad()
    }

    mutating func property(_ name: String, u32 value: UInt32) {
        property(name, [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)])
    }

    mutating func property(_ name: String, string: String) {
        property(name, Array(string.utf8) + [0])
    }

    /// header (40) | reservation terminator (16) | structure | strings
    var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 56)
        let stringsOffset = 56 + structure.count
        out += structure
        out += strings
        out.setHeader(Header.magic, 0xd00d_feed)
        out.setHeader(Header.totalSize, UInt32(out.count))
        out.setHeader(Header.structOffset, 56)
        out.setHeader(Header.stringsOffset, UInt32(stringsOffset))
        out.setHeader(Header.reservationOffset, 40)
        out.setHeader(Header.version, 17)
        out.setHeader(Header.lastCompatible, 16)
        out.setHeader(Header.stringsSize, UInt32(strings.count))
        out.setHeader(Header.structSize, UInt32(structure.count))
        return out
    }
}

/// Parses `blob` with FDTReader inside `body`.
func withReader<R>(_ blob: [UInt8], _ body: (FDTReader) throws -> R) throws -> R {
    try blob.withUnsafeBytes { raw in try body(try FDTReader(raw)) }
}

/// Parses `blob` as a host description.
func hostDescription(_ blob: [UInt8]) throws -> HostDescription {
    try blob.withUnsafeBytes { raw in try HostDescription(dtb: raw) }
}

/// The FDTError thrown by `body`, or nil when it did not throw. Any other error fails the test.
func fdtError(_ body: () throws -> Void) -> FDTError? {
    do {
        try body()
    } catch let error as FDTError {
        return error
    } catch {
        Issue.record("expected an FDTError, got \(error)")
    }
    return nil
}

func fixedText<let n: Int>(_ text: FixedText<n>) -> String {
    text.withBytes { String(decoding: $0, as: UTF8.self) }
}

/// A sample partition for writer tests.
func samplePartition(name: String = "linux", harts: [UInt32] = [2, 3], memorySize: UInt64 = 0x1000_0000,
                     bootargs: String = "console=hvc0 earlycon=sbi") -> PartitionSpec {
    var spec = PartitionSpec()
    spec.name = Array(name.utf8).withUnsafeBytes { PartitionName(bytes: $0)! }
    for hart in harts { _ = spec.harts.append(hart) }
    spec.memory = HostRegion(base: HostPhysAddr(0x9000_0000), size: memorySize)
    spec.bootargs = Array(bootargs.utf8).withUnsafeBytes { Bootargs(bytes: $0)! }
    return spec
}

/// Builds a guest tree for `spec` into a fresh buffer and returns the blob.
func buildGuestTree(_ spec: PartitionSpec, isa: String = "rv64imafdc_zicsr_zifencei",
                    mmuType: String = "riscv,sv48", timebase: UInt32 = 10_000_000,
                    bootCount: UInt32 = 0, capacity: Int = 0x1_0000) throws -> [UInt8] {
    var buffer = [UInt8](repeating: 0, count: capacity)
    let isaBytes = Array(isa.utf8), mmuBytes = Array(mmuType.utf8)
    let size = try buffer.withUnsafeMutableBytes { out in
        try isaBytes.withUnsafeBytes { isaRaw in
            try mmuBytes.withUnsafeBytes { mmuRaw in
                try GuestDeviceTree.build(into: out, spec: spec, isa: isaRaw, mmuType: mmuRaw,
                                          timebaseFrequency: timebase, bootCount: bootCount)
            }
        }
    }
    return Array(buffer[0..<size])
}
