import Foundation

/// Every attack, in the order of the layer that stops it (as designed). Payloads are harmless:
/// markers in the lab's test directory, no-op writes that need the privilege,
/// reads; every host setting an attack can change is put back in a defer.
public enum AttackMatrix {
    public static let attacks: [Attack] = [
        // ── the host itself vs step01: defences every step has ──
        Attack(id: "tiocsti", summary: "push keystrokes into the caller's terminal (ioctl TIOCSTI)",
               stoppedBy: 1, layer: "own session and pty", firstColumn: 0,
               precondition: { _ in nil }, attempt: pushKeystrokes),
        Attack(id: "inherited-fd", summary: "write to a descriptor the caller left open (fd 7)",
               stoppedBy: 1, layer: "descriptors above 2 closed before exec", firstColumn: 0,
               precondition: { _ in nil }, attempt: writeInheritedDescriptor),

        // ── step02: namespaces ──
        Attack(id: "host-uts", summary: "rename the host (setdomainname; the same namespace holds the hostname)",
               stoppedBy: 2, layer: "UTS namespace", firstColumn: 1,
               precondition: { _ in nil }, attempt: renameHost),
        Attack(id: "kill-host-process", summary: "kill -9 a process of the host",
               stoppedBy: 2, layer: "PID namespace", firstColumn: 1,
               precondition: { _ in nil }, attempt: { lab, column in try withVictim { victim in
                   let outcome = try lab.run(column, ["kill", "\(victim)"])
                   guard outcome.probeAnswered else { throw BrokenRun(column, outcome) }
                   return waitUntilDead(victim) ? .gotThrough("the host's sleep \(victim) was killed")
                                                : .blocked("the host's process lives (\(outcome.summary))")
               } }),
        Attack(id: "ptrace-host-process", summary: "ptrace(PTRACE_ATTACH) a process of the host",
               stoppedBy: 2, layer: "PID namespace", firstColumn: 1,
               precondition: { _ in nil }, attempt: { lab, column in try withVictim { victim in
                   try byExitStatus(column, try lab.run(column, ["ptrace", "\(victim)"]))
               } }),
        Attack(id: "proc-pid-root", summary: "read a host file through /proc/PID/root (PID: a host process)",
               stoppedBy: 2, layer: "PID namespace + fresh /proc", firstColumn: 1,
               precondition: { _ in nil }, attempt: { lab, column in
                   let marker = try hostMarker(lab)
                   let outcome = try lab.run(column, ["cat", "/proc/\(getpid())/root\(marker.path)"])
                   return try readsMarker(column, outcome, marker.content)
               }),

        // ── step03 (the run directory), checked from steps 01-02 where writes land on the host ──
        Attack(id: "setuid-layer", summary: "leave a setuid-root file in the writable layer; host user 65534 runs it",
               stoppedBy: 3, layer: "run directories private to root", firstColumn: 1,
               precondition: { _ in nil }, attempt: setuidInLayer),

        // ── step04: pivot_root and the standard mounts ──
        Attack(id: "chroot-escape", summary: "chroot into a subdirectory, climb out with chdir(\"..\"), read a host file",
               stoppedBy: 4, layer: "pivot_root, old root detached", firstColumn: 3,
               precondition: { _ in nil }, attempt: { lab, column in
                   let marker = try hostMarker(lab)
                   return try readsMarker(column, try lab.run(column, ["escape", marker.path]), marker.content)
               }),
        Attack(id: "masked-proc", summary: "read /proc/timer_list: every timer on the host, with its process",
               stoppedBy: 4, layer: "masked /proc paths", firstColumn: 1,
               precondition: { _ in timerListFailure() },
               attempt: { lab, column in try readsTimerList(column, try lab.run(column, ["read-masked", "/proc/timer_list"])) }),
        Attack(id: "core-pattern-write", summary: "write /proc/sys/kernel/core_pattern (its own value back)",
               stoppedBy: 4, layer: "/proc/sys read-only", firstColumn: 1,
               precondition: { _ in nil }, attempt: { lab, column in
                   try byExitStatus(column, try lab.run(column, ["rewrite", "/proc/sys/kernel/core_pattern"]))
               }),

        // ── step05: cgroups ──
        Attack(id: "nofile", summary: "raise RLIMIT_NOFILE to the hard limit and hold 4096 descriptors",
               stoppedBy: 5, layer: "rlimits (nofile 1024)", firstColumn: 1,
               precondition: { _ in
                   var limit = rlimit()
                   getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
                   return limit.rlim_max >= 4096 ? nil : "the caller's own hard limit is \(limit.rlim_max)"
               },
               attempt: { lab, column in try byExitStatus(column, try lab.run(column, ["nofile", "4096"])) }),
        Attack(id: "mknod-disk", summary: "mknod a block device of the host (a loop disk) and read it",
               stoppedBy: 5, layer: "devices cgroup", firstColumn: 1,
               precondition: { _ in losetupFailure() }, attempt: readHostDisk),

        // ── step06: capabilities ──
        Attack(id: "devices-after-leaving", summary: "move out of the devices cgroup first, then mknod and read the host's block device",
               stoppedBy: 6, layer: "no CAP_SYS_ADMIN", firstColumn: 5,
               precondition: { _ in losetupFailure() ?? cgroupHierarchy(devices: true).failure }, attempt: leaveThenReadDisk),
        Attack(id: "masked-proc-umount", summary: "umount the mask on /proc/timer_list, then read it",
               stoppedBy: 6, layer: "no CAP_SYS_ADMIN", firstColumn: 1,
               precondition: { _ in timerListFailure() },
               attempt: { lab, column in
                   try readsTimerList(column, try lab.run(column, ["read-masked", "/proc/timer_list"]
                                                            + (column >= 2 ? ["--unmask"] : [])))
               }),
        Attack(id: "core-pattern", summary: "umount /proc/sys, set core_pattern to a pipe, crash: the kernel runs it as host root",
               stoppedBy: 6, layer: "no CAP_SYS_ADMIN", firstColumn: 1,
               precondition: { _ in nil }, attempt: corePatternPayload),
        Attack(id: "new-proc", summary: "mount a new proc and write its core_pattern (own value back)",
               stoppedBy: 6, layer: "no CAP_SYS_ADMIN", firstColumn: 2,
               precondition: { _ in nil }, attempt: { lab, column in
                   try byExitStatus(column, try lab.run(column, ["mount-proc", lab.mountPoint(in: column, "proc")]))
               }),
        Attack(id: "new-sysfs", summary: "mount a new sysfs read-write",
               stoppedBy: 6, layer: "no CAP_SYS_ADMIN", firstColumn: 2,
               precondition: { _ in nil }, attempt: { lab, column in
                   try byExitStatus(column, try lab.run(column, ["mount-sysfs", lab.mountPoint(in: column, "sys")]))
               }),
        Attack(id: "release-agent", summary: "mount a cgroup v1 hierarchy, set release_agent: the kernel runs it as host root",
               stoppedBy: 6, layer: "no CAP_SYS_ADMIN", firstColumn: 2,
               precondition: { lab in namedCgroupV1Failure(lab) }, attempt: releaseAgentPayload),
        Attack(id: "leave-cgroup", summary: "mount the cgroup hierarchy and move out of the container's group",
               stoppedBy: 6, layer: "no CAP_SYS_ADMIN", firstColumn: 5,
               precondition: { _ in cgroupHierarchy().failure }, attempt: leaveCgroup),
        Attack(id: "open-by-handle", summary: "open_by_handle_at (\"shocker\"): open inodes by handle, past any root",
               stoppedBy: 6, layer: "no CAP_DAC_READ_SEARCH", firstColumn: 1,
               precondition: { _ in nil }, attempt: { lab, column in
                   // A file system that hands out handles: the host's (01-02), the overlay (03: none, so a
                   // made-up handle, which still meets the capability check first), /dev's tmpfs (04+).
                   let directory = column <= 2 ? lab.directory : column == 3 ? "/" : "/dev"
                   return try byExitStatus(column, try lab.run(column, ["open-by-handle", directory]))
               }),
        Attack(id: "host-clock", summary: "adjust the host's clock (clock_adjtime ADJ_TICK to its own value)",
               stoppedBy: 6, layer: "no CAP_SYS_TIME", firstColumn: 1,
               precondition: { _ in nil }, attempt: { lab, column in
                   try byExitStatus(column, try lab.run(column, ["clock"]))
               }),

        // ── step08: seccomp ──
        Attack(id: "nested-userns", summary: "unshare(CLONE_NEWUSER): a user namespace of its own, full capabilities in it",
               stoppedBy: 8, layer: "seccomp", firstColumn: 1,
               precondition: { _ in nil }, attempt: { lab, column in try byExitStatus(column, try lab.run(column, ["userns"])) },
               alsoStoppedIn: [3: "the kernel refuses a new user namespace to a chrooted process (EPERM)"]),
        Attack(id: "keyctl", summary: "reach the kernel keyrings (keyctl)",
               stoppedBy: 8, layer: "seccomp", firstColumn: 1,
               precondition: { _ in nil }, attempt: { lab, column in try byExitStatus(column, try lab.run(column, ["keyctl"])) }),
        Attack(id: "personality", summary: "personality(READ_IMPLIES_EXEC): every readable page executable",
               stoppedBy: 8, layer: "seccomp allow list", firstColumn: 1,
               precondition: { _ in nil }, attempt: { lab, column in try byExitStatus(column, try lab.run(column, ["personality"])) }),
        Attack(id: "vsock", summary: "socket(AF_VSOCK): talk to the hypervisor",
               stoppedBy: 8, layer: "seccomp allow list", firstColumn: 1,
               precondition: { _ in nil }, attempt: { lab, column in try byExitStatus(column, try lab.run(column, ["vsock"])) }),
    ]

