"""Real boards' device trees (Debian's riscv64 linux-image package, kept by Tools/linux/fetch-linux.sh
in $LINUX_CACHE/dtbs): `bulkhead board-info` reads each as the hypervisor would at boot. Every
tree parses; its console is found with its register stride (DesignWare UARTs are recognised as
16550-compatible); harts are counted; RAM is read or the plain reason it is missing is given
(some trees leave /memory to the loader); and, since none of these SoCs has the H extension,
each gets the "no H extension" refusal. Runs on the host; no QEMU."""
import os
import re
import subprocess

import pytest

from harness import CLI, ROOT

LINUX_CACHE = os.environ.get("LINUX_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "bulkhead", "linux"))
DTBS = os.path.join(LINUX_CACHE, "dtbs")


@pytest.fixture(scope="module")
def trees():
    """Every .dtb in the cache, fetched (with the Linux guest's kernel package) when missing."""
    if not os.path.isdir(DTBS):
        result = subprocess.run([os.path.join(ROOT, "Tools", "linux", "fetch-linux.sh")], cwd=ROOT,
                                capture_output=True, text=True)
        assert result.returncode == 0, f"fetch-linux.sh failed:\n{result.stdout}{result.stderr}"
    found = sorted(os.path.join(d, f) for d, _, files in os.walk(DTBS) for f in files if f.endswith(".dtb"))
    assert found, f"no device trees in {DTBS}: the linux-image package shipped none"
    return found


def fdtget(path, node, prop):
    """A string property through dtc's fdtget (device-tree-compiler, which the host tests need
    anyway); None when the node or property is missing."""
    result = subprocess.run(["fdtget", "-t", "s", path, node, prop], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else None


def stdout_compatible(path):
    """The `compatible` list (space-separated) of the node /chosen/stdout-path names, or None."""
    target = fdtget(path, "/chosen", "stdout-path")
    if not target:
        return None
    target = target.split(":", 1)[0]
    if not target.startswith("/"):
        alias, _, rest = target.partition("/")
        base = fdtget(path, "/aliases", alias)
        if not base:
            return None
        target = base + ("/" + rest if rest else "")
    return fdtget(path, target, "compatible")


def board_info(path):
    result = subprocess.run([CLI, "board-info", "--dtb", path], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, f"board-info {path} failed:\n{result.stdout}{result.stderr}"
    return dict(line.split(": ", 1) for line in result.stdout.splitlines())


def test_every_board_tree_is_read_and_refused_for_lack_of_h(trees):
    designware = 0
    for path in trees:
        name = os.path.relpath(path, DTBS)
        info = board_info(path)
        harts = re.fullmatch(r"(\d+) \(mask 0x[0-9a-f]+\), with the H extension: 0", info["harts"])
        assert harts and int(harts.group(1)) >= 1, f"{name}: {info['harts']}"
        assert re.fullmatch(r"\d+ Hz", info["timebase"]), f"{name}: {info['timebase']}"
        assert (re.fullmatch(r"0x[0-9a-f]+ \+ \d+ [KMGT]iB", info["RAM"])
                or info["RAM"] == "none: no /memory node with a non-empty reg (the loader may be meant to add it)"), \
            f"{name}: {info['RAM']}"
        console = re.fullmatch(r"0x[0-9a-f]+, (16550-compatible|not 16550-compatible \(no driver\)), "
                               r"stride (\d+), (\d)-byte access", info["console"])
        assert console, f"{name}: {info['console']}"
        # A DesignWare UART named by stdout-path is the console, with its 4-byte stride.
        if "snps,dw-apb-uart" in (stdout_compatible(path) or "").split():
            designware += 1
            assert console.group(1) == "16550-compatible" and console.group(2) == "4", f"{name}: {info['console']}"
        assert info["Bulkhead"].startswith('refuses to boot: the harts lack the RISC-V H extension (riscv,isa = "rv64'), \
            f"{name}: {info['Bulkhead']}"
    assert designware > 0, "no tree with a DesignWare UART console: the recognition went untested"


def test_trees_without_memory_say_so(trees):
    """The D1 and SG2042 trees leave /memory to the loader."""
    for path in trees:
        base = os.path.basename(path)
        if base.startswith("sun20i-d1") or base.startswith("sg2042"):
            assert board_info(path)["RAM"].startswith("none: no /memory node"), base
