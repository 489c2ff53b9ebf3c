// The `bulkhead` command line: argument parsing only; the work is in the BulkheadTool library.
import ArgumentParser
import BulkheadTool
import Foundation

struct BulkheadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bulkhead",
        abstract: "Build, sign and examine Bulkhead partition bundles.",
        discussion: """
            A bundle holds a signed manifest (the partition plan, a security version, each \
            image's digest and the signing key's id) and each partition's image \
            (docs/bundle-format.md). `keygen` makes an Ed25519 key pair, `pack` builds and signs \
            a bundle from a TOML configuration (docs/configuration.md), `check` only validates \
            the configuration, `inspect` lists a bundle, and `verify` checks its signature and \
            image digests against a public key. Every command that reads a plan checks it with \
            the same validation function the hypervisor runs at boot. Signing and hashing use \
            swift-crypto (Ed25519 per RFC 8032, SHA-512).

            On the board, bundles live in a flash bank with two slots (A and B) and a state \
            region holding the anti-rollback minimum and the slot choice (docs/flash-layout.md). \
            `flash` creates (--create) or updates such a flash image (for QEMU: -drive \
            if=pflash,unit=1,format=raw,file=IMAGE), `provision` writes the device secret the \
            key services derive every partition key from into its block, and `flash-info` lists \
            what an image holds.

            `attest verify` checks an attestation report a partition got from the hypervisor \
            against the device attestation key, and `attest device-key` computes that key from the \
            hypervisor ELF and the device secret (docs/keys.md).

            `board-info` prints what the hypervisor reads from a board's device tree.

            `bulkhead --version` prints the version of the tool. Exit codes: 0 success, 1 invalid \
            input (configuration, bundle, key, flash image, a failed check), 2 a file that cannot \
            be read or written, 64 a bad command line.
            """,
        subcommands: [Init.self, Keygen.self, Pack.self, PackUpdate.self, Check.self, Inspect.self, Verify.self, Flash.self, Provision.self,
                      FlashInfo.self, Attest.self, BoardInfo.self, Key.self])
}

/// The configuration keys, for the help of the commands that read a configuration.
let configurationSummary = """
    The configuration holds [[partition]] tables (at most 8; docs/configuration.md) with the keys \
    name (a-z 0-9 - _, at most 16 bytes), image (path relative to the configuration), harts \
    (array of physical hart ids), memory_base (host-physical, 2 MiB aligned), memory_size \
    (bytes or "16M"; a multiple of 2 MiB), and optionally entry (guest-physical; default: the \
    ELF entry or 0x80000000), on_fault ("stop" or "restart"), bootargs and keys (the key \
    services the partition may call, any of "derive", "seal", "attest", "keystore", "random", \
    "attest_system", \
    each at most once; default none). It may also hold \
    [[channel]] tables (at most 16) joining two partitions: name, kind ("queue" or "shared"), \
    endpoints (two partition names: endpoint 0 and endpoint 1), optionally direction ("both" or \
    "forward": endpoint 0 to 1 only) and doorbell (true or false); a queue needs depth (1-64 \
    messages waiting per direction) and message_size (1-4096 bytes); a shared channel needs size \
    (bytes or "4K"; a multiple of 4 KiB, at most 2 MiB) and optionally access (["rw", "ro"]: per \
    endpoint). Unknown keys, and keys of the other kind of channel, are errors. An optional [board] \
    table gives board, harts and ram_size, used where the command line gives no --board, --harts or \
    --ram-size. Every error found is reported, each as FILE:LINE of its key.
    """

/// A known board's name (`--board`): its values, listed in the help and offered by shell
/// completion, are Core's `KnownBoards` (BoardOptions.knownBoards), so a new board needs no change here.
struct BoardName: ExpressibleByArgument, CaseIterable, CustomStringConvertible {
    let name: String
    static var allCases: [BoardName] { BoardOptions.knownBoards.map(BoardName.init(name:)) }
    init(name: String) { self.name = name }
    init?(argument: String) {
        guard BoardOptions.knownBoards.contains(argument) else { return nil }
        name = argument
    }
    var description: String { name }
}

/// A bundle slot (`--slot`, `--erase-slot`); either case is accepted.
enum SlotName: String, ExpressibleByArgument, CaseIterable {
    case a, b
    init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

/// The slot to try first, or none (`--prefer`); either case is accepted.
enum PreferredSlot: String, ExpressibleByArgument, CaseIterable {
    case a, b, none
    init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

/// --board, --ram-size, --harts, --dtb: the machine the plan must fit. Each given wins over the
/// configuration's [board] table, which wins over the board's defaults.
struct BoardArguments: ParsableArguments {
    @Option(help: ArgumentHelp("The board the plan is for (only qemu-virt ships a device tree, the others need --dtb; "
                               + "default: the configuration's [board] board, else qemu-virt).", valueName: "board"))
    var board: BoardName?

    @Option(name: .customLong("ram-size"),
            help: ArgumentHelp("The board's RAM size, e.g. 1G or 512M (default: the configuration's [board] ram_size, "
                               + "else the board's, 1G for qemu-virt).", valueName: "size"))
    var ramSize: String?

