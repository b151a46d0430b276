#!/usr/bin/env bash
# add-binary.sh DEST_DIR BINARY...
#
# Puts host binaries, dynamically linked ones included, into a VM payload
# directory (the VM_PAYLOAD of run.sh):
#   DEST_DIR/bin/NAME            each BINARY (a path, or a name found on PATH)
#   DEST_DIR/sysroot/ABS/PATH    every shared library it needs, as ldd resolves
#                                it on this host (dynamic loader included),
#                                under the same absolute path
#   DEST_DIR/sysroot/etc/ld.so.{conf,cache}
#                                the library dirs, so the guest loader also
#                                finds libraries that are not on a RUNPATH
# run.sh merges DEST_DIR/sysroot into the guest's / (not /payload), so the
# binaries run unchanged: their PT_INTERP (/lib64/ld-linux-x86-64.so.2) and
# RUNPATHs (e.g. /opt/swift/usr/lib/swift/linux for Swift programs) exist.
# Libraries a program dlopen()s by name are not seen by ldd: add them with
# ADD_LIBS="/path/libx.so ..." in the environment.
set -euo pipefail

die() { echo "add-binary.sh: $*" >&2; exit 1; }
[ $# -ge 2 ] || die "usage: add-binary.sh DEST_DIR BINARY..."
dest=$1; shift
mkdir -p "$dest/bin" "$dest/sysroot"
sysroot=$(cd "$dest/sysroot" && pwd)

copy_lib() {
    local p=$1 t
    t="$sysroot$p"
    [ -e "$t" ] && return 0
    mkdir -p "$(dirname "$t")"
    cp -L "$p" "$t"
    # Keep the real file name reachable too when the path was a symlink
    # (libfoo.so.1 -> libfoo.so.1.2.3): harmless and helps ldconfig.
    if [ -L "$p" ]; then
        local real
        real=$(readlink -f "$p")
        if [ "$(dirname "$real")" = "$(dirname "$p")" ] && [ ! -e "$sysroot$real" ]; then
            ln -s "$(basename "$p")" "$sysroot$real" 2>/dev/null || true
        fi
    fi
}

add_deps() {
    local file=$1 out line path
    if ! out=$(LC_ALL=C ldd "$file" 2>&1); then
        case "$out" in
            *"not a dynamic executable"*|*"statically linked"*) return 0 ;;
            *) die "ldd $file failed: $out" ;;
        esac
    fi
    case "$out" in *"statically linked"*) return 0 ;; esac
    while IFS= read -r line; do
        line=${line#"${line%%[![:space:]]*}"}
        case "$line" in
            *"=> not found"*) die "$file: missing library: $line" ;;
            *" => "/*) path=${line#* => }; path=${path%% (*} ;;
            /*) path=${line%% (*} ;;
            *) continue ;;   # linux-vdso.so.1 and the like
        esac
        [ -e "$path" ] || die "$file: ldd named $path which does not exist"
        copy_lib "$path"
    done <<< "$out"
}

for b in "$@"; do
    src=$b
    if [[ $b != */* ]]; then src=$(command -v "$b") || die "$b: not found on PATH"; fi
    [ -f "$src" ] || die "$src: no such file"
    cp -L "$src" "$dest/bin/$(basename "$src")"
    chmod +x "$dest/bin/$(basename "$src")"
    add_deps "$src"
done
for l in ${ADD_LIBS:-}; do
    copy_lib "$l"
    add_deps "$l"
done

# A loader cache for the guest, from every directory holding a library.
mkdir -p "$sysroot/etc"
(cd "$sysroot" && find . -name '*.so*' ! -path './etc/*' -printf '%h\n' | sed 's|^\.||' | sort -u) > "$sysroot/etc/ld.so.conf"
LDCONFIG=$(command -v ldconfig || echo /sbin/ldconfig)
if [ -x "$LDCONFIG" ]; then
    "$LDCONFIG" -r "$sysroot" -X 2>/dev/null || echo "add-binary.sh: warning: ldconfig -r failed; relying on RUNPATH/default dirs" >&2
fi
