// HostSSWI: the ACLINT SSWI device read from a device tree (RISC-V ACLINT spec v1.0, chapter 4).

import Foundation
import Testing
@testable import BulkheadCore

private func hostSSWI(_ blob: [UInt8]) throws -> HostSSWI? {
    try blob.withUnsafeBytes { raw in try HostSSWI(reader: FDTReader(raw)) }
}

/// Three harts; the SSWI's `interrupts-extended` as given, its `reg` size as given.
private func tree(interrupts: String, size: String = "0x4000") -> String {
    """
    /dts-v1/;
    / {
        #address-cells = <2>;
        #size-cells = <2>;
        cpus {
            #address-cells = <1>;
            #size-cells = <0>;
            cpu@0 { reg = <0>; intc0: interrupt-controller { interrupt-controller; #interrupt-cells = <1>; }; };
            cpu@1 { reg = <1>; intc1: interrupt-controller { interrupt-controller; #interrupt-cells = <1>; }; };
            cpu@2 { reg = <2>; intc2: interrupt-controller { interrupt-controller; #interrupt-cells = <1>; }; };
        };
        soc {
            #address-cells = <2>;
            #size-cells = <2>;
            ranges;
            sswi@2f00000 {
                compatible = "riscv,aclint-sswi";
                reg = <0x0 0x2f00000 0x0 \(size)>;
                interrupt-controller;
                #interrupt-cells = <0>;
                interrupts-extended = <\(interrupts)>;
            };
        };
    };
    """
}

@Suite("Doorbells: the board's ACLINT SSWI (HostSSWI)")
struct HostSSWITests {
    @Test func eachHartGetsTheRegisterOfItsPositionInInterruptsExtended() throws {
        // QEMU lists the harts in reverse order: register 0 rings hart 2.
        let sswi = try #require(try hostSSWI(DTC.compile(tree(interrupts: "&intc2 1 &intc1 1 &intc0 1"))))
        #expect(sswi.region == HostRegion(base: HostPhysAddr(0x2F0_0000), size: 0x4000))
        #expect(sswi.setSSIPAddress(ofHart: 2) == HostPhysAddr(0x2F0_0000))
        #expect(sswi.setSSIPAddress(ofHart: 1) == HostPhysAddr(0x2F0_0004))
        #expect(sswi.setSSIPAddress(ofHart: 0) == HostPhysAddr(0x2F0_0008))
        for hart in [3, 7, 8, -1] { #expect(sswi.setSSIPAddress(ofHart: hart) == nil, "hart \(hart)") }
        #expect(sswi.reaches(hartMask: 0b111))
        #expect(!sswi.reaches(hartMask: 0b1111))
    }

    @Test func onlySupervisorSoftwareInterruptsCountAndRegistersMustFit() throws {
        // Cause 3 (machine software) is not a ring for the hypervisor; a register past `reg` is unusable.
        let sswi = try #require(try hostSSWI(DTC.compile(tree(interrupts: "&intc0 3 &intc1 1 &intc2 1", size: "0x8"))))
        #expect(sswi.setSSIPAddress(ofHart: 0) == nil)
        #expect(sswi.setSSIPAddress(ofHart: 1) == HostPhysAddr(0x2F0_0004))
        #expect(sswi.setSSIPAddress(ofHart: 2) == nil)               // register 2 at +8 lies outside 8 bytes
        #expect(!sswi.reaches(hartMask: 0b11) && sswi.reaches(hartMask: 0b10))
    }

    @Test func plainQEMUVirtHasNone() throws {
        #expect(try hostSSWI(FDTFixtures.load("qemu-virt-smp4.dtb")) == nil)
    }
}
