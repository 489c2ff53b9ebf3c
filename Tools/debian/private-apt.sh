# Shared by Tools/linux/fetch-linux.sh and Tools/uboot/fetch-uboot.sh (sourced, not run): fetching
# Debian packages under a private apt configuration in a temporary directory: its own lists, cache,
# an empty dpkg status, its own sources file and APT::Architecture. The system's apt configuration
# and state are neither read for packages nor written. The archive address comes from the system's
# own apt sources; the archive's Release file is verified with the system keyring (Signed-By), or
# with a newer debian-archive-keyring bootstrapped from the system's own release (see papt_index).
#
# The sourcing script sets PAPT_NAME (message prefix) before sourcing, then calls, in order:
#   papt_init ARCH KEYRING [URI]   host tools, the archive address (URI overrides it), $WORK
#   papt_index SUITE               the verified index of SUITE/main for ARCH (Architecture: all included)
#   papt_fetch PKG...              downloads each package, checks its SHA256 against the index,
#                                  appends "PKG VERSION sha256:HEX" to $WORK/packages and extracts it
#                                  into $WORK/x
# or, for one file of a source package (Tools/opensbi/fetch-opensbi.sh), instead of the last two:
#   papt_source_index SUITE        the verified Sources index of SUITE/main (a deb-src line)
#   papt_fetch_source_file PKG FILE
#                                  downloads FILE (e.g. PKG_UPSTREAM.orig.tar.gz) of source package PKG
#                                  (the first version listing it) into $WORK/src, checks its SHA256 against the index and
#                                  appends "FILE VERSION sha256:HEX" to $WORK/packages
# and may use papt (apt with the private configuration), papt_field, say and die.
# $WORK is removed when the script exits.

say() { echo "$PAPT_NAME: $*" >&2; }
die() { echo "$PAPT_NAME: error: $*" >&2; exit 1; }

# ---- host tools ---------------------------------------------------------------------------------
papt_need_tools() {
    local missing="" t
    for t in apt-get apt-cache dpkg-deb gpgv sha256sum od awk; do
        command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
    done
    echo "$missing"
}

papt_host_tools() {
    local missing
    missing=$(papt_need_tools)
    [ -z "$missing" ] && return 0
    command -v apt-get >/dev/null 2>&1 || die "missing host tools:$missing (and no apt-get to install them)"
    [ "$(id -u)" = 0 ] || die "missing host tools:$missing; install them (packages dpkg gpgv coreutils mawk) or run as root"
    say "installing host tools for:$missing"
    apt-get update -qq </dev/null || die "apt-get update failed (installing host tools)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dpkg gpgv coreutils mawk </dev/null >/dev/null \
        || die "apt-get install of host tools failed"
    missing=$(papt_need_tools)
    [ -z "$missing" ] || die "still missing host tools:$missing"
}

