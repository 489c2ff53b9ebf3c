// Atomic words shared between harts (acquire/release, as hart.h implements them with the A extension).
import CArch

struct AtomicWord32 {
    let pointer: UnsafeMutablePointer<UInt32>

    @inline(__always) func load() -> UInt32 { atomic_load_u32(pointer) }
    @inline(__always) func store(_ value: UInt32) { atomic_store_u32(pointer, value) }
    /// The old value.
    @discardableResult @inline(__always) func or(_ bits: UInt32) -> UInt32 { atomic_or_u32(pointer, bits) }
    @discardableResult @inline(__always) func and(_ bits: UInt32) -> UInt32 { atomic_and_u32(pointer, bits) }
    @discardableResult @inline(__always) func add(_ value: UInt32) -> UInt32 { atomic_add_u32(pointer, value) }
    /// Stores `desired` if the word holds `expected`; whether it did.
    @inline(__always) func compareExchange(_ expected: UInt32, _ desired: UInt32) -> Bool {
        atomic_cas_u32(pointer, expected, desired)
    }
}

struct AtomicWord64 {
    let pointer: UnsafeMutablePointer<UInt64>

    @inline(__always) func load() -> UInt64 { atomic_load_u64(pointer) }
    @inline(__always) func store(_ value: UInt64) { atomic_store_u64(pointer, value) }
    @discardableResult @inline(__always) func or(_ bits: UInt64) -> UInt64 { atomic_or_u64(pointer, bits) }
    @discardableResult @inline(__always) func add(_ value: UInt64) -> UInt64 { atomic_add_u64(pointer, value) }
    @inline(__always) func exchange(_ value: UInt64) -> UInt64 { atomic_exchange_u64(pointer, value) }
    @inline(__always) func compareExchange(_ expected: UInt64, _ desired: UInt64) -> Bool {
        atomic_cas_u64(pointer, expected, desired)
    }
}
