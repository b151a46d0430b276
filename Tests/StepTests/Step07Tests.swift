import Foundation
import XCTest

/// step07-userns: container root is host uid 100000.
final class Step07Tests: StepTestCase {
    func testUidMapIsShown() throws {
        let out = try shell("step07-userns", "cat /proc/self/uid_map /proc/self/gid_map")
        let lines = out.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
        XCTAssertEqual(lines, ["0 100000 65536", "0 100000 65536"], "step07-userns: uid_map and gid_map inside")
    }

    func testIdSaysRoot() throws {
        XCTAssertEqual(try shell("step07-userns", "id -u; id -g"), "0\n0\n", "step07-userns: id -u and id -g inside (root in its namespace)")
    }

    /// From the host: the container's uid and gid are the mapped ones, and it kept none of
    /// the runtime's supplementary groups (started here with groups 0, 4 and 27, host root's
    /// groups would stay without setgroups(0, nil)).
    func testHostSeesAnUnprivilegedUser() throws {
        for step in steps(from: 7) {
            let running = try start(step, ["sleep", "2"], prefix: ["/usr/bin/setpriv", "--groups", "0,4,27", "--"])
            let pid = try containerPID(running, step: step)
            for key in ["Uid", "Gid"] {
                let ids = statusField(pid, key)?.split(separator: "\t").map(String.init) ?? []
                XCTAssertEqual(Set(ids), ["100000"], "\(step): the container's \(key)s (real, effective, saved, fs) on the host should all be 100000, saw \(ids)")
            }
            let groups = statusField(pid, "Groups") ?? "?"
            XCTAssertEqual(groups, "", "\(step): the container should have no supplementary groups on the host, saw '\(groups)'")
            let result = stopContainer(running, pid)
            XCTAssertEqual(result.status, 137, "\(step): exit status of sleep SIGKILLed from the host: \(result.stderr)")
        }
    }

    func testFilesAreOwnedByTheMappedUser() throws {
        // `listed` appears only after `ls` has written its line, so killing the container once
        // it exists cannot cut that line off (it did once in CI).
        let script = try imageRootGuard("step07-userns") + "echo hi > /root/created; ls -ln /root/created; touch /root/listed; sleep 5"
        let running = try start("step07-userns", ["/bin/sh", "-c", script])
        let pid = try containerPID(running, step: "step07-userns")
        // Wait for the files, then look at them from the host, in the run's writable layer.
        let containers = testHome + "/containers"
        var upper: String?
        for _ in 0..<250 {
            let runs = (try? FileManager.default.contentsOfDirectory(atPath: containers)) ?? []
            upper = runs.map { "\(containers)/\($0)/upper/root" }.first { FileManager.default.fileExists(atPath: $0 + "/listed") }
            if upper != nil { break }
            usleep(20_000)
        }
        let root = try XCTUnwrap(upper, "the file is not in the run's upper directory")
        var info = stat()
        XCTAssertEqual(lstat(root + "/created", &info), 0, "step07-userns: lstat of the container's file in the layer \(root)/created")
        XCTAssertEqual(info.st_uid, 100_000, "step07-userns: the owner uid, on the host, of a file the container's root made")
        XCTAssertEqual(info.st_gid, 100_000, "step07-userns: the owner gid, on the host, of a file the container's root made")
        let result = stopContainer(running, pid)
        XCTAssertTrue(result.stdout.contains(" 0        0 "), "inside, the file is root's: \(result.stdout)")
    }

    func testCustomMapping() throws {
        let out = try shell("step07-userns", "cat /proc/self/uid_map; id -u",
                            options: ["--uidmap", "0:200000:65536", "--gidmap", "0:200000:65536"])
        XCTAssertEqual(out.split(separator: "\n").first?.split(separator: " ").joined(separator: " "), "0 200000 65536",
                       "step07-userns --uidmap 0:200000:65536: uid_map inside")
        for bad in [["--uidmap", "0:100000"], ["--uidmap", "1:100000:10"], ["--uidmap", "a:b:c"]] {
            let result = try run("step07-userns", bad + ["true"])
            XCTAssertEqual(result.status, 64, "step07-userns \(bad): exit status (usage error): \(result.stderr)")
        }
    }
}
