// Key services for a plain OS started by the monitor: Core's KeyService over keys from the next stage's CDI.
//
// The plain OS is one partition named "os" (docs/monitor.md): its keys are
// KeyChain.partitionKeys(hypervisorCDI: the CDI the monitor derived for the next stage, name "os",
// image digest = the monitor's measurement, signing key = the next-stage header's key id), so
// derive, seal/unseal, attest and random are the functions the hypervisor offers its partitions.
// They are computed when the stage is verified and kept here (in the firmware's PMP-protected
// memory). The key services and get_cdi exclude each other: the first one used decides, and the
// other's secrets are wiped then (a hypervisor takes the CDI and serves keys itself; a plain OS
// uses the services and never sees the CDI).
import BulkheadCore

/// Which use of the next stage's CDI won (the first one used).
enum CDIUse { case undecided, handedOver, keyServices }

nonisolated(unsafe) var cdiUse = CDIUse.undecided
nonisolated(unsafe) var osKeys = PartitionKeys()
nonisolated(unsafe) var hasOSKeys = false
nonisolated(unsafe) var osAttestationSeed = SecretBytes(repeating: 0)
nonisolated(unsafe) var osDRBGKey = SecretBytes(repeating: 0)
nonisolated(unsafe) var osDRBG = DRBG(seed: SecretBytes(repeating: 0))
nonisolated(unsafe) var osDRBGSeeded = false
/// The device tree's RAM: the only memory the services accept buffers in (the glue has already
/// checked them against the caller's OpenSBI domain).
nonisolated(unsafe) var osRAM = HostRegion(base: HostPhysAddr(0), size: 0)

/// The plain OS's partition: name "os", every key service except the keystore (the monitor has
/// no flash writer), no devices, no flags.
func osSpec() -> PartitionSpec {
    var spec = PartitionSpec()
    spec.name = osName()
    spec.keyPolicy = KeyPolicy(raw: KeyPolicy.derive.raw | KeyPolicy.seal.raw | KeyPolicy.attest.raw | KeyPolicy.random.raw)
    return spec
}

func osName() -> PartitionName {
    var bytes: InlineArray<2, UInt8> = [0x6F, 0x73]                    // "os"
    return withUnsafeBytes(of: &bytes) { PartitionName(bytes: $0) } ?? PartitionName()
}

/// Derives and keeps the plain OS's keys from the next stage's `cdi` (called after verify).
func prepareOSKeys(cdi: CDI, measurement: SHA512Digest, signer: SigningKeyID) {
    wipeOSKeys()
    osKeys = KeyChain.partitionKeys(hypervisorCDI: cdi, spec: osSpec(), imageDigest: measurement, signingKey: signer)
    osAttestationSeed = KeyChain.attestationSeed(hypervisorCDI: cdi)
    osDRBGKey = KeyChain.drbgKey(hypervisorCDI: cdi)
    hasOSKeys = true
}

/// Wipes everything the key services hold; they refuse every call afterwards.
func wipeOSKeys() {
    osKeys.wipe()
    withUnsafeMutableBytes(of: &osAttestationSeed) { secureZero($0) }
    withUnsafeMutableBytes(of: &osDRBGKey) { secureZero($0) }
    osDRBG.wipe()
    osDRBGSeeded = false
    hasOSKeys = false
}

/// The plain OS as Core's KeyService sees it: memory = RAM (identity-mapped), policy, keys, DRBG,
/// attestation; no keystore.
struct OSKeyEnvironment: KeyEnvironment {
    /// A per-boot value from the firmware (its timer and cycle counter), mixed into the DRBG seed.
    var bootValue: UInt64

    var memory: GuestMemory { GuestMemory(guestBase: GuestPhysAddr(osRAM.base.raw), host: osRAM) }
    var keyPolicy: KeyPolicy { cdiUse == .handedOver ? KeyPolicy() : osSpec().keyPolicy }
    /// The accepted next stage's security version (its header's).
    var securityVersion: UInt64 { acceptedSecurityVersion }

    func withPartitionKeys<R>(_ body: (PartitionKeys) -> R) -> R? {
        hasOSKeys ? body(osKeys) : nil
    }

    /// The DRBG is seeded at the first request: HKDF(DRBG key from the CDI, this boot's counter
    /// from the monitor's record, SHA-512 of the firmware's boot value) (KeyChain.drbgSeed). The
    /// counter makes every boot's seed differ even when the boot value repeats; without it, no
    /// random output (and so no sealing).
    mutating func randomBytes(_ output: UnsafeMutableRawBufferPointer) -> Bool {
        guard hasOSKeys, hasBootCounter else { return false }
        if !osDRBGSeeded {
            var value = bootValue.littleEndian
            let entropy = withUnsafeBytes(of: &value) { SHA512.hash($0) }
            osDRBG = DRBG(seed: KeyChain.drbgSeed(secret: osDRBGKey, bootCounter: monitorBootCounter, entropy: entropy))
            withUnsafeMutableBytes(of: &osDRBGKey) { secureZero($0) }
            osDRBGSeeded = true
        }
        return osDRBG.fill(output)
    }

    /// The report for "os", identity = the monitor's measurement, signed by the attestation key
    /// of the next stage's CDI (the key the hypervisor would use; docs/keys.md).
    mutating func attestationReport(nonce: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        guard hasOSKeys else { return nil }
        var seed = osAttestationSeed
        let expanded = withUnsafeBytes(of: &seed) { Ed25519PrivateKey(seed: $0) }
        withUnsafeMutableBytes(of: &seed) { secureZero($0) }
        guard var key = expanded else { return nil }
        let written = AttestationReport.write(into: output, securityVersion: securityVersion, identity: acceptedMeasurement,
                                              name: osName(), keys: osKeys, nonce: nonce, deviceKey: key)
        key.wipe()
        return written
    }

    func readKeystore<R>(_ body: (borrowing PartitionKeystore) throws(BulkheadReason) -> R) throws(BulkheadReason) -> R {
        throw .policyDenied
    }

    func updateKeystore(_ change: (inout PartitionKeystore) throws(BulkheadReason) -> UInt64) throws(BulkheadReason) -> UInt64 {
        throw .policyDenied
    }
}

/// Called by the stack-switching entry (MonitorEntry.S) on the library's own stack: performs key
/// call `fid` (the Bulkhead extension's derive 5, seal 6, unseal 7, attest 8, random 9) with the
/// already-checked arguments; the SBI error, with a1 (the result or the reason) in *value.
@_cdecl("bulkhead_monitor_key_call_on_stack")
public func bulkheadMonitorKeyCallOnStack(_ fid: UInt64, _ a0: UInt64, _ a1: UInt64, _ a2: UInt64, _ bootValue: UInt64,
                                          _ value: UnsafeMutablePointer<UInt64>?) -> Int64 {
    guard let value else { return SBIError.invalidParam.rawValue }
    let call = BulkheadCall.decode(fid: fid, a0: a0, a1: a1, a2: a2)
    switch call {
    case .derive, .seal, .unseal, .attest, .random: break
    default:
        value.pointee = 0
        return SBIError.notSupported.rawValue
    }
    // The first key call decides: from now on the CDI is not handed out.
    if cdiUse == .undecided {
        cdiUse = .keyServices
        withUnsafeMutableBytes(of: &nextStageCDI) { secureZero($0) }
        hasCDI = false
    }
    var env = OSKeyEnvironment(bootValue: bootValue)
    let result = KeyService.handle(call, &env)
    value.pointee = result.value
    return result.error
}
