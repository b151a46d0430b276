#!/bin/sh
# /init of the test VM's initramfs (run by busybox ash, built by run.sh).
#
# Stage 1 (on the kernel's initramfs "rootfs"): copy everything onto a real
# tmpfs mount and switch_root into it.  Reason: pivot_root(2) refuses to move
# the initramfs rootfs (EINVAL: it has no parent mount), so a container kit
# calling pivot_root would fail in a plain initramfs although it works on any
# real distro.  After switch_root the root is a tmpfs mounted on top of rootfs,
# like a disk root, and pivot_root works inside new mount namespaces.
#
# Stage 2: mount the API filesystems, load modules, set up the cgroup layout
# chosen by "vm.config=v1|v2" on the kernel command line, bring up lo, run
# /payload/guest.sh CONFIG and power off.  Markers for the host (run.sh):
#   VM-READY config=.. uptime=..   set-up done, guest.sh starts
#   VM-GUEST-EXIT rc=..            guest.sh finished
# shellcheck disable=SC2013,SC2012,SC2093  # word lists on purpose; exec fails only on error
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/root

say() { read -r _up _ < /proc/uptime; echo "vm-init: [$_up] $*"; }

if [ "$1" != "stage2" ]; then
    mount -t proc proc /proc
    if grep -qw vm.noswitchroot /proc/cmdline; then   # debugging knob: stay on rootfs
        umount /proc; exec /init stage2
    fi
    say "stage 1: copying the initramfs to a tmpfs"
    mkdir -p /newroot
    mount -t tmpfs -o mode=0755 root /newroot
    for e in /* /.[!.]*; do
        case "$e" in
            /newroot|/proc|/sys|/dev|'/.[!.]*') ;;
            *) cp -a "$e" /newroot/ ;;
        esac
    done
    mkdir -p /newroot/proc /newroot/sys /newroot/dev
    umount /proc
    exec switch_root /newroot /init stage2
    echo "vm-init: switch_root failed" >&2
    exec sh
fi

mount -t proc -o nosuid,nodev,noexec proc /proc
say "stage 2"
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
mount -t devtmpfs -o mode=0755,nosuid devtmpfs /dev
mkdir -p /dev/pts /dev/shm /tmp /run /root /etc /mnt
mount -t devpts -o nosuid,noexec,gid=5,mode=620,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o nosuid,nodev,mode=1777 shm /dev/shm
mount -t tmpfs -o nosuid,nodev,mode=1777 tmp /tmp
mount -t tmpfs -o nosuid,nodev,mode=0755 run /run
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
[ -e /dev/stdin ] || ln -s /proc/self/fd/0 /dev/stdin
[ -e /dev/stdout ] || ln -s /proc/self/fd/1 /dev/stdout
[ -e /dev/stderr ] || ln -s /proc/self/fd/2 /dev/stderr
# Keep kernel messages (OOM reports...) off the serial console so they cannot
# interleave with test output; panics (level 0) still get through.
echo 1 > /proc/sys/kernel/printk

# Like systemd: / is a shared mount, so a container kit has to make its mount
# namespace private itself (as it must on a real distro).
mount --make-rshared /

CONFIG=
for w in $(cat /proc/cmdline); do
    case "$w" in vm.config=*) CONFIG=${w#vm.config=} ;; esac
done
[ -n "$CONFIG" ] || CONFIG=$(cat /etc/vm-config 2>/dev/null)
export VM_CONFIG="$CONFIG"

# Modules, in dependency order (the host wrote the list, uncompressed .ko files).
KVER=$(uname -r)
if [ -f "/lib/modules/$KVER/load-order" ]; then
    while read -r m; do
        [ -n "$m" ] || continue
        if insmod "/lib/modules/$KVER/$m" 2>/tmp/insmod.err; then
            say "insmod $m ok"
        else
            say "insmod $m FAILED: $(cat /tmp/insmod.err)"
        fi
    done < "/lib/modules/$KVER/load-order"
fi

hostname vm
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up

CG=/sys/fs/cgroup
case "$CONFIG" in
v2)
    # Pure unified hierarchy, as systemd mounts it.
    mount -t cgroup2 -o nosuid,nodev,noexec,nsdelegate cgroup2 $CG
    if [ "${VM_CG2_BARE:-0}" != 1 ]; then
        # systemd enables every controller in the root's subtree_control.
        for c in $(cat $CG/cgroup.controllers); do
            echo "+$c" > $CG/cgroup.subtree_control 2>/dev/null || say "cannot enable +$c at the root"
        done
    fi
    say "cgroup2 at $CG: controllers: $(cat $CG/cgroup.controllers); root subtree_control: $(cat $CG/cgroup.subtree_control)"
    ;;
v1)
    # Pure legacy hierarchy, the layout systemd makes in "legacy" mode (and
    # Debian <= 10, RHEL/CentOS 7, Ubuntu <= 20.04 with unified_cgroup_hierarchy=0):
    # a tmpfs, one hierarchy per controller, cpu+cpuacct and net_cls+net_prio
    # co-mounted with symlinks for the single names.  No cgroup2 anywhere.
    mount -t tmpfs -o nosuid,nodev,noexec,mode=0755 cgroup $CG
    enabled=" $(awk 'NR>1 && $4==1 {printf "%s ", $1}' /proc/cgroups)"
    for h in cpuset cpu,cpuacct blkio memory devices freezer net_cls,net_prio perf_event hugetlb pids rdma misc; do
        ok=1
        for c in $(echo $h | tr , ' '); do
            case "$enabled" in *" $c "*) ;; *) ok=0 ;; esac
        done
        if [ $ok = 0 ]; then say "v1 controller(s) $h not available"; continue; fi
        mkdir -p $CG/$h
        if ! mount -t cgroup -o nosuid,nodev,noexec,$h cgroup $CG/$h; then
            say "cannot mount v1 hierarchy $h"; rmdir $CG/$h; continue
        fi
        case "$h" in *,*)
            for c in $(echo $h | tr , ' '); do ln -s "$h" "$CG/$c"; done ;;
        esac
    done
    # systemd leaves the tmpfs read-only.
    mount -o remount,ro $CG
    say "cgroup v1 hierarchies: $(ls $CG | tr '\n' ' ')"
    ;;
*)
    say "unknown config '$CONFIG' (expected v1 or v2)"
    ;;
esac

[ -f /etc/passwd ] || printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > /etc/passwd
[ -f /etc/group ] || printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' > /etc/group

read -r up _ < /proc/uptime
echo "VM-READY config=$CONFIG kernel=$KVER uptime=$up"

rc=0
if [ -f /payload/guest.sh ]; then
    cd /payload || exit 1
    # busybox ash runs it, whatever its #! line says (there is no bash here).
    sh /payload/guest.sh "$CONFIG"
    rc=$?
    cd /
else
    say "no /payload/guest.sh"
fi
read -r up _ < /proc/uptime
echo "VM-GUEST-EXIT rc=$rc uptime=$up"
sync
poweroff -f
