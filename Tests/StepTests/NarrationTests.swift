import Foundation
import XCTest

/// The narration says what the kernel shows, read back from /proc, not what the code meant:
/// each claim here is checked against the host's own view of the same process.
final class NarrationTests: StepTestCase {
    func narration(_ step: String, _ options: [String] = [], _ script: String = "true") throws -> String {
        let result = try run(step, options + ["--", "/bin/sh", "-c", script], quiet: false)
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stderr
    }

    /// Both PIDs in every step; the namespaces named are the ones whose inodes differ from the host's.
    func testProcessLineNamesBothPIDsAndTheNamespacesTheKernelMade() throws {
        for step in ["step01-clone", "step02-namespaces", "step05-cgroup", "step07-userns"] {
            let running = try start(step, ["--", "/bin/sh", "-c", "sleep 1"], quiet: false)
            let pid = try XCTUnwrap(running.containerPID(), step)
            // The host's view, while it runs: which namespaces differ from ours.
            let own = ["user", "uts", "pid", "mnt", "ipc", "net"].filter { namespaceInode("\(pid)", $0) != namespaceInode("self", $0) }
            let result = running.wait()
            XCTAssertTrue(result.stderr.contains("made a child: PID \(pid) on the host"), "\(step): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("the runtime is PID \(running.runtimePID)"), "\(step): \(result.stderr)")
            if own.isEmpty {
                XCTAssertTrue(result.stderr.contains("are the runtime's"), "\(step): \(result.stderr)")
            } else {
                XCTAssertTrue(result.stderr.contains("its own namespaces (/proc/\(pid)/ns inodes differ from the runtime's): "
                    + own.joined(separator: ", ")), "\(step) (host sees \(own)): \(result.stderr)")
            }
        }
    }

    /// The group line is read back from /proc/PID/cgroup: the host finds the same group there.
    func testControlGroupLineIsReadBack() throws {
        let text = try narration("step05-cgroup")
        let line = try XCTUnwrap(text.split(separator: "\n").first { $0.contains("/cgroup has") }, text)
        XCTAssertTrue(line.contains("the child is in it") || line.contains("born in it"), String(line))
        XCTAssertFalse(text.contains("is NOT in the group"), text)
    }

    /// A run shorter than one CFS period is said to be one, not reported as over the limit.
    func testShortRunStatsSayTheyAreShort() throws {
        let result = try run("step05-cgroup", ["--stats", "--", "true"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let line = try XCTUnwrap(result.stderr.split(separator: "\n").first { $0.contains("CPU time") }, result.stderr)
        XCTAssertTrue(line.contains("shorter than one 100 ms period"), String(line))
    }
}
