#!/usr/bin/env python3
"""Signs a next-stage image for Bulkhead's secure monitor (docs/monitor.md, "Signed next stage").

usage: sign-next-stage.py IMAGE --key NAME.key [--load-address 0x80200000] [--security-version N] -o OUT

OUT is the 4096-byte header followed by IMAGE: load OUT at load address - 4096 (QEMU:
-device loader,file=OUT,addr=0x801ff000,force-raw=on). The header holds the load address, the
image size, the signing key's id, the image's SHA-512, the security version (format 2: the monitor
refuses a version below its floor) and an Ed25519 signature over its first 112 bytes. The key is a `bulkhead keygen` private key file (docs/bundle-format.md, "Key files").
"""
import argparse
import hashlib
import struct
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

HEADER_SIZE = 4096
MAGIC = b"BHNEXT01"
VERSION = 2
KEY_HEADER = "BULKHEAD ED25519 PRIVATE KEY"


def read_private_key(path):
    lines = open(path).read().splitlines()
    if len(lines) != 2 or lines[0].strip() != KEY_HEADER:
        sys.exit(f"error: {path}: not a Bulkhead private key file (first line must be '{KEY_HEADER}')")
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(lines[1].strip()))


def header(image, key, load_address, security_version=0):
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key_id = hashlib.sha512(public).digest()[:8]
    signed = MAGIC + struct.pack("<IIQQ", VERSION, 0, load_address, len(image)) + key_id + hashlib.sha512(image).digest()
    signed += struct.pack("<Q", security_version)
    assert len(signed) == 112
    out = signed + key.sign(signed)
    return out + bytes(HEADER_SIZE - len(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("image")
    ap.add_argument("--key", required=True)
    ap.add_argument("--load-address", default="0x80200000")
    ap.add_argument("--security-version", type=int, default=0,
                    help="anti-rollback version, 0..2^64-1 (the monitor enters none below its floor)")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    image = open(args.image, "rb").read()
    if not image:
        sys.exit(f"error: {args.image} is empty")
    if not 0 <= args.security_version < 1 << 64:
        sys.exit(f"error: --security-version {args.security_version} is not in 0..2^64-1")
    data = header(image, read_private_key(args.key), int(args.load_address, 0), args.security_version) + image
    with open(args.output, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
