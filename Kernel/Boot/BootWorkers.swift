// Boot-time helpers: the other harts, started before the bundle is verified, hash image chunks with the boot hart.
//
// ImageDigest (Core) hashes an image's 256 KiB chunks in rounds of up to 32 and asks its `runner`
// for each round. Here the runner publishes the round (claim word = round << 32 | next chunk),
// wakes the workers with an IPI, and claims chunks itself like them: a compare-and-swap on the
// claim word takes the next chunk of the current round only, so a hart late from an earlier round
// can never take a chunk of the next one. The boot hart waits until the round's chunks are all
// done. When boot is over, the runner is removed (later hashing is on the calling hart) and the
// workers go on to their partitions (PartitionControl.hartMain).
import BulkheadCore
import CArch

/// The current round, written by the boot hart before it publishes the round.
nonisolated(unsafe) private var roundPayloads: UnsafeRawPointer? = nil
nonisolated(unsafe) private var roundFirst = 0
nonisolated(unsafe) private var roundCount = 0
nonisolated(unsafe) private var roundOut: UnsafeMutableRawPointer? = nil
/// The harts started early to help (bit n = hart n).
nonisolated(unsafe) private var workerMask: UInt64 = 0

enum BootWorkers {
    private static var claim: UnsafeMutablePointer<UInt64> { boot_work_word(0) }
    private static var done: UnsafeMutablePointer<UInt64> { boot_work_word(1) }
    private static var finished: UnsafeMutablePointer<UInt64> { boot_work_word(2) }

    /// Starts every other hart the board has (SBI HSM); they help hash until `finish`.
    static func start(harts: UInt64, bootHart: Int) {
        var h = 0
        while h < maxHarts {
            if h != bootHart && harts & (1 << UInt64(h)) != 0 {
                let err = Firmware.startHart(UInt64(h), at: secondary_entry_address())
                if err == 0 {
                    workerMask |= 1 << UInt64(h)
                } else {
                    log { out in out.write("warning: hart "); out.write(decimal: UInt64(h)); out.write(" did not start (SBI error ")
                          out.write(decimal: Int(err)); out.write(")") }
                }
            }
            h += 1
        }
        if workerMask != 0 { ImageDigest.runner = runRound }
        log { out in
            out.write("image hashing: 256 KiB chunks on "); out.write(decimal: UInt64(workerMask.nonzeroBitCount + 1)); out.write(" harts")
        }
    }

    /// Boot is over: hashing goes back to the calling hart, and the workers to their partitions.
    static func finish() {
        ImageDigest.runner = nil
        atomic_store_u64(finished, 1)
        wakeWorkers()
    }

    /// A started hart: hashes the rounds it is woken for until boot is over. A hart started
    /// after that (or the boot hart) returns at once.
    static func serve() {
        csr_write_sie(InterruptSet.ssi.raw)        // wfi wakes on the IPI; sstatus.SIE stays 0
        var seen: UInt64 = 0
        while true {
            csr_clear_sip(InterruptSet.ssi.raw)
            if atomic_load_u64(finished) != 0 { break }
            let round = atomic_load_u64(claim) >> 32
            if round != seen {
                seen = round
                hashChunks(round: round)
            } else {
                arch_wfi()
            }
        }
        csr_write_sie(0)
        csr_clear_sip(InterruptSet.ssi.raw)
    }

    /// ImageDigest's runner on the boot hart.
    private static let runRound: ImageDigest.ChunkRunner = { payloads, first, count, out in
        roundPayloads = payloads
        roundFirst = first
        roundCount = count
        roundOut = out
        atomic_store_u64(BootWorkers.done, 0)
        let round = (atomic_load_u64(BootWorkers.claim) >> 32) &+ 1
        atomic_store_u64(BootWorkers.claim, round << 32)          // publishes the fields above
        BootWorkers.wakeWorkers()
        BootWorkers.hashChunks(round: round)
        while atomic_load_u64(BootWorkers.done) < UInt64(count) {}
    }

    /// Claims and hashes chunks of `round` until none is left.
    private static func hashChunks(round: UInt64) {
        while true {
            let word = atomic_load_u64(claim)
            guard word >> 32 == round, word & 0xFFFF_FFFF < UInt64(roundCount) else { return }
            guard atomic_cas_u64(claim, word, word &+ 1) else { continue }
            let i = Int(word & 0xFFFF_FFFF)
            guard let payloads = roundPayloads, let out = roundOut else { return }
            let digest = payloads.assumingMemoryBound(to: ChunkedPayloads.self).pointee.hashChunk(roundFirst + i)
            out.assumingMemoryBound(to: SHA512Digest.self)[i] = digest
            _ = atomic_add_u64(done, 1)
        }
    }

    private static func wakeWorkers() {
        var h = 0
        while h < maxHarts {
            if workerMask & (1 << UInt64(h)) != 0 { Firmware.sendIPI(toHart: UInt64(h)) }
            h += 1
        }
    }
}
