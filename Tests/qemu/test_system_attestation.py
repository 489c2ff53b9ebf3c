"""The system report (attest_system, docs/keys.md) on QEMU: the vault (Guests/vault), allowed by its policy,
gets one report for the whole device over its nonce and prints it in hex; on the host, `bulkhead attest verify
--system` checks it against the device key the hypervisor printed, the nonce and the bundle, and refuses it
after any one changed byte or against another bundle. A partition without the right is refused in
test_keys.py (test_each_service_a_partition_lacks_is_refused). Config: configs/keys-system.toml."""
import json
import re
import subprocess

import pytest

from harness import CLI, ROOT, flash
from test_keys import SECRET, assert_no_trouble, boot, line, pack, provision, vault_config

# Guests/vault: byte i of attest_system's nonce is 13i + 3.
NONCE = bytes((i * 13 + 3) & 0xFF for i in range(32))
PARTITIONS, CHANNELS = ("vault", "tenant", "nokeys"), ("vault-blobs", "scratch")
SIZE = 192 + 224 * len(PARTITIONS) + 40 * len(CHANNELS) + 64


def verify(report, *options, stdin=None):
    return subprocess.run([CLI, "attest", "verify", "--system", *options, report], input=stdin,
                          capture_output=True, text=True, cwd=ROOT)


@pytest.fixture(scope="module")
def system_boot(tmp_path_factory):
    """keys-system.toml booted once on a provisioned flash: (bundle, console, report bytes, device key, tmp dir)."""
    tmp = tmp_path_factory.mktemp("system")
    bundle = pack(vault_config(tmp, "keys-system.toml", config="keys-system.toml"), tmp, "keys-system.bin")
    image = tmp / "flash.img"
    flash(image, "--reset-state")
    flash(image, bundle, "--slot", "a")
    provision(image, SECRET, tmp)
    text = boot(image)
    public = line(text, r"^\[bulkhead\] device attestation key: ([0-9a-f]{64})$")
    report = bytes.fromhex("".join(re.findall(r"^\[vault\] vault: system \d+ ([0-9a-f]+)$", text, re.M)))
    return bundle, text, report, public, tmp


def test_the_vault_gets_a_system_report_signed_by_the_device_key(system_boot):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    _, text, report, public, _ = system_boot
    assert line(text, r"^\[vault\] vault: policy attest_system: (.*)$") == f"0/ok ({SIZE} bytes)"
    assert int(line(text, r"^\[vault\] vault: attest_system report (\d+) bytes$")) == SIZE
    assert len(report) == SIZE
    # The header of docs/keys.md: magic, version, header size, length, counts, caller, the nonce.
    assert report[0:4] == b"BHSR" and report[4:6] == (1).to_bytes(2, "little") and report[6:8] == (192).to_bytes(2, "little")
    assert report[8:12] == SIZE.to_bytes(4, "little") and report[12:15] == bytes([3, 2, 0])
    assert report[32:64] == NONCE
    identity = line(text, r"^\[bulkhead\] device secret: provisioned; hypervisor identity SHA-512 ([0-9a-f]{16})\.\.\.; key services ready$")
    assert report[64:72].hex() == identity
    manifest = line(text, r"^\[bulkhead\] measurement: manifest SHA-512 ([0-9a-f]{16})\.\.\.$")
    assert report[128:136].hex() == manifest
    for p, name in enumerate(PARTITIONS):
        entry = report[192 + 224 * p:192 + 224 * (p + 1)]
        assert entry[0:16] == name.encode() + bytes(16 - len(name)) and entry[16] == 0   # the bundle's image
    Ed25519PublicKey.from_public_bytes(bytes.fromhex(public)).verify(report[-64:], report[:-64])
    assert_no_trouble(text)


