// monitoros: a plain S-mode OS under the secure monitor that uses its key services (derive, seal, unseal, attest, random).
//
// Linked at 0x80200000 (build/guests-s/monitoros.bin), signed with Tools/opensbi/sign-next-stage.py
// and booted as the monitor's next stage (Tests/qemu/test_monitor_os.py, docs/monitor.md). The
// GuestRuntime's Bulkhead calls go to the monitor's extension (Bulkhead.target). Every line starts
// "monitoros: "; the report and the derived key are printed in hex for the host to check. Then it
// passes hostile addresses (the firmware, the device secret's flash block, outside RAM), which the
// monitor must refuse with SBI_ERR_INVALID_ADDRESS, and shows that it still runs.

import GuestRuntime

/// The physical addresses the hostile calls pass: the firmware's memory, the device secret's flash
/// block (QEMU virt, FlashLayout.qemuVirt) and an address above the test machine's 1 GiB of RAM.
let firmwareAddress: UInt64 = 0x8000_0000
let secretBlockAddress: UInt64 = 0x2200_0000 + 0x1F4_0000
let outsideRAM: UInt64 = 0x1_0000_0000

@_cdecl("guest_main")
func guestMain(vcpu: UInt, dtb: UInt) {
    Bulkhead.target = SecureMonitorExtension.eid
    let probe = SBI.probeExtension(SecureMonitorExtension.eid)
    let version = Bulkhead.call(SecureMonitorExtension.Function.getVersion.rawValue)
    Console.line {
        $0.write("monitoros: monitor extension: probe "); $0.write(decimal: probe.value)
        $0.write(", version "); $0.write(decimal: version.value)
    }
    do throws(Bulkhead.Failure) {
        try keyServices()
    } catch {
        Console.line { $0.write("monitoros: key services failed: "); error.write(to: &$0) }
    }
    hostileAddresses()
    // The key services came first, so the CDI is gone: get_cdi's word 0 is refused.
    let cdi = Bulkhead.call(SecureMonitorExtension.Function.getCDI.rawValue, 0)
    Console.line { $0.write("monitoros: get_cdi after the key services: error "); $0.write(signed: cdi.error) }
    Console.print("monitoros: done, shutting down")
    Guest.shutdown()
}

func keyServices() throws(Bulkhead.Failure) {
    var key = try Bulkhead.derive(label: "disk key")
    Console.line { line in
        line.write("monitoros: derive(disk key): ")
        withUnsafeBytes(of: &key) { line.write(hexBytes: $0) }
    }
    withUnsafeMutableBytes(of: &key) { secureZero($0) }

    var first = InlineArray<32, UInt8>(repeating: 0), second = InlineArray<32, UInt8>(repeating: 0)
    try withUnsafeMutableBytes(of: &first) { (b) throws(Bulkhead.Failure) in try Bulkhead.random(into: b) }
    try withUnsafeMutableBytes(of: &second) { (b) throws(Bulkhead.Failure) in try Bulkhead.random(into: b) }
    Console.line { line in
        line.write("monitoros: random: ")
        withUnsafeBytes(of: &first) { line.write(hexBytes: $0) }
        line.write(" ")
        withUnsafeBytes(of: &second) { line.write(hexBytes: $0) }
    }

    try sealRoundTrip(.image, "image")
    try sealRoundTrip(.signer, "signer")
    try sealLargest()

    // Attestation over a fixed nonce; the report (320 bytes) in five lines of 64 bytes.
    var nonce = InlineArray<32, UInt8>(repeating: 0)
    var i = 0
    while i < 32 { nonce[i] = UInt8(truncatingIfNeeded: 0xA0 &+ i); i &+= 1 }
    var report = InlineArray<40, UInt64>(repeating: 0)
    let length = try withUnsafeBytes(of: &nonce) { (n) throws(Bulkhead.Failure) -> Int in
        try withUnsafeMutableBytes(of: &report) { (r) throws(Bulkhead.Failure) -> Int in try Bulkhead.attest(nonce: n, into: r) }
    }
    Console.line { $0.write("monitoros: attest: "); $0.write(decimal: UInt64(length)); $0.write(" bytes") }
    withUnsafeBytes(of: &report) { r in
        var part = 0
        while part < 5 {
            Console.line { line in
                line.write("monitoros: report "); line.write(decimal: UInt64(part)); line.write(": ")
                line.write(hexBytes: UnsafeRawBufferPointer(rebasing: r[(64 * part)..<(64 * part + 64)]))
            }
            part &+= 1
        }
    }
}

