// The SiFive test device (QEMU virt's "sifive,test0"/"sifive,test1"): a failure code for the machine's exit.

/// Writing FINISHER_FAIL (0x3333) with an exit code in bits 31:16 to its first register stops
/// QEMU with that exit code (QEMU hw/misc/sifive_test.c's documented interface), so a halted
/// hypervisor makes QEMU exit non-zero; SBI SRST's "system failure" reason does not (OpenSBI's
/// driver powers off with success whatever the reason).
struct SiFiveTest {
    let base: UInt64
    static let finisherFail: UInt32 = 0x3333

    func fail(code: UInt16) {
        MMIORegister<UInt32>(unsafeBitPattern: UInt(base)).store(UInt32(code) << 16 | Self.finisherFail)
    }
}
