// step05-cgroup: step04 plus a control group.
//
// Namespaces decide what a container can *see*; a cgroup decides how much it
// can *use*. The runtime makes a group for the container, writes its limits
// (CPU time per 100 ms, memory, number of tasks, which device nodes it may
// open) and puts the child in it before the child runs a single instruction
// of its own. Works on cgroup v2 (most machines) and v1 (older ones, and
// hybrids), detected at run time.
//
//   sudo swift run step05-cgroup -- sh -c 'while :; do :; done'   # held at 10% of one CPU
//   sudo swift run step05-cgroup -- --stats --memory 32m -- sh

import CLinux
import Glibc
import Workshop

let options = StepOptions.parseCommandLine(
    step: "step05-cgroup",
    abstract: "Run a command in new namespaces and an Alpine root, limited by a cgroup (10% of one CPU by default).",
    groups: [
        .output,
        .namespaces,
        .filesystem,
        .resources,     // NEW in step05: --cpus, --memory, --pids-limit, --stats, --ulimit
    ])
let say = Narrator(step: "step05-cgroup", quiet: options.output.quiet)

exitOnFailure(step: "step05-cgroup") {
    try requireRoot(step: "step05-cgroup")

    let image = try Image.prepare(rootfs: options.filesystem.rootfs)
    let run = try ContainerRun(image: image)

    var flags: Int32 = 0
    flags |= WS_CLONE_NEWUTS     // hostname and domain name
    flags |= WS_CLONE_NEWPID     // process IDs: the child is PID 1
    flags |= WS_CLONE_NEWNS      // the mount table
    flags |= WS_CLONE_NEWIPC     // System V IPC and POSIX message queues
    if options.namespaces.network == .none {
        flags |= WS_CLONE_NEWNET // network devices, addresses, ports: only lo
    }

    // ── NEW in step05: the control group, made before the child exists ──
    let limits = CgroupLimits(cpus: options.resources.cpus, memory: options.resources.memory?.bytes,
                              pids: options.resources.pidsLimit)
    let group = try ControlGroup(id: run.id, limits: limits)
    // ── NEW in step05: which device nodes it may open: only the standard ones (runc's list).
    // Root in the container can mknod any node; without this it could then open the host's disk.
    // v1: devices.deny and devices.allow; v2 has no such files: an eBPF program attached to the group.
    let devices = try group.restrictDevices(to: DeviceRule.containerDefaults)
    // On cgroup v2 the child can be *born* in the group: clone3(CLONE_INTO_CGROUP).
    let groupDirectory = group.openForClone()

    let container = try Container.start(flags: flags, cgroupDirectory: groupDirectory, stdio: options.output) {
        // ── Here we are the child, inside the new namespaces. ──
        try check(sethostname(options.namespaces.hostname, options.namespaces.hostname.utf8.count),
                  "sethostname")
        try check(mount(nil, "/", nil, WS_MS_REC | WS_MS_PRIVATE, nil), "make / private (mount --make-rprivate /)")

        // The image below (read-only), this run's directory above: writes land there.
        try mountOverlay(run)
        let root = run.rootfs
        try mountProc(in: root)

        // The standard container mounts, made inside the new root.
        try mountDev(in: root, bindHostDevices: false)   // tmpfs + null, zero, full, random, urandom, tty, pts, shm
        try mountSys(in: root, newInstance: true)         // read-only
        try protectKernelPaths(in: root)                  // mask /proc/kcore & co, /proc/sys read-only

        if options.namespaces.network == .none {
            try check(ws_link_up("lo"), "bring lo up")
        }

        // pivot_root needs the new root to be a mount point: the overlay is one.
        // (runc bind-mounts a bundle's plain rootfs directory onto itself for this.)
        try check(chdir(root), "chdir \(root)")
        // pivot_root(".", "."): the new root becomes "/", and the old root is
        // stacked on top of it at the same place...
        try check(ws_pivot_root(".", "."), "pivot_root")
        // ...from where we detach it: the host's tree is no longer reachable at all.
        try check(umount2(".", WS_MNT_DETACH), "detach the old root (umount2 MNT_DETACH)")
        try check(chdir("/"), "chdir /")
        if options.filesystem.tryEscape {
            try attemptChrootEscape()   // the attack of chapter 03: it stays inside
        }

        try execute(options.command.command, environment: containerEnvironment(hostname: options.namespaces.hostname),
                    init: options.namespaces.runsInit)
    }

    say.say("clone(\(describeCloneFlags(flags))) made a child: PID \(container.pid) on the host, PID 1 inside")
    say.say("image: \(image.source) " + (image.unpackMilliseconds.map {
        "unpacked with libarchive in \(formatDecimal($0, places: 0)) ms into \(image.path)" } ?? "(cached: \(image.path))"))
    say.say("inside: overlay on \(run.rootfs); proc (kcore, keys... masked; sys, sysrq-trigger read-only), /dev tmpfs, /sys read-only")
    say.say("then pivot_root(\".\", \".\") and umount2(old root, MNT_DETACH): the host's files are gone, not just hidden")
    if options.filesystem.tryEscape {
        say.say("--try-escape: inside, mkdir /.escape; chroot(\"/.escape\"); chdir(\"..\") x256; chroot(\".\") before the command")
    }
    say.look("cat /proc/\(container.pid)/mountinfo        # only the container's mounts")
    say.look("ls -l /proc/\(container.pid)/root/dev/       # the devices it may use")

    // ── NEW in step05: otherwise the parent moves it in, while it still waits on the sync pipe ──
    if !container.bornInCgroup {
        try group.add(container.pid)
    }
    if let groupDirectory { close(groupDirectory) }
    // ── NEW in step05: per-process limits (setrlimit), set from here before it runs: nofile 1024 and --ulimit ──
    try applyResourceLimits(options.resources.resourceLimits, to: container.pid)

    say.say("\(group.layout.description)")
    say.say("group \(ControlGroup.parentName)/\(group.id): " + group.written.joined(separator: ", "))
    say.say(container.bornInCgroup
        ? "the child was born in it: clone3(CLONE_INTO_CGROUP)"
        : "the child was moved in (its PID written to cgroup.procs) before it was released")
    say.say(devices.said)   // NEW in step05
    let other: CgroupLayout = group.layout.isV2 ? .hybrid : .unified
    say.say("on \(other.isV2 ? "cgroup v2" : "cgroup v1") it would write: "
        + limits.files(for: other).map { "\($0.file) = \($0.value)" }.joined(separator: ", "))
    say.look("cat \(group.directories["cpu"]!)/\(group.layout.isV2 ? "cpu.max" : "cpu.cfs_quota_us")   # the limit")
    say.look("cat /proc/\(container.pid)/cgroup; top -p \(container.pid)   # its group, and the CPU it gets")
    say.look(devices.look)   // NEW in step05
    say.say("rlimits: " + options.resources.resourceLimits.map(\.description).joined(separator: ", "))   // NEW in step05
    say.look("grep -E 'open files|processes' /proc/\(container.pid)/limits")   // NEW in step05

    try container.release()
    let stats = options.resources.stats ? StatsMonitor(group: group, narrator: say) : nil
    let status = container.waitForExit(tick: stats.map { monitor in { monitor.tick() } })
    // The last sample, taken before the group is removed.
    let final = group.stop()
    stats?.summary(final: final, exitCode: status)
    if let final, final.oomKills > 0, stats == nil {
        say.say("the kernel OOM-killed \(final.oomKills) process(es) at the memory limit")
    }
    finish(status)
}
