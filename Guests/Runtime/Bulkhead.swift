// The Bulkhead extension for Swift guests (docs/hypercalls.md): partition_info, send, receive, notify, doorbells, waiting for a doorbell; the key services (docs/keys.md): derive, seal, unseal, attest, random, attest_system; partition updates.
//
// The numbers are Core's (BulkheadExtension, BulkheadFunction, BulkheadReason, PartitionInfoLayout), so the
// guest and the kernel cannot disagree. Every call either succeeds or throws a `Bulkhead.Failure`
// carrying the SBI error (a0) and the Bulkhead reason (a1).
//
// Waiting: `notify` raises a supervisor software interrupt on the peer's vCPU 0. `waitForDoorbell`
// enables sie.SSIE, takes the interrupt (crt0's guest_wait_interrupt: QEMU 7.2 reads sip as 0 in
// VS-mode, so polling sip does not work) and clears sip.SSIP. The pending bit stays set until it is
// taken, so a doorbell rung before the wait is not lost: check the channel, wait, check again.

import GuestArch

public enum Bulkhead {
    /// A failed Bulkhead call: `error` is the SBI error (a0), `rawReason` the Bulkhead reason (a1).
    public struct Failure: Error, Sendable {
        public let error: Int64
        public let rawReason: UInt64

        public init(error: Int64, rawReason: UInt64) {
            self.error = error
            self.rawReason = rawReason
        }

        /// The reason, when a1 holds a known one.
        public var reason: BulkheadReason? { BulkheadReason(rawValue: rawReason) }
        /// The SBI error, when a0 holds a standard one.
        public var sbiError: SBIError? { SBIError(rawValue: error) }

        /// A malformed partition_info answer (the call succeeded but the block makes no sense).
        static let malformedInfo = Failure(error: SBIError.failed.rawValue, rawReason: 0)

        /// Writes e.g. `-3/unknown_channel` (the error, then the reason's name or number).
        public func write(to line: inout Line) {
            line.write(signed: error)
            line.write("/")
            if let reason { line.write(reason.name) } else { line.write(decimal: rawReason) }
        }
    }

    /// What `receive` got: the message length and the sender's partition id (stamped by the hypervisor).
    public struct Received: Sendable {
        public let length: Int
        public let sender: UInt8
    }

    /// The extension id, 0x0A004248.
    public static var eid: UInt64 { BulkheadExtension.eid }

    /// The extension the calls go to: the hypervisor's (the default), or, for a plain OS booted by
    /// the secure monitor, `SecureMonitorExtension.eid`, which offers derive, seal, unseal, attest
    /// and random with the same FIDs and arguments (docs/monitor.md). Set it before any call.
    nonisolated(unsafe) public static var target: UInt64 = BulkheadExtension.eid

    /// Whether the SBI implementation has the Bulkhead extension (probe_extension).
    public static var isPresent: Bool {
        let probe = SBI.probeExtension(BulkheadExtension.eid)
        return probe.succeeded && probe.value != 0
    }

    /// Any Bulkhead function with raw arguments (for test and fuzzing guests; use the typed calls).
    @inline(__always)
    public static func call(_ fid: UInt64, _ a0: UInt64 = 0, _ a1: UInt64 = 0, _ a2: UInt64 = 0, _ a3: UInt64 = 0) -> SBIResult {
        let r = guest_ecall(target, fid, a0, a1, a2, a3, 0, 0)
        return SBIResult(error: r.error, value: r.value)
    }

    @inline(__always)
    static func check(_ r: SBIResult) throws(Failure) -> UInt64 {
        guard r.error == 0 else { throw Failure(error: r.error, rawReason: r.value) }
        return r.value
    }

    static func address(_ p: UnsafeRawPointer?) -> UInt64 { UInt64(UInt(bitPattern: p)) }

    // MARK: The calls

    /// partition_info into `buffer` as given (raw: no parsing). `value` = bytes written.
    public static func partitionInfo(into buffer: UnsafeMutableRawBufferPointer) -> SBIResult {
        call(BulkheadFunction.partitionInfo.rawValue, address(buffer.baseAddress), UInt64(buffer.count))
    }

