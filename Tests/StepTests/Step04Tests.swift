import Foundation
import XCTest

/// step04-pivot-root: pivot_root, the old root detached, and the standard mounts.
final class Step04Tests: StepTestCase {
    func testChrootEscapeFails() throws {
        let marker = try makeHostMarker()
        for step in steps(from: 4) {
            let result = try run(step, ["--try-escape", "cat", marker.path])
            XCTAssertNotEqual(result.status, 0, step)
            XCTAssertFalse(result.stdout.contains(marker.content), "\(step): the escape reached the host")
        }
    }

    func testNoHostMountsInside() throws {
        let running = try start("step04-pivot-root", ["sleep", "2"])
        let pid = try XCTUnwrap(running.containerPID())
        // Read from the host: the container's mount table.
        let inside = mountPoints("/proc/\(pid)/mountinfo")
        XCTAssertEqual(stopContainer(running, pid).status, 137)
        let allowed = ["/", "/proc", "/dev", "/sys"]
        for point in inside {
            XCTAssertTrue(allowed.contains { point == $0 || point.hasPrefix($0 + "/") } && point != "/sys/fs/cgroup",
                          "unexpected mount \(point) in the container")
        }
        // (A container may have its own /dev/mqueue, as runc gives it; hosts often have one too.)
        for hostOnly in Set(mountPoints()).subtracting(["/", "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"]) {
            XCTAssertFalse(inside.contains(hostOnly), "the host's mount \(hostOnly) is in the container")
        }
        XCTAssertEqual(inside.first, "/")
    }

    func testDevNullIsTheRealDevice() throws {
        let out = try shell("step04-pivot-root", "stat -c '%F %t:%T' /dev/null; echo data > /dev/null && echo writable; ls /dev")
        let lines = out.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "character special file 1:3")
        XCTAssertEqual(lines.dropFirst().first, "writable")
        XCTAssertFalse(lines.contains("sda") || lines.contains("vda") || lines.contains("mem"), "host devices in /dev: \(lines)")
    }

    func testSysIsReadOnly() throws {
        let result = try run("step04-pivot-root", ["/bin/sh", "-c", "echo 1 > /sys/kernel/uevent_helper"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("Read-only file system"), result.stderr)
    }

    func testKernelFilesAreProtected() throws {
        // /proc/kcore (absent on some kernels) and /proc/timer_list are masked: nothing to read.
        let out = try shell("step04-pivot-root",
            "cat /proc/kcore 2>/dev/null | wc -c; wc -c < /proc/timer_list; echo h > /proc/sysrq-trigger && echo SYSRQ; echo evil > /proc/sys/kernel/hostname && echo PROCSYS; true")
        XCTAssertEqual(out, "0\n0\n", "masked or read-only /proc paths are exposed: \(out)")
        // Outside the container, the host's timer_list is full of information.
        XCTAssertGreaterThan((try? Data(contentsOf: URL(fileURLWithPath: "/proc/timer_list")))?.count ?? 0, 0)
    }

    func testImageStaysPristine() throws {
        let image = testHome + "/images/d4e6fd67dcf75e40c451560ac7265166c2b72a0f38ddc9aae756a7de3d1efa0c"
        _ = try shell("step04-pivot-root", "true")
        let before = try treeDigest(image)
        let vandal = try run("step04-pivot-root", ["/bin/sh", "-c", "rm -rf /bin /etc; echo gone > /lib/apk/db/installed; ls /"])
        XCTAssertFalse(vandal.stdout.contains("bin"), "rm -rf /bin did not run: \(vandal.stdout)")
        XCTAssertEqual(try shell("step04-pivot-root", "test -x /bin/sh && cat /etc/alpine-release"), "3.20.3\n")
        XCTAssertEqual(try treeDigest(image), before, "the cached image changed")
    }

    func testContainersGetSeparateRoots() throws {
        let first = try start("step04-pivot-root", ["/bin/sh", "-c", "echo one > /written-by-first; sleep 2; cat /written-by-first"])
        let second = try start("step04-pivot-root", ["/bin/sh", "-c", "sleep 1; cat /written-by-first"])
        let firstResult = first.wait()
        let secondResult = second.wait()
        XCTAssertEqual(firstResult.stdout, "one\n")
        XCTAssertNotEqual(secondResult.status, 0)
        XCTAssertEqual(secondResult.stdout, "", "the second container saw the first one's file")
    }
}

/// A digest of a directory tree: every path with its type, mode, owner, size, and file contents.
func treeDigest(_ root: String) throws -> String {
    var lines: [String] = []
    let manager = FileManager.default
    let enumerator = manager.enumerator(atPath: root)
    while let relative = enumerator?.nextObject() as? String {
        let path = root + "/" + relative
        var info = stat()
        guard lstat(path, &info) == 0 else { continue }
        var line = "\(relative) \(info.st_mode) \(info.st_uid):\(info.st_gid) \(info.st_size) \(info.st_mtim.tv_sec)"
        if (info.st_mode & S_IFMT) == S_IFREG, let data = manager.contents(atPath: path) {
            line += " \(data.hashValue)"
        }
        lines.append(line)
    }
    return lines.sorted().joined(separator: "\n")
}
