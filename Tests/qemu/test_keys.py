"""Key services (docs/keys.md) on QEMU: derived keys are stable across reboots and differ between partitions
and devices; sealing binds to the image or the signer; another partition, another image, an older security
version and another device secret cannot open a blob; the policy refuses what a partition lacks; random;
attestation reports signed by the device key; the keystore's keys persist, and are the owner's alone. Guests: Guests/{vault,tenant};
configs: configs/keys-*.toml. A sealed blob crosses a reboot through the test: the vault prints it in hex,
and the next bundle carries it in the vault's bootargs (a 16-byte secret seals to 64 bytes: 128 digits,
exactly the bootargs' capacity)."""
import os
import re
import shutil
import subprocess

import pytest

import harness
from harness import CLI, KERNEL, ROOT, Machine, flash, flash_info

CONFIGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")
GUESTS = os.environ.get("BULKHEAD_GUESTS", os.path.join(ROOT, "build", "guests"))   # vault.bin, tenant.bin
SECRET = "8f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0"
OTHER_SECRET = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
# Lines that mean something went wrong: the hypervisor's fatal path, a contained guest fault, a guest's
# unexpected trap, a guest reporting a broken expectation, or a tenant opening the vault's blob.
TROUBLE = r"FATAL|fault: partition|unexpected trap|BAD|TIMEOUT|MISMATCH|SAME|OPENED|failed: "
# What each partition of keys-vault.toml may call (its `keys`).
POLICY = {"vault": {"derive", "seal", "random"}, "tenant": {"derive", "seal"}, "nokeys": set()}
# What an allowed call of each probe returns (the unseal probe's blob is never the caller's).
ALLOWED = {"derive": "0/ok (32 bytes)", "seal": "0/ok (64 bytes)", "unseal": "-1/not_authentic",
           "random": "0/ok (16 bytes)", "keystore": "-4/not_owner"}
# The service each hypercall needs (docs/keys.md); the keystore probe destroys handle 0 (nobody's).
NEEDS = {"derive": "derive", "seal": "seal", "unseal": "seal", "attest": "attest", "random": "random",
         "keystore": "keystore"}


