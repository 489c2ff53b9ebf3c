#!/bin/bash
# Fetches Debian's unmodified U-Boot for QEMU's riscv64 virt machine in S-mode (package u-boot-qemu,
# Architecture: all) into a cache outside git:
#   $UBOOT_CACHE/u-boot.bin   usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin: a flat image linked at
#                             0x80200000, entered with a0 = hart id, a1 = device tree (as OpenSBI's
#                             jump firmware starts its next stage)
#   $UBOOT_CACHE/version      the package version, e.g. 2025.01-3
#   $UBOOT_CACHE/packages     the .deb used (name, version, SHA256)
# When all of them are present it does nothing (no network). Otherwise it fetches the package under
# the private apt configuration of Tools/debian/private-apt.sh (shared with Tools/linux/fetch-linux.sh):
# the archive address from the system's apt sources, the index verified with the Debian keyring.
#
# Environment: UBOOT_CACHE (default ~/.cache/bulkhead/u-boot), UBOOT_SUITE (default trixie),
#              UBOOT_KEYRING (default /usr/share/keyrings/debian-archive-keyring.gpg),
#              UBOOT_APT_URI (override the archive address taken from the system's sources).
set -euo pipefail

CACHE=${UBOOT_CACHE:-${HOME:-/root}/.cache/bulkhead/u-boot}
SUITE=${UBOOT_SUITE:-trixie}
KEYRING=${UBOOT_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
ARCH=riscv64        # any architecture's index lists an Architecture: all package
PACKAGE=u-boot-qemu
BINARY=usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin

PAPT_NAME=fetch-uboot
. "$(dirname "$0")/../debian/private-apt.sh"

if [ -s "$CACHE/u-boot.bin" ] && [ -s "$CACHE/version" ] && [ -s "$CACHE/packages" ]; then
    say "cache complete: $CACHE (u-boot-qemu $(cat "$CACHE/version"))"
    exit 0
fi

papt_init "$ARCH" "$KEYRING" "${UBOOT_APT_URI:-}"
papt_index "$SUITE"
papt_fetch "$PACKAGE"

bin="$WORK/x/$BINARY"
[ -s "$bin" ] || die "$PACKAGE has no $BINARY"
# U-Boot's RISC-V start code begins with a jump or a CSR instruction, never an ELF or gzip header.
case "$(od -An -tx1 -N4 "$bin" | tr -d ' \n')" in
    7f454c46|1f8b*) die "$BINARY is not a flat image" ;;
esac
version=$(awk -v p="$PACKAGE" '$1 == p { print $2 }' "$WORK/packages")

mkdir -p "$CACHE"
# Each file appears whole (written beside, then renamed); version last, as the cache is complete
# only with all three.
put() {   # put SOURCE NAME
    install -m 0644 "$1" "$CACHE/.$2.$$" && mv -f "$CACHE/.$2.$$" "$CACHE/$2"
}
echo "$version" >"$WORK/version"
put "$bin" u-boot.bin
put "$WORK/packages" packages
put "$WORK/version" version
say "cached in $CACHE: u-boot.bin (u-boot-qemu $version, $(stat -c %s "$CACHE/u-boot.bin") bytes)"
sed 's/^/  /' "$CACHE/packages" >&2
