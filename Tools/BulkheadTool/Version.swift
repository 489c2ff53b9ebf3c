// The CLI's version, printed by `bulkhead --version`.

/// The `bulkhead` CLI's version: the same as the hypervisor's (`bulkheadVersion` in
/// Kernel/Boot/Boot.swift), since both are released together.
public let bulkheadToolVersion = "0.1"
