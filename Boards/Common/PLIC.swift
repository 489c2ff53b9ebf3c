// The board's RISC-V PLIC (riscv-plic-spec 1.0.0), driven by the hypervisor through its supervisor contexts.
import BulkheadCore

/// A PLIC at `base`: 32-bit registers at the offsets PLICLayout gives.
struct PLIC {
    let base: UInt64

    private func register(_ offset: UInt64) -> MMIORegister<UInt32> {
        MMIORegister(unsafeBitPattern: UInt(base &+ offset))
    }

    func setPriority(source: Int, _ value: UInt32) { register(PLICLayout.priority(source: source)).store(value) }

    /// Sets or clears `source`'s enable bit on `context` (read-modify-write of its word: callers
    /// serialise changes to one context's enables).
    func setEnabled(source: Int, context: Int, _ on: Bool) {
        let word = register(PLICLayout.enable(context: context, word: source >> 5))
        let bit = UInt32(1) << UInt32(source & 31)
        let old = word.load()
        word.store(on ? old | bit : old & ~bit)
    }

    func setThreshold(context: Int, _ value: UInt32) { register(PLICLayout.threshold(context: context)).store(value) }

    /// Claims the highest-priority pending source of `context` (0: none).
    func claim(context: Int) -> Int { Int(register(PLICLayout.claimComplete(context: context)).load()) }

    /// Signals that `source`, claimed through `context`, has been handled.
    func complete(context: Int, source: Int) {
        register(PLICLayout.claimComplete(context: context)).store(UInt32(truncatingIfNeeded: source))
    }
}
