// step03-chroot: step02 plus a root filesystem.
//
// The container now runs in Alpine Linux, not in the host's files: the
// minirootfs is unpacked once (libarchive) into a cache, and each run gets
// its own writable layer on top of it (overlayfs), so the cached image is
// never modified. chroot(2) then makes that tree the container's "/".
//
// chroot is not a security boundary: try --try-escape (chapter 03).
//
// Each layer's lines are marked `// [stepNN] …` … `// [/stepNN]` (or one line: a trailing `// [stepNN]`).
//
//   sudo swift run step03-chroot -- cat /etc/alpine-release

import CLinux
import Glibc
import Workshop

let options = StepOptions.parseCommandLine(
    abstract: "Run a command in new namespaces, chroot'ed into an Alpine root filesystem.",
    groups: [
        .output,
        .namespaces,    // [step02] --hostname, --network, --init
        .filesystem,    // [step03] --rootfs, --try-escape
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
        // [step03] our own root filesystem: the image below (read-only), this run's directory above
        // Mounted in our mount namespace only: the host never sees it.
        // [step03 stub] let root = "/"   // the host's root, for now
        try mountOverlay(run)
        let root = run.rootfs
        // [/step03]
        // A fresh procfs, so /proc shows our PID namespace, not the host's.
        try mountProc(in: root)

        // A new network namespace starts with lo down.
        if options.namespaces.network == .none {
            try check(ws_link_up("lo"), "bring lo up")
        }
        // [/step02]

        try check(chroot(root), "chroot \(root)")   // [step03] chroot(2): what "/" means for this process and its children
        // [step03] the classic chroot escape, played by the container (Workshop/Filesystems.swift)
        try check(chdir("/"), "chdir /")
        if options.filesystem.tryEscape {
            try attemptChrootEscape()
        }
        // [/step03]

        try execute(options.command.command, environment: containerEnvironment(hostname: options.namespaces.hostname),
                    init: options.namespaces.runsInit)
    }
    narrator.process(container, flags: flags)

    narrator.namespaces(options.namespaces, pid: container.pid)   // [step02]
    narrator.image(image, run: run, pid: container.pid)           // [step03]
    narrator.rootChange(pivotRoot: false, tryEscape: options.filesystem.tryEscape, pid: container.pid)   // [step03]

    try container.release()
    finish(container.waitForExit())
    // [/step01]
}
