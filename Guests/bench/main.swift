// bench: machine-readable instruction counts: guest entry, a null SBI call, Ed25519 verify, SHA-512 per byte.

import BulkheadCore
import GuestArch
import GuestRuntime

let calls: UInt64 = 1000
/// Verifications measured; under -icount every run costs the same, the average guards against noise.
let verifyRuns: UInt64 = 3
/// Bytes hashed for the SHA-512 figure.
let hashSize = 65536

/// The SHA-512 input; its first `benchMessageSize` bytes are the signed message. Zero-initialised,
/// so it lives in .bss and adds nothing to the image the hypervisor hashes at boot.
nonisolated(unsafe) var benchBuffer = InlineArray<65536, UInt8>(repeating: 0)

/// Instructions retired by `body`, including the two `instret` reads around it (see `overhead`).
@inline(__always)
func instructions(_ body: () -> Void) -> UInt64 {
    let start = guest_read_instret()
    body()
    let end = guest_read_instret()
    return end &- start
}

@_cdecl("guest_main")
func guestMain(vcpu: UInt, dtb: UInt) {
    let first = Guest.firstInstret
    // Two loops identical but for the ecall (base get_spec_version); their difference is the calls.
    let withCalls = guest_bench_null_sbi_loop(calls)
    let empty = guest_bench_empty_loop(calls)
    let perCall = withCalls > empty ? (withCalls - empty + calls / 2) / calls : 0
    Console.line { $0.write("bench: first-instret="); $0.write(decimal: first) }
    Console.line { $0.write("bench: null-sbi-call="); $0.write(decimal: perCall) }
    benchCrypto()
    benchKeys()
    Guest.shutdown()
}

nonisolated(unsafe) var sealed = InlineArray<520, UInt64>(repeating: 0)      // 4096 + 48 bytes, 8-byte aligned
nonisolated(unsafe) var report = InlineArray<40, UInt64>(repeating: 0)       // 320 bytes

/// The key hypercalls (docs/keys.md), each timed once from the guest: derive, seal of 4 KiB
/// (image-bound), attest, key_generate (sign) and key_sign of 64 bytes. The bench partition's policy allows them and `make bench` provisions a
/// device secret; without one the line says why.
func benchKeys() {
    let overhead = instructions {}
    var failure: Bulkhead.Failure? = nil
    let derive = instructions {
        do throws(Bulkhead.Failure) { _ = try Bulkhead.derive(label: "bench label") } catch { failure = error }
    } &- overhead
    let seal = withUnsafeMutableBytes(of: &benchBuffer) { buffer in
        withUnsafeMutableBytes(of: &sealed) { out in
            instructions {
                do throws(Bulkhead.Failure) {
                    _ = try Bulkhead.seal(.image, UnsafeRawBufferPointer(rebasing: buffer[0..<4096]), into: out)
                } catch { failure = error }
            } &- overhead
        }
    }
    let attest = withUnsafeBytes(of: benchPublicKey) { nonce in
        withUnsafeMutableBytes(of: &report) { out in
            instructions {
                do throws(Bulkhead.Failure) { _ = try Bulkhead.attest(nonce: nonce, into: out) } catch { failure = error }
            } &- overhead
        }
    }
    // The keystore: generate (one record written to flash), sign 64 bytes, destroy.
    var handle = Bulkhead.KeyHandle(raw: 0)
    let generate = instructions {
        do throws(Bulkhead.Failure) { handle = try Bulkhead.generateKey(.sign) } catch { failure = error }
    } &- overhead
    // Twice: the first call expands the key's seed, the second finds it in the hypervisor's cache.
    func signOnce() -> UInt64 {
        withUnsafeBytes(of: &benchBuffer) { buffer in
            instructions {
                do throws(Bulkhead.Failure) { _ = try Bulkhead.sign(handle, UnsafeRawBufferPointer(rebasing: buffer[0..<64])) }
                catch { failure = error }
            } &- overhead
        }
    }
    let sign = signOnce()
    let signAgain = signOnce()
    do throws(Bulkhead.Failure) { try Bulkhead.destroyKey(handle) } catch { failure = error }
    if let failure {
        Console.line { $0.write("bench: key calls failed: "); failure.write(to: &$0) }
        return
    }
    Console.line { $0.write("bench: key-derive="); $0.write(decimal: derive) }
    Console.line { $0.write("bench: key-seal-4k="); $0.write(decimal: seal) }
    Console.line { $0.write("bench: key-attest="); $0.write(decimal: attest) }
    Console.line { $0.write("bench: key-generate="); $0.write(decimal: generate) }
    Console.line { $0.write("bench: key-sign-64="); $0.write(decimal: sign) }
    Console.line { $0.write("bench: key-sign-64-again="); $0.write(decimal: signAgain) }
}

/// Ed25519 verification of the 1024-byte vector, and SHA-512 over 64 KiB.
func benchCrypto() {
    withUnsafeMutableBytes(of: &benchBuffer) { buffer in
        for i in 0..<benchMessageSize { buffer[i] = benchMessageByte(i) }
        let message = UnsafeRawBufferPointer(rebasing: buffer[0..<benchMessageSize])
        let overhead = instructions {}

        var key: Ed25519PublicKey? = nil
        let decode = instructions { key = withUnsafeBytes(of: benchPublicKey) { Ed25519PublicKey(bytes: $0) } }
        guard let key else {
            Console.print("bench: ed25519 key refused")
            return
        }
        var total: UInt64 = 0
        var allValid = true
        for _ in 0..<verifyRuns {
            var valid = false
            total &+= instructions {
                valid = withUnsafeBytes(of: benchSignature) {
                    Ed25519.verify(signature: $0, message: message, publicKey: key)
                }
            } &- overhead
            allValid = allValid && valid
        }
        guard allValid else {
            Console.print("bench: ed25519 signature refused")
            return
        }
        Console.line { $0.write("bench: ed25519-key-decode="); $0.write(decimal: decode &- overhead) }
        Console.line { $0.write("bench: ed25519-verify="); $0.write(decimal: (total + verifyRuns / 2) / verifyRuns) }

        let all = UnsafeRawBufferPointer(buffer)
        var digest = SHA512Digest(bytes: InlineArray(repeating: 0))
        let hashed = instructions { digest = SHA512.hash(all) } &- overhead
        // Two decimals in integer arithmetic: hundredths of an instruction per byte, rounded.
        let hundredths = (hashed &* 100 &+ UInt64(hashSize / 2)) / UInt64(hashSize)
        Console.line {
            $0.write("bench: sha512-per-byte="); $0.write(decimal: hundredths / 100); $0.write(".")
            $0.write(decimal: (hundredths % 100) / 10); $0.write(decimal: hundredths % 10)
        }
        _ = digest.withBytes { $0[0] }
    }
}
