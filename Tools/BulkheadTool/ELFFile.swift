// The one ELF reader of the tool: 64-bit little-endian RISC-V files, read through bounds-checked
// fields (a truncated or inconsistent file throws, never traps). Guest images (ELFImage) and the
// hypervisor ELF (KernelELF) both read their headers, segments and symbols here and add their own
// rules on top.

/// A 64-bit little-endian RISC-V ELF file whose identification and machine have been checked.
public struct ELFFile {
    /// The four bytes every ELF file starts with.
    public static let magic: [UInt8] = [0x7F, 0x45, 0x4C, 0x46]

    public static func isELF(_ bytes: [UInt8]) -> Bool { bytes.starts(with: magic) }

    /// Why a file cannot be read as ELF (each message is complete on its own).
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    static let emRISCV: UInt64 = 243
    public static let etExec: UInt16 = 2
    public static let etDyn: UInt16 = 3
    static let ptLoad: UInt64 = 1
    static let shtSymtab: UInt64 = 2

    public let bytes: [UInt8]
    /// e_type (ET_EXEC 2, ET_DYN 3, ...): which types a caller accepts is its own rule.
    public private(set) var type: UInt16
    public private(set) var entry: UInt64

    /// Checks the magic, ELFCLASS64, little-endian data and EM_RISCV; `notELF` is the message for
    /// a file without the ELF magic.
    public init(_ bytes: [UInt8], notELF: String = "not an ELF file") throws(Failure) {
        self.bytes = bytes
        self.type = 0
        self.entry = 0
        guard Self.isELF(bytes) else { throw Failure(notELF) }
        guard try field(4, 1) == 2 else { throw Failure("not a 64-bit ELF file (ELFCLASS64 expected)") }
        guard try field(5, 1) == 1 else { throw Failure("not a little-endian ELF file") }
        let machine = try field(0x12, 2)
        guard machine == Self.emRISCV else { throw Failure("not a RISC-V ELF file (e_machine is \(machine), RISC-V is 243)") }
        self.type = UInt16(try field(0x10, 2))
        self.entry = try field(0x18, 8)
    }

    /// The little-endian unsigned field of `width` bytes at `offset`.
    public func field(_ offset: UInt64, _ width: Int) throws(Failure) -> UInt64 {
        guard offset <= UInt64(bytes.count), UInt64(width) <= UInt64(bytes.count) - offset else {
            throw Failure("the ELF file is truncated (\(bytes.count) bytes; byte \(offset &+ UInt64(width)) needed)")
        }
        var value: UInt64 = 0
        for i in 0..<width { value |= UInt64(bytes[Int(offset) + i]) << UInt64(8 * i) }
        return value
    }

    /// The file bytes `[offset, offset + size)`, which must lie inside the file; `what` names them.
    public func range(_ offset: UInt64, _ size: UInt64, _ what: String) throws(Failure) -> Range<Int> {
        let (end, overflow) = offset.addingReportingOverflow(size)
        guard !overflow, end <= UInt64(bytes.count) else {
            throw Failure("\(what) [\(hex(offset)), \(hex(offset &+ size))) lie outside the file (\(bytes.count) bytes)")
        }
        return Int(offset)..<Int(end)
    }

    /// A PT_LOAD segment that occupies memory.
    public struct Segment: Equatable {
        /// Its index in the program header table (what messages name).
        public var index: Int
        public var virtualAddress: UInt64
        public var physicalAddress: UInt64
        public var memorySize: UInt64
        /// Where its file bytes lie in the file.
        public var fileBytes: Range<Int>
        /// The end of its memory, `physicalAddress + memorySize` (never wraps).
        public var physicalEnd: UInt64 { physicalAddress + memorySize }
    }

