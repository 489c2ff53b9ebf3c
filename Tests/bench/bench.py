#!/usr/bin/env python3
"""make bench: instruction counts under -icount shift=0 on one hart, and the kernel's section sizes.

Method: QEMU's -icount shift=0 ties the counters to retired instructions, so the figures repeat
exactly on a noisy machine. The bench guest reads `instret` (1) as its first act and (2) around
1000 null SBI calls (base get_spec_version), minus the same loop without the ecall. The hypervisor
records `instret` at its own entry point; the difference is the cost from hypervisor entry to the
first guest instruction (device tree parsing; verified boot from flash: the state region, copying
the bundle into RAM, Ed25519 and SHA-512; page tables, image copy, console). The bundle is in slot
A of a fresh flash image, so each figure includes the two state-region writes of a boot.

IPC (Guests/ipcbench, Tests/qemu/configs/ipc-bench.toml): two partitions on harts 0 and 1 (-smp 2,
same -icount). The sender measures 1000 message round trips (64-byte send, the echo partition wakes
on the doorbell, receives and sends 64 bytes back, the sender wakes and receives), 1000 doorbell
round trips (notify, the echo takes the interrupt, calls doorbells and notifies back) and 16
shared-memory transfers (the sender writes 65,472 bytes into a 64 KiB window and rings; the echo
reads them all, writes a checksum and rings back). Both sides sleep in wfi, so with several harts
icount's round-robin switches hart whenever one waits. Under -icount QEMU 7.2's `instret` (like
`cycle`) reads the machine's one instruction counter, not a per-hart one: the sender's `instret`
counts the instructions retired on both harts (guests, hypervisor and OpenSBI) during the exchange.
`time` follows the same counter (one 10 MHz tick = 100 instructions); the bench checks that the
two agree to within 1% plus one tick. Shared-memory throughput is bytes per virtual second at
icount's 1 ns per instruction.
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "qemu"))
from harness import BUILD, CLI, KERNEL, Machine, ROOT, flash, pack  # noqa: E402

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


def bench_flash(config, name, harts=1):
    """Packs `config` for `harts` harts and writes it into slot A of a fresh flash image; returns the image."""
    bundle, image = os.path.join(BUILD, f"{name}.bin"), os.path.join(BUILD, f"{name}-flash.img")
    result = pack(config, bundle, "--harts", str(harts))
    if result.returncode != 0:
        sys.exit(result.stdout + result.stderr)
    flash(image, "--reset-state")
    flash(image, bundle, "--slot", "a")
    # A fixed device secret, so the key calls run (docs/keys.md) and repeat exactly.
    secret = os.path.join(BUILD, "bench-secret.hex")
    with open(secret, "w") as f:
        f.write("be" * 32 + "\n")
    result = subprocess.run([CLI, "provision", image, "--secret-file", secret, "--force"], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(result.stdout + result.stderr)
    return image


# The CPUs the hashing rows run on: the hypervisor picks its SHA-512 code from riscv,isa
# (Kernel/Boot/Acceleration.swift): QEMU 7.2's rv64 has Zbb; Zknh must be asked for.
SHA512_CPUS = (("rv64,zbb=false", "portable"), ("rv64", "Zbb"), ("rv64,zknh=true", "Zknh"))


def entry_to_first_guest(image, cpu):
    """Instructions from hypervisor entry to the bench guest's first instruction on `cpu`, and the
    SHA-512 code the hypervisor said it uses."""
    with Machine(image, smp=1, extra=ICOUNT, cpu=cpu) as m:
        code = m.expect(r"^\[bulkhead\] SHA-512: (.*)$", timeout=300).group(1)
        entry = int(m.expect(r"^\[bulkhead\] entered at instret (\d+)", timeout=300).group(1))
        first = int(m.expect(r"^\[bench\] bench: first-instret=(\d+)", timeout=300).group(1))
    return first - entry, code


def hashing_rows(small_image, small_size):
    """Entry to first guest with the bench image and with a 1 MiB image, per SHA-512 code; the
    difference per byte is the hypervisor's cost of a byte of image (hashing it, and copying it
    from flash to staging and from staging into the partition)."""
    large_image, large_size = image_1mib()
    rows = []
    for cpu, name in SHA512_CPUS:
        small, code = entry_to_first_guest(small_image, cpu)
        large, _ = entry_to_first_guest(large_image, cpu)
        if name.lower() not in code.lower():
            sys.exit(f"-cpu {cpu}: the hypervisor used {code!r}, not {name}")
        rows.append((f"hypervisor entry to first guest instruction, bench image / 1 MiB image ({name} SHA-512, -cpu {cpu})",
                     f"{small:,} / {large:,}", "800,000" if name == "Zbb" else ""))
        rows.append((f"hypervisor cost of one image byte (hash + 2 copies; {name})",
                     f"{(large - small) / (large_size - small_size):.2f}", ""))
    return rows


def image_1mib():
    """A flash image whose guest image is 1 MiB (the bench guest padded with zeros), and that size."""
    padded = os.path.join(BUILD, "bench-1m-image.bin")
    code = open(os.path.join(BUILD, "guests", "bench.bin"), "rb").read()
    with open(padded, "wb") as f:
        f.write(code + bytes((1 << 20) - len(code)))
    config = os.path.join(BUILD, "bench-1m.toml")
    with open(config, "w") as f:
        f.write('[[partition]]\nname = "bench"\nimage = "bench-1m-image.bin"\nharts = [0]\n'
                'memory_base = 0x84000000\nmemory_size = "4M"\n')
    return bench_flash(config, "bench-1m"), 1 << 20


def ipc_bench(machine="virt", wake="SBI IPI"):
    """The IPC rows (see the docstring): message and doorbell round trips, shared-memory throughput,
    on `machine`, whose harts wake each other through `wake` (checked in the boot log)."""
    config = os.path.join(ROOT, "Tests", "qemu", "configs", "ipc-bench.toml")
    bundle, image = os.path.join(BUILD, "ipc-bench.bin"), os.path.join(BUILD, "ipc-bench-flash.img")
    result = pack(config, bundle, "--harts", "2")
    if result.returncode != 0:
        sys.exit(result.stdout + result.stderr)
    flash(image, "--reset-state")
    flash(image, bundle, "--slot", "a")
    figures = {}
    with Machine(image, smp=2, extra=ICOUNT, machine=machine) as m:
        m.expect(rf"^\[bulkhead\] cross-hart wake-ups: {wake}", timeout=300)
        for name in ("message-round-trip", "doorbell-round-trip", "shm-transfer"):
            for unit in ("instret", "time-x100"):
                figures[f"{name}-{unit}"] = int(m.expect(rf"^\[sender\] ipcbench: {name}-{unit}=(\d+)", timeout=300).group(1))
        size = int(m.expect(r"^\[sender\] ipcbench: shm-bytes=(\d+)", timeout=300).group(1))
        m.expect(r"^\[sender\] ipcbench: done", timeout=300)
        if m.count(r"WRONG|failed|FATAL"):
            sys.exit("ipcbench reported an error:\n" + m.text[-3000:])
    for name in ("message-round-trip", "doorbell-round-trip", "shm-transfer"):
        counted, ticks = figures[f"{name}-instret"], figures[f"{name}-time-x100"]
        if abs(counted - ticks) > counted // 100 + 100:
            sys.exit(f"ipcbench: {name}: instret {counted} and rdtime x 100 {ticks} disagree")
    transfer = figures["shm-transfer-instret"]
    mb_per_s = size / (transfer * 1e-9) / 1e6 if transfer else 0
    return [
        (f"IPC message round trip, 64 B, two partitions on two harts (instructions, both harts; {wake})",
         f"{figures['message-round-trip-instret']:,}", ""),
        (f"IPC doorbell round trip, two harts (instructions, both harts; {wake})",
         f"{figures['doorbell-round-trip-instret']:,}", ""),
        (f"shared memory: {size:,} B written, read, 2 doorbells (instructions, both harts; {wake})", f"{transfer:,}", ""),
        (f"shared-memory throughput (MB/s of icount virtual time, 1 instruction = 1 ns; {wake})", f"{mb_per_s:,.0f}", ""),
    ]


def interrupt_latency():
    """The rtc guest alone on one hart (Tests/qemu/configs/rtc-bench.toml): it spins reading
    `instret` until its RTC alarm interrupt is taken, then reads it again in the handler; the
    difference is the path from the physical PLIC through the hypervisor (claim, virtual PLIC,
    VSEIP) to the guest's handler."""
    image = bench_flash(os.path.join(ROOT, "Tests", "qemu", "configs", "rtc-bench.toml"), "rtc-bench")
    with Machine(image, smp=1, extra=ICOUNT) as m:
        latencies = [int(m.expect(rf"^\[rtc\] rtc: alarm {n} interrupt, source 11, latency (\d+) instructions$",
                                  timeout=120).group(1)) for n in (1, 2, 3)]
    return min(latencies), max(latencies)


