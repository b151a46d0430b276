import Foundation
import XCTest

/// step02-namespaces: UTS, PID, mount, IPC and network namespaces.
final class Step02Tests: StepTestCase {
    func testHostnameIsTheContainers() throws {
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, 255)
        let before = String(cString: name)
        XCTAssertEqual(try shell("step02-namespaces", "hostname", options: ["--hostname", "box-42"]), "box-42\n")
        gethostname(&name, 255)
        XCTAssertEqual(String(cString: name), before, "the host's hostname changed")
    }

    func testCommandIsPID1() throws {
        XCTAssertEqual(try shell("step02-namespaces", "echo $$"), "1\n")
    }

    func testPsSeesOnlyTheContainer() throws {
        let out = try shell("step02-namespaces", "sleep 0.2 & ls /proc | grep -E '^[0-9]+$' | sort -n")
        // sh (1), sleep, ls, grep, sort: a handful, all with small PIDs; the host has many more.
        let pids = out.split(separator: "\n").compactMap { Int($0) }
        XCTAssertEqual(pids.first, 1)
        XCTAssertLessThan(pids.count, 8, out)
        XCTAssertTrue(pids.allSatisfy { $0 < 10 }, out)
    }

    func testAllNamespacesDiffer() throws {
        let running = try start("step02-namespaces", ["sleep", "2"])
        let pid = try XCTUnwrap(running.containerPID())
        for kind in ["uts", "pid", "mnt", "ipc", "net"] {
            XCTAssertNotEqual(namespaceInode("\(pid)", kind), namespaceInode("self", kind), kind)
        }
        XCTAssertEqual(stopContainer(running, pid).status, 137)
    }

    /// On systemd machines / is a *shared* mount: without making the container's
    /// mounts private, its mounts propagate to the host. This machine's mounts are
    /// private, so the test builds a systemd-like host of its own: a mount namespace
    /// (unshare --propagation shared) that plays the host, and looks at it afterwards.
    func testMountsDoNotLeakToASharedHost() throws {
        let script = """
            "$STEP" -q -- /bin/sh -c 'mount -t tmpfs workshop-leak-check /mnt' || exit 9
            grep -c workshop-leak-check /proc/self/mountinfo
            """
        let result = try run("step02-namespaces", [], quiet: false,
                             prefix: ["/usr/bin/unshare", "--mount", "--propagation", "shared", "--", "/bin/sh", "-c", script, "sh"])
        XCTAssertEqual(result.stdout, "0\n", "the container's tmpfs appeared on the (shared) host: \(result.stderr)")
        // And of course never on the real host either.
        XCTAssertFalse(try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8).contains("workshop-leak-check"))
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
        XCTAssertTrue(FileManager.default.fileExists(atPath: "/proc/self/status"))
    }

    func testOnlyLoopbackIsUp() throws {
        let out = try shell("step02-namespaces", "ip -o link show")
        let links = out.split(separator: "\n")
        XCTAssertEqual(links.count, 1, out)
        XCTAssertTrue(links.first?.contains("lo:") == true, out)
        XCTAssertTrue(links.first?.contains(",UP") == true, "lo is not up: \(out)")
    }

    func testNetworkHostKeepsTheHostsInterfaces() throws {
        let inside = try shell("step02-namespaces", "readlink /proc/self/ns/net", options: ["--network", "host"])
        XCTAssertEqual(inside, namespaceInode("self", "net") + "\n")
    }

    func testBadValuesAreUsageErrors() throws {
        for arguments in [["--hostname", ""], ["--network", "bridge"], ["--hostname", String(repeating: "h", count: 65)]] {
            let result = try run("step02-namespaces", arguments + ["true"])
            XCTAssertEqual(result.status, 64, "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        }
    }
}
