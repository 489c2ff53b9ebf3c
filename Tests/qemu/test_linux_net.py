"""Linux guest devices on bare QEMU virt (no hypervisor): Debian's unmodified riscv64 Linux 6.12
loads its virtio modules from the initramfs, gets an address by DHCP on a virtio-net, downloads a
file over HTTP and uses an ext4 virtio disk (read, write, unmount). The same guest owning the same
devices under Bulkhead: test_linux_devices.py.

The network stays on this machine: QEMU's user network with restrict=on, whose only way out is the
guestfwd of 10.0.2.100:80 to the test's own HTTP server on 127.0.0.1 (harness.linux_net_devices).

The kernel, the initramfs and the disk image come from `make linux-guest` (Guests/linux/linux.mk),
run when any is missing. Each test writes to its own copy of build/linux/disk.img."""
import hashlib
import os
import shutil
import subprocess

import pytest

from harness import BUILD, ROOT, FileServer, Machine, bare_linux_cmd, linux_net_devices, shell_command

LINUX_CACHE = os.environ.get("LINUX_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "bulkhead", "linux"))
IMAGE = os.path.join(LINUX_CACHE, "Image")
INITRAMFS = os.path.join(BUILD, "linux", "initramfs.cpio")
DISK = os.path.join(BUILD, "linux", "disk.img")
HELLO = "hello from the Bulkhead disk image"       # Guests/linux/disk/hello.txt
TIMEOUT = 180                                       # seconds for Linux to reach its marker under TCG
APPEND = "console=ttyS0 earlycon=sbi"
BAD = (r"BULKHEAD-LINUX-CHECK \S+ FAIL", r"Kernel panic", r"Oops", r"BUG:", r"rcu_sched self-detected stall",
       r"BULKHEAD-LINUX-POWEROFF-FAILED", r"EXT4-fs error", r"I/O error")


@pytest.fixture(scope="module", autouse=True)
def linux_guest():
    """Fetches the kernel and its modules and builds the initramfs and the disk through the make
    target when they are missing."""
    if not all(os.path.exists(f) for f in (IMAGE, INITRAMFS, DISK)):
        result = subprocess.run(["make", "linux-guest"], cwd=ROOT, capture_output=True, text=True)
        assert result.returncode == 0, f"make linux-guest failed:\n{result.stdout}{result.stderr}"
    assert all(os.path.exists(f) for f in (IMAGE, INITRAMFS, DISK))


def e2fs_tool(name):
    """An e2fsprogs tool (debugfs, e2fsck), also when /sbin is not on PATH."""
    for path in (shutil.which(name), f"/usr/sbin/{name}", f"/sbin/{name}"):
        if path and os.path.exists(path):
            return path
    pytest.fail(f"{name} not found (e2fsprogs; make deps installs it)")


def disk_file(image, path):
    """The contents of `path` in the ext4 image, read on the host with debugfs (no mount)."""
    result = subprocess.run([e2fs_tool("debugfs"), "-R", f"cat {path}", str(image)], capture_output=True, text=True)
    assert result.returncode == 0, f"debugfs failed:\n{result.stderr}"
    return result.stdout


def disk_copy(tmp_path):
    disk = tmp_path / "disk.img"
    shutil.copyfile(DISK, disk)
    return disk


def run_linux(action, extra=(), keyboard=False):
    """Linux with `bulkhead.action=ACTION` on bare QEMU virt (2 harts, 256 MiB) with `extra` QEMU
    arguments."""
    return Machine.command(bare_linux_cmd(IMAGE, INITRAMFS, f"{APPEND} bulkhead.action={action}", extra=extra),
                           keyboard=keyboard)


def never(m, *patterns):
    for pattern in patterns:
        assert m.count(pattern) == 0, f"unexpected /{pattern}/ in the console:\n{m.text[-4000:]}"


def test_linux_downloads_over_virtio_net_and_reads_and_writes_its_virtio_disk(tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    payload = os.urandom(1 << 20)
    (www / "file.bin").write_bytes(payload)
    disk = disk_copy(tmp_path)
    with FileServer(www) as server, run_linux("net-test", linux_net_devices(server.port, disk)) as m:
        up = m.expect(r"^BULKHEAD-LINUX-UP kernel=6\.12\.\S+ cpus=2 mem=\d+kB$", timeout=TIMEOUT)
        m.expect(r"^BULKHEAD-LINUX-CHECK modules ok$", start=up.end())
        net = m.expect(r"^BULKHEAD-LINUX-NET eth0 (\d+\.\d+\.\d+\.\d+)$", start=up.end())
        assert net.group(1).startswith("10.0.2."), "the address comes from QEMU's user network DHCP"
        m.expect(r"^BULKHEAD-LINUX-DISK /dev/vda /mnt$", start=up.end())
        m.expect(r"^BULKHEAD-LINUX-CHECK download ok$", start=up.end())
        digest = m.expect(r"^BULKHEAD-LINUX-SHA256 (\S+)$", start=up.end())
        assert digest.group(1) == hashlib.sha256(payload).hexdigest()
        read = m.expect(r"^BULKHEAD-LINUX-DISK-READ (.*)$", start=up.end())
        assert read.group(1) == HELLO
        m.expect(r"^BULKHEAD-LINUX-CHECK disk-write ok$", start=up.end())
        m.expect(r"^BULKHEAD-LINUX-NET-TEST done$", start=up.end())
        m.wait_exit(60)          # the init powers off: QEMU ends
        for check in ("cpuinfo", "cmdline", "meminfo", "devtmpfs", "rootfs-writable"):
            m.expect(rf"^BULKHEAD-LINUX-CHECK {check} ok$", start=up.end())
        never(m, *BAD)
    assert server.requests == ["/file.bin"]
    # Back on the host: what the guest wrote, and a filesystem that was cleanly unmounted.
    assert disk_file(disk, "/written.txt") == (f"written by the Bulkhead Linux guest\n"
                                               f"file.bin sha256 {hashlib.sha256(payload).hexdigest()}\n")
    assert disk_file(disk, "/hello.txt") == HELLO + "\n"
    fsck = subprocess.run([e2fs_tool("e2fsck"), "-fn", str(disk)], capture_output=True, text=True)
    assert fsck.returncode == 0, f"e2fsck -fn found problems:\n{fsck.stdout}{fsck.stderr}"


def test_shell_comes_with_network_and_disk(tmp_path):
    disk = disk_copy(tmp_path)
    with run_linux("shell", linux_net_devices(None, disk), keyboard=True) as m:
        up = m.expect(r"^BULKHEAD-LINUX-UP ", timeout=TIMEOUT)
        m.expect(r"^BULKHEAD-LINUX-NET eth0 10\.0\.2\.\d+$", start=up.end())
        m.expect(r"^BULKHEAD-LINUX-DISK /dev/vda /mnt$", start=up.end())
        shell = m.expect(r"^BULKHEAD-LINUX-SHELL$", start=up.end())
        shell_command(m, b"echo disk-$(cat /mnt/hello.txt | wc -c)\n", r"^disk-35$", shell.end())
        # restrict=on: QEMU's DHCP offers no gateway, so the guest has its subnet and no default route.
        shell_command(m, b"echo routes-$(ip route | grep -c '^10.0.2.0/24 dev eth0')-$(ip route | grep -c default)\n",
                      r"^routes-1-0$", shell.end())
        m.type(b"umount /mnt && poweroff -f\n")
        m.wait_exit(60)
        never(m, *BAD)


def test_shell_without_devices_skips_them_silently():
    with run_linux("shell", keyboard=True) as m:
        up = m.expect(r"^BULKHEAD-LINUX-UP ", timeout=TIMEOUT)
        m.expect(r"^BULKHEAD-LINUX-CHECK modules ok$", start=up.end())
        shell = m.expect(r"^BULKHEAD-LINUX-SHELL$", start=up.end())
        shell_command(m, b"echo mounted-$(grep -c ' /mnt ' /proc/mounts)\n", r"^mounted-0$", shell.end())
        m.type(b"poweroff -f\n")
        m.wait_exit(60)
        never(m, *BAD, r"BULKHEAD-LINUX-NET ", r"BULKHEAD-LINUX-DISK ")
