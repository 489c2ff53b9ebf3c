// Boot: read the board from the device tree, verify a bundle from flash, build partitions, start harts.
import BulkheadCore

/// Runs once, on the boot stack. On return, entry.S moves this hart to its own stack and
/// enters `bulkhead_secondary` like every other hart.
@_cdecl("bulkhead_boot")
func bulkheadBoot(_ hartid: UInt64, _ dtb: UInt64) {
    initializeSystem()
    HartCSR.installTrapVector()
    let hart = Int(hartid)

    // 1. The board, from the device tree the firmware passed us (read from our own copy).
    let tree = copyDeviceTree(from: dtb)
    let host: HostDescription
    do {
        host = try HostDescription(dtb: tree)
    } catch {
        halt { out in out.write("error: cannot read the device tree at "); out.write(hex: dtb); out.write(": "); error.write(to: &out) }
    }
    if let uart = host.console, uart.is16550Compatible,
       let driver = NS16550A(base: uart.base.raw, regShift: uart.regShift, regIOWidth: uart.regIOWidth) {
        configureSystem { $0.consoleUART = driver }
    }
    if let reader = try? FDTReader(tree), let node = try? reader.firstNode(compatibleWith: "sifive,test0"),
       let reg = try? reader.translatedReg(of: node) {
        configureSystem { $0.testDevice = SiFiveTest(base: reg.address) }
    }
    log { out in
        out.write("Bulkhead "); out.write(bulkheadVersion); out.write(" on "); out.write(currentBoard.name)
        out.write(": "); out.write(decimal: UInt64(host.hartMask.nonzeroBitCount)); out.write(" harts, RAM ")
        out.write(hex: host.ram.base.raw); out.write(" + "); out.write(size: host.ram.size)
        out.write(", boot hart "); out.write(decimal: hartid)
    }
    log { out in
        out.write("console: ")
        if let uart = host.console, system.consoleUART != nil {
            out.write("16550-compatible UART at "); out.write(hex: uart.base.raw)
        } else {
            out.write(host.console == nil ? "the device tree has no UART the hypervisor knows" : "the device tree's console is not a 16550-compatible UART")
            out.write(": output goes through the firmware (SBI DBCN), and console input is not read")
        }
    }
    placeHypervisorMemory(host)
    enableHostPaging(host, tree: tree)
    guard host.hasHypervisorExtension else {
        halt { out in
            out.write("error: the harts lack the RISC-V H extension (riscv,isa = \"")
            host.isa.withBytes { out.write(bytes: $0) }
            out.write("\"); Bulkhead needs the hypervisor extension")
        }
    }
    selectSHA512(host)
    configureSystem { s in
        s.guestISA = host.guestISA
        s.guestMMUType = host.mmuType
        s.timebaseFrequency = host.timebaseFrequency
        s.sstcAvailable = HartControl.probeSstc()
        s.firmwareMachineIDs = Firmware.machineIDs()
    }

    // 2. The bundle and its plan, validated against this board and its device tree's devices.
    var limits = host.boardLimits(memoryMap: system.hypervisorMemory)
    limits.hartMask &= (1 << UInt64(maxHarts)) - 1
    do {
        limits.devices = try DeviceCatalog(reader: FDTReader(tree))
    } catch {
        halt { out in out.write("error: cannot read the devices of the device tree: "); error.write(to: &out) }
    }
    BootWorkers.start(harts: limits.hartMask, bootHart: hart)
    loadPlan(limits: limits, initrd: host.initrd)

    // 3. Channels, then each partition: G-stage table (RAM and shared windows), image, device tree.
    setUpChannels()
    setUpConsoleInput()
    guard var pool = PageTablePool(region: KernelStorage.guestPageTablePool) else { fatal("no page-table pool") }
    var p = 0
    while p < plan.count {
        let spec = plan[p]
        do {
            let table = try GStageTable.buildPartition(spec: spec, devices: plan.devices, partition: p, vmid: UInt16(p + 1),
                                                       memory: &pool)
            let windows = SharedWindows(plan: plan, partition: p)
            var i = 0
            while i < windows.count {
                let w = windows[i]
                try table.map(guest: w.address, host: system.hypervisorMemory.sharedPool.base.adding(w.poolOffset), size: w.size,
                              permissions: w.writable ? .readWrite : .readOnly, memory: &pool)
                i += 1
            }
            configureSystem { $0.partitionHgatp[p] = table.hgatp.raw }
        } catch {
            fatal("cannot build a G-stage table")
        }
        var v = 0
        while v < spec.harts.count {
            configureSystem { s in
                s.hartPartition[Int(spec.harts[v])] = p
                s.hartVCPU[Int(spec.harts[v])] = v
            }
            // Every vCPU but the first starts stopped (SBI HSM): so a hart_start from vCPU 0 that
            // comes before this hart has reached PartitionControl.park still finds it stopped.
            if v != 0 { Mailbox(hart: Int(spec.harts[v])).state = .stopped }
            v += 1
        }
        guard PartitionControl.load(p) else { fatal("cannot build a partition's device tree") }
        log { out in
            out.write("partition "); spec.name.withBytes { out.write(bytes: $0) }; out.write(": harts")
            var v = 0
            while v < spec.harts.count { out.write(" "); out.write(decimal: UInt64(spec.harts[v])); v += 1 }
            out.write(", memory "); out.write(hex: spec.memory.base.raw); out.write(" + "); out.write(size: spec.memory.size)
            out.write(", entry "); out.write(hex: spec.entry.raw)
            out.write(spec.onFault == .restart ? ", on fault: restart" : ", on fault: stop")
            if spec.flags.dmaTrusted { out.write(", dma trusted (guest-physical = host-physical)") }
        }
        var d = 0
        while d < plan.devices.count {
            let device = plan.devices[d]
            if Int(device.owner) == p {
                log { out in
                    out.write("partition "); spec.name.withBytes { out.write(bytes: $0) }; out.write(": device ")
                    device.path.withBytes { out.write(bytes: $0) }; out.write(" at "); out.write(hex: device.region.base.raw)
                    var i = 0
                    while i < device.interruptCount { out.write(i == 0 ? ", interrupts " : " "); out.write(decimal: UInt64(device.interrupts[i])); i += 1 }
                }
            }
            d += 1
        }
        p += 1
    }
    buildPartitionTables()
    setUpInterrupts(dtb: tree)
    setUpDoorbells(tree, harts: limits.hartMask)
    log(system.sstcAvailable ? "guest timers: Sstc vstimecmp" : "guest timers: forwarded SBI timer (no Sstc)")
    log { out in out.write("entered at instret "); out.write(decimal: KernelImage.entryInstret) }

    checkStackCanaries(hart: hart)
    GuestAccessInstructions.install()        // services reach guest RAM with HLV/HSV from now on
    freezeSystem()

    // 4. The other harts (started to hash images) go on to their partitions; this one follows
    // when we return.
    BootWorkers.finish()
}

