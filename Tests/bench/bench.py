#!/usr/bin/env python3
"""make bench: instruction counts under -icount shift=0 on one hart, and the kernel's section sizes.

Method: QEMU's -icount shift=0 ties the counters to retired instructions, so the figures repeat
exactly on a noisy machine. The bench guest reads `instret` (1) as its first act and (2) around
1000 null SBI calls (base get_spec_version), minus the same loop without the ecall. The hypervisor
records `instret` at its own entry point; the difference is the cost from hypervisor entry to the
first guest instruction (device tree parsing, bundle checks, page tables, image copy, console).
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "qemu"))
from harness import BUILD, KERNEL, Machine, ROOT, pack  # noqa: E402

BAO = {"null": 242, "entry": 800_000, "text": 30.8 * 1024, "bss": 177 * 1024}


def sizes():
    out = subprocess.run(["riscv64-unknown-elf-size", "-A", KERNEL], capture_output=True, text=True, check=True).stdout
    table = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith("."):
            table[parts[0]] = int(parts[1])
    return table


def main():
    bundle = os.path.join(BUILD, "bench.bin")
    result = pack(os.path.join(ROOT, "Tests", "qemu", "configs", "bench.toml"), bundle, "--harts", "1")
    if result.returncode != 0:
        sys.exit(result.stdout + result.stderr)
    with Machine(bundle, smp=1, extra=("-icount", "shift=0,sleep=off")) as m:
        entry = int(m.expect(r"^\[bulkhead\] entered at instret (\d+)", timeout=120).group(1))
        first = int(m.expect(r"^\[bench\] bench: first-instret=(\d+)", timeout=120).group(1))
        null = int(m.expect(r"^\[bench\] bench: null-sbi-call=(\d+)", timeout=120).group(1))
        verify = int(m.expect(r"^\[bench\] bench: ed25519-verify=(\d+)", timeout=120).group(1))
        sha512 = m.expect(r"^\[bench\] bench: sha512-per-byte=(\d+\.\d\d)", timeout=120).group(1)
    s = sizes()
    text, rodata, data, bss = s.get(".text", 0), s.get(".rodata", 0), s.get(".data", 0), s.get(".bss", 0)
    rows = [
        ("null SBI call round trip (instructions)", f"{null}", f"{BAO['null']}"),
        ("hypervisor entry to first guest instruction (instructions)", f"{first - entry:,}", "800,000"),
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
