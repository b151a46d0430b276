// step02-namespaces: step01 plus namespaces.
//
// The child is cloned into new UTS, PID, mount, IPC and network namespaces:
// its own hostname, its own process tree (the command is PID 1), its own
// mount table (so a fresh /proc shows only its processes), its own System V
// IPC, and a network with only `lo`. The filesystem is still the host's.
//
//   sudo swift run step02-namespaces -- /bin/sh -c 'hostname; echo $$; ps'

import CLinux
import Glibc
import Workshop

let options = StepOptions.parseCommandLine(
    step: "step02-namespaces",
    abstract: "Run a command in new UTS, PID, mount, IPC and network namespaces.",
    groups: [
        .output,
        .namespaces,    // NEW in step02: --hostname, --network, --init
    ])
let say = Narrator(step: "step02-namespaces", quiet: options.output.quiet)

exitOnFailure(step: "step02-namespaces") {
    try requireRoot(step: "step02-namespaces")

    var flags: Int32 = 0
    // ── NEW in step02: one flag per namespace ──
    flags |= WS_CLONE_NEWUTS     // hostname and domain name
    flags |= WS_CLONE_NEWPID     // process IDs: the child is PID 1
    flags |= WS_CLONE_NEWNS      // the mount table
    flags |= WS_CLONE_NEWIPC     // System V IPC and POSIX message queues
    if options.namespaces.network == .none {
        flags |= WS_CLONE_NEWNET // network devices, addresses, ports: only lo
    }

    let container = try Container.start(flags: flags, stdio: options.output) {
        // ── Here we are the child, inside the new namespaces. ──

        // ── NEW in step02 ──
        // Our own hostname: only our UTS namespace sees it.
        try check(sethostname(options.namespaces.hostname, options.namespaces.hostname.utf8.count),
                  "sethostname")
        // The new mount namespace is a copy of the host's, and on systemd machines
        // its mounts are *shared*: a mount here would appear on the host too.
        // Make every mount private before mounting anything.
        try check(mount(nil, "/", nil, WS_MS_REC | WS_MS_PRIVATE, nil), "make / private (mount --make-rprivate /)")
        // A fresh procfs, so /proc shows our PID namespace, not the host's.
        try check(mount("proc", "/proc", "proc", WS_MS_NOSUID | WS_MS_NODEV | WS_MS_NOEXEC, nil), "mount proc on /proc")
        // A new network namespace starts with lo down.
        if options.namespaces.network == .none {
            try check(ws_link_up("lo"), "bring lo up")
        }

        try execute(options.command.command, environment: hostEnvironment(),
                    init: options.namespaces.runsInit)   // NEW in step02: --init, a PID 1 that does PID 1's duties
    }

    say.say("clone(\(describeCloneFlags(flags))) made a child: PID \(container.pid) on the host, PID 1 inside")
    say.say("inside: sethostname(\"\(options.namespaces.hostname)\"), mount --make-rprivate /, mount -t proc proc /proc"
        + (options.namespaces.network == .none ? ", ip link set lo up" : " (network: host's)"))
    say.look("ls -l /proc/\(container.pid)/ns              # compare the inodes with /proc/self/ns")
    say.look("nsenter -t \(container.pid) -u hostname      # the container's hostname")
    say.look("grep -c . /proc/\(container.pid)/mountinfo   # its own mount table")

    try container.release()
    finish(container.waitForExit())
}
