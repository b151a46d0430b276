#!/usr/bin/env bash
# Tests/VM/kit.sh v2|v1|all        build the kit, boot the guest(s), run guest-kit.sh
# Tests/VM/kit.sh --payload DIR    only build the kit and assemble the payload in DIR
#
# The kit's own steps in the VM: builds step01..step08 in release mode in a
# scratch path of its own (.build-vm: the ordinary .build is left alone),
# puts them with their shared libraries (add-binary.sh), the Alpine minirootfs
# and guest-kit.sh into a payload, and hands that to run.sh.
# `Tests/VM/run.sh v2|v1|all` does the same (VM_GUEST=kit is its default).
#
# Environment:
#   WORKSHOP_ALPINE_TARBALL  the minirootfs (else VM_ALPINE_TARBALL, else
#                 <repo>/../shared/rootfs/alpine-minirootfs-3.20.3-x86_64.tar.gz)
#   VM_BUILD=0    do not run swift build; use what .build-vm/release has
#   VM_SCRATCH    the scratch path, default <repo>/.build-vm
#   VM_STRIP=0    keep the debug info in the payload's copies of the steps
#   everything run.sh takes (VM_TIMEOUT, VM_VERBOSE, ...)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null || (cd "$HERE/../.." && pwd))
OUT=$HERE/out
SCRATCH=${VM_SCRATCH:-$REPO/.build-vm}
STEPS="step01-clone step02-namespaces step03-chroot step04-pivot-root step05-cgroup step06-capabilities step07-userns step08-seccomp"

die() { echo "kit.sh: $*" >&2; exit 2; }
log() { echo "kit.sh: $*"; }
now_ms() { date +%s%3N; }
secs() { printf '%d.%01d' $(($1 / 1000)) $((($1 % 1000) / 100)); }

if [ "${1:-}" != --payload ]; then
    case "${1:-}" in v1|v2|all) ;; *) die "usage: Tests/VM/kit.sh v2|v1|all   or   kit.sh --payload DIR" ;; esac
    VM_GUEST=kit exec "$HERE/run.sh" "$@"
fi
[ $# = 2 ] || die "usage: kit.sh --payload DIR"
DEST=$2
mkdir -p "$DEST" "$OUT"

# ------------------------------------------------------------------ build
T=$(now_ms)
if [ "${VM_BUILD:-1}" = 1 ]; then
    command -v swift >/dev/null || die "no swift on PATH"
    log "swift build -c release --scratch-path $SCRATCH (log: $OUT/build.log)"
    if ! swift build --package-path "$REPO" -c release --scratch-path "$SCRATCH" > "$OUT/build.log" 2>&1; then
        tail -n 30 "$OUT/build.log" >&2
        die "swift build failed (full log: $OUT/build.log)"
    fi
fi
BIN=$SCRATCH/release
bins=()
for s in $STEPS; do
    [ -x "$BIN/$s" ] || die "$BIN/$s missing (build with: swift build -c release --scratch-path $SCRATCH)"
    bins+=("$BIN/$s")
done
T_BUILD=$(( $(now_ms) - T ))
log "build: $(secs $T_BUILD)s"

# ------------------------------------------------------------------ payload
T=$(now_ms)
tarball=${WORKSHOP_ALPINE_TARBALL:-${VM_ALPINE_TARBALL:-}}
if [ -z "$tarball" ]; then
    for t in "$REPO/../shared/rootfs/alpine-minirootfs-3.20.3-x86_64.tar.gz" /work/shared/rootfs/alpine-minirootfs-3.20.3-x86_64.tar.gz; do
        [ -f "$t" ] && { tarball=$t; break; }
    done
fi
{ [ -n "$tarball" ] && [ -f "$tarball" ]; } || die "no Alpine minirootfs (set WORKSHOP_ALPINE_TARBALL; looked in $REPO/../shared/rootfs)"
case "$(basename "$tarball")" in alpine-minirootfs-*.tar.gz) ;; *) die "$tarball: guest-kit.sh expects an alpine-minirootfs-*.tar.gz" ;; esac
# The steps dlopen libarchive on their first unpack (Sources/CArchiveLoader), so ldd does not
# list it: hand it to add-binary.sh, which adds it and its own dependencies.
libarchive=$(ldconfig -p | awk '/libarchive\.so\.13 .*x86-64/ { print $NF; exit }')
[ -n "$libarchive" ] || die "libarchive.so.13 not found (apt-get install libarchive13)"
ADD_LIBS="$libarchive" "$HERE/add-binary.sh" "$DEST" "${bins[@]}" || die "add-binary.sh failed"
# Release builds keep DWARF (~2.7 MB of each 4.8 MB step): drop it from the
# payload's copies (not the build's), a smaller initramfs boots faster.
if [ "${VM_STRIP:-1}" = 1 ] && command -v strip >/dev/null; then
    for s in $STEPS; do strip --strip-debug "$DEST/bin/$s"; done
fi
cp "$tarball" "$DEST/"
[ -f "$tarball.sha256" ] && cp "$tarball.sha256" "$DEST/"
cp "$HERE/guest-kit.sh" "$DEST/guest.sh"
T_PAYLOAD=$(( $(now_ms) - T ))
log "payload: $(du -sh "$DEST" | cut -f1) in $(secs $T_PAYLOAD)s (8 steps, $(find "$DEST/sysroot" -name '*.so*' | wc -l) libraries, $(basename "$tarball"))"
printf 'build=%ss payload=%ss\n' "$(secs $T_BUILD)" "$(secs $T_PAYLOAD)" > "$OUT/.kit-timings"
