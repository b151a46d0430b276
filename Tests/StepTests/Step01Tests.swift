import Foundation
import XCTest

/// step01-clone: a cloned child, nothing isolated yet.
final class Step01Tests: StepTestCase {
    func testCommandGetsItsOwnPID() throws {
        let running = try start("step01-clone", ["--", "/bin/sh", "-c", "echo $$; sleep 1"])
        let hostPID = try containerPID(running, step: "step01-clone")
        let result = running.wait()
        let inside = try unwrap(pid_t(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), step: "step01-clone",
                                property: "the PID `echo $$` prints", expected: "a number", seen: result.stdout + result.stderr)
        XCTAssertNotEqual(inside, 1, "step01-clone: the command's PID inside (not 1: no PID namespace yet)")
        XCTAssertNotEqual(inside, running.runtimePID, "step01-clone: the command's PID inside (a child, not the runtime itself)")
        XCTAssertEqual(inside, hostPID, "no PID namespace: the child's PID inside is its PID on the host")
    }

    func testSharesTheHostsNamespaces() throws {
        let out = try shell("step01-clone", "readlink /proc/self/ns/uts /proc/self/ns/pid /proc/self/ns/mnt")
        XCTAssertEqual(out.split(separator: "\n").map(String.init),
                       ["uts", "pid", "mnt"].map { namespaceInode("self", $0) }, "step01-clone: the uts, pid, mnt namespaces inside vs the test's own (shared)")
    }

    func testExitStatusIsPassedThrough() throws {
        let result = try run("step01-clone", ["--", "/bin/sh", "-c", "exit 7"])
        XCTAssertEqual(result.status, 7, "step01-clone: exit status of sh -c 'exit 7' (passed through): \(result.stderr)")
    }

    func testMissingCommandExits127() throws {
        let result = try run("step01-clone", ["--", "no-such-command-here"])
        XCTAssertEqual(result.status, 127, "step01-clone: exit status of a missing command (Docker's 127): \(result.stderr)")
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "step01-clone: lines on stderr for a missing command (one clear line): \(result.stderr)")
        expect(result.stderr.contains("no-such-command-here"), step: "step01-clone", property: "the error for a missing command",
               expected: "its name, no-such-command-here", seen: result.stderr)
        // An empty name is not found either (Docker: 127), not a directory on PATH that cannot run (126).
        for step in ["step01-clone", "step08-seccomp"] {
            let empty = try run(step, ["--", ""])
            XCTAssertEqual(empty.status, 127, "\(step): an empty command name should exit 127, saw \(empty.status): \(empty.stderr)")
            // (A first run in a fresh state directory may also say that it kept a copy of the image.)
            let errors = empty.stderr.split(separator: "\n").filter { !$0.hasPrefix("workshop: ") }
            // The program names itself (the learner's is my-container under `workshop check 01`).
            let name = stepUnderTest.binary(for: step)
            XCTAssertEqual(errors, ["\(name): error: exec \"\": executable file not found in $PATH"],
                           "\(step): one error line expected, saw \(empty.stderr)")
        }
    }

    func testNotExecutableExits126() throws {
        let result = try run("step01-clone", ["--", "/etc/hostname"])
        XCTAssertEqual(result.status, 126, "step01-clone: exit status of a file that cannot run (Docker's 126): \(result.stderr)")
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "step01-clone: lines on stderr for /etc/hostname as a command (one clear line): \(result.stderr)")
    }

    func testKilledCommandGives137() throws {
        let result = try run("step01-clone", ["--", "/bin/sh", "-c", "kill -9 $$"])
        XCTAssertEqual(result.status, 137, "step01-clone: exit status of a command killed by SIGKILL (128+9): \(result.stderr)")
    }

    func testNotRootIsRefused() throws {
        for step in steps(from: 1) {
            let result = try run(step, ["true"], prefix: ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
            XCTAssertEqual(result.status, 125, "\(step) as uid 65534: exit status (the runtime refuses): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(step) as uid 65534: lines on stderr (one clear line): \(result.stderr)")
            expect(result.stderr.contains("root"), step: step, property: "the error as uid 65534", expected: "that it must run as root",
                   seen: result.stderr)
        }
    }

    func testUnknownOptionIsAUsageError() throws {
        for step in steps(from: 1) {
            let result = try run(step, ["--no-such-option", "true"])
            XCTAssertEqual(result.status, 64, "\(step) --no-such-option: exit status (usage error): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(step) --no-such-option: lines on stderr (one clear line): \(result.stderr)")
            expect(!result.stderr.contains("Fatal error"), step: step, property: "stderr for --no-such-option",
                   expected: "no Swift runtime trap", seen: result.stderr)
        }
    }

    func testHelpWorksForEveryStep() throws {
        for step in steps(from: 1) {
            let result = try run(step, ["--help"])
            XCTAssertEqual(result.status, 0, "\(step) --help: exit status: \(result.stderr)")
            let name = stepUnderTest.binary(for: step)   // my-container under `workshop check 01`
            expect(result.stdout.contains("USAGE: \(name)"), step: step, property: "--help's output", expected: "USAGE: \(name)",
                   seen: result.stdout)
        }
    }
}
