// The 64-byte header at the start of a RISC-V Linux `Image` (Linux: Documentation/arch/riscv/boot-image-header.rst).
//
//   offset  size  field
//   0       4     code0         executable code (a jump past the header)
//   4       4     code1
//   8       8     text_offset   image load offset from the start of RAM, little-endian
//   16      8     image_size    effective image size (text, data, bss: what the kernel occupies), little-endian
//   24      8     flags         bit 0: endianness (0 = little)
//   32      4     version       header version (major << 16 | minor)
//   36      4     res1
//   40      8     res2
//   48      8     magic         "RISCV\0\0\0" (deprecated since header version 0.2)
//   56      4     magic2        "RSC\x05"
//   60      4     res3

/// A parsed Linux Image header: where the kernel wants to sit and how much RAM it occupies.
public struct LinuxImageHeader: Equatable, Sendable {
    public static let size = 64
    /// "RSC\x05" read little-endian (offset 56).
    public static let magic2: UInt32 = 0x0543_5352
    /// The 2 MiB alignment the boot protocol requires of the load address on RV64 (Documentation/arch/riscv/boot.rst).
    public static let loadAlignment: UInt64 = 0x20_0000

    public var textOffset: UInt64
    public var imageSize: UInt64
    public var flags: UInt64
    public var version: UInt32

    /// Why bytes are not a usable RV64 Linux Image.
    public enum Problem: Error, Equatable, Sendable {
        case tooShort(Int)
        case noMagic
        case bigEndian
        case textOffsetMisaligned(UInt64)
    }

    /// Parses the first 64 bytes of `image`.
    public init(_ image: UnsafeRawBufferPointer) throws(Problem) {
        guard image.count >= Self.size else { throw .tooShort(image.count) }
        guard loadLittleEndian64(image, 56) & 0xFFFF_FFFF == UInt64(Self.magic2) else { throw .noMagic }
        textOffset = loadLittleEndian64(image, 8)
        imageSize = loadLittleEndian64(image, 16)
        flags = loadLittleEndian64(image, 24)
        version = UInt32(truncatingIfNeeded: loadLittleEndian64(image, 32))
        guard flags & 1 == 0 else { throw .bigEndian }
        guard textOffset % Self.loadAlignment == 0 else { throw .textOffsetMisaligned(textOffset) }
    }

    /// What the kernel occupies from its load address: `image_size`, or the file's length when a
    /// header leaves it 0.
    public func footprint(fileLength: UInt64) -> UInt64 { imageSize > fileLength ? imageSize : fileLength }
}
