"""Linux under Bulkhead with devices: the Linux partition owns QEMU virt's virtio-net and virtio-blk
(dma = "trusted", interrupts through its virtual PLIC), gets an address by DHCP, downloads a file
from the test's own HTTP server on 127.0.0.1 (reached only through guestfwd, restrict=on), reads
and writes its ext4 disk; heartbeat keeps its pace meanwhile; a probe partition that touches the
virtio device's registers or the PLIC is stopped by its policy, and the device keeps working.
The same guest on bare QEMU: test_linux_net.py."""
import hashlib
import os
import re
import subprocess
import time

from harness import BUILD, FileServer, Machine, linux_net_devices, preloaded
from test_linux import TIMEOUT, linux_bundle, linux_guest  # noqa: F401 (the fixture)
from test_linux_net import BAD, HELLO, disk_copy, disk_file, e2fs_tool

DEVPROBE = os.path.join(BUILD, "guests", "devprobe.bin")
NET, BLK = "/soc/virtio_mmio@10008000", "/soc/virtio_mmio@10007000"     # the first and second -device


def device_bundle(tmp_path, action):
    """heartbeat on hart 0; Linux on harts 1 and 2 owning the virtio-net and the virtio-blk; devprobe
    on hart 3 reading the virtio-net's registers, then the PLIC priority of its source 8."""
    return linux_bundle(tmp_path, action, linux_extra=f'dma = "trusted"\ndevices = ["{NET}", "{BLK}"]', more=f"""
[[partition]]
name = "devprobe"
image = "{DEVPROBE}"
harts = [3]
memory_base = 0x84400000
memory_size = "2M"
on_fault = "restart"
bootargs = "devprobe=0x10008000,0xc000020"
""")


def test_linux_owns_virtio_net_and_blk_under_bulkhead(tmp_path, flash_of):
    www = tmp_path / "www"
    www.mkdir()
    payload = os.urandom(4 << 20)
    (www / "file.bin").write_bytes(payload)
    disk = disk_copy(tmp_path)
    bundle = device_bundle(tmp_path, "net-test")
    with FileServer(www) as server, \
            Machine(flash_of(), smp=4, extra=preloaded(bundle) + linux_net_devices(server.port, disk)) as m:
        m.expect(rf"^\[bulkhead\] partition linux: device {NET} at 0x10008000, interrupts 8$")
        m.expect(r"^\[bulkhead\] interrupts: PLIC at 0xc000000, ")
        # The probe cannot reach Linux's device nor the PLIC.
        m.expect(r"^\[bulkhead\] fault: partition devprobe vCPU 0: load guest-page fault at guest address 0x10008000, ")
        m.expect(r"^\[bulkhead\] fault: partition devprobe vCPU 0: load guest-page fault at guest address 0xc000020, ")
        m.expect(r"^\[devprobe\] devprobe: all 2 attempts were contained$")
        up = m.expect(r"^\[linux\] BULKHEAD-LINUX-UP kernel=6\.12\.\S+ cpus=2 mem=\d+kB$", timeout=TIMEOUT)
        m.expect(r"^\[linux\] BULKHEAD-LINUX-CHECK modules ok$", start=up.end(), timeout=TIMEOUT)
        net = m.expect(r"^\[linux\] BULKHEAD-LINUX-NET eth0 (10\.0\.2\.\d+)$", start=up.end(), timeout=TIMEOUT)
        m.expect(r"^\[linux\] BULKHEAD-LINUX-DISK /dev/vda /mnt$", start=up.end(), timeout=TIMEOUT)
        server.arrived.wait(TIMEOUT)
        started = time.monotonic()
        downloading = len(m.text)
        m.expect(r"^\[linux\] BULKHEAD-LINUX-CHECK download ok$", start=net.end(), timeout=TIMEOUT)
        elapsed = time.monotonic() - started
        beats = len(re.findall(r"^\[heartbeat\] heartbeat: \d+$", m.text[downloading:], re.M))
        digest = m.expect(r"^\[linux\] BULKHEAD-LINUX-SHA256 (\S+)$", start=up.end())
        assert digest.group(1) == hashlib.sha256(payload).hexdigest()
        assert m.expect(r"^\[linux\] BULKHEAD-LINUX-DISK-READ (.*)$", start=up.end()).group(1) == HELLO
        m.expect(r"^\[linux\] BULKHEAD-LINUX-CHECK disk-write ok$", start=up.end())
        m.expect(r"^\[linux\] BULKHEAD-LINUX-NET-TEST done$", start=up.end())
        m.expect(r"^\[bulkhead\] partition linux shut down by its guest \(SBI SRST\)$", start=up.end())
        last = int(m.expect(r"^\[heartbeat\] heartbeat: (\d+)$", start=len(m.text)).group(1))
        m.expect(rf"^\[heartbeat\] heartbeat: {last + 2}$")
        text = m.text
    for bad in BAD:
        assert not re.search(bad, text, re.M), f"/{bad}/ in the console"
    assert "BREACH" not in text and "FATAL" not in text
    assert not re.search(r"^\[bulkhead\] fault: partition (linux|heartbeat)", text, re.M)
    assert server.requests == ["/file.bin"]
    # heartbeat kept its pace while Linux downloaded (50 ms a beat; half that rate at least, a bound
    # loose enough for a loaded 2-core machine, where both share the host's cores).
    if elapsed > 1.0:
        assert beats >= elapsed / 0.05 / 2, f"{beats} heartbeats in {elapsed:.1f} s of download"
    # What Linux wrote is on the disk image, and the filesystem is clean.
    assert disk_file(disk, "/written.txt") == (f"written by the Bulkhead Linux guest\n"
                                               f"file.bin sha256 {hashlib.sha256(payload).hexdigest()}\n")
    fsck = subprocess.run([e2fs_tool("e2fsck"), "-fn", str(disk)], capture_output=True, text=True)
    assert fsck.returncode == 0, f"e2fsck -fn found problems:\n{fsck.stdout}{fsck.stderr}"
