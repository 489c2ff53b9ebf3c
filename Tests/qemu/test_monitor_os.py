"""The secure monitor's key services for a plain OS (docs/monitor.md): Guests/monitoros, a Swift
S-mode program linked at 0x80200000 (build/guests-s/monitoros.bin, built by `make monitor`), is
signed as the monitor's next stage and calls derive, seal/unseal, attest and random through the
monitor's SBI extension as the partition "os". The host recomputes its keys from the provisioned
secret (Python `cryptography`, independent of Core) and checks the attestation report."""
import hashlib
import os
import re
import subprocess

import pytest

from harness import BUILD, CLI, ROOT, Machine
from test_monitor import MONITOR_FW, attestation_public_key, monitor_cmd, provision, sign

MONITOR_OS = os.path.join(BUILD, "guests-s", "monitoros.bin")
SECRET = bytes([0xA5] * 32)
NONCE = bytes(range(0xA0, 0xC0))
POLICY = 0x17                                   # derive | seal | attest | random (KeyPolicy)

pytestmark = pytest.mark.skipif(not (os.path.exists(MONITOR_FW) and os.path.exists(MONITOR_OS)),
                                reason="build/monitor/fw_jump.elf or build/guests-s/monitoros.bin missing: run `make monitor`")


def hkdf(salt, ikm, info, length):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    return HKDF(hashes.SHA512(), length, salt=salt, info=info).derive(ikm)


def expand(prk, info, length):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
    return HKDFExpand(hashes.SHA512(), length, info=info).derive(prk)


def os_partition(image_digest):
    """The plain OS as a partition (docs/keys.md): its policy digest, measurement and CDI under the
    CDI the monitor derives for the next stage, and derive("disk key")."""
    cdi = hkdf(b"Bulkhead hypervisor CDI v1", SECRET, image_digest, 64)
    policy = hashlib.sha512(b"Bulkhead policy v1" + bytes([POLICY & 0xFF, POLICY >> 8, 0])).digest()   # on_fault stop
    measurement = hashlib.sha512(b"Bulkhead partition measurement v1" + bytes([2]) + b"os".ljust(16, b"\0")
                                 + image_digest + policy).digest()
    partition_cdi = hkdf(cdi, measurement, b"Bulkhead partition CDI v1", 64)
    return policy, measurement, expand(partition_cdi, b"Bulkhead derive v1" + b"disk key", 32)


def boot(signed, flash):
    """Boots `signed` under the monitor until monitoros powers off; returns the console text."""
    with Machine.command(monitor_cmd(signed, flash, smp=2)) as m:
        m.expect(r"^monitoros: monitor extension: probe 1, version 4$")
        m.expect(r"^monitoros: done, shutting down", timeout=60)
        m.wait_exit(30)
        return m.text


def field(text, pattern):
    found = re.search(pattern, text, re.M)
    assert found, f"no line matching {pattern!r} in:\n{text}"
    return found.group(1)


def report_of(text):
    return bytes.fromhex("".join(field(text, r"^monitoros: report %d: ([0-9a-f]{128})$" % i) for i in range(5)))