/// Seals a short text, opens it again, then opens a copy with one ciphertext byte flipped (refused).
func sealRoundTrip(_ binding: SealedBlob.Binding, _ name: StaticString) throws(Bulkhead.Failure) {
    var plain: InlineArray<24, UInt8> = [0x6D, 0x6F, 0x6E, 0x69, 0x74, 0x6F, 0x72, 0x20, 0x6F, 0x73, 0x20, 0x73,   // "monitor os s"
                                         0x65, 0x63, 0x72, 0x65, 0x74, 0x20, 0x6E, 0x75, 0x6D, 0x62, 0x65, 0x72]   // "ecret number"
    var aad: InlineArray<8, UInt8> = [0x76, 0x31, 0, 0, 0, 0, 0, 0]                                             // "v1"
    var blob = InlineArray<9, UInt64>(repeating: 0)                                                             // 24 + 48 = 72 bytes
    var opened = InlineArray<24, UInt8>(repeating: 0)
    let sealed = try withUnsafeBytes(of: &plain) { (p) throws(Bulkhead.Failure) -> Int in
        try withUnsafeBytes(of: &aad) { (a) throws(Bulkhead.Failure) -> Int in
            try withUnsafeMutableBytes(of: &blob) { (b) throws(Bulkhead.Failure) -> Int in
                try Bulkhead.seal(binding, p, aad: UnsafeRawBufferPointer(rebasing: a[0..<2]), into: b)
            }
        }
    }
    let count = try withUnsafeBytes(of: &blob) { (b) throws(Bulkhead.Failure) -> Int in
        try withUnsafeBytes(of: &aad) { (a) throws(Bulkhead.Failure) -> Int in
            try withUnsafeMutableBytes(of: &opened) { (o) throws(Bulkhead.Failure) -> Int in
                try Bulkhead.unseal(UnsafeRawBufferPointer(rebasing: b[0..<sealed]), aad: UnsafeRawBufferPointer(rebasing: a[0..<2]), into: o)
            }
        }
    }
    var same = count == 24
    var i = 0
    while i < 24 { if opened[i] != plain[i] { same = false }; i &+= 1 }
    Console.line {
        $0.write("monitoros: seal "); $0.write(name); $0.write(": "); $0.write(decimal: UInt64(sealed))
        $0.write(" bytes, unseal: "); $0.write(decimal: UInt64(count)); $0.write(same ? " bytes, round trip ok" : " bytes, MISMATCH")
    }
    // One ciphertext byte changed (offset 40: inside the ciphertext, after the 32-byte header).
    withUnsafeMutableBytes(of: &blob) { $0[40] ^= 0x01 }
    let changed = withUnsafeBytes(of: &blob) { b in
        withUnsafeBytes(of: &aad) { a in
            withUnsafeMutableBytes(of: &opened) { o in
                Bulkhead.call(BulkheadFunction.unseal.rawValue, 0, requestFor(b, sealed, a, o))
            }
        }
    }
    Console.line {
        $0.write("monitoros: unseal "); $0.write(name); $0.write(" with one byte changed: ")
        Bulkhead.Failure(error: changed.error, rawReason: changed.value).write(to: &$0)
    }
    withUnsafeMutableBytes(of: &opened) { secureZero($0) }
}

/// The largest data a blob holds (4096 bytes), sealed and opened in static buffers (the guest stack
/// is 16 KiB): the monitor's side needs its own large stack for this.
nonisolated(unsafe) var largePlain = InlineArray<512, UInt64>(repeating: 0)
nonisolated(unsafe) var largeBlob = InlineArray<518, UInt64>(repeating: 0)
nonisolated(unsafe) var largeOpened = InlineArray<512, UInt64>(repeating: 0)

func sealLargest() throws(Bulkhead.Failure) {
    var i = 0
    while i < 512 { largePlain[i] = UInt64(i) &* 0x9E37_79B9_7F4A_7C15; i &+= 1 }
    let sealed = try withUnsafeBytes(of: &largePlain) { (p) throws(Bulkhead.Failure) -> Int in
        try withUnsafeMutableBytes(of: &largeBlob) { (b) throws(Bulkhead.Failure) -> Int in try Bulkhead.seal(.image, p, into: b) }
    }
    let count = try withUnsafeBytes(of: &largeBlob) { (b) throws(Bulkhead.Failure) -> Int in
        try withUnsafeMutableBytes(of: &largeOpened) { (o) throws(Bulkhead.Failure) -> Int in
            try Bulkhead.unseal(UnsafeRawBufferPointer(rebasing: b[0..<sealed]), into: o)
        }
    }
    var same = count == 4096
    i = 0
    while i < 512 { if largeOpened[i] != largePlain[i] { same = false }; i &+= 1 }
    Console.line {
        $0.write("monitoros: seal 4096 bytes: "); $0.write(decimal: UInt64(sealed))
        $0.write(" bytes, unseal: "); $0.write(decimal: UInt64(count)); $0.write(same ? " bytes, round trip ok" : " bytes, MISMATCH")
    }
}

