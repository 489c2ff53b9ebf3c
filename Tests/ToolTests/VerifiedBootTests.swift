// Core's VerifiedBoot over a QEMU-virt flash image: slot order, fallback, rollback, truncation, state updates.

import BulkheadCore
import Crypto
import Foundation
import Testing
@testable import BulkheadTool

/// Records what the boot flow reports, as text.
private struct Recorder: VerifiedBootObserver {
    var lines: [String] = []
    mutating func stateRead(_ reading: StateReading) {
        lines.append("state: minimum \(reading.state.minimumSecurityVersion)")
    }
    mutating func slotRejected(_ slot: BootSlot, _ why: SlotRejection, bundle: BundleReader?) {
        var sink = StringSink()
        why.write(to: &sink, plan: bundle?.plan ?? PartitionPlan())
        lines.append("slot \(slot == .a ? "A" : "B") rejected: \(sink.text)")
    }
    mutating func stateWriteFailed(_ error: StateRegionError) {
        var sink = StringSink()
        error.write(to: &sink)
        lines.append("state write failed: \(sink.text)")
    }
}

/// A flash whose reads, or whose erases, fail (a broken device).
private struct BrokenFlash: FlashDevice {
    var inner: FlashImage
    var failReads = false
    var failErases = false
    var eraseBlockSize: Int { inner.eraseBlockSize }
    var size: Int { inner.size }
    func read(offset: Int, into buffer: UnsafeMutableRawBufferPointer) -> Bool {
        failReads ? false : inner.read(offset: offset, into: buffer)
    }
    mutating func erase(blockAt offset: Int) -> Bool { failErases ? false : inner.erase(blockAt: offset) }
    mutating func program(offset: Int, bytes: UnsafeRawBufferPointer) -> Bool { inner.program(offset: offset, bytes: bytes) }
}

/// A QEMU virt flash image, bundles signed by one vendor key, and a boot over them.
private final class Device {
    let layout = FlashLayout.qemuVirt
    var flash = FlashImage.blank(layout: FlashLayout.qemuVirt)
    let staging = UnsafeMutableRawBufferPointer.allocate(byteCount: 16 << 20, alignment: 16)
    let setup: SignedSetup
    var limits = KnownBoards.qemuVirt.defaultLimits
    var revoked = RevokedKeys()

    init() throws {
        setup = try SignedSetup(version: 5)
    }

    deinit {
        staging.deallocate()
        setup.ws.remove()
    }

    /// A bundle of the setup's plan at `version`, signed with the vendor key.
    func bundle(version: UInt64) throws -> [UInt8] {
        let path = setup.ws.directory + "/v\(version).bin"
        _ = try Commands.pack(configPath: setup.config, output: path, keyPath: setup.key.privatePath,
                              securityVersion: version, board: BoardOptions())
        return [UInt8](FileManager.default.contents(atPath: path)!)
    }

    func write(_ bytes: [UInt8], to slot: BootSlot) {
        let range = layout.range(slot)
        var offset = range.offset
        while offset < range.offset + range.size {
            let erased = flash.erase(blockAt: offset)
            #expect(erased)
            offset += layout.eraseBlockSize
        }
        let ok = bytes.withUnsafeBytes { flash.program(offset: range.offset, bytes: $0) }
        #expect(ok)
    }

    var boot: VerifiedBoot {
        let key = try! SigningKeys.loadPublic(setup.key.publicPath)
        var anchors = TrustAnchors()
        _ = Array(key.rawRepresentation).withUnsafeBytes { anchors.add(TrustAnchor(publicKey: $0)!) }
        return VerifiedBoot(layout: layout, trustAnchors: anchors, revoked: revoked, limits: limits)
    }

