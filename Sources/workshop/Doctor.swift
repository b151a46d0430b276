// workshop doctor: can every chapter run on this machine? One line per check (✓ fine, ✗ a
// chapter cannot run, ! worth knowing), each problem with the one command that fixes it.
//
// For the tests only: WORKSHOP_DOCTOR_ROOT=DIR makes the checks read DIR/proc/... and
// DIR/sys/... instead of /proc/... and /sys/... wherever DIR has that file (a fake kernel
// version, a sysctl set to 0); the checks that try something (a mount, a namespace) are real.

import CArchiveLoader
import Foundation
import Workshop

struct Check {
    enum Status: String { case ok = "✓", problem = "✗", note = "!" }
    var status: Status
    var name: String
    var detail: String
    var fix: String? = nil

    var line: String {
        "\(status.rawValue) \(name.padding(toLength: 16, withPad: " ", startingAt: 0)) \(detail)" + (fix.map { "\n    fix: \($0)" } ?? "")
    }
}

/// A file of /proc or /sys, or its stand-in under WORKSHOP_DOCTOR_ROOT.
private func systemFile(_ path: String) -> String? {
    if let root = ProcessInfo.processInfo.environment["WORKSHOP_DOCTOR_ROOT"], !root.isEmpty,
       let text = try? String(contentsOfFile: root + path, encoding: .utf8) {
        return text
    }
    return try? String(contentsOfFile: path, encoding: .utf8)
}

private func trimmed(_ text: String?) -> String? { text?.trimmingCharacters(in: .whitespacesAndNewlines) }