    public static func attack(_ id: String) -> Attack? { attacks.first { $0.id == id } }
}

// MARK: - Observations

private func readsMarker(_ column: Int, _ outcome: Outcome, _ content: String) throws -> Verdict {
    guard outcome.probeAnswered else { throw BrokenRun(column, outcome) }
    return outcome.stdout.contains(content) ? .gotThrough("printed the host's marker")
                                            : .blocked(outcome.summary)
}

/// timer_list's first line, as the host reads it ("Timer List Version: v0.9").
private func timerListHeader() -> String? {
    readHostFile("/proc/timer_list")?.split(separator: "\n").first.map(String.init)
}

private func timerListFailure() -> String? {
    timerListHeader()?.hasPrefix("Timer List") == true ? nil : "no /proc/timer_list on this kernel"
}

private func readsTimerList(_ column: Int, _ outcome: Outcome) throws -> Verdict {
    guard outcome.probeAnswered else { throw BrokenRun(column, outcome) }
    guard let header = timerListHeader() else { throw BrokenRun("cannot read /proc/timer_list on the host") }
    return outcome.stdout.hasPrefix(header) ? .gotThrough("read the host's timer list") : .blocked(outcome.summary)
}

private func hostMarker(_ lab: Lab) throws -> (path: String, content: String) {
    let path = lab.uniquePath("marker")
    let content = "host-secret-\(UUID().uuidString)"
    try content.write(toFile: path, atomically: false, encoding: .utf8)
    chmod(path, 0o600)
    return (path, content)
}