/// Places the shared pool and the staging area after the hypervisor's image (MemoryMap), away
/// from what the firmware reserves; halts when they do not fit. Logs the placement.
private func placeHypervisorMemory(_ host: HostDescription) {
    let image = HostRegion(base: HostPhysAddr(KernelImage.start), size: KernelImage.end &- KernelImage.start)
    do {
        let placed = try MemoryMap.place(image: image, ram: host.ram, firmwareReserved: host.firmwareReserved,
                                         poolSize: currentBoard.sharedPoolSize, stagingSize: currentBoard.bundleMaxSize)
        configureSystem { $0.hypervisorMemory = placed }
    } catch {
        halt { out in out.write("error: cannot place the hypervisor's memory: "); error.write(to: &out) }
    }
    log { out in
        out.write("memory: "); system.hypervisorMemory.write(to: &out)
        let firmware = host.firmwareReserved
        if firmware.count == 0 { out.write("; firmware reserves nothing") }
        var i = 0
        while i < firmware.count {
            out.write(i == 0 ? "; firmware reserves " : ", ")
            out.write(hex: firmware[i].region.base.raw); out.write(" + "); out.write(size: firmware[i].region.size)
            i += 1
        }
    }
}

/// Zeroes every shared-memory channel's memory, empties every ring, and logs each channel.
private func setUpChannels() {
    configureSystem { $0.channelLayout = ChannelLayout(plan: plan) }
    guard KernelImage.end <= system.hypervisorMemory.sharedPool.base.raw,
          ChannelLimits.queueStorageCapacity <= KernelStorage.ipcQueues.size else { fatal("channel memory overlaps the hypervisor") }
    var c = 0
    while c < plan.channelCount {
        let ch = plan.channel(c)
        if ch.kind == .sharedMemory {
            let base = system.hypervisorMemory.sharedPool.base.adding(system.channelLayout.offsets[c])
            hostPointer(base.raw).initializeMemory(as: UInt8.self, repeating: 0, count: Int(ch.size))
        } else {
            var end = 0
            while end < 2 {
                if ch.maySend(from: 1 - end) {
                    let offset = system.channelLayout.ringOffset(c, toEndpoint: end, channel: ch.route)
                    MessageRing(base: hostPointer(KernelStorage.ipcQueues.base.raw &+ offset),
                                depth: ch.depth, messageSize: ch.messageSize).reset()
                }
                end += 1
            }
        }
        log { out in
            out.write("channel "); ch.name.withBytes { out.write(bytes: $0) }; out.write(": ")
            out.write(ch.kind == .queue ? "queue " : "shared memory ")
            plan[Int(ch.endpoints[0])].name.withBytes { out.write(bytes: $0) }
            out.write(ch.direction == .both ? " <-> " : " -> ")
            plan[Int(ch.endpoints[1])].name.withBytes { out.write(bytes: $0) }
            if ch.kind == .queue {
                out.write(", "); out.write(decimal: UInt64(ch.depth)); out.write(" x "); out.write(decimal: UInt64(ch.messageSize))
                out.write(" bytes")
            } else {
                out.write(", "); out.write(size: ch.size); out.write(" at guest address ")
                out.write(hex: system.channelLayout.sharedWindow(c).raw)
            }
            if ch.doorbell { out.write(", doorbell") }
        }
        c += 1
    }
}

