#!/bin/bash
# Makes a boot medium for U-Boot: a disk image with an MBR partition table and one bootable Linux
# partition (from 1 MiB) holding an ext4 filesystem with
#   boot.scr       the board's boot script (Boards/<board>/boot.cmd), wrapped by mkimage
#   bulkhead.bin   the hypervisor as a booti image (build/bulkhead.bin)
#   bundle.bin     the signed bundle, handed to the hypervisor as the initrd
# U-Boot's boot flow finds boot.scr on it by itself (README "Booting on a board").
#
#   Tools/boot/mkbootdisk.sh BOOT.CMD BULKHEAD.BIN BUNDLE.BIN DISK.IMG
#
# Used by `make boot-disk` (Boards/boot.mk) and by Tests/qemu/test_boot_chain.py. Needs mkimage
# (u-boot-tools) and mke2fs (e2fsprogs); no root, no loop device (mke2fs -d copies the files in).
# The image is written beside DISK.IMG and renamed, so it appears whole.
set -euo pipefail

die() { echo "mkbootdisk: error: $*" >&2; exit 1; }
[ $# -eq 4 ] || die "usage: $0 BOOT.CMD BULKHEAD.BIN BUNDLE.BIN DISK.IMG"
cmd=$1 kernel=$2 bundle=$3 disk=$4
for f in "$cmd" "$kernel" "$bundle"; do [ -f "$f" ] || die "no such file: $f"; done
for t in mkimage mke2fs; do
    command -v "$t" >/dev/null 2>&1 || die "$t is missing (make deps installs u-boot-tools and e2fsprogs)"
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/root"
mkimage -A riscv -O linux -T script -C none -n "Bulkhead boot script" -d "$cmd" "$work/root/boot.scr" >/dev/null
cp "$kernel" "$work/root/bulkhead.bin"
cp "$bundle" "$work/root/bundle.bin"

# The files, plus room for ext4's metadata and journal: at least 16 MiB, in whole MiB.
used=$(du -sk --apparent-size "$work/root" | cut -f1)
size_mib=$(( (used / 1024) * 2 + 16 ))
tmp="$disk.tmp.$$"
mkdir -p "$(dirname "$disk")"
rm -f "$tmp"
# The filesystem at 1 MiB into the file (mke2fs writes at the offset; no loop device).
mke2fs -q -F -t ext4 -L bulkhead-boot -E root_owner=0:0,offset=$((1024 * 1024)) -d "$work/root" "$tmp" "${size_mib}M" \
    >/dev/null || { rm -f "$tmp"; die "mke2fs failed"; }

# The MBR: Debian's U-Boot boots with distro_bootcmd, which scans a disk's partitions (the bootable
# ones first) and finds no filesystem on a disk without a partition table. One entry: bootable
# (0x80), type 0x83 (Linux), CHS fields unused (0xfe 0xff 0xff), LBA 2048, size_mib MiB in sectors.
le32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
mbr() {
    head -c 440 /dev/zero
    printf "$(le32 0x42484b44)"'\x00\x00'                       # disk signature, then 2 reserved bytes
    printf '\x80\xfe\xff\xff\x83\xfe\xff\xff'"$(le32 2048)$(le32 $((size_mib * 2048)))"
    head -c 48 /dev/zero                                        # partitions 2-4: unused
    printf '\x55\xaa'
}
mbr >"$work/mbr"
[ "$(stat -c %s "$work/mbr")" -eq 512 ] || die "internal error: the MBR is not 512 bytes"
dd if="$work/mbr" of="$tmp" bs=512 count=1 conv=notrunc status=none
mv -f "$tmp" "$disk"
echo "mkbootdisk: $disk (MBR, partition 1: ext4, ${size_mib} MiB): boot.scr, bulkhead.bin, bundle.bin" >&2
