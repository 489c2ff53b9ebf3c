"""pytest fixtures for the QEMU integration tests: per-test bundles and bundle flash images."""
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402


@pytest.fixture
def bundle_of(tmp_path):
    """Packs a config from Tests/qemu/configs (or a path) into a bundle and returns its path."""
    def make(config, *extra):
        path = config if os.path.isabs(config) else os.path.join(os.path.dirname(__file__), "configs", config)
        out = str(tmp_path / (os.path.basename(config) + ".bin"))
        result = harness.pack(path, out, *extra)
        assert result.returncode == 0, f"bulkhead pack failed:\n{result.stdout}{result.stderr}"
        return out
    return make


@pytest.fixture
def flash_of(tmp_path):
    """Writes bundles into a fresh flash image (slot A, and slot B when given) and returns its path."""
    count = [0]

    def make(slot_a=None, slot_b=None):
        count[0] += 1
        image = tmp_path / f"flash{count[0]}.img"
        harness.flash(image, "--reset-state")
        if slot_a:
            harness.flash(image, slot_a, "--slot", "a")
        if slot_b:
            harness.flash(image, slot_b, "--slot", "b")
        return str(image)
    return make


@pytest.fixture(scope="module")
def uboot_guest():
    """Debian's S-mode u-boot.bin (make uboot-guest fetches it once when it is missing); its path."""
    path = harness.UBOOT
    if not os.path.exists(path):
        result = subprocess.run(["make", "uboot-guest"], cwd=harness.ROOT, capture_output=True, text=True)
        assert result.returncode == 0, f"make uboot-guest failed:\n{result.stdout}{result.stderr}"
    assert os.path.exists(path)
    return path
