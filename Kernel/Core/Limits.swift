// The hypervisor's two fixed limits, spelled once: how many partitions a plan may hold and which hart ids run guests.

/// Every per-partition and per-hart table has this many entries. The C layer's `BH_MAX_PARTITIONS`
/// and `BH_MAX_HARTS` (Kernel/Arch/RISCV64/include/layout.h) must agree: a host test checks them.
public enum Limits {
    /// Partitions in one plan (indices 0 ..< partitions).
    public static let partitions = 8
    /// Hart ids below this have a stack and may run a guest; higher ids are left idle.
    public static let harts = 8
}

/// One value per partition, indexed by the partition's place in the plan. (A value generic
/// parameter must be a literal: this 8 is `Limits.partitions`, checked by the limits test.)
public typealias PerPartition<Element> = InlineArray<8, Element>
/// One value per hart id below `Limits.harts`. (This 8 is `Limits.harts`, checked likewise.)
public typealias PerHart<Element> = InlineArray<8, Element>