def test_plain_os_gets_its_keys_seals_attests_and_hostile_addresses_are_refused(flash_of, tmp_path):
    secret_file = tmp_path / "secret.hex"
    secret_file.write_text(SECRET.hex() + "\n")
    image = open(MONITOR_OS, "rb").read()
    digest = hashlib.sha512(image).digest()
    text = boot(sign(MONITOR_OS, tmp_path / "os.signed"), provision(flash_of(), secret_file))

    policy, measurement, disk_key = os_partition(digest)
    assert field(text, r"^monitoros: derive\(disk key\): ([0-9a-f]{64})$") == disk_key.hex()
    first, second = field(text, r"^monitoros: random: ([0-9a-f]{64} [0-9a-f]{64})$").split()
    assert first != second and first != "00" * 32
    for binding in ("image", "signer"):
        assert re.search(r"^monitoros: seal %s: 72 bytes, unseal: 24 bytes, round trip ok$" % binding, text, re.M)
        assert re.search(r"^monitoros: unseal %s with one byte changed: -1/not_authentic$" % binding, text, re.M)
    # The largest blob (4096 bytes of data) round-trips: the library's stack holds the copies.
    assert re.search(r"^monitoros: seal 4096 bytes: 4144 bytes, unseal: 4096 bytes, round trip ok$", text, re.M)

    # The report (docs/keys.md): magic, version, size, security version 0, identity = the monitor's
    # measurement, name "os", the partition's measurement and policy digest, the nonce; signed by
    # the attestation key of the next stage's CDI.
    assert field(text, r"^monitoros: attest: (\d+) bytes$") == "320"
    report = report_of(text)
    assert report[0:8] == b"BHAR" + bytes([1, 0]) + (320).to_bytes(2, "little")
    assert report[8:16] == bytes(8)
    assert report[16:80] == digest
    assert report[80:96] == b"os".ljust(16, b"\0")
    assert report[96:160] == measurement and report[160:224] == policy
    assert report[224:256] == NONCE
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(attestation_public_key(SECRET, digest)))
    key.verify(report[256:320], report[:256])                       # raises InvalidSignature
    from cryptography.exceptions import InvalidSignature
    with pytest.raises(InvalidSignature):
        key.verify(report[256:320], report[:16] + bytes([report[16] ^ 1]) + report[17:256])
    # The CLI's verifier agrees, and refuses the report with one byte changed.
    device_key = attestation_public_key(SECRET, digest)
    (tmp_path / "report.bin").write_bytes(report)
    (tmp_path / "changed.bin").write_bytes(report[:100] + bytes([report[100] ^ 1]) + report[101:])
    good = subprocess.run([CLI, "attest", "verify", "--device-key", device_key, "--nonce", NONCE.hex(), str(tmp_path / "report.bin")],
                          capture_output=True, text=True, cwd=ROOT)
    assert good.returncode == 0 and "signature: valid" in good.stdout, good.stdout + good.stderr
    bad = subprocess.run([CLI, "attest", "verify", "--device-key", device_key, str(tmp_path / "changed.bin")],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode != 0 and "signature: valid" not in bad.stdout

    # Hostile addresses: SBI_ERR_INVALID_ADDRESS with reason bad_address, and the OS runs on.
    for what in ("derive into the firmware", "derive with its label in the firmware", "random into the firmware",
                 "random into the device secret's flash block", "random outside RAM", "random wrapping around",
                 "seal with its request in the firmware", "seal into the firmware", "attest into the firmware"):
        assert re.search(r"^monitoros: hostile: %s: -5/bad_address$" % re.escape(what), text, re.M), what
    # Other hostile arguments: their specific errors (a0/a1 reason), as the hypervisor gives them.
    for what, answer in (("derive with a 65-byte label", "-3/too_long"), ("derive into a misaligned output", "-3/misaligned"),
                         ("seal with binding 3", "-3/bad_binding"), ("seal into a 32-byte output", "-3/buffer_too_small"),
                         ("attest into 32 bytes", "-3/buffer_too_small"), ("keystore key_generate", "-2/unknown_function"),
                         ("function 99", "-2/unknown_function")):
        assert re.search(r"^monitoros: hostile: %s: %s$" % (re.escape(what), answer), text, re.M), what
    assert re.search(r"^monitoros: still running: derive error 0$", text, re.M)
    # The key services came first: get_cdi is refused (they exclude each other).
    assert re.search(r"^monitoros: get_cdi after the key services: error -4$", text, re.M)
    assert not re.search(r"key services failed|MISMATCH|unexpected trap|a5a5a5a5", text)
    assert len(re.findall(r"^monitoros: hostile: .*: 0/", text, re.M)) == 0


def test_keys_are_stable_across_boots_and_differ_for_another_payload(flash_of, tmp_path):
    """The same payload twice: the same derived key, other random bytes. The same program with one
    byte appended to its signed image (it lands in .bss, which the program clears): another
    measurement, so another derived key and another attestation key, both as the host computes."""
    secret_file = tmp_path / "secret.hex"
    secret_file.write_text(SECRET.hex() + "\n")
    flash = provision(flash_of(), secret_file)
    signed = sign(MONITOR_OS, tmp_path / "os.signed")
    one, two = boot(signed, flash), boot(signed, flash)
    derive = r"^monitoros: derive\(disk key\): ([0-9a-f]{64})$"
    assert field(one, derive) == field(two, derive)
    random = r"^monitoros: random: ([0-9a-f]{64}) "
    assert field(one, random) != field(two, random)

    changed = tmp_path / "monitoros-changed.bin"
    changed.write_bytes(open(MONITOR_OS, "rb").read() + b"\x01")
    digest = hashlib.sha512(changed.read_bytes()).digest()
    other = boot(sign(str(changed), tmp_path / "changed.signed"), flash)
    assert field(other, derive) != field(one, derive)
    assert field(other, derive) == os_partition(digest)[2].hex()
    report = report_of(other)
    assert report[16:80] == digest
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    Ed25519PublicKey.from_public_bytes(bytes.fromhex(attestation_public_key(SECRET, digest))).verify(report[256:320], report[:256])
    assert attestation_public_key(SECRET, digest) != attestation_public_key(SECRET, hashlib.sha512(open(MONITOR_OS, "rb").read()).digest())


def test_without_a_device_secret_the_key_services_refuse(flash_of, tmp_path):
    text = boot(sign(MONITOR_OS, tmp_path / "os.signed"), flash_of())
    assert re.search(r"^\[monitor\] device secret: not provisioned .*; no CDI for the next stage$", text, re.M)
    assert re.search(r"^monitoros: key services failed: -1/no_device_secret$", text, re.M)
    # Addresses are still checked first, and the OS runs on.
    assert re.search(r"^monitoros: hostile: derive into the firmware: -5/bad_address$", text, re.M)
    assert not re.search(r"^monitoros: derive\(disk key\)", text, re.M)
