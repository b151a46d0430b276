#!/bin/sh
# build-busybox-rootfs.sh [OUTPUT.tar.gz]
#
# Offline fallback for fetch-alpine.sh: build a tiny root filesystem tarball
# from the host's *static* busybox (Debian: apt-get install busybox-static).
# Static matters: the rootfs has no libc, so a dynamic busybox could not run.
#
# Environment:
#   WORKSHOP_DOWNLOADS  default output directory (default /var/lib/workshop/downloads)
#   BUSYBOX             use this busybox binary instead of searching for one
#   SOURCE_DATE_EPOCH   timestamp stored in the tarball (default: busybox's mtime)
#
# stdout carries only the output's absolute path; diagnostics go to stderr.
# Exit: 0 ok, 1 failure, 64 usage.

set -eu

PROG=build-busybox-rootfs

die() { # die CODE MESSAGE: one line on stderr, then exit
    printf '%s: %s\n' "$PROG" "$2" >&2
    exit "$1"
}

case "${1:-}" in
    -h | --help) echo "usage: $PROG [OUTPUT.tar.gz]"; exit 0 ;;
esac
[ "$#" -le 1 ] || die 64 "too many arguments; usage: $PROG [OUTPUT.tar.gz]"

OUT=${1:-${WORKSHOP_DOWNLOADS:-/var/lib/workshop/downloads}/busybox-rootfs.tar.gz}

# is_static FILE: true if FILE is an executable with no dynamic loader.
is_static() {
    [ -f "$1" ] && [ -x "$1" ] || return 1
    if command -v file >/dev/null 2>&1; then
        # "static-pie linked" is static too: it needs no ld.so.
        file -L -- "$1" | grep -Eq 'statically linked|static-pie linked'
    else
        ldd "$1" 2>&1 | grep -Eq 'not a dynamic executable|statically linked'
    fi
}

# Find a static busybox: an explicit BUSYBOX is the only candidate (no silent
# substitution); otherwise look in the usual places.
BB=
if [ -n "${BUSYBOX:-}" ]; then
    is_static "$BUSYBOX" ||
        die 1 "BUSYBOX=$BUSYBOX is not a static executable; run: apt-get install busybox-static"
    BB=$BUSYBOX
else
    for cand in /bin/busybox /usr/bin/busybox /usr/lib/initramfs-tools/bin/busybox \
        "$(command -v busybox 2>/dev/null || true)"; do
        if [ -n "$cand" ] && is_static "$cand"; then
            BB=$cand
            break
        fi
    done
    [ -n "$BB" ] || die 1 "no static busybox found; run: apt-get install busybox-static"
fi

command -v tar >/dev/null 2>&1 || die 1 "tar not found"
command -v gzip >/dev/null 2>&1 || die 1 "gzip not found"

OUT_DIR=$(dirname -- "$OUT")
OUT_NAME=$(basename -- "$OUT")
mkdir -p -- "$OUT_DIR" 2>/dev/null || die 1 "cannot create output directory $OUT_DIR"
OUT_DIR=$(cd -- "$OUT_DIR" && pwd -P) # absolute, so the printed path works anywhere
OUT=$OUT_DIR/$OUT_NAME

# Predictable modes regardless of the caller's umask.
umask 022

WORK=$(mktemp -d "${TMPDIR:-/tmp}/$PROG.XXXXXX") || die 1 "cannot create a temp directory"
# Output temp files live beside OUT so the final mv is an atomic rename.
PARTIAL=$OUT_DIR/.$OUT_NAME.partial.$$
cleanup() { rm -rf -- "$WORK" "$PARTIAL" "$PARTIAL.sha256"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

R=$WORK/rootfs
mkdir -p "$R"
for d in bin sbin usr/bin usr/sbin etc proc sys dev tmp root mnt; do
    mkdir -p "$R/$d"
done
chmod 1777 "$R/tmp" # world-writable with sticky bit, like every /tmp
chmod 0700 "$R/root"

cp -- "$BB" "$R/bin/busybox"
chmod 0755 "$R/bin/busybox"
"$R/bin/busybox" true 2>/dev/null || die 1 "$BB does not run on this machine"

# One symlink per applet, where busybox says it belongs (bin/sh, usr/bin/awk,
# sbin/ifconfig, ...). Relative links resolve the same inside the container
# and when a learner inspects the unpacked tree from the host.
link_applet() { # link_applet REL_PATH (e.g. usr/bin/awk)
    p=$1
    case "$p" in
        "" | bin/busybox | /* | *..*) return 0 ;; # skip self and anything odd
    esac
    dir=${p%/*}
    [ "$dir" != "$p" ] || dir=bin # bare name: put it in bin/
    if [ "$dir" = bin ]; then
        target=busybox
    else
        target=$(printf '%s' "$dir" | sed 's#[^/][^/]*#..#g')/bin/busybox
    fi
    mkdir -p "$R/$dir"
    [ -e "$R/$dir/${p##*/}" ] || [ -L "$R/$dir/${p##*/}" ] ||
        ln -s "$target" "$R/$dir/${p##*/}"
}

if "$R/bin/busybox" --list-full >"$WORK/applets" 2>/dev/null; then
    :
else
    # Very old busybox: no --list-full, so put every applet in bin/.
    "$R/bin/busybox" --list >"$WORK/applets" || die 1 "$BB cannot list its applets"
fi
while IFS= read -r applet; do
    link_applet "$applet"
done <"$WORK/applets"
[ -e "$R/bin/sh" ] || ln -s busybox "$R/bin/sh" # a learner's first command

BB_VERSION=$("$R/bin/busybox" 2>/dev/null | sed -n '1s/^BusyBox v\([^ ]*\).*/\1/p')
BB_VERSION=${BB_VERSION:-unknown}

cat >"$R/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$R/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
EOF
echo workshop >"$R/etc/hostname"
# Says plainly what this is, so nobody mistakes it for the Alpine rootfs.
cat >"$R/etc/os-release" <<EOF
NAME="BusyBox fallback rootfs"
ID=busybox
VERSION_ID=$BB_VERSION
PRETTY_NAME="Workshop BusyBox fallback rootfs (BusyBox $BB_VERSION, no package manager)"
HOME_URL="https://busybox.net/"
EOF

# Fixed timestamp, sorted entries, numeric root ownership and gzip -n make the
# tarball reproducible: same busybox in, same bytes (and sha256) out.
EPOCH=${SOURCE_DATE_EPOCH:-$(stat -c %Y -- "$BB")}
tar --sort=name --format=gnu --mtime="@$EPOCH" \
    --owner=0 --group=0 --numeric-owner \
    -C "$R" -cf "$WORK/rootfs.tar" . || die 1 "tar failed"
gzip -n -9 <"$WORK/rootfs.tar" >"$PARTIAL" || die 1 "cannot write $PARTIAL"

SUM=$(sha256sum <"$PARTIAL" | cut -d ' ' -f 1)
printf '%s  %s\n' "$SUM" "$OUT_NAME" >"$PARTIAL.sha256"
chmod 0644 "$PARTIAL" "$PARTIAL.sha256"
mv -f -- "$PARTIAL" "$OUT"
mv -f -- "$PARTIAL.sha256" "$OUT.sha256"
printf '%s\n' "$OUT"
