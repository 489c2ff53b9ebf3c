// A virtual NS16550A UART: the register model the hypervisor emulates at the virt machine's 0x1000_0000.
//
// Registers (byte offsets; the 16550 data sheet's names), as Linux's 8250 driver uses them
// without an interrupt (it polls LSR when the device-tree node has no `interrupts`):
//   0  RBR (read: the next input byte) / THR (write: a byte to send); DLL when LCR.DLAB
//   1  IER (kept; no interrupt line is wired);                       DLM when LCR.DLAB
//   2  IIR (read) / FCR (write: bit 0 FIFO enable). IIR names the highest-priority condition the
//      IER enables, as a level: 0x04 received data (ERBFI and input waiting), else 0x02
//      transmitter empty (ETBEI: the THR is always empty), else 0x01 none; | 0xC0 with FIFOs on.
//      The transmitter-empty condition shows from the second IIR read after ETBEI is enabled,
//      like the UARTs Linux's UART_BUG_TXEN quirk describes: Linux then sends from its write path
//      at once (nothing waits for a poll, so nothing is lost when the guest powers off right
//      after writing) and its poll timer (it has no interrupt) carries on with a longer backlog.
//   3  LCR   4 MCR   7 SCR (kept as written)
//   5  LSR (read-only): THRE | TEMT always (the output never waits), DR when input is waiting
//   6  MSR (read-only): DCD | DSR | CTS (a cable always attached); with MCR.LOOP the MCR bits
// Any other offset in the page reads 0 and ignores writes.

public struct VirtualUART: Sendable {
    /// Where the virt machine puts its first UART, and the page the hypervisor traps.
    public static let base = GuestPhysAddr(0x1000_0000)
    public static let pageSize: UInt64 = 0x1000
    /// The `reg` size in the device tree and the input clock Linux divides (QEMU's value).
    public static let registerSpan: UInt64 = 0x100
    public static let clockFrequency: UInt32 = 3_686_400

    public enum LSR { public static let dr: UInt8 = 0x01, thre: UInt8 = 0x20, temt: UInt8 = 0x40 }
    public static let lcrDLAB: UInt8 = 0x80
    public static let mcrLoop: UInt8 = 0x10

    public var ier: UInt8 = 0
    public var lcr: UInt8 = 0
    public var mcr: UInt8 = 0
    public var scr: UInt8 = 0
    public var fcr: UInt8 = 0
    public var dll: UInt8 = 0
    public var dlm: UInt8 = 0
    /// Whether an IIR read has happened since ETBEI was enabled (see IIR above).
    public var transmitterEmptyArmed = false

    public init() {}

    /// Whether guest-physical `address` lies in the UART's page.
    public static func contains(_ address: GuestPhysAddr) -> Bool {
        address >= base && address.raw &- base.raw < pageSize
    }

    /// A register read at `offset` from the base. `input` takes the next waiting input byte
    /// (RBR reads only); `inputWaiting` says whether one is there (LSR.DR).
    public mutating func read(offset: UInt64, inputWaiting: Bool, input: () -> UInt8?) -> UInt8 {
        let dlab = lcr & Self.lcrDLAB != 0
        switch offset {
        case 0: return dlab ? dll : (input() ?? 0)
        case 1: return dlab ? dlm : ier
        case 2:
            let fifo: UInt8 = fcr & 1 != 0 ? 0xC0 : 0
            if ier & 0x01 != 0 && inputWaiting { return fifo | 0x04 }
            if ier & 0x02 != 0 {
                if transmitterEmptyArmed { return fifo | 0x02 }
                transmitterEmptyArmed = true
            }
            return fifo | 0x01
        case 3: return lcr
        case 4: return mcr
        case 5: return LSR.thre | LSR.temt | (inputWaiting ? LSR.dr : 0)
        case 6:
            // MSR: in loopback, DCD = OUT2, RI = OUT1, DSR = DTR, CTS = RTS (16550 data sheet).
            if mcr & Self.mcrLoop != 0 {
                return (mcr & 0x8) << 4 | (mcr & 0x4) << 4 | (mcr & 0x1) << 5 | (mcr & 0x2) << 3
            }
            return 0xB0
        case 7: return scr
        default: return 0
        }
    }

    /// A register write at `offset`; returns the byte to transmit for a THR write (nil otherwise,
    /// and in loopback mode, where output never leaves the UART).
    public mutating func write(offset: UInt64, value: UInt8) -> UInt8? {
        let dlab = lcr & Self.lcrDLAB != 0
        switch offset {
        case 0:
            if dlab { dll = value; return nil }
            return mcr & Self.mcrLoop != 0 ? nil : value
        case 1:
            if dlab { dlm = value; return nil }
            if value & 0x02 != 0 && ier & 0x02 == 0 { transmitterEmptyArmed = false }
            ier = value & 0x0F
        case 2: fcr = value & 0xC9
        case 3: lcr = value
        case 4: mcr = value & 0x1F
        case 7: scr = value
        default: break
        }
        return nil
    }
}
