#!/usr/bin/env bash
# Tests/VM/run.sh v2|v1|all
#
# Boots Debian's kernel (linux-image-amd64) under qemu (TCG: KVM hangs on
# these machines) with a throw-away busybox initramfs, once per cgroup
# configuration, runs /payload/guest.sh inside and judges its output.
# By default guest.sh is guest-kit.sh: the kit's own step01..step08 (built by
# kit.sh, release, in .build-vm) checked in each layout. VM_GUEST=smoke runs
# guest-smoke.sh instead (the guest itself: layout, limits, namespaces...).
# The configurations:
#   v2   pure cgroup v2: cgroup2 at /sys/fs/cgroup, no v1 hierarchy
#        (kernel: cgroup_no_v1=all)
#   v1   pure cgroup v1: tmpfs at /sys/fs/cgroup, one v1 hierarchy per
#        controller as systemd's legacy mode mounts them (cpu,cpuacct and
#        net_cls,net_prio co-mounted, with symlinks), no cgroup2 mounted
#
# The guest script prints result lines on the serial console:
#   PASS <name> <observed...> | FAIL <name> <observed...> | SKIP <name> <why...>
# The run fails on any FAIL, on no PASS/FAIL at all, on a kernel panic, on a
# time-out, or when guest.sh exits non-zero.  Logs: Tests/VM/out/<config>.log
#
# Environment:
#   VM_PAYLOAD   host dir copied to /payload in the guest; must hold guest.sh
#                (run by busybox sh as "guest.sh CONFIG", with VM_CONFIG set).
#                Its sysroot/ subdir (made by add-binary.sh) is merged into
#                the guest's / instead, so dynamically linked binaries run.
#                Default: see VM_GUEST.
#   VM_GUEST     kit (default): kit.sh builds the steps (swift build -c release
#                --scratch-path .build-vm; VM_BUILD=0 skips it) and makes the
#                payload: the 8 steps + their libraries, the Alpine minirootfs
#                (WORKSHOP_ALPINE_TARBALL), guest-kit.sh.
#                smoke: guest-smoke.sh, two probes (static C, dynamically
#                linked Swift) and the Alpine minirootfs (VM_ALPINE_TARBALL).
#   VM_TIMEOUT   seconds per boot, default 300
#   VM_MEM VM_SMP  guest memory (MiB, 2048) and CPUs (2)
#   VM_CPU       qemu -cpu model, default max
#   VM_TCG_THREAD  single (default) or multi: see README, "When a guest hangs"
#   VM_MODULES   extra kernel modules to load (overlay is always loaded)
#   VM_APPEND    extra kernel command line
#   VM_KERNEL    a vmlinuz to use instead of linux-image-amd64's (VM_KVER: its version)
#   VM_PVH=0     boot the compressed bzImage instead of the cached vmlinux
#   VM_ALPINE_TARBALL  the minirootfs for the smoke payload
#   VM_VERBOSE=1 stream the serial console while it runs
#   VM_INITRD_GZIP=1  gzip the initramfs (default: an uncompressed cpio, boots faster under TCG)
#   VM_KEEP=1    keep the temp dir with the initramfs tree and the initrd
# shellcheck disable=SC2013,SC2317  # word lists on purpose; cleanup runs from a trap
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=$HERE/out
VM_TIMEOUT=${VM_TIMEOUT:-300}
VM_MEM=${VM_MEM:-2048}
VM_SMP=${VM_SMP:-2}
VM_CPU=${VM_CPU:-max}

declare -A CMDLINE=(
    [v2]="cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1"
    [v1]="systemd.unified_cgroup_hierarchy=0 systemd.legacy_systemd_cgroup_controller=1"
)

die() { echo "run.sh: $*" >&2; exit 2; }
log() { echo "run.sh: $*"; }
now_ms() { date +%s%3N; }
secs() { printf '%d.%01d' $(($1 / 1000)) $((($1 % 1000) / 100)); }

case "${1:-}" in
    v1|v2) CONFIGS=("$1") ;;
    all) CONFIGS=(v2 v1) ;;
    *) die "usage: [VM_GUEST=kit|smoke] Tests/VM/run.sh v2|v1|all" ;;
