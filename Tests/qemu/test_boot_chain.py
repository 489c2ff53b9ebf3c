"""The boot chain of a real board, on QEMU virt: QEMU's OpenSBI enters S-mode at the bundle flash's
entry stub, which jumps to Debian's unmodified U-Boot (qemu-riscv64_smode, placed at 0x80200000 by
QEMU's loader); U-Boot's distro boot finds boot.scr on a virtio-blk disk made by
Tools/boot/mkbootdisk.sh (the script `make boot-disk` runs) from Boards/QEMUVirt/boot.cmd, which
loads bulkhead.bin and the bundle and runs booti. The flash's slots are empty (it keeps only the
state region and the device secret), so the partitions can only come from the bundle on the disk,
handed over as the initrd (README "Booting on a board").

u-boot.bin comes from `make uboot-guest`, mkimage from u-boot-tools (`make deps`)."""
import hashlib
import os
import re
import subprocess

import pytest

from harness import BUILD, CLI, ROOT, UBOOT, Machine, bulkhead_cmd, flash, pack

BULKHEAD_BIN = os.path.join(BUILD, "bulkhead.bin")
BOOT_CMD = os.path.join(ROOT, "Boards", "QEMUVirt", "boot.cmd")
MKBOOTDISK = os.path.join(ROOT, "Tools", "boot", "mkbootdisk.sh")
DEMO = os.path.join(ROOT, "Guests", "demo.toml")
UBOOT_ENTRY = 0x80200000              # where the flash's entry stub jumps; U-Boot's link address
RAMDISK_ADDR = 0x8c300000             # U-Boot's ${ramdisk_addr_r} on QEMU virt, where boot.cmd loads the bundle
TIMEOUT = 120                         # seconds for each step (TCG, a busy host; U-Boot scans other devices first)

# Nothing of these may ever appear: a broken invariant, a breach, a refused bundle or placement.
NEVER = (r"FATAL", r"BREACH", r"rejected", r"refused", r"Halting", r"fault: partition (?!intruder)",
         r"error:", r"Unknown command", r"Bulkhead boot script: booti failed")


@pytest.fixture(scope="module", autouse=True)
def _uboot(uboot_guest):
    """Every test here needs Debian's U-Boot (conftest.uboot_guest)."""