    /// The caller's partition id, name and channels.
    public static func partitionInfo() throws(Failure) -> PartitionInfo {
        // 792 bytes, 8-byte aligned (an array of UInt64).
        var block = InlineArray<99, UInt64>(repeating: 0)
        let result: Result<PartitionInfo, Failure> = withUnsafeMutableBytes(of: &block) { raw in
            let r = partitionInfo(into: raw)
            guard r.error == 0 else { return .failure(Failure(error: r.error, rawReason: r.value)) }
            guard let info = PartitionInfo(UnsafeRawBufferPointer(raw), written: r.value) else {
                return .failure(Failure.malformedInfo)
            }
            return .success(info)
        }
        return try result.get()
    }

    /// Queues `message` (8-byte aligned, at most the channel's message size) for the peer.
    public static func send(_ channel: UInt16, _ message: UnsafeRawBufferPointer) throws(Failure) {
        _ = try check(call(BulkheadFunction.send.rawValue, UInt64(channel), address(message.baseAddress), UInt64(message.count)))
    }

    /// Copies the oldest message for the caller into `buffer` (8-byte aligned). Throws FAILED/`empty`
    /// when none waits, INVALID_PARAM/`buffer_too_small` when it does not fit (it stays queued).
    public static func receive(_ channel: UInt16, into buffer: UnsafeMutableRawBufferPointer) throws(Failure) -> Received {
        let value = try check(call(BulkheadFunction.receive.rawValue, UInt64(channel), address(buffer.baseAddress),
                                   UInt64(buffer.count)))
        return Received(length: Int(ReceivedMessage.length(value)), sender: ReceivedMessage.sender(value))
    }

    /// Rings the peer's doorbell on `channel`.
    public static func notify(_ channel: UInt16) throws(Failure) {
        _ = try check(call(BulkheadFunction.notify.rawValue, UInt64(channel)))
    }

    /// The channels (bit n = channel id n) whose doorbell rang for the caller since the last call.
    public static func doorbells() throws(Failure) -> UInt64 {
        try check(call(BulkheadFunction.doorbells.rawValue))
    }

    // MARK: Key services (docs/keys.md; each needs its service in the partition's `keys`)

    /// A 32-byte key.
    public typealias Key = InlineArray<32, UInt8>

    /// The 32-byte key derive(`label`) (1 to 64 bytes): bound to this partition's name, image and
    /// policy, this device's secret and this hypervisor build; the same on every boot.
    public static func derive(_ label: UnsafeRawBufferPointer) throws(Failure) -> Key {
        var words = InlineArray<4, UInt64>(repeating: 0)            // 8-byte aligned output
        let r = withUnsafeMutableBytes(of: &words) { out in
            call(BulkheadFunction.derive.rawValue, address(label.baseAddress), UInt64(label.count), address(out.baseAddress))
        }
        var key = Key(repeating: 0)
        if r.error == 0 {
            withUnsafeBytes(of: &words) { w in
                var i = 0
                while i < 32 { key[i] = w[i]; i &+= 1 }
            }
        }
        withUnsafeMutableBytes(of: &words) { secureZero($0) }
        _ = try check(r)
        return key
    }

