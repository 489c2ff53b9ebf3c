// vault's keystore phase (docs/keys.md): spec vectors through key_import, a generated key, every refusal, the slot bound, persistence.
//
// With bootargs `keystore-use:HANDLE` or `keystore-destroy:HANDLE` (16 hex digits, what a previous
// boot printed) the vault only shows that key: `vault: keystore handle HANDLE public HEX64,
// signature verifies` (or `vault: keystore handle HANDLE: ERR/REASON`), and destroys it for
// `keystore-destroy`. Otherwise, when its policy allows the keystore:
//   vault: keystore rfc8032 test 1: public ok, signature ok     RFC 8032 §7.1 TEST 1 imported
//   vault: keystore rfc4231 case 1: mac ok                       RFC 4231 §4.2 imported
//   vault: keystore generated HANDLE public HEX64, signature verifies
//   vault: check keystore ...: ERR/REASON ok                     each refusal
//   vault: keystore filled N more slots, then keystore_full ok
//   vault: keystore keeps HANDLE / destroyed the generated key   `keystore-keep` in the bootargs keeps it
//   vault: sent key handle to partition N                        over the queue `vault-handles` (if any;
//                                                                also the bootargs' handle)

import GuestRuntime

let signedMessage: StaticString = "bulkhead keystore test"

// RFC 8032 §7.1, TEST 1: the secret key (seed), its public key and the signature of the empty message.
let rfc8032Seed: InlineArray<32, UInt8> = [
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60]
let rfc8032Public: InlineArray<32, UInt8> = [
    0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a,
    0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a]
let rfc8032Signature: InlineArray<64, UInt8> = [
    0xe5, 0x56, 0x43, 0x00, 0xc3, 0x60, 0xac, 0x72, 0x90, 0x86, 0xe2, 0xcc, 0x80, 0x6e, 0x82, 0x8a,
    0x84, 0x87, 0x7f, 0x1e, 0xb8, 0xe5, 0xd9, 0x74, 0xd8, 0x73, 0xe0, 0x65, 0x22, 0x49, 0x01, 0x55,
    0x5f, 0xb8, 0x82, 0x15, 0x90, 0xa3, 0x3b, 0xac, 0xc6, 0x1e, 0x39, 0x70, 0x1c, 0xf9, 0xb4, 0x6b,
    0xd2, 0x5b, 0xf5, 0xf0, 0x59, 0x5b, 0xbe, 0x24, 0x65, 0x51, 0x41, 0x43, 0x8e, 0x7a, 0x10, 0x0b]
// RFC 4231 §4.2, test case 1: key 0x0b × 20, data "Hi There", HMAC-SHA-512.
let rfc4231Data: StaticString = "Hi There"
let rfc4231Tag: InlineArray<64, UInt8> = [
    0x87, 0xaa, 0x7c, 0xde, 0xa5, 0xef, 0x61, 0x9d, 0x4f, 0xf0, 0xb4, 0x24, 0x1a, 0x1d, 0x6c, 0xb0,
    0x23, 0x79, 0xf4, 0xe2, 0xce, 0x4e, 0xc2, 0x78, 0x7a, 0xd0, 0xb3, 0x05, 0x45, 0xe1, 0x7c, 0xde,
    0xda, 0xa8, 0x33, 0xb7, 0xd6, 0xb8, 0xa7, 0x02, 0x03, 0x8b, 0x27, 0x4e, 0xae, 0xa3, 0xf4, 0xe4,
    0xbe, 0x9d, 0x91, 0x4e, 0xeb, 0x61, 0xf1, 0x70, 0x2e, 0x69, 0x6c, 0x20, 0x3a, 0x12, 0x68, 0x54]

typealias Handle = Bulkhead.KeyHandle

