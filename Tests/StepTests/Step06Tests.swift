import Foundation
import XCTest

/// Docker's default capability set, as /proc/PID/status prints it.
let dockerDefaultMask = "00000000a80425fb"

/// step06-capabilities: Docker's default capability set.
final class Step06Tests: StepTestCase {
    /// Started by a process with inheritable capabilities (as a service manager may give),
    /// the container still gets Docker's set: an inheritable CAP_SYS_ADMIN would survive
    /// the exec of a root command unless capset(2) clears the inheritable set.
    func testCapabilitiesAreDockersDefault() throws {
        for step in steps(from: 6) {
            let running = try start(step, ["sleep", "2"], prefix: ["/usr/bin/setpriv", "--inh-caps", "+sys_admin,+net_admin", "--"])
            let pid = try XCTUnwrap(running.containerPID())
            // From the host.
            for key in ["CapEff", "CapPrm", "CapBnd"] {
                let seen = statusField(pid, key) ?? "nothing"
                XCTAssertEqual(seen, dockerDefaultMask, "\(step): \(key) should be Docker's default \(dockerDefaultMask), saw \(seen)")
            }
            for key in ["CapInh", "CapAmb"] {
                let seen = statusField(pid, key) ?? "nothing"
                XCTAssertEqual(seen, "0000000000000000", "\(step): \(key) should be empty, saw \(seen)")
            }
            XCTAssertEqual(stopContainer(running, pid).status, 137)
        }
    }

    func testPrivilegedCallsFail() throws {
        let result = try start("step06-capabilities", ["/bin/sh", "-c",
            "hostname x; mount -t tmpfs none /mnt; grep -c ' /mnt ' /proc/self/mountinfo; hostname"], prefix: ownUTSNamespace).wait()
        XCTAssertTrue(result.stderr.contains("sethostname: Operation not permitted"), result.stderr)
        XCTAssertEqual(result.stdout, "0\ncontainer\n", "hostname or mount succeeded: \(result.stdout)")
    }

    func testChownStillWorks() throws {
        let guardPrefix = try imageRootGuard("step06-capabilities")
        XCTAssertEqual(try shell("step06-capabilities", guardPrefix + "touch /f && chown 1234:5678 /f && stat -c %u:%g /f"), "1234:5678\n")
    }

    func testCapAddAndCapDrop() throws {
        // hostname: in a UTS namespace of the test's own, so a step without its own renames only that.
        XCTAssertEqual(try shell("step06-capabilities", "hostname x && hostname", options: ["--cap-add", "SYS_ADMIN"], prefix: ownUTSNamespace), "x\n")
        XCTAssertEqual(try shell("step06-capabilities", "hostname y && hostname", options: ["--cap-add", "cap_sys_admin"], prefix: ownUTSNamespace), "y\n")
        let guardPrefix = try imageRootGuard("step06-capabilities")
        let dropped = try run("step06-capabilities", ["--cap-drop", "CHOWN", "--", "/bin/sh", "-c", guardPrefix + "touch /f && chown 1234 /f"])
        XCTAssertNotEqual(dropped.status, 0)
        XCTAssertTrue(dropped.stderr.contains("Operation not permitted"), dropped.stderr)
        let none = try shell("step06-capabilities", "grep CapEff /proc/self/status", options: ["--cap-drop", "ALL"])
        XCTAssertEqual(none, "CapEff:\t0000000000000000\n")
        // ALL: everything the runtime has itself (this test's own bounding set).
        let all = try shell("step06-capabilities", "grep CapEff /proc/self/status", options: ["--cap-add", "ALL"])
        XCTAssertEqual(all, "CapEff:\t\(statusField(getpid(), "CapBnd") ?? "?")\n")
    }

    func testUnknownCapabilityIsAUsageError() throws {
        for arguments in [["--cap-add", "SYS_WIZARD"], ["--cap-drop", "CAP_"]] {
            let result = try run("step06-capabilities", arguments + ["true"])
            XCTAssertEqual(result.status, 64, result.stderr)
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        }
    }
}
