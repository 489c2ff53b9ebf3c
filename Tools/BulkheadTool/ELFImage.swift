// ELF64 RISC-V executables flattened into a raw image loaded at guest-physical 0x80000000.
import BulkheadCore

/// Turns an ELF executable's PT_LOAD segments into one flat image starting at `guestRAMBase`.
public enum ELFImage {
    public static var magic: [UInt8] { ELFFile.magic }

    public static func isELF(_ bytes: [UInt8]) -> Bool { ELFFile.isELF(bytes) }

    /// The flat image and the ELF entry point.
    public struct Flat: Equatable {
        public var bytes: [UInt8]
        public var entry: UInt64
    }

    /// Why an ELF file cannot be flattened (each message is complete on its own).
    public typealias Failure = ELFFile.Failure

    /// Copies each PT_LOAD segment's file bytes to `paddr - ramBase` in a zero-filled image that
    /// ends at the end of the last segment (so `.bss` is zeros in the image). Every segment must
    /// lie inside guest RAM `[ramBase, ramBase + ramSize)`; segments must not overlap; the flat
    /// image may not exceed `maxSize` bytes.
    public static func flatten(_ file: [UInt8], ramBase: UInt64 = guestRAMBase.raw, ramSize: UInt64,
                               maxSize: UInt64 = 0x4000_0000) throws(Failure) -> Flat {
        let elf = try ELFFile(file)
        guard elf.type == ELFFile.etExec else {
            throw Failure("not an executable ELF file (e_type is \(elf.type); ET_EXEC, 2, expected)")
        }
        let ramEnd = ramBase &+ ramSize
        let segments = try elf.loadSegments()
        for s in segments where s.physicalAddress < ramBase || s.physicalEnd > ramEnd {
            throw Failure("segment \(s.index) at [\(hex(s.physicalAddress)), \(hex(s.physicalEnd))) lies outside the partition's "
                          + "guest RAM [\(hex(ramBase)), \(hex(ramEnd)))")
        }
        guard let last = segments.map(\.physicalEnd).max() else { throw Failure("the file has no loadable (PT_LOAD) segment") }
        guard last - ramBase <= maxSize else {
            throw Failure("the flat image [\(hex(ramBase)), \(hex(last))) would be \(last - ramBase) bytes, "
                          + "more than the \(maxSize) bytes a bundle can hold")
        }
        var image = [UInt8](repeating: 0, count: Int(last - ramBase))
        for s in segments where !s.fileBytes.isEmpty {
            let at = Int(s.physicalAddress - ramBase)
            image.replaceSubrange(at..<(at + s.fileBytes.count), with: file[s.fileBytes])
        }
        return Flat(bytes: image, entry: elf.entry)
    }
}
