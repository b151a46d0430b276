// step06-capabilities: step05 plus a reduced capability set.
//
// Root in the container is still root: it can set the host's clock, load
// kernel modules, mount filesystems... Capabilities split root's power into
// about 40 pieces. Before exec, the container keeps only Docker's default 14
// (chown, kill, bind low ports...); everything else is gone for good, from
// the bounding set too, so not even a setuid program gets it back.
//
// Each layer's lines are marked `// [stepNN] …` … `// [/stepNN]` (or one line: a trailing `// [stepNN]`).
//
//   sudo swift run step06-capabilities -- sh -c 'grep Cap /proc/self/status; hostname x'
//   sudo swift run step06-capabilities -- --cap-add SYS_ADMIN hostname x

import CLinux
import Glibc
import Workshop

let options = StepOptions.parseCommandLine(
    abstract: "Run a command in new namespaces and an Alpine root, limited by a cgroup, with Docker's default capabilities.",
    groups: [
        .output,
        .namespaces,    // [step02] --hostname, --network, --init
        .filesystem,    // [step03] --rootfs, --try-escape
        .resources,     // [step05] --cpus, --memory, --pids-limit, --stats, --ulimit
        .privileges,    // [step06] --cap-add, --cap-drop
    ])
let narrator = Narrator(quiet: options.output.quiet)