/// The keystore phase; `bootargs` select which (see the top of this file).
func keystorePhase(_ bootargs: UnsafeRawBufferPointer, _ me: PartitionInfo) {
    if let handle = handleArgument(bootargs, "keystore-use:") ?? handleArgument(bootargs, "keystore-destroy:") {
        showKey(handle, destroy: startsWith(bootargs, "keystore-destroy:"))
        sendHandle(handle, me)
        return
    }

    let imported: Handle
    do throws(Bulkhead.Failure) {
        imported = try withBytes(rfc8032Seed) { (s) throws(Bulkhead.Failure) in try Bulkhead.importKey(.sign, s) }
    } catch {
        Console.line { $0.write("vault: keystore: "); error.write(to: &$0) }
        return                                    // the policy refuses the keystore: nothing more to show
    }
    do throws(Bulkhead.Failure) {
        var pub = try Bulkhead.publicKey(imported)
        var sig = try Bulkhead.sign(imported, UnsafeRawBufferPointer(start: nil, count: 0))
        let pubOK = equal(&pub, rfc8032Public), sigOK = equal(&sig, rfc8032Signature)
        Console.line {
            $0.write("vault: keystore rfc8032 test 1: public "); $0.write(pubOK ? "ok" : "MISMATCH")
            $0.write(", signature "); $0.write(sigOK ? "ok" : "MISMATCH")
        }
        let macKey = InlineArray<20, UInt8>(repeating: 0x0b)
        let mac = try withBytes(macKey) { (k) throws(Bulkhead.Failure) in try Bulkhead.importKey(.mac, k) }
        var tag = try Bulkhead.mac(mac, UnsafeRawBufferPointer(start: rfc4231Data.utf8Start, count: rfc4231Data.utf8CodeUnitCount))
        Console.line { $0.write("vault: keystore rfc4231 case 1: mac "); $0.write(equal(&tag, rfc4231Tag) ? "ok" : "MISMATCH") }

        let generated = try Bulkhead.generateKey(.sign)
        showKey(generated, destroy: false, label: "generated")
        refusals(imported: imported, mac: mac, generated: generated)
        fill()
        try Bulkhead.destroyKey(imported)
        try Bulkhead.destroyKey(mac)
        expectRefused("keystore destroyed handle", .unknownHandle, Bulkhead.call(BulkheadFunction.keyPublic.rawValue, imported.raw,
                                                                                   address(of: &scratch)))
        sendHandle(generated, me)
        if contains(bootargs, "keystore-keep") {
            Console.line { $0.write("vault: keystore keeps "); writeHandle(&$0, generated) }
        } else {
            try Bulkhead.destroyKey(generated)
            Console.print("vault: keystore destroyed the generated key")
        }
    } catch { fail("keystore", error) }
}

/// Sends `handle` to the peer of the queue `vault-handles`, if there is one.
func sendHandle(_ handle: Handle, _ me: PartitionInfo) {
    guard let out = me.channel(named: "vault-handles"), out.kind == .queue else { return }
    var message = InlineArray<1, UInt64>(repeating: handle.raw)
    do throws(Bulkhead.Failure) {
        try withUnsafeBytes(of: &message) { (m) throws(Bulkhead.Failure) in try Bulkhead.send(out.id, m) }
    } catch { fail("send key handle", error) }
    Console.line { $0.write("vault: sent key handle to partition "); $0.write(decimal: UInt64(out.peer)) }
}

/// `vault: keystore handle H public P, signature verifies` (or the error), then maybe destroys it.
func showKey(_ handle: Handle, destroy: Bool, label: StaticString = "handle") {
    do throws(Bulkhead.Failure) {
        var pub = try Bulkhead.publicKey(handle)
        var sig = try withMessage { (m) throws(Bulkhead.Failure) in try Bulkhead.sign(handle, m) }
        let verifies = withUnsafeBytes(of: &pub) { p in
            withUnsafeBytes(of: &sig) { s in
                withMessage { m in Ed25519PublicKey(bytes: p).map { Ed25519.verify(signature: s, message: m, publicKey: $0) } ?? false }
            }
        }
        Console.line { line in
            line.write("vault: keystore "); line.write(label); line.write(" "); writeHandle(&line, handle); line.write(" public ")
            withUnsafeBytes(of: &pub) { p in line.write(hexBytes: p) }
            if verifies { line.write(", signature verifies") } else { line.write(", signature DOES NOT VERIFY") }
        }
        if destroy {
            try Bulkhead.destroyKey(handle)
            Console.line { $0.write("vault: keystore destroyed "); writeHandle(&$0, handle) }
        }
    } catch {
        Console.line { $0.write("vault: keystore "); $0.write(label); $0.write(" "); writeHandle(&$0, handle); $0.write(": "); error.write(to: &$0) }
    }
}

/// Every argument the keystore must refuse, each with its own reason.
func refusals(imported: Handle, mac: Handle, generated: Handle) {
    let out = address(of: &scratch)
    let msg = UInt64(UInt(bitPattern: signedMessage.utf8Start))
    let n = UInt64(signedMessage.utf8CodeUnitCount)
    expectRefused("keystore mac with a sign key", .wrongUsage, Bulkhead.call(BulkheadFunction.keyMAC.rawValue, generated.raw, msg, n, out))
    expectRefused("keystore sign with a mac key", .wrongUsage, Bulkhead.call(BulkheadFunction.keySign.rawValue, mac.raw, msg, n, out))
    expectRefused("keystore public of a mac key", .wrongUsage, Bulkhead.call(BulkheadFunction.keyPublic.rawValue, mac.raw, out))
    expectRefused("keystore usage 3", .badUsage, Bulkhead.call(BulkheadFunction.keyGenerate.rawValue, 3))
    expectRefused("keystore import 31-byte seed", .badKeyLength, Bulkhead.call(BulkheadFunction.keyImport.rawValue, 1, out, 31))
    expectRefused("keystore import 15-byte mac key", .badKeyLength, Bulkhead.call(BulkheadFunction.keyImport.rawValue, 2, out, 15))
    expectRefused("keystore stale generation", .unknownHandle, Bulkhead.call(BulkheadFunction.keyPublic.rawValue, generated.raw &+ 0x100, out))
    expectRefused("keystore slot 200", .unknownHandle, Bulkhead.call(BulkheadFunction.keyPublic.rawValue, generated.raw | 0xC8, out))
    expectRefused("keystore another owner", .notOwner, Bulkhead.call(BulkheadFunction.keyPublic.rawValue, generated.raw ^ (1 << 40), out))
    expectRefused("keystore handle 0", .notOwner, Bulkhead.call(BulkheadFunction.keyDestroy.rawValue, 0))
    expectRefused("keystore misaligned output", .misaligned, Bulkhead.call(BulkheadFunction.keySign.rawValue, generated.raw, msg, n, out &+ 4))
    expectRefused("keystore message 4097", .tooLong, Bulkhead.call(BulkheadFunction.keySign.rawValue, generated.raw, msg, 4097, out))
    expectRefused("keystore output outside ram", .badAddress, Bulkhead.call(BulkheadFunction.keySign.rawValue, generated.raw, msg, n, 0x1000))
    expectRefused("keystore message outside ram", .badAddress, Bulkhead.call(BulkheadFunction.keyMAC.rawValue, mac.raw, 0x1000, 16, out))
}