    @Option(help: ArgumentHelp("The number of harts, ids 0 to N-1 (default: the configuration's [board] harts, else the "
                               + "board's, 4 for qemu-virt).", valueName: "n"))
    var harts: Int?

    @Option(help: ArgumentHelp("The board's device tree blob: partitions' devices must be nodes of it (default: the "
                               + "board's shipped tree; for qemu-virt, QEMU's own).", valueName: "file"))
    var dtb: String?

    var options: BoardOptions { BoardOptions(board: board?.name, ramSize: ramSize, harts: harts, dtb: dtb) }
}

/// Prints `error` (and the further errors it carries, one `error:` line each) to standard error
/// and fails with its exit code: 1 for invalid input, 2 for a file that cannot be read or written
/// (README.md, "Exit codes"; a bad command line is ArgumentParser's, 64).
func fail(_ error: ToolError) -> ExitCode {
    FileHandle.standardError.write(Data(error.all.map { "error: \($0.message)\n" }.joined().utf8))
    return ExitCode(error.exitCode)
}

/// `--json` on inspect, verify, flash-info, check and attest verify (docs/cli-json.md).
struct JSONFlag: ParsableArguments {
    @Flag(help: "Print the result as one JSON object on standard output (docs/cli-json.md); errors also go to standard error.")
    var json = false
}

/// Prints `run`'s JSON object on standard output; a failure also prints its errors on standard
/// error and exits with its code.
func emit<R>(_ run: (output: JSONOutput<R>, error: ToolError?)) throws {
    print(run.output.text, terminator: "")
    if let error = run.error { throw fail(error) }
}

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a commented starter configuration.",
        discussion: """
            Writes FILE (default bulkhead.toml): a [board] table for qemu-virt with 4 harts and 1 GiB \
            of RAM, one partition "hello" whose image is guest.bin next to the file, and commented \
            examples of the optional keys, a second partition and a channel. `bulkhead check FILE` \
            accepts it as written once guest.bin exists. An existing FILE is never overwritten.
            """)

    @Argument(help: ArgumentHelp("The configuration file to create.", valueName: "file"))
    var file = "bulkhead.toml"

    func run() throws {
        do {
            print(try Commands.initConfiguration(path: file))
        } catch {
            throw fail(error)
        }
    }
}

struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate an Ed25519 key pair for signing bundles.",
        discussion: """
            Writes NAME.key, the private key (the 32-byte RFC 8032 seed; file mode 0600), and \
            NAME.pub, the 32-byte public key. Each file is two text lines: \
            "BULKHEAD ED25519 PRIVATE KEY" or "BULKHEAD ED25519 PUBLIC KEY", then the key as 64 \
            hex digits. Missing directories are created; existing files are never overwritten, and \
            a path naming a directory (ending in / or an existing directory) is refused. \
            Prints the key id: the first 8 bytes of SHA-512 of the public key, in hex, as \
            bundles and the hypervisor's trust anchors name the key. With --format pem the files \
            are a PKCS#8 private key and an SPKI public key (RFC 8410), as OpenSSL writes them; \
            every command reads both forms.
            """)

    @Option(name: .shortAndLong,
            help: ArgumentHelp("The key pair's path without extension (writes NAME.key and NAME.pub).",
                               valueName: "dir/name"))
    var output: String

    @Option(help: "The files' format: text (Bulkhead's two-line files) or pem (PKCS#8 and SPKI).")
    var format: SigningKeys.FileFormat = .text

    func run() throws {
        do {
            print(try Commands.keygen(output: output, format: format))
        } catch {
            throw fail(error)
        }
    }
}

/// What `pack` and `pack-update` say about their -o, --key and --security-version options.
protocol SigningWording {
    static var outputHelp: String { get }
    static var outputValue: String { get }
    static var keyHelp: String { get }
    static var securityVersionHelp: String { get }
}

/// -o, --key and --security-version (also spelt --version), shared by `pack` and `pack-update`
/// with each command's own help text.
struct SigningArguments<Wording: SigningWording>: ParsableArguments {
    @Option(name: .shortAndLong, help: ArgumentHelp(Wording.outputHelp, valueName: Wording.outputValue))
    var output: String

    @Option(help: ArgumentHelp(Wording.keyHelp, valueName: "name.key"))
    var key: String

    // --security-version is the name; `--version N` keeps its old meaning (only a lone
    // `bulkhead --version` is the tool's version, handled before parsing).
    @Option(name: [.customLong("security-version"), .customLong("version")],
            help: ArgumentHelp(Wording.securityVersionHelp, valueName: "n"))
    var securityVersion: UInt64
}

enum BundleWording: SigningWording {
    static let outputHelp = "Where to write the bundle."
    static let outputValue = "bundle.bin"
    static let keyHelp = "The private key file that signs the manifest (from `bulkhead keygen`)."
    static let securityVersionHelp = "The bundle's security version, 0 to 2^64-1 (anti-rollback counter; --version is "
        + "an older name for it)."
}

enum UpdateWording: SigningWording {
    static let outputHelp = "Where to write the update."
    static let outputValue = "update.bin"
    static let keyHelp = "The private key file that signs the update (from `bulkhead keygen`)."
    static let securityVersionHelp = "The partition's security version, 0 to 2^64-1: the hypervisor accepts an update only "
        + "above the partition's current one (--version is the same option)."
}

