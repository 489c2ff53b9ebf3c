// `bulkhead board-info --dtb FILE`: what the hypervisor reads from a board's device tree, and whether it would boot there.
import BulkheadCore
import Foundation

extension Commands {
    /// The board as HostDescription reads `dtbPath`: harts and their H support, ISA, timebase, RAM
    /// (or why there is none), firmware-reserved memory, the initrd, the console with its register
    /// stride, and the verdict the hypervisor would reach (it refuses harts without H).
    public static func boardInfo(dtbPath: String) throws(ToolError) -> String {
        let blob: [UInt8]
        do {
            blob = Array(try Data(contentsOf: URL(fileURLWithPath: dtbPath)))
        } catch {
            throw ToolError.io("\(dtbPath): cannot read: \(FileReason.reason(error, path: dtbPath))")
        }
        let result = blob.withUnsafeBytes { (raw) -> Result<[String], FDTError> in
            do throws(FDTError) {
                let reader = try FDTReader(raw)
                let host = try HostDescription(reader: reader, requiringMemory: false)
                return .success(describe(host, reader: reader))
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let lines): return (["device tree: \(dtbPath)"] + lines).joined(separator: "\n")
        case .failure(let error):
            var sink = StringSink()
            error.write(to: &sink)
            throw ToolError("\(dtbPath): not a usable device tree: \(sink.text)")
        }
    }

    private static func describe(_ host: HostDescription, reader: FDTReader) -> [String] {
        var lines: [String] = []
        if let model = try? reader.findProperty("model", in: reader.root), let text = try? model.string() {
            lines.append("model: \(String(decoding: text, as: UTF8.self))")
        }
        let harts = host.hartMask.nonzeroBitCount + host.ignoredHartCount
        let withH = host.hypervisorHartMask.nonzeroBitCount
        lines.append("harts: \(harts) (mask \(hex(host.hartMask))), with the H extension: \(withH)")
        let isa = host.isa.withBytes { String(decoding: $0, as: UTF8.self) }
        lines.append("isa: \(isa.isEmpty ? "(no riscv,isa)" : isa)")
        lines.append("timebase: \(host.timebaseFrequency) Hz")
        if host.ram.size > 0 {
            lines.append("RAM: \(hex(host.ram.base.raw)) + \(Size.describe(host.ram.size))")
        } else {
            var sink = StringSink()
            FDTError.noMemory.write(to: &sink)
            lines.append("RAM: none: \(sink.text)")
        }
        let reserved = (0..<host.firmwareReserved.count).map { i -> String in
            let r = host.firmwareReserved[i].region
            return "\(hex(r.base.raw)) + \(Size.describe(r.size))"
        }
        lines.append("firmware reserves: " + (reserved.isEmpty ? "nothing" : reserved.joined(separator: ", ")))
        if let initrd = host.initrd {
            lines.append("initrd: \(hex(initrd.base.raw)) + \(Size.describe(initrd.size))")
        }
        if let console = host.console {
            let kind = console.is16550Compatible ? "16550-compatible" : "not 16550-compatible (no driver)"
            lines.append("console: \(hex(console.base.raw)), \(kind), stride \(console.stride), "
                         + "\(console.regIOWidth)-byte access")
        } else {
            lines.append("console: none found (no stdout-path UART and no 16550-compatible UART)")
        }
        if host.hasHypervisorExtension {
            lines.append("Bulkhead: the boot hart has the H extension")
        } else {
            lines.append("Bulkhead: refuses to boot: the harts lack the RISC-V H extension (riscv,isa = \"\(isa)\")")
        }
        return lines
    }
}