def stack_high_water():
    """Each stack's high-water mark (Ctrl-B s, Kernel/Boot/Status.swift) after the demo of
    Guests/demo.toml has run its key services and IPC (8 harts), and the stack sizes."""
    image = bench_flash(os.path.join(ROOT, "Guests", "demo.toml"), "demo", harts=8)
    with Machine(image, smp=8, keyboard=True) as m:
        done = m.expect(r"^\[vault\] vault: done$", timeout=300)
        m.expect(r"^\[ping\] ping: done", timeout=300)
        m.type(b"\x02" b"s")
        report = m.expect(r"^\[bulkhead\] status: stack high-water marks \(bytes used of (\d+) KiB per hart\):"
                          r"((?: hart \d \d+){8}); boot (\d+) of (\d+) KiB$", start=done.end(), timeout=60)
    harts = [int(n) for n in re.findall(r"hart \d (\d+)", report.group(2))]
    return (f"{max(harts):,} of {int(report.group(1))} KiB (hart {harts.index(max(harts))}) / "
            f"{int(report.group(3)):,} of {int(report.group(4))} KiB")


def monitor_rows(image, plain_entry):
    """Under the secure monitor (build/monitor/fw_jump.elf, docs/monitor.md), -smp 1: the monitor's
    verify of the signed hypervisor image, and the hypervisor's entry to the bench guest's first
    instruction when it takes its CDI from the monitor instead of hashing itself (beside
    `plain_entry`, the same figure under QEMU's own OpenSBI)."""
    signed = os.path.join(BUILD, "monitor", "bulkhead.signed")
    cmd = ["qemu-system-riscv64", "-M", "virt", "-cpu", "rv64", "-smp", "1", "-m", "1G", "-nographic", *ICOUNT,
           "-bios", os.path.join(BUILD, "monitor", "fw_jump.elf"),
           "-device", f"loader,file={signed},addr=0x801ff000,force-raw=on",
           "-drive", f"if=pflash,unit=1,format=raw,file={image}"]
    with Machine.command(cmd) as m:
        verify = int(m.expect(r"^\[monitor\] next stage verified and measured in (\d+) instructions$", timeout=300).group(1))
        m.expect(r"^\[bulkhead\] key chain: CDI from the secure monitor", timeout=300)
        entry = int(m.expect(r"^\[bulkhead\] entered at instret (\d+)", timeout=300).group(1))
        first = int(m.expect(r"^\[bench\] bench: first-instret=(\d+)", timeout=300).group(1))
    size = os.path.getsize(signed) - 4096
    return [
        (f"secure monitor: verify and measure the signed hypervisor image ({size:,} bytes; portable SHA-512, one Ed25519 verify, its state record read and written) (instructions)",
         f"{verify:,}", ""),
        ("hypervisor entry to first guest instruction (Zbb): CDI from the secure monitor / self-hashed under plain OpenSBI",
         f"{first - entry:,} / {plain_entry:,}", ""),
    ]


