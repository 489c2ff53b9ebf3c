// The monitor library's C entry points (include/bulkhead_monitor.h): the secret's flash range, init, verify, queries.
//
// State: set by init and verify on the cold-boot hart before other harts run; afterwards only
// bulkhead_monitor_take_cdi_word and the key calls (OSKeys.swift) change it (the glue serialises
// their callers). The CDI stays in this library's memory (inside the firmware's PMP-protected
// region) until the next stage takes it, once, or uses the key services: then it is wiped here.
import BulkheadCore

public typealias FlashRead = @convention(c) (UnsafeMutableRawPointer?, UInt64, UnsafeMutableRawPointer?, UInt64) -> Int32
public typealias PutChar = @convention(c) (CChar) -> Void

nonisolated(unsafe) var monitorFDT: UnsafeRawPointer? = nil
nonisolated(unsafe) var monitorFlashRead: FlashRead? = nil
nonisolated(unsafe) var monitorFlashContext: UnsafeMutableRawPointer? = nil
nonisolated(unsafe) var monitorPutChar: PutChar? = nil
nonisolated(unsafe) var monitorFlashErase: FlashErase? = nil
nonisolated(unsafe) var monitorFlashProgram: FlashProgram? = nil
/// The accepted next stage's security version (its header's), for the plain OS's reports.
nonisolated(unsafe) var acceptedSecurityVersion: UInt64 = 0
/// This boot's counter from the monitor's record (raised and written at verify, before any key
/// service); the DRBG refuses to run without it.
nonisolated(unsafe) var monitorBootCounter: UInt64 = 0
nonisolated(unsafe) var hasBootCounter = false
nonisolated(unsafe) var acceptedMeasurement = SHA512Digest(bytes: InlineArray(repeating: 0))
nonisolated(unsafe) var hasAccepted = false
nonisolated(unsafe) var nextStageCDI = CDI(repeating: 0)
nonisolated(unsafe) var hasCDI = false
/// The next word of the CDI the next stage may take (0..7); the CDI is wiped after word 7.
nonisolated(unsafe) var nextCDIWord = 0
/// The certificate for the accepted next stage (MonitorCertificate; public).
nonisolated(unsafe) var certificate = InlineArray<192, UInt8>(repeating: 0)
nonisolated(unsafe) var hasCertificate = false

/// The firmware's console, through the putc callback.
struct MonitorConsole: TextSink {
    mutating func write(byte: UInt8) {
        if let putc = monitorPutChar { putc(CChar(bitPattern: byte)) }
    }
}

/// Where the device secret's 64-byte record lies in the flash the callback reads (QEMU virt's
/// bundle flash layout, docs/flash-layout.md).
let deviceSecretOffset = UInt64(FlashLayout.qemuVirt.deviceSecret.offset)

/// The device secret's block in the secure flash (offset and size from FlashLayout.qemuVirt), for
/// the firmware to put behind an M-only PMP region; 0 (also before init), or -1 for null pointers.
@_cdecl("bulkhead_monitor_secret_range")
public func bulkheadMonitorSecretRange(_ offset: UnsafeMutablePointer<UInt64>?, _ size: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guard let offset, let size else { return -1 }
    offset.pointee = UInt64(FlashLayout.qemuVirt.deviceSecret.offset)
    size.pointee = UInt64(FlashLayout.qemuVirt.deviceSecret.size)
    return 0
}

/// The monitor's record blocks (both copies, adjacent: MonitorRecordRegion.qemuVirt), for the
/// firmware to put behind M-only PMP like the secret; -1 for null pointers.
@_cdecl("bulkhead_monitor_record_range")
public func bulkheadMonitorRecordRange(_ offset: UnsafeMutablePointer<UInt64>?, _ size: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guard let offset, let size else { return -1 }
    let region = MonitorRecordRegion.qemuVirt
    offset.pointee = UInt64(min(region.copyA, region.copyB))
    size.pointee = UInt64(2 * FlashLayout.qemuVirt.eraseBlockSize)
    return 0
}

/// The firmware's M-mode flash writer (erase one block, program bytes), for the monitor's record.
/// Call after init and before verify; null pointers leave the monitor without a writer (then
/// verify refuses every next stage: no floor can be enforced).
@_cdecl("bulkhead_monitor_set_flash_writer")
public func bulkheadMonitorSetFlashWriter(_ erase: FlashErase?, _ program: FlashProgram?) -> Int32 {
    monitorFlashErase = erase
    monitorFlashProgram = program
    return erase != nil && program != nil ? 0 : -1
}

@_cdecl("bulkhead_monitor_init")
public func bulkheadMonitorInit(_ fdt: UnsafeRawPointer?, _ flashRead: FlashRead?, _ flashContext: UnsafeMutableRawPointer?,
                                _ putc: PutChar?) -> Int32 {
    guard let fdt = fdt, let putc = putc else { return -1 }
    monitorFDT = fdt
    monitorFlashRead = flashRead
    monitorFlashContext = flashContext
    monitorPutChar = putc
    monitorFlashErase = nil
    monitorFlashProgram = nil
    hasBootCounter = false
    hasAccepted = false
    hasCDI = false
    hasCertificate = false
    nextCDIWord = 0
    cdiUse = .undecided
    wipeOSKeys()
    return 0
}

