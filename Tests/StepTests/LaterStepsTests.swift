import Foundation
import XCTest

/// Every later step keeps every earlier layer: each observation of an earlier
/// chapter, run against all the steps after it, so a regression anywhere shows.
final class LaterStepsTests: StepTestCase {
    func testEarlierLayersHoldInEveryLaterStep() throws {
        let marker = try makeHostMarker()
        for (index, step) in steps(from: 2).enumerated() {
            let number = index + 2
            let script = "hostname; echo $$; ls /proc | grep -E '^[0-9]+$' | sort -n | head -1; ls /proc | grep -cE '^[0-9]+$'; "
                + "ip -o link 2>/dev/null | wc -l; ip link show lo | grep -c ',UP'; cat \(marker.path) 2>/dev/null; "
                + "cat /etc/alpine-release 2>/dev/null; touch /sys/kernel/workshop-probe 2>&1 | grep -q 'Read-only' && echo sys-ro; sleep 1"
            // A UTS namespace of the test's own around the runtime: a step that lost its own
            // would rename that copy, not the machine.
            // Inheritable capabilities from the caller must not reach the container either (step06 on).
            let running = try start(step, ["--hostname", "later-\(number)", "--", "/bin/sh", "-c", script],
                                    prefix: ["/usr/bin/setpriv", "--inh-caps", "+sys_admin,+net_admin", "--"] + ownUTSNamespace)
            guard let pid = running.containerPID() else { XCTFail("\(step): no container: \(running.wait().stderr)"); continue }
            for kind in ["uts", "pid", "mnt", "ipc", "net"] + (number >= 7 ? ["user"] : []) {
                let (inside, runtime) = (namespaceInode("\(pid)", kind), namespaceInode("\(running.runtimePID)", kind))
                XCTAssertNotEqual(inside, runtime, "\(step): the container's \(kind) namespace should differ from its runtime's, saw \(inside) for both")
            }
            if number >= 5 {
                let group = cgroupDirectories(of: pid)?.cpu ?? ""   // the cpu controller's directory
                XCTAssertTrue(group.contains("/\(testCgroupParent)/"), "\(step): the container should be in the tests' cgroup parent \(testCgroupParent), saw \(group)")
                let quota = try? String(contentsOfFile: group + (isV2 ? "/cpu.max" : "/cpu.cfs_quota_us"), encoding: .utf8)
                let first = quota?.split(separator: " ").first.map(String.init)?.trimmingCharacters(in: .whitespacesAndNewlines)
                XCTAssertEqual(first, "10000", "\(step): the group's CPU quota should be 10000 us per 100000 (--cpus 0.1), saw \(first ?? "nothing")")
            }
            if number >= 6 {
                for key in ["CapEff", "CapBnd"] {
                    let seen = statusField(pid, key) ?? "nothing"
                    XCTAssertEqual(seen, dockerDefaultMask, "\(step): \(key) should be Docker's default \(dockerDefaultMask), saw \(seen)")
                }
            }
            if number >= 7 { XCTAssertEqual(statusField(pid, "Uid")?.split(separator: "\t").first, "100000", "\(step): the container's uid on the host should be 100000") }
            if number >= 8 {
                XCTAssertEqual(statusField(pid, "Seccomp"), "2", "\(step): the container should be under a seccomp filter (Seccomp: 2)")
                XCTAssertEqual(statusField(pid, "NoNewPrivs"), "1", "\(step): no_new_privs should be set")
            }
            let result = running.wait()
            XCTAssertEqual(result.status, 0, "\(step): exit status: \(result.stderr)")
            var lines = result.stdout.split(separator: "\n").map(String.init)
            // A step that printed too little fails here instead of crashing the whole test run.
            func next() -> String { lines.isEmpty ? "<nothing>" : lines.removeFirst() }
            var seen = next()
            XCTAssertEqual(seen, "later-\(number)", "\(step): the hostname inside should be later-\(number), saw \(seen)")
            seen = next()
            XCTAssertEqual(seen, "1", "\(step): the command should be PID 1, saw \(seen)")
            seen = next()
            XCTAssertEqual(seen, "1", "\(step): /proc should be the container's own (its lowest PID 1), saw \(seen)")
            seen = next()
            XCTAssertTrue((1..<8).contains(Int(seen) ?? 99), "\(step): /proc should list only the container's few processes, saw \(seen)")
            seen = next()
            XCTAssertEqual(seen, "1", "\(step): the network namespace should have only lo, saw \(seen) links")
            seen = next()
            XCTAssertEqual(seen, "1", "\(step): lo should be up, saw \(seen)")
            if number >= 3 { XCTAssertFalse(result.stdout.contains(marker.content), "\(step): the host's file \(marker.path) should not be readable inside") }
            if number >= 3 { XCTAssertEqual(lines.first, "3.20.3", "\(step): the root should be Alpine 3.20.3, saw \(lines.first ?? "nothing")") }
            if number >= 4 { XCTAssertEqual(lines.last, "sys-ro", "\(step): a write under /sys should fail with EROFS (read-only), saw \(lines.last ?? "nothing")") }
        }
    }
}