/// Runs a helper program; nil when it cannot be started.
private func output(of arguments: [String], environment: [String: String]? = nil) -> (status: Int32, text: String)? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: arguments[0])
    process.arguments = Array(arguments.dropFirst())
    if let environment { process.environment = environment }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    process.standardInput = FileHandle.nullDevice
    do { try process.run() } catch { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// The first executable `name` on PATH.
private func onPath(_ name: String, path: String?) -> String? {
    (path ?? "").split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}

func doctorChecks() -> [Check] {
    var checks: [Check] = []
    let environment = ProcessInfo.processInfo.environment

    // Root: every step needs it (clone with namespaces, mounts, cgroups).
    checks.append(geteuid() == 0
        ? Check(status: .ok, name: "root", detail: "running as root")
        : Check(status: .problem, name: "root", detail: "not root: every step needs it",
                fix: "sudo swift run workshop doctor"))

    // Kernel: 5.11 for overlayfs in a user namespace (step07's root).
    let release = trimmed(systemFile("/proc/sys/kernel/osrelease")) ?? "?"
    let numbers = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
    if numbers.count == 2, (numbers[0], numbers[1]) >= (5, 11) {
        checks.append(Check(status: .ok, name: "kernel", detail: "\(release) (5.11 or newer)"))
    } else {
        checks.append(Check(status: .problem, name: "kernel", detail: "\(release): the kit needs 5.11 or newer (overlayfs in a user namespace, chapter 07)",
                            fix: "sudo apt-get install -y linux-image-amd64 (or your distribution's newer kernel), then reboot"))
    }

    // cgroups: the layout, and on v2 the controllers chapter 05 writes.
    let layout = CgroupLayout.detect()
    switch layout {
    case .unified:
        let available = Set((trimmed(systemFile("/sys/fs/cgroup/cgroup.controllers")) ?? "").split(separator: " ").map(String.init))
        let missing = ["cpu", "memory", "pids"].filter { !available.contains($0) }
        if missing.isEmpty {
            checks.append(Check(status: .ok, name: "cgroup", detail: "v2; cpu, memory, pids available at /sys/fs/cgroup"))
        } else {
            checks.append(Check(status: .problem, name: "cgroup",
                                detail: "v2, but \(missing.joined(separator: ", ")) not available at /sys/fs/cgroup (chapter 05's limits)",
                                fix: "add cgroup_enable=\(missing.joined(separator: ",")) to the kernel command line (GRUB_CMDLINE_LINUX in /etc/default/grub), sudo update-grub, reboot"))
        }
    case .hybrid, .legacy:
        let missing = ["cpu", "memory", "pids", "devices"].filter { !FileManager.default.fileExists(atPath: "/sys/fs/cgroup/\($0)") }
        checks.append(missing.isEmpty
            ? Check(status: .ok, name: "cgroup", detail: "v1 (\(layout.rawValue)); cpu, memory, pids, devices hierarchies mounted")
            : Check(status: .problem, name: "cgroup", detail: "v1, but no \(missing.joined(separator: ", ")) hierarchy under /sys/fs/cgroup",
                    fix: "sudo mount -t cgroup -o \(missing[0]) cgroup /sys/fs/cgroup/\(missing[0]) (or boot with systemd.unified_cgroup_hierarchy=1)"))
    }

    // overlayfs: a tiny mount in a mount namespace of its own, gone with it.
    let filesystems = systemFile("/proc/filesystems") ?? ""
    if !filesystems.contains("\toverlay\n") {
        checks.append(Check(status: .problem, name: "overlayfs", detail: "not in /proc/filesystems (chapters 03-08 need it)",
                            fix: "sudo modprobe overlay"))
    } else if geteuid() == 0 {
        let directory = NSTemporaryDirectory() + "workshop-doctor-\(getpid())"
        let script = "cd \"$1\" && mkdir lower upper work merged && echo ok > lower/f && "
            + "mount -t overlay overlay -o lowerdir=lower,upperdir=upper,workdir=work merged && cat merged/f"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let tried = output(of: ["/usr/bin/unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, "sh", directory])
        try? FileManager.default.removeItem(atPath: directory)
        if let tried, tried.status == 0, tried.text.contains("ok") {
            checks.append(Check(status: .ok, name: "overlayfs", detail: "a test mount worked (in a private mount namespace)"))
        } else {
            checks.append(Check(status: .problem, name: "overlayfs", detail: "a test mount failed: \(trimmed(tried?.text) ?? "could not run unshare")",
                                fix: "sudo apt-get install -y util-linux; sudo modprobe overlay"))
        }
    } else {
        checks.append(Check(status: .note, name: "overlayfs", detail: "listed by the kernel; not tried (needs root)"))
    }

    // User namespaces (chapter 07, and overlayfs in one).
    let maximum = Int(trimmed(systemFile("/proc/sys/user/max_user_namespaces")) ?? "") ?? -1
    let restricted = trimmed(systemFile("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"))
    if maximum == 0 {
        checks.append(Check(status: .problem, name: "user namespaces", detail: "user.max_user_namespaces is 0 (chapter 07 needs them)",
                            fix: "sudo sysctl -w user.max_user_namespaces=15000"))
    } else if geteuid() == 0, let tried = output(of: ["/usr/bin/unshare", "--user", "--", "/bin/true"]), tried.status != 0 {
        checks.append(Check(status: .problem, name: "user namespaces", detail: "unshare --user failed: \(trimmed(tried.text) ?? "")",
                            fix: "sudo sysctl -w user.max_user_namespaces=15000"))
    } else {
        var detail = "available (user.max_user_namespaces = \(maximum < 0 ? "?" : String(maximum)))"
        if restricted == "1" { detail += "; AppArmor restricts them for non-root users only: the kit runs as root" }
        checks.append(Check(status: .ok, name: "user namespaces", detail: detail))
    }

    // seccomp (chapter 08): the kernel reports a Seccomp field when it has seccomp, and
    // Seccomp_filters when it has filter mode (5.9+; older kernels lack the field only).
    let status = systemFile("/proc/self/status") ?? ""
    if !status.contains("\nSeccomp:") {
        checks.append(Check(status: .problem, name: "seccomp", detail: "no Seccomp field in /proc/self/status: a kernel without CONFIG_SECCOMP (chapter 08)",
                            fix: "boot a distribution kernel with CONFIG_SECCOMP_FILTER=y"))
    } else {
        checks.append(Check(status: .ok, name: "seccomp", detail: "supported (Seccomp field in /proc/self/status)"))
    }

    // libarchive: loaded on first use to unpack the image (chapter 03 on).
    if ws_archive_load() == 0 {
        checks.append(Check(status: .ok, name: "libarchive", detail: "loadable"))
    } else {
        checks.append(Check(status: .problem, name: "libarchive", detail: "cannot load: \(String(cString: ws_archive_error()))",
                            fix: "sudo apt-get install -y libarchive-dev"))
    }

    // Swift: the learner's `swift run`; under sudo PATH is reset (secure_path).
    if let swift = onPath("swift", path: environment["PATH"]), let version = output(of: [swift, "--version"]) {
        let line = version.text.split(separator: "\n").first { $0.contains("Swift version") }.map(String.init) ?? version.text
        let major = line.range(of: #"Swift version (\d+)"#, options: .regularExpression)
            .flatMap { Int(line[$0].split(separator: " ").last ?? "") } ?? 0
        checks.append(major >= 6
            ? Check(status: .ok, name: "swift", detail: trimmed(line) ?? "")
            : Check(status: .problem, name: "swift", detail: "\(trimmed(line) ?? "?"): the kit needs Swift 6.0 or newer",
                    fix: "install Swift 6 from https://www.swift.org/install/linux/"))
    } else {
        checks.append(Check(status: .note, name: "swift", detail: "not on this PATH (sudo resets it)",
                            fix: "sudo env \"PATH=$PATH\" swift run …"))
    }

    // The Alpine image, without the network.
    let downloads = workshopHome + "/downloads/" + Alpine.tarballName
    if let given = environment["WORKSHOP_ALPINE_TARBALL"], !given.isEmpty {
        checks.append(FileManager.default.isReadableFile(atPath: given)
            ? Check(status: .ok, name: "alpine image", detail: "WORKSHOP_ALPINE_TARBALL=\(given)")
            : Check(status: .problem, name: "alpine image", detail: "WORKSHOP_ALPINE_TARBALL=\(given): no such file",
                    fix: "sudo swift run workshop doctor --tarball /path/to/\(Alpine.tarballName)"))
    } else if FileManager.default.fileExists(atPath: downloads) {
        checks.append(Check(status: .ok, name: "alpine image", detail: "\(downloads) (works offline)"))
    } else {
        checks.append(Check(status: .note, name: "alpine image",
                            detail: "no \(Alpine.tarballName) in \(workshopHome)/downloads: the first run downloads it (offline: the busybox fallback)",
                            fix: "sudo swift run workshop doctor --tarball /path/to/\(Alpine.tarballName)"))
    }

    // Free space where the images and the containers' layers go (the image is about 8 MB unpacked).
    var existing = workshopHome
    while !FileManager.default.fileExists(atPath: existing), existing != "/" { existing = (existing as NSString).deletingLastPathComponent }
    var space = statvfs()
    if statvfs(existing, &space) == 0 {
        let free = Int64(space.f_bavail) * Int64(space.f_frsize)
        let text = "\(free >> 20) MB free in \(existing)"
        checks.append(free >= 100 << 20 ? Check(status: .ok, name: "disk", detail: text)
            : Check(status: free >= 20 << 20 ? .note : .problem, name: "disk", detail: text + " (the kit wants about 100 MB)",
                    fix: "free space there, or point WORKSHOP_HOME at a larger disk"))
    }
    return checks
}

func doctor(_ arguments: [String]) -> Int32 {
    var tarball: String?
    var index = 0
    while index < arguments.count {
        switch arguments[index] {
        case "--help", "-h":
            print(subcommands.first { $0.name == "doctor" }!.usage)
            return 0
        case "--tarball":
            index += 1
            guard index < arguments.count else { return fail("--tarball needs a path", code: 64) }
            tarball = arguments[index]
        default:
            return fail("unknown option \(arguments[index]) (workshop doctor --help)", code: 64)
        }
        index += 1
    }
    if let tarball {
        guard geteuid() == 0 else { return fail("--tarball writes to \(workshopHome): sudo swift run workshop doctor --tarball \(tarball)", code: 125) }
        guard (tarball as NSString).lastPathComponent == Alpine.tarballName else {
            return fail("\(tarball): the kit keeps only \(Alpine.tarballName) (its checksum is pinned)", code: 64)
        }
        // The image code checks it against the pinned checksum, unpacks it into the cache and
        // keeps a copy in downloads/ for every later run.
        do {
            let image = try Image.prepare(rootfs: tarball)
            print("✓ alpine image    \(tarball) verified and unpacked into \(image.path)")
        } catch {
            return fail("\(error)", code: 125)
        }
    }
    let checks = doctorChecks()
    for check in checks { print(check.line) }
    let problems = checks.filter { $0.status == .problem }.count
    print(problems == 0 ? "every chapter can run here" : "\(problems) problem\(problems == 1 ? "" : "s"): some chapters cannot run here")
    return problems == 0 ? 0 : 1
}