esac
VM_GUEST=${VM_GUEST:-kit}
case "$VM_GUEST" in kit|smoke) ;; *) die "VM_GUEST=$VM_GUEST: expected kit or smoke" ;; esac
[ "$(id -u)" = 0 ] || die "must run as root (apt-get, mknod, file ownership in the initramfs)"
mkdir -p "$OUT"
T_ALL=$(now_ms)

# ------------------------------------------------------------------ packages
pkg_ok() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
need=()
pkg_ok qemu-system-x86 && command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
[ -n "${VM_KERNEL:-}" ] || pkg_ok linux-image-amd64 || need+=(linux-image-amd64)
command -v cpio >/dev/null || need+=(cpio)
command -v xz >/dev/null || need+=(xz-utils)
if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]} (apt-get; log in $OUT/apt.log)"
    {
        apt-get update -qq -o DPkg::Lock::Timeout=600 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            -o DPkg::Lock::Timeout=600 "${need[@]}"
    } > "$OUT/apt.log" 2>&1 || { tail -20 "$OUT/apt.log"; die "apt-get install ${need[*]} failed"; }
fi

# ------------------------------------------------------------------ kernel
if [ -n "${VM_KERNEL:-}" ]; then
    KERNEL=$VM_KERNEL
    KVER=${VM_KVER:-$(basename "$KERNEL" | sed 's/^vmlinuz-//')}
