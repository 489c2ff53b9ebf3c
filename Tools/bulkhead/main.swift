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
            image's SHA-512 and the signing key's id) and each partition's image \
            (docs/bundle-format.md). `keygen` makes an Ed25519 key pair, `pack` builds and signs \
            a bundle from a TOML configuration (docs/configuration.md), `check` only validates \
            the configuration, `inspect` lists a bundle, and `verify` checks its signature and \
            image digests against a public key. Every command that reads a plan checks it with \
            the same validation function the hypervisor runs at boot. Signing and hashing use \
            swift-crypto (Ed25519 per RFC 8032, SHA-512).
            """,
        subcommands: [Keygen.self, Pack.self, Check.self, Inspect.self, Verify.self])
}

/// The configuration keys, for the help of the commands that read a configuration.
let configurationSummary = """
    The configuration holds [[partition]] tables (at most 8; docs/configuration.md) with the keys \
    name (a-z 0-9 - _, at most 16 bytes), image (path relative to the configuration), harts \
    (array of physical hart ids), memory_base (host-physical, 2 MiB aligned), memory_size \
    (bytes or "16M"; a multiple of 2 MiB), and optionally entry (guest-physical; default: the \
    ELF entry or 0x80000000), on_fault ("stop" or "restart") and bootargs. Unknown keys are errors.
    """

/// --board, --ram-size, --harts: the machine the plan must fit.
struct BoardArguments: ParsableArguments {
    @Option(help: "The board the plan is for (known: qemu-virt).")
    var board = "qemu-virt"

    @Option(name: .customLong("ram-size"),
            help: ArgumentHelp("The board's RAM size, e.g. 1G or 512M (default: the board's, 1G for qemu-virt).",
                               valueName: "size"))
    var ramSize: String?

    @Option(help: ArgumentHelp("The number of harts, ids 0 to N-1 (default: the board's, 4 for qemu-virt).",
                               valueName: "n"))
    var harts: Int?

    var options: BoardOptions { BoardOptions(board: board, ramSize: ramSize, harts: harts) }
}

/// Prints `error` to standard error and fails with exit code 1.
func fail(_ error: ToolError) -> ExitCode {
    FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
    return ExitCode.failure
}

struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate an Ed25519 key pair for signing bundles.",
        discussion: """
            Writes NAME.key, the private key (the 32-byte RFC 8032 seed; file mode 0600), and \
            NAME.pub, the 32-byte public key. Each file is two text lines: \
            "BULKHEAD ED25519 PRIVATE KEY" or "BULKHEAD ED25519 PUBLIC KEY", then the key as 64 \
            hex digits. Missing directories are created; existing files are never overwritten. \
            Prints the key id: the first 8 bytes of SHA-512 of the public key, in hex, as \
            bundles and the hypervisor's trust anchors name the key.
            """)

    @Option(name: .shortAndLong,
            help: ArgumentHelp("The key pair's path without extension (writes NAME.key and NAME.pub).",
                               valueName: "dir/name"))
    var output: String

    func run() throws {
        do {
            print(try Commands.keygen(output: output))
        } catch {
            throw fail(error)
        }
    }
}

struct Pack: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a configuration and write its signed bundle (manifest, signature, images).",
        discussion: """
            Image paths are relative to the configuration file. An image is a raw binary loaded at \
            guest-physical 0x80000000, or an ELF64 RISC-V executable whose PT_LOAD segments are \
            flattened into such a binary (gaps and .bss zero-filled). The manifest records each \
            image's SHA-512, the security version and the key id, and is signed with the private \
            key (Ed25519, RFC 8032). The bundle is re-read with the hypervisor's parser and \
            verified before it is written, and is written only if the plan is valid for the board.

            The security version is the anti-rollback counter: the hypervisor refuses a bundle \
            whose version is below the highest it has accepted, so raise it whenever a release \
            fixes a security problem. It is required: no bundle gets a default version by accident.

            \(configurationSummary)
            """)

    @Argument(help: ArgumentHelp("The TOML configuration.", valueName: "config.toml"))
    var config: String

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the bundle.", valueName: "bundle.bin"))
    var output: String

    @Option(help: ArgumentHelp("The private key file that signs the manifest (from `bulkhead keygen`).",
                               valueName: "name.key"))
    var key: String

    @Option(name: [.customLong("version"), .customLong("security-version")],
            help: ArgumentHelp("The bundle's security version, 0 to 2^64-1 (anti-rollback counter).",
                               valueName: "n"))
    var securityVersion: UInt64

    @OptionGroup var boardArguments: BoardArguments

    func run() throws {
        do {
            print(try Commands.pack(configPath: config, output: output, keyPath: key,
                                    securityVersion: securityVersion, board: boardArguments.options))
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

    func run() throws {
        do {
            print(try Commands.check(configPath: config, board: boardArguments.options))
        } catch {
            throw fail(error)
        }
    }
}

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List a bundle's manifest and partitions and check its plan against a board.",
        discussion: """
            The bundle is parsed by the same reader the hypervisor uses. Shows the format version, \
            security version, signing key id, signature, and per partition its harts, memory, \
            entry, image and the image's SHA-512 as recorded in the manifest. The signature and \
            digests are not checked here: use `bulkhead verify`. Exits non-zero when the bundle is \
            malformed or its plan is not valid for the board.
            """)

    @Argument(help: ArgumentHelp("The bundle file.", valueName: "bundle.bin"))
    var bundle: String

    @OptionGroup var boardArguments: BoardArguments

    func run() throws {
        let inspection: Commands.Inspection
        do {
            inspection = try Commands.inspect(bundlePath: bundle, board: boardArguments.options)
        } catch {
            throw fail(error)
        }
        print(inspection.report, terminator: "")
        if let problem = inspection.problem { throw fail(problem) }
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a bundle's signature and image digests against a public key.",
        discussion: """
            Parses the bundle with the hypervisor's reader, then checks that the manifest names \
            the public key's id ("wrong key" otherwise), that the Ed25519 signature over the \
            manifest verifies ("bad signature"), and that every image's SHA-512 equals the digest \
            in the manifest ("digest mismatch for partition ..."). Exits non-zero with the first \
            failure. It does not check the plan against a board (`inspect` does) or the security \
            version against a device's minimum (the hypervisor does).
            """)

    @Argument(help: ArgumentHelp("The bundle file.", valueName: "bundle.bin"))
    var bundle: String

    @Option(name: .customLong("public-key"),
            help: ArgumentHelp("The public key file (from `bulkhead keygen`).", valueName: "name.pub"))
    var publicKey: String

    func run() throws {
        do {
            print(try Commands.verify(bundlePath: bundle, publicKeyPath: publicKey))
        } catch {
            throw fail(error)
        }
    }
}

BulkheadCommand.main()