def provision(image, secret, tmp_path):
    """`bulkhead provision IMAGE --secret-file FILE` with `secret` (64 hex digits) in FILE."""
    path = tmp_path / f"secret-{secret[:8]}.hex"
    path.write_text(secret + "\n")
    result = subprocess.run([CLI, "provision", str(image), "--secret-file", str(path)],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, f"bulkhead provision failed:\n{result.stdout}{result.stderr}"
    return result.stdout


def vault_config(tmp_path, name, vault_image=None, bootargs=None, config="keys-vault.toml"):
    """A copy of configs/`config` in tmp_path (image paths made absolute, under GUESTS), with the
    vault's image replaced by `vault_image` and its bootargs set to `bootargs`."""
    text = open(os.path.join(CONFIGS, config)).read()
    text = re.sub(r'^image = "\.\./\.\./\.\./build/guests/(\w+)\.bin"$',
                  lambda m: f'image = "{os.path.join(GUESTS, m.group(1) + ".bin")}"', text, flags=re.M)
    if vault_image:
        text, n = re.subn(r'^image = ".*/vault\.bin"$', f'image = "{vault_image}"', text, count=1, flags=re.M)
        assert n == 1
    if bootargs:
        text, n = re.subn(r'^name = "vault"$', f'name = "vault"\nbootargs = "{bootargs}"', text, count=1, flags=re.M)
        assert n == 1
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def updated_vault_image(tmp_path):
    """The vault image with one byte appended: another image (digest), the same code."""
    out = tmp_path / "vault-updated.bin"
    shutil.copyfile(os.path.join(GUESTS, "vault.bin"), out)
    with open(out, "ab") as f:
        f.write(b"\xa5")
    return str(out)


def pack(config, tmp_path, name, *extra):
    out = str(tmp_path / name)
    result = harness.pack(config, out, *extra)
    assert result.returncode == 0, f"bulkhead pack failed:\n{result.stdout}{result.stderr}"
    return out


def boot(image, partitions=("vault", "tenant", "nokeys"), smp=3):
    """Boots `image` until every partition in `partitions` has shut itself down; returns the console."""
    with Machine(image, smp=smp) as m:
        for p in partitions:
            m.expect(rf"^\[bulkhead\] partition {p} shut down by its guest", timeout=90)
        return m.text


def line(text, pattern):
    """The one match of `pattern` (a regex over whole lines) in `text`."""
    found = re.findall(pattern, text, re.M)
    assert len(found) == 1, f"expected one /{pattern}/, found {len(found)}; console:\n{text[-4000:]}"
    return found[0]


def fingerprint(text, who):
    return line(text, rf"^\[{who}\] {who}: derive fingerprint ([0-9a-f]{{16}})$")


def blob(text, binding):
    """The vault's blob in hex (printed in two halves: the hypervisor cuts guest lines at 120 bytes)."""
    return "".join(line(text, rf"^\[vault\] vault: blob {binding} part {n} ([0-9a-f]{{64}})$") for n in (1, 2))


def assert_no_trouble(text, allow=None):
    bad = [l for l in re.findall(rf"^.*(?:{TROUBLE}).*$", text, re.M) if not (allow and re.search(allow, l))]
    assert not bad, "unexpected lines:\n" + "\n".join(bad)


def opened(text, binding, version):
    """What the vault said about the blob in its bootargs."""
    return line(text, rf"^\[vault\] vault: open blob {binding} v{version}: (.*)$")


@pytest.fixture(scope="module")
def two_boots(tmp_path_factory):
    """keys-vault.toml on a flash image provisioned with SECRET, booted twice: (image, [console 1, console 2])."""
    tmp = tmp_path_factory.mktemp("keys")
    image = tmp / "flash.img"
    flash(image, "--reset-state")
    flash(image, pack(vault_config(tmp, "keys-vault.toml"), tmp, "keys-vault.bin"), "--slot", "a")
    provision(image, SECRET, tmp)
    return str(image), [boot(image), boot(image)]


def test_derived_keys_are_stable_across_reboots_and_differ_between_partitions(two_boots):
    _, (first, second) = two_boots
    vault, tenant = fingerprint(first, "vault"), fingerprint(first, "tenant")
    assert fingerprint(second, "vault") == vault
    assert fingerprint(second, "tenant") == tenant
    assert vault != tenant
    assert "0000000000000000" not in (vault, tenant)
    for text in (first, second):
        assert re.search(r"^\[bulkhead\] device secret: provisioned", text, re.M)
    # nokeys runs the tenant's image but may not derive.
    assert line(first, r"^\[nokeys\] nokeys: derive: (.*)$") == "-4/policy_denied"
    for text in (first, second):
        assert_no_trouble(text)


def test_the_vault_seals_and_unseals_image_bound_and_signer_bound(two_boots):
    _, (text, _) = two_boots
    at = 0
    for binding, number in (("image", 1), ("signer", 2)):
        at = text.index(f"[vault] vault: seal {binding} ok, blob 64 bytes\n", at)
        raw = bytes.fromhex(blob(text, binding))
        # Blob version 1 (docs/keys.md): magic, version, binding, reserved, security version 0, nonce, length 16.
        assert raw[0:4] == b"BHSL" and raw[4:6] == (1).to_bytes(2, "little")
        assert raw[6] == number and raw[7] == 0
        assert int.from_bytes(raw[8:16], "little") == 0
        assert int.from_bytes(raw[28:32], "little") == 16
        assert b"BHSKvault-secret" not in raw, "the secret appears in clear in the blob"
    image_blob, signer_blob = bytes.fromhex(blob(text, "image")), bytes.fromhex(blob(text, "signer"))
    assert image_blob[16:28] != signer_blob[16:28], "two seals used the same nonce"
    # Tampering, the wrong aad, a non-blob, a binding that does not exist, a short output buffer.
    for label, result in (("tampered ciphertext", "-1/not_authentic"), ("tampered header", "-1/not_authentic"),
                          ("wrong aad", "-1/not_authentic"), ("garbage blob", "-3/bad_blob"),
                          ("bad binding 3", "-3/bad_binding"), ("seal buffer too small", "-3/buffer_too_small")):
        assert re.search(rf"^\[vault\] vault: check {re.escape(label)}: {re.escape(result)} ok$", text, re.M), \
            f"missing check {label}: {result}; console:\n{text[-3000:]}"
    assert re.search(r"^\[vault\] vault: done$", text, re.M)
    assert_no_trouble(text)


def test_the_tenant_cannot_unseal_the_vaults_blobs(two_boots):
    _, (text, _) = two_boots
    assert re.search(r"^\[vault\] vault: sent image blob to partition 1$", text, re.M)
    assert re.search(r"^\[vault\] vault: sent signer blob to partition 1$", text, re.M)
    # The tenant seals and unseals its own data, so refusing the vault's blob is no broken tenant.
    assert line(text, r"^\[tenant\] tenant: seal image (.*)$") == "ok"
    for binding in ("image", "signer"):
        assert line(text, rf"^\[tenant\] tenant: unseal vault's {binding} blob \(from partition 0\): (.*)$") \
            == "-1/not_authentic"
    assert "OPENED" not in text
    assert_no_trouble(text)


def test_random_returns_bytes_and_two_calls_differ(two_boots):
    _, texts = two_boots
    seen = []
    for text in texts:
        a, b, verdict = line(text, r"^\[vault\] vault: random ([0-9a-f]{16}) ([0-9a-f]{16}) (\w+)$")
        assert verdict == "differ" and a != b
        assert "0000000000000000" not in (a, b)
        seen += [a, b]
    assert len(set(seen)) == 4, f"random repeated across boots: {seen}"


def test_each_service_a_partition_lacks_is_refused(two_boots):
    _, (text, _) = two_boots
    for who, allowed in POLICY.items():
        for call, service in NEEDS.items():
            got = line(text, rf"^\[{who}\] {who}: policy {call}: (.*)$")
            if service not in allowed:
                assert got == "-4/policy_denied", f"{who} lacks {service}, yet {call} gave {got}"
            else:
                assert got == ALLOWED[call], f"{who} may call {call}: got {got}"
    # attest_system is a right of its own: the vault, with other key services, is refused and
    # prints nothing of a system report (test_system_attestation.py has one allowed).
    assert line(text, r"^\[vault\] vault: policy attest_system: (.*)$") == "-4/policy_denied"
    assert not re.search(r"^\[vault\] vault: (attest_system report|system \d+) ", text, re.M)
    # nokeys's own seal fails the same way (and it carries on).
    assert line(text, r"^\[nokeys\] nokeys: seal image (.*)$") == "-4/policy_denied"
    assert re.search(r"^\[nokeys\] nokeys: done$", text, re.M)


def test_an_updated_image_opens_signer_bound_blobs_only(two_boots, tmp_path):
    image, (text, _) = two_boots
    image_blob, signer_blob = blob(text, "image"), blob(text, "signer")
    updated = updated_vault_image(tmp_path)
    try:
        # The same image with the blob in its bootargs (not part of the measurement) opens it.
        flash(image, pack(vault_config(tmp_path, "same.toml", bootargs=image_blob), tmp_path, "same.bin"), "--slot", "a")
        same = boot(image)
        assert opened(same, "image", 0) == "0/ok, secret matches"
        assert fingerprint(same, "vault") == fingerprint(text, "vault")
        # The updated image: other keys, the image-bound blob does not open, the signer-bound one does.
        flash(image, pack(vault_config(tmp_path, "up-image.toml", updated, image_blob), tmp_path, "up1.bin"), "--slot", "a")
        up = boot(image)
        assert opened(up, "image", 0) == "-1/not_authentic"
        assert fingerprint(up, "vault") != fingerprint(text, "vault")
        assert fingerprint(up, "tenant") == fingerprint(text, "tenant")
        flash(image, pack(vault_config(tmp_path, "up-signer.toml", updated, signer_blob), tmp_path, "up2.bin"), "--slot", "a")
        up2 = boot(image)
        assert opened(up2, "signer", 0) == "0/ok, secret matches"
        for t in (same, up, up2):
            assert_no_trouble(t)
    finally:
        # Leave the module's image as the fixture made it (other tests only read its consoles).
        flash(image, pack(vault_config(tmp_path, "restore.toml"), tmp_path, "restore.bin"), "--slot", "a")


def test_a_signer_bound_blob_of_version_3_does_not_open_at_version_2(bundle_of, flash_of, tmp_path):
    image = flash_of(bundle_of(vault_config(tmp_path, "v3.toml"), "--version", "3"))
    provision(image, SECRET, tmp_path)
    sealed = boot(image)
    signer_blob = blob(sealed, "signer")
    assert int.from_bytes(bytes.fromhex(signer_blob)[8:16], "little") == 3
    # The hypervisor would refuse v2 after v3 (anti-rollback floor): reset the state region
    # (which keeps the device secret) so that only the blob's own check stands in the way.
    flash(image, "--reset-state")
    flash(image, pack(vault_config(tmp_path, "v2.toml", bootargs=signer_blob), tmp_path, "v2.bin", "--version", "2"), "--slot", "a")
    older = boot(image)
    assert re.search(r"^\[bulkhead\] slot A: bundle verified: key id [0-9a-f]{16}, security version 2", older, re.M)
    assert opened(older, "signer", 3) == "-4/version_too_low"
    assert fingerprint(older, "vault") == fingerprint(sealed, "vault"), "--reset-state changed the device secret"
    # A newer version opens it.
    flash(image, pack(vault_config(tmp_path, "v4.toml", bootargs=signer_blob), tmp_path, "v4.bin", "--version", "4"), "--slot", "a")
    newer = boot(image)
    assert opened(newer, "signer", 3) == "0/ok, secret matches"
    for t in (sealed, older, newer):
        assert_no_trouble(t)


def test_another_device_secret_gives_other_keys(bundle_of, flash_of, tmp_path, two_boots):
    _, (text, _) = two_boots
    image = flash_of(bundle_of(vault_config(tmp_path, "other.toml", bootargs=blob(text, "signer"))))
    provision(image, OTHER_SECRET, tmp_path)
    other = boot(image)
    for who in ("vault", "tenant"):
        assert fingerprint(other, who) != fingerprint(text, who)
    # Even the signer-bound blob (same name, same signing key) is the other device's.
    assert opened(other, "signer", 0) == "-1/not_authentic"
    assert_no_trouble(other)


def test_another_policy_gives_other_keys(bundle_of, flash_of, tmp_path, two_boots):
    """The policy is part of the measurement (docs/keys.md): the vault image with every key service."""
    _, (text, _) = two_boots
    image = flash_of(bundle_of(vault_config(tmp_path, "policy.toml", config="keys-attest.toml")))
    provision(image, SECRET, tmp_path)
    other = boot(image, partitions=("vault",), smp=1)
    assert fingerprint(other, "vault") != fingerprint(text, "vault")
    assert line(other, r"^\[vault\] vault: policy random: (.*)$") == ALLOWED["random"]
    assert_no_trouble(other)


def test_without_a_device_secret_no_key_service_works(bundle_of, flash_of, tmp_path):
    text = boot(flash_of(bundle_of(vault_config(tmp_path, "nosecret.toml"))))
    assert re.search(r"^\[bulkhead\] device secret: not provisioned", text, re.M)
    assert line(text, r"^\[vault\] vault: derive failed: (.*)$") == "-1/no_device_secret"
    assert line(text, r"^\[tenant\] tenant: derive: (.*)$") == "-1/no_device_secret"
    assert line(text, r"^\[tenant\] tenant: seal image (.*)$") == "-1/no_device_secret"
    # The policy is checked first: what a partition lacks is still policy_denied.
    assert line(text, r"^\[tenant\] tenant: policy random: (.*)$") == "-4/policy_denied"
    assert line(text, r"^\[nokeys\] nokeys: policy derive: (.*)$") == "-4/policy_denied"
    assert "derive fingerprint" not in text
    # The vault stops at its first failure, so the tenant waits for blobs in vain.
    assert_no_trouble(text, allow=r"^\[vault\] vault: derive failed: -1/no_device_secret$|"
                                  r"^\[tenant\] tenant: TIMEOUT waiting for the vault's blobs, got 0$")


def test_attest_reports_over_the_nonce_with_the_device_key(bundle_of, flash_of, tmp_path):
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    image = flash_of(bundle_of(vault_config(tmp_path, "attest.toml", config="keys-attest.toml")))
    provision(image, SECRET, tmp_path)
    text = boot(image, partitions=("vault",), smp=1)
    public = line(text, r"^\[bulkhead\] device attestation key: ([0-9a-f]{64})$")
    length = int(line(text, r"^\[vault\] vault: policy attest: 0/ok \((\d+) bytes\)$"))
    assert length == 320
    report = bytes.fromhex("".join(re.findall(r"^\[vault\] vault: report \d+ ([0-9a-f]+)$", text, re.M)))
    assert len(report) == 320
    # The layout of docs/keys.md: magic, version, length, security version, identity, name,
    # measurement, policy digest, nonce, signature over the first 256 bytes.
    assert report[0:4] == b"BHAR" and report[4:6] == (1).to_bytes(2, "little") and report[6:8] == (320).to_bytes(2, "little")
    assert report[8:16] == (0).to_bytes(8, "little")
    identity = line(text, r"^\[bulkhead\] device secret: provisioned; hypervisor identity SHA-512 ([0-9a-f]{16})\.\.\.; key services ready$")
    assert report[16:24].hex() == identity
    assert report[80:96] == b"vault" + bytes(11)
    assert report[96:160] != bytes(64) and report[160:224] != bytes(64)
    nonce = bytes((i * 7 + 1) & 0xFF for i in range(32))
    assert report[224:256] == nonce
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public))
    key.verify(report[256:320], report[:256])                       # raises if it does not verify
    for at in (0, 8, 16, 80, 100, 170, 230, 255, 256, 319):       # any one changed byte fails
        bad = bytearray(report)
        bad[at] ^= 0x01
        with pytest.raises(InvalidSignature):
            key.verify(bytes(bad[256:320]), bytes(bad[:256]))
    # The host tool agrees: `bulkhead attest verify` accepts the report and refuses a changed byte,
    # and `bulkhead attest device-key` derives the printed key from the kernel and the secret.
    good, bad = tmp_path / "report.bin", tmp_path / "report-bad.bin"
    good.write_bytes(report)
    changed = bytearray(report)
    changed[100] ^= 0x01
    bad.write_bytes(bytes(changed))
    verify = [CLI, "attest", "verify", "--device-key", public, "--nonce", nonce.hex()]
    ok = subprocess.run(verify + [str(good)], capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert re.search(r"^partition name: vault$", ok.stdout, re.M) and "signature: valid" in ok.stdout
    refused = subprocess.run(verify + [str(bad)], capture_output=True, text=True, cwd=ROOT)
    assert refused.returncode != 0 and "the signature does not verify with the device key" in refused.stderr
    secret_file = tmp_path / "secret.hex"
    secret_file.write_text(SECRET + "\n")
    exported = subprocess.run([CLI, "attest", "device-key", "--kernel", KERNEL, "--secret-file", str(secret_file)],
                              capture_output=True, text=True, cwd=ROOT)
    assert exported.returncode == 0, exported.stdout + exported.stderr
    assert re.search(rf"^device attestation key: {public}$", exported.stdout, re.M), exported.stdout
    # The device key is the same on the next boot, and the report's identity with it.
    again = boot(image, partitions=("vault",), smp=1)
    assert line(again, r"^\[bulkhead\] device attestation key: ([0-9a-f]{64})$") == public
    assert_no_trouble(text)


# RFC 8032 §7.1 TEST 1's seed and RFC 4231 case 1's key, which the vault imports (Guests/vault/Keystore.swift).
KEYSTORE_AREA = (0x1E4_0000, 0x8_0000)        # offset and size of both keystore copies in QEMU virt's flash
RFC8032_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
KEYSTORE_CHECKS = (("keystore mac with a sign key", "-3/wrong_usage"), ("keystore sign with a mac key", "-3/wrong_usage"),
                   ("keystore public of a mac key", "-3/wrong_usage"), ("keystore usage 3", "-3/bad_usage"),
                   ("keystore import 31-byte seed", "-3/bad_key_length"), ("keystore import 15-byte mac key", "-3/bad_key_length"),
                   ("keystore stale generation", "-3/unknown_handle"), ("keystore slot 200", "-3/unknown_handle"),
                   ("keystore another owner", "-4/not_owner"), ("keystore handle 0", "-4/not_owner"),
                   ("keystore misaligned output", "-3/misaligned"), ("keystore message 4097", "-3/too_long"),
                   ("keystore output outside ram", "-5/bad_address"), ("keystore message outside ram", "-5/bad_address"),
                   ("keystore destroyed handle", "-3/unknown_handle"))


def keystore_boot(image, tmp_path, name, bootargs):
    """keys-keystore.toml with the vault's `bootargs` written to slot A and booted."""
    flash(image, pack(vault_config(tmp_path, name + ".toml", bootargs=bootargs, config="keys-keystore.toml"),
                      tmp_path, name + ".bin"), "--slot", "a")
    return boot(image, partitions=("vault", "tenant"), smp=2)


def test_keystore_handles_persist_across_a_reboot_and_are_refused_to_the_other_partition(flash_of, tmp_path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    image = flash_of()
    provision(image, SECRET, tmp_path)
    first = keystore_boot(image, tmp_path, "keep", "keystore-keep")
    assert re.search(r"^\[bulkhead\] keystore: empty$", first, re.M)
    # The spec's vectors through key_import, key_public, key_sign and key_mac.
    assert line(first, r"^\[vault\] vault: keystore rfc8032 test 1: (.*)$") == "public ok, signature ok"
    assert line(first, r"^\[vault\] vault: keystore rfc4231 case 1: (.*)$") == "mac ok"
    handle, public = line(first, r"^\[vault\] vault: keystore generated ([0-9a-f]{16}) public ([0-9a-f]{64}), signature verifies$")
    Ed25519PublicKey.from_public_bytes(bytes.fromhex(public))                 # a valid point
    for label, result in KEYSTORE_CHECKS:
        assert line(first, rf"^\[vault\] vault: check {re.escape(label)}: (.*)$") == result + " ok", label
    # 8 slots: two imports and the generated key, then 5 more, then keystore_full.
    assert line(first, r"^\[vault\] vault: keystore filled (\d+) more slots, then (.*)$") == ("5", "-1/keystore_full ok")
    assert line(first, r"^\[vault\] vault: keystore keeps ([0-9a-f]{16})$") == handle
    # The tenant holds a key of its own, yet the vault's handle gets it nothing.
    own, theirs = line(first, r"^\[tenant\] tenant: own key 0x([0-9a-f]+), vault's 0x([0-9a-f]+)$")
    assert theirs == handle and own != handle
    for call in ("key_sign", "key_public", "key_destroy"):
        assert line(first, rf"^\[tenant\] tenant: vault's key {call}: (.*)$") == "-4/not_owner"
    # The keystore copies (docs/flash-layout.md) hold sealed records: the imported seed never appears in clear.
    with open(image, "rb") as f:
        f.seek(KEYSTORE_AREA[0])
        area = f.read(KEYSTORE_AREA[1])
    assert b"BULKKEYS" in area and RFC8032_SEED not in area
    keystore = flash_info(image)["keystore"]
    assert any(re.fullmatch(r"keystore copy [AB]: valid, sequence \d+, partitions (vault, tenant|tenant, vault)", copy)
               for copy in keystore), keystore

    # After a reboot the handle names the same key (its public key and signatures), until destroyed.
    second = keystore_boot(image, tmp_path, "destroy", f"keystore-destroy:{handle}")
    # Two entries: the tenant's too (it destroyed its key, but the slot's generation is kept).
    assert re.search(r"^\[bulkhead\] keystore: copy [AB], sequence \d+, 2 partitions$", second, re.M), second[-3000:]
    assert line(second, r"^\[vault\] vault: keystore handle ([0-9a-f]{16}) public ([0-9a-f]{64}), signature verifies$") \
        == (handle, public)
    assert line(second, r"^\[vault\] vault: keystore destroyed ([0-9a-f]{16})$") == handle
    third = keystore_boot(image, tmp_path, "use", f"keystore-use:{handle}")
    assert line(third, rf"^\[vault\] vault: keystore handle {handle}: (.*)$") == "-3/unknown_handle"
    assert "keystore generated" not in second + third
    for text in (first, second, third):
        assert_no_trouble(text)


def test_a_keystore_sealed_on_another_device_starts_empty(flash_of, tmp_path):
    image = flash_of()
    provision(image, SECRET, tmp_path)
    first = keystore_boot(image, tmp_path, "keep", "keystore-keep")
    handle = line(first, r"^\[vault\] vault: keystore keeps ([0-9a-f]{16})$")
    provision_result = subprocess.run([CLI, "provision", str(image), "--force", "--secret-file",
                                       str(_secret_file(tmp_path, OTHER_SECRET))], capture_output=True, text=True, cwd=ROOT)
    assert provision_result.returncode == 0, provision_result.stdout + provision_result.stderr
    other = keystore_boot(image, tmp_path, "use", f"keystore-use:{handle}")
    assert re.search(r"^\[bulkhead\] keystore: the entry of vault was sealed for another device, hypervisor or signer; it starts empty$",
                     other, re.M)
    assert line(other, rf"^\[vault\] vault: keystore handle {handle}: (.*)$") == "-3/unknown_handle"
    assert_no_trouble(other)


def _secret_file(tmp_path, secret):
    path = tmp_path / f"secret-{secret[:8]}.hex"
    path.write_text(secret + "\n")
    return path


@pytest.mark.parametrize("cpu", ["rv64", "rv64,zkr=true"])
def test_the_seed_csr_probe_never_traps_the_hypervisor(bundle_of, flash_of, tmp_path, cpu):
    """With or without Zkr the hypervisor probes the seed CSR safely. QEMU 7.2's OpenSBI 1.1 does not
    set mseccfg.SSEED, so even with zkr=true HS-mode's read traps: the probe reports it and random
    still works (the collection itself is covered by the host tests, ZkrEntropyTests)."""
    image = flash_of(bundle_of(vault_config(tmp_path, "zkr.toml", config="keys-attest.toml")))
    provision(image, SECRET, tmp_path)
    with Machine(image, smp=1, cpu=cpu) as m:
        m.expect(r"^\[bulkhead\] entropy: no Zkr seed CSR in HS-mode; the DRBG is seeded from the device secret "
                 r"and the boot counter$")
        m.expect(r"^\[bulkhead\] partition vault shut down by its guest", timeout=90)
        text = m.text
    assert line(text, r"^\[vault\] vault: random [0-9a-f]{16} [0-9a-f]{16} (\w+)$") == "differ"
    assert_no_trouble(text)
