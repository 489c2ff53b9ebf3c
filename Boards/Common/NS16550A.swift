// NS16550A UART driver (polled): the console of QEMU virt and many RISC-V boards.
import _Volatile

/// A 16550-compatible UART with byte-wide registers (QEMU virt: reg-shift 0).
struct NS16550A {
    let base: UInt64
    // Register offsets (16550 data sheet): THR/RBR at 0, LSR at 5.
    private var thr: VolatileMappedRegister<UInt8> { VolatileMappedRegister(unsafeBitPattern: UInt(base)) }
    private var lsr: VolatileMappedRegister<UInt8> { VolatileMappedRegister(unsafeBitPattern: UInt(base &+ 5)) }
    private static let lsrDataReady: UInt8 = 0x01
    private static let lsrTransmitEmpty: UInt8 = 0x20

    func put(_ byte: UInt8) {
        while lsr.load() & Self.lsrTransmitEmpty == 0 {}
        thr.store(byte)
    }

    /// The next received byte, if any.
    func get() -> UInt8? {
        guard lsr.load() & Self.lsrDataReady != 0 else { return nil }
        return thr.load()
    }
}
