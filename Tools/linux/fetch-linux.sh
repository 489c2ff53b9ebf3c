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
# When all of them are present, and modules/wanted matches the list, it does nothing (no network).
# When only the modules are missing or were picked for another list, it downloads the package
# versions recorded in `packages` again (so the modules match the cached Image), or the newest ones,
# replacing everything, when the archive no longer has them. Otherwise it runs `apt-get download`
# under a private apt configuration in a temporary directory: its own lists, cache, an empty dpkg
# status, its own sources file and APT::Architecture=riscv64. The system's apt configuration and
# state are neither read for packages nor written. The archive address comes from the system's own
# apt sources; the archive's Release file is verified with the system keyring (Signed-By).
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

say() { echo "fetch-linux: $*" >&2; }
die() { echo "fetch-linux: error: $*" >&2; exit 1; }

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
PIN=""
if [ -s "$CACHE/Image" ] && [ -s "$CACHE/kernel-version" ] && [ -s "$CACHE/busybox" ]; then
    if modules_current; then
        # Make asks again when the list or the picker is newer than modules.load (e.g. after a
        # checkout) and they are still right: settle it.
        if [ "$MODLIST" -nt "$CACHE/modules/modules.load" ] || [ "$HERE/kmods.py" -nt "$CACHE/modules/modules.load" ]; then
            touch "$CACHE/modules/modules.load"
        fi
        say "cache complete: $CACHE (kernel $(cat "$CACHE/kernel-version"))"
        exit 0
    fi
    # The Image is there but its modules are not (a cache from before modules were cached), or were
    # picked for another list: fetch the same package versions again, so that they match.
    [ -s "$CACHE/packages" ] && PIN=$(awk '$1 ~ /^linux-image-/ || $1 == "busybox-static" { print $1 "=" $2 }' "$CACHE/packages" | tr '\n' ' ')
    say "modules missing or picked for another list: fetching${PIN:+ the cached versions $PIN}"
fi

# ---- host tools ---------------------------------------------------------------------------------
need_tools() {
    local missing="" t
    for t in apt-get apt-cache dpkg-deb gpgv sha256sum od awk; do
        command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
    done
    echo "$missing"
}
missing=$(need_tools)
if [ -n "$missing" ]; then
    command -v apt-get >/dev/null 2>&1 || die "missing host tools:$missing (and no apt-get to install them)"
    [ "$(id -u)" = 0 ] || die "missing host tools:$missing; install them (packages dpkg gpgv coreutils mawk) or run as root"
    say "installing host tools for:$missing"
    apt-get update -qq </dev/null || die "apt-get update failed (installing host tools)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dpkg gpgv coreutils mawk </dev/null >/dev/null \
        || die "apt-get install of host tools failed"
    missing=$(need_tools)
    [ -z "$missing" ] || die "still missing host tools:$missing"
fi
[ -r "$KEYRING" ] || die "keyring $KEYRING not found (install the debian-archive-keyring package)"
command -v python3 >/dev/null 2>&1 || die "python3 is needed (Tools/linux/kmods.py picks the modules)"

# ---- the archive address, from the system's apt sources -----------------------------------------
# Picks the first http(s) URI of an enabled `deb` entry whose suites include a plain release name
# (no '-' or '/': the main archive, not -security or -updates only).
find_uri() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        awk '
            function flush() {
                if (types ~ /(^| )deb( |$)/ && enabled != "no" && plain)
                    for (i = 1; i <= nu; i++) if (u[i] ~ /^https?:\/\//) { print u[i]; found = 1; exit }
                types = ""; enabled = ""; plain = 0; nu = 0; last = ""
            }
            /^#/ { next }
            /^[ \t]*$/ { flush(); next }
            /^[ \t]/ { if (last == "uris") { n = split($0, a, /[ \t]+/); for (j = 1; j <= n; j++) if (a[j] != "") u[++nu] = a[j] }
                       if (last == "suites") { n = split($0, a, /[ \t]+/); for (j = 1; j <= n; j++) if (a[j] ~ /^[a-z]+$/) plain = 1 }
                       next }
            {
                key = tolower($1); sub(/:$/, "", key); last = key
                val = $0; sub(/^[^:]*:[ \t]*/, "", val)
                n = split(val, a, /[ \t]+/)
                if (key == "types") types = val
                else if (key == "enabled") enabled = tolower(val)
                else if (key == "uris") { for (j = 1; j <= n; j++) if (a[j] != "") u[++nu] = a[j] }
                else if (key == "suites") { for (j = 1; j <= n; j++) if (a[j] ~ /^[a-z]+$/) plain = 1 }
            }
            END { if (!found) flush() }
        ' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        # deb [options] URI suite components...
        awk '$1 == "deb" {
                i = 2
                if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                if ($i ~ /^https?:\/\// && $(i + 1) ~ /^[a-z]+$/) print $i
             }' "$f"
    done
}
if [ -n "${LINUX_APT_URI:-}" ]; then
    URI=$LINUX_APT_URI
