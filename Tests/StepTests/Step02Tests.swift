import Foundation
import XCTest

/// step02-namespaces: UTS, PID, mount, IPC and network namespaces.
final class Step02Tests: StepTestCase {
    /// Run in a UTS namespace of the test's own that plays the host: a step that lost its
    /// own namespace would rename that copy (seen here), never the machine.
    func testHostnameIsTheContainers() throws {
        let script = """
            before=$(hostname)
            "$STEP" -q --hostname box-42 -- hostname || exit 9
            [ "$(hostname)" = "$before" ] && echo host-unchanged || echo "host renamed to $(hostname)"
            """
        let result = try run("step02-namespaces", [], quiet: false,
                             prefix: ["/usr/bin/unshare", "--uts", "--", "/bin/sh", "-c", script, "sh"])
        XCTAssertEqual(result.stdout, "box-42\nhost-unchanged\n",
                       "step02: the container's hostname should be box-42 and the host's unchanged, saw \(result.stdout) \(result.stderr)")
    }

    func testCommandIsPID1() throws {
        XCTAssertEqual(try shell("step02-namespaces", "echo $$"), "1\n", "step02-namespaces: the command's PID inside (1: a new PID namespace)")
    }

    func testPsSeesOnlyTheContainer() throws {
        let out = try shell("step02-namespaces", "sleep 0.2 & ls /proc | grep -E '^[0-9]+$' | sort -n")
        // sh (1), sleep, ls, grep, sort: a handful, all with small PIDs; the host has many more.
        let pids = out.split(separator: "\n").compactMap { Int($0) }
        XCTAssertEqual(pids.first, 1, "step02-namespaces: the lowest PID in the container's /proc: \(out)")
        XCTAssertLessThan(pids.count, 8, "step02-namespaces: processes in the container's /proc (only its own): \(out)")
        expect(pids.allSatisfy { $0 < 10 }, step: "step02-namespaces", property: "the PIDs in the container's /proc",
               expected: "all below 10 (a fresh PID namespace)", seen: pids)
    }

    func testAllNamespacesDiffer() throws {
        let running = try start("step02-namespaces", ["sleep", "2"], prefix: ownUTSNamespace)
        let pid = try containerPID(running, step: "step02-namespaces")
        for kind in ["uts", "pid", "mnt", "ipc", "net"] {
            let (inside, runtime) = (namespaceInode("\(pid)", kind), namespaceInode("\(running.runtimePID)", kind))
            XCTAssertNotEqual(inside, runtime, "step02: the container's \(kind) namespace should differ from its runtime's, saw \(inside) for both")
        }
        let result = stopContainer(running, pid)
        XCTAssertEqual(result.status, 137, "step02-namespaces: exit status of sleep SIGKILLed from the host: \(result.stderr)")
    }

    /// On systemd machines / is a *shared* mount: without making the container's
    /// mounts private, its mounts propagate to the host (and pivot_root refuses a shared root).
    /// This machine's mounts are private, so the test builds a systemd-like host of its own:
    /// a mount namespace (unshare --propagation shared) that plays the host, and looks at it
    /// while the container runs and afterwards. Every step from 02 on: the runtime's own
    /// mounts (overlay, proc, dev...) must stay in the container too, not only the command's.
    func testMountsDoNotLeakToASharedHost() throws {
        let script = """
            before=$(wc -l < /proc/self/mountinfo)
            "$STEP" -q -- /bin/sh -c 'mount -t tmpfs workshop-leak-check /mnt 2>/dev/null; sleep 0.6' &
            sleep 0.3
            during=$(grep -cE 'workshop-leak-check|/containers/[0-9a-f]{12}/' /proc/self/mountinfo)
            wait $! || exit 9
            echo "$during $(( $(wc -l < /proc/self/mountinfo) - before ))"
            """
        for step in steps(from: 2) {
            let result = try run(step, [], quiet: false,
                                 prefix: ["/usr/bin/unshare", "--mount", "--propagation", "shared", "--", "/bin/sh", "-c", script, "sh"])
            XCTAssertEqual(result.status, 0, "\(step): on a shared host the run should succeed, saw exit \(result.status): \(result.stderr)")
            XCTAssertEqual(result.stdout, "0 0\n",
                           "\(step): the (shared) host should see none of the container's mounts (while it runs, new after it), saw \(result.stdout)")
        }
        // And of course never on the real host either.
        XCTAssertFalse(try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8).contains("workshop-leak-check"),
                       "step02+: the test's own mountinfo: expected no workshop-leak-check mount, saw one (a container's mount leaked to the host)")
    }

    func testHostProcStillWorksAfterTheRun() throws {
        // The classic bug: mounting proc in the container replaces the host's /proc on a shared host.
        let script = """
            "$STEP" -q -- /bin/true || exit 9
            grep -c '^Pid:' /proc/self/status
            """
        let result = try run("step02-namespaces", [], quiet: false,
                             prefix: ["/usr/bin/unshare", "--mount", "--propagation", "shared", "--", "/bin/sh", "-c", script, "sh"])
        XCTAssertEqual(result.stdout, "1\n", "the (shared) host's /proc broke: \(result.stderr)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: "/proc/self/status"),
                      "step02-namespaces: the host's /proc/self/status after a run: expected there, saw it missing (the host's /proc replaced)")
    }

    func testOnlyLoopbackIsUp() throws {
        let out = try shell("step02-namespaces", "ip -o link show")
        let links = out.split(separator: "\n")
        XCTAssertEqual(links.count, 1, "step02-namespaces: interfaces in `ip -o link show` (only lo): \(out)")
        expect(links.first?.contains("lo:") == true, step: "step02-namespaces", property: "the only interface", expected: "lo", seen: out)
        XCTAssertTrue(links.first?.contains(",UP") == true, "lo is not up: \(out)")
    }

    func testNetworkHostKeepsTheHostsInterfaces() throws {
        let inside = try shell("step02-namespaces", "readlink /proc/self/ns/net", options: ["--network", "host"])
        XCTAssertEqual(inside, namespaceInode("self", "net") + "\n", "step02-namespaces --network host: the net namespace inside vs the host's (the same)")
    }

    func testBadValuesAreUsageErrors() throws {
        for arguments in [["--hostname", ""], ["--network", "bridge"], ["--hostname", String(repeating: "h", count: 65)]] {
            let result = try run("step02-namespaces", arguments + ["true"])
            XCTAssertEqual(result.status, 64, "step02-namespaces \(arguments): exit status (usage error): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "step02-namespaces \(arguments): lines on stderr (one clear line): \(result.stderr)")
        }
    }
}
