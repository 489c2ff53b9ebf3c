#!/usr/bin/env python3
"""mkcpio: a small, deterministic writer of "newc" cpio archives (the initramfs format).

Format (SVR4 "new ASCII", magic 070701): each member is a 110-byte header of the magic and 13
fields of 8 upper-case hex digits (ino, mode, uid, gid, nlink, mtime, filesize, devmajor,
devminor, rdevmajor, rdevminor, namesize, check), then the NUL-terminated name, padded with NULs
so that header plus name is a multiple of 4 bytes, then the data (a file's bytes, or a symbolic
link's target without a NUL), padded to a multiple of 4. A member named TRAILER!!! ends the archive.

Deterministic: every member gets uid 0, gid 0, the same mtime (0 unless --mtime), inode numbers
1, 2, 3... in list order, the mode written in the list (not the source file's) and devmajor/minor 0.
The same list and the same source bytes give the same archive, byte for byte.

List format (one entry a line; '#' starts a comment; $VAR and ${VAR} are replaced from -D
definitions or the environment; paths inside the archive are written without the leading '/'):
    dir   /path            MODE
    file  /path  SOURCE    MODE
    slink /path  TARGET    [MODE]          (default 0777)
    nod   /path  MODE  c|b  MAJOR  MINOR
    pipe  /path  MODE
MODE is octal permission bits (e.g. 0755). A member's parent directory must come before it.

Usage: mkcpio.py [-D NAME=VALUE]... [--mtime N] -o OUT LIST    (LIST '-' reads standard input)
"""
import argparse
import os
import re
import sys
from dataclasses import dataclass

MAGIC = b"070701"
TRAILER = "TRAILER!!!"
S_IFIFO, S_IFCHR, S_IFDIR, S_IFBLK, S_IFREG, S_IFLNK = 0o010000, 0o020000, 0o040000, 0o060000, 0o100000, 0o120000
KINDS = {"dir": S_IFDIR, "file": S_IFREG, "slink": S_IFLNK, "pipe": S_IFIFO}


@dataclass
class Entry:
    """One archive member. kind: dir, file, slink, nod, pipe. data: a file's bytes or a link's target."""
    kind: str
    name: str
    perm: int
    data: bytes = b""
    dev: str = ""          # 'c' or 'b' for nod
    major: int = 0
    minor: int = 0

    @property
    def mode(self):
        if self.kind == "nod":
            return (S_IFCHR if self.dev == "c" else S_IFBLK) | self.perm
        return KINDS[self.kind] | self.perm


class ListError(Exception):
    pass


def _pad4(n):
    return (4 - n % 4) % 4


def _header(ino, mode, nlink, mtime, filesize, rmajor, rminor, namesize):
    fields = (ino, mode, 0, 0, nlink, mtime, filesize, 0, 0, rmajor, rminor, namesize, 0)
    for value in fields:
        if not 0 <= value <= 0xFFFFFFFF:
            raise ValueError(f"cpio header field out of range: {value}")
    return MAGIC + b"".join(b"%08X" % value for value in fields)


def _member(ino, name, mode, nlink, mtime, data, rmajor=0, rminor=0):
    encoded = name.encode("utf-8") + b"\0"
    head = _header(ino, mode, nlink, mtime, len(data), rmajor, rminor, len(encoded))
    out = head + encoded + b"\0" * _pad4(len(head) + len(encoded))
    return out + data + b"\0" * _pad4(len(data))


def normalize(name):
    """The archive name of a path: no leading '/', no '.' or empty components, no '..'."""
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise ListError(f"bad archive path: {name!r}")
    return "/".join(parts)


def archive(entries, mtime=0):
    """The newc archive of `entries` (a list of Entry), as bytes, ending in the trailer."""
    out = bytearray()
    seen = {}
    for ino, entry in enumerate(entries, start=1):
        name = normalize(entry.name)
        if name in seen:
            raise ListError(f"duplicate member: {name}")
        parent = name.rpartition("/")[0]
        if parent and seen.get(parent) != "dir":
            raise ListError(f"{name}: its directory {parent} is not listed before it")
        if not 0 <= entry.perm <= 0o7777:
            raise ListError(f"{name}: bad mode {entry.perm:o}")
        if entry.kind == "nod" and entry.dev not in ("c", "b"):
            raise ListError(f"{name}: device type must be c or b")
        seen[name] = entry.kind
        data = entry.data if entry.kind in ("file", "slink") else b""
        nlink = 2 if entry.kind == "dir" else 1
        out += _member(ino, name, entry.mode, nlink, mtime, data, entry.major, entry.minor)
    out += _member(0, TRAILER, 0, 1, 0, b"")
    return bytes(out)


def _expand(text, defs, lineno):
    def sub(match):
        var = match.group(1) or match.group(2)
        if var in defs:
            return defs[var]
        if var in os.environ:
            return os.environ[var]
        raise ListError(f"line {lineno}: ${var} is not defined")
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", sub, text)


def parse_list(text, defs=None, base="."):
    """Parses the list format above into Entry objects; file SOURCEs are read (relative to `base`)."""
    defs = defs or {}
    entries = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = _expand(line, defs, lineno).split()
        kind, args = words[0], words[1:]

        def perm(word):
            try:
                return int(word, 8)
            except ValueError:
                raise ListError(f"line {lineno}: bad octal mode {word!r}") from None

        try:
            if kind == "dir" and len(args) == 2:
                entries.append(Entry("dir", args[0], perm(args[1])))
            elif kind == "file" and len(args) == 3:
                source = os.path.join(base, args[1])
                try:
                    with open(source, "rb") as f:
                        data = f.read()
                except OSError as err:
                    raise ListError(f"line {lineno}: cannot read {source}: {err.strerror}") from None
                entries.append(Entry("file", args[0], perm(args[2]), data))
            elif kind == "slink" and len(args) in (2, 3):
                entries.append(Entry("slink", args[0], perm(args[2]) if len(args) == 3 else 0o777,
                                     args[1].encode("utf-8")))
            elif kind == "nod" and len(args) == 5:
                entries.append(Entry("nod", args[0], perm(args[1]), dev=args[2],
                                     major=int(args[3], 0), minor=int(args[4], 0)))
            elif kind == "pipe" and len(args) == 2:
                entries.append(Entry("pipe", args[0], perm(args[1])))
            else:
                raise ListError(f"line {lineno}: cannot parse {raw.strip()!r}")
        except ValueError as err:
            raise ListError(f"line {lineno}: {err}") from None
    return entries


def main(argv=None):
    parser = argparse.ArgumentParser(description="Writes a deterministic newc cpio archive from a list.")
    parser.add_argument("list", help="the entry list ('-' for standard input)")
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("-D", dest="defs", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--mtime", type=int, default=0)
    args = parser.parse_args(argv)
    defs = {}
    for d in args.defs:
        name, eq, value = d.partition("=")
        if not eq:
            parser.error(f"-D {d}: expected NAME=VALUE")
        defs[name] = value
    try:
        text = sys.stdin.read() if args.list == "-" else open(args.list).read()
        data = archive(parse_list(text, defs), mtime=args.mtime)
    except (ListError, OSError, ValueError) as err:
        print(f"mkcpio: {args.list}: {err}", file=sys.stderr)
        return 1
    tmp = args.output + ".tmp"
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
