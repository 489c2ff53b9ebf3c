"""The secure monitor (docs/monitor.md): OpenSBI 1.6 with libbulkhead_monitor.a linked in
(build/monitor/fw_jump.elf, `make monitor`) verifies and measures the hypervisor before it enters
it. The hypervisor's raw image goes behind its signed header (Tools/opensbi/sign-next-stage.py)
at 0x801ff000, so the image itself starts at the firmware's next-stage address 0x80200000."""
import hashlib
import os
import subprocess
import sys

import pytest

from harness import BUILD, CLI, DEV_KEY, ROOT, Machine

MONITOR_FW = os.path.join(BUILD, "monitor", "fw_jump.elf")
HYPERVISOR_BIN = os.path.join(BUILD, "bulkhead.bin")
SIGN = os.path.join(ROOT, "Tools", "opensbi", "sign-next-stage.py")
HEADER_SIZE = 4096
HEADER_ADDR = 0x801FF000
NEXT_STAGE = 0x80200000

pytestmark = pytest.mark.skipif(not os.path.exists(MONITOR_FW), reason="build/monitor/fw_jump.elf missing: run `make monitor`")


def sign(image_path, out, key=DEV_KEY + ".key", security_version=0):
    result = subprocess.run([sys.executable, SIGN, image_path, "--key", key, "--security-version", str(security_version),
                             "-o", str(out)],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, f"sign-next-stage failed:\n{result.stdout}{result.stderr}"
    return str(out)


def monitor_cmd(signed, flash, smp=4):
    return ["qemu-system-riscv64", "-M", "virt", "-cpu", "rv64", "-smp", str(smp), "-m", "1G", "-nographic",
            "-bios", MONITOR_FW, "-device", f"loader,file={signed},addr={HEADER_ADDR:#x},force-raw=on",
            "-drive", f"if=pflash,unit=1,format=raw,file={flash}"]


def provision(image, secret_file):
    result = subprocess.run([CLI, "provision", image, "--secret-file", str(secret_file)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    return image


def attestation_public_key(secret, measurement):
    """The device attestation key (docs/keys.md) of a hypervisor CDI derived, as the monitor does,
    from the device secret and the monitor's measurement of the image: an independent check."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand
    cdi = HKDF(hashes.SHA512(), 64, salt=b"Bulkhead hypervisor CDI v1", info=measurement).derive(secret)
    seed = HKDFExpand(hashes.SHA512(), 32, info=b"Bulkhead attestation key v1").derive(cdi)
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def test_under_the_monitor_the_hypervisor_takes_its_cdi_and_the_keys_change(bundle_of, flash_of, tmp_path):
    """DICE layering: with a device secret, the monitor hands the hypervisor the CDI it derived from
    that secret and its measurement of the image (once: a second get_cdi is refused); the
    hypervisor neither reads the secret nor hashes itself. The same bundle and secret under a
    plain OpenSBI give other keys (the identity is the hypervisor's text and rodata there)."""
    bundle = bundle_of(os.path.join(ROOT, "Guests", "demo.toml"))
    secret_file = tmp_path / "secret.hex"
    secret_file.write_text("5a" * 32 + "\n")
    signed = sign(HYPERVISOR_BIN, tmp_path / "bulkhead.signed")
    measurement = hashlib.sha512(open(HYPERVISOR_BIN, "rb").read()).digest()
    fingerprint = r"^\[vault\] vault: derive fingerprint ([0-9a-f]{16})$"

    with Machine.command(monitor_cmd(signed, provision(flash_of(bundle), secret_file), smp=8)) as m:
        monitor_key = m.expect(r"^\[monitor\] monitor device key: ([0-9a-f]{64})$").group(1)
        m.expect(r"^\[monitor\] next stage CDI derived from the device secret and its measurement$")
        m.expect(r"^\[bulkhead\] key chain: CDI from the secure monitor \(measurement SHA-512 %s\.\.\.\)$" % measurement.hex()[:16])
        m.expect(r"^\[bulkhead\] secure monitor: a second get_cdi is refused \(error -4\)$")   # SBI_ERR_DENIED
        m.expect(r"^\[bulkhead\] key services ready \(hypervisor identity: the monitor's measurement\)$")
        key = m.expect(r"^\[bulkhead\] device attestation key: ([0-9a-f]{64})$").group(1)
        under_monitor = m.expect(fingerprint, timeout=90).group(1)
        m.expect(r"^\[vault\] vault: attest report 320 bytes$")
        m.expect(r"^\[tenant\] tenant: unseal vault's image blob \(from partition 5\): -1/not_authentic$")
        assert m.count(r"key chain: CDI from the device secret|device secret: ") == 0
        assert m.count(r"BREACH|FATAL") == 0
    assert key == attestation_public_key(bytes([0x5A] * 32), measurement)
    # The CLI computes the same key from the signed image the monitor measured (header skipped).
    cli = subprocess.run([CLI, "attest", "device-key", "--monitor-image", signed, "--secret-file", str(secret_file)],
                         capture_output=True, text=True, cwd=ROOT)
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert f"device attestation key: {key}" in cli.stdout and "after its signed header" in cli.stdout
    # The monitor's own device key (it signs the certificate) from the secret alone, on the host.
    cli = subprocess.run([CLI, "attest", "device-key", "--monitor", "--secret-file", str(secret_file)],
                         capture_output=True, text=True, cwd=ROOT)
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert f"monitor device key: {monitor_key}\n" in cli.stdout and monitor_key != key

    with Machine(provision(flash_of(bundle), secret_file), smp=8) as m:
        m.expect(r"^\[bulkhead\] key chain: CDI from the device secret \(no secure monitor\)$")
        m.expect(r"^\[bulkhead\] device secret: provisioned; hypervisor identity SHA-512 [0-9a-f]{16}\.\.\.; key services ready$")
        plain = m.expect(fingerprint, timeout=90).group(1)
        assert m.count(r"from the secure monitor|get_cdi") == 0
    assert plain != under_monitor


def test_under_the_monitor_without_a_device_secret_key_services_refuse(bundle_of, flash_of, tmp_path):
    signed = sign(HYPERVISOR_BIN, tmp_path / "bulkhead.signed")
    with Machine.command(monitor_cmd(signed, flash_of(bundle_of("demo.toml")))) as m:
        m.expect(r"^\[monitor\] device secret: not provisioned .*; no CDI for the next stage$")
        m.expect(r"^\[bulkhead\] key chain: the secure monitor has no CDI for this hypervisor \(error -4\); "
                 r"key services refuse every call$")
        m.expect(r"^\[hello\] hello: done, shutting down")
        assert m.count(r"^\[bulkhead\] (device secret: |key chain: CDI)") == 0


def test_monitor_verifies_the_hypervisor_then_the_demo_runs(bundle_of, flash_of, tmp_path):
    signed = sign(HYPERVISOR_BIN, tmp_path / "bulkhead.signed")
    image = open(HYPERVISOR_BIN, "rb").read()
    measurement = hashlib.sha512(image).hexdigest()
    with Machine.command(monitor_cmd(signed, flash_of(bundle_of("demo.toml")))) as m:
        m.expect(r"^OpenSBI v1\.6$")
        m.expect(r"^\[monitor\] next stage at 0x80200000: verified, %d bytes signed by key id [0-9a-f]{16}, "
                 r"security version 0, measurement sha512:%s\.\.\.$" % (len(image), measurement[:16]))
        # The firmware registered the monitor's SBI extension (OpenSBI lists it by its short name).
        m.expect(r"^Standard SBI Extensions\s+: .*\bbulkhd\b")
        m.expect(r"^\[bulkhead\] Bulkhead .* on qemu-virt: 4 harts")
        m.expect(r"^\[bulkhead\] slot A: bundle verified")
        m.expect(r"^\[hello\] hello: vCPU 0 up")
        m.expect(r"^\[hello\] hello: done, shutting down")
        m.expect(r"^\[heartbeat\] heartbeat: 3$")
        m.expect(r"^\[intruder\] intruder: all attempts were contained", timeout=90)
        assert m.count(r"BREACH|FATAL") == 0
        # The monitor ran before the hypervisor: its line comes first.
        assert m.text.index("[monitor] next stage") < m.text.index("[bulkhead]")


def refused(signed, flash_of, reason):
    """Boots `signed` under the monitor; the monitor refuses it for `reason` (a regex) and halts
    before the hypervisor prints anything."""
    with Machine.command(monitor_cmd(signed, flash_of())) as m:
        m.expect(r"^\[monitor\] next stage at 0x80200000: refused: %s; not entered$" % reason)
        m.expect(r"^\[monitor\] halting: the next stage at 0x80200000 is not entered \(result -\d+\)$")
        # The boot hart hangs in the firmware and no other hart was started: nothing follows.
        assert m.count(r"^\[bulkhead\]") == 0
        assert m.count(r"^OpenSBI v1\.6$") == 1


def test_hypervisor_changed_by_one_byte_is_not_entered(flash_of, tmp_path):
    signed = bytearray(open(sign(HYPERVISOR_BIN, tmp_path / "good.signed"), "rb").read())
    signed[HEADER_SIZE + (len(signed) - HEADER_SIZE) // 2] ^= 0x01
    bad = tmp_path / "bad.signed"
    bad.write_bytes(bytes(signed))
    refused(str(bad), flash_of, r"digest mismatch: the image does not hash to the SHA-512 in its signed header")


def test_hypervisor_signed_by_an_unknown_key_is_not_entered(flash_of, tmp_path):
    cli = os.environ.get("BULKHEAD_CLI", os.path.join(ROOT, ".build", "debug", "bulkhead"))
    subprocess.run([cli, "keygen", "-o", str(tmp_path / "other")], capture_output=True, check=True, cwd=ROOT)
    signed = sign(HYPERVISOR_BIN, tmp_path / "other.signed", key=str(tmp_path / "other.key"))
    refused(signed, flash_of, r"signing key id [0-9a-f]{16} is not a trust anchor")


def test_hypervisor_without_a_signed_header_is_not_entered(flash_of, tmp_path):
    raw = tmp_path / "unsigned.bin"
    raw.write_bytes(bytes(HEADER_SIZE) + open(HYPERVISOR_BIN, "rb").read())
    refused(str(raw), flash_of, r"no signed next-stage header \(magic \"BHNEXT01\"\) in the 4096 bytes below it")


def test_sbi_extension_gives_the_measurement_and_pmp_keeps_s_mode_out_of_the_firmware_and_the_secret(flash_of, tmp_path):
    """The probe (Kernel/Monitor/probe) as the next stage: it reads its measurement through the
    monitor's SBI extension, takes its CDI once (out of order and a second time: refused), then
    loads from the firmware's memory and from the device secret's flash block and takes load
    access faults, while the neighbouring flash block reads."""
    probe = os.path.join(BUILD, "monitor", "probe.bin")
    signed = sign(probe, tmp_path / "probe.signed")
    measurement = hashlib.sha512(open(probe, "rb").read()).hexdigest()
    secret_file = tmp_path / "secret.hex"
    secret_file.write_text("a5" * 32 + "\n")
    with Machine.command(monitor_cmd(signed, provision(flash_of(), secret_file), smp=2)) as m:
        m.expect(r"^\[monitor\] next stage at 0x80200000: verified, .* measurement sha512:%s\.\.\.$" % measurement[:16])
        m.expect(r"^\[probe\] monitor extension: probe 1, version 4$")
        m.expect(r"^\[probe\] measurement: %s$" % measurement)
        m.expect(r"^\[probe\] measurement word 8: error -3$")            # SBI_ERR_INVALID_PARAM
        m.expect(r"^\[probe\] cdi word 1 first: error -4$")              # SBI_ERR_DENIED: out of order
        m.expect(r"^\[probe\] cdi: 8 words, not all zero$")
        m.expect(r"^\[probe\] cdi again: error -4$")                     # wiped after the first taker
        m.expect(r"^\[probe\] derive after get_cdi: error -4, reason 10$")  # DENIED/policy_denied: the CDI went out
        # Load access faults (scause 5) from PMP: the firmware's memory, and the device secret's
        # flash block (first and last word) behind the glue's M-only region; the block above it
        # (state copy A, erased in this image) reads, so the fault is not "flash unmapped".
        m.expect(r"^\[probe\] read the firmware at 0x80000000: fault, scause 5, stval 0x80000000$")
        m.expect(r"^\[probe\] read the device secret's flash block at 0x23f40000: fault, scause 5, stval 0x23f40000$")
        m.expect(r"^\[probe\] read the device secret's flash block, last word at 0x23f7fff8: fault, scause 5, stval 0x23f7fff8$")
        # The monitor's state record blocks (copy A's first word, copy B's last) are M-only too.
        m.expect(r"^\[probe\] read the monitor's record, copy A at 0x23ec0000: fault, scause 5, stval 0x23ec0000$")
        m.expect(r"^\[probe\] read the monitor's record, copy B, last word at 0x23f3fff8: fault, scause 5, stval 0x23f3fff8$")
        m.expect(r"^\[probe\] read state copy A's flash block at 0x23f80000: value ffffffffffffffff \(readable\)$")
        m.wait_exit(30)                                                  # SBI SRST powered it off
        assert m.count(r"^\[probe\] read (the firmware|the device secret|the monitor's record).*readable") == 0
        assert m.count(r"^\[probe\] trap:") == 0
        assert "a5a5a5a5" not in m.text
        # OpenSBI's domain dump lists the region: M may read and write, S/U nothing.
        # OpenSBI merges the record's copy B with the secret's block (adjacent, same flags) into one
        # 512 KiB NAPOT region; copy A is its own region.
        assert m.count(r"^Domain0 Region\d+\s*: 0x0*23f00000-0x0*23f7ffff M: \(I,R,W\) S/U: \(\)$") == 1
        assert m.count(r"^Domain0 Region\d+\s*: 0x0*23ec0000-0x0*23efffff M: \(I,R,W\) S/U: \(\)$") == 1


def test_an_older_next_stage_after_a_newer_one_is_not_entered(flash_of, tmp_path):
    """Anti-rollback: the probe signed with security version 5 boots and raises the monitor's floor
    (in its flash record); the same image signed with version 3 is then refused on that flash,
    and version 5 again still boots. A format-1 header (no security version) is refused too."""
    probe = os.path.join(BUILD, "monitor", "probe.bin")
    flash = flash_of()
    newer = sign(probe, tmp_path / "v5.signed", security_version=5)
    older = sign(probe, tmp_path / "v3.signed", security_version=3)
    with Machine.command(monitor_cmd(newer, flash, smp=1)) as m:
        m.expect(r"^\[monitor\] state: boot 1, minimum next-stage security version 0 -> 5$")
        m.expect(r"^\[monitor\] next stage at 0x80200000: verified, \d+ bytes signed by key id [0-9a-f]{16}, security version 5, ")
        m.expect(r"^\[probe\] monitor extension: probe 1, version 4$")
        m.wait_exit(30)
        assert m.count(r"refused") == 0
    with Machine.command(monitor_cmd(older, flash, smp=1)) as m:
        m.expect(r"^\[monitor\] next stage at 0x80200000: refused: rollback: security version 3 is below the monitor's "
                 r"minimum 5; not entered$")
        m.expect(r"^\[monitor\] halting: the next stage at 0x80200000 is not entered \(result -10\)$")
        assert m.count(r"^\[probe\]") == 0
        assert m.count(r"^\[monitor\] state:") == 0                  # nothing written
    with Machine.command(monitor_cmd(newer, flash, smp=1)) as m:
        m.expect(r"^\[monitor\] state: boot 2, minimum next-stage security version 5$")
        m.expect(r"^\[probe\] monitor extension: probe 1, version 4$")
        m.wait_exit(30)
    # Format 1: the header before the security version (signature over bytes 0..<104).
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    import struct
    lines = open(DEV_KEY + ".key").read().splitlines()
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(lines[1].strip()))
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    image = open(probe, "rb").read()
    key_id = hashlib.sha512(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).digest()[:8]
    signed = b"BHNEXT01" + struct.pack("<IIQQ", 1, 0, NEXT_STAGE, len(image)) + key_id + hashlib.sha512(image).digest()
    header = signed + key.sign(signed)
    old = tmp_path / "format1.signed"
    old.write_bytes(header + bytes(HEADER_SIZE - len(header)) + image)
    refused(str(old), flash_of, r"header format version 1 has no security version and is no longer accepted; "
            r"re-sign the image \(format 2\)")


def test_chained_attestation_verifies_from_the_monitor_key_to_the_report(flash_of, bundle_of, tmp_path):
    """Issue 13: the monitor signs a certificate for the hypervisor's attestation key; the host
    checks monitor key → certificate → report, and names the link that a changed byte breaks."""
    import re
    from test_keys import vault_config
    secret_file = tmp_path / "secret.hex"
    secret_file.write_text("5a" * 32 + "\n")
    bundle = bundle_of(vault_config(tmp_path, "attest.toml", config="keys-attest.toml"))
    signed = sign(HYPERVISOR_BIN, tmp_path / "bulkhead.signed")
    with Machine.command(monitor_cmd(signed, provision(flash_of(bundle), secret_file), smp=1)) as m:
        cert_hex = m.expect(r"^\[bulkhead\] monitor certificate: ([0-9a-f]{384})$").group(1)
        m.expect(r"^\[vault\] vault: policy attest: 0/ok \(320 bytes\)$", timeout=90)
        m.expect(r"^\[vault\] vault: report 288 [0-9a-f]+$", timeout=30)
        text = m.text
    report = bytes.fromhex("".join(re.findall(r"^\[vault\] vault: report \d+ ([0-9a-f]+)$", text, re.M)))
    assert len(report) == 320
    cli = subprocess.run([CLI, "attest", "device-key", "--monitor", "--secret-file", str(secret_file),
                          "-o", str(tmp_path / "monitor.pub")], capture_output=True, text=True, cwd=ROOT)
    assert cli.returncode == 0, cli.stdout + cli.stderr
    cert = bytes.fromhex(cert_hex)

    def verify(cert_bytes, report_bytes):
        (tmp_path / "cert.bin").write_bytes(cert_bytes)
        (tmp_path / "report.bin").write_bytes(report_bytes)
        return subprocess.run([CLI, "attest", "verify", "--monitor-key", str(tmp_path / "monitor.pub"),
                               "--certificate", str(tmp_path / "cert.bin"), str(tmp_path / "report.bin")],
                              capture_output=True, text=True, cwd=ROOT)

    good = verify(cert, report)
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.startswith("chain: valid") and "signature: valid" in good.stdout
    changed_cert = bytearray(cert); changed_cert[80] ^= 1          # the hypervisor's key
    bad = verify(bytes(changed_cert), report)
    assert bad.returncode != 0 and "link device → monitor" in bad.stderr and "bad signature" in bad.stderr
    changed_report = bytearray(report); changed_report[100] ^= 1   # the partition's measurement
    bad = verify(cert, bytes(changed_report))
    assert bad.returncode != 0 and "link hypervisor → partition" in bad.stderr, bad.stderr
