#!/bin/sh
# A guest payload that reproduces the qemu freeze described in Tests/VM/README.md
# ("When a guest hangs"): turning a group's CFS quota on and off makes the kernel
# live-patch its scheduler each time (the static key __cfs_bandwidth_used), while
# two loops keep both vCPUs scheduling. Pure v1 layout (cpu,cpuacct); on v2, cpu.max.
#   VM_PAYLOAD=Tests/VM/probes/quota-toggle Tests/VM/run.sh v1                        # passes
#   VM_TCG_THREAD=multi VM_TIMEOUT=120 VM_PAYLOAD=Tests/VM/probes/quota-toggle Tests/VM/run.sh v1   # froze 3 of 3
echo 1 > /proc/sys/kernel/softlockup_all_cpu_backtrace 2>/dev/null
if [ -d /sys/fs/cgroup/cpu,cpuacct ]; then
    G=/sys/fs/cgroup/cpu,cpuacct/toggle; on="10000"; off="-1"; file=cpu.cfs_quota_us
else
    echo +cpu > /sys/fs/cgroup/cgroup.subtree_control
    G=/sys/fs/cgroup/toggle; on="10000 100000"; off="max 100000"; file=cpu.max
fi
mkdir "$G" || { echo "FAIL toggles cannot create $G"; exit 1; }
( while :; do sh -c : ; done ) &
L1=$!
( while :; do sleep 0.01; done ) &
L2=$!
i=0; N=${TOGGLES:-1500}
while [ $i -lt $N ]; do
    echo "$on" > "$G/$file"
    echo "$off" > "$G/$file"
    i=$((i + 1)); [ $((i % 250)) = 0 ] && echo "INFO toggles $i at uptime $(cut -d' ' -f1 /proc/uptime)"
done
kill $L1 $L2; wait 2>/dev/null
rmdir "$G"
echo "PASS toggles $N quota switches ($file), guest alive"
