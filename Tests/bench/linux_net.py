#!/usr/bin/env python3
"""Linux network throughput: the wall time of a 64 MiB HTTP download into the Linux guest over its
virtio-net (Guests/linux/init's bulkhead.action=net-bench), median of several runs.

Each run starts an HTTP server on 127.0.0.1 (an ephemeral port) serving a random 64 MiB bench.bin,
boots the guest with harness.linux_net_devices (QEMU user network, restrict=on, 10.0.2.100:80
forwarded to that server; the disk is a scratch copy of build/linux/disk.img) and reads:
    wall    host seconds from the server receiving the GET to the guest's line
            `BULKHEAD-LINUX-NET-BENCH bytes=<n> seconds=<s>` on the console (the guest has the whole
            file in /tmp then)
    guest   the <s> of that line: the guest's own /proc/uptime difference around its wget
The output is read as it arrives (no fixed sleeps); a run that shows no result within the timeout fails.

    CASES   name -> function(port, disk) returning the QEMU command line; main() runs each case:
            bare-qemu (the kernel on OpenSBI, 2 harts) and bulkhead (the same kernel as Bulkhead's
            only partition on 2 harts, owning the virtio-net and virtio-blk with dma = "trusted").
            The hypervisor's console lines carry a "[linux] " tag, which the patterns accept.

Run through `make linux-net-bench` (which fetches the kernel and builds the initramfs and the disk
first), or directly: python3 Tests/bench/linux_net.py [case...]   (LINUX_IMAGE, LINUX_INITRAMFS,
LINUX_DISK, LINUX_NET_RUNS override the defaults)
"""
import os
import shutil
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "Tests", "qemu"))
import harness  # noqa: E402

IMAGE = os.environ.get("LINUX_IMAGE", os.path.join(os.path.expanduser("~"), ".cache", "bulkhead", "linux", "Image"))
INITRAMFS = os.environ.get("LINUX_INITRAMFS", os.path.join(ROOT, "build", "linux", "initramfs.cpio"))
DISK = os.environ.get("LINUX_DISK", os.path.join(ROOT, "build", "linux", "disk.img"))
SIZE = 64 << 20
RUNS = int(os.environ.get("LINUX_NET_RUNS", "3"))
TIMEOUT = 300
TAG = r"^(?:\[linux\] )?"          # the hypervisor tags a partition's console lines


def bare_qemu_cmd(port, disk):
    """The kernel directly on QEMU virt under OpenSBI (no hypervisor), 2 harts, 256 MiB."""
    return harness.bare_linux_cmd(IMAGE, INITRAMFS, "console=ttyS0 earlycon=sbi bulkhead.action=net-bench",
                                  extra=harness.linux_net_devices(port, disk))


def bulkhead_cmd(port, disk):
    """The same kernel as the only partition of Bulkhead (harts 0 and 1, 256 MiB, -smp 2), owning
    the virtio-net and the virtio-blk (dma = "trusted"); the bundle handed over in RAM."""
    work = tempfile.mkdtemp(prefix="bulkhead-net-bench-hv.")
    config = os.path.join(work, "linux.toml")
    with open(config, "w") as f:
        f.write(f'[[partition]]\nname = "linux"\nkind = "linux"\nimage = "{os.path.abspath(IMAGE)}"\ninitrd = "{os.path.abspath(INITRAMFS)}"\n'
                f'harts = [0, 1]\nmemory_base = 0x90000000\nmemory_size = "256M"\n'
                f'bootargs = "console=ttyS0 earlycon=sbi bulkhead.action=net-bench"\n'
                f'devices = ["/soc/virtio_mmio@10008000", "/soc/virtio_mmio@10007000"]\ndma = "trusted"\n')
    bundle, flash = os.path.join(work, "linux.bin"), os.path.join(work, "flash.img")
    result = harness.pack(config, bundle, "--harts", "2")
    if result.returncode != 0:
        raise AssertionError(f"bulkhead pack failed:\n{result.stdout}{result.stderr}")
    harness.flash(flash, "--reset-state")
    return harness.bulkhead_cmd(flash, smp=2, extra=(*harness.preloaded(bundle), *harness.linux_net_devices(port, disk)))


# name -> function(port, disk) returning the QEMU command line.
CASES = {
    "bare-qemu": bare_qemu_cmd,
    "bulkhead": bulkhead_cmd,
}


def one_run(make_cmd, www, disk):
    """One boot and download: (wall seconds, guest seconds)."""
    with harness.FileServer(www) as server, harness.Machine.command(make_cmd(server.port, disk)) as m:
        m.expect(TAG + r"BULKHEAD-LINUX-NET eth0 \S+$", timeout=TIMEOUT)
        line = m.expect(TAG + r"BULKHEAD-LINUX-NET-BENCH bytes=(\d+) seconds=([\d.]+)$", timeout=TIMEOUT)
        seen = time.monotonic()
        if int(line.group(1)) != SIZE:
            raise AssertionError(f"the guest got {line.group(1)} bytes, not {SIZE}")
        asked = [start for path, start, _ in server.timings if path == "/bench.bin"]
        if len(asked) != 1:
            raise AssertionError(f"expected one answered GET /bench.bin, got {server.requests}")
        return seen - asked[0], float(line.group(2))


def main(argv=None):
    names = (argv if argv is not None else sys.argv[1:]) or list(CASES)
    for f in (IMAGE, INITRAMFS, DISK):
        if not os.path.exists(f):
            print(f"linux_net: {f} is missing (run `make linux-guest`)", file=sys.stderr)
            return 1
    unknown = [n for n in names if n not in CASES]
    if unknown:
        print(f"linux_net: unknown case {unknown[0]!r} (known: {', '.join(CASES)})", file=sys.stderr)
        return 1
    results = {}
    with tempfile.TemporaryDirectory(prefix="bulkhead-net-bench.") as work:
        www = os.path.join(work, "www")
        os.mkdir(www)
        with open(os.path.join(www, "bench.bin"), "wb") as f:
            f.write(os.urandom(SIZE))
        disk = os.path.join(work, "disk.img")
        for name in names:
            print(f"{name}: {RUNS} downloads of {SIZE >> 20} MiB")
            walls = []
            for i in range(RUNS):
                shutil.copyfile(DISK, disk)
                try:
                    wall, guest = one_run(CASES[name], www, disk)
                except AssertionError as err:
                    print(f"linux_net: {name}: {err}", file=sys.stderr)
                    return 1
                walls.append(wall)
                print(f"  run {i + 1}/{RUNS}: wall {wall:.2f} s ({SIZE / wall / 1e6:.1f} MB/s), guest {guest:.2f} s")
            results[name] = statistics.median(walls)
            print(f"{name}: median wall {results[name]:.2f} s, {SIZE / results[name] / 1e6:.1f} MB/s")
    if "bare-qemu" in results and "bulkhead" in results:
        print(f"bulkhead / bare-qemu: {results['bulkhead'] / results['bare-qemu']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
