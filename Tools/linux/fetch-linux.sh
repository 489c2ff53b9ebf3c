#!/bin/bash
# Fetches an unmodified Debian 13 (trixie) riscv64 kernel and busybox-static into a cache outside git:
#   $LINUX_CACHE/Image           the kernel's /boot/vmlinux-* (an uncompressed, bootable RISC-V Image)
#   $LINUX_CACHE/kernel-version  its release string (uname -r), e.g. 6.12.x+deb13-riscv64
#   $LINUX_CACHE/busybox         the static busybox binary
#   $LINUX_CACHE/packages        the .deb files used (name, version, SHA256)
# When all of them are present it does nothing (no network). Otherwise it runs `apt-get download`
# under a private apt configuration (Tools/debian/private-apt.sh, shared with the U-Boot fetch):
# its own lists, cache, an empty dpkg status, its own sources file and APT::Architecture=riscv64.
# The system's apt configuration and state are neither read for packages nor written. The archive
# address comes from the system's own apt sources; the archive's Release file is verified with the
# system keyring (Signed-By).
#
# Environment: LINUX_CACHE (default ~/.cache/bulkhead/linux), LINUX_SUITE (default trixie),
#              LINUX_KEYRING (default /usr/share/keyrings/debian-archive-keyring.gpg),
#              LINUX_APT_URI (override the archive address taken from the system's sources).
set -euo pipefail

CACHE=${LINUX_CACHE:-${HOME:-/root}/.cache/bulkhead/linux}
SUITE=${LINUX_SUITE:-trixie}
KEYRING=${LINUX_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
ARCH=riscv64
META=linux-image-riscv64

PAPT_NAME=fetch-linux
. "$(dirname "$0")/../debian/private-apt.sh"

if [ -s "$CACHE/Image" ] && [ -s "$CACHE/kernel-version" ] && [ -s "$CACHE/busybox" ]; then
    say "cache complete: $CACHE (kernel $(cat "$CACHE/kernel-version"))"
    exit 0
fi

papt_init "$ARCH" "$KEYRING" "${LINUX_APT_URI:-}"
papt_index "$SUITE"

# ---- resolve and download -----------------------------------------------------------------------
meta_info=$(papt apt-cache show --no-all-versions "$META" 2>/dev/null) || die "package $META not found in $SUITE/$ARCH"
REAL=$(papt_field "$meta_info" Depends | tr ',|' '\n\n' | sed 's/^ *//; s/ .*//' | grep -E "^linux-image-6\.12[^ ]*-$ARCH\$" | head -n 1) \
    || die "$META ($(papt_field "$meta_info" Version)) does not depend on a linux-image-6.12*-$ARCH package: $(papt_field "$meta_info" Depends)"
say "$META -> $REAL"
papt_fetch "$REAL" busybox-static

# ---- pick the files out -------------------------------------------------------------------------
vmlinux=$(ls "$WORK"/x/boot/vmlinux-* 2>/dev/null | head -n 1)
[ -n "$vmlinux" ] || die "$REAL has no /boot/vmlinux-*"
version=${vmlinux##*/vmlinux-}
# A RISC-V Image carries the magic "RSC\x05" at offset 56 of its header.
[ "$(od -An -tx1 -j56 -N4 "$vmlinux" | tr -d ' \n')" = 52534305 ] || die "$vmlinux is not a RISC-V Image (no RSC\\x05 magic at offset 56)"
busybox=""
for b in "$WORK"/x/bin/busybox "$WORK"/x/usr/bin/busybox "$WORK"/x/usr/bin/busybox-static; do
    [ -f "$b" ] && { busybox=$b; break; }
done
[ -n "$busybox" ] || die "busybox-static has no bin/busybox"
# An ELF for RISC-V (e_machine 0xf3 at offset 18, little-endian).
[ "$(od -An -tx1 -N4 "$busybox" | tr -d ' \n')" = 7f454c46 ] && [ "$(od -An -tx1 -j18 -N2 "$busybox" | tr -d ' \n')" = f300 ] \
    || die "$busybox is not a RISC-V ELF"

mkdir -p "$CACHE"
# Each file appears whole (written beside, then renamed); kernel-version last, as the cache is
# complete only with all three.
put() {   # put SOURCE NAME MODE
    install -m "$3" "$1" "$CACHE/.$2.$$" && mv -f "$CACHE/.$2.$$" "$CACHE/$2"
}
echo "$version" >"$WORK/kernel-version"
put "$vmlinux" Image 0644
put "$busybox" busybox 0755
put "$WORK/packages" packages 0644
put "$WORK/kernel-version" kernel-version 0644
say "cached in $CACHE: Image (kernel $version), busybox"
sed 's/^/  /' "$CACHE/packages" >&2