/// Generates mac keys until the keystore is full, then destroys them.
func fill() {
    var made = InlineArray<8, UInt64>(repeating: 0)
    var count = 0
    var last = SBIResult(error: 0, value: 0)
    while count < 9 {
        last = Bulkhead.call(BulkheadFunction.keyGenerate.rawValue, UInt64(KeyUsage.mac.rawValue))
        if last.error != 0 || count == 8 { break }
        made[count] = last.value
        count += 1
    }
    let full = last.error == BulkheadReason.keystoreFull.sbiError.rawValue && last.value == BulkheadReason.keystoreFull.rawValue
    Console.line {
        $0.write("vault: keystore filled "); $0.write(decimal: count); $0.write(" more slots, then ")
        Bulkhead.Failure(error: last.error, rawReason: last.value).write(to: &$0)
        $0.write(full ? " ok" : " MISMATCH")
    }
    var i = 0
    while i < count { _ = Bulkhead.call(BulkheadFunction.keyDestroy.rawValue, made[i]); i += 1 }
}

func expectRefused(_ label: StaticString, _ reason: BulkheadReason, _ r: SBIResult) {
    checkLine(label, r.error == 0 ? .success(Int(r.value)) : .failure(Bulkhead.Failure(error: r.error, rawReason: r.value)), reason)
}

/// The handle after `prefix` in the bootargs (16 hex digits).
func handleArgument(_ args: UnsafeRawBufferPointer, _ prefix: StaticString) -> Handle? {
    let p = prefix.utf8CodeUnitCount
    guard args.count == p + 16, startsWith(args, prefix) else { return nil }
    var value: UInt64 = 0
    for i in 0..<16 {
        guard let d = nibble(args[p + i]) else { return nil }
        value = value << 4 | UInt64(d)
    }
    return Handle(raw: value)
}

func startsWith(_ args: UnsafeRawBufferPointer, _ prefix: StaticString) -> Bool {
    let n = prefix.utf8CodeUnitCount
    guard args.count >= n else { return false }
    for i in 0..<n where args[i] != prefix.utf8Start[i] { return false }
    return true
}

func contains(_ args: UnsafeRawBufferPointer, _ word: StaticString) -> Bool {
    let n = word.utf8CodeUnitCount
    var at = 0
    while at + n <= args.count {
        if startsWith(UnsafeRawBufferPointer(rebasing: args[at...]), word) { return true }
        at += 1
    }
    return false
}

func withMessage<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
    try body(UnsafeRawBufferPointer(start: signedMessage.utf8Start, count: signedMessage.utf8CodeUnitCount))
}

func withBytes<let n: Int, R, E: Error>(_ value: InlineArray<n, UInt8>, _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
    var copy = value
    return try withUnsafeBytes(of: &copy) { (p) throws(E) -> R in try body(p) }
}

func equal<T, let n: Int>(_ value: inout T, _ expected: InlineArray<n, UInt8>) -> Bool {
    withUnsafeBytes(of: &value) { v in
        var same = v.count == n
        for i in 0..<min(v.count, n) where v[i] != expected[i] { same = false }
        return same
    }
}

func address<T>(of value: inout T) -> UInt64 { withUnsafeMutableBytes(of: &value) { UInt64(UInt(bitPattern: $0.baseAddress)) } }

/// A handle as 16 hex digits (what `keystore-use:` takes).
func writeHandle(_ line: inout Line, _ handle: Handle) {
    var shift: UInt64 = 56
    while true {
        line.write(hexByte: UInt8(truncatingIfNeeded: handle.raw >> shift))
        if shift == 0 { break }
        shift -= 8
    }
}
