#!/usr/bin/env python3
"""Where the kernel's .text goes: the largest functions and a total per area (make bench prints it).

    python3 Tests/bench/text_report.py [ELF] [--top N]

Reads the symbol table with the toolchain's `llvm-nm --size-sort -S` and demangles Swift names
with `swift-demangle --simplified`; an area is the Swift module and first type of a symbol (for
example `BulkheadCore.Ed25519` or `Bulkhead.bulkheadBoot`), or `C` for the assembly and C
functions. Only code symbols (`t`/`T`) count; their sizes add up to about .text.
"""
import collections
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLS = os.environ.get("SWIFT_BIN", "/opt/swift/usr/bin")


def code_symbols(elf):
    """(size, mangled name) of every code symbol in `elf`."""
    out = subprocess.run([os.path.join(TOOLS, "llvm-nm"), "--size-sort", "-S", elf], capture_output=True, text=True,
                         check=True).stdout
    symbols = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in ("t", "T"):
            symbols.append((int(parts[1], 16), parts[3]))
    return symbols


def demangle(names):
    out = subprocess.run([os.path.join(TOOLS, "swift-demangle"), "--simplified"], input="\n".join(names),
                         capture_output=True, text=True, check=True).stdout
    return out.splitlines()


def area(mangled, readable):
    """The module and first name of a Swift symbol (`BulkheadCore.SHA512`), or `C`."""
    match = re.match(r"\$e(\d+)([A-Za-z_]\w*)", mangled)
    if not match:
        return "C (assembly, C, outlined code)"
    module = match.group(2)[:int(match.group(1))]
    words = re.sub(r"^(specialized |static |closure #\d+ in |generic specialization <.*?> of )+", "", readable)
    first = re.match(r"[A-Za-z_]\w*", words)
    return f"{module}.{first.group(0) if first else '?'}"


def main():
    argv = sys.argv[1:]
    top = 15
    if "--top" in argv:
        at = argv.index("--top")
        top = int(argv[at + 1])
        del argv[at:at + 2]
    elf = argv[0] if argv else os.path.join(ROOT, "build", "bulkhead.elf")
    symbols = code_symbols(elf)
    readable = demangle([name for _, name in symbols])
    total = sum(size for size, _ in symbols)
    areas = collections.Counter()
    for (size, name), text in zip(symbols, readable):
        areas[area(name, text)] += size
    print(f"kernel .text by area ({total:,} bytes of code symbols in {os.path.relpath(elf, ROOT)}):")
    for name, size in areas.most_common(top):
        print(f"  {size:>8,}  {100 * size / total:4.1f}%  {name}")
    print(f"the {top} largest functions:")
    for (size, _), text in sorted(zip(symbols, readable), reverse=True)[:top]:
        print(f"  {size:>8,}  {text[:110]}")


if __name__ == "__main__":
    main()
