#!/usr/bin/env python3
"""Writes the hypervisor's built-in trust anchors as Swift: runs `bulkhead key trust-anchors`.

usage: trust-anchors.py OUT.swift --trust A.pub [B.pub ...] [--revoke C.pub ...]
The key files are read by the CLI, the one parser of every key file (a `bulkhead keygen` .pub file
or an SPKI PEM Ed25519 public key; docs/bundle-format.md), so this script and the other commands
never disagree on what a key file is. Kept for the build rules that still name it; the CLI is
built (or brought up to date) first.
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.path.join(ROOT, ".build", "debug", "bulkhead")


def main():
    build = subprocess.run(["swift", "build", "--product", "bulkhead"], cwd=ROOT, stdout=subprocess.DEVNULL)
    if build.returncode != 0:
        sys.exit("error: cannot build the bulkhead CLI (swift build --product bulkhead)")
    os.execv(CLI, [CLI, "key", "trust-anchors", *sys.argv[1:]])


if __name__ == "__main__":
    main()
