// The C guest SDK (Guests/SDK/bulkhead.h) spells the Bulkhead extension's numbers again: every
// #define must equal Core's value (BulkheadExtension, BulkheadFunction, BulkheadReason, PartitionInfoLayout,
// ChannelKind, SBIError, and the key services' KeyService, SealedBlob), and every Core number must
// have its #define, so the two cannot drift.

import Foundation
import Testing
@testable import BulkheadCore

/// `#define NAME VALUE` lines of the header (VALUE a decimal or hex integer, optionally `(-N)`).
private func headerDefines() throws -> [String: Int64] {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let text = try String(contentsOf: root.appendingPathComponent("Guests/SDK/bulkhead.h"), encoding: .utf8)
    var defines: [String: Int64] = [:]
    for line in text.split(separator: "\n") {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard words.count >= 3, words[0] == "#define" else { continue }
        var value = String(words[2])
        if value.hasPrefix("(") && value.hasSuffix(")") { value = String(value.dropFirst().dropLast()) }
        let negative = value.hasPrefix("-")
        if negative { value.removeFirst() }
        let parsed = value.hasPrefix("0x") ? Int64(value.dropFirst(2), radix: 16) : Int64(value, radix: 10)
        guard let number = parsed else { continue }      // e.g. BULKHEAD_INLINE
        defines[String(words[1])] = negative ? -number : number
    }
    return defines
}

