// Fake arch: the atomic words, each operation under one host lock (sequentially consistent).
import Foundation

private let atomicLock = NSLock()

@inline(__always) private func atomically<R>(_ body: () -> R) -> R {
    atomicLock.lock()
    defer { atomicLock.unlock() }
    return body()
}

struct AtomicWord32 {
    let pointer: UnsafeMutablePointer<UInt32>

    func load() -> UInt32 { atomically { pointer.pointee } }
    func store(_ value: UInt32) { atomically { pointer.pointee = value } }
    @discardableResult func or(_ bits: UInt32) -> UInt32 { atomically { let old = pointer.pointee; pointer.pointee = old | bits; return old } }
    @discardableResult func and(_ bits: UInt32) -> UInt32 { atomically { let old = pointer.pointee; pointer.pointee = old & bits; return old } }
    @discardableResult func add(_ value: UInt32) -> UInt32 { atomically { let old = pointer.pointee; pointer.pointee = old &+ value; return old } }
    func compareExchange(_ expected: UInt32, _ desired: UInt32) -> Bool {
        atomically {
            guard pointer.pointee == expected else { return false }
            pointer.pointee = desired
            return true
        }
    }
}

struct AtomicWord64 {
    let pointer: UnsafeMutablePointer<UInt64>

    func load() -> UInt64 { atomically { pointer.pointee } }
    func store(_ value: UInt64) { atomically { pointer.pointee = value } }
    @discardableResult func or(_ bits: UInt64) -> UInt64 { atomically { let old = pointer.pointee; pointer.pointee = old | bits; return old } }
    @discardableResult func add(_ value: UInt64) -> UInt64 { atomically { let old = pointer.pointee; pointer.pointee = old &+ value; return old } }
    func exchange(_ value: UInt64) -> UInt64 { atomically { let old = pointer.pointee; pointer.pointee = value; return old } }
    func compareExchange(_ expected: UInt64, _ desired: UInt64) -> Bool {
        atomically {
            guard pointer.pointee == expected else { return false }
            pointer.pointee = desired
            return true
        }
    }
}