else
    URI=$(find_uri | head -n 1) || true
fi
[ -n "$URI" ] || die "no Debian archive address found in /etc/apt/sources.list.d/*.sources (URIs:) or /etc/apt/sources.list (deb lines); set LINUX_APT_URI"
URI=${URI%/}
say "archive: $URI, suite $SUITE, architecture $ARCH"

# ---- a private apt configuration ----------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bulkhead-linux.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# apt (as root) downloads as the unprivileged user _apt: it must be able to enter the work dir.
chmod 0755 "$WORK"
mkdir -p "$WORK"/{state,lists/partial,cache/archives/partial,etc/sources.list.d,etc/preferences.d,etc/trusted.gpg.d,etc/apt.conf.d,debs,x,log}
: >"$WORK/status"

# write_config ARCH KEYRING SUITES...: the sources file and apt.conf for one archive and keyring.
write_config() {
    local arch=$1 keyring=$2; shift 2
    cat >"$WORK/etc/sources.list" <<EOF
deb [arch=$arch signed-by=$keyring] $URI $* main
EOF
    cat >"$WORK/apt.conf" <<EOF
Dir::Etc::main "/dev/null";
Dir::Etc::parts "$WORK/etc/apt.conf.d";
Dir::Etc::SourceList "$WORK/etc/sources.list";
Dir::Etc::SourceParts "$WORK/etc/sources.list.d";
Dir::Etc::preferences "$WORK/etc/preferences";
Dir::Etc::preferencesparts "$WORK/etc/preferences.d";
Dir::Etc::trusted "$WORK/etc/trusted.gpg";
Dir::Etc::trustedparts "$WORK/etc/trusted.gpg.d";
Dir::State "$WORK/state";
Dir::State::Lists "$WORK/lists";
Dir::State::status "$WORK/status";
Dir::State::extended_states "$WORK/extended_states";
Dir::Cache "$WORK/cache";
Dir::Cache::archives "$WORK/cache/archives";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Dir::Log "$WORK/log";
APT::Architecture "$arch";
APT::Architectures { "$arch"; };
APT::Get::AllowUnauthenticated "false";
Acquire::AllowInsecureRepositories "false";
Acquire::AllowDowngradeToInsecureRepositories "false";
Acquire::Languages "none";
Acquire::Retries "3";
Binary::apt::APT::Keep-Downloaded-Packages "false";
EOF
}

papt() { APT_CONFIG="$WORK/apt.conf" "$@" </dev/null; }

# update: returns 0 when the index is in place and verified, 2 on a signature failure, 1 otherwise.
update() {
    rm -rf "$WORK/lists"; mkdir -p "$WORK/lists/partial"
    if papt apt-get update --error-on=any >"$WORK/update.log" 2>&1; then
        return 0
    fi
    if grep -Eq 'NO_PUBKEY|EXPKEYSIG|not signed|signatures (were invalid|couldn.t be verified)|is not signed' "$WORK/update.log"; then
        return 2
    fi
    return 1
}

