// `bulkhead init [FILE]`: a commented starter configuration that `bulkhead check` accepts as
// written (once its guest image exists).
import Foundation

extension Commands {
    /// The starter configuration: the machine, one partition, and where the rest is documented.
    public static let starterConfiguration = """
        # A Bulkhead partition plan (docs/configuration.md has every key and rule).
        # Check it with `bulkhead check FILE`, sign it with
        # `bulkhead pack FILE -o bundle.bin --key NAME.key --security-version 1`.

        # The machine the plan is for; --board, --harts and --ram-size on the command line win.
        [board]
        board = "qemu-virt"
        harts = 4             # harts 0 to 3 (QEMU's -smp 4)
        ram_size = "1G"       # QEMU's -m 1G; RAM starts at 0x80000000

        # One [[partition]] table per partition (at most 8).
        [[partition]]
        name = "hello"                # a-z 0-9 - _, at most 16 bytes, unique
        image = "guest.bin"           # raw binary or RISC-V ELF64, relative to this file
        harts = [1]                   # physical harts; vCPU i runs on harts[i]
        memory_base = 0x84000000      # host-physical, 2 MiB aligned, above the hypervisor's 0x80000000-0x84000000
        memory_size = "4M"            # bytes, or K/M/G; a multiple of 2 MiB
        on_fault = "stop"             # or "restart"
        # entry = 0x80000000          # guest-physical entry (default: the ELF entry, else 0x80000000)
        # bootargs = ""               # at most 128 bytes
        # keys = ["derive", "seal"]   # key services: derive, seal, attest, keystore, random, attest_system
        # uart = true                 # a virtual 16550 UART at 0x10000000
        # devices = ["/soc/rtc@101000"]   # board device-tree nodes the partition owns

        # A second partition and a channel between the two:
        # [[partition]]
        # name = "other"
        # image = "other.bin"
        # harts = [2]
        # memory_base = 0x84400000
        # memory_size = "4M"
        #
        # [[channel]]
        # name = "link"
        # kind = "queue"              # or "shared" (with size = "4K" and access = ["rw", "rw"])
        # endpoints = ["hello", "other"]
        # depth = 4                   # messages waiting per direction, 1-64
        # message_size = 64           # bytes, 1-4096

        """

    /// `bulkhead init FILE`: writes the starter configuration to `path`, never over an existing file.
    public static func initConfiguration(path: String) throws(ToolError) -> String {
        var status = stat()
        guard lstat(path, &status) != 0 else {
            throw ToolError("\(path): already exists: `bulkhead init` never overwrites a file (give another FILE)")
        }
        if path.hasSuffix("/") {
            throw ToolError("\(path): names a directory: give the configuration file's name, e.g. \(path)bulkhead.toml")
        }
        try SafeFile.write(Array(starterConfiguration.utf8), to: path, newMode: 0o644, what: "the configuration")
        return "\(path): starter configuration written (put the guest image at guest.bin next to it, then "
            + "`bulkhead check \(path)`)"
    }
}
