import CLinux
import Glibc

/// The step's name ("step05-cgroup") from the `#fileID` of its main.swift ("step05_cgroup/main.swift"),
/// so a step file names itself once, in its header comment.
public func stepName(fileID: String) -> String {
    String(fileID.prefix { $0 != "/" }).replacingUnderscores()
}

extension String {
    fileprivate func replacingUnderscores() -> String { String(map { $0 == "_" ? "-" : $0 }) }
}

/// The namespace kinds /proc/PID/ns lists, in clone-flag order.
let namespaceKinds = ["user", "uts", "pid", "mnt", "ipc", "net", "cgroup"]

/// The namespace inode ("pid:[4026531836]") of a process, read from /proc, or nil.
func namespaceLink(_ pid: String, _ kind: String) -> String? {
    var buffer = [CChar](repeating: 0, count: 128)
    let count = readlink("/proc/\(pid)/ns/\(kind)", &buffer, buffer.count - 1)
    guard count > 0 else { return nil }
    return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// One narration method per layer: each step calls the ones for the layers it has, inside
/// that layer's region. Each says what the kernel shows, read back from /proc where it can,
/// while the child still waits to be released.
extension Narrator {
    /// step01: the child process; both PIDs and which namespaces it does not share with the runtime
    /// (the inodes in /proc/PID/ns against the runtime's own, whatever the flags asked for).
    public func process(_ container: ContainerProcess, flags: Int32) {
        guard !quiet else { return }   // -q: no /proc reads either (every container start pays for them)
        let pid = container.pid
        let own = namespaceKinds.filter { kind in
            guard let theirs = namespaceLink("\(pid)", kind), let ours = namespaceLink("self", kind) else { return false }
            return theirs != ours
        }
        let status = (try? readFile("/proc/\(pid)/status")) ?? ""
        let nspid = status.split(separator: "\n").first { $0.hasPrefix("NSpid:") }?
            .split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().map(String.init) ?? []
        let inside = nspid.count > 1 ? ", PID \(nspid.last!) inside" : ""
        say("clone(\(describeCloneFlags(flags))) made a child: PID \(pid) on the host\(inside); the runtime is PID \(getpid())")
        say(own.isEmpty
            ? "its namespaces (/proc/\(pid)/ns) are the runtime's: it shares the hostname, PIDs, mounts and network with the host"
            : "its own namespaces (/proc/\(pid)/ns inodes differ from the runtime's): " + own.joined(separator: ", "))
        look("ps -o pid,ppid,cmd -p \(pid)       # the child, with the runtime as its parent")
        look("ls -l /proc/\(pid)/ns              # compare the inodes with /proc/self/ns")
    }

    /// step02: what the child does inside its new namespaces once released.
    public func namespaces(_ options: NamespaceOptions, pid: pid_t) {
        guard !quiet else { return }   // -q: no /proc reads either (every container start pays for them)
        say("once released, inside: sethostname(\"\(options.hostname)\"), mount --make-rprivate /, a fresh proc"
            + (options.network == .none ? ", ip link set lo up" : " (network: the host's)")
            + (options.runsInit ? "; --init: a tiny init is PID 1" : ""))
        look("nsenter -t \(pid) -u hostname      # the container's hostname")
        look("grep -c . /proc/\(pid)/mountinfo   # its own mount table")
    }

    /// step03: the image and this run's writable layer.
    public func image(_ image: Image, run: RunDirectory, pid: pid_t) {
        guard !quiet else { return }   // -q: no /proc reads either (every container start pays for them)
        say("image: \(image.source) " + (image.unpackMilliseconds.map {
            "unpacked with libarchive in \(formatDecimal($0, places: 0)) ms into \(image.path)" } ?? "(cached: \(image.path))"))
        say("its root: an overlay (lower: the image, upper: \(run.upper)) on \(run.rootfs), proc on its /proc")
        look("ls /proc/\(pid)/root/            # the container's / seen from the host")
    }

    /// step03 and step04: how the child changes its root, and the escape it will try.
    public func rootChange(pivotRoot: Bool, tryEscape: Bool, pid: pid_t) {
        guard !quiet else { return }   // -q: no /proc reads either (every container start pays for them)
        say(pivotRoot
            ? "then /proc masks, /dev tmpfs, /sys read-only; pivot_root(\".\", \".\") and umount2(old root, MNT_DETACH): the host's files are gone, not just hidden"
            : "then chroot(\"<its root>\"): a different \"/\" for the path lookup, nothing more")
        if tryEscape {
            say("--try-escape: inside, mkdir /.escape; chroot(\"/.escape\"); chdir(\"..\") x256; chroot(\".\") before the command")
        }
        look("cat /proc/\(pid)/mountinfo        # the container's mounts")
    }

    /// step05: the control group, read back from /proc/PID/cgroup; the rlimits from /proc/PID/limits.
    public func controlGroup(_ group: ControlGroup, container: ContainerProcess, devices: (said: String, look: String)) {
        guard !quiet else { return }   // -q: no /proc reads either (every container start pays for them)
        let pid = container.pid
        say(group.layout.description)
        say("group \(ControlGroup.parentName)/\(group.id): " + group.written.joined(separator: ", "))
        let lines = ((try? readFile("/proc/\(pid)/cgroup")) ?? "").split(separator: "\n")
        let inGroup = lines.filter { $0.hasSuffix("/\(group.id)") }
        if inGroup.isEmpty {
            say("the child is NOT in the group: /proc/\(pid)/cgroup shows " + lines.map(String.init).joined(separator: " "))
        } else {
            say((container.bornInCgroup ? "the child was born in it (clone3 CLONE_INTO_CGROUP)"
                    : "the child was moved in (its PID written to cgroup.procs) before it was released")
                + ": /proc/\(pid)/cgroup has \(inGroup.count) line(s) ending in /\(group.id)")
        }
        say(devices.said)
        let other: CgroupLayout = group.layout.isV2 ? .hybrid : .unified
        say("on \(other.isV2 ? "cgroup v2" : "cgroup v1") it would write: "
            + group.limits.files(for: other).map { "\($0.file) = \($0.value)" }.joined(separator: ", "))
        look("cat \(group.directories["cpu"] ?? "?")/\(group.layout.isV2 ? "cpu.max" : "cpu.cfs_quota_us")   # the limit")
        look("cat /proc/\(pid)/cgroup; top -p \(pid)   # its group, and the CPU it gets")
        look(devices.look)
    }

    /// step05: the per-process limits, read back from /proc/PID/limits.
    public func resourceLimits(pid: pid_t) {
        guard !quiet else { return }   // -q: no /proc reads either (every container start pays for them)
        let limits = ((try? readFile("/proc/\(pid)/limits")) ?? "").split(separator: "\n")
            .filter { $0.hasPrefix("Max open files") || $0.hasPrefix("Max processes") }
            .map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        say("rlimits (/proc/\(pid)/limits): " + limits.joined(separator: "; "))
        look("grep -E 'open files|processes' /proc/\(pid)/limits")
    }

    /// step06: the capabilities the child keeps once released.
    public func capabilities(_ capabilities: CapabilitySet, pid: pid_t) {
        guard !quiet else { return }   // -q: no /proc reads either (every container start pays for them)
        say("once released, the child keeps only (bounding, permitted, effective = \(capabilities.hex)): \(capabilities)")
        look("grep Cap /proc/\(pid)/status; capsh --decode=\(capabilities.hex)")
    }

    /// step07: the id maps, read back from /proc/PID/uid_map and gid_map.
    public func userNamespace(pid: pid_t, hostRoot: UInt32) {
        guard !quiet else { return }   // -q: no /proc reads either (every container start pays for them)
        func map(_ name: String) -> String {
            ((try? readFile("/proc/\(pid)/\(name)")) ?? "").split(separator: "\n")
                .map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
                .joined(separator: "; ")
        }
        say("user namespace: uid_map \(map("uid_map")), gid_map \(map("gid_map")) (container root = host uid \(hostRoot))")
        look("cat /proc/\(pid)/uid_map; ps -o user,pid,cmd -p \(pid)   # root inside, \(hostRoot) outside")
    }

    /// step08: the filter the child installs last, before execve.
    public func seccomp(_ filter: [sock_filter], enabled: Bool, pid: pid_t) {
        guard !quiet else { return }   // -q: no /proc reads either (every container start pays for them)
        say(enabled
            ? "seccomp: a BPF filter of \(filter.count) instructions: an allow list of \(SeccompFilter.allowedHere.count) calls (Docker's default profile; clone without namespaces), everything else EPERM, calls newer than the kit ENOSYS; no_new_privs"
            : "seccomp: unconfined (--security-opt seccomp=unconfined); no_new_privs still set")
        look("grep -E 'Seccomp|NoNewPrivs' /proc/\(pid)/status")
    }
}