    /// derive with a text label, e.g. `Bulkhead.derive(label: "disk key")`.
    public static func derive(label: StaticString) throws(Failure) -> Key {
        let result: Result<Key, Failure> = label.withUTF8Buffer { bytes in
            do throws(Failure) { return .success(try derive(UnsafeRawBufferPointer(bytes))) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Seals `data` (at most 4096 bytes) with `aad` (at most 256 bytes, authenticated, not stored)
    /// into `blob`, which needs `data.count + sealOverhead` bytes. Returns the blob length.
    /// `.image`: opens only for this partition name, image and policy; `.signer`: for this name in
    /// any bundle of the same signing key with the same or a newer security version.
    @discardableResult
    public static func seal(_ binding: SealedBlob.Binding, _ data: UnsafeRawBufferPointer,
                            aad: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
                            into blob: UnsafeMutableRawBufferPointer) throws(Failure) -> Int {
        Int(try request(BulkheadFunction.seal.rawValue, UInt64(binding.rawValue), data, aad, blob))
    }

    /// Opens `blob` with the `aad` it was sealed with into `plaintext`. Returns the plaintext length.
    /// FAILED/`not_authentic`: not this partition's blob (or changed); DENIED/`version_too_low`:
    /// signer-bound by a newer security version; INVALID_PARAM/`bad_blob`: not a sealed blob.
    @discardableResult
    public static func unseal(_ blob: UnsafeRawBufferPointer,
                              aad: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
                              into plaintext: UnsafeMutableRawBufferPointer) throws(Failure) -> Int {
        Int(try request(BulkheadFunction.unseal.rawValue, 0, blob, aad, plaintext))
    }

    /// A blob is the plaintext length plus this (32-byte header, 16-byte tag).
    public static var sealOverhead: Int { SealedBlob.overhead }

    /// seal/unseal with their 48-byte request block (8-byte aligned, on the stack).
    static func request(_ fid: UInt64, _ a0: UInt64, _ data: UnsafeRawBufferPointer, _ aad: UnsafeRawBufferPointer,
                        _ out: UnsafeMutableRawBufferPointer) throws(Failure) -> UInt64 {
        var block = InlineArray<6, UInt64>(repeating: 0)
        let r = withUnsafeMutableBytes(of: &block) { raw in
            // An empty buffer gets an address in the caller's RAM (the block's own): the hypervisor
            // checks every address, even of zero bytes, and a nil buffer's is 0.
            let here = address(raw.baseAddress)
            func at(_ p: UnsafeRawPointer?, _ count: Int) -> UInt64 { count == 0 ? here : address(p) }
            let words: InlineArray<6, UInt64> = [at(data.baseAddress, data.count), UInt64(data.count),
                                                 at(aad.baseAddress, aad.count), UInt64(aad.count),
                                                 at(out.baseAddress, out.count), UInt64(out.count)]
            var i = 0
            while i < 6 { raw.storeBytes(of: words[i].littleEndian, toByteOffset: 8 * i, as: UInt64.self); i &+= 1 }
            return call(fid, a0, here)
        }
        return try check(r)
    }

    /// An attestation report over `nonce` (its first 32 bytes, zero padded) into `report` (8-byte
    /// aligned). Returns its length.
    @discardableResult
    public static func attest(nonce: UnsafeRawBufferPointer, into report: UnsafeMutableRawBufferPointer) throws(Failure) -> Int {
        var aligned = InlineArray<4, UInt64>(repeating: 0)
        withUnsafeMutableBytes(of: &aligned) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: nonce.prefix(32))) }
        let r = withUnsafeBytes(of: &aligned) { n in
            call(BulkheadFunction.attest.rawValue, address(n.baseAddress), address(report.baseAddress), UInt64(report.count))
        }
        return Int(try check(r))
    }

