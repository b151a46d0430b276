import Foundation
import XCTest

/// step01-clone: a cloned child, nothing isolated yet.
final class Step01Tests: StepTestCase {
    func testCommandGetsItsOwnPID() throws {
        let running = try start("step01-clone", ["--", "/bin/sh", "-c", "echo $$; sleep 1"])
        let hostPID = try XCTUnwrap(running.containerPID())
        let result = running.wait()
        let inside = try XCTUnwrap(pid_t(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertNotEqual(inside, 1)
        XCTAssertNotEqual(inside, running.runtimePID)
        XCTAssertEqual(inside, hostPID, "no PID namespace: the child's PID inside is its PID on the host")
    }

    func testSharesTheHostsNamespaces() throws {
        let out = try shell("step01-clone", "readlink /proc/self/ns/uts /proc/self/ns/pid /proc/self/ns/mnt")
        XCTAssertEqual(out.split(separator: "\n").map(String.init),
                       ["uts", "pid", "mnt"].map { namespaceInode("self", $0) })
    }

    func testExitStatusIsPassedThrough() throws {
        XCTAssertEqual(try run("step01-clone", ["--", "/bin/sh", "-c", "exit 7"]).status, 7)
    }

    func testMissingCommandExits127() throws {
        let result = try run("step01-clone", ["--", "no-such-command-here"])
        XCTAssertEqual(result.status, 127)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("no-such-command-here"), result.stderr)
        // An empty name is not found either (Docker: 127), not a directory on PATH that cannot run (126).
        for step in ["step01-clone", "step08-seccomp"] {
            let empty = try run(step, ["--", ""])
            XCTAssertEqual(empty.status, 127, "\(step): an empty command name should exit 127, saw \(empty.status): \(empty.stderr)")
            // (A first run in a fresh state directory may also say that it kept a copy of the image.)
            let errors = empty.stderr.split(separator: "\n").filter { !$0.hasPrefix("workshop: ") }
            XCTAssertEqual(errors, ["\(step): error: exec \"\": executable file not found in $PATH"],
                           "\(step): one error line expected, saw \(empty.stderr)")
        }
    }

    func testNotExecutableExits126() throws {
        let result = try run("step01-clone", ["--", "/etc/hostname"])
        XCTAssertEqual(result.status, 126, result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
    }

    func testKilledCommandGives137() throws {
        XCTAssertEqual(try run("step01-clone", ["--", "/bin/sh", "-c", "kill -9 $$"]).status, 137)
    }

    func testNotRootIsRefused() throws {
        for step in steps(from: 1) {
            let result = try run(step, ["true"], prefix: ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
            XCTAssertEqual(result.status, 125, "\(step): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertTrue(result.stderr.contains("root"), result.stderr)
        }
    }

    func testUnknownOptionIsAUsageError() throws {
        for step in steps(from: 1) {
            let result = try run(step, ["--no-such-option", "true"])
            XCTAssertEqual(result.status, 64, "\(step): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertFalse(result.stderr.contains("Fatal error"), result.stderr)
        }
    }

    func testHelpWorksForEveryStep() throws {
        for step in steps(from: 1) {
            let result = try run(step, ["--help"])
            XCTAssertEqual(result.status, 0, step)
            XCTAssertTrue(result.stdout.contains("USAGE: \(step)"), result.stdout)
        }
    }
}
