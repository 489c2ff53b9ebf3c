// vault: the key services seen from a partition that holds a secret (docs/keys.md).
//
// Every boot, in this order (one console line each, so the QEMU tests can compare boots):
//   vault: derive fingerprint HEX16          the first 8 bytes of derive("bulkhead test key")
//   vault: random A B differ                 two 32-byte random calls (first 8 bytes each): `differ` or `SAME`
//   vault: seal image ok, blob 64 bytes      seal + unseal round trip of the 16-byte secret (then `signer`)
//   vault: blob image part 1 HEX64           the image-bound blob in two halves (then `blob signer`), for a later
//   vault: blob image part 2 HEX64           boot (the hypervisor cuts guest lines at 120 bytes)
//   vault: check LABEL: ERR/REASON ok        tampered blob, wrong aad, bad binding, garbage blob, small buffer
//   vault: sent image blob to partition N    both blobs go to the tenant over the queue `vault-blobs` (if any)
//   vault: keystore ...                      the keystore phase (Keystore.swift)
//   vault: policy SERVICE: ERR/REASON        derive, seal, unseal, attest, random, keystore with valid arguments
//   vault: attest report N bytes             when attest is allowed and works, then the report in hex,
//   vault: report OFFSET HEX                 32 bytes a line
//   vault: policy attest_system: ERR/REASON  the system report over another nonce (byte i = 13i + 3); when
//   vault: attest_system report N bytes      allowed, its length, then the report in hex,
//   vault: system OFFSET HEX                 32 bytes a line
//   vault: done
// When the bootargs are a sealed blob in hex (64 bytes = 128 digits, what a previous boot printed),
// the vault first opens it: `vault: open blob BINDING vVERSION: 0/ok, secret matches` or
// `vault: open blob BINDING vVERSION: ERR/REASON`. Then it shuts down.

import GuestRuntime

/// The secret the vault protects: 16 bytes, so a sealed blob is 64 bytes (128 hex digits: it fits
/// the 128 bytes of bootargs).
let secret: InlineArray<16, UInt8> = [0x42, 0x48, 0x53, 0x4B, 0x76, 0x61, 0x75, 0x6C,
                                      0x74, 0x2D, 0x73, 0x65, 0x63, 0x72, 0x65, 0x74]
let aadText: StaticString = "vault record 1"
let blobSize = 16 + 48

nonisolated(unsafe) var imageBlob = InlineArray<8, UInt64>(repeating: 0)       // 64 bytes, 8-byte aligned
nonisolated(unsafe) var signerBlob = InlineArray<8, UInt64>(repeating: 0)
nonisolated(unsafe) var scratch = InlineArray<64, UInt64>(repeating: 0)        // 512 bytes
nonisolated(unsafe) var reportBuffer = InlineArray<64, UInt64>(repeating: 0)
nonisolated(unsafe) var systemReportBuffer = InlineArray<336, UInt64>(repeating: 0)   // SystemReport.maxSize bytes