    /// Runs the boot; returns the slot booted (nil when none), the floors, and what was reported.
    func run() -> (slot: BootSlot?, minimum: (UInt64, UInt64)?, lines: [String], error: VerifiedBootError?) {
        var recorder = Recorder()
        do {
            let booted = try boot.boot(flash: &flash, staging: staging, observer: &recorder)
            // What will run is the copy in staging RAM, and it is the slot's bundle, byte for byte.
            #expect(booted.bundle.bytes.baseAddress == UnsafeRawPointer(staging.baseAddress))
            #expect(Array(booted.bundle.bytes) == Array(flash.bytes(in: FlashRange(offset: layout.range(booted.slot).offset,
                                                                                  size: booted.bundle.totalLength))))
            return (booted.slot, (booted.previousMinimum, booted.minimum), recorder.lines, nil)
        } catch {
            return (nil, nil, recorder.lines, error)
        }
    }

    var state: BootState { try! layout.stateRegion.read(from: flash).state }
}

@Suite("Core VerifiedBoot: slots, fallback, anti-rollback")
struct VerifiedBootTests {
    @Test func aGoodBundleInSlotABootsAndRaisesTheFloor() throws {
        let d = try Device()
        d.write(try d.bundle(version: 5), to: .a)
        let r = d.run()
        #expect(r.slot == .a && r.error == nil)
        #expect(r.minimum! == (0, 5))
        #expect(r.lines == ["state: minimum 0"])
        #expect(d.state == BootState(minimumSecurityVersion: 5, bootAttemptsA: 0, bootAttemptsB: 0, lastBootedSlot: .a))
    }

    @Test func emptyFlashBootsNothing() throws {
        let d = try Device()
        let r = d.run()
        #expect(r.slot == nil && r.error == .noBootableSlot)
        #expect(r.lines == ["state: minimum 0", "slot A rejected: empty (erased)", "slot B rejected: empty (erased)"])
        #expect(d.state.bootAttemptsA == 1 && d.state.bootAttemptsB == 1 && d.state.lastBootedSlot == nil)
        var sink = StringSink()
        VerifiedBootError.noBootableSlot.write(to: &sink)
        #expect(sink.text == "no slot holds a bundle that verifies")
    }

    @Test func aBadSlotAFallsBackToSlotB() throws {
        let d = try Device()
        var bad = try d.bundle(version: 5)
        bad[64 + 2 * 320 + 3] ^= 0x01                                       // a signature byte
        d.write(bad, to: .a)
        d.write(try d.bundle(version: 6), to: .b)
        let r = d.run()
        #expect(r.slot == .b)
        #expect(r.lines.count == 2 && r.lines[1].hasPrefix("slot A rejected: bad signature: the Ed25519 signature"))
        #expect(d.state == BootState(minimumSecurityVersion: 6, bootAttemptsA: 1, bootAttemptsB: 0, lastBootedSlot: .b))
    }

    @Test func anOlderBundleIsRolledBackNeverAndTheFloorOnlyRises() throws {
        let d = try Device()
        d.write(try d.bundle(version: 7), to: .a)
        #expect(d.run().slot == .a)
        d.write(try d.bundle(version: 6), to: .a)                           // an old release in slot A
        var r = d.run()
        #expect(r.error == .noBootableSlot)
        #expect(r.lines.contains("slot A rejected: rollback: security version 6 is below the minimum 7"))
        d.write(try d.bundle(version: 3), to: .b)
        r = d.run()
        #expect(r.slot == nil && r.lines.contains("slot B rejected: rollback: security version 3 is below the minimum 7"))
        d.write(try d.bundle(version: 7), to: .b)                           // the same version is fine
        r = d.run()
        #expect(r.slot == .b && r.minimum! == (7, 7))
        #expect(d.state.minimumSecurityVersion == 7)
    }

    @Test func thePreferredSlotGoesFirst() throws {
        let d = try Device()
        d.write(try d.bundle(version: 1), to: .a)
        d.write(try d.bundle(version: 2), to: .b)
        try d.layout.stateRegion.setPreferredSlot(.b, in: &d.flash)
        #expect(d.run().slot == .b)
        try d.layout.stateRegion.setPreferredSlot(.a, in: &d.flash)
        // Slot A's version 1 is now below the floor that slot B's boot raised.
        let r = d.run()
        #expect(r.slot == .b && r.lines.contains("slot A rejected: rollback: security version 1 is below the minimum 2"))
    }

