// tenant: another partition beside the vault (docs/keys.md). It has keys of its own, but must not
// be able to open what the vault sealed. Lines start with the partition's name (the same image
// runs as "tenant" and, with no key services at all, as "nokeys"):
//   NAME: derive fingerprint HEX16             the first 8 bytes of derive("bulkhead test key")
//   NAME: seal image ok                        its own seal + unseal round trip (or ERR/REASON)
//   NAME: unseal vault's BINDING blob (from partition N): ERR/REASON
//                                              each blob the vault sends on the queue `vault-blobs`,
//                                              opened with the vault's own aad (must be not_authentic)
//   NAME: own key HANDLE, vault's HANDLE       a key of its own (destroyed again), beside the vault's handle
//   NAME: vault's key CALL: ERR/REASON         key_sign, key_public, key_destroy with the handle the vault
//                                              sends on `vault-handles` (must be not_owner)
//   NAME: policy SERVICE: ERR/REASON           derive, seal, unseal, attest, random, keystore with valid arguments
//   NAME: done
// A failed call is reported and the tenant carries on; then it shuts down.

import GuestRuntime

let vaultAAD: StaticString = "vault record 1"

nonisolated(unsafe) var message = InlineArray<8, UInt64>(repeating: 0)   // one 64-byte blob
nonisolated(unsafe) var scratch = InlineArray<64, UInt64>(repeating: 0)
nonisolated(unsafe) var ownBlob = InlineArray<8, UInt64>(repeating: 0)
nonisolated(unsafe) var reportBuffer = InlineArray<64, UInt64>(repeating: 0)
nonisolated(unsafe) var me = PartitionInfo()

@_cdecl("guest_main")
func guestMain(vcpu: UInt, dtb: UInt) {
    let boot = BootInfo(dtb: dtb)
    let second = boot.timebaseFrequency ?? Timer.defaultFrequency
    do throws(Bulkhead.Failure) { me = try Bulkhead.partitionInfo() } catch {
        Console.line { $0.write("tenant: partition_info failed: "); error.write(to: &$0) }
        Guest.shutdown(reason: .systemFailure)
    }

    do throws(Bulkhead.Failure) {
        var key = try Bulkhead.derive(label: "bulkhead test key")
        say { line in
            line.write("derive fingerprint ")
            withUnsafeBytes(of: &key) { line.write(hexBytes: UnsafeRawBufferPointer(rebasing: $0[0..<8])) }
        }
        withUnsafeMutableBytes(of: &key) { secureZero($0) }
    } catch { say { $0.write("derive: "); error.write(to: &$0) } }

    ownRoundTrip()

    if let input = me.channel(named: "vault-blobs"), input.kind == .queue {
        var got = 0
        let deadline = Timer.now() &+ 5 &* second
        while got < 2 {
            if receiveAndTry(input) { got += 1; continue }
            if !Bulkhead.waitForDoorbell(until: deadline) {
                say { $0.write("TIMEOUT waiting for the vault's blobs, got "); $0.write(decimal: got) }
                break
            }
        }
    }

    if let input = me.channel(named: "vault-handles"), input.kind == .queue { tryVaultKey(input, second) }

    probePolicy()
    say { $0.write("done") }
    Guest.shutdown()
}

/// Receives one blob from the vault if one waits and tries to open it; false when none waits.
func receiveAndTry(_ input: ChannelInfo) -> Bool {
    let received: Bulkhead.Received
    do throws(Bulkhead.Failure) {
        received = try withUnsafeMutableBytes(of: &message) { (b) throws(Bulkhead.Failure) in try Bulkhead.receive(input.id, into: b) }
    } catch {
        if error.reason != .empty { say { $0.write("receive failed: "); error.write(to: &$0) } }
        return false
    }
    let binding: UInt8 = withUnsafeBytes(of: &message) { $0[6] }
    let result: Result<Int, Bulkhead.Failure> = vaultAAD.withUTF8Buffer { aad in
        withUnsafeBytes(of: &message) { b in
            withUnsafeMutableBytes(of: &scratch) { out in
                do throws(Bulkhead.Failure) {
                    return .success(try Bulkhead.unseal(UnsafeRawBufferPointer(rebasing: b[0..<received.length]),
                                                        aad: UnsafeRawBufferPointer(aad), into: out))
                } catch { return .failure(error) }
            }
        }
    }
    say {
        $0.write("unseal vault's "); $0.write(binding == 1 ? "image" : binding == 2 ? "signer" : "unknown")
        $0.write(" blob (from partition "); $0.write(decimal: UInt64(received.sender)); $0.write("): ")
        switch result {
        case .success(let n): $0.write("0/ok OPENED "); $0.write(decimal: n); $0.write(" bytes")
        case .failure(let error): error.write(to: &$0)
        }
    }
    return true
}

