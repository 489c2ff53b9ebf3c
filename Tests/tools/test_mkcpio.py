"""Host tests of Tools/linux/mkcpio.py: the archive is read back by an independent newc reader
written here (from the format, not from mkcpio's code), and by the system's cpio when present."""
import os
import shutil
import stat
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "Tools", "linux"))
import mkcpio  # noqa: E402

FIELDS = ("ino", "mode", "uid", "gid", "nlink", "mtime", "filesize",
          "devmajor", "devminor", "rdevmajor", "rdevminor", "namesize", "check")


def read_newc(blob):
    """Independent reader: a list of dicts (the 13 fields, name, data, offsets), trailer included."""
    members = []
    pos = 0
    while True:
        assert pos % 4 == 0, f"member at unaligned offset {pos}"
        assert blob[pos:pos + 6] == b"070701", f"bad magic at {pos}: {blob[pos:pos + 6]!r}"
        raw = blob[pos + 6:pos + 110]
        assert len(raw) == 104, "truncated header"
        assert all(chr(c) in "0123456789ABCDEF" for c in raw), "header fields must be upper-case hex"
        m = {name: int(raw[i * 8:(i + 1) * 8], 16) for i, name in enumerate(FIELDS)}
        name_start = pos + 110
        name_bytes = blob[name_start:name_start + m["namesize"]]
        assert name_bytes.endswith(b"\0") and b"\0" not in name_bytes[:-1], "name must end in exactly one NUL"
        m["name"] = name_bytes[:-1].decode()
        data_start = name_start + m["namesize"]
        data_start += (-data_start) % 4
        assert data_start % 4 == 0
        assert set(blob[name_start + m["namesize"]:data_start]) <= {0}, "name padding must be NULs"
        m["data"] = blob[data_start:data_start + m["filesize"]]
        assert len(m["data"]) == m["filesize"], "truncated data"
        end = data_start + m["filesize"]
        pad_end = end + (-end) % 4
        assert set(blob[end:pad_end]) <= {0}, "data padding must be NULs"
        m["offset"] = pos
        members.append(m)
        pos = pad_end
        if m["name"] == "TRAILER!!!":
            break
    assert set(blob[pos:]) <= {0}, "bytes after the trailer"
    assert pos == len(blob), "the archive should end right after the trailer's padding"
    return members


def sample_entries():
    E = mkcpio.Entry
    return [
        E("dir", "/bin", 0o755),
        E("dir", "/dev", 0o755),
        E("dir", "/a-longer-directory-name", 0o700),
        E("dir", "/tmp", 0o1777),
        E("file", "/empty", 0o644, b""),
        E("file", "/one", 0o600, b"1"),
        E("file", "/bin/two", 0o755, b"22"),
        E("file", "/bin/three", 0o755, b"333"),
        E("file", "/a-longer-directory-name/four", 0o4755, b"4444"),
        E("file", "/five", 0o644, b"55555"),
        E("slink", "/bin/sh", 0o777, b"busybox"),
        E("nod", "/dev/console", 0o600, dev="c", major=5, minor=1),
        E("nod", "/dev/vda", 0o660, dev="b", major=254, minor=0),
        E("pipe", "/dev/fifo", 0o644),
    ]


def test_round_trip_names_modes_sizes_and_trailer():
    entries = sample_entries()
    members = read_newc(mkcpio.archive(entries))
    assert members[-1]["name"] == "TRAILER!!!"
    assert members[-1]["filesize"] == 0
    body = members[:-1]
    assert [m["name"] for m in body] == [e.name.lstrip("/") for e in entries]
    kinds = {"dir": stat.S_IFDIR, "file": stat.S_IFREG, "slink": stat.S_IFLNK, "pipe": stat.S_IFIFO}
    for e, m in zip(entries, body):
        fmt = (stat.S_IFCHR if e.dev == "c" else stat.S_IFBLK) if e.kind == "nod" else kinds[e.kind]
        assert stat.S_IFMT(m["mode"]) == fmt, m["name"]
        assert stat.S_IMODE(m["mode"]) == e.perm, m["name"]
        assert m["uid"] == 0 and m["gid"] == 0 and m["mtime"] == 0 and m["check"] == 0
        assert m["nlink"] == (2 if e.kind == "dir" else 1)
        if e.kind in ("file", "slink"):
            assert m["data"] == e.data and m["filesize"] == len(e.data)
        else:
            assert m["filesize"] == 0
        if e.kind == "nod":
            assert (m["rdevmajor"], m["rdevminor"]) == (e.major, e.minor)
    assert [m["ino"] for m in body] == list(range(1, len(body) + 1)), "inodes numbered in list order"