    @Test func aSlotThatKeepsFailingIsTriedSecond() {
        let max = VerifiedBoot.maxBootAttempts
        #expect(VerifiedBoot.slotOrder(BootState()) == (BootSlot.a, BootSlot.b))
        #expect(VerifiedBoot.slotOrder(BootState(preferredSlot: .b)) == (BootSlot.b, BootSlot.a))
        #expect(VerifiedBoot.slotOrder(BootState(bootAttemptsA: max - 1)) == (BootSlot.a, BootSlot.b))
        #expect(VerifiedBoot.slotOrder(BootState(bootAttemptsA: max)) == (BootSlot.b, BootSlot.a))
        #expect(VerifiedBoot.slotOrder(BootState(bootAttemptsA: max, bootAttemptsB: max)) == (BootSlot.a, BootSlot.b))
        #expect(VerifiedBoot.slotOrder(BootState(bootAttemptsB: max, preferredSlot: .b)) == (BootSlot.a, BootSlot.b))
    }

    @Test func aTruncatedBundleIsNamedSo() throws {
        let d = try Device()
        let whole = try d.bundle(version: 5)
        let cut = whole.count - 80                                          // the last 80 bytes never written
        let one = d.setup.imageRange(0)
        #expect(one.offset < cut && cut < one.offset + one.count)            // the cut falls in image "one"
        d.write(Array(whole[0..<cut]), to: .a)
        let r = d.run()
        #expect(r.error == .noBootableSlot)
        // The zero padding after image "one" reads erased, so the parser refuses it first.
        let padding = String(one.offset + one.count, radix: 16), from = String(cut, radix: 16)
        #expect(r.lines[1] == "slot A rejected: the reserved or padding byte at offset 0x\(padding) is not zero "
                + "(the slot is erased from bundle offset 0x\(from) on: the bundle is truncated)")
        // Cut where the last image (37 bytes) starts: only its digest catches it, and an erased
        // tail shorter than `truncationThreshold` gets no hint.
        let two = d.setup.imageRange(1)
        #expect(two.offset + two.count == whole.count && two.count < VerifiedBoot.truncationThreshold)
        d.write(Array(whole[0..<two.offset]), to: .a)
        #expect(d.run().lines[1] == "slot A rejected: digest mismatch for partition #1 \"two\": the image does not match its "
                + "SHA-512 digest in the manifest")
        // A cut inside the manifest is a parse error, with the same hint.
        d.write(Array(whole[0..<200]), to: .a)
        let lines = d.run().lines
        #expect(lines[1].hasPrefix("slot A rejected: ") && lines[1].hasSuffix("(the slot is erased from bundle offset 0xc8 on: the bundle is truncated)"))
    }

    @Test func aBundleLargerThanItsSlotIsRefused() throws {
        let d = try Device()
        var bundle = try d.bundle(version: 5)
        let huge = UInt64(d.layout.slotA.size + 8)
        for i in 0..<8 { bundle[16 + i] = UInt8(truncatingIfNeeded: huge >> UInt64(8 * i)) }   // total_length
        d.write(bundle, to: .a)
        #expect(d.run().lines[1] == "slot A rejected: the bundle declares \(huge) bytes, more than the slot holds (12 MiB)")
    }

    @Test func aPlanThatDoesNotFitTheBoardIsRefused() throws {
        let d = try Device()
        d.write(try d.bundle(version: 5), to: .a)
        d.limits = try KnownBoards.qemuVirt.limits(ram: KnownBoards.qemuVirt.defaultRAM, hartMask: 0b1)   // hart 0 only
        let r = d.run()
        #expect(r.error == .noBootableSlot)
        #expect(r.lines[1].hasPrefix("slot A rejected: invalid partition plan: partition #0 \"one\""))
    }

    @Test func aRevokedKeyIsRefused() throws {
        let d = try Device()
        d.write(try d.bundle(version: 5), to: .a)
        _ = d.revoked.add(d.setup.key.keyID)
        #expect(d.run().lines[1] == "slot A rejected: revoked key: the manifest names signing key id \(d.setup.key.keyID.hex), which is revoked")
    }

    @Test func anUnreadableStateRegionHaltsAndAFailingWriteDoesNot() throws {
        let d = try Device()
        d.write(try d.bundle(version: 5), to: .a)
        var recorder = Recorder()
        var broken = BrokenFlash(inner: d.flash, failReads: true)
        #expect(throws: VerifiedBootError.stateUnreadable(.readFailed(.a))) {
            _ = try d.boot.boot(flash: &broken, staging: d.staging, observer: &recorder)
        }
        // Erases fail: the bundle still boots, the floor stays where it was, and both writes are reported.
        broken = BrokenFlash(inner: d.flash, failErases: true)
        let booted = try d.boot.boot(flash: &broken, staging: d.staging, observer: &recorder)
        #expect(booted.slot == .a && booted.previousMinimum == 0 && booted.minimum == 0)
        #expect(recorder.lines == ["state: minimum 0", "state write failed: state copy A: erase failed",
                                   "state write failed: state copy A: erase failed"])
    }
}

