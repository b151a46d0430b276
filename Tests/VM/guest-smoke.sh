#!/bin/sh
# guest-smoke.sh CONFIG  (v1|v2) -- runs INSIDE the VM under busybox ash.
# Validates the guest itself before the real kit runs in it: the cgroup layout
# and that cpu / memory / pids / cpuset limits really bite, plus namespaces,
# user namespaces, seccomp, overlayfs, pivot_root, devpts and (if present in
# the payload) a dynamically linked Swift program.
# Result lines read by run.sh:  PASS|FAIL|SKIP <name> <observed value...>
# INFO lines are only shown in the log.
# shellcheck disable=SC2013,SC2012,SC2015,SC2016  # word lists, ls output and single-quoted sh -c are on purpose
CONFIG=${1:-$VM_CONFIG}
CG=/sys/fs/cgroup
P=/payload
PROBE=$P/bin/vmprobe

pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; }
skip() { echo "SKIP $*"; }
info() { echo "INFO $*"; }
field() { awk -v k="$1" '$1==k {print $2; exit}' "$2" 2>/dev/null; }   # field KEY FILE
between() { [ -n "$1" ] && [ "$1" -ge "$2" ] 2>/dev/null && [ "$1" -le "$3" ]; }
# Kill what is left in a group and remove it (v2 or one v1 hierarchy).
cg_rm() {
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        [ -d "$1" ] || return 0
        for p in $(cat "$1/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
        rmdir "$1" 2>/dev/null && return 0
        sleep 0.5
    done
    echo "INFO could not remove $1"
}
# Memory hog: dd's 100 MiB buffer is touched by read(2) from /dev/zero.
HOG='exec dd if=/dev/zero of=/dev/null bs=100M count=1'
MIB=1048576

info "config=$CONFIG kernel=$(uname -r) cmdline=$(cat /proc/cmdline)"
info "/proc/self/cgroup: $(tr '\n' ' ' < /proc/self/cgroup)"
info "/proc/cgroups: $(awk 'NR>1 {printf "%s(h%s,en%s) ", $1, $2, $4}' /proc/cgroups)"
info "cgroup mounts: $(awk '$3 ~ /^cgroup/ || $2 == "/sys/fs/cgroup" {printf "%s:%s:%s ", $2, $3, $4}' /proc/mounts)"
info "unprivileged_userns_clone=$(cat /proc/sys/kernel/unprivileged_userns_clone 2>/dev/null || echo n/a) max_user_namespaces=$(cat /proc/sys/user/max_user_namespaces)"

# ---------------------------------------------------------------- layout
# busybox stat knows no cgroup2 name (UNKNOWN): show the magic too
# (0x63677270 cgroup2, 0x27e0eb cgroup v1, 0x01021994 tmpfs).
fstype="$(stat -f -c %T $CG)/0x$(stat -f -c %t $CG)"
case "$fstype" in UNKNOWN/0x63677270) fstype="cgroup2fs(busybox: UNKNOWN)/0x63677270" ;; esac
n_v1=$(awk '$3 == "cgroup"' /proc/mounts | wc -l)
n_v2=$(awk '$3 == "cgroup2"' /proc/mounts | wc -l)
if [ "$CONFIG" = v2 ]; then
    ctrls=$(cat $CG/cgroup.controllers 2>/dev/null)
    ok=1
    [ "$(awk '$2 == "/sys/fs/cgroup" {print $3}' /proc/mounts)" = cgroup2 ] || ok=0
    [ "$(stat -f -c %t $CG)" = 63677270 ] || ok=0
    [ "$n_v1" = 0 ] && [ "$n_v2" = 1 ] || ok=0
    for c in cpu memory pids; do case " $ctrls " in *" $c "*) ;; *) ok=0 ;; esac; done
    if [ $ok = 1 ]; then pass layout "v2 fstype=$fstype controllers=[$ctrls] v1-mounts=$n_v1 cgroup2-mounts=$n_v2"
    else fail layout "v2 fstype=$fstype controllers=[$ctrls] v1-mounts=$n_v1 cgroup2-mounts=$n_v2"; fi