def test_deterministic_and_mtime_option():
    assert mkcpio.archive(sample_entries()) == mkcpio.archive(sample_entries())
    members = read_newc(mkcpio.archive(sample_entries(), mtime=1234))
    assert {m["mtime"] for m in members[:-1]} == {1234}


def test_list_format_ignores_source_metadata(tmp_path):
    src = tmp_path / "payload"
    src.write_bytes(b"hello\n")
    text = f"""
        # comment
        dir  /bin 0755
        file /bin/hello ${{SRC}} 0755   # trailing comment
        slink /bin/hi hello
        nod  /console 0600 c 5 1
    """
    first = mkcpio.archive(mkcpio.parse_list(text, {"SRC": str(src)}))
    os.chmod(src, 0o600)
    os.utime(src, (1_000_000, 1_000_000))
    second = mkcpio.archive(mkcpio.parse_list(text, {"SRC": str(src)}))
    assert first == second, "source file mode/mtime must not leak into the archive"
    names = [(m["name"], stat.S_IMODE(m["mode"])) for m in read_newc(first)]
    assert names == [("bin", 0o755), ("bin/hello", 0o755), ("bin/hi", 0o777), ("console", 0o600), ("TRAILER!!!", 0)]


@pytest.mark.parametrize("text, message", [
    ("file /bin/x /dev/null 0755", "not listed before"),
    ("dir /a 0755\ndir /a 0755", "duplicate"),
    ("dir /a 0999", "octal"),
    ("nod /c 0600 x 1 1", "c or b"),
    ("file /x ${NOPE_UNDEFINED_VAR} 0644", "not defined"),
    ("frob /x", "cannot parse"),
    ("dir /../x 0755", "bad archive path"),
])
def test_list_errors(text, message):
    with pytest.raises(mkcpio.ListError, match=message):
        mkcpio.archive(mkcpio.parse_list(text))


def test_cli_writes_file(tmp_path):
    out = tmp_path / "sub" / "out.cpio"
    lst = tmp_path / "list"
    lst.write_text("dir /d 0755\nslink /d/l target\n")
    result = subprocess.run([sys.executable, os.path.join(ROOT, "Tools", "linux", "mkcpio.py"), "-o", str(out), str(lst)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert [m["name"] for m in read_newc(out.read_bytes())] == ["d", "d/l", "TRAILER!!!"]
    bad = tmp_path / "bad"
    bad.write_text("file /x /nonexistent/file 0644\n")
    result = subprocess.run([sys.executable, os.path.join(ROOT, "Tools", "linux", "mkcpio.py"), "-o", str(out), str(bad)],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "cannot read" in result.stderr


def test_guest_initramfs_list(tmp_path):
    """The real Guests/linux/initramfs.list, with a stand-in for busybox."""
    busybox = tmp_path / "busybox"
    busybox.write_bytes(b"\x7fELF" + bytes(range(256)) * 3)
    text = open(os.path.join(ROOT, "Guests", "linux", "initramfs.list")).read()
    members = read_newc(mkcpio.archive(mkcpio.parse_list(
        text, {"BUSYBOX": str(busybox), "INIT": os.path.join(ROOT, "Guests", "linux", "init"),
               "UDHCPC_SCRIPT": os.path.join(ROOT, "Guests", "linux", "udhcpc.script")})))
    by_name = {m["name"]: m for m in members}
    assert stat.S_ISCHR(by_name["dev/console"]["mode"]) and (by_name["dev/console"]["rdevmajor"], by_name["dev/console"]["rdevminor"]) == (5, 1)
    assert by_name["init"]["data"].startswith(b"#!/bin/sh") and stat.S_IMODE(by_name["init"]["mode"]) == 0o755
    assert by_name["bin/busybox"]["data"] == busybox.read_bytes()
    assert by_name["bin/sh"]["data"] == b"busybox" and stat.S_ISLNK(by_name["bin/sh"]["mode"])
    # udhcpc's default script where busybox looks for it, and the applets the net actions use.
    script = by_name["etc/udhcpc/default.script"]
    assert script["data"].startswith(b"#!/bin/sh") and stat.S_IMODE(script["mode"]) == 0o755
    for applet in ("sbin/insmod", "sbin/udhcpc", "sbin/ip", "bin/wget", "bin/sha256sum", "bin/sync"):
        assert stat.S_ISLNK(by_name[applet]["mode"]), applet
    assert stat.S_ISDIR(by_name["mnt"]["mode"])


@pytest.mark.skipif(shutil.which("cpio") is None, reason="no system cpio")
def test_system_cpio_lists_same_names(tmp_path):
    blob = mkcpio.archive(sample_entries())
    result = subprocess.run(["cpio", "-t", "--quiet"], input=blob, capture_output=True)
    assert result.returncode == 0, result.stderr
    listed = result.stdout.decode().splitlines()
    assert listed == [m["name"] for m in read_newc(blob)[:-1]]
