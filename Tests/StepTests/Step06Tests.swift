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
            let pid = try containerPID(running, step: step)
            // From the host.
            for key in ["CapEff", "CapPrm", "CapBnd"] {
                let seen = statusField(pid, key) ?? "nothing"
                XCTAssertEqual(seen, dockerDefaultMask, "\(step): \(key) should be Docker's default \(dockerDefaultMask), saw \(seen)")
            }
            for key in ["CapInh", "CapAmb"] {
                let seen = statusField(pid, key) ?? "nothing"
                XCTAssertEqual(seen, "0000000000000000", "\(step): \(key) should be empty, saw \(seen)")
            }
            let result = stopContainer(running, pid)
            XCTAssertEqual(result.status, 137, "\(step): exit status of sleep SIGKILLed from the host: \(result.stderr)")
        }
    }

    func testPrivilegedCallsFail() throws {
        let result = try start("step06-capabilities", ["/bin/sh", "-c",
            "hostname x; mount -t tmpfs none /mnt; grep -c ' /mnt ' /proc/self/mountinfo; hostname"], prefix: ownUTSNamespace).wait()
        expect(result.stderr.contains("sethostname: Operation not permitted"), step: "step06-capabilities", property: "hostname x",
               expected: "sethostname: Operation not permitted (no CAP_SYS_ADMIN)", seen: result.stderr)
        XCTAssertEqual(result.stdout, "0\ncontainer\n", "hostname or mount succeeded: \(result.stdout)")
    }

    func testChownStillWorks() throws {
        let guardPrefix = try imageRootGuard("step06-capabilities")
        XCTAssertEqual(try shell("step06-capabilities", guardPrefix + "touch /f && chown 1234:5678 /f && stat -c %u:%g /f"), "1234:5678\n",
                       "step06-capabilities: chown 1234:5678 inside, then stat (CAP_CHOWN is in Docker's set)")
    }

    func testCapAddAndCapDrop() throws {
        // hostname: in a UTS namespace of the test's own, so a step without its own renames only that.
        XCTAssertEqual(try shell("step06-capabilities", "hostname x && hostname", options: ["--cap-add", "SYS_ADMIN"], prefix: ownUTSNamespace), "x\n",
                       "step06-capabilities --cap-add SYS_ADMIN: hostname x, then hostname")
        XCTAssertEqual(try shell("step06-capabilities", "hostname y && hostname", options: ["--cap-add", "cap_sys_admin"], prefix: ownUTSNamespace), "y\n",
                       "step06-capabilities --cap-add cap_sys_admin: hostname y, then hostname")
        let guardPrefix = try imageRootGuard("step06-capabilities")
        let dropped = try run("step06-capabilities", ["--cap-drop", "CHOWN", "--", "/bin/sh", "-c", guardPrefix + "touch /f && chown 1234 /f"])
        XCTAssertNotEqual(dropped.status, 0, "step06-capabilities --cap-drop CHOWN: exit status of chown (it must fail)")
        expect(dropped.stderr.contains("Operation not permitted"), step: "step06-capabilities --cap-drop CHOWN", property: "chown's error",
               expected: "Operation not permitted", seen: dropped.stderr)
        let none = try shell("step06-capabilities", "grep CapEff /proc/self/status", options: ["--cap-drop", "ALL"])
        XCTAssertEqual(none, "CapEff:\t0000000000000000\n", "step06-capabilities --cap-drop ALL: CapEff inside")
        // ALL: everything the runtime has itself (this test's own bounding set).
        let all = try shell("step06-capabilities", "grep CapEff /proc/self/status", options: ["--cap-add", "ALL"])
        XCTAssertEqual(all, "CapEff:\t\(statusField(getpid(), "CapBnd") ?? "?")\n", "step06-capabilities --cap-add ALL: CapEff inside vs the test's own bounding set")
    }

    func testUnknownCapabilityIsAUsageError() throws {
        for arguments in [["--cap-add", "SYS_WIZARD"], ["--cap-drop", "CAP_"]] {
            let result = try run("step06-capabilities", arguments + ["true"])
            XCTAssertEqual(result.status, 64, "step06-capabilities \(arguments): exit status (usage error): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "step06-capabilities \(arguments): lines on stderr (one clear line): \(result.stderr)")
        }
    }
}
