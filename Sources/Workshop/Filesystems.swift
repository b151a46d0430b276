import CLinux
import Glibc

// The mounts a container runtime makes inside the new root before it moves
// into it, following the OCI runtime spec's defaults as runc applies them.

/// Mounts the run's overlay (image below, the run's own directory above) at its rootfs.
public func mountOverlay(_ run: RunDirectory) throws {
    // `volatile` (Linux 5.10+): no sync of the upper layer when the overlay goes away
    // with the container. The runtime deletes that layer right after, so the sync
    // would only cost time: a container that writes 8 MB ends in 16 ms instead of 36.
    // `userxattr` (Linux 5.11+), in a user namespace (step07): overlayfs keeps its
    // bookkeeping in trusted.* xattrs, which only host root may set; without user.* ones
    // instead, removing any directory of the image fails with EIO.
    let extras = isInUserNamespace() ? [",userxattr,volatile", ",userxattr", ""] : [",volatile", ""]
    for extra in extras.dropLast() {
        if mount("overlay", run.rootfs, "overlay", 0, run.overlayOptions + extra) == 0 { return }
        guard errno == EINVAL else { throw SystemCallError("mount overlay on \(run.rootfs)") }
    }
    try check(mount("overlay", run.rootfs, "overlay", 0, run.overlayOptions), "mount overlay on \(run.rootfs)")
}

/// Is this process in a user namespace other than the machine's? (The initial one maps all ids to themselves.)
func isInUserNamespace() -> Bool {
    guard let map = try? readFile("/proc/self/uid_map") else { return false }
    return map.split(whereSeparator: { $0 == " " || $0 == "\n" }) != ["0", "0", "4294967295"]
}

/// Paths in /proc and /sys that leak the host or let a container harm it.
/// runc hides them (bind-mounts /dev/null over files, an empty read-only tmpfs over directories).
/// The kit's tmpfs is also nosuid, nodev, noexec and 4 KiB, as apple/containerization mounts it.
public let maskedPaths = [
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
]

/// Kernel knobs a container may read but never write.
public let readOnlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

/// A new procfs at ROOT/proc, for the container's PID namespace.
public func mountProc(in root: String) throws {
    let target = root == "/" ? "/proc" : root + "/proc"
    try check(mount("proc", target, "proc", WS_MS_NOSUID | WS_MS_NODEV | WS_MS_NOEXEC, nil),
              "mount proc on \(target)")
}

/// sysfs at ROOT/sys, read-only. Without our own network namespace (or, in a
/// user namespace, without owning it) the kernel refuses a new sysfs: bind the host's instead, read-only.
public func mountSys(in root: String, newInstance: Bool) throws {
    let target = root + "/sys"
    let readOnly = WS_MS_RDONLY | WS_MS_NOSUID | WS_MS_NODEV | WS_MS_NOEXEC
    if newInstance {
        try check(mount("sysfs", target, "sysfs", readOnly, nil), "mount sysfs on \(target)")
    } else {
        try check(mount("/sys", target, nil, WS_MS_BIND | WS_MS_REC, nil), "bind /sys on \(target)")
        try check(mount(nil, target, nil, WS_MS_BIND | WS_MS_REMOUNT | readOnly, nil), "remount \(target) read-only")
    }
}