/// Wakes harts through the board's ACLINT SSWI device when it reaches all of them, else through
/// SBI IPIs (Mailbox.post).
private func setUpDoorbells(_ tree: UnsafeRawBufferPointer, harts: UInt64) {
    if let reader = try? FDTReader(tree), let sswi = try? HostSSWI(reader: reader), sswi.reaches(hartMask: harts) {
        var h = 0
        while h < maxHarts {
            if harts & (1 << UInt64(h)) != 0, let register = sswi.setSSIPAddress(ofHart: h) { Mailbox(hart: h).useSSWI(register) }
            h += 1
        }
        log { out in out.write("cross-hart wake-ups: ACLINT SSWI at "); out.write(hex: sswi.region.base.raw) }
    } else {
        log("cross-hart wake-ups: SBI IPI")
    }
}

@_cdecl("bulkhead_secondary")
func bulkheadSecondary(_ hartid: UInt64) -> Never {
    enableHostPagingOnThisHart()
    HartCSR.installTrapVector()
    BootWorkers.serve()
    PartitionControl.hartMain(Int(hartid))
}

/// Verified boot (VerifiedBoot in Core: key, revocation, signature, anti-rollback, digests, plan).
/// A bundle handed over as the initrd (`initrd`, from /chosen: U-Boot's booti) is moved into the
/// staging area first; one handed over in RAM there is tried next, then the flash slots, whose
/// bundles are copied into staging and verified there; the outcome is recorded in the flash state
/// region. On a board without a flash driver only a handed-over bundle can boot, against no
/// floor (bootWithoutState). Halts when nothing verifies.
private func loadPlan(limits: BoardLimits, initrd: HostRegion?) {
    let staging = UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(bitPattern: UInt(system.hypervisorMemory.staging.base.raw)),
                                                count: Int(system.hypervisorMemory.staging.size))
    if let initrd, !stageInitrd(initrd, into: staging) { staging.storeBytes(of: 0, as: UInt64.self) }   // not a bundle in RAM then
    let source: StaticString = initrd != nil ? "bundle from the initrd" : "bundle in RAM"
    let trust = builtInTrustAnchors()
    var booted: BootedBundle? = nil
    if let layout = currentBoard.bundleFlash {
        let boot = VerifiedBoot(layout: layout, trustAnchors: trust.anchors, revoked: trust.revoked, limits: limits)
        var flash = CFIFlash(layout: layout)
        var observer = BootLog()
        do {
            switch try boot.bootPreloaded(flash: &flash, staging: staging, stateWriteFailed: { observer.stateWriteFailed($0) }) {
            case .absent:
                if let initrd { log { out in notABundle(initrd, &out); out.write("; trying the flash slots") } }
            case .rejected(let why, let bundle):
                log { out in out.write(source); out.write(" rejected: "); why.write(to: &out, plan: bundle?.plan ?? PartitionPlan()) }
            case .booted(let b): booted = b
            case .floorRequired: break       // bootPreloaded keeps the floor in flash: never returned there
            }
            if booted == nil { booted = try boot.boot(flash: &flash, staging: staging, observer: &observer) }
        } catch {
            halt { out in out.write("error: "); error.write(to: &out) }
        }
    } else {
        log("warning: no driver for this board's persistent storage yet: no bundle slots, no anti-rollback floor, no device secret")
        switch VerifiedBoot.bootWithoutState(staging: staging, trustAnchors: trust.anchors, revoked: trust.revoked, limits: limits) {
        case .absent:
            halt { out in
                if let initrd { notABundle(initrd, &out) } else { out.write("error: no bundle: on this board it comes as the initrd (booti)") }
            }
        case .rejected(let why, let bundle):
            halt { out in out.write(source); out.write(" rejected: "); why.write(to: &out, plan: bundle?.plan ?? PartitionPlan()) }
        case .floorRequired:
            halt { out in
                out.write(source); out.write(" refused: it requires the anti-rollback floor (require_rollback_floor), ")
                out.write("which this board cannot keep without persistent storage")
            }
        case .booted(let b):
            booted = b
            log("warning: the anti-rollback floor is not enforced on this board: an older signed bundle would boot too")
        }
    }
    guard let booted else { fatal("no bundle") }
    let bundle = booted.bundle
    log { out in
        if booted.preloaded { out.write(source) } else { out.write("slot "); out.write(booted.slot == .a ? "A" : "B") }
        out.write(": bundle verified: key id "); bundle.keyID.write(to: &out)
        out.write(", security version "); out.write(decimal: bundle.securityVersion)
        out.write("; minimum security version "); out.write(decimal: booted.previousMinimum)
        if booted.minimum != booted.previousMinimum { out.write(" -> "); out.write(decimal: booted.minimum) }
    }
    plan = bundle.plan
    configureSystem { s in
        s.bootedSlot = booted.slot
        s.bundleSecurityVersion = bundle.securityVersion
        s.bundleMeasurement = BundleVerifier.manifestDigest(bundle)
    }
    var p = 0
    while p < plan.count {
        let state = partitionState(p)
        let range = bundle.imageRange(p)
        state.pointee.image = HostRegion(base: system.hypervisorMemory.staging.base.adding(UInt64(range.offset)), size: UInt64(range.count))
        let initrd = bundle.initrdRange(p)
        state.pointee.initrd = HostRegion(base: system.hypervisorMemory.staging.base.adding(UInt64(initrd.offset)), size: UInt64(initrd.count))
        state.pointee.measurement = PartitionUpdates.digest(bundle.imageDigest(p))
        configureSystem { $0.partitionPolicyDigest[p] = PartitionUpdateVerifier.policyDigest(bundle: bundle, partition: p) }
        p += 1
    }
    setUpKeys(booted)
    loadKeystores()
    PartitionUpdates.setUp(bundle: bundle)
    log { out in
        out.write("measurement: manifest SHA-512 ")
        system.bundleMeasurement.writeShort(to: &out)
    }
}