/// A host process to attack: `sleep 60`, killed and reaped whatever happens.
private func withVictim(_ body: (pid_t) throws -> Verdict) throws -> Verdict {
    let victim = Process()
    victim.executableURL = URL(fileURLWithPath: "/bin/sleep")
    victim.arguments = ["60"]
    victim.standardInput = FileHandle.nullDevice
    try victim.run()
    defer {
        kill(victim.processIdentifier, SIGKILL)
        victim.waitUntilExit()
    }
    return try body(victim.processIdentifier)
}

private func waitUntilDead(_ pid: pid_t) -> Bool {
    for _ in 0..<40 {
        if isDead(pid) { return true }
        usleep(5_000)
    }
    return false
}

// MARK: - Payloads that need the host's help

private func renameHost(_ lab: Lab, _ column: Int) throws -> Verdict {
    let knob = "/proc/sys/kernel/domainname"
    guard let original = readHostFile(knob)?.trimmingCharacters(in: .newlines) else { throw BrokenRun("cannot read \(knob)") }
    let marker = "attack-\(getpid())"
    defer { if readHostFile(knob)?.trimmingCharacters(in: .newlines) != original { writeHostFile(knob, original) } }
    let outcome = try lab.run(column, ["domainname", marker])
    guard outcome.probeAnswered else { throw BrokenRun(column, outcome) }
    let now = readHostFile(knob)?.trimmingCharacters(in: .newlines) ?? ""
    return now == marker ? .gotThrough("the host's domainname became \(marker)") : .blocked("the host's stayed \(now)")
}

