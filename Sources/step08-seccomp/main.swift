// step08-seccomp: step07 plus a seccomp filter.
//
// Every layer so far still lets the container *ask* the kernel for anything;
// the kernel checks permissions call by call. A seccomp filter is a small
// BPF program the kernel runs on every system call before that: calls a
// container never needs (mount, unshare, keyctl, kexec_load, bpf...) fail
// with EPERM without reaching the code behind them. This is the kit's main
// job: a shell as isolated as a default Docker container in the ways the
// steps cover.
//
// Each layer's lines are marked `// [stepNN] …` … `// [/stepNN]` (or one line: a trailing `// [stepNN]`).
//
//   sudo swift run step08-seccomp -- sh -c 'grep -E "Seccomp|NoNewPrivs" /proc/self/status; unshare -U true'

import CLinux
import Glibc
import Workshop

let options = StepOptions.parseCommandLine(
    abstract: "Run a command in new namespaces and an Alpine root, limited by a cgroup, with Docker's default capabilities, as an unprivileged host user, behind a seccomp filter.",
    groups: [
        .output,
        .namespaces,    // [step02] --hostname, --network, --init
        .filesystem,    // [step03] --rootfs, --try-escape
        .resources,     // [step05] --cpus, --memory, --pids-limit, --stats, --ulimit
        .privileges,    // [step06] --cap-add, --cap-drop
        .users,         // [step07] --uidmap, --gidmap
        .security,      // [step08] --security-opt seccomp=unconfined
    ])
let narrator = Narrator(quiet: options.output.quiet)

exitOnFailure {
    try requireRoot()

    // [step03] the image (cached after the first run) and this run's writable layer
    // [step07] the host id of the container's root; its image and layer are owned by it
    // [step07 stub] let image = try Image.prepare(rootfs: options.filesystem.rootfs)
    // [step07 stub] let run = try RunDirectory(image: image)
    let hostRoot = IDMapping.hostID(of: 0, in: options.users.uidMap)!
    let image = try Image.prepare(rootfs: options.filesystem.rootfs, ownerShift: hostRoot)
    let run = try RunDirectory(image: image, rootOwner: hostRoot)
    // [/step07]
    // [/step03]

    // [step01] clone(2) a child that runs the command; SIGCHLD tells us when it exits
    // [step01 stub] throw Failure("step01 is not written yet: see Chapters/01-clone.md")
    let flags: Int32 = 0
        | WS_CLONE_NEWUSER   // [step07] user and group ids (made first: it owns the others)
        | WS_CLONE_NEWUTS    // [step02] hostname and domain name
        | WS_CLONE_NEWPID    // [step02] process IDs: the child is PID 1
        | WS_CLONE_NEWNS     // [step02] the mount table
        | WS_CLONE_NEWIPC    // [step02] System V IPC and POSIX message queues
        | (options.namespaces.network == .none ? WS_CLONE_NEWNET : 0)   // [step02] network: only lo

    // [step08] the filter program (Workshop/SeccompFilter.swift, walked through in chapter 08)
    let filter = SeccompFilter.program()
    // [/step08]

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

        // [step07] become the container's root, now that the parent wrote our id maps
        try check(setgroups(0, nil), "setgroups")
        try check(setgid(0), "setgid(0)")
        try check(setuid(0), "setuid(0)")   // host uid 100000 by default
        // changing credentials cleared the parent-death signal: set it again
        try rearmParentDeathSignal()
        // [/step07]

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
        // [step07] mknod(2) is not allowed in a user namespace: bind the host's device nodes instead;
        // and a new sysfs needs a network namespace we own, or we bind the host's, read-only.
        // [step07 stub] try mountDev(in: root, bindHostDevices: false)   // tmpfs + null, zero, full, random, urandom, tty, pts, shm
        // [step07 stub] try mountSys(in: root, newInstance: true)         // read-only
        try mountDev(in: root, bindHostDevices: true)
        try mountSys(in: root, newInstance: options.namespaces.network == .none)
        // [/step07]
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

        // [step08] the very last thing before execve
        // no_new_privs: exec can never grant more privileges (setuid bits, file
        // capabilities); it is what lets a process without CAP_SYS_ADMIN install a filter.
        try check(ws_prctl(WS_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
        if options.security.seccompEnabled {
            try SeccompFilter.install(filter)
        }
        // [/step08]

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

    // [step07] only a process outside the user namespace can write its id maps
    // One line per range, "container-id host-id count"; each file can be written once.
    try writeFile("/proc/\(container.pid)/uid_map", options.users.uidMap.map(\.description).joined(separator: "\n"))
    // A privileged parent may leave setgroups(2) allowed; an unprivileged one
    // must write "deny" here before it may write gid_map.
    try writeFile("/proc/\(container.pid)/setgroups", "allow")
    try writeFile("/proc/\(container.pid)/gid_map", options.users.gidMap.map(\.description).joined(separator: "\n"))
    // [/step07]

    narrator.namespaces(options.namespaces, pid: container.pid)   // [step02]
    narrator.image(image, run: run, pid: container.pid)           // [step03]
    narrator.rootChange(pivotRoot: true, tryEscape: options.filesystem.tryEscape, pid: container.pid)   // [step03]
    narrator.controlGroup(group, container: container, devices: devices)   // [step05]
    narrator.resourceLimits(pid: container.pid)                   // [step05]
    narrator.capabilities(capabilities, pid: container.pid)       // [step06]
    narrator.userNamespace(pid: container.pid, hostRoot: hostRoot)   // [step07]
    narrator.seccomp(filter, enabled: options.security.seccompEnabled, pid: container.pid)   // [step08]

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