# ---- the archive address, from the system's apt sources -----------------------------------------
# Prints the first http(s) URI of an enabled `deb` entry whose suites include a plain release name
# (no '-' or '/': the main archive, not -security or -updates only).
papt_find_uri() {
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

# papt_init ARCH KEYRING [URI]
papt_init() {
    PAPT_ARCH=$1
    PAPT_KEYRING=$2
    papt_host_tools
    [ -r "$PAPT_KEYRING" ] || die "keyring $PAPT_KEYRING not found (install the debian-archive-keyring package)"
    if [ -n "${3:-}" ]; then
        PAPT_URI=$3
    else
        PAPT_URI=$(papt_find_uri | head -n 1) || true
    fi
    [ -n "$PAPT_URI" ] || die "no Debian archive address found in /etc/apt/sources.list.d/*.sources (URIs:) or /etc/apt/sources.list (deb lines); set the _APT_URI variable"
    PAPT_URI=${PAPT_URI%/}
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/bulkhead-$PAPT_NAME.XXXXXX")
    trap 'rm -rf "$WORK"' EXIT
    # apt (as root) downloads as the unprivileged user _apt: it must be able to enter the work dir.
    chmod 0755 "$WORK"
    mkdir -p "$WORK"/{state,lists/partial,cache/archives/partial,etc/sources.list.d,etc/preferences.d,etc/trusted.gpg.d,etc/apt.conf.d,debs,x,log}
    : >"$WORK/status"
    : >"$WORK/packages"
}

# papt_write_config ARCH KEYRING SUITES...: the sources file and apt.conf for one archive and keyring.
# The line's type is $PAPT_TYPE: deb (the default) or deb-src (papt_source_index).
papt_write_config() {
    local arch=$1 keyring=$2; shift 2
    cat >"$WORK/etc/sources.list" <<EOC
${PAPT_TYPE:-deb} [arch=$arch signed-by=$keyring] $PAPT_URI $* main
EOC
    cat >"$WORK/apt.conf" <<EOC
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
EOC
}

papt() { APT_CONFIG="$WORK/apt.conf" "$@" </dev/null; }

# papt_update: 0 when the index is in place and verified, 2 on a signature failure, 1 otherwise.
papt_update() {
    rm -rf "$WORK/lists"; mkdir -p "$WORK/lists/partial"
    if papt apt-get update --error-on=any >"$WORK/update.log" 2>&1; then
        return 0
    fi
    if grep -Eq 'NO_PUBKEY|EXPKEYSIG|not signed|signatures (were invalid|couldn.t be verified)|is not signed' "$WORK/update.log"; then
        return 2
    fi
    return 1
}

# papt_index SUITE
papt_index() {
    local suite=$1 rc=0 sys
    say "archive: $PAPT_URI, suite $suite, architecture $PAPT_ARCH"
    papt_write_config "$PAPT_ARCH" "$PAPT_KEYRING" "$suite"
    papt_update || rc=$?
    if [ $rc = 2 ]; then
        # The keyring does not hold the key that signs $suite (an older debian-archive-keyring). Bootstrap
        # a chain of trust without disabling verification: the system's own release (signed with a key
        # the system keyring does hold) carries a newer debian-archive-keyring in its point releases.
        # Fetch that package from it (verified by apt against the system keyring), extract its keyring
        # privately (the system's keyring is not replaced) and verify $suite with it.
        sys=$(. /etc/os-release 2>/dev/null; echo "${VERSION_CODENAME:-}")
        [ -n "$sys" ] || die "$suite's Release signature does not verify with $PAPT_KEYRING, and the system's release name is unknown; upgrade debian-archive-keyring"
        say "$PAPT_KEYRING lacks $suite's signing key: bootstrapping debian-archive-keyring from $sys (its index verified with $PAPT_KEYRING)"
        sed 's/^/  apt: /' "$WORK/update.log" | grep -E 'NO_PUBKEY|signature|sign' >&2 || true
        # The keyring package is Architecture: all; index the host's architecture to find it (a
        # binary index, also when $suite's own index is a Sources index).
        PAPT_TYPE=deb papt_write_config "$(dpkg --print-architecture)" "$PAPT_KEYRING" "$sys" "$sys-updates"
        papt_update || { cat "$WORK/update.log" >&2; die "apt-get update of $sys (for the keyring bootstrap) failed"; }
        (cd "$WORK/debs" && papt apt-get download -q debian-archive-keyring) >"$WORK/dl.log" 2>&1 \
            || { cat "$WORK/dl.log" >&2; die "downloading debian-archive-keyring from $sys failed"; }
        mkdir -p "$WORK/keyring"
        dpkg-deb -x "$WORK"/debs/debian-archive-keyring_*.deb "$WORK/keyring"
        rm -f "$WORK"/debs/*.deb
        PAPT_KEYRING="$WORK/keyring/usr/share/keyrings/debian-archive-keyring.gpg"
        [ -s "$PAPT_KEYRING" ] || die "the bootstrapped debian-archive-keyring package holds no debian-archive-keyring.gpg"
        papt_write_config "$PAPT_ARCH" "$PAPT_KEYRING" "$suite"
        rc=0; papt_update || rc=$?
        [ $rc = 2 ] && { cat "$WORK/update.log" >&2; die "$suite's Release signature does not verify even with $sys's newest debian-archive-keyring"; }
    fi
    if [ $rc != 0 ]; then
        cat "$WORK/update.log" >&2
        die "apt-get update for $suite/$PAPT_ARCH from $PAPT_URI failed (network, or the suite is missing there)"
    fi
    if [ "${PAPT_TYPE:-deb}" = deb-src ]; then
        ls "$WORK"/lists/*_dists_"${suite}"_main_source_Sources* >/dev/null 2>&1 \
            || die "no Sources index for $suite at $PAPT_URI"
    else
        ls "$WORK"/lists/*_dists_"${suite}"_main_binary-"${PAPT_ARCH}"_Packages* >/dev/null 2>&1 \
            || die "no $PAPT_ARCH Packages index for $suite at $PAPT_URI"
    fi
    say "index of $suite verified with $PAPT_KEYRING"
}

# papt_source_index SUITE: as papt_index, but the verified index is SUITE/main's Sources (a deb-src
# line); the Release file is verified the same way (apt checks the Sources file's hash against it).
papt_source_index() {
    PAPT_TYPE=deb-src
    papt_index "$1"
}

# papt_field TEXT FIELD: the value of FIELD in an apt-cache show record.
papt_field() { awk -v f="$2" 'BEGIN { f = tolower(f) ":" } tolower($1) == f { sub(/^[^:]*:[ \t]*/, ""); print; exit }' <<<"$1"; }

