// Fake arch: no ISA extension code on the host (a fake device tree never lists Zbb or Zknh), no deliberate faults.
import BulkheadCore

enum ExtensionCode {
    static let sha512Zbb: SHA512.CompressFunction = { _, _, _, _ in fatalError("no Zbb on the fake arch") }
    static let sha512Zknh: SHA512.CompressFunction = { _, _, _, _ in fatalError("no Zknh on the fake arch") }
}

enum DeliberateFault {
    static func overflowStack() { fatalError("the fake arch provokes no faults") }
    static func store(to address: UInt64) { fatalError("the fake arch provokes no faults") }
    static func jump(to address: UInt64) { fatalError("the fake arch provokes no faults") }
}