/// A bundle a loader handed over in RAM (PreloadedBundle.swift): verified in the staging area
/// against the flash state region, tried before the slots.
@Suite("Core VerifiedBoot: a bundle handed over in RAM")
struct PreloadedBootTests {
    private func preload(_ d: Device, _ bytes: [UInt8]) {
        d.staging.initializeMemory(as: UInt8.self, repeating: 0)
        bytes.withUnsafeBytes { d.staging.copyMemory(from: $0) }
    }

    private func text(_ why: SlotRejection, _ bundle: BundleReader?) -> String {
        var sink = StringSink()
        why.write(to: &sink, plan: bundle?.plan ?? PartitionPlan())
        return sink.text
    }

    @Test func aVerifiedBundleInRAMBootsAndRaisesTheFloor() throws {
        let d = try Device()
        let bytes = try d.bundle(version: 7)
        preload(d, bytes)
        guard case .booted(let booted) = try d.boot.bootPreloaded(flash: &d.flash, staging: d.staging) else {
            Issue.record("not booted"); return
        }
        #expect(booted.preloaded && booted.previousMinimum == 0 && booted.minimum == 7)
        #expect(Array(booted.bundle.bytes) == bytes)
        #expect(d.state.minimumSecurityVersion == 7)
        #expect(d.state.bootAttemptsA == 0 && d.state.bootAttemptsB == 0)     // the slots are untouched
    }

    @Test func nothingInRAMIsAbsent() throws {
        let d = try Device()
        d.staging.initializeMemory(as: UInt8.self, repeating: 0)
        guard case .absent = try d.boot.bootPreloaded(flash: &d.flash, staging: d.staging) else {
            Issue.record("expected absent"); return
        }
        #expect(d.state.minimumSecurityVersion == 0)
    }

