"""Host tests of Tools/linux/kmods.py: module trees made here from small ELF objects with a .modinfo
section (as a kernel package lays them out: kernel/.../<name>.ko.xz, modules.builtin[.modinfo]),
and, when the cache holds them, the modules `make linux-guest` picked for the initramfs."""
import lzma
import os
import struct
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "Tools", "linux"))
import kmods  # noqa: E402
import mkcpio  # noqa: E402

VERSION = "6.12.0-test-riscv64"


def elf_object(modinfo, extra=b""):
    """A minimal ELF64 little-endian relocatable object: a null section, .modinfo (the key=value
    strings, NUL-terminated) and .shstrtab; `extra` bytes make objects differ."""
    info = b"".join(item.encode() + b"\0" for item in modinfo) + extra
    shstrtab = b"\0.modinfo\0.shstrtab\0"
    info_off = 64
    str_off = info_off + len(info)
    sh_off = (str_off + len(shstrtab) + 7) & ~7
    header = (b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
              + struct.pack("<HHIQQQIHHHHHH", 1, 0xF3, 1, 0, 0, sh_off, 0, 64, 0, 0, 64, 3, 2))
    body = header + info + shstrtab
    body += bytes(sh_off - len(body))

    def section(name, kind, offset, size):
        return struct.pack("<IIQQQQIIQQ", name, kind, 0, 0, offset, size, 0, 0, 1, 0)

    return (body + bytes(64) + section(1, 1, info_off, len(info))
            + section(10, 3, str_off, len(shstrtab)))


def module(tree, path, depends="", version=VERSION, more=(), compress=True):
    """Writes TREE/kernel/PATH(.xz) with the given modinfo; returns its ELF bytes."""
    elf = elf_object([f"depends={depends}", *more, f"vermagic={version} SMP mod_unload modversions riscv"],
                     extra=path.encode())
    full = os.path.join(tree, "kernel", path + (".xz" if compress else ""))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(lzma.compress(elf) if compress else elf)
    return elf


def names(picked):
    return [name for name, _, _ in picked]


def test_closure_in_dependency_order_decompressed(tmp_path):
    tree = str(tmp_path)
    a = module(tree, "drivers/a.ko", depends="b,c")
    b = module(tree, "drivers/b.ko", depends="c")
    c = module(tree, "lib/c.ko")
    module(tree, "lib/unused.ko")
    picked = kmods.pick(tree, VERSION, ["a"])
    assert names(picked) == ["c", "b", "a"]
    assert {name: elf for name, elf, _ in picked} == {"a": a, "b": b, "c": c}
    assert [os.path.relpath(source, tree) for _, _, source in picked] == ["kernel/lib/c.ko.xz", "kernel/drivers/b.ko.xz",
                                                                           "kernel/drivers/a.ko.xz"]


def test_given_order_is_kept_where_dependencies_allow(tmp_path):
    tree = str(tmp_path)
    module(tree, "x/virtio_mmio.ko")
    module(tree, "net/virtio_net.ko", depends="net_failover")
    module(tree, "net/net_failover.ko", depends="failover")
    module(tree, "net/core/failover.ko")
    module(tree, "block/virtio_blk.ko", compress=False)
    picked = kmods.pick(tree, VERSION, ["virtio_mmio", "virtio_net", "virtio_blk"])
    assert names(picked) == ["virtio_mmio", "failover", "net_failover", "virtio_net", "virtio_blk"]


def test_dashes_in_file_names_are_underscores(tmp_path):
    tree = str(tmp_path)
    module(tree, "fs/nls/nls_iso8859-1.ko")
    assert kmods.module_name("kernel/fs/nls/nls_iso8859-1.ko.xz") == "nls_iso8859_1"
    assert names(kmods.pick(tree, VERSION, ["nls-iso8859-1"])) == ["nls_iso8859_1"]


def test_softdep_pre_is_met_by_an_alias_and_loaded_first(tmp_path):
    tree = str(tmp_path)
    module(tree, "fs/ext4.ko", depends="jbd2", more=["softdep=pre: crypto-crc32c"])
    module(tree, "fs/jbd2.ko", more=["softdep=pre: crypto-crc32c"])
    module(tree, "crypto/crc32c_generic.ko", more=["alias=crypto-crc32c", "alias=crc32c"])
    # Given after ext4, crc32c_generic still comes before the modules that want it.
    assert names(kmods.pick(tree, VERSION, ["ext4", "crc32c_generic"])) == ["crc32c_generic", "jbd2", "ext4"]


def test_unmet_softdep_is_an_error_naming_the_alias(tmp_path):
    tree = str(tmp_path)
    module(tree, "fs/ext4.ko", more=["softdep=pre: crypto-crc32c post: something"])
    module(tree, "crypto/crc32c_generic.ko", more=["alias=crypto-crc32c"])
    with pytest.raises(kmods.ModError, match="crypto-crc32c"):
        kmods.pick(tree, VERSION, ["ext4"])


def test_softdep_met_by_a_built_in_module(tmp_path):
    tree = str(tmp_path)
    module(tree, "fs/ext4.ko", more=["softdep=pre: crypto-crc32c"])
    (tmp_path / "modules.builtin").write_text("kernel/crypto/crc32c_generic.ko\n")
    (tmp_path / "modules.builtin.modinfo").write_bytes(
        b"crc32c_generic.alias=crypto-crc32c\0crc32c_generic.license=GPL\0")
    assert names(kmods.pick(tree, VERSION, ["ext4"])) == ["ext4"]