else
    # The version linux-image-amd64 currently depends on, else the newest one.
    KVER=$(dpkg-query -W -f='${Depends}' linux-image-amd64 2>/dev/null | grep -o 'linux-image-[^ ,]*' | head -n 1 | sed 's/^linux-image-//')
    if [ -z "$KVER" ] || [ ! -f "/boot/vmlinuz-$KVER" ] || [ ! -d "/lib/modules/$KVER" ]; then
        KVER=$(for k in /boot/vmlinuz-*; do v=${k#/boot/vmlinuz-}; [ -d "/lib/modules/$v" ] && echo "$v"; done | sort -V | tail -n 1)
    fi
    KERNEL=/boot/vmlinuz-$KVER
fi
if [ -z "$KVER" ] || [ ! -f "$KERNEL" ]; then die "no kernel found (/boot/vmlinuz-*)"; fi
MODDIR=/lib/modules/$KVER
[ -f "$MODDIR/modules.dep" ] || die "no $MODDIR/modules.dep"

# Under TCG the bzImage's own xz decompression costs ~5 s of every boot.  A
# kernel with CONFIG_PVH can instead be handed to qemu as the uncompressed ELF
# vmlinux (PVH entry point): decompress it once on the host and cache it.
BOOT_KERNEL=$KERNEL
extract_vmlinux() {   # bzImage -> ELF vmlinux on stdout
    local magic tool off
    for magic in $'\xfd7zXZ\x00':"xz -dc --single-stream" $'\x28\xb5\x2f\xfd':"zstd -qdc" $'\x1f\x8b\x08':"gzip -dc"; do
        tool=${magic#*:}; magic=${magic%%:*}
        command -v "${tool%% *}" >/dev/null || continue
        for off in $(LC_ALL=C grep -abo "$magic" "$1" 2>/dev/null | cut -d: -f1 | head -n 5); do
            tail -c +$((off + 1)) "$1" | $tool 2>/dev/null > "$2.tmp"
            if [ "$(head -c 4 "$2.tmp" | od -An -c | tr -d ' ')" = '177ELF' ]; then mv "$2.tmp" "$2"; return 0; fi
        done
    done
    rm -f "$2.tmp"; return 1
}
KCONFIG=${VM_KCONFIG:-/boot/config-$KVER}
if [ "${VM_PVH:-1}" = 1 ] && grep -q '^CONFIG_PVH=y' "$KCONFIG" 2>/dev/null; then
    mkdir -p "$OUT/.cache"
    vml=$OUT/.cache/vmlinux-$KVER-$(stat -c %s-%Y "$KERNEL")
    if [ -s "$vml" ] || { rm -f "$OUT"/.cache/vmlinux-"$KVER"-*; extract_vmlinux "$KERNEL" "$vml"; }; then
        BOOT_KERNEL=$vml
    else
        log "could not extract an ELF vmlinux from $KERNEL: booting the bzImage (slower)"
    fi
fi
log "kernel $KERNEL ($KVER), booting $( [ "$BOOT_KERNEL" = "$KERNEL" ] && echo "the bzImage" || echo "its uncompressed vmlinux via PVH")"

# ------------------------------------------------------------------ initramfs
WORK=$(mktemp -d /tmp/vm-initrd.XXXXXX)
QPID=
cleanup() {
    [ -n "$QPID" ] && kill "$QPID" 2>/dev/null
    if [ "${VM_KEEP:-0}" = 1 ]; then echo "run.sh: kept $WORK (initramfs tree and initrd)"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ROOT=$WORK/root
T_BUILD=$(now_ms)
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,etc,root,mnt,payload} "$ROOT/lib/modules/$KVER"

BUSYBOX=${VM_BUSYBOX:-/bin/busybox}
[ -x "$BUSYBOX" ] || BUSYBOX=$(command -v busybox) || die "busybox not found (apt-get install busybox-static)"
case "$(LC_ALL=C ldd "$BUSYBOX" 2>&1)" in *"not a dynamic"*|*"statically linked"*) ;; *) false ;; esac || die "$BUSYBOX is not static (install busybox-static)"
cp "$BUSYBOX" "$ROOT/bin/busybox"
for a in $("$BUSYBOX" --list); do [ -e "$ROOT/bin/$a" ] || ln -s busybox "$ROOT/bin/$a"; done
mknod -m 600 "$ROOT/dev/console" c 5 1 2>/dev/null || true
mknod -m 666 "$ROOT/dev/null" c 1 3 2>/dev/null || true
cp "$HERE/guest-init.sh" "$ROOT/init"; chmod 755 "$ROOT/init"

# Modules: what the guest needs and this kernel builds as a module, with
# their dependencies (modules.dep), uncompressed (busybox insmod reads no .xz).
declare -A SEEN=()
ORDER=()
add_mod_path() {   # a path relative to $MODDIR, deps first
    local p=$1 d
    [ -n "${SEEN[$p]:-}" ] && return 0
    SEEN[$p]=1
    for d in $(grep -E "^$p:" "$MODDIR/modules.dep" | cut -d: -f2); do add_mod_path "$d"; done
    ORDER+=("$p")
}
MODINFO=
for m in overlay ${VM_MODULES:-}; do
    found=
    for n in "$m" "${m//-/_}" "${m//_/-}"; do
        if grep -qE "(^|/)$n\.ko(\.(xz|zst|gz))?$" "$MODDIR/modules.builtin" 2>/dev/null; then found=builtin; break; fi
        p=$(grep -oE "^([^:]*/)?$n\.ko(\.(xz|zst|gz))?:" "$MODDIR/modules.dep" | head -n 1)
        if [ -n "$p" ]; then add_mod_path "${p%:}"; found=module; break; fi
    done
    [ -n "$found" ] || die "kernel module $m: neither built in nor in $MODDIR"
    MODINFO+="$m=$found "
done
: > "$ROOT/lib/modules/$KVER/load-order"
for p in "${ORDER[@]}"; do
    b=$(basename "$p")
    case "$b" in
        *.ko.xz) xz -dc "$MODDIR/$p" > "$ROOT/lib/modules/$KVER/${b%.xz}"; b=${b%.xz} ;;
        *.ko.zst) zstd -qdc "$MODDIR/$p" > "$ROOT/lib/modules/$KVER/${b%.zst}"; b=${b%.zst} ;;
        *.ko.gz) gzip -dc "$MODDIR/$p" > "$ROOT/lib/modules/$KVER/${b%.gz}"; b=${b%.gz} ;;
        *) cp "$MODDIR/$p" "$ROOT/lib/modules/$KVER/$b" ;;
    esac
    echo "$b" >> "$ROOT/lib/modules/$KVER/load-order"
done
log "modules: ${MODINFO}-> load order: $(tr '\n' ' ' < "$ROOT/lib/modules/$KVER/load-order")"

# The payload.
T_PAYLOAD=$(now_ms)
TIMINGS=
if [ -n "${VM_PAYLOAD:-}" ]; then
    PAYLOAD=$(cd "$VM_PAYLOAD" 2>/dev/null && pwd) || die "VM_PAYLOAD=$VM_PAYLOAD: no such directory"
    [ -f "$PAYLOAD/guest.sh" ] || log "warning: $PAYLOAD has no guest.sh: the guest will only boot"
    GUEST_NAME="VM_PAYLOAD"