write_config "$ARCH" "$KEYRING" "$SUITE"
rc=0; update || rc=$?
if [ $rc = 2 ]; then
    # The keyring does not hold the key that signs $SUITE (an older debian-archive-keyring). Bootstrap
    # a chain of trust without disabling verification: the system's own release (signed with a key
    # the system keyring does hold) carries a newer debian-archive-keyring in its point releases.
    # Fetch that package from it (verified by apt against the system keyring), extract its keyring
    # privately (the system's keyring is not replaced) and verify $SUITE with it.
    . /etc/os-release 2>/dev/null || true
    sys=${VERSION_CODENAME:-}
    [ -n "$sys" ] || die "$SUITE's Release signature does not verify with $KEYRING, and the system's release name is unknown; upgrade debian-archive-keyring"
    say "$KEYRING lacks $SUITE's signing key: bootstrapping debian-archive-keyring from $sys (its index verified with $KEYRING)"
    sed 's/^/  apt: /' "$WORK/update.log" | grep -E 'NO_PUBKEY|signature|sign' >&2 || true
    # The keyring package is Architecture: all; index the host's architecture to find it.
    write_config "$(dpkg --print-architecture)" "$KEYRING" "$sys" "$sys-updates"
    update || { cat "$WORK/update.log" >&2; die "apt-get update of $sys (for the keyring bootstrap) failed"; }
    (cd "$WORK/debs" && papt apt-get download -q debian-archive-keyring) >"$WORK/dl.log" 2>&1 \
        || { cat "$WORK/dl.log" >&2; die "downloading debian-archive-keyring from $sys failed"; }
    mkdir -p "$WORK/keyring"
    dpkg-deb -x "$WORK"/debs/debian-archive-keyring_*.deb "$WORK/keyring"
    rm -f "$WORK"/debs/*.deb
    KEYRING="$WORK/keyring/usr/share/keyrings/debian-archive-keyring.gpg"
    [ -s "$KEYRING" ] || die "the bootstrapped debian-archive-keyring package holds no debian-archive-keyring.gpg"
    write_config "$ARCH" "$KEYRING" "$SUITE"
    rc=0; update || rc=$?
    [ $rc = 2 ] && { cat "$WORK/update.log" >&2; die "$SUITE's Release signature does not verify even with $sys's newest debian-archive-keyring"; }
fi
if [ $rc != 0 ]; then
    cat "$WORK/update.log" >&2
    die "apt-get update for $SUITE/$ARCH from $URI failed (network, or the suite is missing there)"
fi
ls "$WORK"/lists/*_dists_"${SUITE}"_main_binary-${ARCH}_Packages* >/dev/null 2>&1 \
    || die "no $ARCH Packages index for $SUITE at $URI"
say "index of $SUITE verified with $KEYRING"

# ---- resolve and download -----------------------------------------------------------------------
field() { awk -v f="$2" 'BEGIN { f = tolower(f) ":" } tolower($1) == f { sub(/^[^:]*:[ \t]*/, ""); print; exit }' <<<"$1"; }
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
    REAL=$(field "$meta_info" Depends | tr ',|' '\n\n' | sed 's/^ *//; s/ .*//' | grep -E "^linux-image-6\.12[^ ]*-$ARCH\$" | head -n 1) \
        || die "$META ($(field "$meta_info" Version)) does not depend on a linux-image-6.12*-$ARCH package: $(field "$meta_info" Depends)"
    say "$META -> $REAL"
    SPECS="$REAL busybox-static"
fi

# shellcheck disable=SC2086   # SPECS: two words
(cd "$WORK/debs" && papt apt-get download -q $SPECS) >"$WORK/dl.log" 2>&1 \
    || { cat "$WORK/dl.log" >&2; die "apt-get download of $SPECS failed"; }

# apt checked each .deb against the verified index; check again, explicitly, and record it.
: >"$WORK/packages"
for spec in $SPECS; do
    pkg=${spec%%=*}
    case $spec in
        *=*) info=$(papt apt-cache show "$spec") ;;
        *) info=$(papt apt-cache show --no-all-versions "$pkg") ;;
    esac
    ver=$(field "$info" Version); want=$(field "$info" SHA256)
    deb=$(ls "$WORK"/debs/"${pkg}"_*.deb 2>/dev/null | head -n 1)
    [ -n "$deb" ] || die "apt-get download left no .deb for $pkg"
    got=$(sha256sum "$deb" | awk '{print $1}')
    [ -n "$want" ] && [ "$got" = "$want" ] || die "$(basename "$deb"): SHA256 $got does not match the index ($want)"
    echo "$pkg $ver sha256:$got" >>"$WORK/packages"
    dpkg-deb -x "$deb" "$WORK/x"
done

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
say "cached in $CACHE: Image (kernel $version), busybox, $(grep -vc '^#' "$CACHE/modules/modules.load") modules"
sed 's/^/  /' "$CACHE/packages" >&2
