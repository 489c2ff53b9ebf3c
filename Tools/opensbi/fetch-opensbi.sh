#!/bin/bash
# Fetches OpenSBI's upstream source as Debian's archive carries it (the orig tarball of trixie's
# source package opensbi) into a cache outside git, for the secure monitor's firmware build
# (Kernel/Monitor/monitor.mk, docs/monitor.md):
#   $OPENSBI_CACHE/opensbi_$UPSTREAM.orig.tar.gz   the upstream release, unmodified
#   $OPENSBI_CACHE/version                          the upstream version, e.g. 1.6
#   $OPENSBI_CACHE/packages                         the file, the source package version it was found
#                                                   in, and its SHA256 (as the signed Sources index has it)
# When all of them are present it does nothing (no network). Otherwise it reads the Sources index
# of SUITE under the private apt configuration of Tools/debian/private-apt.sh (a deb-src line; the
# archive address from the system's apt sources; the Release file verified with the Debian
# keyring) and fetches that one file: `apt-get source` would also need Debian's packaging tarball,
# which the mirror does not always serve (issue 13).
#
# Environment: OPENSBI_CACHE (default ~/.cache/bulkhead/opensbi), OPENSBI_SUITE (default trixie),
#              OPENSBI_UPSTREAM (default 1.6), OPENSBI_KEYRING (default
#              /usr/share/keyrings/debian-archive-keyring.gpg), OPENSBI_APT_URI (override the
#              archive address taken from the system's sources).
set -euo pipefail

CACHE=${OPENSBI_CACHE:-${HOME:-/root}/.cache/bulkhead/opensbi}
SUITE=${OPENSBI_SUITE:-trixie}
UPSTREAM=${OPENSBI_UPSTREAM:-1.6}
KEYRING=${OPENSBI_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
PACKAGE=opensbi
FILE=${PACKAGE}_${UPSTREAM}.orig.tar.gz

PAPT_NAME=fetch-opensbi
. "$(dirname "$0")/../debian/private-apt.sh"

if [ -s "$CACHE/$FILE" ] && [ -s "$CACHE/version" ] && [ -s "$CACHE/packages" ] \
    && [ "$(cat "$CACHE/version")" = "$UPSTREAM" ]; then
    say "cache complete: $CACHE (opensbi $UPSTREAM)"
    exit 0
fi

# The architecture only names the (unused) binary side of the configuration.
papt_init riscv64 "$KEYRING" "${OPENSBI_APT_URI:-}"
papt_source_index "$SUITE"
papt_fetch_source_file "$PACKAGE" "$FILE"

tarball="$WORK/src/$FILE"
# The upstream tarball holds one top directory with OpenSBI's top Makefile and the generic platform.
top=$(tar -tzf "$tarball" | sed -n '1s|/.*||p')
tar -tzf "$tarball" "$top/Makefile" "$top/platform/generic/platform.c" >/dev/null 2>&1 \
    || die "$FILE does not look like OpenSBI's source (no $top/Makefile or platform/generic)"

mkdir -p "$CACHE"
# Each file appears whole (written beside, then renamed); version last, as the cache is complete
# only with all three.
put() {   # put SOURCE NAME
    install -m 0644 "$1" "$CACHE/.$2.$$" && mv -f "$CACHE/.$2.$$" "$CACHE/$2"
}
echo "$UPSTREAM" >"$WORK/version"
put "$tarball" "$FILE"
put "$WORK/packages" packages
put "$WORK/version" version
say "cached in $CACHE: $FILE (from source package opensbi $PAPT_SRC_VERSION, $(stat -c %s "$CACHE/$FILE") bytes)"
sed 's/^/  /' "$CACHE/packages" >&2