exitOnFailure {
    try requireRoot()

    // [step03] the image (cached after the first run) and this run's writable layer
    let image = try Image.prepare(rootfs: options.filesystem.rootfs)
    let run = try RunDirectory(image: image)
    // [/step03]

    // [step01] clone(2) a child that runs the command; SIGCHLD tells us when it exits
    // [step01 stub] throw Failure("step01 is not written yet: see Chapters/01-clone.md")
    let flags: Int32 = 0
        | WS_CLONE_NEWUTS    // [step02] hostname and domain name
        | WS_CLONE_NEWPID    // [step02] process IDs: the child is PID 1
        | WS_CLONE_NEWNS     // [step02] the mount table
        | WS_CLONE_NEWIPC    // [step02] System V IPC and POSIX message queues
        | (options.namespaces.network == .none ? WS_CLONE_NEWNET : 0)   // [step02] network: only lo

    // [step06] which capabilities the container keeps
    let capabilities = try options.privileges.capabilities()
    // [/step06]

    // [step05] the control group, made before the child exists
    let limits = CgroupLimits(cpus: options.resources.cpus, memory: options.resources.memory?.bytes,
                              pids: options.resources.pidsLimit)
    // Its directories: workshop/<id> in the one v2 tree, or in each v1 controller's hierarchy.
    let group = try ControlGroup(id: run.id, limits: limits)
    // The limits are files in it; v2 and v1 name them differently (the table above).
    // CPU: run time per period, in µs (10% of one CPU: 10000 of every 100000).
    if group.layout.isV2 {
        try group.write("cpu", "cpu.max", "\(limits.cpuQuota) \(CgroupLimits.cpuPeriod)")
    } else {
        try group.write("cpu", "cpu.cfs_period_us", "\(CgroupLimits.cpuPeriod)")
        try group.write("cpu", "cpu.cfs_quota_us", "\(limits.cpuQuota)")
    }
    // Memory: the most it may use, and no swap beyond it (v1 counts memory and swap together).
    if let memory = limits.memory {
        try group.write("memory", group.layout.isV2 ? "memory.max" : "memory.limit_in_bytes", "\(memory)")
        try group.write("memory", group.layout.isV2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes",
                        group.layout.isV2 ? "0" : "\(memory)", ifPresent: true)
    }
    // Tasks (processes and threads): the same file on both.
    if let pids = limits.pids {
        try group.write("pids", "pids.max", "\(pids)")
    }
    // which device nodes it may open: only the standard ones (runc's list).
    // Root in the container can mknod any node; without this it could then open the host's disk.
    // v1: devices.deny and devices.allow; v2 has no such files: an eBPF program attached to the group.
    let devices = try group.restrictDevices(to: DeviceRule.containerDefaults)
    // On cgroup v2 the child can be *born* in the group: clone3(CLONE_INTO_CGROUP).
    let groupDirectory = group.openForClone()
    // [step05 stub] let container = try ContainerProcess.start(flags: flags, stdio: options.output) {
    let container = try ContainerProcess.start(flags: flags, cgroupDirectory: groupDirectory, stdio: options.output) {
    // [/step05]
        // ── Here we are the child. It runs the command in place of itself. ──

        // [step02] our own hostname, private mounts, a fresh /proc, lo up
        // Our own hostname: only our UTS namespace sees it.
        try check(sethostname(options.namespaces.hostname, options.namespaces.hostname.utf8.count),
                  "sethostname")
        // The new mount namespace is a copy of the host's, and on systemd machines
        // its mounts are *shared*: a mount here would appear on the host too.
        // Make every mount private before mounting anything.
        try check(mount(nil, "/", nil, WS_MS_REC | WS_MS_PRIVATE, nil), "make / private (mount --make-rprivate /)")
        // [step03] our own root filesystem: the image below (read-only), this run's directory above
        // Mounted in our mount namespace only: the host never sees it.
        // [step03 stub] let root = "/"   // the host's root, for now
        try mountOverlay(run)
        let root = run.rootfs
        // [/step03]
        // A fresh procfs, so /proc shows our PID namespace, not the host's.
        try mountProc(in: root)

        // [step04] the standard container mounts, made inside the new root
        try mountDev(in: root, bindHostDevices: false)   // tmpfs + null, zero, full, random, urandom, tty, pts, shm
        try mountSys(in: root, newInstance: true)         // read-only
        try protectKernelPaths(in: root)                  // mask /proc/kcore & co, /proc/sys read-only
        // [/step04]

        // A new network namespace starts with lo down.
        if options.namespaces.network == .none {
            try check(ws_link_up("lo"), "bring lo up")
        }
        // [/step02]

        // [step04] pivot_root instead of chroot
        // pivot_root needs the new root to be a mount point: the overlay is one.
        // (runc bind-mounts a bundle's plain rootfs directory onto itself for this.)
        try check(chdir(root), "chdir \(root)")
        // pivot_root(".", "."): the new root becomes "/", and the old root is
        // stacked on top of it at the same place...
        try check(ws_pivot_root(".", "."), "pivot_root")
        // ...from where we detach it: the host's tree is no longer reachable at all.
        try check(umount2(".", WS_MNT_DETACH), "detach the old root (umount2 MNT_DETACH)")
        // [/step04]
        // [step03] the classic chroot escape, played by the container (Workshop/Filesystems.swift)
        try check(chdir("/"), "chdir /")
        if options.filesystem.tryEscape {
            try attemptChrootEscape()
        }
        // [/step03]

        // [step06] drop every capability outside the set, in this order
        // 1. the bounding set: no program we exec, not even a setuid-root one, can get them back
        //    (dropping needs CAP_SETPCAP, which move 3 may take away: so this goes first)
        for number in 0...CapabilitySet.lastCapability() where !capabilities.contains(number) {
            try check(ws_prctl(WS_PR_CAPBSET_DROP, UInt(number), 0, 0, 0), "prctl(PR_CAPBSET_DROP, \(number))")
        }
        // 2. the ambient set: ambient capabilities survive exec for non-root programs
        try check(ws_prctl(WS_PR_CAP_AMBIENT, UInt(WS_PR_CAP_AMBIENT_CLEAR_ALL), 0, 0, 0), "clear the ambient set")
        // 3. capset(2): effective = permitted = the set, inheritable = none
        try check(ws_capset(capabilities.mask, capabilities.mask, 0), "capset")
        // [/step06]

        try execute(options.command.command, environment: containerEnvironment(hostname: options.namespaces.hostname),
                    init: options.namespaces.runsInit)
    }
    narrator.process(container, flags: flags)

    // [step05] otherwise the parent moves it in, while it still waits on the sync pipe
    if !container.bornInCgroup {
        // its PID into cgroup.procs: in the one v2 tree, or in each v1 hierarchy
        for directory in group.uniqueDirectories {
            try writeFile(directory + "/cgroup.procs", "\(container.pid)")
        }
    }
    if let groupDirectory { close(groupDirectory) }
    // per-process limits (setrlimit), set from here before it runs: nofile 1024 and --ulimit
    try applyResourceLimits(options.resources.resourceLimits, to: container.pid)
    // [/step05]

    narrator.namespaces(options.namespaces, pid: container.pid)   // [step02]
    narrator.image(image, run: run, pid: container.pid)           // [step03]
    narrator.rootChange(pivotRoot: true, tryEscape: options.filesystem.tryEscape, pid: container.pid)   // [step03]
    narrator.controlGroup(group, container: container, devices: devices)   // [step05]
    narrator.resourceLimits(pid: container.pid)                   // [step05]
    narrator.capabilities(capabilities, pid: container.pid)       // [step06]

    let stats = options.resources.stats ? StatsMonitor(group: group, narrator: narrator) : nil   // [step05] --stats: from here on
    try container.release()
    // [step05] --stats samples the group once a second; the group goes when the container does
    // [step05 stub] finish(container.waitForExit())
    let status = container.waitForExit(tick: stats.map { monitor in { monitor.tick() } })
    // The last sample, taken before the group is removed.
    let final = group.stop()
    stats?.summary(final: final, exitCode: status)
    if let final, final.oomKills > 0, stats == nil {
        narrator.say("the kernel OOM-killed \(final.oomKills) process(es) at the memory limit")
    }
    finish(status)
    // [/step05]
    // [/step01]
}