struct Pack: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a configuration and write its signed bundle (manifest, signature, images).",
        discussion: """
            Image paths are relative to the configuration file. An image is a raw binary loaded at \
            guest-physical 0x80000000, or an ELF64 RISC-V executable whose PT_LOAD segments are \
            flattened into such a binary (gaps and .bss zero-filled). The manifest records each \
            image's digest (chunked SHA-512, docs/bundle-format.md), the security version and the key id, and is signed with the private \
            key (Ed25519, RFC 8032). The bundle is re-read with the hypervisor's parser and \
            verified before it is written, and is written only if the plan is valid for the board.

            The output must not be one of the command's inputs (the configuration, the key, the \
            --dtb file, any image or initrd; compared as real paths, so ./k.key, symlinks and .. \
            are caught). An existing output keeps its file mode and a symlink is followed: the \
            file it names is replaced (through a temporary file and a rename, so it is replaced \
            whole or not at all). A private key file that group or others can read gets a \
            warning on standard error.

            The security version is the anti-rollback counter: the hypervisor refuses a bundle \
            whose version is below the highest it has accepted, so raise it whenever a release \
            fixes a security problem. It is required: no bundle gets a default version by accident.

            \(configurationSummary)
            """)

    @Argument(help: ArgumentHelp("The TOML configuration.", valueName: "config.toml"))
    var config: String

    @OptionGroup var signing: SigningArguments<BundleWording>

    @OptionGroup var boardArguments: BoardArguments

    func run() throws {
        do {
            print(try Commands.pack(configPath: config, output: signing.output, keyPath: signing.key,
                                    securityVersion: signing.securityVersion, board: boardArguments.options))
        } catch {
            throw fail(error)
        }
    }
}

