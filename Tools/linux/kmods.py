#!/usr/bin/env python3
"""kmods: picks Linux kernel modules and their dependency closure out of an unpacked kernel package,
and lists them for the initramfs.

    kmods.py pick --version V --out DIR [--decompress] TREE NAME...
        TREE is the package's lib/modules/V (or usr/lib/modules/V). Debian's linux-image package
        ships no modules.dep (depmod runs when it is installed), so the dependencies are read from
        each module's own .modinfo ELF section: `depends=` (hard, comma-separated) and
        `softdep=pre: ...` (names or aliases that must be loaded first). The closure of NAME... is
        copied to DIR byte for byte (Debian's .ko.xz: busybox's insmod decompresses them itself),
        or decompressed to <name>.ko with --decompress (for an insmod that cannot), with
        DIR/modules.load listing the files in load order: every module after the modules it depends
        on, otherwise in the order the names were given.
        A pre-softdep must be met by a module of the closure (its name or one of its `alias=`) or
        by a built-in one (modules.builtin, modules.builtin.modinfo); otherwise pick fails and says
        which module to add. Every module's vermagic must start with V.
    kmods.py cpio-list --version V DIR
        prints the Tools/linux/mkcpio.py list lines that put DIR's modules.load and the files it
        names at /lib/modules/V/ in the initramfs (with the /lib and /lib/modules folders).

modules.load: one file name a line (e.g. ext4.ko.xz), '#' starts a comment; the module's name is
the file name up to ".ko". The output depends only on the package's files and the names: the same
inputs give the same bytes.
"""
import argparse
import gzip
import lzma
import os
import struct
import sys

SUFFIXES = (".ko.xz", ".ko.gz", ".ko.zst", ".ko")


class ModError(Exception):
    pass


def module_name(path):
    """The module name of a file name: no folder, no .ko[.xz|.gz|.zst], '-' read as '_'."""
    base = os.path.basename(path)
    for suffix in SUFFIXES:
        if base.endswith(suffix):
            return base[: -len(suffix)].replace("-", "_")
    return None


def read_module(path):
    """The module's ELF bytes, decompressed."""
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".xz"):
        return lzma.decompress(data)
    if path.endswith(".gz"):
        return gzip.decompress(data)
    if path.endswith(".zst"):
        raise ModError(f"{path}: zstd-compressed modules are not supported")
    return data


def modinfo(elf, what="module"):
    """The key=value strings of an ELF64 little-endian object's .modinfo section, as a dict of lists."""
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        raise ModError(f"{what}: not a 64-bit little-endian ELF object")
    shoff, = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3A)

    def section(i):
        name, _type, _flags, _addr, offset, size = struct.unpack_from("<IIQQQQ", elf, shoff + i * shentsize)
        return name, offset, size

    _, stroff, strsize = section(shstrndx)
    strtab = elf[stroff:stroff + strsize]
    for i in range(shnum):
        name, offset, size = section(i)
        if strtab[name:strtab.index(b"\0", name)] == b".modinfo":
            info = {}
            for item in elf[offset:offset + size].split(b"\0"):
                key, eq, value = item.decode("utf-8", "replace").partition("=")
                if eq:
                    info.setdefault(key, []).append(value)
            return info
    raise ModError(f"{what}: no .modinfo section")


def index_tree(tree):
    """name -> path of every module file under TREE/kernel (and TREE/updates, TREE/extra)."""
    found = {}
    for top in ("kernel", "updates", "extra"):
        for folder, dirs, files in os.walk(os.path.join(tree, top)):
            dirs.sort()
            for f in sorted(files):
                name = module_name(f)
                if name:
                    found.setdefault(name, os.path.join(folder, f))
    return found


def builtins(tree):
    """(names, aliases) of the modules built into the kernel, from modules.builtin[.modinfo]."""
    names, aliases = set(), set()
    path = os.path.join(tree, "modules.builtin")
    if os.path.exists(path):
        for line in open(path):
            name = module_name(line.strip())
            if name:
                names.add(name)
    path = os.path.join(tree, "modules.builtin.modinfo")
    if os.path.exists(path):
        for item in open(path, "rb").read().split(b"\0"):
            key, eq, value = item.decode("utf-8", "replace").partition("=")
            if eq and key.endswith(".alias"):
                aliases.add(value)
    return names, aliases


def softdeps_pre(info):
    """The names a module's `softdep=` entries want loaded before it."""
    pre = []
    for entry in info.get("softdep", []):
        mode = None
        for word in entry.split():
            if word in ("pre:", "post:"):
                mode = word
            elif mode == "pre:":
                pre.append(word)
    return pre