private func pushKeystrokes(_ lab: Lab, _ column: Int) throws -> Verdict {
    // A terminal of our own, as the caller's: the payload runs as its session's leader with it as stdin.
    let master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
    guard master >= 0 else { throw BrokenRun("cannot open /dev/ptmx") }
    defer { close(master) }
    var unlock: Int32 = 0, number: UInt32 = 0
    // _IOW('T', 0x31, int) and _IOR('T', 0x30, unsigned int): macros Swift does not import.
    let TIOCSPTLCK: UInt = 0x4004_5431, TIOCGPTN: UInt = 0x8004_5430
    guard ioctl(master, TIOCSPTLCK, &unlock) == 0, ioctl(master, TIOCGPTN, &number) == 0 else {
        throw BrokenRun("cannot unlock a pseudo-terminal")
    }
    let slave = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY | O_CLOEXEC)
    guard slave >= 0 else { throw BrokenRun("cannot open /dev/pts/\(number)") }
    defer { close(slave) }
    let text = "attack\(getpid())"
    let handle = FileHandle(fileDescriptor: slave, closeOnDealloc: false)
    let outcome = try lab.run(column, ["tiocsti", text + "\n"], prefix: ["/usr/bin/setsid", "--ctty", "--wait"], stdin: handle)
    guard outcome.probeAnswered else { throw BrokenRun(column, outcome) }
    // What the caller's shell would read next from its terminal, and what the terminal
    // echoed to its screen: pushed input is echoed even if a relay reads it first.
    func pending(_ fd: Int32) -> String {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = read(fd, &buffer, buffer.count)
        return count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : ""
    }
    let typed = pending(slave), screen = pending(master)
    if typed.contains(text) { return .gotThrough("the caller's shell would read \(text)") }
    if screen.contains(text) { return .gotThrough("the caller's terminal echoed \(text)") }
    return .blocked("the caller's terminal got nothing (\(outcome.summary.replacingOccurrences(of: "\n", with: " ")))")
}

private func writeInheritedDescriptor(_ lab: Lab, _ column: Int) throws -> Verdict {
    let target = lab.uniquePath("inherited")
    guard FileManager.default.createFile(atPath: target, contents: nil) else { throw BrokenRun("cannot create \(target)") }
    chmod(target, 0o600)
    let text = "attack\(getpid())"
    // The caller (a shell, an IDE, a CI runner) holds fd 7 open, not close-on-exec.
    let prefix = ["/bin/sh", "-c", "exec 7>>\"$0\"; exec \"$@\"", target]
    let outcome = try lab.run(column, ["write-fd", "7", text], prefix: prefix)
    guard outcome.probeAnswered else { throw BrokenRun(column, outcome) }
    return readHostFile(target)?.contains(text) == true ? .gotThrough("wrote into the caller's file")
                                                        : .blocked(outcome.summary)
}

