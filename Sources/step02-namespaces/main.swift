// step02-namespaces: step01 plus namespaces.
//
// The child is cloned into new UTS, PID, mount, IPC and network namespaces:
// its own hostname, its own process tree (the command is PID 1), its own
// mount table (so a fresh /proc shows only its processes), its own System V
// IPC, and a network with only `lo`. The filesystem is still the host's.
//
// Each layer's lines are marked `// [stepNN] …` … `// [/stepNN]` (or one line: a trailing `// [stepNN]`).
//
//   sudo swift run step02-namespaces -- /bin/sh -c 'hostname; echo $$; ps'

import CLinux
import Glibc
import Workshop

let options = StepOptions.parseCommandLine(
    abstract: "Run a command in new UTS, PID, mount, IPC and network namespaces.",
    groups: [
        .output,
        .namespaces,    // [step02] --hostname, --network, --init
    ])
let narrator = Narrator(quiet: options.output.quiet)

exitOnFailure {
    try requireRoot()

    // [step01] clone(2) a child that runs the command; SIGCHLD tells us when it exits
    // [step01 stub] throw Failure("step01 is not written yet: see Chapters/01-clone.md")
    let flags: Int32 = 0
        | WS_CLONE_NEWUTS    // [step02] hostname and domain name
        | WS_CLONE_NEWPID    // [step02] process IDs: the child is PID 1
        | WS_CLONE_NEWNS     // [step02] the mount table
        | WS_CLONE_NEWIPC    // [step02] System V IPC and POSIX message queues
        | (options.namespaces.network == .none ? WS_CLONE_NEWNET : 0)   // [step02] network: only lo

    let container = try ContainerProcess.start(flags: flags, stdio: options.output) {
        // ── Here we are the child. It runs the command in place of itself. ──

        // [step02] our own hostname, private mounts, a fresh /proc, lo up
        // Our own hostname: only our UTS namespace sees it.
        try check(sethostname(options.namespaces.hostname, options.namespaces.hostname.utf8.count),
                  "sethostname")
        // The new mount namespace is a copy of the host's, and on systemd machines
        // its mounts are *shared*: a mount here would appear on the host too.
        // Make every mount private before mounting anything.
        try check(mount(nil, "/", nil, WS_MS_REC | WS_MS_PRIVATE, nil), "make / private (mount --make-rprivate /)")
        let root = "/"   // the host's root, for now
        // A fresh procfs, so /proc shows our PID namespace, not the host's.
        try mountProc(in: root)

        // A new network namespace starts with lo down.
        if options.namespaces.network == .none {
            try check(ws_link_up("lo"), "bring lo up")
        }
        // [/step02]

        try execute(options.command.command, environment: hostEnvironment(),
                    init: options.namespaces.runsInit)
    }
    narrator.process(container, flags: flags)

    narrator.namespaces(options.namespaces, pid: container.pid)   // [step02]

    try container.release()
    finish(container.waitForExit())
    // [/step01]
}