/// `error: the initrd at ... is not a Bulkhead bundle`.
private func notABundle(_ initrd: HostRegion, _ out: inout UARTSink) {
    out.write("the initrd at "); out.write(hex: initrd.base.raw); out.write(" + "); out.write(size: initrd.size)
    out.write(" is not a Bulkhead bundle (it does not start with \"BULKHEAD\")")
}

/// Derives the key chain (docs/keys.md). Under the secure monitor (docs/monitor.md) the hypervisor
/// CDI comes from the monitor, which derived it from the device secret and its measurement of this
/// image: the hypervisor neither reads the secret nor hashes itself. Under a plain firmware it reads
/// the device secret from its flash block and derives the CDI from it and its own identity (SHA-512
/// of its text and rodata). From the CDI on: each partition's keys, the DRBG's seed, the device
/// attestation key. The secret and the CDI are wiped afterwards.
private func setUpKeys(_ booted: BootedBundle) {
    var cdi = CDI(repeating: 0)
    var identity = SHA512Digest(bytes: InlineArray(repeating: 0))
    var drbgKey = SecretBytes(repeating: 0)
    var fromMonitor = false
    switch SecureMonitor.take(cdi: &cdi, measurement: &identity) {
    case .taken:
        fromMonitor = true
        drbgKey = KeyChain.drbgKey(hypervisorCDI: cdi)
        log { out in
            out.write("key chain: CDI from the secure monitor (measurement SHA-512 ")
            identity.writeShort(to: &out)
            out.write(")")
        }
        let again = SecureMonitor.askAgain()
        log { out in
            out.write("secure monitor: a second get_cdi is ")
            if again == 0 { out.write("answered (the monitor did not wipe its copy)") } else { out.write("refused (error "); out.write(decimal: Int(again)); out.write(")") }
        }
    case .refused(let error):
        log { out in
            out.write("key chain: the secure monitor has no CDI for this hypervisor (error "); out.write(decimal: Int(error))
            out.write("); key services refuse every call")
        }
        return
    case .absent:
        guard deviceSecretCDI(&cdi, identity: &identity, drbgKey: &drbgKey) else { return }
    }
    var p = 0
    while p < plan.count {
        let state = partitionState(p)
        state.pointee.keys = KeyChain.partitionKeys(hypervisorCDI: cdi, spec: plan[p], devices: plan.devices, partition: p,
                                                    imageDigest: state.pointee.measurement,
                                                    initrdDigest: booted.bundle.initrdDigest(p), signingKey: booted.bundle.keyID)
        p += 1
    }
    var updatable = false
    p = 0
    while p < plan.count { updatable = updatable || plan[p].updateTargets != 0; p += 1 }
    if updatable { configureSystem { $0.updateCDI = cdi } }  // an updated partition's keys are derived again (PartitionUpdates)
    var entropy = hardwareEntropy()
    drbg = DRBG(seed: KeyChain.drbgSeed(secret: drbgKey, bootCounter: booted.stateSequence ^ (HartCSR.time << 32), entropy: entropy))
    if entropy != nil { withUnsafeMutableBytes(of: &entropy) { secureZero($0) } }
    var seed = KeyChain.attestationSeed(hypervisorCDI: cdi)
    let attestation = withUnsafeBytes(of: &seed) { Ed25519PrivateKey(seed: $0) }
    withUnsafeMutableBytes(of: &seed) { secureZero($0) }
    withUnsafeMutableBytes(of: &cdi) { secureZero($0) }
    withUnsafeMutableBytes(of: &drbgKey) { secureZero($0) }
    configureSystem { s in
        s.attestationKey = attestation
        s.hypervisorIdentity = identity
        s.keysAvailable = true
    }
    log { out in
        if fromMonitor {
            out.write("key services ready (hypervisor identity: the monitor's measurement)")
        } else {
            out.write("device secret: provisioned; hypervisor identity SHA-512 ")
            identity.writeShort(to: &out)
            out.write("; key services ready")
        }
    }
    system.attestationKey?.withPublicKeyBytes { key in
        log { out in out.write("device attestation key: "); out.write(hexBytes: key) }
        if fromMonitor { logMonitorCertificate(identity: identity, publicKey: key) }
    }
}

