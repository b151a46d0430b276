import Foundation
import XCTest

/// step04-pivot-root: pivot_root, the old root detached, and the standard mounts.
final class Step04Tests: StepTestCase {
    /// The same attack as in chapter 03 now stays inside: the command still runs, in Alpine,
    /// and cannot read the host's file (a runtime that failed to start would prove nothing).
    func testChrootEscapeFails() throws {
        let marker = try makeHostMarker()
        for step in steps(from: 4) {
            let result = try run(step, ["--try-escape", "/bin/sh", "-c", "cat \(marker.path) 2>/dev/null; cat /etc/alpine-release"])
            XCTAssertEqual(result.status, 0, "\(step): the command should run after the escape attempt, saw exit \(result.status): \(result.stderr)")
            XCTAssertFalse(result.stdout.contains(marker.content), "\(step): the escape should stay inside, saw the host's file \(marker.path)")
            XCTAssertEqual(result.stdout, "3.20.3\n", "\(step): after the escape attempt the root should still be Alpine's, saw \(result.stdout)")
        }
    }

    func testNoHostMountsInside() throws {
        let running = try start("step04-pivot-root", ["sleep", "2"])
        let pid = try containerPID(running, step: "step04-pivot-root")
        // Read from the host: the container's mount table.
        let inside = mountPoints("/proc/\(pid)/mountinfo")
        let result = stopContainer(running, pid)
        XCTAssertEqual(result.status, 137, "step04-pivot-root: exit status of sleep SIGKILLed from the host: \(result.stderr)")
        let allowed = ["/", "/proc", "/dev", "/sys"]
        for point in inside {
            XCTAssertTrue(allowed.contains { point == $0 || point.hasPrefix($0 + "/") } && point != "/sys/fs/cgroup",
                          "step04-pivot-root: the mount \(point) in the container: expected only /, /proc, /dev, /sys and below (not /sys/fs/cgroup)")
        }
        // (A container may have its own /dev/mqueue, as runc gives it; hosts often have one too.)
        for hostOnly in Set(mountPoints()).subtracting(["/", "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"]) {
            XCTAssertFalse(inside.contains(hostOnly), "step04-pivot-root: the host's mount \(hostOnly): expected absent in the container, saw it there")
        }
        XCTAssertEqual(inside.first, "/", "step04-pivot-root: the first mount in the container's mountinfo (its root)")
    }

