"""A board without a flash driver (issue "Boards", item 5): the SpacemiT K3 image (make BOARD=spacemit-k3)
on QEMU virt without its flash banks, the bundle handed over as the initrd (-kernel/-initrd: QEMU
writes linux,initrd-start/-end into /chosen as U-Boot's booti does). Such a bundle boots against no
anti-rollback floor, with warnings, unless it demands the floor (require_rollback_floor): then it is
refused. A tampered or foreign initrd is refused with its reason; nothing runs."""
import os
import re

from harness import BUILD, ROOT, Machine

K3_IMAGE = os.path.join(BUILD, "boards", "spacemit-k3", "bulkhead.bin")
STOP_POLICY = os.path.join(os.path.dirname(__file__), "configs", "stop-policy.toml")


def boot(initrd):
    cmd = [os.environ.get("QEMU", "qemu-system-riscv64"), "-M", "virt", "-cpu", "rv64", "-smp", "4", "-m", "1G",
           "-nographic", "-bios", "default", "-kernel", K3_IMAGE, "-initrd", str(initrd)]
    return Machine.command(cmd)


def refused(initrd, reason):
    """Boots `initrd`, expects `reason` on a [bulkhead] line, the halt, QEMU's failure exit, no guest output."""
    with boot(initrd) as m:
        text = m.wait_exit(timeout=60)
        assert m.proc.returncode == 1, f"QEMU exited with {m.proc.returncode}:\n{text[-2000:]}"
    assert re.search(r"^\[bulkhead\] " + reason, text, re.M), f"missing /{reason}/ in:\n{text[-3000:]}"
    assert "[bulkhead] no partition will run. Halting." in text
    assert not re.search(r"^\[(heartbeat|intruder)\]", text, re.M), "a guest of a refused bundle printed"
    assert "bundle verified" not in text
    return text


def test_a_bundle_as_the_initrd_boots_without_a_floor_and_says_so(bundle_of):
    with boot(bundle_of(STOP_POLICY)) as m:
        m.expect(r"^\[bulkhead\] Bulkhead \S+ on spacemit-k3: 4 harts")
        moved = m.expect(r"^\[bulkhead\] initrd at 0x[0-9a-f]+ \+ \d+ bytes moved to the staging area at 0x81000000$")
        m.expect(r"^\[bulkhead\] warning: no driver for this board's persistent storage yet: no bundle slots, "
                 r"no anti-rollback floor, no device secret$", start=moved.end())
        m.expect(r"^\[bulkhead\] warning: the anti-rollback floor is not enforced on this board", start=moved.end())
        m.expect(r"^\[bulkhead\] bundle from the initrd: bundle verified: key id [0-9a-f]{16}, security version 0; "
                 r"minimum security version 0$", start=moved.end())
        m.expect(r"^\[bulkhead\] device secret: none on this board \(no persistent storage driver\); "
                 r"key services refuse every call$")
        m.expect(r"^\[heartbeat\] heartbeat: 3$")
        m.expect(r"^\[bulkhead\] partition intruder stopped$")
        assert m.count(r"FATAL|BREACH|slot [AB]") == 0


def test_a_bundle_that_demands_the_floor_is_refused_here(bundle_of, tmp_path):
    config = tmp_path / "floor.toml"
    text = open(STOP_POLICY).read().replace("../../../build", os.path.join(ROOT, "build"))
    config.write_text(text + "\n[bundle]\nrequire_rollback_floor = true\n")
    refused(bundle_of(str(config)), r"bundle from the initrd refused: it requires the anti-rollback floor "
                                    r"\(require_rollback_floor\), which this board cannot keep without persistent storage$")


def test_a_tampered_initrd_is_refused_with_its_reason(bundle_of, tmp_path):
    data = bytearray(open(bundle_of(STOP_POLICY), "rb").read())
    data[-1] ^= 0x01                                      # a byte of the last image (intruder's)
    bad = tmp_path / "bad.bin"
    bad.write_bytes(bytes(data))
    refused(bad, r'bundle from the initrd rejected: digest mismatch for partition #1 "intruder"')


def test_an_initrd_that_is_no_bundle_is_refused(tmp_path):
    other = tmp_path / "other.img"
    other.write_bytes(b"\x1f\x8b" + bytes(4094))          # e.g. a Linux initramfs given by mistake
    refused(other, r"the initrd at 0x[0-9a-f]+ \+ 4 KiB is not a Bulkhead bundle \(it does not start with \"BULKHEAD\"\)$")