# papt_fetch SPEC...: each SPEC a package name (its newest version) or NAME=VERSION.
papt_fetch() {
    local spec pkg info ver want deb got
    (cd "$WORK/debs" && papt apt-get download -q "$@") >"$WORK/dl.log" 2>&1 \
        || { cat "$WORK/dl.log" >&2; die "apt-get download of $* failed"; }
    # apt checked each .deb against the verified index; check again, explicitly, and record it.
    for spec in "$@"; do
        pkg=${spec%%=*}
        case $spec in
            *=*) info=$(papt apt-cache show "$spec") ;;
            *) info=$(papt apt-cache show --no-all-versions "$pkg") ;;
        esac
        ver=$(papt_field "$info" Version); want=$(papt_field "$info" SHA256)
        deb=$(ls "$WORK"/debs/"${pkg}"_*.deb 2>/dev/null | head -n 1)
        [ -n "$deb" ] || die "apt-get download left no .deb for $pkg"
        got=$(sha256sum "$deb" | awk '{print $1}')
        [ -n "$want" ] && [ "$got" = "$want" ] || die "$(basename "$deb"): SHA256 $got does not match the index ($want)"
        echo "$pkg $ver sha256:$got" >>"$WORK/packages"
        dpkg-deb -x "$deb" "$WORK/x"
    done
}

# papt_fetch_source_file PKG FILE: one file of a source package, not `apt-get source` (which needs
# every file of the package). The record is the source package PKG's first version in the verified
# Sources index whose Checksums-Sha256 lists FILE; its Directory and SHA256 come from there. apt's own
# downloader (apt-helper, under the private configuration) fetches it with that hash, and it is
# checked again here. Sets PAPT_SRC_VERSION to that version.
papt_fetch_source_file() {
    local pkg=$1 file=$2 info dir want got
    info=$(papt apt-cache showsrc "$pkg" 2>/dev/null | awk -v f="$file" '
        BEGIN { RS = "" }
        { n = split($0, line, "\n"); sums = 0
          for (i = 1; i <= n; i++) {
              if (line[i] ~ /^[^ \t]/) sums = (tolower(line[i]) ~ /^checksums-sha256:/)
              else if (sums) { split(line[i], w, /[ \t]+/); if (w[4] == f) { print; exit } }
          } }')
    [ -n "$info" ] || die "no version of source package $pkg in the Sources index lists $file"
    PAPT_SRC_VERSION=$(papt_field "$info" Version)
    dir=$(papt_field "$info" Directory)
    want=$(awk -v f="$file" '
        /^[^ \t]/ { sums = (tolower($1) == "checksums-sha256:"); next }
        sums && $3 == f { print $1; exit }' <<<"$info")
    [ -n "$dir" ] && [ -n "$want" ] || die "the Sources record of $pkg $PAPT_SRC_VERSION has no Directory or no SHA256 for $file"
    mkdir -p "$WORK/src"
    papt /usr/lib/apt/apt-helper download-file "$PAPT_URI/$dir/$file" "$WORK/src/$file" "SHA256:$want" \
        >"$WORK/dl.log" 2>&1 || { cat "$WORK/dl.log" >&2; die "downloading $dir/$file failed"; }
    got=$(sha256sum "$WORK/src/$file" | awk '{print $1}')
    [ "$got" = "$want" ] || die "$file: SHA256 $got does not match the Sources index ($want)"
    echo "$file $PAPT_SRC_VERSION sha256:$got" >>"$WORK/packages"
}
