import Foundation
import XCTest

/// The narration says what the kernel shows, read back from /proc, not what the code meant:
/// each claim here is checked against the host's own view of the same process.
final class NarrationTests: StepTestCase {
    func narration(_ step: String, _ options: [String] = [], _ script: String = "true") throws -> String {
        let result = try run(step, options + ["--", "/bin/sh", "-c", script], quiet: false)
        XCTAssertEqual(result.status, 0, "\(step) \(options): exit status of sh -c '\(script)': \(result.stderr)")
        return result.stderr
    }

    /// Both PIDs in every step; the namespaces named are the ones whose inodes differ from the host's.
    func testProcessLineNamesBothPIDsAndTheNamespacesTheKernelMade() throws {
        for step in ["step01-clone", "step02-namespaces", "step05-cgroup", "step07-userns"] {
            let running = try start(step, ["--", "/bin/sh", "-c", "sleep 1"], quiet: false)
            let pid = try containerPID(running, step: step)
            // The host's view, while it runs: which namespaces differ from ours.
            let own = ["user", "uts", "pid", "mnt", "ipc", "net"].filter { namespaceInode("\(pid)", $0) != namespaceInode("self", $0) }
            let result = running.wait()
            expect(result.stderr.contains("made a child: PID \(pid) on the host"), step: step, property: "the narration's child PID",
                   expected: "made a child: PID \(pid) on the host (the host's view)", seen: result.stderr)
            expect(result.stderr.contains("the runtime is PID \(running.runtimePID)"), step: step, property: "the narration's runtime PID",
                   expected: "the runtime is PID \(running.runtimePID)", seen: result.stderr)
            if own.isEmpty {
                expect(result.stderr.contains("are the runtime's"), step: step, property: "the narration's namespaces",
                       expected: "that they are the runtime's (the host sees none of its own)", seen: result.stderr)
            } else {
                let named = "its own namespaces (/proc/\(pid)/ns inodes differ from the runtime's): " + own.joined(separator: ", ")
                expect(result.stderr.contains(named), step: step, property: "the narration's namespaces",
                       expected: "'\(named)' (the host sees \(own))", seen: result.stderr)
            }
        }
    }

    /// The group line is read back from /proc/PID/cgroup: the host finds the same group there.
    func testControlGroupLineIsReadBack() throws {
        let text = try narration("step05-cgroup")
        let line = try unwrap(text.split(separator: "\n").first { $0.contains("/cgroup has") }, step: "step05-cgroup",
                              property: "the narration's group line", expected: "a line with '/cgroup has'", seen: text)
        expect(line.contains("the child was moved in") || line.contains("born in it"), step: "step05-cgroup", property: "the group line",
               expected: "the child was moved in, or born in it (read back from /proc/PID/cgroup)", seen: line)
        expect(!text.contains("is NOT in the group"), step: "step05-cgroup", property: "the narration",
               expected: "no 'is NOT in the group'", seen: text)
    }

    /// A run shorter than one CFS period is said to be one, not reported as over the limit.
    func testShortRunStatsSayTheyAreShort() throws {
        let result = try run("step05-cgroup", ["--stats", "--", "true"])
        XCTAssertEqual(result.status, 0, "step05-cgroup --stats true: exit status: \(result.stderr)")
        let line = try unwrap(result.stderr.split(separator: "\n").first { $0.contains("CPU time") }, step: "step05-cgroup --stats",
                              property: "the summary's CPU time line", expected: "a line with 'CPU time'", seen: result.stderr)
        expect(line.contains("shorter than one 100 ms period"), step: "step05-cgroup --stats true", property: "the CPU time line",
               expected: "that the run was shorter than one 100 ms period", seen: line)
    }
}
