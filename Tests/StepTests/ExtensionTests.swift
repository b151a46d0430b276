import Foundation
import XCTest

/// The checks of the chapters' "Extend it" exercises (issue 14), one class per chapter.
///
/// `workshop check NN --extend` runs ExtendNNTests against the learner's my-container with
/// WORKSHOP_CHECK_EXTENSION=1: then every property must hold. In the ordinary run (`swift test`,
/// the reference steps, which leave the extensions to the learner) the same observations are made
/// and at least one property must NOT hold: proof that the check fails without the extension and
/// cannot pass vacuously. Tests/Learner/run.sh applies each chapter's solution
/// (Chapters/solutions/NN.md) to a copy of stepNN and proves the check then passes.
class ExtensionTestCase: StepTestCase {
    /// One observable property of the extension, as the host saw it.
    struct Property {
        let name: String
        let expected: String
        let seen: String
        let holds: Bool
    }

    var isCheckingAnExtension: Bool { ProcessInfo.processInfo.environment["WORKSHOP_CHECK_EXTENSION"] == "1" }

    /// Extension under check: every property holds. Reference: not all of them do.
    func assertExtension(_ step: String, _ properties: [Property], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(properties.isEmpty, "\(step): the check observed nothing", file: file, line: line)
        if isCheckingAnExtension {
            for property in properties where !property.holds {
                XCTFail(StepTests.expectation(step: step, property: property.name, expected: property.expected, seen: property.seen),
                        file: file, line: line)
            }
        } else if properties.allSatisfy(\.holds) {
            XCTFail("\(step) (the reference, without the extension): every property of the extension already holds "
                    + "(\(properties.map(\.name).joined(separator: "; "))): this check could not tell the extension is missing",
                    file: file, line: line)
        }
    }

    /// Starts a step and returns the container's PID, or nil if it never ran (a refused option, say).
    func startContainer(_ step: String, _ arguments: [String]) throws -> (RunningStep, pid_t?) {
        let running = try start(step, arguments)
        return (running, running.containerPID(timeout: 10))
    }
}

/// Chapter 02: a private, empty /tmp, mounted after the mounts were made private.
final class Extend02Tests: ExtensionTestCase {
    func testTmpIsPrivateAndEmpty() throws {
        let step = "step02-namespaces"
        let name = "workshop-extend02-\(getpid())"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: "/tmp/" + name) }
        // On a pretend systemd host (shared mounts, as in testMountsDoNotLeakToASharedHost): a /tmp
        // mounted before `--make-rprivate` would cover the host's /tmp too.
        let script = """
            tmps() { awk '$5 == "/tmp"' /proc/self/mountinfo | wc -l; }
            before=$(tmps)
            out=$(mktemp -p "$WORKSHOP_HOME")   # not in /tmp: a wrong answer covers it
            "$STEP" -q -- /bin/sh -c 'ls -A /tmp | wc -l; touch /tmp/\(name); stat -f -c %T /tmp; stat -c %a /tmp; sleep 1' > "$out" &
            for i in $(seq 100); do [ "$(wc -l < "$out")" -ge 3 ] && break; sleep 0.1; done
            during=$(tmps)
            wait $! || exit 9
            after=$(tmps)
            echo "$(cat "$out" | tr '\\n' ' ')| $before $during $after"
            rm -f "$out"
            """
        let result = try run(step, [], quiet: false,
                             prefix: ["/usr/bin/unshare", "--mount", "--propagation", "shared", "--", "/bin/sh", "-c", script, "sh"])
        let parts = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines).components(separatedBy: "|")
        let inside = (parts.first ?? "").split(separator: " ").map(String.init)
        let host = (parts.count > 1 ? parts[1] : "").split(separator: " ").map(String.init)
        let seen = "\(result.stdout)\(result.stderr) (exit \(result.status))"
        assertExtension(step, [
            Property(name: "/tmp inside, right after the start", expected: "empty (0 entries)",
                     seen: inside.first.map { "\($0) entries" } ?? seen, holds: inside.first == "0"),
            Property(name: "the filesystem on /tmp inside", expected: "tmpfs", seen: inside.count > 1 ? inside[1] : seen,
                     holds: inside.count > 1 && inside[1] == "tmpfs"),
            Property(name: "/tmp's mode inside", expected: "1777 (anyone may create, only owners delete)",
                     seen: inside.count > 2 ? inside[2] : seen, holds: inside.count > 2 && inside[2] == "1777"),
            Property(name: "the host's /tmp after the container wrote /tmp/\(name)", expected: "no such file",
                     seen: FileManager.default.fileExists(atPath: "/tmp/" + name) ? "the file, on the host" : "no such file",
                     holds: !FileManager.default.fileExists(atPath: "/tmp/" + name)),
            Property(name: "mounts on a shared host's /tmp before, during and after a run", expected: "the same number each time",
                     seen: host.joined(separator: ", "), holds: host.count == 3 && Set(host).count == 1),
        ])
    }
}

