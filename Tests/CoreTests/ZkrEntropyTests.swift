// ZkrSeed: the seed CSR's OPST states (RISC-V Cryptography Extensions vol. I, Zkr), collection, conditioning, and the DRBG seed it feeds.

import Testing
@testable import BulkheadCore

@Suite("Keys: Zkr entropy")
struct ZkrEntropyTests {
    @Test func opstDecodesTheFourStates() {
        #expect(ZkrSeed.decode(0x0000_0000) == .bist)
        #expect(ZkrSeed.decode(0x4000_1234) == .wait)
        #expect(ZkrSeed.decode(0x8000_BEEF) == .entropy(0xBEEF))
        #expect(ZkrSeed.decode(0xC000_0000) == .dead)
        #expect(ZkrSeed.decode(UInt64.max) == .dead, "what arch_try_read_seed returns for a trapped read")
    }

    @Test func collectsThirtyTwoSamplesThroughWaitAndBistAndHashesThem() {
        var reads: [UInt64] = [0, 0x4000_0000]                          // BIST, then WAIT
        for i in 0..<32 { reads += [0x8000_0000 | UInt64(i * 0x101), 0x4000_0000] }
        var at = 0
        let result = ZkrSeed.collect { defer { at += 1 }; return reads[at] }
        var expected: [UInt8] = []
        for i in 0..<32 { expected += [UInt8(truncatingIfNeeded: i * 0x101), UInt8(truncatingIfNeeded: (i * 0x101) >> 8)] }
        #expect(result == .success(expected.withUnsafeBytes { SHA512.hash($0) }))
        #expect(at == 2 + 63, "stops at the 32nd sample")
    }

    @Test func aTrappedOrDeadSourceIsNotUsed() {
        #expect(ZkrSeed.collect { UInt64.max } == .failure(.unavailable))
        var n = 0
        #expect(ZkrSeed.collect { n += 1; return n < 5 ? 0x8000_0001 : 0xC000_0000 } == .failure(.dead))
        #expect(ZkrSeed.collect { 0x4000_0000 } == .failure(.timedOut))
    }

    @Test func entropyChangesTheDRBGSeedAndNothingElse() {
        let secret = SecretBytes(repeating: 3)
        let plain = KeyChain.drbgSeed(secret: secret, bootCounter: 9)
        let e1 = [UInt8](repeating: 1, count: 8).withUnsafeBytes { SHA512.hash($0) }
        let e2 = [UInt8](repeating: 2, count: 8).withUnsafeBytes { SHA512.hash($0) }
        let a = KeyChain.drbgSeed(secret: secret, bootCounter: 9, entropy: e1)
        let b = KeyChain.drbgSeed(secret: secret, bootCounter: 9, entropy: e2)
        func bytes(_ k: SecretBytes) -> [UInt8] { (0..<32).map { k[$0] } }
        #expect(bytes(a) != bytes(plain) && bytes(a) != bytes(b))
        #expect(bytes(KeyChain.drbgSeed(secret: secret, bootCounter: 9, entropy: e1)) == bytes(a))
        #expect(bytes(KeyChain.drbgSeed(secret: secret, bootCounter: 9)) == bytes(plain))
    }
}