elif [ "$VM_GUEST" = kit ]; then
    # The kit's steps: kit.sh builds them (release, .build-vm) and assembles the payload.
    PAYLOAD=$WORK/payload-src
    rm -f "$OUT/.kit-timings"
    "$HERE/kit.sh" --payload "$PAYLOAD" || die "kit.sh could not build the kit's payload"
    TIMINGS="$(cat "$OUT/.kit-timings" 2>/dev/null) "
    GUEST_NAME="kit (guest-kit.sh)"
else
    GUEST_NAME="smoke (guest-smoke.sh)"
    # Default: the smoke test, with its probes.
    PAYLOAD=$WORK/payload-src
    mkdir -p "$PAYLOAD/bin"
    cp "$HERE/guest-smoke.sh" "$PAYLOAD/guest.sh"
    CACHE=$OUT/.cache; mkdir -p "$CACHE"
    if command -v cc >/dev/null; then
        key=$(sha256sum "$HERE/probes/vmprobe.c" | cut -c1-16)
        [ -x "$CACHE/vmprobe-$key" ] || cc -static -O2 -o "$CACHE/vmprobe-$key" "$HERE/probes/vmprobe.c" \
            || die "cannot build probes/vmprobe.c"
        cp "$CACHE/vmprobe-$key" "$PAYLOAD/bin/vmprobe"
    else
        log "no C compiler: the seccomp / unprivileged userns / pty probes will SKIP"
    fi
    if command -v swiftc >/dev/null; then
        key=$( (sha256sum "$HERE/probes/swift-probe.swift"; swiftc --version 2>&1) | sha256sum | cut -c1-16)
        [ -x "$CACHE/swift-probe-$key" ] || swiftc -O -o "$CACHE/swift-probe-$key" "$HERE/probes/swift-probe.swift" \
            || die "cannot build probes/swift-probe.swift"
        cp "$CACHE/swift-probe-$key" "$CACHE/swift-probe"
        "$HERE/add-binary.sh" "$PAYLOAD" "$CACHE/swift-probe" || die "add-binary.sh swift-probe failed"
    else
        log "no swiftc: the swift-dynamic check will SKIP"
    fi
    tarball=${VM_ALPINE_TARBALL:-}
    if [ -z "$tarball" ]; then
        for t in "$REPO"/../shared/rootfs/alpine-minirootfs-*-x86_64.tar.gz /work/shared/rootfs/alpine-minirootfs-*-x86_64.tar.gz; do
            [ -f "$t" ] && { tarball=$t; break; }
        done
    fi
    if [ -n "$tarball" ]; then cp "$tarball" "$PAYLOAD/"
    else log "no Alpine minirootfs: pivot_root is tried on a busybox root instead"; fi
fi
P_MS=$(( $(now_ms) - T_PAYLOAD ))
[ -n "$TIMINGS" ] || TIMINGS="payload=$(secs $P_MS)s "
cp -a "$PAYLOAD/." "$ROOT/payload/"
if [ -d "$ROOT/payload/sysroot" ]; then
    cp -a "$ROOT/payload/sysroot/." "$ROOT/"
    rm -rf "$ROOT/payload/sysroot"
fi
printf '%s\n' "${CONFIGS[0]}" > "$ROOT/etc/vm-config"

# Uncompressed by default: under TCG the guest kernel's gunzip of a ~90 MB
# payload costs seconds, more than qemu's reading the bigger file.
# VM_INITRD_GZIP=1 compresses it (gzip -1) instead.
if [ "${VM_INITRD_GZIP:-0}" = 1 ]; then INITRD=$WORK/initrd.gz; INITRD_COMPRESS="gzip -1"
else INITRD=$WORK/initrd.cpio; INITRD_COMPRESS="cat"; fi
if command -v cpio >/dev/null; then
    (cd "$ROOT" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet) | $INITRD_COMPRESS > "$INITRD"
else
    (cd "$ROOT" && find . | LC_ALL=C sort | "$BUSYBOX" cpio -o -H newc -R 0:0) | $INITRD_COMPRESS > "$INITRD"
fi || die "building the initramfs failed"
T_INITRD=$(( $(now_ms) - T_BUILD - P_MS ))   # without the payload's own time
log "initramfs: $(du -sh "$ROOT" | cut -f1) unpacked, $(du -h "$INITRD" | cut -f1) as $(basename "$INITRD"), built in $(secs $T_INITRD)s (payload: $PAYLOAD)"
TIMINGS+="initramfs=$(secs $T_INITRD)s"