/// Under the secure monitor: reads its certificate for this hypervisor's attestation key and,
/// when it names this hypervisor, prints it in hex for verifiers (docs/monitor.md).
private func logMonitorCertificate(identity: SHA512Digest, publicKey: UnsafeRawBufferPointer) {
    var cert = InlineArray<192, UInt8>(repeating: 0)
    let error = withUnsafeMutableBytes(of: &cert) { SecureMonitor.readCertificate(into: $0) }
    withUnsafeBytes(of: &cert) { c in
        if error != 0 {
            log { out in out.write("secure monitor: no certificate (error "); out.write(decimal: Int(error)); out.write(")") }
        } else if !SecureMonitor.certificateMatches(c, identity: identity, publicKey: publicKey) {
            log("secure monitor: its certificate does not name this hypervisor's measurement and attestation key; not used")
        } else {
            log { out in out.write("monitor certificate: "); out.write(hexBytes: c) }
        }
    }
}

/// No secure monitor: reads the device secret from flash and derives the hypervisor CDI from it
/// and this hypervisor's identity (its text and rodata); the DRBG key is the secret itself.
/// False (after saying why) when the board has no flash or no valid secret.
private func deviceSecretCDI(_ cdi: inout CDI, identity: inout SHA512Digest, drbgKey: inout SecretBytes) -> Bool {
    guard let layout = currentBoard.bundleFlash else {
        log("device secret: none on this board (no persistent storage driver); key services refuse every call")
        return false
    }
    var record = InlineArray<64, UInt8>(repeating: 0)
    let flash = CFIFlash(layout: layout)
    let read = layout.deviceSecret.size > 0 && withUnsafeMutableBytes(of: &record) { flash.read(offset: layout.deviceSecret.offset, into: $0) }
    var (status, secret) = DeviceSecretRecord.decode(record)
    withUnsafeMutableBytes(of: &record) { secureZero($0) }
    guard read, status == .valid else {
        withUnsafeMutableBytes(of: &secret) { secureZero($0) }
        log { out in
            out.write("device secret: "); DeviceSecretRecord.write(read ? status : .erased, to: &out)
            out.write("; key services refuse every call")
        }
        return false
    }
    let image = UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: UInt(KernelImage.start)),
                                       count: Int(KernelImage.rodataEnd &- KernelImage.start))
    identity = SHA512.hash(image)
    cdi = KeyChain.hypervisorCDI(secret: secret, identity: identity)
    drbgKey = secret
    withUnsafeMutableBytes(of: &secret) { secureZero($0) }
    log("key chain: CDI from the device secret (no secure monitor)")
    return true
}

