// ELF64 RISC-V executables flattened into a raw image loaded at guest-physical 0x80000000.
import BulkheadCore

/// Turns an ELF executable's PT_LOAD segments into one flat image starting at `guestRAMBase`.
public enum ELFImage {
    /// The four bytes every ELF file starts with.
    public static let magic: [UInt8] = [0x7F, 0x45, 0x4C, 0x46]

    public static func isELF(_ bytes: [UInt8]) -> Bool { bytes.starts(with: magic) }

    /// The flat image and the ELF entry point.
    public struct Flat: Equatable {
        public var bytes: [UInt8]
        public var entry: UInt64
    }

    /// Why an ELF file cannot be flattened (each message is complete on its own).
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    static let ptLoad: UInt32 = 1
    static let emRISCV: UInt16 = 243
    static let etExec: UInt16 = 2

    /// Copies each PT_LOAD segment's file bytes to `paddr - ramBase` in a zero-filled image that
    /// ends at the end of the last segment (so `.bss` is zeros in the image). Every segment must
    /// lie inside guest RAM `[ramBase, ramBase + ramSize)`; segments must not overlap; the flat
    /// image may not exceed `maxSize` bytes.
    public static func flatten(_ file: [UInt8], ramBase: UInt64 = guestRAMBase.raw, ramSize: UInt64,
                               maxSize: UInt64 = 0x4000_0000) throws(Failure) -> Flat {
        func field(_ offset: Int, _ width: Int) throws(Failure) -> UInt64 {
            guard offset >= 0, offset + width <= file.count else {
                throw Failure("the file is truncated (\(file.count) bytes; byte \(offset + width) needed)")
            }
            var value: UInt64 = 0
            for i in 0..<width { value |= UInt64(file[offset + i]) << UInt64(8 * i) }
            return value
        }
        guard isELF(file) else { throw Failure("not an ELF file") }
        guard try field(4, 1) == 2 else { throw Failure("not a 64-bit ELF file (ELFCLASS64 expected)") }
        guard try field(5, 1) == 1 else { throw Failure("not a little-endian ELF file") }
        let machine = UInt16(try field(0x12, 2))
        guard machine == emRISCV else { throw Failure("not a RISC-V ELF file (e_machine is \(machine), RISC-V is 243)") }
        let type = UInt16(try field(0x10, 2))
        guard type == etExec else { throw Failure("not an executable ELF file (e_type is \(type); ET_EXEC, 2, expected)") }
        let entry = try field(0x18, 8)
        let phoff = try field(0x20, 8)
        let phentsize = Int(try field(0x36, 2))
        let phnum = Int(try field(0x38, 2))
        guard phentsize >= 0x38 else { throw Failure("program header entries are \(phentsize) bytes; at least 56 expected") }
        guard phoff <= UInt64(file.count) else { throw Failure("the program header table lies outside the file") }

        let ramEnd = ramBase &+ ramSize
        var segments: [(index: Int, start: UInt64, end: UInt64, fileOffset: Int, fileSize: Int)] = []
        for i in 0..<phnum {
            let ph = Int(phoff) + i * phentsize
            guard try field(ph, 4) == UInt64(ptLoad) else { continue }
            let offset = try field(ph + 0x08, 8)
            let paddr = try field(ph + 0x18, 8)
            let filesz = try field(ph + 0x20, 8)
            let memsz = try field(ph + 0x28, 8)
            guard memsz > 0 else { continue }
            guard filesz <= memsz else {
                throw Failure("segment \(i) has more file bytes (\(filesz)) than memory bytes (\(memsz))")
            }
            let (fileEnd, fileOverflow) = offset.addingReportingOverflow(filesz)
            guard !fileOverflow, fileEnd <= UInt64(file.count) else {
                throw Failure("segment \(i)'s bytes [\(hex(offset)), \(hex(offset &+ filesz))) lie outside the file")
            }
            let (end, overflow) = paddr.addingReportingOverflow(memsz)
            guard !overflow, paddr >= ramBase, end <= ramEnd else {
                throw Failure("segment \(i) at [\(hex(paddr)), \(hex(paddr &+ memsz))) lies outside the partition's "
                              + "guest RAM [\(hex(ramBase)), \(hex(ramEnd)))")
            }
            for s in segments where paddr < s.end && s.start < end {
                throw Failure("segment \(i) at [\(hex(paddr)), \(hex(end))) overlaps segment \(s.index)")
            }
            segments.append((i, paddr, end, Int(offset), Int(filesz)))
        }
        guard let last = segments.map(\.end).max() else { throw Failure("the file has no loadable (PT_LOAD) segment") }
        guard last - ramBase <= maxSize else {
            throw Failure("the flat image [\(hex(ramBase)), \(hex(last))) would be \(last - ramBase) bytes, "
                          + "more than the \(maxSize) bytes a bundle can hold")
        }
        var image = [UInt8](repeating: 0, count: Int(last - ramBase))
        for s in segments where s.fileSize > 0 {
            let at = Int(s.start - ramBase)
            image.replaceSubrange(at..<(at + s.fileSize), with: file[s.fileOffset..<(s.fileOffset + s.fileSize)])
        }
        return Flat(bytes: image, entry: entry)
    }
}