# ------------------------------------------------------------------ boot
declare -A R_STATUS R_BOOT R_TOTAL R_PASS R_FAIL R_SKIP R_NOTE
run_config() {
    local cfg=$1 log=$OUT/$1.log append start el boot_ms='' panic=0 timedout=0 panic_ms=0 tailpid=''
    append="console=ttyS0 panic=-1 quiet vm.config=$cfg ${CMDLINE[$cfg]} ${VM_APPEND:-}"
    log "[$cfg] booting: $append"
    start=$(now_ms)
    # thread=single: with multi-threaded TCG (qemu 7.2) a vCPU can keep running a stale
    # translation of kernel text that the other vCPU just live-patched (the first CFS quota
    # write flips a static key), and loops on the int3 forever: the guest freezes at step05's
    # first run, about 1 boot in 140 (a quota on/off stress loop froze 3 of 3 guests;
    # single-threaded TCG passed 3 of 3 with 1500 switches each).
    qemu-system-x86_64 -accel tcg,thread="${VM_TCG_THREAD:-single}" -cpu "$VM_CPU" -m "$VM_MEM" -smp "$VM_SMP" \
        -nographic -no-reboot -nic none \
        -kernel "$BOOT_KERNEL" -initrd "$INITRD" -append "$append" \
        < /dev/null > "$log" 2>&1 &
    QPID=$!
    if [ "${VM_VERBOSE:-0}" = 1 ]; then tail -n +1 -f --pid=$QPID "$log" & tailpid=$!; fi
    while kill -0 "$QPID" 2>/dev/null; do
        sleep 0.25
        el=$(( $(now_ms) - start ))
        [ -z "$boot_ms" ] && grep -qa '^VM-READY' "$log" && boot_ms=$el
        if [ $panic = 0 ] && grep -qa 'Kernel panic' "$log"; then panic=1; panic_ms=$el; fi
        if [ $panic = 1 ] && [ $((el - panic_ms)) -gt 10000 ]; then kill -9 "$QPID" 2>/dev/null; fi
        if [ "$el" -gt $((VM_TIMEOUT * 1000)) ]; then
            timedout=1; kill "$QPID" 2>/dev/null; sleep 2; kill -9 "$QPID" 2>/dev/null
        fi
    done
    wait "$QPID" 2>/dev/null; local qrc=$?
    QPID=
    [ -n "$tailpid" ] && { sleep 0.3; kill "$tailpid" 2>/dev/null; wait "$tailpid" 2>/dev/null; }
    el=$(( $(now_ms) - start ))
    grep -qa 'Kernel panic' "$log" && panic=1
    # A guest that is done within one poll: derive the boot time from its own
    # clock (uptime at VM-READY and at VM-GUEST-EXIT).
    local up_r up_x
    up_r=$(tr -d '\r' < "$log" | sed -n 's/^VM-READY .*uptime=\([0-9.]*\).*/\1/p' | tail -n 1)
    up_x=$(tr -d '\r' < "$log" | sed -n 's/^VM-GUEST-EXIT .*uptime=\([0-9.]*\).*/\1/p' | tail -n 1)
    if [ -n "$up_r" ] && { [ -z "$boot_ms" ] || [ $((el - boot_ms)) -lt 1000 ]; }; then
        if [ -n "$up_x" ]; then boot_ms=$(awk -v e="$el" -v r="$up_r" -v x="$up_x" 'BEGIN { printf "%d", e - (x - r) * 1000 }')
        else boot_ms=$el; fi
    fi

    local clean=$OUT/$cfg.results
    tr -d '\r' < "$log" | grep -aE '^(PASS|FAIL|SKIP) ' > "$clean"
    local np nf ns grc notes=()
    np=$(grep -c '^PASS ' "$clean"); nf=$(grep -c '^FAIL ' "$clean"); ns=$(grep -c '^SKIP ' "$clean")
    grc=$(tr -d '\r' < "$log" | sed -n 's/^VM-GUEST-EXIT rc=\([0-9]*\).*/\1/p' | tail -n 1)
    [ $timedout = 1 ] && notes+=("TIME-OUT after ${VM_TIMEOUT}s")
    # A frozen guest (both vCPUs stuck) never gets to print INFO hang lines; its kernel
    # still reports soft lock-ups, which tell it apart from a step that hangs.
    grep -qa 'soft lockup' "$log" && notes+=("the guest kernel reported soft lock-ups: $(grep -a -m1 'soft lockup' "$log" | sed 's/^.*\] //' | tr -d '\r')")
    [ $panic = 1 ] && notes+=("KERNEL PANIC")
    [ -z "$boot_ms" ] && notes+=("never reached VM-READY")
    [ -n "$boot_ms" ] && [ -z "$grc" ] && [ $timedout = 0 ] && notes+=("guest.sh did not finish (qemu rc=$qrc)")
    [ -n "$grc" ] && [ "$grc" != 0 ] && notes+=("guest.sh exit $grc")
    [ $((np + nf)) = 0 ] && notes+=("no PASS/FAIL results")
    [ "$nf" -gt 0 ] && notes+=("$nf FAIL")

    echo
    echo "==== $cfg: $(tr -d '\r' < "$log" | sed -n 's/^VM-READY //p' | tail -n 1)"
    if [ -s "$clean" ]; then
        awk '{ st=$1; n=$2; $1=""; $2=""; sub(/^  */, ""); printf "  %-4s  %-22s %s\n", st, n, $0 }' "$clean"
    fi
    tr -d '\r' < "$log" | grep -a '^vm-init: insmod' | sed 's/^/  /'
    if [ ${#notes[@]} -gt 0 ]; then
        R_STATUS[$cfg]=FAILED
        echo "  -- problems: ${notes[*]}; last lines of $log:"
        tr -d '\r' < "$log" | grep -avE '^(PASS|FAIL|SKIP|INFO) ' | tail -n 25 | sed 's/^/  | /'
    else
        R_STATUS[$cfg]=OK
    fi
    R_BOOT[$cfg]=${boot_ms:+$(secs "$boot_ms")s}
    R_TOTAL[$cfg]=$(secs "$el")s
    R_PASS[$cfg]=$np; R_FAIL[$cfg]=$nf; R_SKIP[$cfg]=$ns
    R_NOTE[$cfg]=${notes[*]:-}
}

# A guest that hangs (no FAIL, no result, only the time-out) is booted once more:
# TCG emulation has hung here on its own (KVM always does), and one stuck boot
# should not hide a green kit. Its log is kept, and the summary says so. A guest
# that hangs twice, or reports a FAIL, fails the stage. VM_RETRIES=0 turns this off.
for c in "${CONFIGS[@]}"; do
    run_config "$c"
    if [ "${R_STATUS[$c]}" != OK ] && [ "${R_FAIL[$c]}" = 0 ] && [[ ${R_NOTE[$c]} == *TIME-OUT* ]] \
        && [ "${VM_RETRIES:-1}" -gt 0 ]; then
        mv "$OUT/$c.log" "$OUT/$c.timed-out.log"
        log "[$c] timed out without a FAIL (log kept in $OUT/$c.timed-out.log): booting it once more"
        first="${R_TOTAL[$c]}"
        run_config "$c"
        R_NOTE[$c]="retried after a TIME-OUT at $first without a FAIL${R_NOTE[$c]:+; }${R_NOTE[$c]}"
    fi
done

echo
echo "==== summary: guest $GUEST_NAME, kernel $KVER, qemu TCG (one thread), ${VM_SMP} CPUs, ${VM_MEM} MiB"
echo "  timings: $TIMINGS"
printf '  %-6s %-8s %-9s %-9s %5s %5s %5s  %s\n' config result boot run pass fail skip notes
rc=0
for c in "${CONFIGS[@]}"; do
    printf '  %-6s %-8s %-9s %-9s %5s %5s %5s  %s\n' "$c" "${R_STATUS[$c]}" "${R_BOOT[$c]:--}" "${R_TOTAL[$c]}" \
        "${R_PASS[$c]}" "${R_FAIL[$c]}" "${R_SKIP[$c]}" "${R_NOTE[$c]}"
    [ "${R_STATUS[$c]}" = OK ] || rc=1
done
echo "  (boot = qemu start -> VM-READY; run = qemu start -> power off; whole run.sh: $(secs $(( $(now_ms) - T_ALL )))s; logs in $OUT)"
exit $rc