/// 512 raw bits from the Zkr seed CSR, hashed (ZkrSeed), or nil when the hart has none or
/// the firmware keeps it from HS-mode (mseccfg.SSEED clear); the boot log says which.
private func hardwareEntropy() -> SHA512Digest? {
    switch ZkrSeed.collect({ Instructions.tryReadSeed() }) {
    case .success(let digest):
        log("entropy: Zkr seed CSR, 512 bits mixed into the DRBG seed")
        return digest
    case .failure(.unavailable):
        log("entropy: no Zkr seed CSR in HS-mode; the DRBG is seeded from the device secret and the boot counter")
    case .failure(.dead):
        log("entropy: the Zkr seed CSR went DEAD; not used")
    case .failure(.timedOut):
        log("entropy: the Zkr seed CSR never delivered entropy; not used")
    }
    return nil
}

/// Reads the keystore record from flash and opens each partition's entry with its keystore key
/// (docs/keys.md). An entry that does not open (sealed for another device, hypervisor or signer)
/// leaves that partition with an empty keystore; entries of other partitions are carried over.
private func loadKeystores() {
    guard let layout = currentBoard.bundleFlash else { return }
    let region = layout.keystoreRegion
    guard system.keysAvailable, region.copyA.size > 0, region.copyB.size > 0 else { return }
    let record = keystoreBuffer(0)
    let loaded = region.load(CFIFlash(layout: layout), into: record)
    keystoreCurrentCopy = loaded.current
    log { out in
        out.write("keystore: ")
        if let current = loaded.current {
            out.write(current == 0 ? "copy A" : "copy B"); out.write(", sequence ")
            out.write(decimal: KeystoreRecord.sequence(UnsafeRawBufferPointer(record)))
            let entries = KeystoreRecord.entryCount(UnsafeRawBufferPointer(record))
            out.write(", "); out.write(decimal: UInt64(entries)); out.write(entries == 1 ? " partition" : " partitions")
        } else {
            out.write("empty")
        }
        if loaded.statusA == .damaged { out.write("; copy A damaged (ignored)") }
        if loaded.statusB == .damaged { out.write("; copy B damaged (ignored)") }
    }
    var p = 0
    while p < plan.count {
        let name = plan[p].name
        let state = partitionState(p)
        state.pointee.keystore = PartitionKeystore(ownerTag: PartitionKeystore.ownerTag(for: name))
        var key = state.pointee.keys.keystoreKey
        let status = withUnsafeBytes(of: &key) { KeystoreRecord.open(UnsafeRawBufferPointer(record), name: name, key: $0, into: &state.pointee.keystore) }
        withUnsafeMutableBytes(of: &key) { secureZero($0) }
        if status == .notAuthentic || status == .malformed {
            log { out in
                out.write("keystore: the entry of "); name.withBytes { out.write(bytes: $0) }
                if status == .notAuthentic { out.write(" was sealed for another device, hypervisor or signer") }
                else { out.write(" is malformed") }
                out.write("; it starts empty")
            }
        }
        p += 1
    }
}

