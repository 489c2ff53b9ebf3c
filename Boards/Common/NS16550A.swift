// NS16550A UART driver (polled): the console of QEMU virt and of most RISC-V boards (16550-compatible).

/// A 16550-compatible UART: register `n` at `base + (n << regShift)`, accessed `regIOWidth` bytes
/// wide (the device tree's `reg-shift` and `reg-io-width`). QEMU virt: shift 0, width 1; the
/// DesignWare APB UART and SpacemiT's UART: shift 2, width 4.
struct NS16550A {
    let base: UInt64
    let regShift: UInt64
    let wide: Bool
    // Register offsets (16550 data sheet): THR/RBR at 0, LSR at 5.
    private static let thrOffset: UInt64 = 0
    private static let lsrOffset: UInt64 = 5
    private static let lsrDataReady: UInt8 = 0x01
    private static let lsrTransmitEmpty: UInt8 = 0x20

    /// `nil` for an access width other than 1 or 4 bytes or a shift above 3 (no 16550 has those).
    init?(base: UInt64, regShift: UInt32, regIOWidth: UInt32) {
        guard regIOWidth == 1 || regIOWidth == 4, regShift <= 3 else { return nil }
        self.base = base; self.regShift = UInt64(regShift); wide = regIOWidth == 4
    }

    private func address(_ offset: UInt64) -> UInt { UInt(base &+ (offset << regShift)) }

    private func load(_ offset: UInt64) -> UInt8 {
        if wide { return UInt8(truncatingIfNeeded: MMIORegister<UInt32>(unsafeBitPattern: address(offset)).load()) }
        return MMIORegister<UInt8>(unsafeBitPattern: address(offset)).load()
    }

    private func store(_ offset: UInt64, _ value: UInt8) {
        if wide { MMIORegister<UInt32>(unsafeBitPattern: address(offset)).store(UInt32(value)); return }
        MMIORegister<UInt8>(unsafeBitPattern: address(offset)).store(value)
    }

    func put(_ byte: UInt8) {
        while load(Self.lsrOffset) & Self.lsrTransmitEmpty == 0 {}
        store(Self.thrOffset, byte)
    }

    /// The next received byte, if any.
    func get() -> UInt8? {
        guard load(Self.lsrOffset) & Self.lsrDataReady != 0 else { return nil }
        return load(Self.thrOffset)
    }
}
