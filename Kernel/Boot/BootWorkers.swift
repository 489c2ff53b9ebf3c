// Boot-time helpers: the other harts, started before the bundle is verified, share the boot hart's bulk work.
//
// The bulk work of boot is a set of independent pieces: an image's 256 KiB chunks to hash
// (ImageDigest, Core, asks its `runner` round by round), and a partition's RAM to scrub or fill
// with its image, 1 MiB at a time. `parallelFor` publishes such a round (claim word = round << 32
// | next piece), wakes the workers with an IPI, and claims pieces itself like them: a
// compare-and-swap on the claim word takes the next piece of the current round only, so a hart
// late from an earlier round can never take a piece of the next one. The boot hart waits until
// the round's pieces are all done. When boot is over the workers go on to their partitions
// (PartitionControl.hartMain), and the same calls run on the calling hart alone.
import BulkheadCore

/// One piece of a round: `task(context, index)`.
typealias BootTask = @convention(c) (UnsafeRawPointer, Int) -> Void

/// The current round, written by the boot hart before it publishes the round.
nonisolated(unsafe) private var roundTask: BootTask? = nil
nonisolated(unsafe) private var roundContext: UnsafeRawPointer? = nil
nonisolated(unsafe) private var roundCount = 0
/// The harts started early to help (bit n = hart n); 0 once boot is over.
nonisolated(unsafe) private var workerMask: UInt64 = 0

/// What ImageDigest's runner and the memory tasks need (on the boot hart's stack during a round).
private struct HashRound { var payloads: UnsafeRawPointer; var first: Int; var out: UnsafeMutableRawPointer }
private struct MemoryRound { var destination: UnsafeMutableRawPointer; var source: UnsafeRawPointer?; var count: Int }

enum BootWorkers {
    /// The bytes one memory piece covers.
    static let memoryPiece = 1 << 20

    private static var claim: AtomicWord64 { SharedWords.bootWork(0) }
    private static var done: AtomicWord64 { SharedWords.bootWork(1) }
    private static var finished: AtomicWord64 { SharedWords.bootWork(2) }

    /// Starts every other hart the board has (SBI HSM); they help until `finish`.
    static func start(harts: UInt64, bootHart: Int) {
        var h = 0
        while h < maxHarts {
            if h != bootHart && harts & (1 << UInt64(h)) != 0 {
                let err = Firmware.startHart(UInt64(h), at: KernelImage.secondaryEntry)
                if err == 0 {
                    workerMask |= 1 << UInt64(h)
                } else {
                    log { out in out.write("warning: hart "); out.write(decimal: UInt64(h)); out.write(" did not start (SBI error ")
                          out.write(decimal: Int(err)); out.write(")") }
                }
            }
            h += 1
        }
        if workerMask != 0 { ImageDigest.runner = hashRound }
        log { out in
            out.write("boot work (image hashing in 256 KiB chunks, RAM scrubbing and image copies in 1 MiB pieces) on ")
            out.write(decimal: UInt64(workerMask.nonzeroBitCount + 1)); out.write(" harts")
        }
    }

    /// Boot is over: hashing and memory work go back to the calling hart, the workers to their partitions.
    static func finish() {
        ImageDigest.runner = nil
        let mask = workerMask
        workerMask = 0
        finished.store(1)
        wake(mask)
    }

    /// A started hart: does the rounds it is woken for until boot is over. A hart started after
    /// that (or the boot hart) returns at once.
    static func serve() {
        HartCSR.enableInterrupts(.ssi)        // wfi wakes on the IPI; sstatus.SIE stays 0
        var seen: UInt64 = 0
        while true {
            HartCSR.clearPending(.ssi)
            if finished.load() != 0 { break }
            let round = claim.load() >> 32
            if round != seen {
                seen = round
                work(round: round)
            } else {
                Instructions.waitForInterrupt()
            }
        }
        HartCSR.enableInterrupts(InterruptSet(raw: 0))
        HartCSR.clearPending(.ssi)
    }

    /// Zeroes `count` bytes at `destination`, in parallel while boot lasts.
    static func zero(_ destination: UnsafeMutableRawPointer, count: Int) {
        memoryRound(MemoryRound(destination: destination, source: nil, count: count))
    }

    /// Copies `count` bytes from `source` to `destination` (not overlapping), in parallel while boot lasts.
    static func copy(_ destination: UnsafeMutableRawPointer, from source: UnsafeRawPointer, count: Int) {
        memoryRound(MemoryRound(destination: destination, source: source, count: count))
    }

    private static func memoryRound(_ round: MemoryRound) {
        guard round.count > 0 else { return }
        var r = round
        withUnsafePointer(to: &r) { parallelFor(count: (round.count + memoryPiece - 1) / memoryPiece, context: UnsafeRawPointer($0), memoryTask) }
    }

    private static let memoryTask: BootTask = { context, i in
        let r = context.assumingMemoryBound(to: MemoryRound.self).pointee
        let offset = i * BootWorkers.memoryPiece
        let length = min(BootWorkers.memoryPiece, r.count - offset)
        if let source = r.source {
            (r.destination + offset).copyMemory(from: source + offset, byteCount: length)
        } else {
            (r.destination + offset).initializeMemory(as: UInt8.self, repeating: 0, count: length)
        }
    }

    /// ImageDigest's runner: chunk first + i of the payloads into out[i].
    private static let hashRound: ImageDigest.ChunkRunner = { payloads, first, count, out in
        var r = HashRound(payloads: payloads, first: first, out: out)
        withUnsafePointer(to: &r) { BootWorkers.parallelFor(count: count, context: UnsafeRawPointer($0), BootWorkers.hashTask) }
    }

    private static let hashTask: BootTask = { context, i in
        let r = context.assumingMemoryBound(to: HashRound.self).pointee
        let digest = r.payloads.assumingMemoryBound(to: ChunkedPayloads.self).pointee.hashChunk(r.first + i)
        r.out.assumingMemoryBound(to: SHA512Digest.self)[i] = digest
    }

    /// Runs `task(context, i)` for every i in 0..<count, on every worker and this hart while boot
    /// lasts, else on this hart; returns when all are done.
    private static func parallelFor(count: Int, context: UnsafeRawPointer, _ task: BootTask) {
        guard workerMask != 0 else {
            var i = 0
            while i < count { task(context, i); i += 1 }
            return
        }
        roundTask = task
        roundContext = context
        roundCount = count
        done.store(0)
        let round = (claim.load() >> 32) &+ 1
        claim.store(round << 32)          // publishes the fields above
        wake(workerMask)
        work(round: round)
        while done.load() < UInt64(count) {}
    }

    /// Claims and runs pieces of `round` until none is left.
    private static func work(round: UInt64) {
        while true {
            let word = claim.load()
            guard word >> 32 == round, word & 0xFFFF_FFFF < UInt64(roundCount) else { return }
            guard claim.compareExchange(word, word &+ 1) else { continue }
            guard let task = roundTask, let context = roundContext else { return }
            task(context, Int(word & 0xFFFF_FFFF))
            done.add(1)
        }
    }

    private static func wake(_ mask: UInt64) {
        var h = 0
        while h < maxHarts {
            if mask & (1 << UInt64(h)) != 0 { Firmware.sendIPI(toHart: UInt64(h)) }
            h += 1
        }
    }
}