/// Called by the stack-switching entry (MonitorEntry.S) on the library's own stack.
@_cdecl("bulkhead_monitor_verify_next_stage_on_stack")
public func bulkheadMonitorVerifyOnStack(_ imageAddress: UInt64, _ maxSize: UInt64) -> Int32 {
    guard monitorFDT != nil, monitorPutChar != nil else { return -1 }
    hasAccepted = false
    hasCDI = false
    hasCertificate = false
    nextCDIWord = 0
    cdiUse = .undecided
    wipeOSKeys()
    hasBootCounter = false
    osRAM = HostRegion(base: HostPhysAddr(0), size: 0)
    withUnsafeMutableBytes(of: &nextStageCDI) { secureZero($0) }
    var out = MonitorConsole()
    let ram = deviceTreeRAM()
    let (anchors, revoked) = builtInTrustAnchors()
    var verdict = NextStage.verify(imageAddress: imageAddress, maxSize: maxSize, ram: ram,
                                   anchors: anchors, revoked: revoked)
    if case .accepted = verdict {
        verdict = enforceFloor(NextStage.load64(headerBytes(imageAddress), NextStageHeader.securityVersionOffset), verdict)
    }
    out.write("[monitor] next stage at "); out.write(hex: imageAddress); out.write(": ")
    switch verdict {
    case .accepted(let measurement):
        acceptedMeasurement = measurement
        hasAccepted = true
        osRAM = ram ?? HostRegion(base: HostPhysAddr(0), size: 0)
        let signer = SigningKeyID(raw: NextStage.load64(headerBytes(imageAddress), NextStageHeader.keyIDOffset))
        out.write("verified, "); out.write(decimal: NextStage.load64(headerBytes(imageAddress), NextStageHeader.imageSizeOffset))
        out.write(" bytes signed by key id ")
        signer.write(to: &out)
        out.write(", security version "); out.write(decimal: acceptedSecurityVersion)
        out.write(", measurement sha512:")
        measurement.writeShort(to: &out)
        out.write("\n")
        deriveCDI(measurement, signer: signer, &out)
    default:
        out.write("refused: "); verdict.write(to: &out); out.write("; not entered\n")
    }
    return verdict.code
}

/// The anti-rollback check and the boot's one record write, after the signature and digest hold
/// (so the version is the signer's): refuses a version below the floor (rolledBack) and a missing
/// or failing record (stateUnavailable: without it no floor holds); otherwise raises the floor to
/// the version when higher, as the hypervisor does for bundles at acceptance (docs/flash-layout.md),
/// and counts this boot, both in one write before the next stage or any key service runs.
private func enforceFloor(_ version: UInt64, _ verdict: NextStageVerdict) -> NextStageVerdict {
    guard let read = monitorFlashRead, let erase = monitorFlashErase, let program = monitorFlashProgram else {
        return .stateUnavailable(.noFlashWriter)
    }
    var flash = FirmwareFlash(readFn: read, eraseFn: erase, programFn: program, context: monitorFlashContext)
    let region = MonitorRecordRegion.qemuVirt
    do throws(MonitorRecordError) {
        let state = try region.state(flash)
        guard version >= state.floor else { return .rolledBack(version: version, floor: state.floor) }
        let next = MonitorState(floor: version > state.floor ? version : state.floor, bootCounter: state.bootCounter &+ 1)
        try region.commit(next, to: &flash)
        var out = MonitorConsole()
        out.write("[monitor] state: boot "); out.write(decimal: next.bootCounter)
        out.write(", minimum next-stage security version "); out.write(decimal: state.floor)
        if next.floor != state.floor { out.write(" -> "); out.write(decimal: next.floor) }
        out.write("\n")
        acceptedSecurityVersion = version
        monitorBootCounter = next.bootCounter
        hasBootCounter = true
        return verdict
    } catch {
        return .stateUnavailable(error)
    }
}

@_cdecl("bulkhead_monitor_measurement")
public func bulkheadMonitorMeasurement(_ out: UnsafeMutablePointer<UInt8>?) -> Int32 {
    guard hasAccepted, let out = out else { return -1 }
    acceptedMeasurement.withBytes { d in var i = 0; while i < SHA512.digestSize { out[i] = d[i]; i += 1 } }
    return 0
}

@_cdecl("bulkhead_monitor_has_cdi")
public func bulkheadMonitorHasCDI() -> Int32 { hasCDI ? 1 : 0 }

