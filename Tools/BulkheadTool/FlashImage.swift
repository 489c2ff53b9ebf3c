// A bundle flash as a file (QEMU's `-drive if=pflash,unit=1,file=...`), held in memory as a NOR device.
//
// It keeps the `FlashDevice` rules (Kernel/Core/Flash/FlashDevice.swift), so Core's state-region
// code writes exactly the records the kernel writes:
// - `erase(blockAt:)` takes the offset of an erase-block start and sets that whole block to 0xFF;
// - `program(offset:bytes:)` only clears bits: a byte that would need a 0 bit turned into a 1
//   fails the call (checked for every byte before any is changed, so a refused call changes nothing);
// - every call, `read` included, fails (returns false) for a range outside the device.
// Nothing touches the file until `save(path:)`, which replaces it atomically.
import BulkheadCore
import Foundation

/// A NOR flash image in memory, loaded from and saved to a file.
public struct FlashImage: FlashDevice, Equatable, Sendable {
    /// The device's bytes (its size is `bytes.count`).
    public internal(set) var bytes: [UInt8]
    public let eraseBlockSize: Int
    public var size: Int { bytes.count }

    /// An image of `bytes` with erase blocks of `eraseBlockSize` bytes. `bytes.count` should be a
    /// whole number of blocks (`load` and `blank` guarantee it for a layout).
    public init(bytes: [UInt8], eraseBlockSize: Int) {
        self.bytes = bytes
        self.eraseBlockSize = eraseBlockSize
    }

    /// A never-written device for `layout`: every byte 0xFF, so both slots are empty and the
    /// state region reads as the factory state.
    public static func blank(layout: FlashLayout) -> FlashImage {
        FlashImage(bytes: [UInt8](repeating: 0xFF, count: layout.deviceSize), eraseBlockSize: layout.eraseBlockSize)
    }

    /// The image in the file at `path`, which must be exactly `layout.deviceSize` bytes long.
    public static func load(path: String, layout: FlashLayout) throws(ToolError) -> FlashImage {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ToolError.cannotRead(path, "the flash image", error)
        }
        guard data.count == layout.deviceSize else {
            throw ToolError("\(path): the file is \(data.count) bytes; a flash image must be exactly "
                            + "\(layout.deviceSize) bytes (\(Size.describe(UInt64(layout.deviceSize))))")
        }
        return FlashImage(bytes: [UInt8](data), eraseBlockSize: layout.eraseBlockSize)
    }

    /// Writes the image to `path`, replacing the file atomically (`SafeFile.write`: through a
    /// symlink, keeping an existing file's mode). A new image is created 0600: it holds the
    /// device secret.
    public func save(path: String) throws(ToolError) {
        try SafeFile.write(bytes, to: path, newMode: 0o600, what: "the flash image")
    }

    /// The bytes of `range` (empty if it is not inside the device).
    public func bytes(in range: FlashRange) -> ArraySlice<UInt8> {
        guard contains(offset: range.offset, count: range.size) else { return [] }
        return bytes[range.offset..<(range.offset + range.size)]
    }

    /// Whether `offset ..< offset + count` lies inside the device (without overflowing).
    func contains(offset: Int, count: Int) -> Bool {
        offset >= 0 && count >= 0 && offset <= bytes.count && count <= bytes.count - offset
    }

    // MARK: FlashDevice

    public func read(offset: Int, into buffer: UnsafeMutableRawBufferPointer) -> Bool {
        guard contains(offset: offset, count: buffer.count) else { return false }
        guard buffer.count > 0 else { return true }
        bytes.withUnsafeBytes { source in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[offset..<(offset + buffer.count)]))
        }
        return true
    }

    public mutating func erase(blockAt offset: Int) -> Bool {
        guard eraseBlockSize > 0, offset % eraseBlockSize == 0, contains(offset: offset, count: eraseBlockSize) else {
            return false
        }
        bytes.withUnsafeMutableBufferPointer { all in
            UnsafeMutableBufferPointer(rebasing: all[offset..<(offset + eraseBlockSize)]).update(repeating: 0xFF)
        }
        return true
    }

    public mutating func program(offset: Int, bytes new: UnsafeRawBufferPointer) -> Bool {
        guard contains(offset: offset, count: new.count) else { return false }
        return bytes.withUnsafeMutableBufferPointer { all in
            let target = UnsafeMutableBufferPointer(rebasing: all[offset..<(offset + new.count)])
            // A bit can only go from 1 to 0: the new byte must have no 1 where the old one has a 0.
            for i in 0..<new.count where new[i] & ~target[i] != 0 { return false }
            for i in 0..<new.count { target[i] = new[i] }
            return true
        }
    }
}