    @Test func aBadBundleInRAMIsRefusedWithItsReason() throws {
        let d = try Device()
        // An older version than the floor: refused, and the floor stays.
        preload(d, try d.bundle(version: 9))
        _ = try d.boot.bootPreloaded(flash: &d.flash, staging: d.staging)
        preload(d, try d.bundle(version: 8))
        guard case .rejected(let why, let bundle) = try d.boot.bootPreloaded(flash: &d.flash, staging: d.staging) else {
            Issue.record("expected a rejection"); return
        }
        #expect(text(why, bundle) == "rollback: security version 8 is below the minimum 9")
        // A changed image byte: the digest check.
        var bad = try d.bundle(version: 9)
        bad[bad.count - 1] ^= 1
        preload(d, bad)
        guard case .rejected(let why2, let bundle2) = try d.boot.bootPreloaded(flash: &d.flash, staging: d.staging) else {
            Issue.record("expected a rejection"); return
        }
        #expect(text(why2, bundle2).hasPrefix("digest mismatch for partition #"))
        // A truncated header: malformed.
        preload(d, Array(bad[0..<40]) + [UInt8](repeating: 0, count: 24))
        guard case .rejected(let why3, nil) = try d.boot.bootPreloaded(flash: &d.flash, staging: d.staging) else {
            Issue.record("expected a rejection"); return
        }
        #expect(text(why3, nil).contains("format version") || text(why3, nil).contains("truncated"))
        #expect(d.state.minimumSecurityVersion == 9)
    }
}

@Suite("Core VerifiedBoot: a machine without a state region")
struct NoStateRegionTests {
    /// The result of `bootWithoutState` over `bytes` placed at the start of the staging area.
    private func boot(_ d: Device, _ bytes: [UInt8]) -> PreloadedBoot {
        d.staging.initializeMemory(as: UInt8.self, repeating: 0)
        bytes.withUnsafeBytes { d.staging.copyMemory(from: $0) }
        let boot = d.boot
        return VerifiedBoot.bootWithoutState(staging: d.staging, trustAnchors: boot.trustAnchors, revoked: boot.revoked,
                                             limits: boot.limits)
    }

    /// The setup's bundle re-signed with `require_rollback_floor` set.
    private func demandingTheFloor(_ d: Device) throws -> [UInt8] {
        let bytes = try d.bundle(version: 5)
        return try bytes.withUnsafeBytes { raw in
            let reader = try BundleReader(bytes: raw)
            var plan = reader.plan
            plan.flags.requireRollbackFloor = true
            let images = (0..<plan.count).map { Array(reader.image($0)) }
            return try BundleSigning.encode(plan: plan, images: images, securityVersion: 5,
                                            key: SigningKeys.loadPrivate(d.setup.key.privatePath))
        }
    }

    @Test func aBundleWithoutTheDemandBootsAgainstFloorZero() throws {
        let d = try Device()
        guard case .booted(let booted) = boot(d, try d.bundle(version: 5)) else { Issue.record("not booted"); return }
        #expect(booted.preloaded && booted.minimum == 0 && booted.previousMinimum == 0)
        #expect(!booted.bundle.plan.flags.requireRollbackFloor)
    }

    @Test func aBundleThatDemandsTheFloorIsRefused() throws {
        let d = try Device()
        let bytes = try demandingTheFloor(d)
        guard case .floorRequired(let bundle) = boot(d, bytes) else { Issue.record("not refused"); return }
        #expect(bundle.plan.flags.requireRollbackFloor)
        // The same bundle boots where the floor is kept (a flash with a state region).
        var recorder = NoObserver()
        d.write(bytes, to: .a)
        #expect(throws: Never.self) { _ = try d.boot.boot(flash: &d.flash, staging: d.staging, observer: &recorder) }
    }

    @Test func aTamperedOrMissingBundleIsNotBooted() throws {
        let d = try Device()
        var bad = try d.bundle(version: 5)
        bad[bad.count - 1] ^= 0x01                                          // a byte of the last image
        guard case .rejected(let why, _) = boot(d, bad) else { Issue.record("not rejected"); return }
        var sink = StringSink()
        why.write(to: &sink, plan: PartitionPlan())
        #expect(sink.text.contains("digest"))
        guard case .absent = boot(d, [0, 1, 2, 3]) else { Issue.record("not absent"); return }
    }
}

private struct NoObserver: VerifiedBootObserver {
    mutating func stateRead(_ reading: StateReading) {}
    mutating func slotRejected(_ slot: BootSlot, _ why: SlotRejection, bundle: BundleReader?) {}
    mutating func stateWriteFailed(_ error: StateRegionError) {}
}