/// Hands the CDI out once: word `index` (little-endian, bytes 8*index ..< 8*index+8) only when it
/// is the next one not yet taken, in order 0...7; after word 7 the CDI is wiped and every later
/// call is refused. So the first caller after the jump (the hypervisor, before any guest or other
/// hart runs) gets it, and nobody after it. Taking word 0 wipes the key services' keys (they
/// exclude each other, OSKeys.swift); after a key call the CDI is gone. 0, or -1 (refused: no CDI,
/// already taken, out of order).
@_cdecl("bulkhead_monitor_take_cdi_word")
public func bulkheadMonitorTakeCDIWord(_ index: UInt32, _ out: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guard hasCDI, let out = out, Int(index) == nextCDIWord, nextCDIWord < 8 else { return -1 }
    var word: UInt64 = 0
    var i = 7
    while i >= 0 { word = word << 8 | UInt64(nextStageCDI[8 * Int(index) + i]); i -= 1 }
    out.pointee = word
    word = 0
    if nextCDIWord == 0 {
        cdiUse = .handedOver
        wipeOSKeys()
    }
    nextCDIWord += 1
    if nextCDIWord == 8 {
        withUnsafeMutableBytes(of: &nextStageCDI) { secureZero($0) }
        hasCDI = false
    }
    return 0
}

@_cdecl("bulkhead_monitor_certificate_word")
public func bulkheadMonitorCertificateWord(_ index: UInt32, _ out: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guard hasCertificate, let out = out, index < 24 else { return -1 }
    var word: UInt64 = 0
    var i = 7
    while i >= 0 { word = word << 8 | UInt64(certificate[8 * Int(index) + i]); i -= 1 }
    out.pointee = word
    return 0
}

/// Signs the certificate (MonitorCertificate, docs/monitor.md) with the monitor's device key:
/// the next stage's measurement and the attestation public key it will derive from its CDI. The
/// seeds and both private keys are wiped here; the device key never leaves this function.
private func signCertificate(secret: SecretBytes, measurement: SHA512Digest, _ out: inout MonitorConsole) {
    var deviceSeed = KeyChain.monitorDeviceSeed(secret: secret)
    var attestationSeed = KeyChain.attestationSeed(hypervisorCDI: nextStageCDI)
    let device = withUnsafeBytes(of: &deviceSeed) { Ed25519PrivateKey(seed: $0) }
    let attestation = withUnsafeBytes(of: &attestationSeed) { Ed25519PrivateKey(seed: $0) }
    withUnsafeMutableBytes(of: &deviceSeed) { secureZero($0) }
    withUnsafeMutableBytes(of: &attestationSeed) { secureZero($0) }
    guard var device, var attestation else { return }
    let written = withUnsafeMutableBytes(of: &certificate) {
        MonitorCertificate.write(into: $0, measurement: measurement, publicKey: attestation.publicKey, deviceKey: device)
    }
    hasCertificate = written == MonitorCertificate.size
    out.write("[monitor] monitor device key: ")
    device.withPublicKeyBytes { out.write(hexBytes: $0) }
    out.write("\n")
    device.wipe()
    attestation.wipe()
}

private func headerBytes(_ imageAddress: UInt64) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: UInt(imageAddress &- UInt64(NextStageHeader.size))),
                           count: NextStageHeader.size)
}

/// RAM from the device tree's first /memory node; nil when the tree does not parse.
private func deviceTreeRAM() -> HostRegion? {
    guard let fdt = monitorFDT else { return nil }
    // totalsize: the big-endian u32 at offset 4 of the FDT header.
    let h = UnsafeRawBufferPointer(start: fdt, count: 8)
    let total = Int(h[4]) << 24 | Int(h[5]) << 16 | Int(h[6]) << 8 | Int(h[7])
    guard total >= 40, total <= 1 << 20 else { return nil }
    do {
        let host = try HostDescription(dtb: UnsafeRawBufferPointer(start: fdt, count: total))
        return host.ram.size > 0 ? host.ram : nil
    } catch {
        return nil
    }
}

/// The next stage's CDI = HKDF(device secret, its measurement) (KeyChain.hypervisorCDI), when the
/// flash holds a valid device secret record.
/// The plain OS's keys (OSKeys.swift) are derived from it too, with `signer` (the header's key id).
private func deriveCDI(_ measurement: SHA512Digest, signer: SigningKeyID, _ out: inout MonitorConsole) {
    guard let read = monitorFlashRead else {
        out.write("[monitor] device secret: no flash reader; no CDI for the next stage\n")
        return
    }
    var record = InlineArray<64, UInt8>(repeating: 0)
    let rc = withUnsafeMutableBytes(of: &record) { read(monitorFlashContext, deviceSecretOffset, $0.baseAddress, 64) }
    var (status, secret) = DeviceSecretRecord.decode(record)
    withUnsafeMutableBytes(of: &record) { secureZero($0) }
    guard rc == 0, status == .valid else {
        out.write("[monitor] device secret: "); DeviceSecretRecord.write(rc == 0 ? status : .erased, to: &out)
        out.write("; no CDI for the next stage\n")
        return
    }
    nextStageCDI = KeyChain.hypervisorCDI(secret: secret, identity: measurement)
    signCertificate(secret: secret, measurement: measurement, &out)
    withUnsafeMutableBytes(of: &secret) { secureZero($0) }
    hasCDI = true
    prepareOSKeys(cdi: nextStageCDI, measurement: measurement, signer: signer)
    out.write("[monitor] next stage CDI derived from the device secret and its measurement\n")
}
