#!/bin/sh
# fetch-alpine.sh [VERSION] [ARCH]
#
# Download an Alpine minirootfs tarball, verify it, and print its path.
#
#   VERSION  Alpine release, e.g. 3.20.3 (default 3.20.3)
#   ARCH     x86_64 or aarch64 (default x86_64)
#
# Environment:
#   WORKSHOP_DOWNLOADS  destination directory (default /var/lib/workshop/downloads)
#   ALPINE_MIRROR       mirror root: https://..., http://..., file:///dir or /dir
#                       (default https://dl-cdn.alpinelinux.org/alpine)
#   ALPINE_CHECKSUMS    pinned-hash list in sha256sum format
#                       (default: checksums.sha256 next to this script)
#
# stdout carries only the tarball's absolute path, so a program can capture
# it; every diagnostic goes to stderr. Exit: 0 ok, 1 failure, 64 usage.

set -eu

PROG=fetch-alpine

die() { # die CODE MESSAGE: one line on stderr, then exit
    printf '%s: %s\n' "$PROG" "$2" >&2
    exit "$1"
}

usage() {
    echo "usage: $PROG [VERSION] [ARCH]   (ARCH: x86_64 | aarch64)"
}

case "${1:-}" in
    -h | --help) usage; exit 0 ;;
esac
[ "$#" -le 2 ] || die 64 "too many arguments; $(usage)"

VERSION=${1:-3.20.3}
ARCH=${2:-x86_64}

# Only these two are tested in the workshop; reject anything else up front.
case "$ARCH" in
    x86_64 | aarch64) ;;
    *) die 64 "unsupported architecture '$ARCH' (supported: x86_64, aarch64)" ;;
esac

# Strict X.Y.Z keeps the version from smuggling path pieces into URLs/paths.
printf '%s\n' "$VERSION" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+$' ||
    die 64 "invalid version '$VERSION' (expected X.Y.Z, e.g. 3.20.3)"

BRANCH=v${VERSION%.*} # 3.20.3 -> v3.20, the mirror's directory name
FILE=alpine-minirootfs-$VERSION-$ARCH.tar.gz
MIRROR=${ALPINE_MIRROR:-https://dl-cdn.alpinelinux.org/alpine}
MIRROR=${MIRROR%/}
URL=$MIRROR/$BRANCH/releases/$ARCH/$FILE

SCRIPT_DIR=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
PINNED_LIST=${ALPINE_CHECKSUMS:-$SCRIPT_DIR/checksums.sha256}

# Pick the transfer method once. Local mirrors need no network tool.
case "$MIRROR" in
    file://*) FETCHER=copy ;;
    *://*)
        case "$MIRROR" in
            http://* | https://* | ftp://*) ;;
            *) die 64 "unsupported ALPINE_MIRROR scheme: $MIRROR" ;;
        esac
        if command -v curl >/dev/null 2>&1; then
            FETCHER=curl
        elif command -v wget >/dev/null 2>&1; then
            FETCHER=wget
        else
            die 1 "need curl or wget to download (apt-get install curl)"
        fi
        ;;
    *) FETCHER=copy ;; # plain directory path
esac

command -v sha256sum >/dev/null 2>&1 || die 1 "sha256sum not found (coreutils)"

DEST=${WORKSHOP_DOWNLOADS:-/var/lib/workshop/downloads}
mkdir -p -- "$DEST" 2>/dev/null || die 1 "cannot create download directory $DEST"
DEST=$(cd -- "$DEST" && pwd -P) # absolute, so the printed path works from anywhere
TARGET=$DEST/$FILE
SIDECAR=$TARGET.sha256

# Scratch space inside DEST: the final mv is then a same-filesystem rename,
# so TARGET is either absent or complete, never partial.
WORK=$(mktemp -d "$DEST/.$PROG.XXXXXX" 2>/dev/null) ||
    die 1 "cannot write to download directory $DEST"
cleanup() { rm -rf -- "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# fetch URL OUTFILE: copy or download one file; returns non-zero on failure
# with the tool's error message left in $WORK/err.
fetch() {
    : >"$WORK/err"
    case "$FETCHER" in
        copy)
            src=${1#file://}
            [ -f "$src" ] || { echo "no such file: $src" >"$WORK/err"; return 1; }
            cp -- "$src" "$2" 2>"$WORK/err"
            ;;
        curl)
            curl -fsSL --retry 2 --connect-timeout 20 -o "$2" "$1" 2>"$WORK/err"
            ;;
        wget)
            wget -nv -T 20 -t 3 -O "$2" "$1" 2>"$WORK/err"
            ;;
    esac
}