/// Every number the header must define, with Core's value.
private let expected: [(String, Int64)] = {
    typealias L = PartitionInfoLayout
    var list: [(String, Int64)] = [
        ("BULKHEAD_EID", Int64(BulkheadExtension.eid)),
        ("BULKHEAD_MONITOR_EID", Int64(SecureMonitorExtension.eid)),
        ("BULKHEAD_MONITOR_FID_GET_VERSION", Int64(SecureMonitorExtension.Function.getVersion.rawValue)),
        ("BULKHEAD_MONITOR_FID_GET_MEASUREMENT", Int64(SecureMonitorExtension.Function.getMeasurement.rawValue)),
        ("BULKHEAD_MONITOR_FID_GET_CDI", Int64(SecureMonitorExtension.Function.getCDI.rawValue)),
        ("BULKHEAD_MONITOR_API_VERSION", Int64(SecureMonitorExtension.apiVersion)),
        ("BULKHEAD_FID_PARTITION_INFO", Int64(BulkheadFunction.partitionInfo.rawValue)),
        ("BULKHEAD_FID_SEND", Int64(BulkheadFunction.send.rawValue)),
        ("BULKHEAD_FID_RECEIVE", Int64(BulkheadFunction.receive.rawValue)),
        ("BULKHEAD_FID_NOTIFY", Int64(BulkheadFunction.notify.rawValue)),
        ("BULKHEAD_FID_DOORBELLS", Int64(BulkheadFunction.doorbells.rawValue)),
        ("BULKHEAD_FID_DERIVE", Int64(BulkheadFunction.derive.rawValue)),
        ("BULKHEAD_FID_SEAL", Int64(BulkheadFunction.seal.rawValue)),
        ("BULKHEAD_FID_UNSEAL", Int64(BulkheadFunction.unseal.rawValue)),
        ("BULKHEAD_FID_ATTEST", Int64(BulkheadFunction.attest.rawValue)),
        ("BULKHEAD_FID_RANDOM", Int64(BulkheadFunction.random.rawValue)),
        ("BULKHEAD_FID_KEY_GENERATE", Int64(BulkheadFunction.keyGenerate.rawValue)),
        ("BULKHEAD_FID_KEY_IMPORT", Int64(BulkheadFunction.keyImport.rawValue)),
        ("BULKHEAD_FID_KEY_SIGN", Int64(BulkheadFunction.keySign.rawValue)),
        ("BULKHEAD_FID_KEY_MAC", Int64(BulkheadFunction.keyMAC.rawValue)),
        ("BULKHEAD_FID_KEY_PUBLIC", Int64(BulkheadFunction.keyPublic.rawValue)),
        ("BULKHEAD_FID_KEY_DESTROY", Int64(BulkheadFunction.keyDestroy.rawValue)),
        ("BULKHEAD_FID_ATTEST_SYSTEM", Int64(BulkheadFunction.attestSystem.rawValue)),
        ("BULKHEAD_FID_UPDATE_STAGE", Int64(BulkheadFunction.updateStage.rawValue)),
        ("BULKHEAD_FID_UPDATE_APPLY", Int64(BulkheadFunction.updateApply.rawValue)),
        ("BULKHEAD_FID_UPDATE_STATUS", Int64(BulkheadFunction.updateStatus.rawValue)),
        ("BULKHEAD_FID_UPDATE_COMMIT", Int64(BulkheadFunction.updateCommit.rawValue)),
        ("BULKHEAD_UPDATE_NONE", Int64(UpdateState.none.rawValue)),
        ("BULKHEAD_UPDATE_TRIAL", Int64(UpdateState.trial.rawValue)),
        ("BULKHEAD_UPDATE_COMMITTED", Int64(UpdateState.committed.rawValue)),
        ("BULKHEAD_UPDATE_ROLLED_BACK", Int64(UpdateState.rolledBack.rawValue)),
        ("BULKHEAD_UPDATE_REFUSED", Int64(UpdateState.refused.rawValue)),
        ("BULKHEAD_SBI_SUCCESS", 0),
        ("BULKHEAD_SBI_ERR_FAILED", SBIError.failed.rawValue),
        ("BULKHEAD_SBI_ERR_NOT_SUPPORTED", SBIError.notSupported.rawValue),
        ("BULKHEAD_SBI_ERR_INVALID_PARAM", SBIError.invalidParam.rawValue),
        ("BULKHEAD_SBI_ERR_DENIED", SBIError.denied.rawValue),
        ("BULKHEAD_SBI_ERR_INVALID_ADDRESS", SBIError.invalidAddress.rawValue),
        ("BULKHEAD_INFO_VERSION", Int64(L.version)),
        ("BULKHEAD_INFO_HEADER_SIZE", Int64(L.headerSize)),
        ("BULKHEAD_INFO_ENTRY_SIZE", Int64(L.entrySize)),
        ("BULKHEAD_MAX_CHANNELS", Int64(ChannelLimits.maxChannels)),
        ("BULKHEAD_INFO_MAX_SIZE", Int64(L.maxSize)),
        ("BULKHEAD_INFO_VERSION_OFFSET", Int64(L.versionOffset)),
        ("BULKHEAD_INFO_PARTITION_ID_OFFSET", Int64(L.partitionIDOffset)),
        ("BULKHEAD_INFO_CHANNEL_COUNT_OFFSET", Int64(L.channelCountOffset)),
        ("BULKHEAD_INFO_ENTRY_SIZE_OFFSET", Int64(L.entrySizeOffset)),
        ("BULKHEAD_INFO_NAME_OFFSET", Int64(L.nameOffset)),
        ("BULKHEAD_ENTRY_NAME_OFFSET", Int64(L.entryName)),
        ("BULKHEAD_ENTRY_ID_OFFSET", Int64(L.entryID)),
        ("BULKHEAD_ENTRY_KIND_OFFSET", Int64(L.entryKind)),
        ("BULKHEAD_ENTRY_FLAGS_OFFSET", Int64(L.entryFlags)),
        ("BULKHEAD_ENTRY_ENDPOINT_OFFSET", Int64(L.entryEndpoint)),
        ("BULKHEAD_ENTRY_PEER_OFFSET", Int64(L.entryPeer)),
        ("BULKHEAD_ENTRY_DEPTH_OFFSET", Int64(L.entryDepth)),
        ("BULKHEAD_ENTRY_MESSAGE_SIZE_OFFSET", Int64(L.entryMessageSize)),
        ("BULKHEAD_ENTRY_SHARED_ADDRESS_OFFSET", Int64(L.entrySharedAddress)),
        ("BULKHEAD_ENTRY_SHARED_SIZE_OFFSET", Int64(L.entrySharedSize)),
        ("BULKHEAD_KIND_QUEUE", Int64(ChannelKind.queue.rawValue)),
        ("BULKHEAD_KIND_SHARED_MEMORY", Int64(ChannelKind.sharedMemory.rawValue)),
        ("BULKHEAD_FLAG_MAY_SEND", Int64(L.EntryFlags.maySend)),
        ("BULKHEAD_FLAG_MAY_RECEIVE", Int64(L.EntryFlags.mayReceive)),
        ("BULKHEAD_FLAG_DOORBELL", Int64(L.EntryFlags.doorbell)),
        // Key services (docs/keys.md).
        ("BULKHEAD_KEY_SIZE", Int64(MemoryLayout<SecretBytes>.size)),
        ("BULKHEAD_DERIVE_MAX_LABEL", Int64(KeyService.maxLabel)),
        ("BULKHEAD_RANDOM_MAX", Int64(KeyService.maxRandom)),
        ("BULKHEAD_ATTEST_NONCE_SIZE", 32),
        ("BULKHEAD_SYSTEM_REPORT_MAX", Int64(SystemReport.maxSize)),
        ("BULKHEAD_SEAL_IMAGE", Int64(SealedBlob.Binding.image.rawValue)),
        ("BULKHEAD_SEAL_SIGNER", Int64(SealedBlob.Binding.signer.rawValue)),
        ("BULKHEAD_SEAL_REQUEST_SIZE", Int64(KeyService.requestSize)),
        ("BULKHEAD_SEAL_MAX_DATA", Int64(SealedBlob.maxData)),
        ("BULKHEAD_SEAL_MAX_AAD", Int64(SealedBlob.maxAAD)),
        ("BULKHEAD_SEAL_HEADER_SIZE", Int64(SealedBlob.headerSize)),
        ("BULKHEAD_SEAL_TAG_SIZE", Int64(SealedBlob.tagSize)),
        ("BULKHEAD_SEAL_OVERHEAD", Int64(SealedBlob.overhead)),
        ("BULKHEAD_SEAL_BLOB_VERSION", Int64(SealedBlob.version)),
        ("BULKHEAD_KEY_USAGE_SIGN", Int64(KeyUsage.sign.rawValue)),
        ("BULKHEAD_KEY_USAGE_MAC", Int64(KeyUsage.mac.rawValue)),
        ("BULKHEAD_KEYSTORE_SLOTS", Int64(PartitionKeystore.slotCount)),
        ("BULKHEAD_KEY_MAX_MESSAGE", Int64(KeystoreService.maxMessage)),
        ("BULKHEAD_KEY_SIGNATURE_SIZE", Int64(KeystoreService.signatureSize)),
        ("BULKHEAD_KEY_MAC_SIZE", Int64(KeystoreService.macSize)),
        ("BULKHEAD_KEY_PUBLIC_SIZE", Int64(KeystoreService.publicKeySize)),
        ("BULKHEAD_KEY_MAC_MIN_MATERIAL", Int64(KeySlot.minMACMaterial)),
        ("BULKHEAD_KEY_MAX_MATERIAL", Int64(KeySlot.maxMaterial)),
    ]
    for reason in allReasons {
        list.append(("BULKHEAD_REASON_" + reasonMacroName(reason), Int64(reason.rawValue)))
    }
    return list
}()

