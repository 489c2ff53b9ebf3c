"""Verified boot from flash: only bundles signed by a built-in key, intact, and not rolled back, run;
slot A falls back to slot B; the state region survives a torn write (docs/flash-layout.md)."""
import os
import re
import subprocess

from harness import BUILD, CLI, ROOT, Machine, flash, flash_info

# Built by `make kernel-revoked-dev`: trusts the development key but lists it as revoked.
REVOKED_KERNEL = os.path.join(BUILD, "bulkhead-revoked-dev.elf")

DEMO_GUEST = r"^\[(hello|heartbeat|intruder)\]"
FALLBACK_GUEST = r"^\[fallback\]"
HALT = "no partition will run. Halting."
NO_SLOT = r"^\[bulkhead\] error: no slot holds a bundle that verifies$"
STATE_A = (0x1F8_0000, 0x1FC_0000)   # FlashLayout.qemuVirt: state copies A and B


def manifest_length(bundle):
    """The signed manifest (docs/bundle-format.md, format version 4): a 64-byte header, one 320-byte
    record per partition (count at offset 14), then one 64-byte record per channel (count at offset 40)."""
    partitions = int.from_bytes(bundle[14:16], "little")
    channels = int.from_bytes(bundle[40:42], "little")
    return 64 + 320 * partitions + 64 * channels


def altered(path, tmp_path, name, change):
    """A copy of the bundle at `path` with `change(bytearray)` applied."""
    data = bytearray(open(path, "rb").read())
    change(data)
    out = tmp_path / name
    out.write_bytes(bytes(data))
    return out


def halts(image, *reasons, kernel=None):
    """Boots `image`, expects every `reasons` regex on a [bulkhead] line, then the halt; no guest may print."""
    with (Machine(image, kernel=kernel) if kernel else Machine(image)) as m:
        text = m.wait_exit(timeout=60)
        # The halt goes through the test device's failure code: QEMU exits 1, not 0.
        assert m.proc.returncode == 1, f"QEMU exited with {m.proc.returncode} after the halt"
    for reason in reasons:
        assert re.search(r"^\[bulkhead\] " + reason, text, re.M), f"missing /{reason}/ in:\n{text[-3000:]}"
    assert re.search(NO_SLOT, text, re.M) and HALT in text, text[-2000:]
    assert not re.search(DEMO_GUEST, text, re.M) and not re.search(FALLBACK_GUEST, text, re.M), \
        "a guest of a refused bundle printed"
    assert "bundle verified" not in text
    return text


def boots(image, slot, guest=r"^\[heartbeat\] heartbeat: 3$"):
    """Boots `image`; the bundle from `slot` must verify before the first guest line. Returns the console."""
    with Machine(image) as m:
        verified = m.expect(rf"^\[bulkhead\] slot {slot}: bundle verified: key id [0-9a-f]{{16}}, security version \d+")
        first = m.expect(r"^\[(hello|heartbeat|intruder|fallback)\] ")
        m.expect(guest)
        assert verified.start() < first.start()
        return m.text


def test_a_signed_bundle_in_slot_a_boots_and_is_recorded(bundle_of, flash_of):
    image = flash_of(bundle_of("demo.toml", "--version", "4"))
    text = boots(image, "A")
    assert re.search(r"^\[bulkhead\] state: no valid copy, factory state; minimum security version 0$", text, re.M)
    assert re.search(r"^\[bulkhead\] slot A: bundle verified: key id [0-9a-f]{16}, security version 4; "
                     r"minimum security version 0 -> 4$", text, re.M)
    assert re.search(r"^\[bulkhead\] measurement: manifest SHA-512 [0-9a-f]{16}\.\.\.$", text, re.M)
    assert "rejected" not in text
    info = flash_info(image)
    assert info["state"] == {"factory": False, "minimumSecurityVersion": 4, "bootAttemptsA": 0, "bootAttemptsB": 0,
                             "lastBootedSlot": "A"}, info


def test_one_flipped_byte_in_an_image_is_refused(bundle_of, flash_of, tmp_path):
    def flip(d):
        d[-1] ^= 0x01                    # the last image ends the bundle
    bad = altered(bundle_of("demo.toml"), tmp_path, "image-flip.bin", flip)
    halts(flash_of(bad), r'slot A rejected: digest mismatch for partition #2 "intruder": the image does not '
                         r"match its SHA-512 digest in the manifest$",
          r"slot B rejected: empty \(erased\)$")