    /// The PT_LOAD segments with a non-zero memory size, in program header order. Each one's file
    /// bytes lie inside the file and are no more than its memory bytes, its physical range does not
    /// wrap, and no two physical ranges overlap.
    public func loadSegments() throws(Failure) -> [Segment] {
        let phoff = try field(0x20, 8), phentsize = try field(0x36, 2), phnum = try field(0x38, 2)
        guard phnum == 0 || phentsize >= 0x38 else { throw Failure("program header entries are \(phentsize) bytes; at least 56 expected") }
        var segments: [Segment] = []
        for i in 0..<Int(phnum) {
            let ph = phoff &+ UInt64(i) &* phentsize
            guard try field(ph, 4) == Self.ptLoad else { continue }
            let offset = try field(ph + 0x08, 8), vaddr = try field(ph + 0x10, 8), paddr = try field(ph + 0x18, 8)
            let filesz = try field(ph + 0x20, 8), memsz = try field(ph + 0x28, 8)
            guard memsz > 0 else { continue }
            guard filesz <= memsz else { throw Failure("segment \(i) has more file bytes (\(filesz)) than memory bytes (\(memsz))") }
            let fileBytes = try range(offset, filesz, "segment \(i)'s bytes")
            let (end, overflow) = paddr.addingReportingOverflow(memsz)
            guard !overflow else { throw Failure("segment \(i) at \(hex(paddr)) wraps around the address space") }
            for s in segments where paddr < s.physicalEnd && s.physicalAddress < end {
                throw Failure("segment \(i) at [\(hex(paddr)), \(hex(end))) overlaps segment \(s.index)")
            }
            segments.append(Segment(index: i, virtualAddress: vaddr, physicalAddress: paddr, memorySize: memsz,
                                    fileBytes: fileBytes))
        }
        return segments
    }

    /// The values of the symbols named `names` in .symtab (those not found are absent); nil when
    /// the file has no symbol table. A name defined twice with different values throws.
    public func symbols(named names: Set<String>) throws(Failure) -> [String: UInt64]? {
        let shoff = try field(0x28, 8), shentsize = try field(0x3A, 2), shnum = try field(0x3C, 2)
        guard shnum == 0 || shentsize >= 0x40 else { throw Failure("section header entries are \(shentsize) bytes; at least 64 expected") }
        func section(_ index: UInt64) throws(Failure) -> (type: UInt64, offset: UInt64, size: UInt64, link: UInt64, entsize: UInt64) {
            let sh = shoff &+ index &* shentsize
            return (try field(sh + 0x04, 4), try field(sh + 0x18, 8), try field(sh + 0x20, 8), try field(sh + 0x28, 4),
                    try field(sh + 0x38, 8))
        }
        var symtab: (type: UInt64, offset: UInt64, size: UInt64, link: UInt64, entsize: UInt64)?
        for i in 0..<shnum where try section(i).type == Self.shtSymtab { symtab = try section(i); break }
        guard let symtab else { return nil }
        guard symtab.link < shnum else { throw Failure("the symbol table's string table index \(symtab.link) is not a section") }
        let strtab = try section(symtab.link)
        let strings = try range(strtab.offset, strtab.size, "the symbol string table")
        let table = try range(symtab.offset, symtab.size, "the symbol table")
        let entsize = symtab.entsize == 0 ? 24 : symtab.entsize
        guard entsize >= 24 else { throw Failure("symbol table entries are \(entsize) bytes; at least 24 expected") }
        let wanted = Set(names.map { Array($0.utf8) })
        var found: [String: UInt64] = [:]
        var at = UInt64(table.lowerBound)
        while at + 24 <= UInt64(table.upperBound) {
            let nameOffset = try field(at, 4)
            if nameOffset < UInt64(strings.count) {
                let from = strings.lowerBound + Int(nameOffset)
                let nameEnd = bytes[from..<strings.upperBound].firstIndex(of: 0) ?? strings.upperBound
                let name = Array(bytes[from..<nameEnd])
                if wanted.contains(name) {
                    let text = String(decoding: name, as: UTF8.self)
                    let value = try field(at + 8, 8)
                    if let earlier = found[text], earlier != value {
                        throw Failure("\(text) is defined twice in the symbol table (\(hex(earlier)) and \(hex(value)))")
                    }
                    found[text] = value
                }
            }
            at += entsize
        }
        return found
    }
}