def test_built_in_modules_are_not_loaded(tmp_path):
    tree = str(tmp_path)
    module(tree, "net/virtio_net.ko", depends="failover")
    module(tree, "net/core/failover.ko")
    (tmp_path / "modules.builtin").write_text("kernel/drivers/virtio/virtio_mmio.ko\n")
    assert names(kmods.pick(tree, VERSION, ["virtio_mmio", "virtio_net"])) == ["failover", "virtio_net"]


def test_vermagic_of_another_kernel_is_refused(tmp_path):
    tree = str(tmp_path)
    module(tree, "a.ko", depends="b")
    module(tree, "b.ko", version="6.12.0-other-riscv64")
    with pytest.raises(kmods.ModError, match="vermagic"):
        kmods.pick(tree, VERSION, ["a"])


def test_missing_dependency_names_who_needs_it(tmp_path):
    tree = str(tmp_path)
    module(tree, "a.ko", depends="gone")
    with pytest.raises(kmods.ModError, match=r"gone not found .*needed by a"):
        kmods.pick(tree, VERSION, ["a"])


def test_not_an_elf_object(tmp_path):
    with pytest.raises(kmods.ModError, match="ELF"):
        kmods.modinfo(b"MZ" + bytes(100))


def test_pick_copies_the_files_and_cpio_list_makes_an_initramfs_part(tmp_path, capsys):
    tree = tmp_path / "tree"
    out = tmp_path / "out"
    module(str(tree), "drivers/a.ko", depends="b")
    b = module(str(tree), "drivers/b.ko", compress=False)
    assert kmods.main(["pick", "--version", VERSION, "--out", str(out), str(tree), "a"]) == 0
    # As the package has them: a.ko.xz byte for byte, b.ko as it was.
    assert (out / "a.ko.xz").read_bytes() == (tree / "kernel" / "drivers" / "a.ko.xz").read_bytes()
    assert (out / "b.ko").read_bytes() == b
    assert kmods.load_order(str(out)) == ["b.ko", "a.ko.xz"]
    capsys.readouterr()
    assert kmods.main(["cpio-list", "--version", VERSION, str(out)]) == 0
    listing = capsys.readouterr().out
    members = {e.name: e for e in mkcpio.parse_list(listing)}
    assert list(members) == ["/lib", "/lib/modules", f"/lib/modules/{VERSION}", f"/lib/modules/{VERSION}/b.ko",
                             f"/lib/modules/{VERSION}/a.ko.xz", f"/lib/modules/{VERSION}/modules.load"]
    assert members[f"/lib/modules/{VERSION}/a.ko.xz"].data == (out / "a.ko.xz").read_bytes()
    mkcpio.archive(list(members.values()))       # a valid archive part: folders before their files
    # The same inputs give the same bytes.
    again = tmp_path / "again"
    assert kmods.main(["pick", "--version", VERSION, "--out", str(again), str(tree), "a"]) == 0
    for f in ("a.ko.xz", "b.ko", "modules.load"):
        assert (again / f).read_bytes() == (out / f).read_bytes()


def test_pick_decompress_writes_plain_objects(tmp_path):
    tree = tmp_path / "tree"
    out = tmp_path / "out"
    a = module(str(tree), "drivers/a.ko")
    assert kmods.main(["pick", "--version", VERSION, "--out", str(out), "--decompress", str(tree), "a"]) == 0
    assert (out / "a.ko").read_bytes() == a and not (out / "a.ko.xz").exists()
    assert kmods.load_order(str(out)) == ["a.ko"]


def test_cpio_list_refuses_a_file_that_is_not_there(tmp_path, capsys):
    (tmp_path / "modules.load").write_text("# comment\nmissing.ko.xz\n")
    assert kmods.main(["cpio-list", "--version", VERSION, str(tmp_path)]) == 1
    assert "missing.ko.xz" in capsys.readouterr().err


def test_pick_reports_errors_without_a_traceback(tmp_path, capsys):
    assert kmods.main(["pick", "--version", VERSION, "--out", str(tmp_path / "out"), str(tmp_path), "nothing"]) == 1
    assert "kmods: error: module nothing not found" in capsys.readouterr().err


CACHE = os.environ.get("LINUX_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "bulkhead", "linux"))


@pytest.mark.skipif(not os.path.exists(os.path.join(CACHE, "modules", "modules.load")),
                    reason="no cached modules (make linux-guest)")
def test_cached_modules_match_the_kernel_and_their_order():
    """The modules the fetch picked: for the cached kernel, each after what it depends on, and for
    the current Guests/linux/modules.list."""
    version = open(os.path.join(CACHE, "kernel-version")).read().strip()
    folder = os.path.join(CACHE, "modules")
    order = kmods.load_order(folder)
    assert order, "modules.load names no module"
    names = [kmods.module_name(f) for f in order]
    for i, (filename, name) in enumerate(zip(order, names)):
        info = kmods.modinfo(kmods.read_module(os.path.join(folder, filename)), filename)
        assert info["vermagic"][0].split(" ")[0] == version
        for dep in filter(None, ",".join(info.get("depends", [])).split(",")):
            assert dep in names[:i], f"{name} is loaded before its dependency {dep}"
    with open(os.path.join(ROOT, "Guests", "linux", "modules.list"), "rb") as f:
        assert f.read() == open(os.path.join(folder, "wanted"), "rb").read(), \
            "the cached modules were picked for another modules.list (make linux-guest refreshes them)"