struct PackUpdate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pack-update",
        abstract: "Write a signed update of one partition's image (and initrd) from a configuration.",
        discussion: """
            Loads and validates the configuration exactly as `pack` does, then writes a partition \
            update (docs/bundle-format.md, "Partition updates"): partition NAME's image, initrd and \
            entry, its own security version, and the SHA-512 of its policy (its manifest record \
            without the image fields, its channels and devices) as the bundle packed from the same \
            configuration holds it. So an update applies only where that partition's harts, \
            memory, channels, devices and keys are unchanged: a policy change needs a full bundle. \
            The update is re-read and re-verified before it is written; -o follows `pack`'s rules \
            (never one of the inputs; an existing file is replaced whole). --image FILE packs FILE \
            as the new image instead of the one the configuration names (the policy digest leaves \
            the image out), so one configuration serves the bundle and its updates.
            """)

    @Argument(help: ArgumentHelp("The TOML configuration (the same as the installed bundle's).", valueName: "config.toml"))
    var config: String

    @Option(help: ArgumentHelp("The partition to update.", valueName: "name"))
    var partition: String

    @Option(help: ArgumentHelp("The new image (raw or ELF) instead of the one the configuration names for the "
                               + "partition; a path relative to the current directory.", valueName: "file"))
    var image: String?

    @OptionGroup var signing: SigningArguments<UpdateWording>

    @OptionGroup var boardArguments: BoardArguments

    func run() throws {
        do {
            print(try Commands.packUpdate(configPath: config, partition: partition, output: signing.output, keyPath: signing.key,
                                          securityVersion: signing.securityVersion, board: boardArguments.options,
                                          image: image))
        } catch {
            throw fail(error)
        }
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a configuration and its images without writing a bundle.",
        discussion: configurationSummary)

    @Argument(help: ArgumentHelp("The TOML configuration.", valueName: "config.toml"))
    var config: String

    @OptionGroup var boardArguments: BoardArguments
    @OptionGroup var output: JSONFlag

    func run() throws {
        if output.json {
            return try emit(JSONOutput.run("check") { () throws(ToolError) in
                try Commands.checkResult(configPath: config, board: boardArguments.options)
            })
        }
        do {
            print(try Commands.check(configPath: config, board: boardArguments.options))
        } catch {
            throw fail(error)
        }
    }
}

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List a bundle's manifest, partitions and channels and check its plan against a board.",
        discussion: """
            The bundle is parsed by the same reader the hypervisor uses. Shows the format version, \
            security version, signing key id, signature, per partition its harts, memory, \
            entry, image and the image's digest as recorded in the manifest, fault policy, boot \
            arguments and key services, and per channel its \
            kind, direction, endpoints (by partition name), depth and message size (queue) or size, \
            guest-physical window and access (shared memory), and doorbell. The signature and \
            digests are not checked here: use `bulkhead verify`. Exits non-zero when the bundle is \
            malformed or its plan is not valid for the board. A partition update (recognised by \
            its magic) is listed instead: partition, security version, key id, signature, entry, \
            image and initrd with their SHA-512, and the policy digest.
            """)

    @Argument(help: ArgumentHelp("The bundle file.", valueName: "bundle.bin"))
    var bundle: String

    @OptionGroup var boardArguments: BoardArguments
    @OptionGroup var output: JSONFlag

    func run() throws {
        if Commands.isPartitionUpdateFile(bundle) { return try runUpdate() }
        if output.json {
            return try emit(JSONOutput.run("inspect") { () throws(ToolError) in
                let inspection = try Commands.inspect(bundlePath: bundle, board: boardArguments.options)
                return (inspection.result, [], inspection.problem)
            })
        }
        let inspection: Commands.Inspection
        do {
            inspection = try Commands.inspect(bundlePath: bundle, board: boardArguments.options)
        } catch {
            throw fail(error)
        }
        print(inspection.report, terminator: "")
        if let problem = inspection.problem { throw fail(problem) }
    }

    /// A partition update (recognised by its magic): its fields; there is no plan to validate.
    func runUpdate() throws {
        if output.json {
            return try emit(JSONOutput.run("inspect") { () throws(ToolError) in
                (try Commands.inspectUpdate(path: bundle).result, [], nil)
            })
        }
        do {
            print(try Commands.inspectUpdate(path: bundle).report, terminator: "")
        } catch {
            throw fail(error)
        }
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a bundle's signature and image digests against a public key.",
        discussion: """
            Parses the bundle with the hypervisor's reader, then checks that the manifest names \
            the public key's id ("wrong key" otherwise), that the Ed25519 signature over the \
            manifest verifies ("bad signature"), and that every image's digest (chunked SHA-512) equals the one \
            in the manifest ("digest mismatch for partition ..."). Exits non-zero with the first \
            failure. It does not check the plan against a board (`inspect` does) or the security \
            version against a device's minimum (the hypervisor does).

            A partition update (from `bulkhead pack-update`, recognised by its magic) is checked \
            the same way: key id, the signature over its header, its image's and initrd's \
            SHA-512; with --bundle also that it names a partition of that bundle, carries that \
            partition's policy digest ("policy changed" otherwise) and that its image fits the \
            partition's memory.
            """)

    @Argument(help: ArgumentHelp("The bundle file.", valueName: "bundle.bin"))
    var bundle: String

    @Option(name: .customLong("public-key"),
            help: ArgumentHelp("The public key file (from `bulkhead keygen`).", valueName: "name.pub"))
    var publicKey: String

    @Option(name: .customLong("bundle"),
            help: ArgumentHelp("For a partition update: also check it against this bundle (the partition, its policy "
                               + "digest, and that the new image fits its memory).", valueName: "bundle.bin"))
    var againstBundle: String?

    @OptionGroup var output: JSONFlag

    func run() throws {
        if Commands.isPartitionUpdateFile(bundle) {
            if output.json {
                return try emit(JSONOutput.run("verify") { () throws(ToolError) in
                    (try Commands.verifyUpdate(path: bundle, publicKeyPath: publicKey, bundlePath: againstBundle), [], nil)
                })
            }
            do {
                return print(Commands.verifyUpdateSummary(
                    try Commands.verifyUpdate(path: bundle, publicKeyPath: publicKey, bundlePath: againstBundle)))
            } catch {
                throw fail(error)
            }
        }
        guard againstBundle == nil else {
            throw fail(ToolError("\(bundle): --bundle applies to a partition update only, and this is not one"))
        }
        if output.json {
            return try emit(JSONOutput.run("verify") { () throws(ToolError) in
                (try Commands.verifyResult(bundlePath: bundle, publicKeyPath: publicKey), [], nil)
            })
        }
        do {
            print(try Commands.verify(bundlePath: bundle, publicKeyPath: publicKey))
        } catch {
            throw fail(error)
        }
    }
}

/// What the flash commands say about the layout.
let flashLayoutSummary = """
    The image is the board's whole bundle flash. For qemu-virt it is QEMU's second pflash bank \
    (attach it with -drive if=pflash,unit=1,format=raw,file=IMAGE): \
    \(flashLayoutDescription(.qemuVirt)). A bundle starts at its slot's first byte and the rest \
    of the slot stays 0xFF. See docs/flash-layout.md.
    """

/// --board for the flash commands (only the board's flash layout matters to them).
struct FlashBoardArgument: ParsableArguments {
    @Option(name: .customLong("board"), help: ArgumentHelp("The board whose bundle flash the image is.", valueName: "board"))
    var boardName = BoardName(name: "qemu-virt")

    var board: String { boardName.name }
}

