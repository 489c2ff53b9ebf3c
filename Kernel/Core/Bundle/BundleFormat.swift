// Bundle format v1: byte layout of the unsigned bundle (header, partition records, images).
//
// All integers are little-endian. docs/bundle-format.md describes every byte; this file is the
// single place the offsets are written down in code (reader and writer both use it).
//
//   header            64 bytes at offset 0
//   records           partitionCount x 256 bytes at offset 64
//   images            each 8-byte aligned, after the records, ending exactly at totalLength

/// Layout constants of bundle format version 1.
public enum BundleFormat {
    /// "BULKHEAD" in ASCII, read as a little-endian 64-bit integer.
    public static let magic: UInt64 = 0x4441_4548_4B4C_5542
    /// The only format version this build reads and writes.
    public static let version: UInt16 = 1
    public static let headerSize = 64
    public static let recordSize = 256
    /// Every image offset is a multiple of this.
    public static let imageAlignment = 8

    /// Field offsets within the header.
    public enum Header {
        public static let magic = 0             // 8 bytes
        public static let version = 8           // u16
        public static let headerSize = 10       // u16
        public static let recordSize = 12       // u16
        public static let partitionCount = 14   // u16
        public static let totalLength = 16      // u64
        public static let reserved = 24         // 40 bytes, zero (future: security version, signature)
        public static let reservedEnd = 64
    }

    /// Field offsets within one partition record.
    public enum Record {
        public static let nameLength = 0        // u8, at most PlanLimits.maxNameLength
        public static let hartCount = 1         // u8, at most PlanLimits.maxHartsPerPartition
        public static let onFault = 2           // u8, a FaultPolicy raw value
        public static let reserved0 = 3         // u8, zero
        public static let bootargsLength = 4    // u16, at most PlanLimits.maxBootargsLength
        public static let reserved1 = 6         // u16, zero
        public static let name = 8              // 16 bytes, zero after nameLength
        public static let nameCapacity = 16
        public static let harts = 24            // 8 x u32 hart ids, zero after hartCount
        public static let hartSlots = 8
        public static let memoryBase = 56       // u64, host-physical
        public static let memorySize = 64       // u64
        public static let entry = 72            // u64, guest-physical
        public static let imageOffset = 80      // u64, from the start of the bundle
        public static let imageLength = 88      // u64
        public static let bootargs = 96         // 128 bytes, zero after bootargsLength
        public static let bootargsCapacity = 128
        public static let reserved2 = 224       // 32 bytes, zero (future: image digest reference)
        public static let end = 256
    }

    /// Where partition record `index` starts.
    @inline(__always) public static func recordOffset(_ index: Int) -> Int { headerSize &+ index &* recordSize }

    /// `value` rounded up to a multiple of `imageAlignment` (`nil` on overflow).
    public static func alignUp(_ value: UInt64) -> UInt64? {
        let (sum, overflow) = value.addingReportingOverflow(UInt64(imageAlignment - 1))
        return overflow ? nil : sum & ~UInt64(imageAlignment - 1)
    }
}