/// Chapter 03: the container gives up CAP_SYS_CHROOT, so the escape's first move fails.
final class Extend03Tests: ExtensionTestCase {
    func testChrootIsNoLongerPossible() throws {
        let step = "step03-chroot"
        let marker = try makeHostMarker()
        let escape = try run(step, ["--try-escape", "cat", marker.path])
        let (running, pid) = try startContainer(step, ["sleep", "10"])
        let bounding = pid.flatMap { statusField($0, "CapBnd") }.flatMap { UInt64($0, radix: 16) }
        let effective = pid.flatMap { statusField($0, "CapEff") }.flatMap { UInt64($0, radix: 16) }
        if let pid { _ = stopContainer(running, pid) }
        let chroot: UInt64 = 1 << 18
        assertExtension(step, [
            Property(name: "--try-escape cat \(marker.path)", expected: "a refused chroot (non-zero exit), the host's file unread",
                     seen: "exit \(escape.status): \(escape.stdout)\(escape.stderr)",
                     holds: escape.status != 0 && !escape.stdout.contains(marker.content)),
            Property(name: "CAP_SYS_CHROOT (bit 18) in the command's bounding set, from the host's /proc/PID/status",
                     expected: "cleared", seen: bounding.map { String($0, radix: 16) } ?? "no running container",
                     holds: bounding.map { $0 & chroot == 0 } ?? false),
            Property(name: "CAP_SYS_CHROOT in the command's effective set", expected: "cleared",
                     seen: effective.map { String($0, radix: 16) } ?? "no running container",
                     holds: effective.map { $0 & chroot == 0 } ?? false),
        ])
    }
}