/// A block device of the host to aim at: a loop device over a file of random bytes in the
/// test directory (the real disk may be closed even to host root, as on this CI's VM), detached afterwards.
private func withHostBlockDevice(_ lab: Lab, _ body: (_ major: UInt32, _ minor: UInt32, _ hash: String) throws -> Verdict) throws -> Verdict {
    let backing = lab.uniquePath("disk") + ".img"
    var block = [UInt8](repeating: 0, count: 4096)
    for index in block.indices { block[index] = UInt8.random(in: 0...255) }
    try Data(block + [UInt8](repeating: 0, count: 61440)).write(to: URL(fileURLWithPath: backing))
    let attach = try runHostCommand([losetup, "--find", "--show", backing])
    let device = attach.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    guard attach.status == 0, device.hasPrefix("/dev/") else { throw BrokenRun("losetup failed: \(attach.stderr)") }
    defer { _ = try? runHostCommand([losetup, "--detach", device]) }
    var info = stat()
    guard stat(device, &info) == 0 else { throw BrokenRun("cannot stat \(device)") }
    let major = UInt32((info.st_rdev >> 8) & 0xfff) | UInt32((info.st_rdev >> 32) & ~0xfff)
    let minor = UInt32(info.st_rdev & 0xff) | UInt32((info.st_rdev >> 12) & ~0xff)
    var hash: UInt64 = 1469598103934665603
    for byte in block { hash = (hash ^ UInt64(byte)) &* 1099511628211 }
    return try body(major, minor, String(format: "%016llx", hash))
}

private let losetup: String = ["/usr/sbin/losetup", "/sbin/losetup"].first { access($0, X_OK) == 0 } ?? "/usr/sbin/losetup"

private func losetupFailure() -> String? {
    access(losetup, X_OK) == 0 && access("/dev/loop-control", F_OK) == 0 ? nil : "no loop devices (losetup)"
}

private func readHostDisk(_ lab: Lab, _ column: Int) throws -> Verdict {
    try withHostBlockDevice(lab) { major, minor, hash in
        let outcome = try lab.run(column, ["mknod-disk", lab.scratch(in: column), "\(major)", "\(minor)"])
        guard outcome.probeAnswered else { throw BrokenRun(column, outcome) }
        return outcome.stdout.contains(hash) ? .gotThrough("read the host's block device \(major):\(minor)")
                                             : .blocked(outcome.summary)
    }
}

/// A script the kernel runs as root in the host's namespaces: it leaves a marker saying who it ran as.
private func hostPayloadScript(_ lab: Lab) throws -> (script: String, marker: String) {
    let script = lab.uniquePath("payload") + ".sh"
    let marker = lab.uniquePath("ran-as-host")
    try "#!/bin/sh\nid -u > \(marker)\n".write(toFile: script, atomically: false, encoding: .utf8)
    chmod(script, 0o755)
    return (script, marker)
}

private func corePatternPayload(_ lab: Lab, _ column: Int) throws -> Verdict {
    let knob = "/proc/sys/kernel/core_pattern"
    guard let original = readHostFile(knob) else { throw BrokenRun("cannot read \(knob)") }
    defer { if readHostFile(knob) != original { writeHostFile(knob, original) } }
    let payload = try hostPayloadScript(lab)
    let outcome = try lab.run(column, ["core-pattern", payload.script] + (column >= 2 ? ["--unmask"] : []))
    guard outcome.probeAnswered else { throw BrokenRun(column, outcome) }
    if outcome.status == 0 && waitForFile(payload.marker, timeout: 3) || access(payload.marker, F_OK) == 0 {
        usleep(50_000)
        let uid = readHostFile(payload.marker)?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        return .gotThrough("the kernel ran the payload on the host as uid \(uid)")
    }
    return .blocked(outcome.summary)
}

