// The signed next stage: its 4096-byte header below the image, parsed and checked (docs/monitor.md).
//
// Header (little-endian), at image address - 4096:
//   0  magic "BHNEXT01" (8)     8  format version u32 = 2     12 reserved u32 = 0
//   16 load address u64         24 image size u64             32 key id (8: SHA-512(public key)[0..8])
//   40 SHA-512 of the image (64)                              104 security version u64
//   112 Ed25519 signature (64) over bytes 0..<112
// The rest of the 4096 bytes is ignored. Format version 1 (no security version, signature at 104)
// is refused with its own reason. Checks, in order (the first failure decides): magic, version,
// load address, size (non-zero, at most the limit, inside RAM with its header), key id revoked,
// key id trusted, signature, then the image's digest; the caller then checks the security version
// against the monitor's floor (Monitor.swift). No heap; every read is bounded.
import BulkheadCore

enum NextStageHeader {
    static let size = 4096
    static let magic: UInt64 = 0x3130_5458_454E_4842      // "BHNEXT01" read little-endian
    static let version: UInt32 = 2
    /// The format before the security version (refused: it cannot be held to a floor).
    static let unversionedFormat: UInt32 = 1
    static let loadAddressOffset = 16
    static let imageSizeOffset = 24
    static let keyIDOffset = 32
    static let digestOffset = 40
    static let securityVersionOffset = 104
    static let signatureOffset = 112
    static let signedLength = 112
}

/// What the monitor decided about a next stage.
enum NextStageVerdict {
    case accepted(SHA512Digest)
    case noHeader
    case badVersion(UInt32)
    case wrongAddress(expected: UInt64, found: UInt64)
    case badSize(UInt64, limit: UInt64)
    case outsideRAM(HostRegion)
    case revokedKey(SigningKeyID)
    case unknownKey(SigningKeyID)
    case badSignature(SigningKeyID)
    case digestMismatch
    /// A verified next stage whose security version is below the monitor's floor.
    case rolledBack(version: UInt64, floor: UInt64)
    /// The monitor's state record could not be read or written (so no floor can be enforced).
    case stateUnavailable(MonitorRecordError)

    /// The C result code (bulkhead_monitor.h).
    var code: Int32 {
        switch self {
        case .accepted: return 0
        case .noHeader: return -2
        case .badVersion: return -3
        case .wrongAddress: return -4
        case .badSize, .outsideRAM: return -5
        case .revokedKey: return -6
        case .unknownKey: return -7
        case .badSignature: return -8
        case .digestMismatch: return -9
        case .rolledBack: return -10
        case .stateUnavailable: return -11
        }
    }

    func write<S: TextSink>(to out: inout S) {
        switch self {
        case .accepted:
            out.write("verified")
        case .noHeader:
            out.write("no signed next-stage header (magic \"BHNEXT01\") in the 4096 bytes below it")
        case .badVersion(let v) where v == NextStageHeader.unversionedFormat:
            out.write("header format version 1 has no security version and is no longer accepted; re-sign the image (format 2)")
        case .badVersion(let v):
            out.write("header format version "); out.write(decimal: UInt64(v)); out.write(" is not supported (2 is)")
        case .wrongAddress(let expected, let found):
            out.write("the header is signed for load address "); out.write(hex: found)
            out.write(", not "); out.write(hex: expected)
        case .badSize(let size, let limit):
            out.write("image size "); out.write(decimal: size); out.write(" is 0 or above the limit of ")
            out.write(size: limit)
        case .outsideRAM(let region):
            out.write("the image and its header ("); out.write(hex: region.base.raw); out.write(" + ")
            out.write(size: region.size); out.write(") do not lie inside the device tree's RAM")
        case .revokedKey(let id):
            out.write("signing key id "); id.write(to: &out); out.write(" is revoked")
        case .unknownKey(let id):
            out.write("signing key id "); id.write(to: &out); out.write(" is not a trust anchor")
        case .badSignature(let id):
            out.write("bad signature: the Ed25519 signature over the header does not verify with key id ")
            id.write(to: &out)
        case .digestMismatch:
            out.write("digest mismatch: the image does not hash to the SHA-512 in its signed header")
        case .rolledBack(let version, let floor):
            out.write("rollback: security version "); out.write(decimal: version)
            out.write(" is below the monitor's minimum "); out.write(decimal: floor)
        case .stateUnavailable(let error):
            out.write("the monitor's state record is unavailable ("); error.write(to: &out)
            out.write("), so its rollback floor cannot be enforced")
        }
    }
}