@_cdecl("guest_main")
func guestMain(vcpu: UInt, dtb: UInt) {
    let boot = BootInfo(dtb: dtb)
    let me: PartitionInfo
    do throws(Bulkhead.Failure) { me = try Bulkhead.partitionInfo() } catch { fail("partition_info", error) }

    if boot.bootargs.count == 2 * blobSize { openGivenBlob(boot.bootargs) }

    // derive: a stable key per partition.
    do throws(Bulkhead.Failure) {
        var key = try Bulkhead.derive(label: "bulkhead test key")
        Console.line { line in
            line.write("vault: derive fingerprint ")
            withUnsafeBytes(of: &key) { line.write(hexBytes: UnsafeRawBufferPointer(rebasing: $0[0..<8])) }
        }
        withUnsafeMutableBytes(of: &key) { secureZero($0) }
    } catch { fail("derive", error) }

    // random: two calls give different bytes.
    do throws(Bulkhead.Failure) {
        var a = InlineArray<32, UInt8>(repeating: 0), b = InlineArray<32, UInt8>(repeating: 0)
        try withUnsafeMutableBytes(of: &a) { (p) throws(Bulkhead.Failure) in try Bulkhead.random(into: p) }
        try withUnsafeMutableBytes(of: &b) { (p) throws(Bulkhead.Failure) in try Bulkhead.random(into: p) }
        var same = true
        for i in 0..<32 where a[i] != b[i] { same = false }
        Console.line { line in
            line.write("vault: random ")
            withUnsafeBytes(of: &a) { line.write(hexBytes: UnsafeRawBufferPointer(rebasing: $0[0..<8])) }
            line.write(" ")
            withUnsafeBytes(of: &b) { line.write(hexBytes: UnsafeRawBufferPointer(rebasing: $0[0..<8])) }
            line.write(same ? " SAME" : " differ")
        }
    } catch { fail("random", error) }

    // seal + unseal, both bindings; print each blob for a later boot.
    sealRoundTrip(.image, &imageBlob)
    sealRoundTrip(.signer, &signerBlob)
    hostileChecks()
    keystorePhase(boot.bootargs, me)

    // Hand both blobs to the tenant, which must not be able to open them.
    if let out = me.channel(named: "vault-blobs"), out.kind == .queue {
        sendBlob(out, &imageBlob, "image")
        sendBlob(out, &signerBlob, "signer")
    }

    probePolicy(name: "vault")
    Console.print("vault: done")
    Guest.shutdown()
}

func sealRoundTrip(_ binding: SealedBlob.Binding, _ blob: inout InlineArray<8, UInt64>) {
    let name: StaticString = binding == .image ? "image" : "signer"
    var length = 0
    do throws(Bulkhead.Failure) {
        length = try withAAD { (aad) throws(Bulkhead.Failure) -> Int in
            try withSecret { (data) throws(Bulkhead.Failure) -> Int in
                try withUnsafeMutableBytes(of: &blob) { (out) throws(Bulkhead.Failure) -> Int in
                    try Bulkhead.seal(binding, data, aad: aad, into: out)
                }
            }
        }
    } catch { failLine("seal", name, error) }
    guard length == blobSize else {
        Console.line { $0.write("vault: seal "); $0.write(name); $0.write(" BAD blob length "); $0.write(decimal: length) }
        Guest.shutdown(reason: .systemFailure)
    }
    let opened = openBlob(&blob)
    switch opened {
    case .failure(let error): failLine("unseal", name, error)
    case .success(let matches):
        Console.line {
            $0.write("vault: seal "); $0.write(name); $0.write(matches ? " ok, blob " : " BAD round trip, blob ")
            $0.write(decimal: length); $0.write(" bytes")
        }
    }
    // The hypervisor cuts guest lines at 120 bytes: the blob's 128 digits go in two lines.
    for half in 0..<2 {
        Console.line { line in
            line.write("vault: blob "); line.write(name); line.write(half == 0 ? " part 1 " : " part 2 ")
            withUnsafeBytes(of: &blob) { line.write(hexBytes: UnsafeRawBufferPointer(rebasing: $0[(32 * half)..<(32 * half + 32)])) }
        }
    }
}

/// Unseals a 64-byte blob with the vault's aad; whether the plaintext is the secret.
func openBlob(_ blob: inout InlineArray<8, UInt64>) -> Result<Bool, Bulkhead.Failure> {
    scratch = InlineArray(repeating: 0)
    do throws(Bulkhead.Failure) {
        let n = try withAAD { (aad) throws(Bulkhead.Failure) -> Int in
            try withUnsafeBytes(of: &blob) { (b) throws(Bulkhead.Failure) -> Int in
                try withUnsafeMutableBytes(of: &scratch) { (out) throws(Bulkhead.Failure) -> Int in
                    try Bulkhead.unseal(b, aad: aad, into: out)
                }
            }
        }
        var same = n == 16
        withUnsafeBytes(of: &scratch) { p in for i in 0..<16 where p[i] != secret[i] { same = false } }
        return .success(same)
    } catch { return .failure(error) }
}