def test_a_flipped_signature_byte_is_refused(bundle_of, flash_of, tmp_path):
    def flip(d):
        d[manifest_length(d) + 5] ^= 0x01
    bad = altered(bundle_of("demo.toml"), tmp_path, "signature-flip.bin", flip)
    halts(flash_of(bad), r"slot A rejected: bad signature: the Ed25519 signature over the manifest does not "
                         r"verify with key id [0-9a-f]{16}$")


def test_a_bundle_signed_with_another_key_is_refused(bundle_of, flash_of, tmp_path):
    other = tmp_path / "other"
    subprocess.run([CLI, "keygen", "-o", str(other)], check=True, capture_output=True, cwd=ROOT)
    bundle = bundle_of("demo.toml", "--key", str(other) + ".key")
    halts(flash_of(bundle), r"slot A rejected: unknown key: the manifest names signing key id [0-9a-f]{16}, "
                            r"which is not a trust anchor$")


def test_a_bundle_signed_with_a_revoked_key_is_refused(bundle_of, flash_of):
    assert os.path.exists(REVOKED_KERNEL), "run `make kernel-revoked-dev` (make test-qemu does)"
    halts(flash_of(bundle_of("demo.toml")),
          r"slot A rejected: revoked key: the manifest names signing key id [0-9a-f]{16}, which is revoked$",
          kernel=REVOKED_KERNEL)


def test_a_truncated_bundle_is_refused(bundle_of, flash_of, tmp_path):
    whole = open(bundle_of("demo.toml"), "rb").read()
    end = len(whole) * 2 // 3                              # the write into the slot stopped two thirds in
    cut = tmp_path / "truncated.bin"
    cut.write_bytes(whole[:end])
    image = flash_of()
    flash(image, cut, "--slot", "a", "--unchecked")
    # Whichever check trips first (an image digest, or zero padding that reads erased), the
    # reason names the truncation and where the erased bytes start (bundle bytes that happen to be
    # 0xFF just before the cut look erased too).
    erased_from = len(whole[:end].rstrip(b"\xff"))
    halts(image, rf"slot A rejected: .*\(the slot is erased from bundle offset {erased_from:#x} on: the bundle is truncated\)$")


def test_an_older_bundle_cannot_be_rolled_back_in(bundle_of, flash_of):
    image = flash_of(bundle_of("demo.toml", "--version", "3"))
    boots(image, "A")
    flash(image, bundle_of("demo.toml", "--version", "2"), "--slot", "a")
    halts(image, r"state: copy [AB], sequence \d+; minimum security version 3$",
          r"slot A rejected: rollback: security version 2 is below the minimum 3$")
    # The same version again is not a rollback.
    flash(image, bundle_of("demo.toml", "--version", "3"), "--slot", "a")
    boots(image, "A")


def test_slot_a_bad_falls_back_to_slot_b(bundle_of, flash_of, tmp_path):
    def flip(d):
        d[manifest_length(d) + 1] ^= 0x80
    bad = altered(bundle_of("demo.toml"), tmp_path, "bad-a.bin", flip)
    image = flash_of(bad, bundle_of("fallback.toml"))
    text = boots(image, "B", guest=r"^\[fallback\] heartbeat: 3$")
    assert re.search(r"^\[bulkhead\] slot A rejected: bad signature: ", text, re.M)
    assert text.index("slot A rejected") < text.index("slot B: bundle verified")
    assert not re.search(DEMO_GUEST, text, re.M), "a guest of the refused slot A printed"
    info = flash_info(image)
    assert info["state"] == {"factory": False, "minimumSecurityVersion": 0, "bootAttemptsA": 1, "bootAttemptsB": 0,
                             "lastBootedSlot": "B"}, info


def test_both_slots_bad_halts(bundle_of, flash_of, tmp_path):
    def flip_image(d):
        d[-1] ^= 0x01
    bad_a = altered(bundle_of("demo.toml"), tmp_path, "bad-a.bin", flip_image)
    other = tmp_path / "other"
    subprocess.run([CLI, "keygen", "-o", str(other)], check=True, capture_output=True, cwd=ROOT)
    bad_b = bundle_of("fallback.toml", "--key", str(other) + ".key")
    text = halts(flash_of(bad_a, bad_b), r'slot A rejected: digest mismatch for partition #2 "intruder"',
                 r"slot B rejected: unknown key: ")
    assert text.index("slot A rejected") < text.index("slot B rejected")