/// The tenant's own seal + unseal (so a refusal of the vault's blob is not a broken tenant).
func ownRoundTrip() {
    var data: InlineArray<16, UInt8> = [0x74, 0x65, 0x6E, 0x61, 0x6E, 0x74, 0x20, 0x64, 0x61, 0x74, 0x61, 0, 1, 2, 3, 4]
    let result: Result<Bool, Bulkhead.Failure> = withUnsafeBytes(of: &data) { d in
        do throws(Bulkhead.Failure) {
            try withUnsafeMutableBytes(of: &ownBlob) { (b) throws(Bulkhead.Failure) in _ = try Bulkhead.seal(.image, d, into: b) }
            let n = try withUnsafeBytes(of: &ownBlob) { (b) throws(Bulkhead.Failure) -> Int in
                try withUnsafeMutableBytes(of: &scratch) { (out) throws(Bulkhead.Failure) -> Int in try Bulkhead.unseal(b, into: out) }
            }
            var same = n == 16
            withUnsafeBytes(of: &scratch) { p in for i in 0..<16 where p[i] != d[i] { same = false } }
            return .success(same)
        } catch { return .failure(error) }
    }
    say {
        $0.write("seal image ")
        switch result {
        case .success(let same): $0.write(same ? "ok" : "BAD round trip")
        case .failure(let error): error.write(to: &$0)
        }
    }
}

/// Each key service once with valid arguments: what the policy makes of it.
func probePolicy() {
    var key = InlineArray<4, UInt64>(repeating: 0)
    let label: StaticString = "probe"
    let derive = withUnsafeMutableBytes(of: &key) { out in
        label.withUTF8Buffer { Bulkhead.call(BulkheadFunction.derive.rawValue, UInt64(UInt(bitPattern: $0.baseAddress)), UInt64($0.count),
                                             UInt64(UInt(bitPattern: out.baseAddress))) }
    }
    policyLine("derive", derive.error == 0 ? .success(Int(derive.value)) : .failure(Bulkhead.Failure(error: derive.error, rawReason: derive.value)))
    var data = InlineArray<16, UInt8>(repeating: 0x11)
    var blob = InlineArray<8, UInt64>(repeating: 0)
    let seal: Result<Int, Bulkhead.Failure> = withUnsafeBytes(of: &data) { d in
        withUnsafeMutableBytes(of: &blob) { b in
            do throws(Bulkhead.Failure) { return .success(try Bulkhead.seal(.image, d, into: b)) } catch { return .failure(error) }
        }
    }
    policyLine("seal", seal)
    // A well-formed blob that is not ours: an allowed unseal fails not_authentic, a denied one policy_denied.
    var foreign = InlineArray<8, UInt64>(repeating: 0)
    withUnsafeMutableBytes(of: &foreign) { f in
        f[0] = 0x42; f[1] = 0x48; f[2] = 0x53; f[3] = 0x4C      // "BHSL"
        f[4] = 1; f[6] = 1; f[28] = 16                          // version 1, image-bound, 16 bytes
    }
    let unseal: Result<Int, Bulkhead.Failure> = withUnsafeBytes(of: &foreign) { b in
        withUnsafeMutableBytes(of: &scratch) { out in
            do throws(Bulkhead.Failure) { return .success(try Bulkhead.unseal(b, into: out)) } catch { return .failure(error) }
        }
    }
    policyLine("unseal", unseal)
    var nonce = InlineArray<32, UInt8>(repeating: 0x5A)
    let attest: Result<Int, Bulkhead.Failure> = withUnsafeBytes(of: &nonce) { n in
        withUnsafeMutableBytes(of: &reportBuffer) { out in
            do throws(Bulkhead.Failure) { return .success(try Bulkhead.attest(nonce: n, into: out)) } catch { return .failure(error) }
        }
    }
    policyLine("attest", attest)
    var bytes = InlineArray<16, UInt8>(repeating: 0)
    let random: Result<Int, Bulkhead.Failure> = withUnsafeMutableBytes(of: &bytes) { out in
        do throws(Bulkhead.Failure) { try Bulkhead.random(into: out); return .success(out.count) } catch { return .failure(error) }
    }
    policyLine("random", random)
    let keystore = Bulkhead.call(BulkheadFunction.keyDestroy.rawValue, 0)     // handle 0 is nobody's: not_owner when allowed
    policyLine("keystore", keystore.error == 0 ? .success(0) : .failure(Bulkhead.Failure(error: keystore.error, rawReason: keystore.value)))
}