/// The bootargs hold a blob in hex: open it.
func openGivenBlob(_ hex: UnsafeRawBufferPointer) {
    var blob = InlineArray<8, UInt64>(repeating: 0)
    var valid = true
    withUnsafeMutableBytes(of: &blob) { out in
        for i in 0..<blobSize {
            guard let high = nibble(hex[2 * i]), let low = nibble(hex[2 * i + 1]) else { valid = false; return }
            out[i] = high << 4 | low
        }
    }
    guard valid else { Console.print("vault: bootargs are not a blob in hex"); return }
    let (binding, version): (UInt8, UInt64) = withUnsafeBytes(of: &blob) { b in
        var v: UInt64 = 0
        var i = 16
        while i > 8 { i -= 1; v = v << 8 | UInt64(b[i]) }
        return (b[6], v)
    }
    let result = openBlob(&blob)
    Console.line {
        $0.write("vault: open blob ")
        $0.write(binding == 1 ? "image" : binding == 2 ? "signer" : "unknown")
        $0.write(" v"); $0.write(decimal: version); $0.write(": ")
        switch result {
        case .success(let matches): $0.write(matches ? "0/ok, secret matches" : "0/ok, BAD secret")
        case .failure(let error): error.write(to: &$0)
        }
    }
}

func nibble(_ c: UInt8) -> UInt8? {
    switch c {
    case 0x30...0x39: return c &- 0x30
    case 0x61...0x66: return c &- 0x61 &+ 10
    case 0x41...0x46: return c &- 0x41 &+ 10
    default: return nil
    }
}

/// Calls that must fail, each with its specific error.
func hostileChecks() {
    // A tampered blob: one ciphertext byte flipped.
    var tampered = imageBlob
    withUnsafeMutableBytes(of: &tampered) { $0[40] ^= 0x01 }
    expectOpen("tampered ciphertext", &tampered, .notAuthentic)
    tampered = imageBlob
    withUnsafeMutableBytes(of: &tampered) { $0[8] ^= 0x01 }                  // the security version
    expectOpen("tampered header", &tampered, .notAuthentic)
    // The right blob with the wrong aad.
    var blob = imageBlob
    let wrongAAD: StaticString = "vault record 2"
    let r1: Result<Int, Bulkhead.Failure> = wrongAAD.withUTF8Buffer { aad in
        withUnsafeBytes(of: &blob) { b in
            withUnsafeMutableBytes(of: &scratch) { out in
                do throws(Bulkhead.Failure) { return .success(try Bulkhead.unseal(b, aad: UnsafeRawBufferPointer(aad), into: out)) }
                catch { return .failure(error) }
            }
        }
    }
    checkLine("wrong aad", r1, .notAuthentic)
    // Not a blob at all.
    var garbage = InlineArray<8, UInt64>(repeating: 0x5555_5555_5555_5555)
    expectOpen("garbage blob", &garbage, .badBlob)
    // A binding that does not exist.
    let r2 = withSecret { data in withUnsafeMutableBytes(of: &scratch) { sealRaw(3, data, $0) } }
    checkLine("bad binding 3", r2, .badBinding)
    // An output buffer one byte too small.
    let r3: Result<Int, Bulkhead.Failure> = withSecret { data in
        withUnsafeMutableBytes(of: &scratch) { out in
            do throws(Bulkhead.Failure) {
                return .success(try Bulkhead.seal(.image, data, into: UnsafeMutableRawBufferPointer(rebasing: out[0..<(blobSize - 1)])))
            } catch { return .failure(error) }
        }
    }
    checkLine("seal buffer too small", r3, .bufferTooSmall)
    // Not checked, only reported: an empty aad given as address 0 (as C's NULL, 0 would be).
    let r4 = withSecret { data in withUnsafeMutableBytes(of: &scratch) { sealRaw(1, data, $0) } }
    Console.line {
        $0.write("vault: note: seal with an empty aad at address 0: ")
        switch r4 {
        case .success: $0.write("0/ok")
        case .failure(let error): error.write(to: &$0)
        }
    }
}