/// Chapter 04: runc's /dev/mqueue, the message queues of the container's own IPC namespace.
final class Extend04Tests: ExtensionTestCase {
    func testDevMqueueIsMounted() throws {
        let step = "step04-pivot-root"
        let result = try run(step, ["/bin/sh", "-c", "awk '$5 == \"/dev/mqueue\"' /proc/self/mountinfo; touch /dev/mqueue/extend04"])
        let line = result.stdout.split(separator: "\n").first.map(String.init) ?? ""
        let fields = line.split(separator: " ").map(String.init)
        let options = fields.count > 5 ? Set(fields[5].split(separator: ",").map(String.init)) : []
        let type = line.components(separatedBy: " - ").dropFirst().first?.split(separator: " ").first.map(String.init) ?? ""
        // The host's own /dev/mqueue (systemd mounts one), if any: the container's must be another superblock.
        let hostLine = ((try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? "")
            .split(separator: "\n").first { $0.split(separator: " ").count > 4 && $0.split(separator: " ")[4] == "/dev/mqueue" }
        let hostDevice = hostLine.map { String($0.split(separator: " ")[2]) }
        let seen = line.isEmpty ? "no mount on /dev/mqueue (\(result.stderr))" : line
        assertExtension(step, [
            Property(name: "the mount on /dev/mqueue inside", expected: "type mqueue", seen: seen, holds: type == "mqueue"),
            Property(name: "its options", expected: "nosuid,nodev,noexec", seen: seen,
                     holds: options.isSuperset(of: ["nosuid", "nodev", "noexec"])),
            Property(name: "its device", expected: "not the host's /dev/mqueue (\(hostDevice ?? "none on this host"))",
                     seen: fields.count > 2 ? fields[2] : seen, holds: fields.count > 2 && fields[2] != hostDevice),
            Property(name: "a queue made inside (touch /dev/mqueue/extend04)", expected: "works, and not on the host",
                     seen: "exit \(result.status) \(result.stderr)",
                     holds: result.status == 0 && !FileManager.default.fileExists(atPath: "/dev/mqueue/extend04")),
        ])
    }
}

/// Chapter 05: after the run, how many forks the pids limit refused (pids.events), as the kernel counted.
final class Extend05Tests: ExtensionTestCase {
    func testRefusedForksAreCounted() throws {
        let step = "step05-cgroup"
        // Twenty background sleeps in a group of at most 8 tasks: ash gives up at the first refused fork.
        let bomb = try run(step, ["--pids-limit", "8", "--", "/bin/sh", "-c", "for i in $(seq 20); do sleep 5 & done"], quiet: false)
        let calm = try run(step, ["--pids-limit", "8", "--", "/bin/true"], quiet: false)
        func refused(_ text: String) -> Int? {
            guard let range = text.range(of: #"forks refused (\d+) \(pids limit 8\)"#, options: .regularExpression) else { return nil }
            return Int(text[range].split(separator: " ")[2])
        }
        assertExtension(step, [
            Property(name: "after a fork bomb under --pids-limit 8", expected: "a line `forks refused N (pids limit 8)` with N ≥ 1",
                     seen: bomb.stderr, holds: (refused(bomb.stderr) ?? 0) >= 1),
            Property(name: "after /bin/true under --pids-limit 8", expected: "`forks refused 0 (pids limit 8)`",
                     seen: calm.stderr, holds: refused(calm.stderr) == 0),
        ])
    }
}

/// Chapter 06: `--user UID` runs the command as that uid and gid, and the capabilities kept survive exec.
final class Extend06Tests: ExtensionTestCase {
    func testUserKeepsTheGivenCapabilities() throws {
        let step = "step06-capabilities"
        let (running, pid) = try startContainer(step, ["--user", "1000", "--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE",
                                                       "--", "/bin/sh", "-c", "nc -l -p 80 & exec sleep 10"])
        // Port 80 (0x0050) listening (state 0A), IPv4 or IPv6, in the container's network namespace, seen through its /proc.
        var listening = false
        for _ in 0..<100 where pid != nil && !listening {
            let tcp = ["tcp", "tcp6"].map { (try? String(contentsOfFile: "/proc/\(pid!)/net/\($0)", encoding: .utf8)) ?? "" }
                .joined(separator: "\n")
            listening = tcp.split(separator: "\n").contains { line in
                let fields = line.split(separator: " ")
                return fields.count > 3 && fields[1].hasSuffix(":0050") && fields[3] == "0A"
            }
            if !listening { usleep(50_000) }
        }
        let uids = pid.flatMap { statusField($0, "Uid") } ?? "no running container"
        let gids = pid.flatMap { statusField($0, "Gid") } ?? "no running container"
        let effective = pid.flatMap { statusField($0, "CapEff") } ?? "no running container"
        let result = pid.map { stopContainer(running, $0) } ?? running.wait()
        assertExtension(step, [
            Property(name: "the command's uids (real, effective, saved, fs), from the host", expected: "1000 each",
                     seen: uids + (pid == nil ? ": \(result.stderr)" : ""),
                     holds: uids.split(whereSeparator: \.isWhitespace) == ["1000", "1000", "1000", "1000"]),
            Property(name: "the command's gids", expected: "1000 each", seen: gids,
                     holds: gids.split(whereSeparator: \.isWhitespace) == ["1000", "1000", "1000", "1000"]),
            Property(name: "the command's effective capabilities", expected: "0000000000000400 (NET_BIND_SERVICE only)",
                     seen: effective, holds: effective == "0000000000000400"),
            Property(name: "nc -l -p 80 as uid 1000", expected: "listening on port 80", seen: listening ? "listening" : "not listening",
                     holds: listening),
        ])
    }
}

/// Chapter 07: the maps written the rootless way, setgroups "deny", and the container still starts.
final class Extend07Tests: ExtensionTestCase {
    func testSetgroupsIsDenied() throws {
        let step = "step07-userns"
        let (running, pid) = try startContainer(step, ["/bin/sh", "-c", "exec sleep 10"])
        let fromHost = pid.flatMap { try? String(contentsOfFile: "/proc/\($0)/setgroups", encoding: .utf8) }?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let uidMap = pid.flatMap { try? String(contentsOfFile: "/proc/\($0)/uid_map", encoding: .utf8) } ?? ""
        let result = pid.map { stopContainer(running, $0) } ?? running.wait()
        assertExtension(step, [
            Property(name: "/proc/PID/setgroups of the container, from the host", expected: "deny",
                     seen: fromHost ?? "no running container: \(result.stderr)", holds: fromHost == "deny"),
            Property(name: "its uid_map", expected: "container root mapped (0 …)", seen: uidMap,
                     holds: uidMap.split(separator: "\n").contains { $0.split(whereSeparator: \.isWhitespace).first == "0" }),
        ])
    }
}

/// Chapter 08: a second filter of the learner's own: unshare(2) kills the process; other calls are untouched.
final class Extend08Tests: ExtensionTestCase {
    func testUnshareKillsTheProcess() throws {
        let step = "step08-seccomp"
        let result = try run(step, ["/bin/sh", "-c", "unshare -U true; echo \"unshare: $?\"; mkdir /tmp/d && echo \"mkdir: $?\""])
        let lines = result.stdout.split(separator: "\n").map(String.init)
        assertExtension(step, [
            Property(name: "unshare -U true", expected: "killed by SIGSYS (exit 159: 128 + 31)", seen: result.stdout + result.stderr,
                     holds: lines.contains("unshare: 159")),
            Property(name: "mkdir (an allowed call) after it", expected: "works (mkdir: 0)", seen: result.stdout + result.stderr,
                     holds: lines.contains("mkdir: 0")),
        ])
    }
}