def pick(tree, version, wanted):
    """[(name, elf bytes, source path)] of the closure of `wanted`, in load order."""
    files = index_tree(tree)
    built_in, builtin_aliases = builtins(tree)
    mods = {}          # name -> (elf, info)
    order = []         # first-seen order: the given names, each followed by what it pulls in

    def visit(name, chain):
        name = name.replace("-", "_")
        if name in mods:
            return
        if name in built_in:
            return
        if name not in files:
            raise ModError(f"module {name} not found under {tree}" + (f" (needed by {chain[-1]})" if chain else ""))
        elf = read_module(files[name])
        info = modinfo(elf, files[name])
        magic = (info.get("vermagic") or [""])[0]
        if magic.split(" ")[0] != version:
            raise ModError(f"{name}: vermagic {magic!r} is not for kernel {version}")
        mods[name] = (elf, info)
        order.append(name)
        for dep in ",".join(info.get("depends", [])).split(","):
            if dep:
                visit(dep, chain + [name])

    for name in wanted:
        if name.replace("-", "_") in built_in:
            print(f"kmods: {name} is built into the kernel: nothing to load", file=sys.stderr)
        visit(name, [])

    # Who provides a name or alias within the closure.
    provider = {}
    for name in order:
        provider.setdefault(name, name)
        for alias in mods[name][1].get("alias", []):
            provider.setdefault(alias, name)

    edges = {}
    for name in order:
        info = mods[name][1]
        before = [d.replace("-", "_") for d in ",".join(info.get("depends", [])).split(",") if d]
        before = [d for d in before if d in mods]
        for soft in softdeps_pre(info):
            if soft in provider:
                before.append(provider[soft])
            elif soft.replace("-", "_") in built_in or soft in builtin_aliases:
                continue
            else:
                raise ModError(f"{name} wants {soft!r} loaded first (softdep pre), and no module of the list "
                               f"provides it: add the module that has `alias={soft}` to the list")
        edges[name] = before

    # Depth-first post-order over `edges`, starting from the first-seen order: dependencies first.
    loaded, visiting, out = set(), set(), []

    def place(name):
        if name in loaded:
            return
        if name in visiting:
            raise ModError(f"dependency cycle through {name}")
        visiting.add(name)
        for dep in edges[name]:
            place(dep)
        visiting.discard(name)
        loaded.add(name)
        out.append(name)

    for name in order:
        place(name)
    return [(name, mods[name][0], files[name]) for name in out]


def write_atomically(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def cmd_pick(args):
    picked = pick(args.tree, args.version, args.names)
    os.makedirs(args.out, exist_ok=True)
    written = []
    for name, elf, source in picked:
        if args.decompress:
            data, filename = elf, name + ".ko"
        else:
            with open(source, "rb") as f:
                data = f.read()
            filename = name + source[source.rindex(".ko"):]
        write_atomically(os.path.join(args.out, filename), data)
        written.append(filename)
        print(f"  {filename} ({len(data)} bytes)", file=sys.stderr)
    lines = [f"# kernel {args.version}: load in this order (Tools/linux/kmods.py)"] + written
    write_atomically(os.path.join(args.out, "modules.load"), ("\n".join(lines) + "\n").encode())


def load_order(folder):
    """The file names of DIR/modules.load, in order."""
    files = []
    for line in open(os.path.join(folder, "modules.load")):
        line = line.split("#", 1)[0].strip()
        if line:
            files.append(line)
    return files


def cmd_cpio_list(args):
    folder = os.path.abspath(args.dir)
    dest = f"/lib/modules/{args.version}"
    print(f"# Kernel modules for {args.version}, from {folder} (Tools/linux/kmods.py cpio-list)")
    print("dir   /lib 0755")
    print("dir   /lib/modules 0755")
    print(f"dir   {dest} 0755")
    for filename in load_order(folder):
        path = os.path.join(folder, filename)
        if "/" in filename or module_name(filename) is None or not os.path.exists(path):
            raise ModError(f"{path}: listed in modules.load, but not a module file there")
        print(f"file  {dest}/{filename} {path} 0644")
    print(f"file  {dest}/modules.load {os.path.join(folder, 'modules.load')} 0644")


def main(argv=None):
    parser = argparse.ArgumentParser(description="Picks kernel modules with their dependencies; lists them for the initramfs.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pick", help="copy the closure of NAME... out of TREE into --out")
    p.add_argument("--version", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--decompress", action="store_true", help="write <name>.ko, decompressed")
    p.add_argument("tree")
    p.add_argument("names", nargs="+")
    p.set_defaults(run=cmd_pick)
    c = sub.add_parser("cpio-list", help="mkcpio list lines for DIR's modules at /lib/modules/VERSION")
    c.add_argument("--version", required=True)
    c.add_argument("dir")
    c.set_defaults(run=cmd_cpio_list)
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except (ModError, OSError, lzma.LZMAError, struct.error, ValueError) as err:
        print(f"kmods: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
