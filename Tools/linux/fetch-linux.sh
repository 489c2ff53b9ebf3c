#!/bin/bash
# Fetches an unmodified Debian 13 (trixie) riscv64 kernel and busybox-static into a cache outside git:
#   $LINUX_CACHE/Image           the kernel's /boot/vmlinux-* (an uncompressed, bootable RISC-V Image)
#   $LINUX_CACHE/kernel-version  its release string (uname -r), e.g. 6.12.x+deb13-riscv64
#   $LINUX_CACHE/busybox         the static busybox binary
#   $LINUX_CACHE/packages        the .deb files used (name, version, SHA256)
#   $LINUX_CACHE/modules/        kernel modules from the same linux-image .deb as the Image: the
#                                closure of Guests/linux/modules.list (Tools/linux/kmods.py pick),
#                                as the package has them (<name>.ko.xz), with modules.load (the
#                                files in load order) and wanted (a copy of the list they are for)
#   $LINUX_CACHE/dtbs/           the package's board device trees (usr/lib/linux-image-*/<vendor>/*.dtb,
#                                vendor folders kept), for the host test that reads real boards' trees;
#                                written only when missing
# When all of them are present, and modules/wanted matches the list, it does nothing (no network).
# When only the modules are missing or were picked for another list, it downloads the package
# versions recorded in `packages` again (so the modules match the cached Image), or the newest ones,
# replacing everything, when the archive no longer has them. Otherwise it runs `apt-get download`
# under a private apt configuration (Tools/debian/private-apt.sh, shared with the U-Boot fetch):
# its own lists, cache, an empty dpkg status, its own sources file and APT::Architecture=riscv64.
# The system's apt configuration and state are neither read for packages nor written. The archive
# address comes from the system's own apt sources; the archive's Release file is verified with the
# system keyring (Signed-By).
#
# Environment: LINUX_CACHE (default ~/.cache/bulkhead/linux), LINUX_SUITE (default trixie),
#              LINUX_KEYRING (default /usr/share/keyrings/debian-archive-keyring.gpg),
#              LINUX_APT_URI (override the archive address taken from the system's sources),
#              LINUX_MODULES_LIST (default Guests/linux/modules.list beside this script's folder).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
MODLIST=${LINUX_MODULES_LIST:-$HERE/../../Guests/linux/modules.list}

