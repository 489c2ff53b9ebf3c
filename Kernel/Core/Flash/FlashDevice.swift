// The NOR flash interface Core's flash logic is written against (the CFI driver implements it).
//
// Semantics every implementation must keep (the host tests' fake NOR flash enforces them):
// - Offsets are byte offsets from the start of the device, not bus addresses.
// - `erase(blockAt:)` takes the offset of the first byte of an erase block and sets every byte
//   of that block to 0xFF. If power is lost during an erase, the block's contents are undefined.
// - `program(offset:bytes:)` can only clear bits (1 → 0). Programming a byte whose current value
//   has a 0 where the new value has a 1 is an error (real NOR silently keeps the 0; a driver
//   should report it when it checks the result). If power is lost during a program, every byte
//   already programmed keeps its new value, the byte being programmed may hold any value between
//   old and new (some bits cleared), and the bytes after it keep their old values.
// - `read(offset:into:)` fills the whole buffer or returns false.
// - Each call returns false on a failure (out of range, device error, time-out, power loss);
//   the callers turn that into a typed error naming what failed.
// Callers take the device as a generic parameter (`<F: FlashDevice>`), never as `any FlashDevice`.

/// A NOR flash device addressed by byte offset.
public protocol FlashDevice {
    /// Bytes in one erase block. Erases work on whole, aligned blocks only.
    var eraseBlockSize: Int { get }
    /// The device's size in bytes (a whole number of erase blocks).
    var size: Int { get }
    /// Copies `buffer.count` bytes starting at `offset` into `buffer`; false if that fails.
    func read(offset: Int, into buffer: UnsafeMutableRawBufferPointer) -> Bool
    /// Erases (sets to 0xFF) the erase block starting at `offset`; false if that fails.
    mutating func erase(blockAt offset: Int) -> Bool
    /// Programs `bytes` at `offset` (clearing bits only); false if that fails.
    mutating func program(offset: Int, bytes: UnsafeRawBufferPointer) -> Bool
}