/// Receives the vault's key handle and tries to use it: every call must be refused not_owner.
func tryVaultKey(_ input: ChannelInfo, _ second: UInt64) {
    var handle = InlineArray<1, UInt64>(repeating: 0)
    let deadline = Timer.now() &+ 5 &* second
    while true {
        let r = withUnsafeMutableBytes(of: &handle) { b in
            Bulkhead.call(BulkheadFunction.receive.rawValue, UInt64(input.id), UInt64(UInt(bitPattern: b.baseAddress)), 8)
        }
        if r.error == 0 { break }
        if !Bulkhead.waitForDoorbell(until: deadline) { say { $0.write("TIMEOUT waiting for the vault's key handle") }; return }
    }
    let vaultKey = handle[0]
    // A key of its own first: it may well sit in the same slot as the vault's.
    let own = Bulkhead.call(BulkheadFunction.keyGenerate.rawValue, UInt64(KeyUsage.sign.rawValue))
    say {
        $0.write("own key ")
        if own.error == 0 { $0.write(hex: own.value) } else { Bulkhead.Failure(error: own.error, rawReason: own.value).write(to: &$0) }
        $0.write(", vault's "); $0.write(hex: vaultKey)
    }
    let out = UInt64(UInt(bitPattern: withUnsafeMutableBytes(of: &scratch) { $0.baseAddress }))
    let text: StaticString = "forged"
    let msg = UInt64(UInt(bitPattern: text.utf8Start))
    refusedLine("key_sign", Bulkhead.call(BulkheadFunction.keySign.rawValue, vaultKey, msg, UInt64(text.utf8CodeUnitCount), out))
    refusedLine("key_public", Bulkhead.call(BulkheadFunction.keyPublic.rawValue, vaultKey, out))
    refusedLine("key_destroy", Bulkhead.call(BulkheadFunction.keyDestroy.rawValue, vaultKey))
    if own.error == 0 { _ = Bulkhead.call(BulkheadFunction.keyDestroy.rawValue, own.value) }
}

func refusedLine(_ call: StaticString, _ r: SBIResult) {
    say {
        $0.write("vault's key "); $0.write(call); $0.write(": ")
        if r.error == 0 { $0.write("0/ok ACCEPTED") } else { Bulkhead.Failure(error: r.error, rawReason: r.value).write(to: &$0) }
    }
}

func policyLine(_ service: StaticString, _ r: Result<Int, Bulkhead.Failure>) {
    say {
        $0.write("policy "); $0.write(service); $0.write(": ")
        switch r {
        case .success(let n): $0.write("0/ok ("); $0.write(decimal: n); $0.write(" bytes)")
        case .failure(let error): error.write(to: &$0)
        }
    }
}

/// One line starting with the partition's name.
func say(_ body: (inout Line) -> Void) {
    Console.line {
        $0.write(text: me.name); $0.write(": ")
        body(&$0)
    }
}
