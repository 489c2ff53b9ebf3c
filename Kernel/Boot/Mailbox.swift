// Cross-hart requests: a sender sets bits in the target hart's mailbox, then sends it an IPI.
// Invariant: only the owning hart clears its request bits, and only after acting on them.
import BulkheadCore

enum Request {
    static let start: UInt32 = 1 << 0        // enter the guest at mailbox.start_pc
    static let park: UInt32 = 1 << 1         // stop the vCPU (partition stop/restart)
    static let vssip: UInt32 = 1 << 2        // inject a virtual supervisor software interrupt
    static let fenceI: UInt32 = 1 << 3       // fence.i, then clear the bit (the sender waits)
    static let fenceVVMA: UInt32 = 1 << 4    // hfence.vvma for this partition, then clear the bit
    static let vseip: UInt32 = 1 << 5        // recompute VSEIP from the partition's virtual PLIC
    static let reload: UInt32 = 1 << 6       // with start: load the partition's image first (PartitionControl.replace)
    static let fences: UInt32 = fenceI | fenceVVMA
}

struct Mailbox {
    let hart: Int
    var request: AtomicWord32 { SharedWords.mailboxRequest(hart) }

    var state: HSMState {
        get { HSMState(rawValue: SharedWords.mailboxState(hart).load()) ?? .stopped }
        nonmutating set { SharedWords.mailboxState(hart).store(newValue.rawValue) }
    }
    func compareAndSetState(_ expected: HSMState, _ desired: HSMState) -> Bool {
        SharedWords.mailboxState(hart).compareExchange(expected.rawValue, desired.rawValue)
    }
    var pending: UInt32 { request.load() }
    /// Where and with which a1 a start request enters the guest.
    var startPC: UInt64 { SharedWords.mailboxStart(hart).pointee }
    var startOpaque: UInt64 { SharedWords.mailboxOpaque(hart).pointee }

    /// Posts `bits` and wakes the hart: through its ACLINT SSWI register when the board has one
    /// that reaches every partition hart (one store), else an SBI IPI (an ecall into the firmware).
    func post(_ bits: UInt32) {
        request.or(bits)
        let setssip = SharedWords.mailboxSSWI(hart).pointee
        if setssip != 0 { ACLINTSSWI.raise(setssip: setssip) } else { Firmware.sendIPI(toHart: UInt64(hart)) }
    }

    /// Wakes the hart through the SETSSIP register at `address` from now on (boot only).
    func useSSWI(_ address: HostPhysAddr) { SharedWords.mailboxSSWI(hart).pointee = address.raw }
    func clear(_ bits: UInt32) { request.and(~bits) }

    /// Asks the hart to enter its guest at `pc` with a1 = `opaque` (the caller has already moved
    /// the state to start-pending).
    func requestStart(at pc: UInt64, opaque: UInt64) {
        SharedWords.mailboxStart(hart).pointee = pc
        SharedWords.mailboxOpaque(hart).pointee = opaque
        post(Request.start)
    }

    /// Performs and acknowledges any pending remote fences.
    func serviceFences() {
        let bits = pending & Request.fences
        guard bits != 0 else { return }
        if bits & Request.fenceI != 0 { Instructions.fenceI() }
        if bits & Request.fenceVVMA != 0 { Instructions.hfenceVVMA() }
        clear(bits)
    }
}
