"""The hypervisor as a `booti` image: build/bulkhead.bin carries the RISC-V Linux Image header
(Linux Documentation/arch/riscv/boot-image-header.rst) and runs wherever it is loaded."""
import os
import struct
import subprocess

from harness import BUILD, Machine, bulkhead_cmd

BIN = os.path.join(BUILD, "bulkhead.bin")
ELF = os.path.join(BUILD, "bulkhead.elf")
LINK_BASE = 0x80200000


def symbols():
    nm = os.path.join(os.path.dirname(subprocess.check_output(["bash", "-c", "command -v swiftc || echo /opt/swift/usr/bin/swiftc"],
                                                              text=True).strip()), "llvm-nm")
    out = subprocess.check_output([nm, ELF], text=True)
    return {name: int(value, 16) for value, _, name in (line.split() for line in out.splitlines() if len(line.split()) == 3)}


def test_the_image_header_has_the_fields_booti_reads():
    with open(BIN, "rb") as f:
        data = f.read()
    code0, code1, text_offset, image_size, flags, version, res1, res2, magic, magic2, res3 = \
        struct.unpack_from("<IIQQQIIQ8sII", data, 0)
    sym = symbols()
    # code0 jumps (JAL x0) over the 64-byte header to the entry code inside the image.
    assert code0 & 0xFFF == 0x06F, hex(code0)
    imm = ((code0 >> 31) << 20) | (((code0 >> 12) & 0xFF) << 12) | (((code0 >> 20) & 1) << 11) | (((code0 >> 21) & 0x3FF) << 1)
    assert 64 <= imm < len(data)
    assert code1 == 0
    assert text_offset == 0x200000
    assert image_size == sym["__kernel_end"] - sym["__kernel_start"]
    assert len(data) <= image_size and image_size % 4096 == 0
    assert flags == 0                      # bit 0 clear: little endian
    assert version == 2                    # header version 0.2
    assert (res1, res2, res3) == (0, 0, 0)
    assert magic == b"RISCV\0\0\0"
    assert magic2 == 0x05435352            # "RSC\x05"
    assert sym["__kernel_start"] == LINK_BASE == sym["_start"]


def test_the_image_needs_no_fix_up_but_relative_ones():
    out = subprocess.check_output(["readelf", "-hr", ELF], text=True)
    assert "DYN (Position-Independent Executable file)" in out
    kinds = {line.split()[2] for line in out.splitlines() if line[:1] in "0123456789abcdef" and len(line.split()) > 2
             and line.split()[2].startswith("R_RISCV")}
    assert kinds == {"R_RISCV_RELATIVE"}, kinds


def test_loaded_away_from_its_link_address_it_relocates_itself_and_runs(bundle_of, flash_of, tmp_path):
    # QEMU's OpenSBI enters at the flash stub, which jumps to 0x80200000; a two-instruction
    # trampoline there (auipc t0, 0x400; jr t0) goes on to the image, loaded 4 MiB higher.
    trampoline = tmp_path / "trampoline.bin"
    trampoline.write_bytes(struct.pack("<II", 0x00400297, 0x00028067))
    load = LINK_BASE + 0x400000
    image = flash_of(bundle_of(os.path.join(os.path.dirname(__file__), "..", "..", "Guests", "demo.toml"), "--harts", "8"))
    cmd = bulkhead_cmd(image, smp=8, kernel=str(trampoline), load_address=LINK_BASE,
                       extra=("-device", f"loader,file={BIN},addr={load:#x},force-raw=on"))
    with Machine.command(cmd) as m:
        m.expect(r"^\[bulkhead\] slot A: bundle verified")
        m.expect(r"^\[ping\] ping: done, 5 rounds via queue and via shared memory$")
        m.expect(r"^\[heartbeat\] heartbeat: 3$")
        assert m.count(r"FATAL|BREACH|fault: partition (?!intruder)") == 0
