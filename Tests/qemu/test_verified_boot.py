"""Verified boot (so far: bundle in RAM): only bundles signed by a built-in key, with intact images, run."""
import re
import subprocess

import os

from harness import BUILD, CLI, ROOT, Machine

# Built by `make kernel-revoked-dev`: trusts the development key but lists it as revoked.
REVOKED_KERNEL = os.path.join(BUILD, "bulkhead-revoked-dev.elf")

GUEST_LINE = r"^\[(hello|heartbeat|intruder)\]"


def manifest_length(bundle):
    """The signed manifest: a 64-byte header and one 320-byte record per partition (docs/bundle-format.md)."""
    count = int.from_bytes(bundle[14:16], "little")
    return 64 + 320 * count


def refused(path, reason, kernel=None):
    with (Machine(str(path), kernel=kernel) if kernel else Machine(str(path))) as m:
        text = m.wait_exit(timeout=60)
        assert re.search(r"^\[bulkhead\] error: bundle at 0x81000000 rejected: " + reason, text, re.M), text[-2000:]
        assert "no partition will run. Halting." in text
        assert not re.search(GUEST_LINE, text, re.M), "a guest of a refused bundle printed"
        assert "bundle verified" not in text


def test_signed_bundle_is_verified_before_anything_runs(bundle_of):
    with Machine(bundle_of("demo.toml")) as m:
        verified = m.expect(r"^\[bulkhead\] bundle verified: key id [0-9a-f]{16}, security version 0$")
        first_guest = m.expect(GUEST_LINE)
        assert verified.start() < first_guest.start()


def test_one_flipped_byte_in_an_image_is_refused(bundle_of, tmp_path):
    data = bytearray(open(bundle_of("demo.toml"), "rb").read())
    data[-1] ^= 0x01                     # the last image ends the bundle
    bad = tmp_path / "image-flip.bin"
    bad.write_bytes(data)
    refused(bad, r'digest mismatch for partition #2 "intruder": the image does not match its SHA-512 digest')


def test_a_flipped_signature_byte_is_refused(bundle_of, tmp_path):
    data = bytearray(open(bundle_of("demo.toml"), "rb").read())
    data[manifest_length(data) + 5] ^= 0x01
    bad = tmp_path / "signature-flip.bin"
    bad.write_bytes(data)
    refused(bad, r"bad signature: the Ed25519 signature over the manifest does not verify with key id [0-9a-f]{16}")


def test_a_bundle_signed_with_another_key_is_refused(bundle_of, tmp_path):
    other = tmp_path / "other"
    subprocess.run([CLI, "keygen", "-o", str(other)], check=True, capture_output=True, cwd=ROOT)
    bundle = bundle_of("demo.toml", "--key", str(other) + ".key")
    refused(bundle, r"unknown key: the manifest names signing key id [0-9a-f]{16}, which is not a trust anchor")


def test_a_bundle_signed_with_a_revoked_key_is_refused(bundle_of):
    assert os.path.exists(REVOKED_KERNEL), "run `make kernel-revoked-dev` (make test-qemu does)"
    refused(bundle_of("demo.toml"), r"revoked key: the manifest names signing key id [0-9a-f]{16}, which is revoked",
            kernel=REVOKED_KERNEL)
