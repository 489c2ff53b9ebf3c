// Typed view of a hart's saved guest registers (layout fixed by trap.S and hart.h).
import CArch

struct TrapFrame {
    let pointer: UnsafeMutablePointer<hart_frame_t>

    /// General-purpose register x`n` (n in 1...31; x0 reads as zero). gp, tp and s0-s11 are in the
    /// frame only while a guest-page fault is handled (trap.S); in other traps they are stale.
    @inline(__always) subscript(n: Int) -> UInt64 {
        get { n == 0 ? 0 : UnsafeMutableRawPointer(pointer).load(fromByteOffset: 8 &* n, as: UInt64.self) }
        nonmutating set { if n != 0 { UnsafeMutableRawPointer(pointer).storeBytes(of: newValue, toByteOffset: 8 &* n, as: UInt64.self) } }
    }
    var hart: Int { Int(truncatingIfNeeded: pointer.pointee.hartid) }

    static func of(hart: Int) -> TrapFrame { TrapFrame(pointer: hart_frame(UInt64(hart))) }
}

