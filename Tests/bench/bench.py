#!/usr/bin/env python3
"""make bench: instruction counts under -icount shift=0 on one hart, and the kernel's section sizes.

Method: QEMU's -icount shift=0 ties the counters to retired instructions, so the figures repeat
exactly on a noisy machine. The bench guest reads `instret` (1) as its first act and (2) around
1000 null SBI calls (base get_spec_version), minus the same loop without the ecall. The hypervisor
records `instret` at its own entry point; the difference is the cost from hypervisor entry to the
first guest instruction (device tree parsing; verified boot from flash: the state region, copying
the bundle into RAM, Ed25519 and SHA-512; page tables, image copy, console). The bundle is in slot
A of a fresh flash image, so each figure includes the two state-region writes of a boot.
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "qemu"))
from harness import BUILD, KERNEL, Machine, ROOT, flash, pack  # noqa: E402

BAO = {"null": 242, "entry": 800_000, "text": 30.8 * 1024, "bss": 177 * 1024}


def sizes():
    out = subprocess.run(["riscv64-unknown-elf-size", "-A", KERNEL], capture_output=True, text=True, check=True).stdout
    table = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith("."):
            table[parts[0]] = int(parts[1])
    return table


ICOUNT = ("-icount", "shift=0,sleep=off")


def bench_flash(config, name):
    """Packs `config` for one hart and writes it into slot A of a fresh flash image; returns the image."""
    bundle, image = os.path.join(BUILD, f"{name}.bin"), os.path.join(BUILD, f"{name}-flash.img")
    result = pack(config, bundle, "--harts", "1")
    if result.returncode != 0:
        sys.exit(result.stdout + result.stderr)
    flash(image, "--reset-state")
    flash(image, bundle, "--slot", "a")
    return image


def boot_with_1mib_image():
    """Hypervisor entry to first guest instruction when the guest image is 1 MiB (the bench guest
    padded with zeros): copying it from flash, hashing it, copying it into the partition."""
    padded = os.path.join(BUILD, "bench-1m-image.bin")
    code = open(os.path.join(BUILD, "guests", "bench.bin"), "rb").read()
    with open(padded, "wb") as f:
        f.write(code + bytes((1 << 20) - len(code)))
    config = os.path.join(BUILD, "bench-1m.toml")
    with open(config, "w") as f:
        f.write('[[partition]]\nname = "bench"\nimage = "bench-1m-image.bin"\nharts = [0]\n'
                'memory_base = 0x84000000\nmemory_size = "4M"\n')
    with Machine(bench_flash(config, "bench-1m"), smp=1, extra=ICOUNT) as m:
        entry = int(m.expect(r"^\[bulkhead\] entered at instret (\d+)", timeout=300).group(1))
        first = int(m.expect(r"^\[bench\] bench: first-instret=(\d+)", timeout=300).group(1))
    return first - entry


def main():
    image = bench_flash(os.path.join(ROOT, "Tests", "qemu", "configs", "bench.toml"), "bench")
    with Machine(image, smp=1, extra=ICOUNT) as m:
        entry = int(m.expect(r"^\[bulkhead\] entered at instret (\d+)", timeout=120).group(1))
        first = int(m.expect(r"^\[bench\] bench: first-instret=(\d+)", timeout=120).group(1))
        null = int(m.expect(r"^\[bench\] bench: null-sbi-call=(\d+)", timeout=120).group(1))
        verify = int(m.expect(r"^\[bench\] bench: ed25519-verify=(\d+)", timeout=120).group(1))
        sha512 = m.expect(r"^\[bench\] bench: sha512-per-byte=(\d+\.\d\d)", timeout=120).group(1)
    boot_1m = boot_with_1mib_image()
    s = sizes()
    text, rodata, data, bss = s.get(".text", 0), s.get(".rodata", 0), s.get(".data", 0), s.get(".bss", 0)
    rows = [
        ("null SBI call round trip (instructions)", f"{null}", f"{BAO['null']}"),
        ("hypervisor entry to first guest instruction (instructions)", f"{first - entry:,}", "800,000"),
        ("hypervisor entry to first guest instruction, 1 MiB image (instructions)", f"{boot_1m:,}", ""),
        ("Ed25519 verify, 1024-byte message (instructions)", f"{verify:,}", ""),
        ("SHA-512 (instructions per byte, 64 KiB)", sha512, ""),
        ("kernel .text (bytes)", f"{text:,}", "31,539"),
        ("kernel .rodata (bytes)", f"{rodata:,}", ""),
        ("kernel .data (bytes)", f"{data:,}", ""),
        ("kernel .bss (bytes)", f"{bss:,}", "181,248"),
    ]
    print("| measure | Bulkhead | Bao (reference) |")
    print("|---|---:|---:|")
    for name, ours, bao in rows:
        print(f"| {name} | {ours} | {bao} |")


if __name__ == "__main__":
    main()
