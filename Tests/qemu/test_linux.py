"""Linux guest tests: Debian's unmodified riscv64 Linux 6.12 (2 vCPUs, 256 MiB) beside the heartbeat
Swift guest on -smp 4: boot to the initramfs's marker, poweroff and reboot through SBI SRST affect
only the Linux partition, and an access outside its RAM is contained by its fault policy.

The kernel and the initramfs come from `make linux-guest` (Guests/linux/linux.mk); the tests run
it when they are missing. The bundle (about 32 MiB) is larger than a flash slot, so it is handed
over in RAM (harness.preloaded) and verified there like a flash bundle."""
import os
import re
import subprocess

import pytest

from harness import BUILD, ROOT, Machine, pack, preloaded, shell_command

LINUX_CACHE = os.environ.get("LINUX_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "bulkhead", "linux"))
IMAGE = os.path.join(LINUX_CACHE, "Image")
INITRAMFS = os.path.join(BUILD, "linux", "initramfs.cpio")
HEARTBEAT = os.path.join(BUILD, "guests", "heartbeat.bin")
TIMEOUT = 180                         # seconds for Linux to reach its marker under TCG
MEMORY_KB = 256 * 1024


@pytest.fixture(scope="module", autouse=True)
def linux_guest():
    """Fetches the kernel and builds the initramfs through the make target when they are missing."""
    if not (os.path.exists(IMAGE) and os.path.exists(INITRAMFS)):
        result = subprocess.run(["make", "linux-guest"], cwd=ROOT, capture_output=True, text=True)
        assert result.returncode == 0, f"make linux-guest failed:\n{result.stdout}{result.stderr}"
    assert os.path.exists(IMAGE) and os.path.exists(INITRAMFS)


def linux_bundle(tmp_path, action, on_fault="stop", linux_extra="", more=""):
    """A bundle with heartbeat on hart 0 and Linux on harts 1 and 2 (256 MiB), whose init runs
    `bulkhead.action=ACTION`; `linux_extra` adds keys to the Linux partition's table, `more`
    adds tables after it."""
    config = tmp_path / "linux.toml"
    config.write_text(f"""
[[partition]]
name = "heartbeat"
image = "{HEARTBEAT}"
harts = [0]
memory_base = 0x84000000
memory_size = "4M"
on_fault = "restart"

[[partition]]
name = "linux"
kind = "linux"
image = "{IMAGE}"
initrd = "{INITRAMFS}"
harts = [1, 2]
memory_base = 0x90000000
memory_size = "256M"
on_fault = "{on_fault}"
bootargs = "earlycon=sbi console=ttyS0,115200 bulkhead.action={action}"
{linux_extra}
{more}
""")
    out = str(tmp_path / "linux.bin")
    result = pack(str(config), out)
    assert result.returncode == 0, f"bulkhead pack failed:\n{result.stdout}{result.stderr}"
    return out


def boot(tmp_path, flash_of, action, keyboard=False, **kw):
    return Machine(flash_of(), smp=4, extra=preloaded(linux_bundle(tmp_path, action, **kw)), keyboard=keyboard)


def expect_marker(m, start=0):
    """The init's marker line; checks the vCPU count and that MemTotal is the partition's RAM less
    what the kernel keeps for itself."""
    marker = m.expect(r"^\[linux\] BULKHEAD-LINUX-UP kernel=(\S+) cpus=(\d+) mem=(\d+)kB$", timeout=TIMEOUT, start=start)
    assert marker.group(1).startswith("6.12.")
    assert marker.group(2) == "2"
    assert MEMORY_KB // 2 < int(marker.group(3)) <= MEMORY_KB
    return marker


def heartbeat_keeps_counting(m, after):
    last = m.expect(r"^\[heartbeat\] heartbeat: (\d+)$", start=after)
    m.expect(rf"^\[heartbeat\] heartbeat: {int(last.group(1)) + 3}$", start=last.end())
    counted = [int(n) for n in re.findall(r"^\[heartbeat\] heartbeat: (\d+)$", m.text, re.M)]
    assert counted == list(range(1, len(counted) + 1)), "heartbeat was disturbed"
    assert m.count(r"partition heartbeat (stopped|restarting)") == 0


def never(m, *patterns):
    for pattern in patterns:
        assert m.count(pattern) == 0, f"unexpected /{pattern}/ in the console:\n{m.text[-4000:]}"


def test_linux_boots_to_its_marker_beside_heartbeat(tmp_path, flash_of):
    with boot(tmp_path, flash_of, "poweroff") as m:
        m.expect(r"^\[bulkhead\] bundle in RAM: bundle verified")
        m.expect(r"^\[bulkhead\] partition linux: harts 1 2, memory 0x90000000 \+ 256 MiB, entry 0x80200000, on fault: stop$")
        m.expect(r"^\[linux\] \[\s*[\d.]+\] Linux version 6\.12\.", timeout=TIMEOUT)
        m.expect(r"^\[linux\] \[\s*[\d.]+\] earlycon: sbi0 at I/O port")          # SBI DBCN before the UART
        m.expect(r"^\[linux\] \[\s*[\d.]+\] smp: Brought up 1 node, 2 CPUs$", timeout=TIMEOUT)
        m.expect(r"^\[linux\] \[\s*[\d.]+\] 10000000\.serial: ttyS0 at MMIO 0x10000000 \(irq = 0", timeout=TIMEOUT)
        marker = expect_marker(m)
        for check in ("cpuinfo", "cmdline", "meminfo", "devtmpfs", "rootfs-writable"):
            m.expect(rf"^\[linux\] BULKHEAD-LINUX-CHECK {check} ok$", start=marker.end())
        m.expect(r"^\[heartbeat\] heartbeat: 5$")
        never(m, r"BULKHEAD-LINUX-CHECK \S+ FAIL", r"Kernel panic", r"FATAL", r"fault: partition",
              r"Oops", r"BUG:", r"rcu_sched self-detected stall", r"BULKHEAD-LINUX-POWEROFF-FAILED")
        # Every line is tagged: nothing reaches the console untagged.
        m.assert_all_lines_tagged("bulkhead", "heartbeat", "linux")


def test_linux_poweroff_stops_only_the_linux_partition(tmp_path, flash_of):
    with boot(tmp_path, flash_of, "poweroff") as m:
        expect_marker(m)
        m.expect(r"^\[bulkhead\] partition linux shut down by its guest \(SBI SRST\)$", timeout=60)
        stopped = m.expect(r"^\[bulkhead\] partition linux stopped$")
        heartbeat_keeps_counting(m, stopped.end())
        assert m.proc.poll() is None, "the machine must keep running"
        never(m, r"partition linux restarting", r"Kernel panic", r"FATAL", r"fault: partition")


def test_linux_reboot_restarts_only_the_linux_partition(tmp_path, flash_of):
    with boot(tmp_path, flash_of, "reboot") as m:
        first = expect_marker(m)
        m.expect(r"^\[linux\] BULKHEAD-LINUX-REBOOTING$", start=first.end())
        m.expect(r"^\[bulkhead\] partition linux asked for a reboot \(SBI SRST\)$", timeout=60)
        restarted = m.expect(r"^\[bulkhead\] partition linux restarting \(boot 1\)$")
        expect_marker(m, start=restarted.end())
        # Boot count 1: the init powers off instead of rebooting again.
        stopped = m.expect(r"^\[bulkhead\] partition linux stopped$", timeout=60, start=restarted.end())
        heartbeat_keeps_counting(m, stopped.end())
        assert m.count(r"^\[linux\] BULKHEAD-LINUX-UP ") == 2
        assert m.count(r"^\[linux\] BULKHEAD-LINUX-REBOOTING$") == 1
        never(m, r"restarting \(boot 2\)", r"BULKHEAD-LINUX-REBOOT-FAILED", r"Kernel panic", r"FATAL",
              r"fault: partition")


def test_linux_access_outside_its_ram_is_stopped_by_its_policy(tmp_path, flash_of):
    # Guest-physical 0x90000000 is just past its 256 MiB of RAM (0x80000000-0x90000000); its host
    # address would be another partition's or nobody's: the G-stage table maps nothing there.
    with boot(tmp_path, flash_of, "devmem:0x90000000") as m:
        marker = expect_marker(m)
        m.expect(r"^\[linux\] BULKHEAD-LINUX-DEVMEM 0x90000000$", start=marker.end())
        fault = m.expect(r"^\[bulkhead\] fault: partition linux vCPU [01]: load guest-page fault at guest address "
                         r"0x90000000, pc 0x[0-9a-f]+; policy: stop$", timeout=60)
        stopped = m.expect(r"^\[bulkhead\] partition linux stopped$", start=fault.end())
        heartbeat_keeps_counting(m, stopped.end())
        never(m, r"BULKHEAD-LINUX-DEVMEM-SURVIVED", r"partition linux restarting", r"FATAL",
              r"partition linux shut down by its guest")


def test_console_input_reaches_the_partition_with_focus(tmp_path, flash_of):
    # The init runs a shell on ttyS0; the focus starts on Linux (the first Linux partition).
    with boot(tmp_path, flash_of, "shell", keyboard=True) as m:
        shell = m.expect(r"^\[linux\] BULKHEAD-LINUX-SHELL$", timeout=TIMEOUT)
        echoed = shell_command(m, b"echo typed-$((6*7)); uname -m\n", r"^\[linux\] riscv64$", shell.end())
        m.expect(r"^\[linux\] typed-42$", start=shell.end())
        # Ctrl-B 0: the focus moves to heartbeat (which reads no input); Linux gets nothing more.
        m.type(b"\x02" b"0")
        moved = m.expect(r"^\[bulkhead\] console input now goes to partition 0 \(heartbeat\)$", start=echoed.end())
        m.type(b"echo lost-$((6*7))\n")
        # Ctrl-B 1: back to Linux, which runs only what it was given after that.
        m.type(b"\x02" b"1")
        m.expect(r"^\[bulkhead\] console input now goes to partition 1 \(linux\)$", start=moved.end())
        m.type(b"echo back-$((6*7)); ls /\n")
        m.expect(r"^\[linux\] back-42$", timeout=60, start=moved.end())
        m.expect(r"^\[linux\] bin +dev +etc +init +lib +mnt +proc +root +sbin +sys +tmp", timeout=60, start=moved.end())
        heartbeat_keeps_counting(m, moved.end())
        never(m, r"lost-", r"Kernel panic", r"FATAL", r"fault: partition")


def test_a_changed_initrd_in_ram_is_refused_and_the_flash_slot_boots(tmp_path, flash_of, bundle_of):
    # The Linux bundle with one initrd byte changed (the initrd is stored last), handed over in RAM;
    # slot A holds a plain heartbeat bundle.
    bundle = linux_bundle(tmp_path, "poweroff")
    data = bytearray(open(bundle, "rb").read())
    data[-1] ^= 0x01
    bad = tmp_path / "bad-initrd.bin"
    bad.write_bytes(bytes(data))
    flash = flash_of(bundle_of("stop-policy.toml"))
    with Machine(flash, smp=4, extra=preloaded(bad)) as m:
        m.expect(r'^\[bulkhead\] bundle in RAM rejected: digest mismatch for the initrd of partition #1 "linux": '
                 r"the initrd does not match its SHA-512 digest in the manifest$", timeout=120)
        m.expect(r"^\[bulkhead\] slot A: bundle verified")
        m.expect(r"^\[heartbeat\] heartbeat: 3$")
        never(m, r"^\[linux\]", r"partition linux", r"FATAL", r"bundle in RAM: bundle verified")
