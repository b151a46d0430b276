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
//   sudo swift run step08-seccomp -- sh -c 'grep -E "Seccomp|NoNewPrivs" /proc/self/status; unshare -U true'

import CLinux
import Glibc
import Workshop

let options = StepOptions.parseCommandLine(
    step: "step08-seccomp",
    abstract: "Run a command in new namespaces and an Alpine root, limited by a cgroup, with Docker's default capabilities, as an unprivileged host user, behind a seccomp filter.",
    groups: [
        .output,
        .namespaces,
        .filesystem,
        .resources,
        .privileges,
        .users,
        .security,      // NEW in step08: --security-opt seccomp=unconfined
    ])
let say = Narrator(step: "step08-seccomp", quiet: options.output.quiet)

exitOnFailure(step: "step08-seccomp") {
    try requireRoot(step: "step08-seccomp")

    // the host id of the container's root; its image and layer are owned by it
    let hostRoot = IDMapping.hostID(of: 0, in: options.users.uidMap)!
    let image = try Image.prepare(rootfs: options.filesystem.rootfs, ownerShift: hostRoot)
    let run = try ContainerRun(image: image, rootOwner: hostRoot)

    var flags: Int32 = 0
    flags |= WS_CLONE_NEWUSER    // user and group ids (made first: it owns the others)
    flags |= WS_CLONE_NEWUTS     // hostname and domain name
    flags |= WS_CLONE_NEWPID     // process IDs: the child is PID 1
    flags |= WS_CLONE_NEWNS      // the mount table
    flags |= WS_CLONE_NEWIPC     // System V IPC and POSIX message queues
    if options.namespaces.network == .none {
        flags |= WS_CLONE_NEWNET // network devices, addresses, ports: only lo
    }

    // the control group, made before the child exists
    // ── NEW in step08: the filter program (Workshop/SeccompFilter.swift, walked through in chapter 08) ──
    let filter = SeccompFilter.program()

    // which capabilities the container keeps
    let capabilities = try options.privileges.capabilities()

    let limits = CgroupLimits(cpus: options.resources.cpus, memory: options.resources.memory?.bytes,
                              pids: options.resources.pidsLimit)
    let group = try ControlGroup(id: run.id, limits: limits)
    // which device nodes it may open: only the standard ones (runc's list).
    // Root in the container can mknod any node; without this it could then open the host's disk.
    // v1: devices.deny and devices.allow; v2 has no such files: an eBPF program attached to the group.
    let devices = try group.restrictDevices(to: DeviceRule.containerDefaults)
    // On cgroup v2 the child can be *born* in the group: clone3(CLONE_INTO_CGROUP).
    let groupDirectory = group.openForClone()

    let container = try Container.start(flags: flags, cgroupDirectory: groupDirectory, stdio: options.output) {
        // ── Here we are the child, inside the new namespaces. ──

        // Become the container's root, now that the parent wrote our id maps
        try check(setgroups(0, nil), "setgroups")
        try check(setgid(0), "setgid(0)")
        try check(setuid(0), "setuid(0)")   // host uid 100000 by default
        // changing credentials cleared the parent-death signal: set it again
        try rearmParentDeathSignal()
        try check(sethostname(options.namespaces.hostname, options.namespaces.hostname.utf8.count),
                  "sethostname")
        try check(mount(nil, "/", nil, WS_MS_REC | WS_MS_PRIVATE, nil), "make / private (mount --make-rprivate /)")

        // The image below (read-only), this run's directory above: writes land there.
        try mountOverlay(run)
        let root = run.rootfs
        try mountProc(in: root)

        // The standard container mounts, made inside the new root.
        // mknod(2) is not allowed in a user namespace: bind the host's device nodes instead;
        // and a new sysfs needs a network namespace we own, or we bind the host's, read-only.
        try mountDev(in: root, bindHostDevices: true)
        try mountSys(in: root, newInstance: options.namespaces.network == .none)
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

        // drop every capability outside the set, in this order
        try dropBoundingCapabilities(keeping: capabilities)   // 1. bounding set (needs CAP_SETPCAP: first)
        try clearAmbientCapabilities()                          // 2. ambient set
        try setCapabilities(effective: capabilities, permitted: capabilities,   // 3. capset(2)
                            inheritable: CapabilitySet(mask: 0))

        // ── NEW in step08: the very last thing before execve ──
        // no_new_privs: exec can never grant more privileges (setuid bits, file
        // capabilities); it is what lets a process without CAP_SYS_ADMIN install a filter.
        try check(ws_prctl(WS_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
        if options.security.seccompEnabled {
            try SeccompFilter.install(filter)
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

    // otherwise the parent moves it in, while it still waits on the sync pipe
    if !container.bornInCgroup {
        try group.add(container.pid)
    }
    if let groupDirectory { close(groupDirectory) }
    // per-process limits (setrlimit), set from here before it runs: nofile 1024 and --ulimit
    try applyResourceLimits(options.resources.resourceLimits, to: container.pid)

    // only a process outside the user namespace can write its id maps
    try writeIDMaps(pid: container.pid, uids: options.users.uidMap, gids: options.users.gidMap)

    say.say("\(group.layout.description)")
    say.say("group \(ControlGroup.parentName)/\(group.id): " + group.written.joined(separator: ", "))
    say.say(container.bornInCgroup
        ? "the child was born in it: clone3(CLONE_INTO_CGROUP)"
        : "the child was moved in (its PID written to cgroup.procs) before it was released")
    say.say(devices.said)
    let other: CgroupLayout = group.layout.isV2 ? .hybrid : .unified
    say.say("on \(other.isV2 ? "cgroup v2" : "cgroup v1") it would write: "
        + limits.files(for: other).map { "\($0.file) = \($0.value)" }.joined(separator: ", "))
    say.look("cat \(group.directories["cpu"]!)/\(group.layout.isV2 ? "cpu.max" : "cpu.cfs_quota_us")   # the limit")
    say.look("cat /proc/\(container.pid)/cgroup; top -p \(container.pid)   # its group, and the CPU it gets")
    say.look(devices.look)
    say.say("rlimits: " + options.resources.resourceLimits.map(\.description).joined(separator: ", "))
    say.look("grep -E 'open files|processes' /proc/\(container.pid)/limits")
    say.say("user namespace: uid_map \(options.users.uidMap.map(\.description).joined(separator: "; ")), gid_map \(options.users.gidMap.map(\.description).joined(separator: "; ")) (container root = host uid \(hostRoot))")
    say.look("cat /proc/\(container.pid)/uid_map; ps -o user,pid,cmd -p \(container.pid)   # root inside, \(hostRoot) outside")
    say.say("capabilities kept (bounding, permitted, effective = \(capabilities.hex)): \(capabilities)")
    say.look("grep Cap /proc/\(container.pid)/status; capsh --decode=\(capabilities.hex)")
    say.say(options.security.seccompEnabled
        ? "seccomp: a BPF filter of \(filter.count) instructions: an allow list of \(SeccompFilter.allowedHere.count) calls (Docker's default profile; clone without namespaces), everything else EPERM, calls newer than the kit ENOSYS; no_new_privs set"
        : "seccomp: unconfined (--security-opt seccomp=unconfined); no_new_privs still set")
    say.look("grep -E 'Seccomp|NoNewPrivs' /proc/\(container.pid)/status")

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