    /// The system report (docs/keys.md) over `nonce` (its first 32 bytes, zero padded) into
    /// `report` (8-byte aligned; `SystemReport.maxSize` bytes always suffice). Returns its length.
    @discardableResult
    public static func attestSystem(nonce: UnsafeRawBufferPointer, into report: UnsafeMutableRawBufferPointer) throws(Failure) -> Int {
        var aligned = InlineArray<4, UInt64>(repeating: 0)
        withUnsafeMutableBytes(of: &aligned) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: nonce.prefix(32))) }
        let r = withUnsafeBytes(of: &aligned) { n in
            call(BulkheadFunction.attestSystem.rawValue, address(n.baseAddress), address(report.baseAddress), UInt64(report.count))
        }
        return Int(try check(r))
    }

    /// Fills `output` from the hypervisor's DRBG, in calls of at most 256 bytes (none for an empty buffer).
    public static func random(into output: UnsafeMutableRawBufferPointer) throws(Failure) {
        var done = 0
        while done < output.count {
            let n = min(output.count &- done, Int(KeyService.maxRandom))
            _ = try check(call(BulkheadFunction.random.rawValue, address(output.baseAddress!.advanced(by: done)), UInt64(n)))
            done &+= n
        }
    }

    // MARK: Keystore (docs/keys.md; needs `keystore` in the partition's `keys`)

    /// A key in this partition's keystore. The key itself never leaves the hypervisor; the handle
    /// stays valid across reboots until `destroy`.
    public struct KeyHandle: Equatable {
        public var raw: UInt64
        public init(raw: UInt64) { self.raw = raw }
    }
    /// An Ed25519 signature, an HMAC-SHA512 tag, an Ed25519 public key (8-byte aligned storage).
    public typealias Signature = InlineArray<8, UInt64>
    public typealias Tag = InlineArray<8, UInt64>
    public typealias PublicKey = InlineArray<4, UInt64>

    /// A new key for `usage` (from the hypervisor's DRBG), persisted in flash.
    public static func generateKey(_ usage: KeyUsage) throws(Failure) -> KeyHandle {
        KeyHandle(raw: try check(call(BulkheadFunction.keyGenerate.rawValue, UInt64(usage.rawValue))))
    }

    /// Stores `material` for `usage`: a sign key's 32-byte Ed25519 seed, or a 16 to 64-byte mac key.
    public static func importKey(_ usage: KeyUsage, _ material: UnsafeRawBufferPointer) throws(Failure) -> KeyHandle {
        KeyHandle(raw: try check(call(BulkheadFunction.keyImport.rawValue, UInt64(usage.rawValue),
                                      address(material.baseAddress), UInt64(material.count))))
    }

    /// The Ed25519 signature of `message` (at most 4096 bytes) by the sign key `key`.
    public static func sign(_ key: KeyHandle, _ message: UnsafeRawBufferPointer) throws(Failure) -> Signature {
        try keyOverMessage(.keySign, key, message)
    }

    /// The HMAC-SHA512 tag of `message` (at most 4096 bytes) under the mac key `key`.
    public static func mac(_ key: KeyHandle, _ message: UnsafeRawBufferPointer) throws(Failure) -> Tag {
        try keyOverMessage(.keyMAC, key, message)
    }

    /// key_sign or key_mac: 64 bytes over `message`.
    static func keyOverMessage(_ function: BulkheadFunction, _ key: KeyHandle, _ message: UnsafeRawBufferPointer) throws(Failure) -> InlineArray<8, UInt64> {
        var out = InlineArray<8, UInt64>(repeating: 0)
        let r = withUnsafeMutableBytes(of: &out) { o in
            call(function.rawValue, key.raw, address(message.baseAddress), UInt64(message.count), address(o.baseAddress))
        }
        _ = try check(r)
        return out
    }

    /// The public key of the sign key `key`.
    public static func publicKey(_ key: KeyHandle) throws(Failure) -> PublicKey {
        var out = PublicKey(repeating: 0)
        let r = withUnsafeMutableBytes(of: &out) { o in call(BulkheadFunction.keyPublic.rawValue, key.raw, address(o.baseAddress)) }
        _ = try check(r)
        return out
    }

    /// Destroys `key` in memory and in flash.
    public static func destroyKey(_ key: KeyHandle) throws(Failure) {
        _ = try check(call(BulkheadFunction.keyDestroy.rawValue, key.raw))
    }

    // MARK: Partition updates (docs/hypercalls.md, "Partition updates"; 16-18 need the target in the caller's `update` policy)

    /// What update_status says about a partition.
    public struct UpdateStatus: Sendable {
        public let raw: UInt64
        public init(raw: UInt64) { self.raw = raw }
        /// 0 none, 1 trial, 2 committed, 3 rolled back, 4 refused.
        public var state: UInt8 { UInt8(truncatingIfNeeded: raw) }
        /// The last reason (a `BulkheadReason` raw value; 0: none).
        public var reason: UInt64 { (raw >> 8) & 0xFF }
        /// The security version of the image the partition runs (0: its bundle's image).
        public var securityVersion: UInt64 { raw >> 16 }

        public static let none: UInt8 = 0, trial: UInt8 = 1, committed: UInt8 = 2, rolledBack: UInt8 = 3, refused: UInt8 = 4
    }

    /// update_stage: copies `chunk` (in the caller's RAM) to `offset` of the update staged for
    /// partition `target` (offset 0 starts a new one). Returns the bytes staged so far.
    @discardableResult
    public static func updateStage(target: Int, offset: Int, _ chunk: UnsafeRawBufferPointer) throws(Failure) -> Int {
        Int(try check(call(BulkheadFunction.updateStage.rawValue, UInt64(target), UInt64(offset),
                           address(chunk.baseAddress), UInt64(chunk.count))))
    }

    /// update_apply: verifies the `length` staged bytes as an update of `target` and restarts it on
    /// the new image, on trial for `deadlineMilliseconds` (0: 10 s).
    public static func updateApply(target: Int, length: Int, deadlineMilliseconds: UInt64 = 0) throws(Failure) {
        _ = try check(call(BulkheadFunction.updateApply.rawValue, UInt64(target), UInt64(length), deadlineMilliseconds))
    }

    /// update_status of `target` (or of the caller itself).
    public static func updateStatus(target: Int) throws(Failure) -> UpdateStatus {
        UpdateStatus(raw: try check(call(BulkheadFunction.updateStatus.rawValue, UInt64(target))))
    }

    /// update_commit: the caller, running an image on trial, keeps it.
    public static func updateCommit() throws(Failure) {
        _ = try check(call(BulkheadFunction.updateCommit.rawValue))
    }

    // MARK: Waiting

    static let softwareInterruptBit: UInt64 = 1 << 1            // sie.SSIE / sip.SSIP
    static let softwareInterruptCause: UInt64 = 1 << 63 | 1     // scause of a supervisor software interrupt

    /// Waits (in `wfi`) until a doorbell interrupt is taken or `time` reaches `deadline`
    /// (`UInt64.max`: no deadline). Returns true for a doorbell (sip.SSIP is then cleared: call
    /// `doorbells()` or look at the channels), false at the deadline. An SBI IPI from another vCPU
    /// of the same partition also counts as a doorbell.
    public static func waitForDoorbell(until deadline: UInt64 = UInt64.max) -> Bool {
        let timed = deadline != UInt64.max
        var enabled = softwareInterruptBit
        if timed {
            if Timer.now() >= deadline { return false }
            if SBI.setTimer(deadline).succeeded { enabled |= Timer.supervisorTimerBit }
        }
        guest_set_sie(enabled)
        var rang = false
        while true {
            if timed && Timer.now() >= deadline { break }
            let cause = guest_wait_interrupt()
            if cause == softwareInterruptCause {
                guest_clear_sip(softwareInterruptBit)
                rang = true
                break
            }
            if cause != Timer.timerInterruptCause { guestTrap(scause: UInt(cause), sepc: 0, stval: 0) }
            if enabled & Timer.supervisorTimerBit == 0 { break }    // no deadline was set: cannot happen
        }
        guest_clear_sie(enabled)
        if enabled & Timer.supervisorTimerBit != 0 { _ = SBI.setTimer(UInt64.max) }
        return rang
    }
}

