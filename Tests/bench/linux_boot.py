#!/usr/bin/env python3
"""Linux boot time: wall time from starting QEMU to the initramfs's marker line
`BULKHEAD-LINUX-UP kernel=... cpus=... mem=...kB` (Guests/linux/init), median of several boots.

    boot_seconds(cmd, marker)                 one boot: (seconds, marker line); QEMU is killed after
    median_boot_seconds(cmd, marker, runs=5)  the median of `runs` boots
    CASES                                     name -> function returning a QEMU command line; main()
                                              runs each case. The bare-QEMU case is here; a case
                                              for the same kernel under the Bulkhead hypervisor is
                                              added by registering one more entry (see bulkhead_cmd).

The output is read as it arrives (no fixed sleeps); a boot that shows no marker within the timeout
(300 s) fails. Run through `make linux-bench` (which fetches the kernel and builds the initramfs
first), or directly: LINUX_IMAGE=... LINUX_INITRAMFS=... python3 Tests/bench/linux_boot.py [case...]
"""
import os
import re
import selectors
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IMAGE = os.environ.get("LINUX_IMAGE", os.path.join(os.path.expanduser("~"), ".cache", "bulkhead", "linux", "Image"))
INITRAMFS = os.environ.get("LINUX_INITRAMFS", os.path.join(ROOT, "build", "linux", "initramfs.cpio"))
QEMU = os.environ.get("QEMU", "qemu-system-riscv64")
MARKER = "BULKHEAD-LINUX-UP "
TIMEOUT = 300.0


class BootError(Exception):
    pass


def _stop(proc):
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def boot_seconds(cmd, marker=MARKER, timeout=TIMEOUT):
    """Starts `cmd` (a QEMU command line, list of strings), reads its console until a complete line
    containing `marker` appears, kills QEMU and returns (seconds from start to that line, the line).
    Raises BootError when QEMU exits first or the timeout passes (with the output's tail)."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    buf = b""
    want = marker.encode()
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            fd = proc.stdout.fileno()
            while True:
                remaining = start + timeout - time.monotonic()
                if remaining <= 0:
                    raise BootError(f"no {marker.strip()!r} within {timeout:.0f} s; output ends:\n"
                                    + buf[-2000:].decode("utf-8", "replace"))
                if not sel.select(remaining):
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise BootError(f"QEMU exited ({proc.wait()}) before {marker.strip()!r}; output ends:\n"
                                    + buf[-2000:].decode("utf-8", "replace"))
                seen = len(buf)
                buf += chunk
                # Only complete lines count; look from the start of the last line seen before.
                at = buf.find(want, max(0, buf.rfind(b"\n", 0, seen) + 1 - len(want)))
                if at >= 0:
                    end = buf.find(b"\n", at)
                    if end < 0:
                        continue       # the marker line is not complete yet
                    elapsed = time.monotonic() - start
                    line_start = buf.rfind(b"\n", 0, at) + 1
                    return elapsed, buf[line_start:end].decode("utf-8", "replace").strip("\r")
    finally:
        _stop(proc)


def median_boot_seconds(cmd, marker=MARKER, runs=5, timeout=TIMEOUT, expect=None, log=print):
    """The median of `runs` boot_seconds(cmd, marker). `expect`, a regex, must match each marker
    line (e.g. r"cpus=2 "); `log` gets one line per boot (None: quiet)."""
    samples = []
    for i in range(runs):
        seconds, line = boot_seconds(cmd, marker, timeout)
        if expect is not None and not re.search(expect, line):
            raise BootError(f"marker line {line!r} does not match {expect!r}")
        samples.append(seconds)
        if log:
            log(f"  run {i + 1}/{runs}: {seconds:.2f} s   {line}")
    return statistics.median(samples)


def bare_qemu_cmd(image=IMAGE, initramfs=INITRAMFS, smp=2, memory="256M",
                  append="console=ttyS0 earlycon=sbi"):
    """The kernel directly on QEMU virt under OpenSBI (no hypervisor)."""
    return [QEMU, "-M", "virt", "-cpu", "rv64", "-smp", str(smp), "-m", memory, "-nographic",
            "-bios", "default", "-kernel", image, "-initrd", initramfs, "-append", append]


def bulkhead_cmd(image=IMAGE, initramfs=INITRAMFS, append="earlycon=sbi console=ttyS0,115200"):
    """The same kernel and initramfs as a Bulkhead partition (2 vCPUs, 256 MiB, beside heartbeat
    on -smp 4, as in Tests/qemu/test_linux.py): packs and signs the bundle, makes a flash image
    for the state region, and returns the QEMU command that hands the bundle over in RAM."""
    sys.path.insert(0, os.path.join(ROOT, "Tests", "qemu"))
    import harness
    image, initramfs = os.path.abspath(image), os.path.abspath(initramfs)
    work = os.path.join(ROOT, "build", "bench-linux")
    os.makedirs(work, exist_ok=True)
    config = os.path.join(work, "linux.toml")
    with open(config, "w") as f:
        f.write(f"""
[[partition]]
name = "heartbeat"
image = "{os.path.join(ROOT, 'build', 'guests', 'heartbeat.bin')}"
harts = [0]
memory_base = 0x84000000
memory_size = "4M"

[[partition]]
name = "linux"
kind = "linux"
image = "{image}"
initrd = "{initramfs}"
harts = [1, 2]
memory_base = 0x90000000
memory_size = "256M"
bootargs = "{append} bulkhead.action=poweroff"
""")
    bundle = os.path.join(work, "bundle.bin")
    result = harness.pack(config, bundle)
    if result.returncode != 0:
        raise BootError(f"bulkhead pack failed:\n{result.stdout}{result.stderr}")
    flash = os.path.join(work, "flash.img")
    if os.path.exists(flash):
        os.remove(flash)
    harness.flash(flash, "--reset-state")
    return harness.bulkhead_cmd(flash, smp=4, extra=harness.preloaded(bundle))


# Each case: name -> (function returning the QEMU command line, regex each marker line must match).
# The init prints the same marker in both cases, so nothing else changes.
CASES = {
    "bare-qemu": (bare_qemu_cmd, r" cpus=2 "),
    "bulkhead": (bulkhead_cmd, r"^\[linux\] BULKHEAD-LINUX-UP .* cpus=2 "),
}


def main(argv=None):
    names = (argv if argv is not None else sys.argv[1:]) or list(CASES)
    for f in (IMAGE, INITRAMFS):
        if not os.path.exists(f):
            print(f"linux_boot: {f} is missing (run `make linux-guest`)", file=sys.stderr)
            return 1
    results = {}
    for name in names:
        if name not in CASES:
            print(f"linux_boot: unknown case {name!r} (known: {', '.join(CASES)})", file=sys.stderr)
            return 1
        make_cmd, expect = CASES[name]
        print(f"{name}: 5 boots to {MARKER.strip()}")
        try:
            results[name] = median_boot_seconds(make_cmd(), MARKER, runs=5, expect=expect)
        except BootError as err:
            print(f"linux_boot: {name}: {err}", file=sys.stderr)
            return 1
        print(f"{name}: median {results[name]:.2f} s from QEMU start to the marker")
    if "bare-qemu" in results and "bulkhead" in results:
        print(f"bulkhead / bare-qemu: {results['bulkhead'] / results['bare-qemu']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