CACHE=${LINUX_CACHE:-${HOME:-/root}/.cache/bulkhead/linux}
SUITE=${LINUX_SUITE:-trixie}
KEYRING=${LINUX_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
ARCH=riscv64
META=linux-image-riscv64

PAPT_NAME=fetch-linux
. "$(dirname "$0")/../debian/private-apt.sh"

[ -r "$MODLIST" ] || die "module list $MODLIST not found (set LINUX_MODULES_LIST)"
# The module names of the list: one a line, '#' starts a comment.
WANTED=$(sed 's/#.*//' "$MODLIST" | tr -s ' \t' '\n\n' | sed '/^$/d' | tr '\n' ' ')
[ -n "$WANTED" ] || die "$MODLIST names no module"

# The cached modules are current when picked for this list and every file modules.load names is there.
modules_current() {
    local f
    [ -s "$CACHE/modules/modules.load" ] && cmp -s "$MODLIST" "$CACHE/modules/wanted" || return 1
    for f in $(sed 's/#.*//' "$CACHE/modules/modules.load"); do
        [ -s "$CACHE/modules/$f" ] || return 1
    done
}
# The device trees were kept once dtbs/ exists (left empty when a package ships none, so that
# is not fetched again and again).
dtbs_present() {
    [ -d "$CACHE/dtbs" ]
}
PIN=""
if [ -s "$CACHE/Image" ] && [ -s "$CACHE/kernel-version" ] && [ -s "$CACHE/busybox" ]; then
    if modules_current && dtbs_present; then
        # Make asks again when the list or the picker is newer than modules.load (e.g. after a
        # checkout) and they are still right: settle it.
        if [ "$MODLIST" -nt "$CACHE/modules/modules.load" ] || [ "$HERE/kmods.py" -nt "$CACHE/modules/modules.load" ]; then
            touch "$CACHE/modules/modules.load"
        fi
        say "cache complete: $CACHE (kernel $(cat "$CACHE/kernel-version"))"
        exit 0
    fi
    # The Image is there but its modules are not (a cache from before modules were cached), or were
    # picked for another list, or the device trees are missing: fetch the same package versions
    # again, so that they match.
    [ -s "$CACHE/packages" ] && PIN=$(awk '$1 ~ /^linux-image-/ || $1 == "busybox-static" { print $1 "=" $2 }' "$CACHE/packages" | tr '\n' ' ')
    say "modules or device trees missing, or modules picked for another list: fetching${PIN:+ the cached versions $PIN}"
fi

papt_init "$ARCH" "$KEYRING" "${LINUX_APT_URI:-}"
command -v python3 >/dev/null 2>&1 || die "python3 is needed (Tools/linux/kmods.py picks the modules)"
papt_index "$SUITE"

# ---- resolve and download -----------------------------------------------------------------------
# The cached versions (PIN, "name=version" words) when the archive still has both.
SPECS=""
if [ -n "$PIN" ] && [ "$(wc -w <<<"$PIN")" = 2 ]; then
    SPECS=$PIN
    for spec in $PIN; do
        papt apt-cache show "$spec" >/dev/null 2>&1 || { SPECS=""; break; }
    done
    [ -n "$SPECS" ] || say "the archive no longer has $PIN: fetching the newest kernel and busybox (the cache is replaced)"
fi
if [ -z "$SPECS" ]; then
    meta_info=$(papt apt-cache show --no-all-versions "$META" 2>/dev/null) || die "package $META not found in $SUITE/$ARCH"
    REAL=$(papt_field "$meta_info" Depends | tr ',|' '\n\n' | sed 's/^ *//; s/ .*//' | grep -E "^linux-image-6\.12[^ ]*-$ARCH\$" | head -n 1) \
        || die "$META ($(papt_field "$meta_info" Version)) does not depend on a linux-image-6.12*-$ARCH package: $(papt_field "$meta_info" Depends)"
    say "$META -> $REAL"
    SPECS="$REAL busybox-static"
fi
REAL=${SPECS%% *}
# shellcheck disable=SC2086   # SPECS: two words
papt_fetch $SPECS

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

# The modules: Debian's package ships no modules.dep (depmod runs on installation); kmods.py reads
# each module's own modinfo for its dependencies, checks its vermagic against $version and copies
# the files unchanged (.ko.xz: busybox's insmod decompresses them; 0.9 MB instead of 9.6 MB).
tree=""
for t in "$WORK/x/usr/lib/modules/$version" "$WORK/x/lib/modules/$version"; do
    [ -d "$t/kernel" ] && { tree=$t; break; }
done
[ -n "$tree" ] || die "the linux-image package has no lib/modules/$version/kernel"
say "modules for: $WANTED"
# shellcheck disable=SC2086   # WANTED: the names
python3 "$HERE/kmods.py" pick --version "$version" --out "$WORK/modules" "$tree" $WANTED \
    || die "picking the modules of $MODLIST out of the package failed"
cp "$MODLIST" "$WORK/modules/wanted"

mkdir -p "$CACHE"
# Each file appears whole (written beside, then renamed); kernel-version last, as the cache is
# complete only with all of them. The modules folder is replaced whole, after kernel-version is
# removed: an interruption leaves an incomplete cache (fetched again), never mixed versions.
put() {   # put SOURCE NAME MODE
    install -m "$3" "$1" "$CACHE/.$2.$$" && mv -f "$CACHE/.$2.$$" "$CACHE/$2"
}
echo "$version" >"$WORK/kernel-version"
rm -f "$CACHE/kernel-version"
rm -rf "$CACHE/.modules.$$" "$CACHE/modules.old"
cp -r "$WORK/modules" "$CACHE/.modules.$$"
[ -e "$CACHE/modules" ] && mv "$CACHE/modules" "$CACHE/modules.old"
mv "$CACHE/.modules.$$" "$CACHE/modules"
rm -rf "$CACHE/modules.old"
put "$vmlinux" Image 0644
put "$busybox" busybox 0755
put "$WORK/packages" packages 0644
put "$WORK/kernel-version" kernel-version 0644
# The board device trees, only when missing (a folder appears whole, renamed into place).
if ! dtbs_present; then
    dtbdir=$(ls -d "$WORK"/x/usr/lib/linux-image-* 2>/dev/null | head -n 1)
    if [ -n "$dtbdir" ] && [ -n "$(find "$dtbdir" -name '*.dtb' -print -quit)" ]; then
        rm -rf "$CACHE/.dtbs.$$" "$CACHE/dtbs"
        cp -r "$dtbdir" "$CACHE/.dtbs.$$" && mv "$CACHE/.dtbs.$$" "$CACHE/dtbs"
        say "device trees: $(find "$CACHE/dtbs" -name '*.dtb' | wc -l) in $CACHE/dtbs"
    else
        say "warning: $REAL ships no usr/lib/linux-image-*/**/*.dtb: no device trees cached"
        mkdir -p "$CACHE/dtbs"
    fi
fi
say "cached in $CACHE: Image (kernel $version), busybox, $(grep -vc '^#' "$CACHE/modules/modules.load") modules"
sed 's/^/  /' "$CACHE/packages" >&2