/// One channel the partition is an endpoint of (an entry of partition_info).
public struct ChannelInfo: Sendable {
    public var name = ChannelName()
    public var id: UInt16 = 0
    /// 1 = queue, 2 = shared memory (`ChannelKind`); nil for an unknown value.
    public var kind: ChannelKind? = nil
    public var flags: UInt8 = 0
    /// The caller's end (0 or 1) and the other end's partition id.
    public var endpoint: UInt8 = 0
    public var peer: UInt8 = 0
    public var depth: UInt32 = 0
    public var messageSize: UInt32 = 0
    public var sharedAddress: UInt64 = 0
    public var sharedSize: UInt64 = 0

    public init() {}

    /// Queue: the caller may send; shared memory: the caller may write.
    public var maySend: Bool { flags & PartitionInfoLayout.EntryFlags.maySend != 0 }
    /// Queue: the peer may send to the caller.
    public var mayReceive: Bool { flags & PartitionInfoLayout.EntryFlags.mayReceive != 0 }
    public var hasDoorbell: Bool { flags & PartitionInfoLayout.EntryFlags.doorbell != 0 }
    /// The channel's bit in the `doorbells()` mask.
    public var doorbellBit: UInt64 { id < 64 ? 1 << UInt64(id) : 0 }

    public func isNamed(_ text: StaticString) -> Bool { fixedTextEquals(name, text) }
}

/// What partition_info told the caller.
public struct PartitionInfo: Sendable {
    public var partitionID: UInt16 = 0
    public var name = PartitionName()
    public var channelCount = 0
    public var channels = InlineArray<16, ChannelInfo>(repeating: ChannelInfo())

    public init() {}