def test_attest_verify_system_checks_the_report_against_key_nonce_and_bundle(system_boot):
    bundle, text, report, public, tmp = system_boot
    # Straight from the console log, as a verifier would pipe it.
    ok = verify("-", "--device-key", public, "--nonce", NONCE.hex(), "--bundle", bundle, stdin=text)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    out = ok.stdout
    assert re.search(rf"^standard input: system report, version 1, {SIZE} bytes$", out, re.M), out
    assert re.search(r"^requested by: #0 \"vault\"$", out, re.M) and re.search(r"^partitions: 3$", out, re.M)
    for p, name in enumerate(PARTITIONS):
        assert re.search(rf"^  #{p} \"{name}\": bundle image, security version 0$", out, re.M), out
    assert re.search(r'^  #0 "vault-blobs": queue, vault -> tenant, depth 4, messages up to 64 bytes, doorbell$', out, re.M), out
    assert re.search(r'^  #1 "scratch": shared-memory, tenant <-> nokeys, 4 KiB \(read-write / read-only\)$', out, re.M), out
    assert re.search(rf"^bundle: matches {re.escape(bundle)} ", out, re.M)
    assert re.search(rf"^signature: valid \(device key {public[:16]}\.\.\.\)$", out, re.M)
    assert re.search(r"^manifest digest: ([0-9a-f]{128})$", out, re.M).group(1) == report[128:192].hex()
    # JSON (docs/cli-json.md).
    js = verify("-", "--device-key", public, "--json", stdin=text)
    assert js.returncode == 0, js.stdout + js.stderr
    document = json.loads(js.stdout)
    assert document["command"] == "attest verify --system" and document["ok"] is True
    assert [p["name"] for p in document["result"]["partitions"]] == list(PARTITIONS)
    assert [c["name"] for c in document["result"]["channels"]] == list(CHANNELS)
    # The report as a file; any one changed byte is refused: header, each part, the signature.
    good = tmp / "system.bin"
    good.write_bytes(report)
    assert verify(str(good), "--device-key", public).returncode == 0
    for at in (9, 40, 100, 150, 192 + 40, 192 + 224 + 100, 192 + 2 * 224 + 170, 192 + 3 * 224 + 20, SIZE - 64, SIZE - 1):
        bad = bytearray(report)
        bad[at] ^= 0x01
        path = tmp / f"system-bad-{at}.bin"
        path.write_bytes(bytes(bad))
        refused = verify(str(path), "--device-key", public)
        assert refused.returncode != 0, f"byte {at} changed, yet accepted:\n{refused.stdout}"
        assert "the signature does not verify with the device key" in refused.stderr or "not a valid system report" in refused.stderr
        assert "signature: valid" not in refused.stdout
    # Another nonce (a replay) and another bundle are refused, naming what differs.
    other_nonce = verify(str(good), "--device-key", public, "--nonce", bytes(32).hex())
    assert other_nonce.returncode != 0 and "not the expected" in other_nonce.stderr
    config = tmp / "tenant-policy.toml"
    text = open(vault_config(tmp, "keys-system-copy.toml", config="keys-system.toml")).read()
    changed, n = re.subn(r'^keys = \["derive", "seal"\]$', 'keys = ["derive"]', text, flags=re.M)
    assert n == 1
    config.write_text(changed)
    other = pack(str(config), tmp, "tenant-policy.bin")
    differs = verify(str(good), "--device-key", public, "--bundle", other)
    assert differs.returncode != 0
    assert "partition #1 \"tenant\"'s policy" in differs.stderr, differs.stderr
    # A truncated report is refused before any signature check.
    cut = tmp / "system-cut.bin"
    cut.write_bytes(report[:-1])
    truncated = verify(str(cut), "--device-key", public)
    assert truncated.returncode != 0 and "it is cut off" in truncated.stderr, truncated.stderr


def test_under_the_secure_monitor_the_chain_reaches_the_system_report(bundle_of, flash_of, tmp_path):
    """Under the secure monitor (docs/monitor.md, "Chained attestation") the system report is signed
    by the hypervisor's attestation key that the monitor's certificate vouches for: `attest verify
    --system --monitor-key --certificate` checks monitor key → certificate → system report."""
    from test_monitor import HYPERVISOR_BIN, MONITOR_FW, monitor_cmd, sign
    from test_monitor import provision as provision_file
    from harness import Machine
    import os
    if not os.path.exists(MONITOR_FW):
        pytest.skip("build/monitor/fw_jump.elf missing: run `make monitor`")
    secret_file = tmp_path / "secret.hex"
    secret_file.write_text("5a" * 32 + "\n")
    bundle = bundle_of(vault_config(tmp_path, "system.toml", config="keys-system.toml"))
    signed = sign(HYPERVISOR_BIN, tmp_path / "bulkhead.signed")
    with Machine.command(monitor_cmd(signed, provision_file(flash_of(bundle), secret_file), smp=3)) as m:
        cert_hex = m.expect(r"^\[bulkhead\] monitor certificate: ([0-9a-f]{384})$").group(1)
        m.expect(rf"^\[vault\] vault: policy attest_system: 0/ok \({SIZE} bytes\)$", timeout=90)
        m.expect(rf"^\[vault\] vault: system {(SIZE - 1) // 32 * 32} [0-9a-f]+$", timeout=30)
        text = m.text
    report = bytes.fromhex("".join(re.findall(r"^\[vault\] vault: system \d+ ([0-9a-f]+)$", text, re.M)))
    assert len(report) == SIZE
    monitor_pub = tmp_path / "monitor.pub"
    cli = subprocess.run([CLI, "attest", "device-key", "--monitor", "--secret-file", str(secret_file), "-o", str(monitor_pub)],
                         capture_output=True, text=True, cwd=ROOT)
    assert cli.returncode == 0, cli.stdout + cli.stderr
    cert = tmp_path / "cert.bin"
    cert.write_bytes(bytes.fromhex(cert_hex))
    path = tmp_path / "system.bin"
    path.write_bytes(report)
    chain = ["--monitor-key", str(monitor_pub), "--certificate", str(cert), "--nonce", NONCE.hex(), "--bundle", bundle]
    good = verify(str(path), *chain)
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.startswith("chain: valid") and "→ system report)" in good.stdout and "signature: valid" in good.stdout
    # The report's identity is the monitor's measurement of the signed image.
    measurement = re.search(r"for measurement ([0-9a-f]{16})\.\.\.", good.stdout).group(1)
    assert report[64:72].hex() == measurement
    changed = bytearray(report)
    changed[192 + 224 + 100] ^= 0x01            # the tenant's measurement
    path.write_bytes(bytes(changed))
    bad = verify(str(path), *chain)
    assert bad.returncode != 0 and "link hypervisor → system report" in bad.stderr, bad.stderr
