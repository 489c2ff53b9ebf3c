// The system revision as the hypervisor runs it (per partition: the committed image, its security version, its policy digest) and the system report over it (docs/keys.md).
import BulkheadCore


/// What partition `p` is committed to: its image's digest and security version, and where the
/// image came from (UpdateTable.running: its bundle's image at the bundle's security version until
/// a partition update commits; `.trial` while a newer image runs on trial). The one accessor the
/// system report reads.
func partitionRevision(_ p: Int) -> (source: SystemReport.ImageSource, imageDigest: SHA512Digest, securityVersion: UInt64) {
    let running = updateLock.withLock { updateTable.running[p & (Limits.partitions - 1)] }
    return (running.source, running.digest, running.securityVersion)
}

/// Writes the system report for `caller` (SystemReport.write) signed with the device attestation
/// key; nil when the device has no key services.
func writeSystemReport(caller: Int, nonce: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
    guard system.keysAvailable, var key = system.attestationKey else { return nil }
    defer { key.wipe() }                       // the stack copy of the private key
    let summary = SystemReport.System(securityVersion: system.bundleSecurityVersion, identity: system.hypervisorIdentity,
                                     manifestDigest: system.bundleMeasurement, partitionCount: plan.count,
                                     channelCount: plan.channelCount, caller: caller)
    return SystemReport.write(into: output, nonce: nonce, system: summary, partition: { p in
        let revision = partitionRevision(p)
        return SystemReport.Partition(name: plan[p].name, source: revision.source, securityVersion: revision.securityVersion,
                                      imageDigest: revision.imageDigest,
                                      measurement: partitionState(p).pointee.keys.measurement,
                                      policyDigest: system.partitionPolicyDigest[p & (Limits.partitions - 1)])
    }, channel: { plan.channel($0) }, deviceKey: key)
}
