// Key services in the configuration (`keys`), through pack, the bundle and inspect; and
// `bulkhead provision` / `flash-info` on the device secret's flash block.

import BulkheadCore
import Foundation
import Testing
@testable import BulkheadTool

/// A fixed test secret: bytes 0x00 ... 0x1f.
let testSecret: [UInt8] = (0..<32).map { UInt8($0) }
let testSecretHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

/// The fingerprint computed independently of the CLI, with Core's SHA-512.
func coreFingerprint(_ secret: [UInt8]) -> String {
    var hasher = BulkheadCore.SHA512()
    Array("bulkhead device secret fingerprint".utf8).withUnsafeBytes { hasher.update($0) }
    secret.withUnsafeBytes { hasher.update($0) }
    let digest = hasher.finalize()
    return hexString((0..<8).map { digest.bytes[$0] })
}

/// The 64 bytes of a device-secret record for `secret`.
func secretRecordBytes(_ secret: [UInt8]) -> [UInt8] {
    var fixed = SecretBytes(repeating: 0)
    for i in 0..<32 { fixed[i] = secret[i] }
    return withUnsafeBytes(of: DeviceSecretRecord.encode(fixed)) { Array($0) }
}

extension FlashSetup {
    /// `bulkhead provision IMAGE` with the secret (nil: random).
    @discardableResult
    func provision(_ secret: [UInt8]?, force: Bool = false) throws(ToolError) -> String {
        try Commands.provision(imagePath: image, secret: secret, force: force)
    }

    /// The device-secret block of `flash`.
    func secretBlock(in flash: FlashImage) -> [UInt8] { Array(flash.bytes(in: layout.deviceSecret)) }
}

@Suite("CLI: key services and the device secret")
struct KeyServiceTests {
    // MARK: keys = [...] in the configuration

    /// One partition table with `keys` (the raw TOML value), or without it when nil.
    static func table(keys: String?) -> String {
        "[[partition]]\nname = \"a\"\nimage = \"i.bin\"\nharts = [1]\nmemory_base = 0x84000000\nmemory_size = \"16M\"\n"
            + (keys.map { "keys = \($0)\n" } ?? "")
    }

    @Test func keysParseIntoAPolicy() throws {
        func policy(_ keys: String?) throws -> KeyPolicy { try Config.parse(Self.table(keys: keys), file: "k.toml").partitions[0].keyPolicy }
        #expect(try policy(nil) == KeyPolicy())
        #expect(try policy("[]") == KeyPolicy())
        #expect(try policy("[\"derive\", \"seal\", \"attest\", \"keystore\", \"random\", \"attest_system\"]") == .all)
        #expect(try policy("[\"attest_system\"]") == .attestSystem && KeyPolicy.attestSystem.raw == 0x20)
        #expect(try policy("[\"random\", \"derive\"]") == KeyPolicy(raw: KeyPolicy.derive.raw | KeyPolicy.random.raw))
        #expect(try policy("[\"seal\"]") == .seal)
        #expect(try policy("[\"attest\"]") == .attest)
        #expect(try policy("[\"keystore\"]") == .keystore)
        #expect(KeyServices.names == ["derive", "seal", "attest", "keystore", "random", "attest_system"])
        #expect(KeyServices.describe(KeyPolicy()) == "none")
        #expect(KeyServices.describe(KeyPolicy(raw: 0x11)) == "derive, random")
        #expect(KeyServices.describe(.all) == "derive, seal, attest, keystore, random, attest_system")
        #expect(Config.partitionKeys.contains("keys"))
    }