struct Flash: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create or update a bundle flash image: write or erase slots, set the preferred slot.",
        discussion: """
            With --create, an IMAGE that does not exist is created blank (every byte 0xFF: both slots empty, the \
            state region erased, i.e. the factory state with minimum security version 0), plus \
            the entry stub when the layout has one (QEMU virt enters S-mode at the flash's first \
            byte); a missing or wrong stub in an existing image is rewritten. An existing IMAGE \
            must have exactly the flash's size. Without --create a missing IMAGE is an error (a \
            mistyped path never becomes a new image). The image holds the device secret: a new \
            one is created with mode 0600, an existing one keeps its mode, and a symlink is \
            followed (the file it names is replaced whole, through a temporary file and a \
            rename). The BUNDLE must not be IMAGE itself. The options combine and are applied \
            in this order: --reset-state, --slot, --erase-slot, --prefer. The file is written \
            once, at the end, and not at all if anything fails. At least one option is required \
            (--create --reset-state alone creates a blank image).

            --slot a|b BUNDLE erases the whole slot and writes the bundle from its first byte. \
            The bundle must parse with the hypervisor's strict reader and fit in the slot. Its \
            signature is not checked here (`bulkhead verify` does; the hypervisor checks it at \
            boot). Writing a slot also resets its boot-attempt count in the state region, so that \
            failures of the bundle it replaces do not put the new one last in the boot order. \
            --prefer records the slot to try first in the state region, written by the \
            hypervisor's own state-region code (the next sequence number, into the copy that is \
            not the newest), so the record is exactly what the kernel writes.

            Examples:
              bulkhead flash flash.img --create --slot a bundle.bin
              bulkhead flash flash.img --slot a bundle.bin
              bulkhead flash flash.img --slot b new.bin --prefer b
              bulkhead flash flash.img --erase-slot b --prefer none

            \(flashLayoutSummary)
            """)

    @Argument(help: ArgumentHelp("The flash image file (created blank with --create if it does not exist).", valueName: "image"))
    var image: String

    @Argument(help: ArgumentHelp("The bundle file that --slot writes (after the image).", valueName: "bundle"))
    var bundle: String?

    @Flag(help: "Create IMAGE blank (mode 0600) if it does not exist; without it, a missing IMAGE is an error.")
    var create = false

    @Flag(name: .customLong("reset-state"),
          help: """
            Erase both state copies: the factory state (minimum security version 0, no boot \
            attempts, no preferred slot). For development and tests only: on a device this \
            would reopen rollback to any correctly signed bundle. The device secret is left alone.
            """)
    var resetState = false

    @Option(help: ArgumentHelp("Write BUNDLE into slot a or b: erase the whole slot, then write the bundle from its first byte.",
                               valueName: "a|b"))
    var slot: SlotName?

    @Flag(help: """
            With --slot: skip the check that BUNDLE parses as a bundle (its size is still checked). \
            For tests that need malformed or truncated bundles in flash.
            """)
    var unchecked = false

    @Option(name: .customLong("erase-slot"),
            help: ArgumentHelp("Erase slot a or b, so that it reads as empty (repeatable).", valueName: "a|b"))
    var eraseSlot: [SlotName] = []

    @Option(help: ArgumentHelp("Set the slot the hypervisor tries first (none: no preference, slot A first).",
                               valueName: "a|b|none"))
    var prefer: PreferredSlot?

    @OptionGroup var boardArgument: FlashBoardArgument

    func run() throws {
        do {
            let request = try FlashRequest(resetState: resetState, slot: slot?.rawValue, bundle: bundle, unchecked: unchecked,
                                           eraseSlots: eraseSlot.map(\.rawValue), prefer: prefer?.rawValue)
            print(try Commands.flash(imagePath: image, request: request, create: create, board: boardArgument.board))
        } catch {
            throw fail(error)
        }
    }
}

struct Provision: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the device secret into a bundle flash image (the root of every partition key).",
        discussion: """
            Writes a device-secret record (docs/flash-layout.md: magic, version, the 32-byte \
            secret, CRC-32C) into the flash's device-secret block. The hypervisor reads it at \
            boot and derives every key a partition gets from it (docs/keys.md); without it, no \
            key service works. On QEMU virt this flash block stands in for OTP or eFuse \
            hardware, which a real board would use instead. The hypervisor never maps it (nor \
            any other part of this flash) into a guest, so no partition can read the secret; \
            whoever can read the image file can.

            The secret is 32 bytes from the system's cryptographic random number generator, or \
            with --secret-file the 32 bytes written in FILE as 64 hex digits (for tests and \
            reproducible devices: keep such a file as secret as a signing key). The command \
            prints only the secret's fingerprint, the first 8 bytes of SHA-512("bulkhead device \
            secret fingerprint" followed by the secret) in hex, never the secret itself: the \
            same secret always gives the same fingerprint, and `flash-info` shows it.

            An existing valid secret is replaced only with --force: every key derived from it \
            (sealed data, keystore keys, attestation keys) changes, and data sealed under the old \
            one can no longer be unsealed. If IMAGE does not exist it is created as `bulkhead \
            flash --create` creates it (blank, with the entry stub, mode 0600); nothing else in an \
            existing image changes, and it keeps its mode. The secret file must not be IMAGE, and \
            one that group or others can read gets a warning on standard error. `bulkhead flash --reset-state` does not touch the device secret.

            Examples:
              bulkhead provision flash.img
              bulkhead provision flash.img --secret-file device.secret
              bulkhead provision flash.img --force

            \(flashLayoutSummary)
            """)

    @Argument(help: ArgumentHelp("The flash image file (created blank if it does not exist).", valueName: "image"))
    var image: String

    @Option(name: .customLong("secret-file"),
            help: ArgumentHelp("Take the secret from FILE (64 hex digits) instead of the random number generator.",
                               valueName: "file"))
    var secretFile: String?

    @Flag(help: "Replace a device secret that is already provisioned (every key derived from it changes).")
    var force = false

    @OptionGroup var boardArgument: FlashBoardArgument

    func run() throws {
        do {
            if let secretFile {
                try SafeFile.refuseOverwrite(output: image, option: "provision",
                                             inputs: [SafeFile.Input("the device secret file (--secret-file)", secretFile)])
            }
            let secret = try secretFile.map { (path) throws(ToolError) -> [UInt8] in try DeviceSecretFile.load(path: path) }
            print(try Commands.provision(imagePath: image, secret: secret, force: force, board: boardArgument.board))
        } catch {
            throw fail(error)
        }
    }
}

