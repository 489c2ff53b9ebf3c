// The operator's status report (Ctrl-B s on the console): each stack's high-water mark against its size.
import BulkheadCore

/// Writes `[bulkhead] status: ...` lines (the caller holds the console lock and has ended any open
/// partial line). Stacks: every hart's and the boot stack, measured from the paint entry.S laid
/// down (StackPaint).
func writeStatusReport<S: TextSink>(to out: inout S) {
    out.write("[bulkhead] status: stack high-water marks (bytes used of "); out.write(size: HartStacks.size)
    out.write(" per hart):")
    var h = 0
    while h < maxHarts {
        out.write(" hart "); out.write(decimal: UInt64(h)); out.write(" ")
        out.write(decimal: UInt64(used(base: HartStacks.base(hart: h), size: Int(HartStacks.size))))
        h += 1
    }
    out.write("; boot "); out.write(decimal: UInt64(used(base: HartStacks.bootBase, size: Int(HartStacks.bootSize))))
    out.write(" of "); out.write(size: HartStacks.bootSize); out.write("\n")
}

private func used(base: UInt64, size: Int) -> Int {
    StackPaint.highWater(UnsafeRawBufferPointer(start: UnsafeRawPointer(hostPointer(base)), count: size),
                         paint: HartStacks.paint)
}

/// Stops the machine when a stack's lowest word no longer holds the paint: the stack came within
/// a word of its guard page (HostPaging.swift; past it, the MMU stops the machine itself). Checked
/// where each stack is deepest: at the end of boot, and after a partition's (re)load.
func checkStackCanaries(hart: Int) {
    if !painted(HartStacks.bootBase) { fatal("the boot stack overflowed (its lowest word is no longer painted)") }
    if hart >= 0 && hart < maxHarts && !painted(HartStacks.base(hart: hart)) {
        fatal("a hart stack overflowed (its lowest word is no longer painted)")
    }
}

private func painted(_ base: UInt64) -> Bool {
    UnsafeRawPointer(hostPointer(base)).load(as: UInt64.self) == HartStacks.paint
}