private func releaseAgentPayload(_ lab: Lab, _ column: Int) throws -> Verdict {
    let payload = try hostPayloadScript(lab)
    let name = releaseAgentHierarchy
    defer { removeNamedHierarchy(name, lab: lab) }
    let outcome = try lab.run(column, ["release-agent", lab.mountPoint(in: column, "cgroup"), payload.script, name])
    guard outcome.probeAnswered else { throw BrokenRun(column, outcome) }
    if outcome.status == 0 && waitForFile(payload.marker, timeout: 3) || access(payload.marker, F_OK) == 0 {
        return .gotThrough("the kernel ran the release agent on the host")
    }
    return .blocked(outcome.summary)
}

/// The named v1 hierarchy the release_agent payload makes ("name=" + this).
public let releaseAgentHierarchy = "workshop-attack-\(getpid())"

/// Whether a named v1 hierarchy still exists (every process lists every hierarchy in /proc/self/cgroup).
public func namedHierarchyExists(_ name: String) -> Bool {
    readHostFile("/proc/self/cgroup")?.contains(":name=\(name):") == true
}

/// A v1 hierarchy outlives its last umount if a child group was still being released then:
/// mount it once more in a private mount namespace, with no child, and unmount it, until it is gone.
private func removeNamedHierarchy(_ name: String, lab: Lab) {
    for _ in 0..<5 {
        for _ in 0..<20 where namedHierarchyExists(name) { usleep(20_000) }
        guard namedHierarchyExists(name) else { return }
        let directory = lab.uniquePath("v1-cleanup")
        mkdir(directory, 0o700)
        let script = "mount -t cgroup -o none,name=\(name) cgroup \"$0\" && { rmdir \"$0\"/attack 2>/dev/null; sleep 0.2; umount \"$0\"; }"
        _ = try? runHostCommand(["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script, directory])
    }
}

/// Can a new, named cgroup v1 hierarchy be mounted here at all (pure v2 kernels may refuse)?
private func namedCgroupV1Failure(_ lab: Lab) -> String? {
    if let cached = namedCgroupV1Probe { return cached.isEmpty ? nil : cached }
    let directory = lab.uniquePath("v1-check")
    mkdir(directory, 0o700)
    let script = "mount -t cgroup -o none,name=workshop-attack-check-\(getpid()) cgroup \"$0\" && umount \"$0\""
    let result = try? runHostCommand(["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script, directory])
    let failure = result?.status == 0 ? "" : "this kernel mounts no cgroup v1 hierarchy (\(result?.stderr.trimmingCharacters(in: .whitespacesAndNewlines) ?? "unshare failed"))"
    namedCgroupV1Probe = failure
    return failure.isEmpty ? nil : failure
}
nonisolated(unsafe) private var namedCgroupV1Probe: String?

/// The hierarchy whose group holds the container's limits (or its device rules): cgroup v2,
/// or v1's pids (devices) hierarchy.
private func cgroupHierarchy(devices: Bool = false) -> (root: String, type: String, options: String, failure: String?) {
    if access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 { return ("/sys/fs/cgroup", "cgroup2", "-", nil) }
    let controller = devices ? "devices" : "pids"
    if access("/sys/fs/cgroup/\(controller)/cgroup.procs", F_OK) == 0 {
        return ("/sys/fs/cgroup/\(controller)", "cgroup", controller, nil)
    }
    return ("", "", "", "neither cgroup v2 nor a v1 \(controller) hierarchy at /sys/fs/cgroup")
}

/// A group of ours beside the container's, to move into; removed afterwards.
private func withTargetGroup(_ lab: Lab, devices: Bool, _ body: (_ relative: String) throws -> Verdict) throws -> Verdict {
    let hierarchy = cgroupHierarchy(devices: devices)
    let relative = "\(lab.cgroupParent)/attack-target-\(getpid())"
    let target = hierarchy.root + "/" + relative
    let parent = hierarchy.root + "/" + lab.cgroupParent
    let madeParent = access(parent, F_OK) != 0
    try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
    defer {
        for pid in readHostFile(target + "/cgroup.procs")?.split(separator: "\n").compactMap({ pid_t($0) }) ?? [] {
            kill(pid, SIGKILL)
        }
        for _ in 0..<200 {
            if rmdir(target) == 0 || errno == ENOENT { break }
            usleep(10_000)
        }
        if madeParent { rmdir(parent) }   // unless a container of the kit uses it meanwhile
    }
    return try body(relative)
}

private func leaveThenReadDisk(_ lab: Lab, _ column: Int) throws -> Verdict {
    let hierarchy = cgroupHierarchy(devices: true)
    return try withTargetGroup(lab, devices: true) { relative in
        try withHostBlockDevice(lab) { major, minor, hash in
            let outcome = try lab.run(column, ["leave-cgroup", lab.mountPoint(in: column, "cgroup"), hierarchy.type,
                                               hierarchy.options, relative, lab.scratch(in: column), "\(major)", "\(minor)"])
            guard outcome.probeAnswered else { throw BrokenRun(column, outcome) }
            return outcome.stdout.contains(hash) ? .gotThrough("read the host's block device \(major):\(minor)")
                                                 : .blocked(outcome.summary)
        }
    }
}

private func leaveCgroup(_ lab: Lab, _ column: Int) throws -> Verdict {
    let hierarchy = cgroupHierarchy()
    return try withTargetGroup(lab, devices: false) { relative in
        let target = hierarchy.root + "/" + relative
        let running = try lab.start(column, ["leave-cgroup", lab.mountPoint(in: column, "cgroup"), hierarchy.type,
                                             hierarchy.options, relative])
        let moved = running.waitForOutput("moved", timeout: 15)
        let inside = readHostFile(target + "/cgroup.procs")?.split(separator: "\n").compactMap { pid_t($0) } ?? []
        running.kill()
        for pid in inside { kill(pid, SIGKILL) }
        let outcome = running.wait(timeout: 15)
        if moved && !inside.isEmpty { return .gotThrough("the payload sat in \(relative), outside its own group") }
        guard outcome.probeAnswered else { throw BrokenRun(column, outcome) }
        return .blocked(outcome.summary)
    }
}

private func setuidInLayer(_ lab: Lab, _ column: Int) throws -> Verdict {
    let insidePath = column <= 2 ? lab.uniquePath("suid") : "/attack-suid"
    let running = try lab.start(column, ["setuid-copy", insidePath])
    defer {
        running.kill()
        _ = running.wait(timeout: 15)
        if column <= 2 { unlink(insidePath) }
    }
    guard running.waitForOutput("ready", timeout: 15) else {
        running.kill()
        let outcome = running.wait(timeout: 15)
        guard outcome.probeAnswered else { throw BrokenRun(column, outcome) }
        return .blocked(outcome.summary)
    }
    // Where the file is on the host: the same path, or under the run's upper layer.
    var hostPath = insidePath
    if column >= 3 {
        guard let pid = running.payloadPID(),
              let mountinfo = readHostFile("/proc/\(pid)/mountinfo"),
              let upper = mountinfo.split(separator: ",").first(where: { $0.hasPrefix("upperdir=") })?
                  .dropFirst("upperdir=".count).split(separator: " ").first else {
            throw BrokenRun("\(Lab.label(column)): cannot find the container's upper layer")
        }
        hostPath = String(upper) + insidePath
    }
    var info = stat()
    guard stat(hostPath, &info) == 0, info.st_mode & S_ISUID != 0 else {
        throw BrokenRun("\(Lab.label(column)): no setuid file at \(hostPath)")
    }
    // (Not setpriv --reuid: on this CI's kernel it exec'd through a 0700 directory that the
    // same uid's shell could not enter; the probe's setresuid + execv behaves like the shell.)
    let attempt = try runHostCommand([lab.probe, "as-nobody", hostPath])
    if attempt.stdout.contains("euid=0\n") { return .gotThrough("host uid 65534 ran it as root (\(hostPath))") }
    let said = (attempt.stdout + attempt.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
    return .blocked("host uid 65534: \(said.split(separator: "\n").last ?? "")")
}