else
    ok=1; seen=
    [ "$(awk '$2 == "/sys/fs/cgroup" {print $3}' /proc/mounts)" = tmpfs ] || ok=0
    [ "$n_v2" = 0 ] || ok=0
    for c in cpu cpuacct memory pids cpuset devices freezer blkio; do
        real=$(readlink -f $CG/$c)
        if awk -v d="$real" -v c="$c" '$2 == d && $3 == "cgroup" && ("," $4 ",") ~ ("," c ",") {f=1} END {exit !f}' /proc/mounts; then
            seen="$seen $c"
        else ok=0; seen="$seen !$c"; fi
    done
    if [ $ok = 1 ]; then pass layout "v1 fstype=$fstype hierarchies=[$(ls $CG | tr '\n' ' ')] controllers=[$seen ] cgroup2-mounts=$n_v2"
    else fail layout "v1 fstype=$fstype hierarchies=[$(ls $CG | tr '\n' ' ')] controllers=[$seen ] cgroup2-mounts=$n_v2"; fi
fi

# Per-configuration helpers: the group for controller $1 named $2, how to
# join it, and the files that differ.
if [ "$CONFIG" = v2 ]; then
    echo "+cpu +memory +pids +cpuset" > $CG/cgroup.subtree_control 2>/dev/null
    info "root subtree_control: $(cat $CG/cgroup.subtree_control)"
    grp() { echo "$CG/$2"; }
else
    grp() { echo "$CG/$1/$2"; }
fi
join() { echo "echo \$\$ > $1/cgroup.procs || exit 99"; }   # a command string for sh -c

# ---------------------------------------------------------------- cpu quota
G=$(grp cpu smoke-cpu); mkdir -p "$G"
if [ "$CONFIG" = v2 ]; then
    echo "10000 100000" > "$G/cpu.max"; lim="cpu.max=$(tr ' ' / < "$G/cpu.max")"
else
    echo 100000 > "$G/cpu.cfs_period_us"; echo 10000 > "$G/cpu.cfs_quota_us"
    lim="cfs_quota_us/cfs_period_us=$(cat "$G/cpu.cfs_quota_us")/$(cat "$G/cpu.cfs_period_us")"
fi
sh -c "$(join "$G"); while :; do :; done" &
pid=$!
sleep 3
kill $pid; wait $pid 2>/dev/null
if [ "$CONFIG" = v2 ]; then
    usec=$(field usage_usec "$G/cpu.stat")
else
    usec=$(( $(cat "$(grp cpuacct smoke-cpu)/cpuacct.usage") / 1000 ))
fi
thr=$(field nr_throttled "$G/cpu.stat")
cg_rm "$G"
obs="usage=$((usec / 1000))ms (expect ~300) over 3s, $lim nr_throttled=$thr"
if between "$usec" 150000 500000 && [ "${thr:-0}" -gt 0 ]; then pass cpu-quota "$obs"; else fail cpu-quota "$obs"; fi

# ---------------------------------------------------------------- memory
# a) 200 MiB limit: the hog really allocates its 100 MiB and survives.
G=$(grp memory smoke-mem-ok); mkdir -p "$G"
if [ "$CONFIG" = v2 ]; then echo $((200 * MIB)) > "$G/memory.max"; else echo $((200 * MIB)) > "$G/memory.limit_in_bytes"; fi
sh -c "$(join "$G"); $HOG" 2>/dev/null; rc_ok=$?
if [ "$CONFIG" = v2 ]; then peak=$(cat "$G/memory.peak"); else peak=$(cat "$G/memory.max_usage_in_bytes"); fi
cg_rm "$G"
obs="limit=200MiB hog-rc=$rc_ok peak=$((peak / MIB))MiB"
if [ "$rc_ok" = 0 ] && [ "$peak" -ge $((100 * MIB)) ]; then pass memory-hog-allocates "$obs"; else fail memory-hog-allocates "$obs"; fi

# b) 50 MiB limit: the same hog is OOM-killed and the kernel counts it.
G=$(grp memory smoke-mem-oom); mkdir -p "$G"
if [ "$CONFIG" = v2 ]; then
    echo $((50 * MIB)) > "$G/memory.max"
    [ -f "$G/memory.swap.max" ] && echo 0 > "$G/memory.swap.max"
else
    echo $((50 * MIB)) > "$G/memory.limit_in_bytes"
fi
sh -c "$(join "$G"); $HOG" 2>/dev/null; rc=$?
if [ "$CONFIG" = v2 ]; then
    ooms=$(field oom_kill "$G/memory.events"); lim="memory.max=$(($(cat "$G/memory.max") / MIB))MiB"
    extra="memory.events:oom=$(field oom "$G/memory.events") max=$(field max "$G/memory.events")"
else
    ooms=$(field oom_kill "$G/memory.oom_control"); lim="limit_in_bytes=$(($(cat "$G/memory.limit_in_bytes") / MIB))MiB"
    extra="failcnt=$(cat "$G/memory.failcnt") max_usage=$(($(cat "$G/memory.max_usage_in_bytes") / MIB))MiB oom_control:$(tr '\n' ' ' < "$G/memory.oom_control")"