enum NextStage {
    /// Checks the signed next stage at `imageAddress` (header below it). `ram` is the device tree's
    /// RAM (nil: not checked). Costs one SHA-512 of the header's key, one Ed25519 verification and
    /// one SHA-512 pass over the image.
    static func verify(imageAddress: UInt64, maxSize: UInt64, ram: HostRegion?,
                       anchors: TrustAnchors, revoked: RevokedKeys) -> NextStageVerdict {
        let headerAddress = imageAddress &- UInt64(NextStageHeader.size)
        guard imageAddress >= UInt64(NextStageHeader.size),
              let headerBase = UnsafeRawPointer(bitPattern: UInt(headerAddress)) else { return .noHeader }
        if let ram = ram {
            // The header itself must be in RAM before it is read.
            guard contains(ram, headerAddress, UInt64(NextStageHeader.size)) else {
                return .outsideRAM(HostRegion(base: HostPhysAddr(headerAddress), size: UInt64(NextStageHeader.size)))
            }
        }
        let header = UnsafeRawBufferPointer(start: headerBase, count: NextStageHeader.size)
        guard load64(header, 0) == NextStageHeader.magic else { return .noHeader }
        let version = UInt32(truncatingIfNeeded: load64(header, 8))
        guard version == NextStageHeader.version else { return .badVersion(version) }
        let loadAddress = load64(header, NextStageHeader.loadAddressOffset)
        guard loadAddress == imageAddress else { return .wrongAddress(expected: imageAddress, found: loadAddress) }
        let size = load64(header, NextStageHeader.imageSizeOffset)
        guard size > 0, size <= maxSize else { return .badSize(size, limit: maxSize) }
        if let ram = ram {
            let whole = size &+ UInt64(NextStageHeader.size)
            guard contains(ram, headerAddress, whole) else {
                return .outsideRAM(HostRegion(base: HostPhysAddr(headerAddress), size: whole))
            }
        }
        let id = SigningKeyID(raw: load64(header, NextStageHeader.keyIDOffset))
        if revoked.contains(id) { return .revokedKey(id) }
        guard let anchor = anchors.anchor(for: id) else { return .unknownKey(id) }
        let signed = UnsafeRawBufferPointer(rebasing: header[0..<NextStageHeader.signedLength])
        let signature = UnsafeRawBufferPointer(
            rebasing: header[NextStageHeader.signatureOffset..<(NextStageHeader.signatureOffset + Ed25519.signatureSize)])
        guard Ed25519.verify(signature: signature, message: signed, publicKey: anchor.publicKey) else {
            return .badSignature(id)
        }
        guard let imageBase = UnsafeRawPointer(bitPattern: UInt(imageAddress)) else { return .noHeader }
        let digest = SHA512.hash(UnsafeRawBufferPointer(start: imageBase, count: Int(size)))
        let matches = digest.withBytes { d in
            var difference: UInt8 = 0
            var i = 0
            while i < SHA512.digestSize { difference |= d[i] ^ header[NextStageHeader.digestOffset &+ i]; i += 1 }
            return difference == 0
        }
        return matches ? .accepted(digest) : .digestMismatch
    }

    /// Whether [base, base + size) lies inside `region` (no wrap-around).
    static func contains(_ region: HostRegion, _ base: UInt64, _ size: UInt64) -> Bool {
        guard let regionEnd = region.end?.raw else { return false }
        let (end, overflow) = base.addingReportingOverflow(size)
        return !overflow && base >= region.base.raw && end <= regionEnd
    }

    static func load64(_ b: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        var v: UInt64 = 0
        var i = 8
        while i > 0 { i -= 1; v = v << 8 | UInt64(b[offset &+ i]) }
        return v
    }
}