    /// Parses the block partition_info wrote (`written` bytes); nil when it is malformed.
    public init?(_ block: UnsafeRawBufferPointer, written: UInt64) {
        typealias L = PartitionInfoLayout
        guard block.count >= L.headerSize, written >= UInt64(L.headerSize), written <= UInt64(block.count) else { return nil }
        func u16(_ o: Int) -> UInt16 { UInt16(block[o]) | UInt16(block[o + 1]) << 8 }
        func u32(_ o: Int) -> UInt32 { UInt32(u16(o)) | UInt32(u16(o + 2)) << 16 }
        func u64(_ o: Int) -> UInt64 { UInt64(u32(o)) | UInt64(u32(o + 4)) << 32 }
        guard u16(L.versionOffset) == L.version, Int(u16(L.entrySizeOffset)) == L.entrySize else { return nil }
        let count = Int(u16(L.channelCountOffset))
        guard count <= ChannelLimits.maxChannels, UInt64(L.headerSize + count * L.entrySize) <= written else { return nil }
        partitionID = u16(L.partitionIDOffset)
        name = zeroPaddedText(block, at: L.nameOffset)
        channelCount = count
        var i = 0
        while i < count {
            let e = L.headerSize + i * L.entrySize
            var c = ChannelInfo()
            c.name = zeroPaddedText(block, at: e + L.entryName)
            c.id = u16(e + L.entryID)
            c.kind = ChannelKind(rawValue: block[e + L.entryKind])
            c.flags = block[e + L.entryFlags]
            c.endpoint = block[e + L.entryEndpoint]
            c.peer = block[e + L.entryPeer]
            c.depth = u32(e + L.entryDepth)
            c.messageSize = u32(e + L.entryMessageSize)
            c.sharedAddress = u64(e + L.entrySharedAddress)
            c.sharedSize = u64(e + L.entrySharedSize)
            channels[i] = c
            i += 1
        }
    }

    public func isNamed(_ text: StaticString) -> Bool { fixedTextEquals(name, text) }

    /// The channel called `text`, if the caller is one of its endpoints.
    public func channel(named text: StaticString) -> ChannelInfo? {
        var i = 0
        while i < channelCount {
            if channels[i].isNamed(text) { return channels[i] }
            i += 1
        }
        return nil
    }
}

/// 16 zero-padded bytes at `offset` as text (up to the first zero).
private func zeroPaddedText(_ block: UnsafeRawBufferPointer, at offset: Int) -> FixedText<16> {
    var n = 0
    while n < 16 && block[offset + n] != 0 { n += 1 }
    return FixedText<16>(bytes: UnsafeRawBufferPointer(rebasing: block[offset..<(offset + n)])) ?? FixedText<16>()
}

private func fixedTextEquals(_ text: FixedText<16>, _ other: StaticString) -> Bool {
    other.withUTF8Buffer { needle in
        text.withBytes { (bytes) -> Bool in
            guard bytes.count == needle.count else { return false }
            var i = 0
            while i < bytes.count { if bytes[i] != needle[i] { return false }; i += 1 }
            return true
        }
    }
}

extension Line {
    /// Writes a partition or channel name.
    public mutating func write(text: FixedText<16>) {
        text.withBytes { write(bytes: $0) }
    }
}

extension BulkheadReason {
    /// The reason's name as docs/hypercalls.md spells it, e.g. `unknown_channel`.
    public var name: StaticString {
        switch self {
        case .unknownChannel: return "unknown_channel"
        case .notEndpoint: return "not_endpoint"
        case .wrongKind: return "wrong_kind"
        case .wrongDirection: return "wrong_direction"
        case .misaligned: return "misaligned"
        case .tooLong: return "too_long"
        case .badAddress: return "bad_address"
        case .full: return "full"
        case .empty: return "empty"
        case .policyDenied: return "policy_denied"
        case .noDoorbell: return "no_doorbell"
        case .bufferTooSmall: return "buffer_too_small"
        case .unknownFunction: return "unknown_function"
        case .noDeviceSecret: return "no_device_secret"
        case .badBlob: return "bad_blob"
        case .notAuthentic: return "not_authentic"
        case .versionTooLow: return "version_too_low"
        case .badBinding: return "bad_binding"
        case .unknownHandle: return "unknown_handle"
        case .notOwner: return "not_owner"
        case .keystoreFull: return "keystore_full"
        case .wrongUsage: return "wrong_usage"
        case .badUsage: return "bad_usage"
        case .badKeyLength: return "bad_key_length"
        case .storageFailed: return "storage_failed"
        case .busy: return "busy"
        case .updateTooLarge: return "update_too_large"
        case .updateMalformed: return "update_malformed"
        case .updateUntrusted: return "update_untrusted"
        case .updateRollback: return "update_rollback"
        case .updateMismatch: return "update_mismatch"
        case .notOnTrial: return "not_on_trial"
        case .trialFaulted: return "trial_faulted"
        case .trialReset: return "trial_reset"
        case .trialDeadline: return "trial_deadline"
        }
    }
}