    @Test func keysErrors() {
        let known = "(known: derive, seal, attest, keystore, random, attest_system)"
        let cases: [(String, String)] = [
            ("[\"sign\"]", "unknown key service \"sign\" \(known)"),
            ("[\"derive\", \"sael\"]", "unknown key service \"sael\" (did you mean \"seal\"?) \(known)"),
            ("[\"Derive\"]", "unknown key service \"Derive\" (did you mean \"derive\"?) \(known)"),
            ("[\"\"]", "unknown key service \"\" \(known)"),
            ("[\"seal\", \"derive\", \"seal\"]", "\"seal\" is listed twice"),
            ("\"derive\"", "expected an array of key service names, e.g. [\"derive\", \"seal\"], found a string (\"derive\")"),
            ("[\"derive\", 1]", "expected an array of key service names, e.g. [\"derive\", \"seal\"], found an element that is an integer"),
            ("true", "expected an array of key service names, e.g. [\"derive\", \"seal\"], found a boolean"),
        ]
        for (keys, expected) in cases {
            #expect(throws: ToolError(located("k.toml", Self.table(keys: keys), "partition #0 \"a\", field keys: \(expected)"))) {
                try Config.parse(Self.table(keys: keys), file: "k.toml")
            }
        }
        // A near miss of the key itself is an unknown key with a suggestion.
        #expect(throws: ToolError("k.toml:7: partition #0 \"a\": unknown key \"key\" (did you mean \"keys\"?) (allowed: name, image, "
                                  + "harts, memory_base, memory_size, entry, on_fault, bootargs, keys, kind, initrd, devices, dma, uart, update)")) {
            try Config.parse(Self.table(keys: nil) + "key = []\n", file: "k.toml")
        }
    }

    @Test func keysReachTheBundleAndInspect() throws {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("one.bin", [0x13, 0, 0, 0])
        ws.write("two.bin", [0x13, 0, 0, 0])
        ws.write("three.bin", [0x13, 0, 0, 0])
        let config = ws.config(partition("one", harts: "[1]", image: "one.bin", extra: "keys = [\"seal\", \"derive\"]")
                               + partition("two", harts: "[2]", base: "0x85000000", image: "two.bin")
                               + partition("three", harts: "[3]", base: "0x86000000", image: "three.bin",
                                           extra: "keys = [\"derive\", \"seal\", \"attest\", \"keystore\", \"random\"]"))
        #expect(try Commands.check(configPath: config, board: BoardOptions()).contains("OK: 3 partitions"))
        let key = try SigningKeys.generate(base: ws.directory + "/keys/k")
        let output = ws.directory + "/b.bin"
        _ = try Commands.pack(configPath: config, output: output, keyPath: key.privatePath, securityVersion: 1, board: BoardOptions())
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: output)))
        // key_policy is the u16 at offset 6 of each partition record.
        func policyField(_ p: Int) -> UInt16 {
            let at = BundleFormat.recordOffset(p) + BundleFormat.Record.keyPolicy
            return UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
        }
        #expect(policyField(0) == 0x03 && policyField(1) == 0 && policyField(2) == 0x1F)
        try bytes.withUnsafeBytes { raw throws in
            let plan = try BundleReader(bytes: raw).plan
            #expect(plan[0].keyPolicy == KeyPolicy(raw: 0x03))
            #expect(plan[1].keyPolicy == KeyPolicy())
            #expect(plan[2].keyPolicy == KeyPolicy(raw: 0x1F))
        }
        #expect(try Commands.verify(bundlePath: output, publicKeyPath: key.publicPath).contains("OK"))
        let report = try Commands.inspect(bundlePath: output, board: BoardOptions()).report
        let lines = report.split(separator: "\n").map(String.init).filter { $0.hasPrefix("  keys:") }
        #expect(lines == [
            "  keys:      derive, seal",
            "  keys:      none (the partition may call no key service)",
            "  keys:      derive, seal, attest, keystore, random",
        ])
    }

    @Test func inspectRejectsAnUnknownKeyPolicyBit() throws {
        let s = try SignedSetup()
        defer { s.ws.remove() }
        var bytes = s.bytes
        bytes[BundleFormat.recordOffset(1) + BundleFormat.Record.keyPolicy] = 0x40
        let path = s.write("unknown-keys.bin", bytes)
        #expect(throws: ToolError("\(path): partition record #1: the key policy 0x40 sets bits outside the known key services "
                                  + "(derive 0x1, seal 0x2, attest 0x4, keystore 0x8, random 0x10, attest_system 0x20)",
                                  bundleError: .unknownKeyPolicy(partition: 1, value: 0x40))) {
            try Commands.inspect(bundlePath: path, board: BoardOptions())
        }
    }

    // MARK: bulkhead provision

    @Test func fingerprintIsStableAndSecretSpecific() throws {
        #expect(DeviceSecretFile.fingerprint(testSecret) == coreFingerprint(testSecret))
        #expect(DeviceSecretFile.fingerprint(testSecret).count == 16)
        var other = testSecret
        other[31] ^= 1
        #expect(DeviceSecretFile.fingerprint(other) == coreFingerprint(other))
        #expect(DeviceSecretFile.fingerprint(other) != DeviceSecretFile.fingerprint(testSecret))
        // Not a prefix of the plain SHA-512 of the secret: the label separates it.
        var plain = BulkheadCore.SHA512()
        testSecret.withUnsafeBytes { plain.update($0) }
        let digest = plain.finalize()
        #expect(DeviceSecretFile.fingerprint(testSecret) != hexString((0..<8).map { digest.bytes[$0] }))

        // Through the command: the same file gives the same fingerprint in two images, another file another one.
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("a.secret", Array((testSecretHex + "\n").utf8))
        ws.write("b.secret", Array(hexString(other).utf8))
        var prints: [String] = []
        for (image, file) in [("1.img", "a.secret"), ("2.img", "a.secret"), ("3.img", "b.secret")] {
            let secret = try DeviceSecretFile.load(path: ws.directory + "/" + file)
            let out = try Commands.provision(imagePath: ws.directory + "/" + image, secret: secret, force: false)
            let last = try #require(out.split(separator: "\n").last.map(String.init))
            #expect(last.hasPrefix(ws.directory + "/" + image + ": device secret provisioned (fingerprint "))
            prints.append(String(last.dropFirst(last.count - 17).dropLast()))
        }
        #expect(prints == [coreFingerprint(testSecret), coreFingerprint(testSecret), coreFingerprint(other)])
    }

    @Test func provisionCreatesTheImageAndWritesTheRecord() throws {
        let s = try FlashSetup()
        defer { s.ws.remove() }
        let fingerprint = coreFingerprint(testSecret)
        #expect(try s.provision(testSecret) == """
            \(s.image): new image, 32 MiB erased (0xFF) with the entry stub (jump to 0x80200000): both slots empty, state region in the factory state
            \(s.image): device secret provisioned (fingerprint \(fingerprint))
            """)
        let flash = try s.load()
        // The record at the block's start, the rest of the block erased; everything else as a new image.
        let block = s.secretBlock(in: flash)
        #expect(Array(block.prefix(64)) == secretRecordBytes(testSecret))
        #expect(block.dropFirst(64).allSatisfy { $0 == 0xFF })
        var expected = s.newImage
        expected.bytes.replaceSubrange(s.layout.deviceSecret.offset..<(s.layout.deviceSecret.offset + 64),
                                       with: secretRecordBytes(testSecret))
        #expect(flash == expected)
        // Core's decoder (what the hypervisor runs) finds exactly this secret.
        var record = InlineArray<64, UInt8>(repeating: 0)
        for i in 0..<64 { record[i] = block[i] }
        let (status, secret) = DeviceSecretRecord.decode(record)
        #expect(status == .valid && (0..<32).map { secret[$0] } == testSecret)
        #expect(try s.info().last == "device secret: provisioned (fingerprint \(fingerprint))")
        #expect(s.layout.deviceSecret == FlashRange(offset: 0x1F4_0000, size: 0x4_0000))
    }

    @Test func anExistingSecretNeedsForce() throws {
        let s = try FlashSetup()
        defer { s.ws.remove() }
        try s.provision(testSecret)
        let before = s.fileBytes
        var other = testSecret
        other[0] = 0xAA
        for secret in [other, testSecret, nil] {
            #expect(throws: ToolError("\(s.image): a device secret is already provisioned; --force replaces it, and every key "
                                      + "derived from it changes")) {
                try s.provision(secret)
            }
        }
        #expect(s.fileBytes == before)
        #expect(try s.provision(other, force: true) == """
            \(s.image): replacing the device secret with fingerprint \(coreFingerprint(testSecret)) (every key derived from it changes)
            \(s.image): device secret provisioned (fingerprint \(coreFingerprint(other)))
            """)
        #expect(Array(s.secretBlock(in: try s.load()).prefix(64)) == secretRecordBytes(other))
        #expect(try s.provision(other, force: true) == """
            \(s.image): the device secret is rewritten with the same secret (no key changes)
            \(s.image): device secret provisioned (fingerprint \(coreFingerprint(other)))
            """)
        #expect(try s.info().last == "device secret: provisioned (fingerprint \(coreFingerprint(other)))")
    }

    @Test func aRandomSecretIsFreshAndNeverPrinted() throws {
        let s = try FlashSetup()
        defer { s.ws.remove() }
        let first = try s.provision(nil)
        let block1 = Array(s.secretBlock(in: try s.load()).prefix(64))
        let secret1 = Array(block1[DeviceSecretRecord.secretOffset..<(DeviceSecretRecord.secretOffset + 32)])
        #expect(first.hasSuffix("device secret provisioned (fingerprint \(coreFingerprint(secret1)))"))
        #expect(block1 == secretRecordBytes(secret1))
        #expect(!first.contains(hexString(secret1)) && !first.contains(hexString(secret1.prefix(8))))
        let second = try s.provision(nil, force: true)
        let block2 = Array(s.secretBlock(in: try s.load()).prefix(64))
        let secret2 = Array(block2[DeviceSecretRecord.secretOffset..<(DeviceSecretRecord.secretOffset + 32)])
        #expect(secret2 != secret1)
        #expect(second.hasSuffix("device secret provisioned (fingerprint \(coreFingerprint(secret2)))"))
        let info = try s.info().joined(separator: "\n")
        #expect(!info.contains(hexString(secret2)) && !info.contains(hexString(secret2.prefix(8))))
        #expect(DeviceSecretFile.random() != DeviceSecretFile.random())
        #expect(DeviceSecretFile.random().count == 32)
    }

    @Test func flashNeverTouchesTheSecret() throws {
        let s = try FlashSetup()
        defer { s.ws.remove() }
        try s.flash(FlashRequest(write: .init(slot: .a, bundlePath: s.bundlePath), prefer: .set(.a)))
        try s.provision(testSecret)
        let block = s.secretBlock(in: try s.load())
        // Every action of `bulkhead flash`, --reset-state first, leaves the block as it was.
        let requests = [
            FlashRequest(resetState: true),
            FlashRequest(resetState: true, write: .init(slot: .b, bundlePath: s.bundlePath), prefer: .set(.b)),
            FlashRequest(eraseSlots: [.a, .b]),
            FlashRequest(prefer: .set(nil)),
        ]
        for request in requests {
            try s.flash(request)
            #expect(s.secretBlock(in: try s.load()) == block)
            #expect(try s.info().last == "device secret: provisioned (fingerprint \(coreFingerprint(testSecret)))")
        }
        #expect(try s.stateLines().last?.hasPrefix("state: minimum security version 0") == true)
        // A state region erased by hand is no different: the secret's block is its own.
        #expect(s.layout.deviceSecret.offset + s.layout.deviceSecret.size <= s.layout.stateA.offset)
        // And provisioning leaves the slots and the state alone.
        let before = try s.load()
        try s.provision((0..<32).map { UInt8(0xA0 + $0) }, force: true)
        var after = try s.load()
        after.bytes.replaceSubrange(s.layout.deviceSecret.offset..<(s.layout.deviceSecret.offset + s.layout.deviceSecret.size),
                                    with: s.secretBlock(in: before))
        #expect(after == before)
    }

    @Test func flashInfoNamesEveryRecordStatus() throws {
        let s = try FlashSetup()
        defer { s.ws.remove() }
        try s.flash(FlashRequest(resetState: true))
        #expect(try s.info().last == "device secret: not provisioned (the block is erased)")
        try s.provision(testSecret)
        let offset = s.layout.deviceSecret.offset
        func damaged(_ change: (inout FlashImage) -> Void) throws -> String? {
            var flash = try s.load()
            let good = flash
            change(&flash)
            try flash.save(path: s.image)
            defer { try? good.save(path: s.image) }
            return try s.info().last
        }
        #expect(try damaged { $0.bytes[offset] = 0 } == "device secret: not a device-secret record (bad magic)")
        #expect(try damaged { $0.bytes[offset + 8] = 2 } == "device secret: format version 2 is not supported")
        #expect(try damaged { $0.bytes[offset + 20] ^= 0x10 } == "device secret: checksum mismatch (a torn or damaged write)")
        #expect(try damaged { for i in 60..<64 { $0.bytes[offset + i] = 0xFF } }
                == "device secret: checksum mismatch (a torn or damaged write)")
        // A damaged record is not a secret to protect: provision overwrites it without --force, and says so.
        var flash = try s.load()
        flash.bytes[offset + 20] ^= 0x10
        try flash.save(path: s.image)
        #expect(try s.provision(testSecret) == """
            \(s.image): the device-secret block held checksum mismatch (a torn or damaged write): overwritten
            \(s.image): device secret provisioned (fingerprint \(coreFingerprint(testSecret)))
            """)
        #expect(Array(s.secretBlock(in: try s.load()).prefix(64)) == secretRecordBytes(testSecret))
    }

    @Test func secretFiles() throws {
        let ws = Workspace()
        defer { ws.remove() }
        func parse(_ text: String) throws(ToolError) -> [UInt8] { try DeviceSecretFile.parse(Array(text.utf8), file: "s") }
        #expect(try parse(testSecretHex) == testSecret)
        #expect(try parse("  \(testSecretHex.uppercased())\r\n\n") == testSecret)
        let format = "s: a device secret file holds the 32-byte secret as 64 hex digits"
        #expect(throws: ToolError("\(format); found 0 characters")) { try parse("\n") }
        #expect(throws: ToolError("\(format); found 63 characters")) { try parse(String(testSecretHex.dropLast())) }
        #expect(throws: ToolError("\(format); found 66 characters")) { try parse("0x" + testSecretHex) }
        #expect(throws: ToolError("\(format); found 65 characters")) { try parse(String(testSecretHex.prefix(32)) + " " + String(testSecretHex.dropFirst(32))) }
        #expect(throws: ToolError("\(format); character 5 is not a hex digit")) { try parse("0001g" + String(testSecretHex.dropFirst(5))) }
        #expect(throws: ToolError("\(format); character 64 is not a hex digit")) { try parse(String(testSecretHex.dropLast()) + "z") }
        #expect(throws: ToolError("s: the secret is all zero bytes: that is blank storage, not a secret")) {
            try parse(String(repeating: "0", count: 64))
        }
        #expect(throws: ToolError("s: the secret is all 0xFF bytes: that is blank storage, not a secret")) {
            try parse(String(repeating: "F", count: 64))
        }
        ws.write("good.secret", Array(testSecretHex.utf8))
        #expect(try DeviceSecretFile.load(path: ws.directory + "/good.secret") == testSecret)
        #expect(throws: ToolError.io("\(ws.directory)/none.secret: cannot read the device secret file: no such file")) {
            try DeviceSecretFile.load(path: ws.directory + "/none.secret")
        }
        // A refused provision writes nothing, not even a new image.
        #expect(throws: ToolError("\(ws.directory)/x.img: a device secret is 32 bytes, not 31")) {
            try Commands.provision(imagePath: ws.directory + "/x.img", secret: Array(testSecret.dropLast()), force: false)
        }
        #expect(!FileManager.default.fileExists(atPath: ws.directory + "/x.img"))
        #expect(throws: ToolError("unknown board \"pi\" (known boards: qemu-virt, spacemit-k3, eswin-eic7700x)")) {
            try Commands.provision(imagePath: ws.directory + "/x.img", secret: testSecret, force: false, board: "pi")
        }
    }
}
