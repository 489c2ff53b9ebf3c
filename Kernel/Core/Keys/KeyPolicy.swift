// Which key services a partition may use: its policy, carried in the signed manifest (docs/keys.md).

/// A set of key services. The manifest stores it as a little-endian u16 in the partition record
/// (offset 6); bits not listed here must be zero. The policy is part of the partition's
/// measurement, so changing it changes every key the partition gets.
public struct KeyPolicy: Equatable, Sendable {
    public var raw: UInt16
    public init(raw: UInt16 = 0) { self.raw = raw }

    public static let derive = KeyPolicy(raw: 1 << 0)
    public static let seal = KeyPolicy(raw: 1 << 1)
    public static let attest = KeyPolicy(raw: 1 << 2)
    public static let keystore = KeyPolicy(raw: 1 << 3)
    public static let random = KeyPolicy(raw: 1 << 4)
    /// `attest_system`: the system report over every partition (SystemReport.swift).
    public static let attestSystem = KeyPolicy(raw: 1 << 5)
    /// Every service this build knows.
    public static let all = KeyPolicy(raw: 0x3F)

    public func allows(_ service: KeyPolicy) -> Bool { raw & service.raw == service.raw }
    public mutating func insert(_ service: KeyPolicy) { raw |= service.raw }
    /// Whether only known bits are set.
    public var isKnown: Bool { raw & ~KeyPolicy.all.raw == 0 }

    /// The service called `name` in a configuration (`derive`, `seal`, `attest`, `keystore`, `random`,
    /// `attest_system`).
    public static func named(_ name: UnsafeRawBufferPointer) -> KeyPolicy? {
        var i = 0
        while let (service, text) = entry(i) {
            if text.withUTF8Buffer({ $0.count == name.count && memcmpEqual($0, name) }) { return service }
            i += 1
        }
        return nil
    }

    /// The services in a fixed order, with their configuration names; nil past the last.
    public static func entry(_ index: Int) -> (KeyPolicy, StaticString)? {
        switch index {
        case 0: return (.derive, "derive")
        case 1: return (.seal, "seal")
        case 2: return (.attest, "attest")
        case 3: return (.keystore, "keystore")
        case 4: return (.random, "random")
        case 5: return (.attestSystem, "attest_system")
        default: return nil
        }
    }

    private static func memcmpEqual(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        while i < a.count { if a[i] != b[i] { return false }; i += 1 }
        return true
    }
}
