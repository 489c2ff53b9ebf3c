"""Partition updates across power cuts and in the system report: QEMU killed while the hypervisor writes an update to flash, or while it records the commit, boots exactly one committed image; after a committed update and a reboot the system report names it and verifies on the host.

The flash writes are those of docs/flash-layout.md, "The partition-update area": update_apply writes
the update to an image slot no record names, update_commit switches the record. Killing QEMU
(SIGKILL) leaves the flash file as the writes so far left it. Config: configs/update.toml (shared
with test_update.py), and a vault with attest_system for the report."""
import os
import re
import subprocess

from harness import CLI, DEV_KEY, ROOT, Machine
from test_keys import SECRET, provision
from test_system_attestation import NONCE, verify
from test_update import (GUESTS, TIMEOUT, assert_no_trouble, bundle_flash, config_copy, summary, update_list,
                         updates)  # noqa: F401 (updates is a fixture)

FIRST_BEAT = r"^\[heartbeat\] (heartbeat(?: v2)?): 1$"


def packed(config, image_path, version, out):
    """`bulkhead pack-update` of heartbeat with the image file `image_path`."""
    result = subprocess.run([CLI, "pack-update", config, "--partition", "heartbeat", "--image", str(image_path),
                             "--security-version", str(version), "--key", DEV_KEY + ".key", "-o", str(out)],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, f"bulkhead pack-update failed:\n{result.stdout}{result.stderr}"
    return open(out, "rb").read()


def cut_at(image, pattern, updater_args):
    """Boots `image` until `pattern` appears, then kills QEMU at once (the power cut); the console."""
    with Machine(image) as m:
        m.expect(pattern, timeout=TIMEOUT)
        m.close()
        return m.text


def first_boot_lines(image):
    """Boots `image` until heartbeat's first beat; (which heartbeat beat, the console)."""
    with Machine(image) as m:
        first = m.expect(FIRST_BEAT, timeout=TIMEOUT)
        return first.group(1), m.text


def test_a_power_cut_while_the_update_is_written_leaves_the_old_image_committed(tmp_path):
    # A large update (heartbeat v2 and 768 KiB of zeros after it: more flash to program).
    standin = tmp_path / "standin.img"
    standin.write_bytes(bytes(8))
    big = tmp_path / "heartbeat-v2-big.bin"
    big.write_bytes(open(os.path.join(GUESTS, "heartbeat-v2.bin"), "rb").read() + bytes(768 * 1024))
    update = packed(config_copy(tmp_path, "standin.toml", standin), big, 2, tmp_path / "big.update")
    initrd = tmp_path / "updates.img"
    update_list(initrd, [update])
    image = bundle_flash(tmp_path, config_copy(tmp_path, "update.toml", initrd, updater_args="wait=300"), "power")
    cut = cut_at(image, r"^\[bulkhead\] update: partition heartbeat: writing version 2 to update image slot \d+$", "")
    assert not re.search(r"version 2 (on trial|committed)", cut), summary(cut)
    # The record was never switched: the bundle's image is the committed one, and nothing is wrong.
    which, text = first_boot_lines(image)
    assert which == "heartbeat", summary(text)
    assert not re.search(r"runs its committed update|is not run|update record cannot be read", text), summary(text)
    assert_no_trouble(text)


def test_a_power_cut_while_the_commit_is_recorded_boots_exactly_one_committed_image(updates, tmp_path):
    initrd = tmp_path / "updates.img"
    update_list(initrd, [updates["v2"]])
    image = bundle_flash(tmp_path, config_copy(tmp_path, "update.toml", initrd, updater_args="wait=300"), "commit")
    cut_at(image, r"^\[bulkhead\] update: partition heartbeat: recording the commit of version 2$", "")
    # Old or new, whichever the cut left, but exactly one, the same at every boot, and never a damaged one.
    outcomes = []
    for _ in range(2):
        which, text = first_boot_lines(image)
        committed = re.findall(r"^\[bulkhead\] update: partition heartbeat runs its committed update, version (\d+)$", text, re.M)
        assert committed in ([], ["2"]), summary(text)
        assert which == ("heartbeat v2" if committed else "heartbeat"), summary(text)
        assert not re.search(r"is not run|update record cannot be read", text), summary(text)
        assert_no_trouble(text)
        outcomes.append(which)
        if committed:
            break                       # v2 committed: the updater's v2 is refused from now on
    assert outcomes[0] == outcomes[-1]


SYSTEM_CONFIG = """
[[partition]]
name = "updater"
image = "{guests}/updater.bin"
initrd = "{initrd}"
harts = [0]
memory_base = 0x84000000
memory_size = "2M"
on_fault = "stop"
update = ["heartbeat"]

[[partition]]
name = "heartbeat"
image = "{guests}/heartbeat.bin"
harts = [1]
memory_base = 0x84200000
memory_size = "2M"
on_fault = "restart"

[[partition]]
name = "vault"
image = "{guests}/vault.bin"
harts = [2]
memory_base = 0x84400000
memory_size = "2M"
on_fault = "stop"
keys = ["derive", "seal", "random", "attest_system"]

[[partition]]
name = "tenant"
image = "{guests}/tenant.bin"
harts = [3]
memory_base = 0x84600000
memory_size = "2M"
on_fault = "stop"
keys = ["derive", "seal"]

[[channel]]
name = "vault-blobs"
kind = "queue"
endpoints = ["vault", "tenant"]
direction = "forward"
depth = 4
message_size = 64
doorbell = true
"""


def test_after_a_committed_update_the_system_report_names_it_and_verifies(tmp_path):
    standin = tmp_path / "standin.img"
    standin.write_bytes(bytes(8))
    config = tmp_path / "system.toml"
    config.write_text(SYSTEM_CONFIG.format(guests=GUESTS, initrd=standin))
    update = packed(str(config), os.path.join(GUESTS, "heartbeat-v2.bin"), 2, tmp_path / "v2.update")
    initrd = tmp_path / "updates.img"
    update_list(initrd, [update])
    config.write_text(SYSTEM_CONFIG.format(guests=GUESTS, initrd=initrd))
    image = bundle_flash(tmp_path, str(config), "system")
    provision(image, SECRET, tmp_path)
    with Machine(image) as m:
        m.expect(r"^\[updater\] updater: heartbeat: committed, version 2$", timeout=TIMEOUT)
    with Machine(image) as m:
        m.expect(r"^\[bulkhead\] update: partition heartbeat runs its committed update, version 2$", timeout=TIMEOUT)
        m.expect(r"^\[bulkhead\] partition vault shut down by its guest", timeout=TIMEOUT)
        text = m.text
    public = re.search(r"^\[bulkhead\] device attestation key: ([0-9a-f]{64})$", text, re.M).group(1)
    bundle = str(tmp_path / "system.bin")
    ok = verify("-", "--device-key", public, "--nonce", NONCE.hex(), "--bundle", bundle, stdin=text)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert re.search(r'^  #1 "heartbeat": committed update image, security version 2$', ok.stdout, re.M), ok.stdout
    assert re.search(r"^bundle: matches .*; #1 runs a partition update, which the bundle does not hold\)$", ok.stdout, re.M), ok.stdout
    assert re.search(r'^  #2 "vault": bundle image, security version 0$', ok.stdout, re.M), ok.stdout
    # One changed byte in heartbeat's entry of the report is refused.
    report = "".join(re.findall(r"^\[vault\] vault: system \d+ ([0-9a-f]+)$", text, re.M))
    raw = bytearray(bytes.fromhex(report))
    raw[192 + 224 + 40] ^= 0x01
    path = tmp_path / "changed.bin"
    path.write_bytes(bytes(raw))
    bad = verify(str(path), "--device-key", public, "--nonce", NONCE.hex(), "--bundle", bundle)
    assert bad.returncode != 0 and "signature" in (bad.stdout + bad.stderr), bad.stdout + bad.stderr
    assert_no_trouble(text)
