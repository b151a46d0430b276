import Foundation
import XCTest

/// Every later step keeps every earlier layer: each observation of an earlier
/// chapter, run against all the steps after it, so a regression anywhere shows.
final class LaterStepsTests: StepTestCase {
    func testEarlierLayersHoldInEveryLaterStep() throws {
        let marker = try makeHostMarker()
        for (index, step) in steps(from: 2).enumerated() {
            let number = index + 2
            let script = "hostname; echo $$; ls /proc | grep -cE '^[0-9]+$'; ip -o link 2>/dev/null | wc -l; cat \(marker.path) 2>/dev/null; "
                + "cat /etc/alpine-release 2>/dev/null; echo 1 > /sys/kernel/uevent_helper 2>/dev/null || echo sys-ro; sleep 1"
            let running = try start(step, ["--hostname", "later-\(number)", "--", "/bin/sh", "-c", script])
            let pid = try XCTUnwrap(running.containerPID(), step)
            if number >= 5 {
                let group = cgroupDirectories(of: pid)?.cpu ?? ""   // the cpu controller's directory
                XCTAssertTrue(group.contains("/\(testCgroupParent)/"), "\(step): not in the tests' cgroup parent \(testCgroupParent): \(group)")
                let quota = try? String(contentsOfFile: group + (isV2 ? "/cpu.max" : "/cpu.cfs_quota_us"), encoding: .utf8)
                XCTAssertEqual(quota?.split(separator: " ").first.map(String.init)?.trimmingCharacters(in: .whitespacesAndNewlines), "10000", step)
            }
            if number >= 6 { XCTAssertEqual(statusField(pid, "CapEff"), dockerDefaultMask, step) }
            if number >= 7 { XCTAssertEqual(statusField(pid, "Uid")?.split(separator: "\t").first, "100000", step) }
            if number >= 8 { XCTAssertEqual(statusField(pid, "Seccomp"), "2", step) }
            let result = running.wait()
            XCTAssertEqual(result.status, 0, "\(step): \(result.stderr)")
            var lines = result.stdout.split(separator: "\n").map(String.init)
            // A step that printed too little fails here instead of crashing the whole test run.
            func next() -> String { lines.isEmpty ? "<nothing>" : lines.removeFirst() }
            XCTAssertEqual(next(), "later-\(number)", step)
            XCTAssertEqual(next(), "1", "\(step): not PID 1")
            XCTAssertLessThan(Int(next()) ?? 99, 8, "\(step): sees the host's processes")
            XCTAssertEqual(next(), "1", "\(step): more than lo in the network namespace")
            XCTAssertFalse(lines.contains(marker.content), "\(step): the host's files are visible")
            if number >= 3 { XCTAssertEqual(lines.first, "3.20.3", "\(step): not Alpine") }
            if number >= 4 { XCTAssertEqual(lines.last, "sys-ro", "\(step): /sys is writable") }
        }
    }
}