/// Every BulkheadReason: each raw value from 1 to 255 that is one (27-29 are reserved for
/// attest_system and unused, so the codes need not be dense).
private let allReasons: [BulkheadReason] = (1...255).compactMap { BulkheadReason(rawValue: UInt64($0)) }

/// `unknownChannel` -> `UNKNOWN_CHANNEL`.
private func reasonMacroName(_ reason: BulkheadReason) -> String {
    var out = ""
    for ch in String(describing: reason) {
        if ch.isUppercase { out += "_" }
        out += ch.uppercased()
    }
    return out
}

@Suite("Guest SDK header")
struct GuestSDKHeaderTests {
    @Test("every #define equals Core's value", arguments: expected.map { $0.0 })
    func defineMatchesCore(name: String) throws {
        let defines = try headerDefines()
        let want = try #require(expected.first { $0.0 == name }).1
        let got = try #require(defines[name], "bulkhead.h lacks #define \(name)")
        #expect(got == want, "bulkhead.h: \(name) = \(got), Core says \(want)")
    }

    @Test("every reason code has its #define, and the header defines no reason Core lacks")
    func reasonsComplete() throws {
        let defines = try headerDefines()
        #expect(allReasons.count == 35)   // 1-26, then 30-38 (27-29 reserved)
        let headerReasons = defines.filter { $0.key.hasPrefix("BULKHEAD_REASON_") }
        #expect(headerReasons.count == allReasons.count)
        for (name, value) in headerReasons {
            let reason = try #require(BulkheadReason(rawValue: UInt64(value)), "\(name) = \(value) is no BulkheadReason")
            #expect("BULKHEAD_REASON_" + reasonMacroName(reason) == name)
            // The SBI error that goes with it is one the header defines too.
            #expect(defines.values.contains(reason.sbiError.rawValue))
        }
    }

    @Test("the header defines nothing numeric that this test does not check")
    func noUncheckedDefines() throws {
        let defines = try headerDefines()
        let known = Set(expected.map { $0.0 })
        let unchecked = defines.keys.filter { !known.contains($0) }.sorted()
        #expect(unchecked.isEmpty, "unchecked #defines: \(unchecked)")
    }

    @Test("the largest partition_info block is 24 + 48 x 16 bytes")
    func maxSize() {
        #expect(PartitionInfoLayout.maxSize == 792)
    }
}