def state_copies(image):
    """{'A': sequence or None, 'B': ...} from flash-info --json."""
    info = flash_info(image)
    copies = {}
    for copy in info["stateCopies"]:
        m = re.fullmatch(r"valid, sequence (\d+)", copy["status"])
        copies[copy["copy"]] = int(m.group(1)) if m else None
    return copies, info


def test_a_torn_state_write_survives_a_reboot(bundle_of, flash_of):
    image = flash_of(bundle_of("demo.toml", "--version", "5"))
    boots(image, "A")
    copies, info = state_copies(image)
    newest = max((c for c in copies if copies[c] is not None), key=lambda c: copies[c])
    target = "B" if newest == "A" else "A"
    # Power fails while the next record is programmed into the other copy: the record (docs/
    # flash-layout.md, sequence newest+1, a floor of 9) is in place up to byte 40; the rest,
    # the checksum included, is still erased.
    record = bytearray(b"\xff" * 64)
    record[0:8] = b"BULKSTAT"
    record[8:16] = (1).to_bytes(2, "little") + (64).to_bytes(2, "little") + bytes(4)
    record[16:24] = (copies[newest] + 1).to_bytes(8, "little")
    record[24:32] = (9).to_bytes(8, "little")
    record[32:40] = bytes(8)
    offset = STATE_A[0] if target == "A" else STATE_A[1]
    with open(image, "r+b") as f:
        f.seek(offset)
        f.write(record)
    # The reboot reads the old state (floor 5) from the intact copy, boots, and repairs the torn one.
    with Machine(image) as m:
        m.expect(rf"^\[bulkhead\] state copy {target}: checksum mismatch \(stored 0xffffffff, computed 0x[0-9a-f]+\) \(ignored\)$")
        m.expect(rf"^\[bulkhead\] state: copy {newest}, sequence {copies[newest]}; minimum security version 5$")
        m.expect(r"^\[bulkhead\] slot A: bundle verified: key id [0-9a-f]{16}, security version 5; minimum security version 5$")
        m.expect(r"^\[heartbeat\] heartbeat: 3$")
    copies, info = state_copies(image)
    assert copies["A"] is not None and copies["B"] is not None, info
    assert info["state"]["minimumSecurityVersion"] == 5, info
    # The floor is still 5: an older bundle stays refused.
    flash(image, bundle_of("demo.toml", "--version", "4"), "--slot", "a")
    halts(image, r"slot A rejected: rollback: security version 4 is below the minimum 5$")


def test_each_sha512_code_verifies_the_bundle_and_measures_the_same(bundle_of, flash_of, tmp_path):
    # The hypervisor hashes with the portable code, Zbb rotations or Zknh instructions, as riscv,isa
    # allows (Kernel/Boot/Acceleration.swift); each must verify the bundle (its digests come from
    # swift-crypto on the host) and give the same hypervisor identity.
    image = flash_of(bundle_of("demo.toml"))
    secret = tmp_path / "secret.hex"
    secret.write_text("5a" * 32 + "\n")
    subprocess.run([CLI, "provision", image, "--secret-file", str(secret)], check=True, capture_output=True, cwd=ROOT)
    identities = set()
    for cpu, code in (("rv64,zbb=false", r"portable code \(no Zbb or Zknh in riscv,isa\)"),
                      ("rv64", r"Zbb rotations \(known-answer test passed\)"),
                      ("rv64,zknh=true", r"Zknh instructions \(known-answer test passed\)")):
        with Machine(image, cpu=cpu) as m:
            m.expect(rf"^\[bulkhead\] SHA-512: {code}$")
            m.expect(r"^\[bulkhead\] slot A: bundle verified")
            identities.add(m.expect(r"^\[bulkhead\] device secret: provisioned; hypervisor identity SHA-512 ([0-9a-f]{16})")
                           .group(1))
            m.expect(r"^\[heartbeat\] heartbeat: 2$")
            assert m.count(r"FAILED the known-answer test|rejected|FATAL") == 0
    assert len(identities) == 1, identities
