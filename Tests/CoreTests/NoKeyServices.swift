// Test fakes' stand-ins for the key services a test does not exercise (KeyServiceTests and KeystoreTests cover them).

@testable import BulkheadCore

/// A fake environment without a keystore: every keystore call fails `no_device_secret`.
protocol NoKeystore: KeyEnvironment {}

extension NoKeystore {
    mutating func readKeystore<R>(_ body: (borrowing PartitionKeystore) throws(BulkheadReason) -> R) throws(BulkheadReason) -> R { throw .noDeviceSecret }
    mutating func updateKeystore(_ change: (inout PartitionKeystore) throws(BulkheadReason) -> UInt64) throws(BulkheadReason) -> UInt64 { throw .noDeviceSecret }
}

/// A fake environment without any key service: no policy, no device secret, no keystore.
protocol NoKeyServices: NoKeystore {}

extension NoKeyServices {
    var keyPolicy: KeyPolicy { KeyPolicy() }
    var securityVersion: UInt64 { 0 }
    func withPartitionKeys<R>(_ body: (PartitionKeys) -> R) -> R? { nil }
    mutating func randomBytes(_ output: UnsafeMutableRawBufferPointer) -> Bool { false }
    mutating func attestationReport(nonce: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? { nil }
}