def boot_disk(bundle, disk):
    """The boot disk of `bundle`, made like `make boot-disk` makes build/boot/disk.img."""
    result = subprocess.run([MKBOOTDISK, BOOT_CMD, BULKHEAD_BIN, str(bundle), str(disk)], capture_output=True, text=True,
                            cwd=ROOT)
    assert result.returncode == 0, f"mkbootdisk failed (make deps installs mkimage):\n{result.stdout}{result.stderr}"
    return str(disk)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo bundle (8 harts) and its boot disk, made once: every test boots the same disk."""
    directory = tmp_path_factory.mktemp("chain")
    bundle = directory / "bundle.bin"
    result = pack(DEMO, str(bundle), "--harts", "8")
    assert result.returncode == 0, f"bulkhead pack failed:\n{result.stdout}{result.stderr}"
    return bundle, boot_disk(bundle, directory / "disk.img")


def empty_flash(path):
    """A bundle flash with both slots empty: only the state region (factory) and a device secret."""
    flash(path, "--reset-state")
    result = subprocess.run([CLI, "provision", str(path)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, f"bulkhead provision failed:\n{result.stdout}{result.stderr}"
    return str(path)


def chain(flash_image, disk, memory="1G"):
    """OpenSBI -> U-Boot (entered through the flash's entry stub) -> boot.scr on the virtio disk."""
    return Machine.command(bulkhead_cmd(flash_image, smp=8, memory=memory, kernel=UBOOT, load_address=UBOOT_ENTRY,
                                        machine="virt,aclint=on",
                                        extra=("-drive", f"if=none,id=bootdisk,format=raw,file={disk}",
                                               "-device", "virtio-blk-device,drive=bootdisk")))


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def through_uboot(m, bundle_size):
    """U-Boot's banner, its distro boot finding and running boot.scr, booti starting the hypervisor
    with the bundle as the initrd; returns the offset where the hypervisor's output starts."""
    banner = m.expect(r"^U-Boot (\d{4}\.\d{2}\S*) \(.*\)$", timeout=TIMEOUT)
    found = m.expect(r"^Found U-Boot script /boot\.scr$", timeout=TIMEOUT, start=banner.end())
    script = m.expect(r"^Bulkhead boot script: virtio 0:1$", start=found.end())
    m.expect(rf"^{bundle_size} bytes read in \d+ ms", start=script.end())
    started = m.expect(r"^Starting kernel \.\.\.$", timeout=TIMEOUT, start=script.end())
    # Loaded at 0x80200000 (RAM base + text_offset), booti has no reason to move the image.
    assert "Moving Image" not in m.text[script.end():started.start()]
    return started.end()


def boots_the_demo(m, bundle, ram):
    size = os.path.getsize(bundle)
    start = through_uboot(m, size)
    m.expect(rf"^\[bulkhead\] Bulkhead \S+ on qemu-virt: 8 harts, RAM 0x80000000 \+ {ram}, boot hart \d$", start=start)
    m.expect(r"^\[bulkhead\] memory: hypervisor 0x80200000-0x[0-9a-f]+, shared pool 0x80400000 \+ 8 MiB, "
             r"staging 0x81000000 \+ 48 MiB", start=start)
    m.expect(rf"^\[bulkhead\] initrd at {RAMDISK_ADDR:#x} \+ {size} bytes moved to the staging area at 0x81000000$", start=start)
    verified = m.expect(r"^\[bulkhead\] bundle from the initrd: bundle verified: key id [0-9a-f]{16}, security version 0; "
                        r"minimum security version 0$", start=start)
    m.expect(r"^\[bulkhead\] device secret: provisioned", start=verified.end())
    m.expect(r"^\[bulkhead\] partition tenant: harts 7, memory 0x85000000 \+ 2 MiB", start=verified.end())
    # The demo's partitions run: IPC, fault containment, key services, timers.
    m.expect(r"^\[ping\] ping: done, 5 rounds via queue and via shared memory$", timeout=TIMEOUT, start=verified.end())
    m.expect(r"^\[intruder\] intruder: all attempts were contained$", timeout=TIMEOUT, start=verified.end())
    m.expect(r"^\[hello\] hello: done, shutting down$", timeout=TIMEOUT, start=verified.end())
    m.expect(r"^\[tenant\] tenant: ", timeout=TIMEOUT, start=verified.end())
    last = m.expect(r"^\[heartbeat\] heartbeat: 3$", timeout=TIMEOUT, start=verified.end())
    m.expect(r"^\[heartbeat\] heartbeat: 6$", timeout=TIMEOUT, start=last.end())
    counted = [int(n) for n in re.findall(r"^\[heartbeat\] heartbeat: (\d+)$", m.text, re.M)]
    assert counted[:6] == [1, 2, 3, 4, 5, 6], counted
    for pattern in NEVER:
        assert m.count(pattern) == 0, f"unexpected /{pattern}/ in the console:\n{m.text[-4000:]}"
    assert m.count(r"^\[bulkhead\] slot [AB]") == 0, "the flash's empty slots were tried"
    # Once the hypervisor runs, every line is tagged: no guest reaches the UART directly.
    tag = re.compile(r"^\[(bulkhead|hello|heartbeat|intruder|ping|pong|vault|tenant|updater)\] ")
    after = m.text[start:m.text.rfind("\n") + 1].split("\n")[:-1]
    for line in after:
        assert line == "" or tag.match(line), f"untagged console line {line!r}; console:\n{m.text[-4000:]}"


def test_uboot_runs_boot_scr_which_boots_bulkhead_and_the_bundle_from_the_disk(demo, tmp_path):
    bundle, disk = demo
    with chain(empty_flash(tmp_path / "flash.img"), disk) as m:
        boots_the_demo(m, bundle, "1 GiB")


def test_the_same_disk_boots_with_another_ram_size(demo, tmp_path):
    # Nothing is rebuilt: U-Boot passes QEMU's tree for 2 GiB, the hypervisor reads RAM from it.
    bundle, disk = demo
    before = sha256(disk)
    with chain(empty_flash(tmp_path / "flash.img"), disk, memory="2G") as m:
        boots_the_demo(m, bundle, "2 GiB")
    assert sha256(disk) == before


def test_a_tampered_bundle_on_the_disk_is_refused_and_nothing_runs(demo, tmp_path):
    bundle, _ = demo
    data = bytearray(open(bundle, "rb").read())
    data[-1] ^= 0x01                                     # the last blob (the updater's initrd) ends the bundle
    bad = tmp_path / "tampered.bin"
    bad.write_bytes(data)
    disk = boot_disk(bad, tmp_path / "disk.img")
    with chain(empty_flash(tmp_path / "flash.img"), disk) as m:
        start = through_uboot(m, len(data))
        m.expect(rf"^\[bulkhead\] initrd at {RAMDISK_ADDR:#x} \+ {len(data)} bytes moved to the staging area at 0x81000000$",
                 start=start)
        m.expect(r'^\[bulkhead\] bundle from the initrd rejected: digest mismatch for the initrd of partition #7 "updater": '
                 r"the initrd does not match its SHA-512 digest in the manifest$", start=start)
        m.expect(r"^\[bulkhead\] slot A rejected: empty \(erased\)$", start=start)
        m.expect(r"^\[bulkhead\] slot B rejected: empty \(erased\)$", start=start)
        m.expect(r"^\[bulkhead\] no partition will run\. Halting\.", start=start, partial=True)
        text = m.wait_exit(TIMEOUT)
        assert m.proc.returncode == 1, f"QEMU exited with {m.proc.returncode}"
        hypervisor = text[start:]
        assert "bundle verified" not in hypervisor
        assert not re.search(r"^\[bulkhead\] partition \w+: harts", hypervisor, re.M), "a partition was set up"
        assert not re.search(r"^\[(?!bulkhead\])[a-z]+\] ", hypervisor, re.M), f"a partition ran:\n{hypervisor}"
        assert m.count(r"FATAL|BREACH") == 0
