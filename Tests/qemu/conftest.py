"""pytest fixtures for the QEMU integration tests: built artefacts and a per-test bundle."""
import os
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