struct BoardInfo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "board-info",
        abstract: "Print what the hypervisor reads from a board's device tree, and whether it would boot there.",
        discussion: """
            Reads the device tree blob as the hypervisor does at boot (HostDescription): the \
            harts and how many have the H extension, the boot hart's ISA string, the timebase, \
            RAM (or the plain reason there is none: some trees leave /memory to the loader), the \
            memory the firmware reserves (/reserved-memory and the memory reservation block), \
            the initrd range from /chosen, and the console UART with its register stride and \
            access width (16550-compatible: ns16550a, ns16550, snps,dw-apb-uart, \
            spacemit,k1-uart, spacemit,k3-uart). The last line says whether Bulkhead would boot \
            there or refuses for lack of the H extension. Exit code 1 when the blob is not a \
            usable device tree.
            """)

    @Option(help: ArgumentHelp("The device tree blob.", valueName: "file"))
    var dtb: String

    func run() throws {
        do {
            print(try Commands.boardInfo(dtbPath: dtb))
        } catch {
            throw fail(error)
        }
    }
}

struct FlashInfo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flash-info",
        abstract: "List what a bundle flash image holds: both slots, both state copies, the state in force, the device secret.",
        discussion: """
            Prints one line for the image, one per slot ("empty" when its first 64 bytes are \
            0xFF; otherwise the bundle's partitions, length, security version and key id as the \
            hypervisor's reader parses them, or why it is not a valid bundle), one per state copy \
            (valid with its sequence number, erased, or why it is not valid, e.g. a checksum \
            mismatch after a torn write), and the state the hypervisor would use: the newest valid \
            copy's, or the factory state when neither copy is valid. Then the device secret: \
            "provisioned (fingerprint ...)" (see `bulkhead provision`; the secret itself is never \
            shown), "not provisioned (the block is erased)", or why the record is not valid. \
            Signatures are not checked: use `bulkhead verify` on the bundle file.

            \(flashLayoutSummary)
            """)

    @Argument(help: ArgumentHelp("The flash image file.", valueName: "image"))
    var image: String

    @OptionGroup var boardArgument: FlashBoardArgument
    @OptionGroup var output: JSONFlag

    func run() throws {
        if output.json {
            return try emit(JSONOutput.run("flash-info") { () throws(ToolError) in
                (try Commands.flashInfoResult(imagePath: image, board: boardArgument.board), [], nil)
            })
        }
        do {
            print(try Commands.flashInfo(imagePath: image, board: boardArgument.board))
        } catch {
            throw fail(error)
        }
    }
}

struct Key: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work with signing key files.",
        subcommands: [KeyPublic.self, KeyTrustAnchors.self])
}

struct KeyPublic: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "public",
        abstract: "Print the public key file of a private signing key (NAME.key).",
        discussion: """
            Prints the two-line public key file ("BULKHEAD ED25519 PUBLIC KEY", then 64 hex digits) \
            of the private key, for example to recreate a lost NAME.pub: `bulkhead key public \
            k.key > k.pub`, or `-o k.pub`, which writes a new file and never overwrites one.
            """)

    @Argument(help: ArgumentHelp("The private key file.", valueName: "private-key"))
    var privateKey: String

    @Option(name: .shortAndLong, help: ArgumentHelp("Also write the public key to this new file.", valueName: "file"))
    var output: String?

    func run() throws {
        do {
            print(try SigningKeys.publicKeyText(ofPrivate: privateKey, output: output), terminator: "")
        } catch {
            throw fail(error)
        }
    }
}

struct KeyTrustAnchors: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trust-anchors",
        abstract: "Write the hypervisor's built-in trust anchors (Swift source) from public key files.",
        discussion: """
            What `make kernel` runs with TRUST_KEYS and REVOKED_KEYS: writes OUT.swift defining \
            builtInTrustAnchors() with the keys that may sign bundles (--trust, at most 8) and the \
            keys whose ids are refused (--revoke, at most 16). Each file is read like \
            `verify --public-key` reads one (a `keygen` .pub file or an SPKI PEM Ed25519 key); a \
            private key or a device attestation key is refused. An OUT.swift that already holds \
            exactly this text is left untouched, so the kernel is not rebuilt.
            """)

    @Argument(help: ArgumentHelp("The Swift file to write.", valueName: "out.swift"))
    var output: String

    @Option(parsing: .upToNextOption, help: ArgumentHelp("The public keys to trust.", valueName: "name.pub"))
    var trust: [String] = []

    @Option(parsing: .upToNextOption, help: ArgumentHelp("The public keys to refuse.", valueName: "name.pub"))
    var revoke: [String] = []

    func run() throws {
        do {
            try TrustAnchorsFile.write(to: output, trust: trust, revoke: revoke)
        } catch {
            throw fail(error)
        }
    }
}