func sealRaw(_ binding: UInt64, _ data: UnsafeRawBufferPointer, _ out: UnsafeMutableRawBufferPointer) -> Result<Int, Bulkhead.Failure> {
    var block: InlineArray<6, UInt64> = [UInt64(UInt(bitPattern: data.baseAddress)), UInt64(data.count), 0, 0,
                                         UInt64(UInt(bitPattern: out.baseAddress)), UInt64(out.count)]
    let r = withUnsafeMutableBytes(of: &block) { Bulkhead.call(BulkheadFunction.seal.rawValue, binding, UInt64(UInt(bitPattern: $0.baseAddress))) }
    return r.error == 0 ? .success(Int(r.value)) : .failure(Bulkhead.Failure(error: r.error, rawReason: r.value))
}

func expectOpen(_ label: StaticString, _ blob: inout InlineArray<8, UInt64>, _ reason: BulkheadReason) {
    let r: Result<Int, Bulkhead.Failure> = withAAD { aad in
        withUnsafeBytes(of: &blob) { b in
            withUnsafeMutableBytes(of: &scratch) { out in
                do throws(Bulkhead.Failure) { return .success(try Bulkhead.unseal(b, aad: aad, into: out)) }
                catch { return .failure(error) }
            }
        }
    }
    checkLine(label, r, reason)
}

func checkLine(_ label: StaticString, _ r: Result<Int, Bulkhead.Failure>, _ reason: BulkheadReason) {
    Console.line {
        $0.write("vault: check "); $0.write(label); $0.write(": ")
        switch r {
        case .success: $0.write("0/ok MISMATCH (expected "); $0.write(reason.name); $0.write(")")
        case .failure(let error):
            error.write(to: &$0)
            if error.reason == reason && error.sbiError == reason.sbiError { $0.write(" ok") } else {
                $0.write(" MISMATCH (expected "); $0.write(reason.name); $0.write(")")
            }
        }
    }
}

func sendBlob(_ channel: ChannelInfo, _ blob: inout InlineArray<8, UInt64>, _ name: StaticString) {
    do throws(Bulkhead.Failure) {
        try withUnsafeBytes(of: &blob) { (b) throws(Bulkhead.Failure) in try Bulkhead.send(channel.id, b) }
    } catch { failLine("send", name, error) }
    Console.line {
        $0.write("vault: sent "); $0.write(name); $0.write(" blob to partition "); $0.write(decimal: UInt64(channel.peer))
    }
}

/// Each key service once with valid arguments: what the policy makes of it.
func probePolicy(name: StaticString) {
    var key = InlineArray<4, UInt64>(repeating: 0)
    let label: StaticString = "probe"
    let derive = withUnsafeMutableBytes(of: &key) { out in
        label.withUTF8Buffer { Bulkhead.call(BulkheadFunction.derive.rawValue, UInt64(UInt(bitPattern: $0.baseAddress)), UInt64($0.count),
                                             UInt64(UInt(bitPattern: out.baseAddress))) }
    }
    policyLine("derive", derive)
    var blob = InlineArray<8, UInt64>(repeating: 0)
    let seal: Result<Int, Bulkhead.Failure> = withSecret { data in
        withUnsafeMutableBytes(of: &blob) { b in
            do throws(Bulkhead.Failure) { return .success(try Bulkhead.seal(.image, data, into: b)) } catch { return .failure(error) }
        }
    }
    policyLine("seal", seal)
    let unseal = withUnsafeBytes(of: &imageBlob) { b in
        withUnsafeMutableBytes(of: &scratch) { out in
            do throws(Bulkhead.Failure) { return Result<Int, Bulkhead.Failure>.success(try Bulkhead.unseal(b, into: out)) }
            catch { return .failure(error) }
        }
    }
    // The vault's aad is missing here: an allowed unseal fails not_authentic, a denied one policy_denied.
    policyLine("unseal", unseal)
    var nonce = InlineArray<32, UInt8>(repeating: 0)
    for i in 0..<32 { nonce[i] = UInt8(truncatingIfNeeded: i &* 7 &+ 1) }
    let attest: Result<Int, Bulkhead.Failure> = withUnsafeBytes(of: &nonce) { n in
        withUnsafeMutableBytes(of: &reportBuffer) { out in
            do throws(Bulkhead.Failure) { return .success(try Bulkhead.attest(nonce: n, into: out)) }
            catch { return .failure(error) }
        }
    }
    policyLine("attest", attest)
    if case .success(let length) = attest { printReport(length) }
    for i in 0..<32 { nonce[i] = UInt8(truncatingIfNeeded: i &* 13 &+ 3) }
    let system: Result<Int, Bulkhead.Failure> = withUnsafeBytes(of: &nonce) { n in
        withUnsafeMutableBytes(of: &systemReportBuffer) { out in
            do throws(Bulkhead.Failure) { return .success(try Bulkhead.attestSystem(nonce: n, into: out)) }
            catch { return .failure(error) }
        }
    }
    policyLine("attest_system", system)
    if case .success(let length) = system { printSystemReport(length) }
    var bytes = InlineArray<16, UInt8>(repeating: 0)
    let random: Result<Int, Bulkhead.Failure> = withUnsafeMutableBytes(of: &bytes) { out in
        do throws(Bulkhead.Failure) { try Bulkhead.random(into: out); return .success(out.count) }
        catch { return .failure(error) }
    }
    policyLine("random", random)
    // Handle 0 is nobody's: an allowed keystore call fails not_owner, a denied one policy_denied.
    policyLine("keystore", Bulkhead.call(BulkheadFunction.keyDestroy.rawValue, 0))
}

