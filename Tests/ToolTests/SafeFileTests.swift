// The CLI never destroys or exposes a file: outputs that are inputs are refused, writes follow
// symlinks and keep modes, flash images are 0600, exposed private keys are warned about,
// `keygen -o dir/` and `flash` on a missing image without --create are refused.

import BulkheadCore
import Foundation
import Testing
@testable import BulkheadTool
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The permission bits of `path` (following symlinks).
func fileMode(_ path: String) -> mode_t? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return info.st_mode & 0o7777
}

/// Whether `path` itself is a symbolic link.
func isSymlink(_ path: String) -> Bool {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) != nil
}

func contents(_ path: String) -> [UInt8]? { FileManager.default.contents(atPath: path).map { [UInt8]($0) } }

@Suite("CLI: files are never destroyed or exposed")
struct SafeFileTests {
    /// pack's -o naming the key, the configuration or an image (also as ./, .., a symlink, a
    /// hard link) is refused and the file is left as it was.
    @Test func packRefusesAnOutputThatIsAnInput() throws {
        let s = try SignedSetup()
        defer { s.ws.remove() }
        let d = s.ws.directory
        let keyBefore = contents(s.key.privatePath)
        // (Absolute paths: tests run in parallel, so none changes the working directory.)
        try FileManager.default.createSymbolicLink(atPath: d + "/link.key", withDestinationPath: "keys/vendor.key")
        #expect(link(d + "/one.bin", d + "/hard.bin") == 0)
        let key = "the private key (--key) (\(d)/keys/vendor.key)"
        let cases: [(String, String)] = [
            (d + "/keys/vendor.key", key),
            (d + "/./keys/vendor.key", key),
            (d + "/keys/../keys//vendor.key", key),
            (d + "/link.key", key),
            (d + "/plan.toml", "the configuration (\(d)/plan.toml)"),
            (d + "/one.bin", "partition #0 \"one\"'s image (\(d)/one.bin)"),
            (d + "/hard.bin", "partition #0 \"one\"'s image (\(d)/one.bin)"),
            (d + "/two.bin", "partition #1 \"two\"'s image (\(d)/two.bin)"),
        ]
        for (output, what) in cases {
            #expect(throws: ToolError("-o \(output): this is \(what), an input of the command; writing there would destroy "
                                      + "it: choose another output path")) {
                try Commands.pack(configPath: s.config, output: output, keyPath: s.key.privatePath, securityVersion: 1,
                                  board: BoardOptions())
            }
        }
        #expect(contents(s.key.privatePath) == keyBefore)
        #expect(fileMode(s.key.privatePath) == 0o600)
        #expect(contents(d + "/one.bin") == s.images[0])
        #expect(isSymlink(d + "/link.key"))
    }

    @Test func packRefusesAnInitrdOrDeviceTreeAsOutput() throws {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("small.bin", [1, 2, 3, 4])
        ws.write("rd.img", [5, 6, 7, 8])
        let config = ws.config(partition("one", extra: "initrd = \"rd.img\""))
        let key = try SigningKeys.generate(base: ws.directory + "/k")
        let inputs = Commands.packInputs(configPath: config, keyPath: key.privatePath, dtb: ws.directory + "/board.dtb",
                                         config: try Config.parse(String(contentsOfFile: config, encoding: .utf8), file: config))
        #expect(inputs.map(\.what) == ["the configuration", "the private key (--key)", "the device tree (--dtb)",
                                       "partition #0 \"one\"'s image", "partition #0 \"one\"'s initrd"])
        #expect(inputs.last?.path == ws.directory + "/rd.img")
        #expect(throws: ToolError("-o \(ws.directory)/rd.img: this is partition #0 \"one\"'s initrd (\(ws.directory)/rd.img), "
                                  + "an input of the command; writing there would destroy it: choose another output path")) {
            try SafeFile.refuseOverwrite(output: ws.directory + "/rd.img", option: "-o", inputs: inputs)
        }
        // A new path, or another existing file, is no input.
        try SafeFile.refuseOverwrite(output: ws.directory + "/new.bin", option: "-o", inputs: inputs)
        try SafeFile.refuseOverwrite(output: ws.directory + "/k.pub", option: "-o", inputs: inputs)
    }

    /// A new bundle is 0644; an existing one keeps its mode; a symlink stays a symlink and the
    /// file it names gets the bundle.
    @Test func packKeepsModesAndFollowsSymlinks() throws {
        let s = try SignedSetup()
        defer { s.ws.remove() }
        let d = s.ws.directory
        let umaskBefore = umask(0o077)   // the new file's mode does not depend on the umask
        defer { umask(umaskBefore) }
        func pack(_ output: String) throws {
            _ = try Commands.pack(configPath: s.config, output: output, keyPath: s.key.privatePath, securityVersion: 5,
                                  board: BoardOptions())
        }
        try pack(d + "/new.bin")
        #expect(fileMode(d + "/new.bin") == 0o644)
        #expect(contents(d + "/new.bin") == s.bytes)

        s.ws.write("old.bin", [1, 2, 3])
        #expect(chmod(d + "/old.bin", 0o640) == 0)
        try pack(d + "/old.bin")
        #expect(fileMode(d + "/old.bin") == 0o640)
        #expect(contents(d + "/old.bin") == s.bytes)

        try FileManager.default.createDirectory(atPath: d + "/real", withIntermediateDirectories: true)
        s.ws.write("real/target.bin", [9])
        #expect(chmod(d + "/real/target.bin", 0o600) == 0)
        try FileManager.default.createSymbolicLink(atPath: d + "/via.bin", withDestinationPath: "real/target.bin")
        try pack(d + "/via.bin")
        #expect(isSymlink(d + "/via.bin"))
        #expect(contents(d + "/real/target.bin") == s.bytes)
        #expect(fileMode(d + "/real/target.bin") == 0o600)
        // No temporary file is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: d + "/real") == ["target.bin"])

        // A dangling symlink: the file it names is created.
        try FileManager.default.createSymbolicLink(atPath: d + "/dangling.bin", withDestinationPath: "real/made.bin")
        try pack(d + "/dangling.bin")
        #expect(isSymlink(d + "/dangling.bin"))
        #expect(contents(d + "/real/made.bin") == s.bytes)

        // A directory is no output.
        #expect(throws: ToolError.io("\(d)/real: cannot write the bundle: is a directory")) { try pack(d + "/real") }
    }

    @Test func flashImagesAre0600AndSymlinksAreFollowed() throws {
        let s = try FlashSetup()
        defer { s.ws.remove() }
        let d = s.ws.directory
        try s.flash(FlashRequest(resetState: true))
        #expect(fileMode(s.image) == 0o600)
        try s.flash(FlashRequest(write: .init(slot: .a, bundlePath: s.bundlePath)))
        #expect(fileMode(s.image) == 0o600)
        _ = try Commands.provision(imagePath: s.image, secret: [UInt8](repeating: 7, count: 32), force: false)
        #expect(fileMode(s.image) == 0o600)

        // Provision creates 0600 images too.
        _ = try Commands.provision(imagePath: d + "/p.img", secret: [UInt8](repeating: 7, count: 32), force: false)
        #expect(fileMode(d + "/p.img") == 0o600)

        // Through a symlink: the real image changes, the link stays.
        try FileManager.default.createSymbolicLink(atPath: d + "/link.img", withDestinationPath: "flash.img")
        let before = contents(s.image)
        _ = try Commands.flash(imagePath: d + "/link.img", request: FlashRequest(eraseSlots: [.a]))
        #expect(isSymlink(d + "/link.img"))
        #expect(contents(s.image) != before)
        #expect(try s.info().contains("slot A: empty"))
        #expect(fileMode(s.image) == 0o600)
    }

    @Test func flashNeedsCreateForAMissingImage() throws {
        let s = try FlashSetup()
        defer { s.ws.remove() }
        #expect(throws: ToolError("\(s.image): no such flash image; pass --create to create a new blank one")) {
            try Commands.flash(imagePath: s.image, request: FlashRequest(resetState: true))
        }
        #expect(throws: ToolError("\(s.image): no such flash image; pass --create to create a new blank one")) {
            try Commands.flash(imagePath: s.image, request: FlashRequest(write: .init(slot: .a, bundlePath: s.bundlePath)))
        }
        #expect(s.fileBytes == nil)
        let link = s.ws.directory + "/typo.img"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "flash.img")
        #expect(throws: ToolError("\(link): no such flash image (a symbolic link to a file that does not exist); pass "
                                  + "--create to create a new blank one")) {
            try Commands.flash(imagePath: link, request: FlashRequest(resetState: true))
        }
        // --create on an existing image just updates it.
        try s.flash(FlashRequest(resetState: true))
        #expect(try !Commands.flash(imagePath: s.image, request: FlashRequest(resetState: true), create: true)
                .contains("new image"))
    }

    @Test func flashRefusesTheImageAsItsOwnBundle() throws {
        let s = try FlashSetup()
        defer { s.ws.remove() }
        try s.flash(FlashRequest(resetState: true))
        let before = contents(s.image)
        let other = s.ws.directory + "/sub/../flash.img"
        try FileManager.default.createDirectory(atPath: s.ws.directory + "/sub", withIntermediateDirectories: true)
        #expect(throws: ToolError("flash \(s.image): this is the bundle --slot writes (\(other)), an input of the command; "
                                  + "writing there would destroy it: choose another output path")) {
            try s.flash(FlashRequest(write: .init(slot: .a, bundlePath: other, unchecked: true)))
        }
        #expect(contents(s.image) == before)
    }

    @Test func provisionRefusesTheImageAsItsSecretFile() throws {
        let ws = Workspace()
        defer { ws.remove() }
        ws.write("x.img", Array((String(repeating: "ab", count: 32) + "\n").utf8))
        #expect(throws: ToolError("provision \(ws.directory)/x.img: this is the device secret file (--secret-file) "
                                  + "(\(ws.directory)/x.img), an input of the command; writing there would destroy it: "
                                  + "choose another output path")) {
            try SafeFile.refuseOverwrite(output: ws.directory + "/x.img", option: "provision",
                                         inputs: [SafeFile.Input("the device secret file (--secret-file)", ws.directory + "/x.img")])
        }
    }

    @Test func attestDeviceKeyRefusesItsInputsAndKeepsModes() throws {
        let ws = Workspace()
        defer { ws.remove() }
        let d = ws.directory
        ws.write("k.elf", AttestationTests.kernelELF())
        ws.write("s.secret", Array((String(repeating: "ab", count: 32) + "\n").utf8))
        #expect(chmod(d + "/s.secret", 0o600) == 0)
        for (output, what) in [("k.elf", "the hypervisor ELF (--kernel)"), ("s.secret", "the device secret file (--secret-file)")] {
            let before = contents(d + "/" + output)
            #expect(throws: ToolError("-o \(d)/./\(output): this is \(what) (\(d)/\(output)), an input of the command; "
                                      + "writing there would destroy it: choose another output path")) {
                try Commands.attestDeviceKey(identity: .kernel(d + "/k.elf"), secret: .file(d + "/s.secret"), output: d + "/./" + output)
            }
            #expect(contents(d + "/" + output) == before)
        }
        #expect(fileMode(d + "/s.secret") == 0o600)
        // A new key file is 0644; a replaced one keeps its mode; a symlink is followed.
        _ = try Commands.attestDeviceKey(identity: .kernel(d + "/k.elf"), secret: .file(d + "/s.secret"), output: d + "/device.pub")
        #expect(fileMode(d + "/device.pub") == 0o644)
        #expect(chmod(d + "/device.pub", 0o444) == 0)
        try FileManager.default.createSymbolicLink(atPath: d + "/link.pub", withDestinationPath: "device.pub")
        _ = try Commands.attestDeviceKey(identity: .kernel(d + "/k.elf"), secret: .file(d + "/s.secret"), output: d + "/link.pub")
        #expect(isSymlink(d + "/link.pub"))
        #expect(fileMode(d + "/device.pub") == 0o444)
    }

    @Test func exposedPrivateKeysGetAWarning() throws {
        let ws = Workspace()
        defer { ws.remove() }
        let key = try SigningKeys.generate(base: ws.directory + "/k")
        #expect(SafeFile.groupOrOtherAccessWarning(key.privatePath, what: "private key") == nil)
        #expect(chmod(key.privatePath, 0o644) == 0)
        #expect(SafeFile.groupOrOtherAccessWarning(key.privatePath, what: "private key")
                == "warning: \(key.privatePath): the private key file has mode 0644: group or others can access it; "
                + "only its owner should (chmod 600 \(key.privatePath))")
        #expect(chmod(key.privatePath, 0o640) == 0)
        #expect(SafeFile.groupOrOtherAccessWarning(key.privatePath, what: "private key")?
                .hasPrefix("warning: \(key.privatePath): the private key file has mode 0640:") == true)
        // Still usable: a warning on standard error, not an error.
        _ = try SigningKeys.loadPrivate(key.privatePath)
    }

    /// `bulkhead key trust-anchors` (what `make kernel TRUST_KEYS=` runs) takes a `keygen` public
    /// key and refuses the file `attest device-key -o` writes.
    @Test func trustAnchorsRefuseADeviceKey() throws {
        let ws = Workspace()
        defer { ws.remove() }
        let key = try SigningKeys.generate(base: ws.directory + "/vendor")
        _ = try TrustAnchorsFile.text(trust: [key.publicPath], revoke: [])
        let device = ws.directory + "/device.pub"
        try Commands.writePublicKey(try SigningKeys.loadPublic(key.publicPath), to: device)
        #expect(throws: ToolError("\(device): this is a device attestation key (from `bulkhead attest device-key`), not a "
                                  + "bundle-signing key: \(TrustAnchorsFile.hint)")) {
            try TrustAnchorsFile.text(trust: [key.publicPath], revoke: [device])
        }
    }

    @Test func keygenRefusesADirectory() throws {
        let ws = Workspace()
        defer { ws.remove() }
        let d = ws.directory
        try FileManager.default.createDirectory(atPath: d + "/keys", withIntermediateDirectories: true)
        for output in [d + "/keys/", d + "/keys", d + "/new/"] {
            let shown = output.hasSuffix("/") ? output : output + "/"
            #expect(throws: ToolError("-o \(output): this names a directory; give the key pair's path without extension, "
                                      + "such as \(shown)dev (writes dev.key and dev.pub there)")) {
                try Commands.keygen(output: output)
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: d + "/keys").isEmpty)
        #expect(!FileManager.default.fileExists(atPath: d + "/new"))
        _ = try Commands.keygen(output: d + "/keys/dev")
        // A one-letter name in the working directory (this trapped in Foundation's path code).
        #expect(throws: ToolError("-o: \"\" names no file: give a path such as keys/dev (writes keys/dev.key and keys/dev.pub)")) {
            try Commands.keygen(output: ".key")
        }
        #expect(fileMode(d + "/keys/dev.key") == 0o600)
        #expect(fileMode(d + "/keys/dev.pub") == 0o644)
    }
}