struct Attest: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify attestation reports and compute the device attestation key.",
        discussion: """
            A partition allowed the `attest` key service gets a 320-byte report from the \
            hypervisor: the bundle's security version, the hypervisor's identity, the partition's \
            name, measurement and policy digest, and the caller's nonce, signed (Ed25519) with the \
            device attestation key (docs/keys.md). The hypervisor prints that key at boot \
            ("device attestation key: ..."); `device-key` computes it from the hypervisor ELF and \
            the device secret, and `verify` checks a report against it.
            """,
        subcommands: [AttestVerify.self, AttestDeviceKey.self])
}

struct AttestVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check an attestation report's signature with the device attestation key and show its fields.",
        discussion: """
            The report must be exactly 320 bytes with magic "BHAR", version 1 and length 320. The \
            Ed25519 signature (RFC 8032) over its first 256 bytes must verify with the device key; \
            then the partition name is checked and, with --nonce, that the report carries that \
            nonce (so it answers this request and is no replay). Prints the version, security \
            version, hypervisor identity, partition name, measurement, policy digest, nonce and \
            "signature: valid (device key ...)". Exits non-zero with the first failure. \
            Whether the identity and measurement are the expected ones is the verifier's policy: \
            compare them with known-good values.

            Examples:
              bulkhead attest verify --device-key device.pub report.bin
              bulkhead attest verify --device-key 3b6a27bc... --nonce 00112233... report.bin
              grep 'vault: report ' console.log | bulkhead attest verify --device-key device.pub -

            With --system, REPORT is a system report (attest_system, docs/keys.md): the bundle's \
            manifest digest and security version, every partition's image digest, security version, \
            measurement and policy digest, and every channel, over the nonce, signed by the same \
            device key. It is parsed strictly, its signature checked, and shown partition by \
            partition; with --bundle, the revision, policies, measurements and channels are \
            recomputed from that bundle and the first partition or channel that differs is named.
              bulkhead attest verify --system --device-key device.pub --nonce 0310... --bundle b.bin system.bin
              grep 'vault: system ' console.log | bulkhead attest verify --system --device-key device.pub -
            """)

    @Argument(help: ArgumentHelp("""
                The report file (320 bytes; with --system, a system report), or - to read the report as hex \
                from standard input: the vault's "vault: report OFFSET HEX" lines ("vault: system OFFSET HEX" \
                with --system; a console log may be piped whole) or plain hex digits.
                """, valueName: "report"))
    var report: String

    @Option(name: .customLong("device-key"),
            help: ArgumentHelp("""
                The device attestation public key: 64 hex digits, or a file holding them (one line, \
                or the "BULKHEAD DEVICE ATTESTATION PUBLIC KEY" format that `attest device-key -o` writes; \
                a bundle-signing "BULKHEAD ED25519 PUBLIC KEY" file is refused).
                """, valueName: "key"))
    var deviceKey: String?

    @Option(name: .customLong("monitor-key"),
            help: ArgumentHelp("""
                Instead of --device-key: the secure monitor's device key (`attest device-key --monitor`);                 with --certificate, checks the chain monitor → hypervisor → report.
                """, valueName: "key"))
    var monitorKey: String?

    @Option(help: ArgumentHelp("The monitor's certificate (192 bytes, or the hex the hypervisor prints).", valueName: "file"))
    var certificate: String?

    @Option(help: ArgumentHelp("The nonce the report must carry (32 bytes as 64 hex digits).", valueName: "hex"))
    var nonce: String?

    @Option(help: ArgumentHelp("""
                A bundle: check that the report's policy digest is that of its partition of the same name, \
                and show what the policy holds (key services, DMA trust, devices). With --system: that \
                the whole report describes this bundle.
                """, valueName: "bundle"))
    var bundle: String?

    @Flag(help: "REPORT is a system report (attest_system): the whole device, every partition and channel.")
    var system = false

    @OptionGroup var output: JSONFlag

    func validate() throws {
        if (deviceKey == nil) == (monitorKey == nil) || (monitorKey == nil) != (certificate == nil) {
            throw ValidationError("give --device-key KEY, or --monitor-key KEY with --certificate CERT")
        }
        if output.json && monitorKey != nil { throw ValidationError("--json is not offered with --monitor-key yet") }
    }

    func run() throws {
        if system { return try runSystem() }
        if output.json {
            return try emit(JSONOutput.run("attest verify") { () throws(ToolError) in
                (try Commands.attestVerifyResult(reportPath: report, deviceKey: deviceKey ?? "", nonce: nonce, bundlePath: bundle), [], nil)
            })
        }
        do {
            if let monitorKey, let certificate {
                print(try Commands.attestVerifyChain(reportPath: report, monitorKey: monitorKey, certificatePath: certificate,
                                                     nonce: nonce, bundlePath: bundle))
                return
            }
            print(try Commands.attestVerify(reportPath: report, deviceKey: deviceKey ?? "", nonce: nonce, bundlePath: bundle))
        } catch {
            throw fail(error)
        }
    }

    /// `--system`: a system report.
    func runSystem() throws {
        if output.json {
            return try emit(JSONOutput.run("attest verify --system") { () throws(ToolError) in
                (try Commands.attestVerifySystemResult(reportPath: report, deviceKey: deviceKey ?? "", nonce: nonce, bundlePath: bundle), [], nil)
            })
        }
        do {
            if let monitorKey, let certificate {
                print(try Commands.attestVerifySystemChain(reportPath: report, monitorKey: monitorKey, certificatePath: certificate,
                                                           nonce: nonce, bundlePath: bundle))
                return
            }
            print(try Commands.attestVerifySystem(reportPath: report, deviceKey: deviceKey ?? "", nonce: nonce, bundlePath: bundle))
        } catch {
            throw fail(error)
        }
    }
}