/// Applies `maskedPaths` and `readOnlyPaths` under ROOT (after /proc and /sys are mounted).
public func protectKernelPaths(in root: String) throws {
    for path in maskedPaths {
        let target = root + path
        var info = stat()
        guard stat(target, &info) == 0 else { continue }   // not on this kernel
        if (info.st_mode & S_IFMT) == S_IFDIR {
            // Not "size=0": to tmpfs that means no limit at all. Read-only, it holds nothing anyway;
            // the flags and the small size keep it harmless even if it were ever made writable.
            let hidden = WS_MS_RDONLY | WS_MS_NOSUID | WS_MS_NODEV | WS_MS_NOEXEC
            try check(mount("tmpfs", target, "tmpfs", hidden, "size=4k,mode=755"), "mask \(path)")
        } else {
            try check(mount(root + "/dev/null", target, nil, WS_MS_BIND, nil), "mask \(path)")
        }
    }
    for path in readOnlyPaths {
        let target = root + path
        guard fileExists(target) else { continue }
        try check(mount(target, target, nil, WS_MS_BIND | WS_MS_REC, nil), "bind \(path)")
        try check(mount(nil, target, nil, WS_MS_BIND | WS_MS_REMOUNT | WS_MS_RDONLY | WS_MS_NOSUID | WS_MS_NODEV
                        | WS_MS_NOEXEC, nil), "make \(path) read-only")
    }
}

/// The device nodes every container gets (OCI runtime spec, "Default Devices").
public let defaultDevices: [(name: String, major: UInt32, minor: UInt32)] = [
    ("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0),
]

/// /dev as a small tmpfs: the default devices, the standard symlinks, a new
/// devpts instance and /dev/shm. In a user namespace mknod(2) is not allowed,
/// so (as rootless runtimes do) the host's nodes are bind-mounted instead.
public func mountDev(in root: String, bindHostDevices: Bool) throws {
    let dev = root + "/dev"
    try check(mount("tmpfs", dev, "tmpfs", WS_MS_NOSUID | WS_MS_STRICTATIME, "mode=755,size=65536k"),
              "mount tmpfs on \(dev)")
    let oldMask = umask(0)
    defer { umask(oldMask) }
    for device in defaultDevices {
        let path = dev + "/" + device.name
        if bindHostDevices {
            try check(mknod(path, S_IFREG | 0o666, 0), "create \(path)")
            try check(mount("/dev/" + device.name, path, nil, WS_MS_BIND, nil), "bind /dev/\(device.name)")
        } else {
            try check(mknod(path, S_IFCHR | 0o666, ws_makedev(device.major, device.minor)), "mknod \(path)")
        }
    }
    for (name, target) in [("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                           ("stderr", "/proc/self/fd/2"), ("ptmx", "pts/ptmx"), ("core", "/proc/kcore")] {
        try check(symlink(target, dev + "/" + name), "symlink \(dev)/\(name)")
    }
    for name in ["pts", "shm"] { try check(mkdir(dev + "/" + name, 0o755), "mkdir \(dev)/\(name)") }
    // A new devpts instance: the container's ptys are its own, not the host's.
    try check(mount("devpts", dev + "/pts", "devpts", WS_MS_NOSUID | WS_MS_NOEXEC,
                    "newinstance,ptmxmode=0666,mode=0620" + (bindHostDevices ? "" : ",gid=5")),
              "mount devpts on \(dev)/pts")
    try check(mount("shm", dev + "/shm", "tmpfs", WS_MS_NOSUID | WS_MS_NODEV | WS_MS_NOEXEC, "mode=1777,size=65536k"),
              "mount tmpfs on \(dev)/shm")
}

/// The classic chroot escape, as a malicious program inside the container would
/// run it (chapter 03). Every call is a real system call made in the container.
///
///  1. chroot into a subdirectory: our root moves down, but our working
///     directory stays where it was, which is now *outside* our root;
///  2. chdir("..") over and over: ".." is only stopped at a process's root,
///     and we are no longer below ours, so we climb to the real top;
///  3. chroot("."): make that the root.
///
/// Against chroot (step03) this reaches the host's root. After pivot_root
/// and the old root detached (step04), ".." at the top is the top: it stays in.
public func attemptChrootEscape() throws {
    mkdir("/.escape", 0o700)
    try check(chroot("/.escape"), "chroot /.escape")
    for _ in 0..<256 { chdir("..") }
    try check(chroot("."), "chroot .")
    try check(chdir("/"), "chdir /")
}
