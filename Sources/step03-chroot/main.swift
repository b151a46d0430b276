// step03-chroot: step02 plus a root filesystem.
//
// The container now runs in Alpine Linux, not in the host's files: the
// minirootfs is unpacked once (libarchive) into a cache, and each run gets
// its own writable layer on top of it (overlayfs), so the cached image is
// never modified. chroot(2) then makes that tree the container's "/".
//
// chroot is not a security boundary: try --try-escape (chapter 03).
//
//   sudo swift run step03-chroot -- cat /etc/alpine-release

import CLinux
import Glibc
import Workshop

let options = StepOptions.parseCommandLine(
    step: "step03-chroot",
    abstract: "Run a command in new namespaces, chroot'ed into an Alpine root filesystem.",
    groups: [
        .output,
        .namespaces,
        .filesystem,    // NEW in step03: --rootfs, --try-escape
    ])
let say = Narrator(step: "step03-chroot", quiet: options.output.quiet)

exitOnFailure(step: "step03-chroot") {
    try requireRoot(step: "step03-chroot")

    // ── NEW in step03: the image (cached after the first run) and this run's writable layer ──
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

    let container = try Container.start(flags: flags, stdio: options.output) {
        // ── Here we are the child, inside the new namespaces. ──
        try check(sethostname(options.namespaces.hostname, options.namespaces.hostname.utf8.count),
                  "sethostname")
        try check(mount(nil, "/", nil, WS_MS_REC | WS_MS_PRIVATE, nil), "make / private (mount --make-rprivate /)")

        // ── NEW in step03: our own root filesystem ──
        // The image below (read-only), this run's directory above: writes land there.
        // Mounted in our mount namespace only: the host never sees it.
        try mountOverlay(run)
        // The fresh procfs now goes into the new root.
        try mountProc(in: run.rootfs)

        if options.namespaces.network == .none {
            try check(ws_link_up("lo"), "bring lo up")
        }

        // ── NEW in step03: chroot(2) changes what "/" means for this process and its children ──
        try check(chroot(run.rootfs), "chroot \(run.rootfs)")
        try check(chdir("/"), "chdir /")
        if options.filesystem.tryEscape {
            try attemptChrootEscape()   // the malicious program's move (Workshop/Filesystems.swift)
        }

        // The image's programs, with a clean environment as docker run gives.
        try execute(options.command.command, environment: containerEnvironment(hostname: options.namespaces.hostname),
                    init: options.namespaces.runsInit)
    }

    say.say("clone(\(describeCloneFlags(flags))) made a child: PID \(container.pid) on the host, PID 1 inside")
    say.say("image: \(image.source) " + (image.unpackMilliseconds.map {
        "unpacked with libarchive in \(formatDecimal($0, places: 0)) ms into \(image.path)" } ?? "(cached: \(image.path))"))
    say.say("inside: mount -t overlay (lower: the image, upper: \(run.upper)) on \(run.rootfs), proc on its /proc, then chroot(\"\(run.rootfs)\")")
    if options.filesystem.tryEscape {
        say.say("--try-escape: inside, mkdir /.escape; chroot(\"/.escape\"); chdir(\"..\") x256; chroot(\".\") before the command")
    }
    say.look("ls /proc/\(container.pid)/root/            # the container's / seen from the host")
    say.look("nsenter -t \(container.pid) -m findmnt -R \(run.rootfs)   # the overlay, in its mount namespace only")

    try container.release()
    finish(container.waitForExit())
}