fail_fetch() { # fail_fetch URL: report the last line of the tool's error (the gist)
    reason=$(tail -n 1 "$WORK/err" 2>/dev/null || true)
    die 1 "download failed: $1${reason:+ ($reason)}; offline? set WORKSHOP_ALPINE_TARBALL to a copy of $FILE (once: the kit keeps it), or check the network or ALPINE_MIRROR"
}

# hash_for FILE LIST: print the hash sha256sum-format LIST records for FILE
# (also accepts the '*name' binary-mode marker and a path prefix).
hash_for() {
    [ -f "$2" ] || return 0
    awk -v f="$1" '
        { n = $2; sub(/^\*/, "", n); sub(/^.*\//, "", n) }
        n == f && $1 ~ /^[0-9a-fA-F]+$/ && length($1) == 64 { print tolower($1); exit }
    ' "$2"
}

sha_of() { sha256sum <"$1" | cut -d ' ' -f 1; }

PINNED=$(hash_for "$FILE" "$PINNED_LIST")

# 1. Reuse an existing download if it still matches what we know (pinned hash
#    and our own sidecar), so reruns and offline sessions need no network.
if [ -f "$TARGET" ]; then
    have=$(sha_of "$TARGET")
    side=$(hash_for "$FILE" "$SIDECAR")
    if [ -z "$PINNED" ] && [ -z "$side" ]; then
        # Nothing local to trust: fall back to the mirror's published hash.
        if fetch "$URL.sha256" "$WORK/published"; then
            side=$(hash_for "$FILE" "$WORK/published")
        fi
    fi
    if [ -n "$PINNED$side" ]; then
        if { [ -z "$PINNED" ] || [ "$have" = "$PINNED" ]; } &&
            { [ -z "$side" ] || [ "$have" = "$side" ]; }; then
            printf '%s  %s\n' "$have" "$FILE" >"$WORK/sidecar"
            mv -f -- "$WORK/sidecar" "$SIDECAR"
            printf '%s\n' "$TARGET"
            exit 0
        fi
        # A known-good hash disagrees: the cached copy is corrupt or stale.
        printf '%s: existing %s failed verification; deleted it, downloading again\n' \
            "$PROG" "$TARGET" >&2
        rm -f -- "$TARGET" "$SIDECAR"
    fi
    # No reference hash reachable (offline, unpinned, no sidecar): leave the
    # file alone and try a normal download, which replaces it only if verified.
fi

# 2. Fetch the published checksum first: it is tiny, so a dead network or a
#    wrong version fails fast, before the tarball transfer.
fetch "$URL.sha256" "$WORK/published" || fail_fetch "$URL.sha256"
PUBLISHED=$(hash_for "$FILE" "$WORK/published")
[ -n "$PUBLISHED" ] || die 1 "no checksum for $FILE in $URL.sha256"

fetch "$URL" "$WORK/$FILE" || fail_fetch "$URL"

# 3. Verify against the mirror's hash (catches corruption) and, if we pinned
#    this version, the committed hash (catches a tampered mirror, since a
#    mirror that serves a bad tarball can also serve a matching .sha256).
GOT=$(sha_of "$WORK/$FILE")
if [ "$GOT" != "$PUBLISHED" ]; then
    rm -f -- "$WORK/$FILE"
    die 1 "checksum mismatch for $FILE: got $GOT, mirror's .sha256 says $PUBLISHED; deleted the download"
fi
if [ -n "$PINNED" ] && [ "$GOT" != "$PINNED" ]; then
    rm -f -- "$WORK/$FILE"
    die 1 "checksum mismatch for $FILE: got $GOT, $(basename -- "$PINNED_LIST") pins $PINNED; deleted the download"
fi

# 4. Publish: the tarball appears under its final name only now, verified.
printf '%s  %s\n' "$GOT" "$FILE" >"$WORK/sidecar"
chmod 0644 "$WORK/$FILE" # a local mirror's read-only mode shouldn't leak through
mv -f -- "$WORK/$FILE" "$TARGET"
mv -f -- "$WORK/sidecar" "$SIDECAR"
printf '%s\n' "$TARGET"
