// What a guest learns from its device tree: boot count, bootargs, initrd, RAM, timebase (via BulkheadCore's FDTReader).

/// Boot information read once from the device tree at `dtb`. Anything missing or malformed
/// reads as absent: a boot count of 0, empty bootargs, no memory region.
public struct BootInfo {
    /// Largest blob we accept (a partition's tree is a few hundred bytes; QEMU's is a few KiB).
    static let maxTreeSize = 1 << 20

    /// /chosen `bulkhead,boot-count`: 0 on the first boot, +1 each time Bulkhead restarts the partition.
    public private(set) var bootCount: UInt32 = 0
    /// /chosen `bootargs` without its NUL (empty when absent). Points into the device tree.
    public private(set) var bootargs = UnsafeRawBufferPointer(start: nil, count: 0)
    /// The initrd /chosen `linux,initrd-start`/`-end` name (guest-physical, in the partition's own
    /// RAM: Bulkhead loads a partition's `initrd` there for every kind of guest), or nil.
    public private(set) var initrd: UnsafeRawBufferPointer? = nil
    /// The first `reg` entry of /memory (guest-physical).
    public private(set) var memory: FDTRegion? = nil
    /// /cpus `timebase-frequency`, when present.
    public private(set) var timebaseFrequency: UInt64? = nil

    public init(dtb: UInt) {
        guard let tree = Self.reader(dtb: dtb) else { return }
        if let chosen = try? tree.findNode("/chosen") {
            if let count = try? tree.findProperty("bulkhead,boot-count", in: chosen), let value = try? count.u32() {
                bootCount = value
            }
            if let args = try? tree.findProperty("bootargs", in: chosen), let text = try? args.string() {
                bootargs = text
            }
            if let start = try? tree.findProperty("linux,initrd-start", in: chosen), let from = try? start.integer(),
               let end = try? tree.findProperty("linux,initrd-end", in: chosen), let to = try? end.integer(),
               to > from, let base = UnsafeRawPointer(bitPattern: UInt(from)) {
                initrd = UnsafeRawBufferPointer(start: base, count: Int(to &- from))
            }
        }
        if let node = try? tree.findNode("/memory"), let region = try? tree.reg(of: node) { memory = region }
        if let cpus = try? tree.findNode("/cpus"),
           let frequency = try? tree.findProperty("timebase-frequency", in: cpus), let value = try? frequency.integer() {
            timebaseFrequency = value
        }
    }

    /// Whether `bootargs` contains `word` (as a substring).
    public func bootargsContain(_ word: StaticString) -> Bool {
        word.withUTF8Buffer { needle in
            guard needle.count > 0, needle.count <= bootargs.count else { return needle.count == 0 }
            var start = 0
            while start &+ needle.count <= bootargs.count {
                var i = 0
                while i < needle.count && bootargs[start &+ i] == needle[i] { i &+= 1 }
                if i == needle.count { return true }
                start &+= 1
            }
            return false
        }
    }

    /// A validated reader over the blob at `dtb`, or nil. The header's `totalsize` (big-endian,
    /// at offset 4) bounds the blob before the reader sees it.
    static func reader(dtb: UInt) -> FDTReader? {
        guard dtb != 0, dtb & 7 == 0, let base = UnsafeRawPointer(bitPattern: dtb) else { return nil }
        let header = UnsafeRawBufferPointer(start: base, count: 8)
        let size = Int(header[4]) << 24 | Int(header[5]) << 16 | Int(header[6]) << 8 | Int(header[7])
        guard size >= 40, size <= maxTreeSize else { return nil }
        return try? FDTReader(UnsafeRawBufferPointer(start: base, count: size))
    }
}