def main():
    image = bench_flash(os.path.join(ROOT, "Tests", "qemu", "configs", "bench.toml"), "bench")
    with Machine(image, smp=1, extra=ICOUNT) as m:
        null = int(m.expect(r"^\[bench\] bench: null-sbi-call=(\d+)", timeout=120).group(1))
        verify = int(m.expect(r"^\[bench\] bench: ed25519-verify=(\d+)", timeout=120).group(1))
        sha512 = m.expect(r"^\[bench\] bench: sha512-per-byte=(\d+\.\d\d)", timeout=120).group(1)
        derive = int(m.expect(r"^\[bench\] bench: key-derive=(\d+)", timeout=120).group(1))
        seal = int(m.expect(r"^\[bench\] bench: key-seal-4k=(\d+)", timeout=120).group(1))
        attest = int(m.expect(r"^\[bench\] bench: key-attest=(\d+)", timeout=120).group(1))
        generate = int(m.expect(r"^\[bench\] bench: key-generate=(\d+)", timeout=120).group(1))
        sign = int(m.expect(r"^\[bench\] bench: key-sign-64=(\d+)", timeout=120).group(1))
        sign_again = int(m.expect(r"^\[bench\] bench: key-sign-64-again=(\d+)", timeout=120).group(1))
    bench_size = os.path.getsize(os.path.join(BUILD, "guests", "bench.bin"))
    s = sizes()
    text, rodata, data, bss = s.get(".text", 0), s.get(".rodata", 0), s.get(".data", 0), s.get(".bss", 0)
    rows = [
        ("null SBI call round trip (instructions)", f"{null}", f"{BAO['null']}"),
        *hashing_rows(image, bench_size),
        *monitor_rows(image, entry_to_first_guest(image, "rv64")[0]),
        ("Ed25519 verify, 1024-byte message (instructions)", f"{verify:,}", ""),
        ("SHA-512 in a guest, Core's portable Swift (instructions per byte, 64 KiB)", sha512, ""),
        ("key call derive, 11-byte label (instructions)", f"{derive:,}", ""),
        ("key call seal, 4 KiB image-bound (instructions)", f"{seal:,}", ""),
        ("key call attest (instructions)", f"{attest:,}", ""),
        ("key call key_generate, sign key, written to flash (instructions)", f"{generate:,}", ""),
        ("key call key_sign, 64-byte message: first call / again, its expanded key cached (instructions)",
         f"{sign:,} / {sign_again:,}", ""),
        *ipc_bench(),
        *ipc_bench("virt,aclint=on", "ACLINT SSWI"),
        ("device interrupt: physical PLIC to the guest's handler, min / max of 3 (instructions)",
         "{:,} / {:,}".format(*interrupt_latency()), ""),
        ("stack high-water marks after the demo (Ctrl-B s): deepest hart stack / boot stack (bytes)",
         stack_high_water(), ""),
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