/// A 48-byte unseal request (blob, aad "v1", output), kept in a static block for raw calls.
nonisolated(unsafe) var rawRequest = InlineArray<6, UInt64>(repeating: 0)
func requestFor(_ blob: UnsafeRawBufferPointer, _ length: Int, _ aad: UnsafeRawBufferPointer, _ out: UnsafeMutableRawBufferPointer) -> UInt64 {
    rawRequest = [address(blob.baseAddress), UInt64(length), address(aad.baseAddress), 2, address(out.baseAddress), UInt64(out.count)]
    return withUnsafeBytes(of: &rawRequest) { address($0.baseAddress) }
}

func address(_ p: UnsafeRawPointer?) -> UInt64 { UInt64(UInt(bitPattern: p)) }

/// Raw calls with addresses the monitor must refuse (SBI_ERR_INVALID_ADDRESS, reason bad_address),
/// each printed as "error/reason"; then one good call to show the OS still runs.
func hostileAddresses() {
    var label: InlineArray<8, UInt8> = [0x6B, 0x65, 0x79, 0, 0, 0, 0, 0]      // "key"
    var out = InlineArray<4, UInt64>(repeating: 0)
    let labelAddress = withUnsafeBytes(of: &label) { address($0.baseAddress) }
    let outAddress = withUnsafeMutableBytes(of: &out) { address($0.baseAddress) }
    let derive = BulkheadFunction.derive.rawValue, random = BulkheadFunction.random.rawValue
    report("derive into the firmware", Bulkhead.call(derive, labelAddress, 3, firmwareAddress))
    report("derive with its label in the firmware", Bulkhead.call(derive, firmwareAddress, 3, outAddress))
    report("random into the firmware", Bulkhead.call(random, firmwareAddress + 0x1000, 32))
    report("random into the device secret's flash block", Bulkhead.call(random, secretBlockAddress, 32))
    report("random outside RAM", Bulkhead.call(random, outsideRAM, 32))
    report("random wrapping around", Bulkhead.call(random, UInt64.max &- 15, 32))
    report("seal with its request in the firmware", Bulkhead.call(BulkheadFunction.seal.rawValue, 1, firmwareAddress))
    rawRequest = [labelAddress, 3, 0, 0, firmwareAddress, 3 + 48]
    let request = withUnsafeBytes(of: &rawRequest) { address($0.baseAddress) }
    report("seal into the firmware", Bulkhead.call(BulkheadFunction.seal.rawValue, 1, request))
    report("attest into the firmware", Bulkhead.call(BulkheadFunction.attest.rawValue, labelAddress, firmwareAddress, 320))
    // Other hostile arguments get their specific errors (docs/hypercalls.md), never a crash.
    report("derive with a 65-byte label", Bulkhead.call(derive, labelAddress, 65, outAddress))
    report("derive into a misaligned output", Bulkhead.call(derive, labelAddress, 3, outAddress + 1))
    rawRequest = [labelAddress, 3, 0, 0, outAddress, 32]                   // out: 32 bytes, the blob needs 51
    let sealRequest = withUnsafeBytes(of: &rawRequest) { address($0.baseAddress) }
    report("seal with binding 3", Bulkhead.call(BulkheadFunction.seal.rawValue, 3, sealRequest))
    report("seal into a 32-byte output", Bulkhead.call(BulkheadFunction.seal.rawValue, 1, sealRequest))
    report("attest into 32 bytes", Bulkhead.call(BulkheadFunction.attest.rawValue, labelAddress, outAddress, 32))
    report("keystore key_generate", Bulkhead.call(BulkheadFunction.keyGenerate.rawValue, 1))
    report("function 99", Bulkhead.call(99))
    let again = Bulkhead.call(derive, labelAddress, 3, outAddress)
    Console.line { $0.write("monitoros: still running: derive error "); $0.write(signed: again.error) }
}

func report(_ what: StaticString, _ r: SBIResult) {
    Console.line {
        $0.write("monitoros: hostile: "); $0.write(what); $0.write(": ")
        Bulkhead.Failure(error: r.error, rawReason: r.value).write(to: &$0)
    }
}