    func testDevNullIsTheRealDevice() throws {
        let out = try shell("step04-pivot-root", "stat -c '%F %t:%T' /dev/null; echo data > /dev/null && echo writable; ls /dev")
        let lines = out.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "character special file 1:3", "step04-pivot-root: /dev/null's type and numbers")
        XCTAssertEqual(lines.dropFirst().first, "writable", "step04-pivot-root: writing /dev/null: \(out)")
        XCTAssertFalse(lines.contains("sda") || lines.contains("vda") || lines.contains("mem"), "host devices in /dev: \(lines)")
    }

    /// /sys read-only, seen twice: the container's mount table from the host, and a harmless
    /// write inside (sysfs never lets anyone create a file, so a writable /sys only says
    /// "Permission denied"; no kernel setting is ever written).
    func testSysIsReadOnly() throws {
        for step in steps(from: 4) {
            let running = try start(step, ["/bin/sh", "-c", "touch /sys/kernel/workshop-probe; exec sleep 5"])
            let pid = try containerPID(running, step: step)
            XCTAssertTrue(waitUntil(pid, runs: "sleep"), "\(step): the probe script did not get to its sleep")
            let sys = mountEntries("/proc/\(pid)/mountinfo").last { $0.point == "/sys" }
            XCTAssertEqual(sys?.isReadOnly, true, "\(step): /sys should be mounted read-only, saw \(sys.map { $0.options.joined(separator: ",") } ?? "no /sys mount")")
            let result = stopContainer(running, pid)
            XCTAssertTrue(result.stderr.contains("Read-only file system"),
                          "\(step): a write under /sys should fail with EROFS, saw \(result.stderr)")
        }
    }

    /// runc's masked and read-only paths, looked at from the host through the container's
    /// /proc/PID/root and mount table. Every path the host's kernel has must be protected
    /// inside; a path this kernel lacks is not checked, but at least one masked file, one
    /// masked directory and one read-only path must be (or the test fails in CI, skips elsewhere).
    func testKernelFilesAreProtected() throws {
        let masked = ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                      "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"]
        let readOnly = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        var checked: (files: [String], directories: [String], readOnly: [String]) = ([], [], [])
        for step in steps(from: 4) {
            // (In a UTS namespace of the test's own: were /proc/sys writable and the step without its own, the write would rename it.)
            let running = try start(step, ["/bin/sh", "-c", "echo evil > /proc/sys/kernel/hostname && echo PROCSYS; exec sleep 5"],
                                    prefix: ownUTSNamespace)
            let pid = try containerPID(running, step: step)
            XCTAssertTrue(waitUntil(pid, runs: "sleep"), "\(step): the probe script did not get to its sleep")
            let root = "/proc/\(pid)/root"
            let mounts = mountEntries("/proc/\(pid)/mountinfo")
            for path in masked {
                var host = stat()
                guard stat(path, &host) == 0 else { continue }   // not on this kernel
                XCTAssertTrue(mounts.contains { $0.point == path }, "\(step): \(path) should be masked (a mount over it), saw no mount there")
                var inside = stat()
                guard stat(root + path, &inside) == 0 else {
                    XCTFail("\(step): \(path) should be masked, saw it missing inside: \(String(cString: strerror(errno)))"); continue
                }
                if (host.st_mode & S_IFMT) == S_IFDIR {
                    let entries = (try? FileManager.default.contentsOfDirectory(atPath: root + path)) ?? ["?"]
                    XCTAssertEqual(entries, [], "\(step): \(path) inside should be an empty directory (masked), saw \(entries.count) entries")
                    if step == "step04-pivot-root" { checked.directories.append(path) }
                } else {
                    XCTAssertEqual(inside.st_mode & S_IFMT, S_IFCHR, "\(step): \(path) inside should be /dev/null (masked), saw mode \(String(inside.st_mode, radix: 8))")
                    let text = (try? String(contentsOfFile: root + path, encoding: .utf8)) ?? ""
                    let lines = text.split(separator: "\n").count
                    XCTAssertEqual(lines, 0, "\(step): \(path) inside should be empty (masked), saw \(lines) lines")
                    if step == "step04-pivot-root" { checked.files.append(path) }
                }
            }
            for path in readOnly where FileManager.default.fileExists(atPath: path) {
                let mount = mounts.last { $0.point == path }
                XCTAssertEqual(mount?.isReadOnly, true, "\(step): \(path) should be mounted read-only, saw \(mount.map { $0.options.joined(separator: ",") } ?? "no mount there")")
                if step == "step04-pivot-root" { checked.readOnly.append(path) }
            }
            let result = stopContainer(running, pid)
            XCTAssertEqual(result.stdout, "", "\(step): /proc/sys/kernel/hostname should be unwritable inside, saw \(result.stdout)")
        }
        if checked.files.isEmpty || checked.directories.isEmpty || checked.readOnly.isEmpty {
            try nothingToCheck("step04: this kernel has none of the masked files, masked directories or read-only paths: \(checked)")
        }
    }

    /// Masked directories (/proc/acpi, /sys/firmware...) get an empty tmpfs, read from the host in
    /// the container's mountinfo: read-only, nosuid, nodev, noexec, and a real size (tmpfs takes
    /// "size=0" as no limit at all).
    func testMaskedDirectoriesAreReadOnlySmallTmpfs() throws {
        let candidates = ["/proc/acpi", "/proc/asound", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"]
        var isDirectory: ObjCBool = false
        let onThisKernel = candidates.filter { FileManager.default.fileExists(atPath: $0, isDirectory: &isDirectory) && isDirectory.boolValue }
        guard !onThisKernel.isEmpty else {
            return try nothingToCheck("step04+: masked directories: expected at least one of \(candidates) on the host to check, saw none")
        }
        for step in steps(from: 4) {
            let running = try start(step, ["sleep", "30"])
            let pid = try unwrap(running.containerPID(), step: step, property: "the container's PID",
                                 expected: "a child of the runtime that exec'd sleep")
            let mountinfo = (try? String(contentsOfFile: "/proc/\(pid)/mountinfo", encoding: .utf8)) ?? ""
            _ = stopContainer(running, pid)
            for path in onThisKernel {
                // "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [TAGS] - TYPE SOURCE SUPEROPTIONS"; the last mount there wins.
                let line = mountinfo.split(separator: "\n").last { $0.split(separator: " ").dropFirst(4).first.map(String.init) == path }
                let halves = line.map { $0.components(separatedBy: " - ") } ?? []
                let options = Set((halves.first?.split(separator: " ").dropFirst(5).first ?? "").split(separator: ",").map(String.init))
                let after = halves.count == 2 ? halves[1].split(separator: " ").map(String.init) : []
                let superOptions = after.count == 3 ? after[2].split(separator: ",").map(String.init) : []
                let size = superOptions.first { $0.hasPrefix("size=") }.map { String($0.dropFirst(5)) }
                expect(after.first == "tmpfs", step: step, property: "the file system over \(path)",
                       expected: "tmpfs", seen: line.map(String.init) ?? "no mount there")
                expect(options.isSuperset(of: ["ro", "nosuid", "nodev", "noexec"]), step: step,
                       property: "\(path)'s mount options", expected: "ro,nosuid,nodev,noexec", seen: options.sorted().joined(separator: ","))
                let kibibytes = size.flatMap { $0.hasSuffix("k") ? Int($0.dropLast()) : nil }
                expect(kibibytes.map { $0 > 0 && $0 <= 64 } ?? false, step: step, property: "\(path)'s tmpfs size",
                       expected: "size=Nk with 0 < N <= 64 (size=0 means unlimited)", seen: superOptions.joined(separator: ","))
            }
        }
    }

    func testContainersGetSeparateRoots() throws {
        let guardPrefix = try imageRootGuard("step04-pivot-root")
        let first = try start("step04-pivot-root", ["/bin/sh", "-c", guardPrefix + "echo one > /written-by-first; sleep 2; cat /written-by-first"])
        let second = try start("step04-pivot-root", ["/bin/sh", "-c", "sleep 1; cat /written-by-first"])
        let firstResult = first.wait()
        let secondResult = second.wait()
        XCTAssertEqual(firstResult.stdout, "one\n", "step04-pivot-root: the first container reading back its own file: \(firstResult.stderr)")
        XCTAssertNotEqual(secondResult.status, 0, "step04-pivot-root: exit status of the second container's cat of the first one's file (it must fail)")
        XCTAssertEqual(secondResult.stdout, "", "the second container saw the first one's file")
    }
}
