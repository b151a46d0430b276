// step04-pivot-root: step03 with chroot replaced by pivot_root.
//
// pivot_root(2) swaps the root *mount* of the container's mount namespace,
// and the old root (the host's whole tree) is then detached: there is no
// path left to climb back to. Before moving in, the container gets the
// standard mounts of an OCI runtime: /proc with the dangerous files masked,
// a small /dev with only safe devices, and /sys read-only.
//
//   sudo swift run step04-pivot-root -- sh -c 'ls /dev; cat /proc/self/mountinfo'

import CLinux
import Glibc
import Workshop

let options = StepOptions.parseCommandLine(
    step: "step04-pivot-root",
    abstract: "Run a command in new namespaces, pivot_root'ed into an Alpine root filesystem.",
    groups: [
        .output,
        .namespaces,
        .filesystem,
    ])
let say = Narrator(step: "step04-pivot-root", quiet: options.output.quiet)

exitOnFailure(step: "step04-pivot-root") {
    try requireRoot(step: "step04-pivot-root")

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

        // The image below (read-only), this run's directory above: writes land there.
        try mountOverlay(run)
        let root = run.rootfs
        try mountProc(in: root)

        // ── NEW in step04: the standard container mounts, made inside the new root ──
        try mountDev(in: root, bindHostDevices: false)   // tmpfs + null, zero, full, random, urandom, tty, pts, shm
        try mountSys(in: root, newInstance: true)         // read-only
        try protectKernelPaths(in: root)                  // mask /proc/kcore & co, /proc/sys read-only

        if options.namespaces.network == .none {
            try check(ws_link_up("lo"), "bring lo up")
        }

        // ── NEW in step04: pivot_root instead of chroot ──
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
            try attemptChrootEscape()   // the same attack as in step03
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

    try container.release()
    finish(container.waitForExit())
}