fi
cg_rm "$G"
obs="$lim hog-rc=$rc oom_kill=$ooms $extra"
if [ "$rc" = 137 ] && [ "${ooms:-0}" -ge 1 ]; then pass memory-oom "$obs"; else fail memory-oom "$obs"; fi

# ---------------------------------------------------------------- pids
G=$(grp pids smoke-pids); mkdir -p "$G"
echo 5 > "$G/pids.max"
sh -c "$(join "$G"); for i in 1 2 3 4 5 6 7 8 9 10; do sleep 2 & done; wait" >/dev/null 2>&1
evmax=$(field max "$G/pids.events")
cg_rm "$G"
obs="pids.max=5 10-forks-tried pids.events:max=$evmax"
if [ "${evmax:-0}" -ge 1 ]; then pass pids-limit "$obs"; else fail pids-limit "$obs"; fi

# ---------------------------------------------------------------- cpuset
G=$(grp cpuset smoke-cpuset); mkdir -p "$G"
if [ "$CONFIG" = v2 ]; then
    eff=$(cat "$G/cpuset.cpus.effective")
    echo 1 > "$G/cpuset.cpus"
    got=$(sh -c "$(join "$G"); grep Cpus_allowed_list /proc/self/status" | awk '{print $2}')
    obs="child cpus.effective=$eff, after cpuset.cpus=1 Cpus_allowed_list=$got"
    if [ "$got" = 1 ]; then pass cpuset "$obs"; else fail cpuset "$obs"; fi
else
    empty="cpus='$(cat "$G/cpuset.cpus")' mems='$(cat "$G/cpuset.mems")'"
    if sh -c "$(join "$G")" 2>/dev/null; then early="join-ok"; else early="join-refused"; fi
    echo 1 > "$G/cpuset.cpus"; echo 0 > "$G/cpuset.mems"
    got=$(sh -c "$(join "$G"); grep Cpus_allowed_list /proc/self/status" | awk '{print $2}')
    obs="new child $empty -> $early; after cpus=1 mems=0 Cpus_allowed_list=$got"
    if [ "$got" = 1 ]; then pass cpuset "$obs"; else fail cpuset "$obs"; fi
fi
cg_rm "$G"

# ---------------------------------------------------------------- namespaces
outer="$(readlink /proc/self/ns/net) $(readlink /proc/self/ns/ipc)"
out=$(unshare -p -f -m -u -i -n --mount-proc sh -c 'hostname ctr; echo "pid=$$ host=$(hostname) procs=$(ls -d /proc/[0-9]* | wc -l) $(readlink /proc/self/ns/net) $(readlink /proc/self/ns/ipc)"' 2>&1)
case "$out" in
    *"$outer"*) fail namespaces "net/ipc namespace not new: $out" ;;
    "pid=1 host=ctr "*) pass namespaces "$out (unshare -pfmuin; host=$(hostname))" ;;
    *) fail namespaces "$out" ;;
esac
[ -e /proc/self/ns/cgroup ] && [ -e /proc/self/ns/time ] && pass ns-files "$(ls /proc/self/ns | tr '\n' ' ')" || fail ns-files "$(ls /proc/self/ns | tr '\n' ' ')"

# ---------------------------------------------------------------- user namespaces
out=$(unshare -U -r sh -c 'echo "uid=$(id -u) map=$(cat /proc/self/uid_map | tr -s " " | sed "s/^ //")"' 2>&1)
case "$out" in uid=0*) pass userns-root "$out" ;; *) fail userns-root "$out" ;; esac
if [ -x $PROBE ]; then
    out=$($PROBE userns 2>&1)
    case "$out" in ok*) pass userns-unprivileged "$out" ;; *) fail userns-unprivileged "$out" ;; esac
else skip userns-unprivileged "no $PROBE"; fi

# ---------------------------------------------------------------- seccomp
st=$(awk '/^Seccomp:/ {print $2}' /proc/self/status)
if [ -x $PROBE ]; then
    out=$($PROBE seccomp 2>&1)
    case "$out" in ok*) pass seccomp "$out; actions: $(cat /proc/sys/kernel/seccomp/actions_avail)" ;; *) fail seccomp "$out" ;; esac
elif [ -n "$st" ]; then skip seccomp "no $PROBE; Seccomp:$st in /proc/self/status"
else fail seccomp "no Seccomp field in /proc/self/status"; fi