struct AttestDeviceKey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device-key",
        abstract: "Compute the device attestation public key from the hypervisor (ELF or measured image) and the device secret.",
        discussion: """
            The hypervisor identity is the SHA-512 of the hypervisor's bytes from __kernel_start \
            to __rodata_end (both from the ELF's symbol table) as its PT_LOAD segments load them, \
            zeros where no segment's file bytes lie. Under the secure monitor (docs/monitor.md) the \
            identity is the monitor's measurement instead: give --monitor-image with the image it \
            measured (build/bulkhead.bin, or the signed build/monitor/bulkhead.signed, whose \
            4096-byte header is skipped). The device secret comes from a flash image's \
            device-secret block (--flash) or a 64-hex-digit file (--secret-file, as `bulkhead \
            provision` reads). The key is derived with the hypervisor's own key-chain code: \
            seed = HKDF-Expand(hypervisor CDI, "Bulkhead attestation key v1"), the CDI = \
            HKDF(salt "Bulkhead hypervisor CDI v1", secret, identity). Prints the identity's \
            first 8 bytes, the secret's fingerprint and "device attestation key: <64 hex \
            digits>", the line the hypervisor prints at boot; never the secret or the seed. \
            With -o, writes the key as a device attestation key file (first line "BULKHEAD DEVICE \
            ATTESTATION PUBLIC KEY", then 64 hex digits: never taken for a bundle-signing key by \
            `verify` or the trust anchors), replacing only an existing device key file (never a \
            bundle-signing public key, \
            never one of the command's inputs; an existing file keeps its mode and a symlink is followed).

            Examples:
              bulkhead attest device-key --kernel build/bulkhead.elf --flash build/flash.img -o device.pub
              bulkhead attest device-key --kernel build/bulkhead.elf --secret-file device.secret
              bulkhead attest device-key --monitor-image build/bulkhead.bin --flash build/flash.img
              bulkhead attest device-key --monitor --flash build/flash.img -o monitor.pub

            With --monitor instead of an identity, prints the secure monitor's own device key \
            ("monitor device key: <64 hex digits>"): seed = HKDF(salt "Bulkhead monitor device \
            key v1", secret), which signs the monitor's certificates (docs/monitor.md).
            """)

    @Option(help: ArgumentHelp("The hypervisor ELF (with its symbol table), for a hypervisor under a plain firmware.",
                               valueName: "bulkhead.elf"))
    var kernel: String?

    @Option(name: .customLong("monitor-image"),
            help: ArgumentHelp("The image the secure monitor measured, for a hypervisor started by the monitor.",
                               valueName: "image"))
    var monitorImage: String?

    @Flag(help: "The secure monitor's own device key (from the secret alone), not the hypervisor's.")
    var monitor = false

    @Option(help: ArgumentHelp("Read the device secret from this flash image's device-secret block.", valueName: "image"))
    var flash: String?

    @Option(name: .customLong("secret-file"),
            help: ArgumentHelp("Read the device secret from FILE (64 hex digits).", valueName: "file"))
    var secretFile: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the public key to this file.", valueName: "name.pub"))
    var output: String?

    @OptionGroup var boardArgument: FlashBoardArgument

    func validate() throws {
        if [kernel != nil, monitorImage != nil, monitor].filter({ $0 }).count != 1 {
            throw ValidationError("give exactly one of --kernel ELF (plain firmware), --monitor-image IMAGE (secure "
                                  + "monitor): what the hypervisor's identity is, and --monitor (the monitor's own key)")
        }
        if (flash == nil) == (secretFile == nil) {
            throw ValidationError("give exactly one of --flash IMAGE and --secret-file FILE: where the device secret is")
        }
    }

    func run() throws {
        do {
            let source: Commands.SecretSource = flash.map { .flash($0) } ?? .file(secretFile ?? "")
            let identity: Commands.IdentitySource = monitor ? .monitorDevice
                : kernel.map { .kernel($0) } ?? .monitorImage(monitorImage ?? "")
            print(try Commands.attestDeviceKey(identity: identity, secret: source, output: output, board: boardArgument.board))
        } catch {
            throw fail(error)
        }
    }
}

// `bulkhead --version`, handled here rather than by CommandConfiguration's `version:` or a root
// flag: ArgumentParser would then take any `--version` on the line for itself, also
// `pack --version N` (the bundle's security version).
if CommandLine.arguments.dropFirst() == ["--version"] {
    print(bulkheadToolVersion)
    exit(0)
}
BulkheadCommand.main()

extension SigningKeys.FileFormat: ExpressibleByArgument {}
