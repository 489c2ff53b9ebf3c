// A guest's devices: found in its device tree by `compatible`, with their interrupts, and its virtual PLIC.
//
// Bulkhead writes one node per device the partition owns (docs/configuration.md "Devices"):
// `compatible`, `reg` <address size> (guest-physical = host-physical) and, with interrupts,
// `interrupts` and `interrupt-parent` = the /plic node. The PLIC follows the RISC-V PLIC
// specification; context i is vCPU i's supervisor external interrupt (scause 9).

import BulkheadCore
import GuestArch

/// One device from the device tree.
public struct Device {
    public var base: UInt64
    public var size: UInt64
    /// Its first PLIC source (0: none).
    public var interrupt: UInt32

    /// The first device whose `compatible` lists `compatible`, or nil.
    public init?(dtb: UInt, compatible: StaticString) {
        guard let tree = BootInfo.reader(dtb: dtb), let node = try? tree.firstNode(compatibleWith: compatible),
              let reg = try? tree.reg(of: node) else { return nil }
        base = reg.address
        size = reg.size
        interrupt = 0
        if let interrupts = try? tree.findProperty("interrupts", in: node), let first = try? interrupts.cell(at: 0) {
            interrupt = first
        }
    }
}

/// The partition's virtual PLIC, as seen from vCPU `context`.
public struct PLICClient {
    public let base: UInt64
    public let context: Int

    /// The PLIC of the device tree at `dtb` (a node compatible with "riscv,plic0"), or nil.
    public init?(dtb: UInt, vcpu: Int) {
        guard let tree = BootInfo.reader(dtb: dtb), let node = try? tree.firstNode(compatibleWith: "riscv,plic0"),
              let reg = try? tree.reg(of: node) else { return nil }
        base = reg.address
        context = vcpu
    }

    public func setPriority(source: UInt32, _ priority: UInt32) {
        RawMemory.store32(base &+ PLICLayout.priority(source: Int(source)), priority)
    }

    /// Enables `source` for this context (read-modify-write of its enable word).
    public func enable(source: UInt32) {
        let word = base &+ PLICLayout.enable(context: context, word: Int(source >> 5))
        RawMemory.store32(word, RawMemory.load32(word) | UInt32(1) << (source & 31))
    }

    public func setThreshold(_ threshold: UInt32) {
        RawMemory.store32(base &+ PLICLayout.threshold(context: context), threshold)
    }

    /// The highest-priority pending source enabled here (0: none), now in service.
    public func claim() -> UInt32 { RawMemory.load32(base &+ PLICLayout.claimComplete(context: context)) }

    /// Ends the handling of `source` (the device may interrupt again).
    public func complete(_ source: UInt32) {
        RawMemory.store32(base &+ PLICLayout.claimComplete(context: context), source)
    }

    /// sie.SEIE: the supervisor external interrupt.
    static let externalInterruptBit: UInt64 = 1 << 9
    /// scause of a supervisor external interrupt.
    public static let externalInterruptCause: UInt64 = 1 << 63 | 9

    /// Spins (reading `instret`, not in `wfi`) until an interrupt is taken with sie.SEIE set, and
    /// returns its scause and the instructions retired from the last instruction before the trap to
    /// the first of the handler: the interrupt's path through the hypervisor.
    public static func spinForExternalInterrupt() -> (cause: UInt64, instructions: UInt64) {
        guest_set_sie(externalInterruptBit)
        var latency: UInt64 = 0
        let cause = guest_spin_interrupt(&latency)
        guest_clear_sie(externalInterruptBit)
        return (cause, latency)
    }
}