# ---------------------------------------------------------------- overlayfs
T=/tmp/ovl; mkdir -p $T/lower $T/upper $T/work $T/merged
echo lower > $T/lower/a; echo keep > $T/lower/b
if mount -t overlay overlay -o lowerdir=$T/lower,upperdir=$T/upper,workdir=$T/work $T/merged 2>/tmp/ovl.err; then
    echo changed > $T/merged/a; rm $T/merged/b; echo new > $T/merged/c
    wh=$(stat -c '%F %t,%T' $T/upper/b 2>/dev/null)
    obs="lower/a=$(cat $T/lower/a) merged/a=$(cat $T/merged/a) upper/a=$(cat $T/upper/a) lower/b=$(cat $T/lower/b) merged/b=$([ -e $T/merged/b ] && echo present || echo gone) upper/b=[$wh]"
    umount $T/merged
    if [ "$(cat $T/lower/a)" = lower ] && [ "$(cat $T/upper/a)" = changed ] && [ -c $T/upper/b ] && [ -f $T/lower/b ]; then
        pass overlayfs "$obs"; else fail overlayfs "$obs"; fi
else fail overlayfs "mount: $(cat /tmp/ovl.err)"; fi

# ---------------------------------------------------------------- pivot_root into an overlay rootfs
R=/tmp/ctr; mkdir -p $R/lower $R/upper $R/work $R/rootfs
tarball=$(ls $P/alpine-minirootfs-*.tar.gz 2>/dev/null | head -n 1)
if [ -n "$tarball" ]; then
    tar -xzf "$tarball" -C $R/lower; what=$(basename "$tarball" .tar.gz)
else
    mkdir -p $R/lower/bin $R/lower/proc $R/lower/etc; cp /bin/busybox $R/lower/bin/
    for a in sh cat wc echo ls mkdir rmdir mount umount; do ln -s busybox $R/lower/bin/$a; done; what=busybox-root
fi
mount -t overlay overlay -o lowerdir=$R/lower,upperdir=$R/upper,workdir=$R/work $R/rootfs
# The guest's / is shared (like under systemd): the new namespace must go private first.
out=$(unshare -m -p -f sh -c "
    mount --make-rprivate / || exit 11
    cd $R/rootfs && mkdir -p .oldroot
    pivot_root . .oldroot || exit 12
    cd /
    mount -t proc proc /proc || exit 13
    umount -l /.oldroot && rmdir /.oldroot || exit 14
    exec /bin/sh -c 'echo \"root=\$(cat /etc/alpine-release 2>/dev/null || echo busybox) pid=\$\$ mounts=\$(wc -l < /proc/mounts) oldroot=\$(ls -d /.oldroot 2>/dev/null || echo gone)\"'
" 2>&1); rc=$?
umount $R/rootfs 2>/dev/null
if [ $rc = 0 ] && echo "$out" | grep -q 'pid=1 .*oldroot=gone'; then pass pivot_root "$what: $out"
else fail pivot_root "$what: rc=$rc $out"; fi

# ---------------------------------------------------------------- devpts / tmpfs / proc / sysfs
types=$(awk '$2=="/proc"||$2=="/sys"||$2=="/dev"||$2=="/dev/pts"||$2=="/tmp"||$2=="/run" {printf "%s=%s ", $2, $3}' /proc/mounts)
newpts=$(unshare -m sh -c 'mount -t devpts -o newinstance,ptmxmode=0666 devpts /mnt && ls /mnt | tr "\n" " "' 2>&1)
if [ -x $PROBE ]; then pty=$($PROBE pty 2>&1); else pty="ok (no probe)"; fi
case "$types $pty" in
    *"/proc=proc"*"/sys=sysfs"*"/dev=devtmpfs"*"/dev/pts=devpts"*"/tmp=tmpfs"*"/run=tmpfs"*" ok"*)
        pass filesystems "$types| pty: $pty | newinstance devpts: $newpts" ;;
    *) fail filesystems "$types| pty: $pty | newinstance devpts: $newpts" ;;
esac

# ---------------------------------------------------------------- a dynamically linked Swift program
if [ -x $P/bin/swift-probe ]; then
    out=$($P/bin/swift-probe 2>&1); rc=$?
    case "$out" in ok*) pass swift-dynamic "$out" ;; *) fail swift-dynamic "rc=$rc $out" ;; esac
else skip swift-dynamic "no $P/bin/swift-probe in the payload"; fi

info "smoke done, uptime $(cut -d' ' -f1 /proc/uptime)s"
exit 0
