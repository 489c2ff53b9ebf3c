// The `bulkhead` command line: argument parsing only; the work is in the BulkheadTool library.
import ArgumentParser
import BulkheadTool
import Foundation

struct BulkheadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bulkhead",
        abstract: "Build and examine Bulkhead partition bundles.",
        discussion: """
            A bundle holds a partition plan and each partition's image. `pack` builds one from a \
            TOML configuration (see docs/configuration.md), `check` only validates the configuration, \
            and `inspect` lists a bundle's partitions. Every command checks the plan with the same \
            validation function the hypervisor runs at boot.
            """,
        subcommands: [Pack.self, Check.self, Inspect.self])
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

struct Pack: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a configuration and write its bundle (plan + images).",
        discussion: """
            Image paths are relative to the configuration file. An image is a raw binary loaded at \
            guest-physical 0x80000000, or an ELF64 RISC-V executable whose PT_LOAD segments are \
            flattened into such a binary (gaps and .bss zero-filled). The bundle is written only \
            if the plan is valid for the board.

            \(configurationSummary)
            """)

    @Argument(help: ArgumentHelp("The TOML configuration.", valueName: "config.toml"))
    var config: String

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the bundle.", valueName: "bundle.bin"))
    var output: String

    @OptionGroup var boardArguments: BoardArguments

    func run() throws {
        do {
            print(try Commands.pack(configPath: config, output: output, board: boardArguments.options))
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
        abstract: "List a bundle's partitions and check its plan against a board.",
        discussion: """
            The bundle is parsed by the same reader the hypervisor uses. Exits non-zero when the \
            bundle is malformed or its plan is not valid for the board.
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

BulkheadCommand.main()
