// Boot: read the board from the device tree, check the bundle and plan, build partitions, start harts.
import BulkheadCore
import CArch

/// Runs once, on the boot stack. On return, entry.S moves this hart to its own stack and
/// enters `bulkhead_secondary` like every other hart.
@_cdecl("bulkhead_boot")
func bulkheadBoot(_ hartid: UInt64, _ dtb: UInt64) {
    csr_write_stvec(trap_vector_address())
    let hart = Int(hartid)

    // 1. The board, from the device tree OpenSBI passed us.
    let host: HostDescription
    do {
        host = try HostDescription(dtb: deviceTreeBytes(at: dtb))
    } catch {
        halt { out in out.write("error: cannot read the device tree at "); out.write(hex: dtb); out.write(": "); error.write(to: &out) }
    }
    if let uart = host.console, uart.isNS16550A { consoleUART = NS16550A(base: uart.base.raw) }
    log { out in
        out.write("Bulkhead "); out.write(bulkheadVersion); out.write(" on "); out.write(currentBoard.name)
        out.write(": "); out.write(decimal: UInt64(host.hartMask.nonzeroBitCount)); out.write(" harts, RAM ")
        out.write(hex: host.ram.base.raw); out.write(" + "); out.write(size: host.ram.size)
        out.write(", boot hart "); out.write(decimal: hartid)
    }
    guard host.hasHypervisorExtension else {
        halt { out in
            out.write("error: the harts lack the RISC-V H extension (riscv,isa = \"")
            host.isa.withBytes { out.write(bytes: $0) }
            out.write("\"); Bulkhead needs the hypervisor extension")
        }
    }
    guestISA = host.guestISA
    guestMMUType = host.mmuType
    timebaseFrequency = host.timebaseFrequency
    sstcAvailable = HartControl.probeSstc()
    firmwareMachineIDs = Firmware.machineIDs()

    // 2. The bundle and its plan, validated against this board.
    let limits = currentBoard.limits(ram: host.ram, hartMask: host.hartMask & ((1 << UInt64(maxHarts)) - 1))
    loadPlan(limits: limits)

    // 3. Each partition: G-stage table, image, device tree.
    guard var pool = PageTablePool(region: HostRegion(base: HostPhysAddr(page_table_pool_address()),
                                                      size: page_table_pool_size())) else { fatal("no page-table pool") }
    var p = 0
    while p < plan.count {
        let spec = plan[p]
        do {
            let table = try GStageTable.buildPartition(spec: spec, vmid: UInt16(p + 1), memory: &pool)
            partitionHgatp[p] = table.hgatp.raw
        } catch {
            fatal("cannot build a G-stage table")
        }
        var v = 0
        while v < spec.harts.count {
            hartPartition[Int(spec.harts[v])] = p
            hartVCPU[Int(spec.harts[v])] = v
            v += 1
        }
        PartitionControl.load(p)
        log { out in
            out.write("partition "); spec.name.withBytes { out.write(bytes: $0) }; out.write(": harts")
            var v = 0
            while v < spec.harts.count { out.write(" "); out.write(decimal: UInt64(spec.harts[v])); v += 1 }
            out.write(", memory "); out.write(hex: spec.memory.base.raw); out.write(" + "); out.write(size: spec.memory.size)
            out.write(", entry "); out.write(hex: spec.entry.raw)
            out.write(spec.onFault == .restart ? ", on fault: restart" : ", on fault: stop")
        }
        p += 1
    }
    log(sstcAvailable ? "guest timers: Sstc vstimecmp" : "guest timers: forwarded SBI timer (no Sstc)")
    log { out in out.write("entered at instret "); out.write(decimal: entry_instret()) }

    // 4. Every other hart, through SBI HSM; this one follows when we return.
    var h = 0
    while h < maxHarts {
        if h != hart && limits.hasHart(UInt32(h)) {
            let err = Firmware.startHart(UInt64(h), at: secondary_entry_address())
            if err != 0 {
                log { out in out.write("warning: hart "); out.write(decimal: UInt64(h)); out.write(" did not start (SBI error ")
                      out.write(decimal: Int(err)); out.write(")") }
            }
        }
        h += 1
    }
}

@_cdecl("bulkhead_secondary")
func bulkheadSecondary(_ hartid: UInt64) -> Never {
    PartitionControl.hartMain(Int(hartid))
}

/// The device tree blob at `address`, sized by its own header (big-endian totalsize at offset 4).
private func deviceTreeBytes(at address: UInt64) -> UnsafeRawBufferPointer {
    guard let base = UnsafeRawPointer(bitPattern: UInt(address)) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
    let size = UInt32(bigEndian: base.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
    return UnsafeRawBufferPointer(start: base, count: Int(min(size, 0x10_0000)))
}

/// Reads the bundle the loader placed in the staging area, checks it and validates its plan.
private func loadPlan(limits: BoardLimits) {
    let staging = UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: UInt(currentBoard.bundleAddress.raw)),
                                         count: Int(currentBoard.bundleMaxSize))
    let bundle: BundleReader
    do {
        bundle = try BundleReader(staging: staging)
    } catch {
        refuseBundle { error.write(to: &$0) }
    }
    // Nothing unverified runs: the key must be a built-in anchor and not revoked, the signature
    // over the manifest must verify (Ed25519, RFC 8032), and every image must match its SHA-512.
    // The minimum security version is 0 until the flash state region is wired in (issue 3).
    let trust = builtInTrustAnchors()
    let verdict = BundleVerifier.verify(bundle: bundle, trustAnchors: trust.anchors, revoked: trust.revoked,
                                        minimumVersion: 0)
    guard verdict == .accepted else {
        refuseBundle { verdict.write(to: &$0, plan: bundle.plan) }
    }
    log { out in
        out.write("bundle verified: key id "); bundle.keyID.write(to: &out)
        out.write(", security version "); out.write(decimal: bundle.securityVersion)
    }
    plan = bundle.plan
    do {
        try plan.validate(for: limits)
    } catch {
        halt { out in out.write("error: invalid partition plan: "); error.write(to: &out, plan: plan) }
    }
    var p = 0
    while p < plan.count {
        let range = bundle.imageRange(p)
        partitionImage[p] = HostRegion(base: currentBoard.bundleAddress.adding(UInt64(range.offset)), size: UInt64(range.count))
        p += 1
    }
}

/// `error: bundle at ADDRESS rejected: <why>`, then halt.
private func refuseBundle(_ why: (inout UARTSink) -> Void) -> Never {
    halt { out in
        out.write("error: bundle at "); out.write(hex: currentBoard.bundleAddress.raw); out.write(" rejected: ")
        why(&out)
    }
}

/// Reports why nothing will run and powers the machine off: no guest has started yet.
private func halt(_ why: (inout UARTSink) -> Void) -> Never {
    log(why)
    log("no partition will run. Halting.")
    Firmware.shutdown(failure: true)
}

let bulkheadVersion: StaticString = "0.1"
