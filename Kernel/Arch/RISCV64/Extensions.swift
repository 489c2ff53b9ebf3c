// Code for optional ISA extensions and the test kernel's deliberate faults, compiled from C (sha512_compress.c, faults.h).
import BulkheadCore
import CArch

enum ExtensionCode {
    /// SHA-512's compression function with Zbb rotations, and with Zknh's SHA-512 instructions.
    static let sha512Zbb: SHA512.CompressFunction = sha512_compress_zbb
    static let sha512Zknh: SHA512.CompressFunction = sha512_compress_zknh
}

/// What FaultInjection.swift provokes in the test kernel: each must end in the fatal path.
enum DeliberateFault {
    static func overflowStack() { fault_overflow_stack() }
    static func store(to address: UInt64) { fault_store(address) }
    static func jump(to address: UInt64) { fault_jump(address) }
}