/// The boot log of verified boot: the state region as read, each slot refused and why.
private struct BootLog: VerifiedBootObserver {
    mutating func stateRead(_ reading: StateReading) {
        log { out in
            out.write("state: ")
            switch reading.result {
            case .blankOrCorrupt: out.write("no valid copy, factory state")
            case .record(let record, let copy):
                out.write(copy == .a ? "copy A" : "copy B"); out.write(", sequence "); out.write(decimal: record.sequence)
            }
            out.write("; minimum security version "); out.write(decimal: reading.state.minimumSecurityVersion)
        }
        reportDamage(reading.copyA, "A")
        reportDamage(reading.copyB, "B")
    }

    /// A copy that is neither valid nor erased is worth a line: a torn or decayed write.
    private func reportDamage(_ status: StateCopyStatus, _ name: StaticString) {
        switch status {
        case .valid, .erased: return
        default: log { out in out.write("state copy "); out.write(name); out.write(": "); status.write(to: &out); out.write(" (ignored)") }
        }
    }

    mutating func slotRejected(_ slot: BootSlot, _ why: SlotRejection, bundle: BundleReader?) {
        log { out in
            out.write("slot "); out.write(slot == .a ? "A" : "B"); out.write(" rejected: ")
            why.write(to: &out, plan: bundle?.plan ?? PartitionPlan())
        }
    }

    mutating func stateWriteFailed(_ error: StateRegionError) {
        log { out in out.write("warning: state region not updated: "); error.write(to: &out) }
    }
}

/// Reports why nothing will run and powers the machine off: no guest has started yet.
func halt(_ why: (inout UARTSink) -> Void) -> Never {
    log(why)
    log("no partition will run. Halting.")
    powerOffAfterFailure()
}

let bulkheadVersion: StaticString = "0.1"