func policyLine(_ service: StaticString, _ r: SBIResult) {
    policyLine(service, r.error == 0 ? .success(Int(r.value)) : .failure(Bulkhead.Failure(error: r.error, rawReason: r.value)))
}

func policyLine(_ service: StaticString, _ r: Result<Int, Bulkhead.Failure>) {
    Console.line {
        $0.write("vault: policy "); $0.write(service); $0.write(": ")
        switch r {
        case .success(let n): $0.write("0/ok ("); $0.write(decimal: n); $0.write(" bytes)")
        case .failure(let error): error.write(to: &$0)
        }
    }
}

/// The attestation report, 32 bytes a line: `vault: report OFFSET HEX`.
func printReport(_ length: Int) {
    Console.line { $0.write("vault: attest report "); $0.write(decimal: length); $0.write(" bytes") }
    var offset = 0
    while offset < length && offset < 512 {
        let end = min(min(offset + 32, length), 512)
        Console.line { line in
            line.write("vault: report "); line.write(decimal: offset); line.write(" ")
            withUnsafeBytes(of: &reportBuffer) { line.write(hexBytes: UnsafeRawBufferPointer(rebasing: $0[offset..<end])) }
        }
        offset = end
    }
}

/// The system report, 32 bytes a line: `vault: system OFFSET HEX`.
func printSystemReport(_ length: Int) {
    Console.line { $0.write("vault: attest_system report "); $0.write(decimal: length); $0.write(" bytes") }
    let total = min(length, SystemReport.maxSize)
    var offset = 0
    while offset < total {
        let end = min(offset + 32, total)
        Console.line { line in
            line.write("vault: system "); line.write(decimal: offset); line.write(" ")
            withUnsafeBytes(of: &systemReportBuffer) { line.write(hexBytes: UnsafeRawBufferPointer(rebasing: $0[offset..<end])) }
        }
        offset = end
    }
}

func withSecret<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
    var copy = secret
    return try withUnsafeBytes(of: &copy) { (p) throws(E) -> R in try body(p) }
}

func withAAD<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
    // A string literal: its bytes are in the image (utf8Start is valid).
    try body(UnsafeRawBufferPointer(start: aadText.utf8Start, count: aadText.utf8CodeUnitCount))
}

func fail(_ what: StaticString, _ error: Bulkhead.Failure) -> Never {
    Console.line { $0.write("vault: "); $0.write(what); $0.write(" failed: "); error.write(to: &$0) }
    Guest.shutdown(reason: .systemFailure)
}

func failLine(_ what: StaticString, _ name: StaticString, _ error: Bulkhead.Failure) -> Never {
    Console.line { $0.write("vault: "); $0.write(what); $0.write(" "); $0.write(name); $0.write(" failed: "); error.write(to: &$0) }
    Guest.shutdown(reason: .systemFailure)
}
