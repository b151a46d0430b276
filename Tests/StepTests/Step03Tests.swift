import Foundation
import XCTest

/// step03-chroot: an Alpine root filesystem, and why chroot is not enough.
final class Step03Tests: StepTestCase {
    func testRunsInAlpine() throws {
        XCTAssertEqual(try shell("step03-chroot", "cat /etc/alpine-release"), "3.20.3\n", "step03-chroot: /etc/alpine-release inside")
        let inside = try shell("step03-chroot", "ls /").split(separator: "\n").map(String.init)
        let host = try FileManager.default.contentsOfDirectory(atPath: "/").sorted()
        XCTAssertNotEqual(inside, host, "step03-chroot: `ls /` inside vs the host's / (a different root)")
        XCTAssertFalse(inside.contains("work"), "the host's /work is visible: \(inside)")
    }

    func testHostFilesAreNotVisible() throws {
        let marker = try makeHostMarker()
        let result = try run("step03-chroot", ["cat", marker.path])
        XCTAssertNotEqual(result.status, 0, "step03: cat of a host file should fail inside, saw exit 0")
        XCTAssertFalse(result.stdout.contains(marker.content), "step03: the host's file \(marker.path) should not be readable inside, saw its content")
    }

    /// chroot(2) does not change the working directory: without chdir("/") the command
    /// starts in the runtime's directory on the host, and relative paths (`../../..`) reach
    /// the host's whole tree. Started from a host directory holding a marker file, the
    /// container must neither start there nor reach the host by climbing from where it starts.
    func testWorkingDirectoryIsTheNewRoot() throws {
        let marker = try makeHostMarker()
        let directory = "/tmp/workshop-cwd-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
        try marker.content.write(toFile: directory + "/cwd-marker", atomically: true, encoding: .utf8)
        let climb = String(repeating: "../", count: 8) + marker.path.dropFirst()   // from the host cwd up to / and down
        for step in steps(from: 3) {
            let result = try start(step, ["--", "/bin/sh", "-c",
                                          "cat cwd-marker 2>/dev/null; cat \(climb) 2>/dev/null; readlink /proc/self/cwd"],
                                   directory: directory).wait()
            XCTAssertEqual(result.status, 0, "\(step): exit status: \(result.stderr)")
            XCTAssertFalse(result.stdout.contains(marker.content),
                           "\(step): the container should start in its new root, not in the host's \(directory) (../ reaching the host), saw \(result.stdout)")
            XCTAssertEqual(result.stdout, "/\n", "\(step): the working directory inside should be /, saw \(result.stdout)")
        }
    }

    /// Every run writes to its own overlay layer, never to the cached image. The test gets
    /// its own state directory, so a regression damages only a throwaway copy of the image.
    func testImageStaysPristine() throws {
        let homes = NSTemporaryDirectory() + "workshop-pristine-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: homes) }
        let vandalism = "echo written > /written-by-container; echo changed >> /etc/alpine-release; rm -rf /bin /etc/apk; echo /*"
        for step in steps(from: 3) {
            // One per step: a step that damages its image does not take the next step's tests down with it.
            let home = homes + "/" + step
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            let environment = ["WORKSHOP_HOME": home]
            let images = home + "/images"
            // The vandalism must only ever run in the image: a regression (or a mutation run) that leaves the
            // container on the host's root would otherwise delete the host's /bin. A marker put into the
            // image from outside proves where "/" is before anything is removed.
            let guarded = try imageRootGuard(step, home: home) + vandalism
            let before = treeSnapshot(images)
            XCTAssertGreaterThan(before.count, 100, "\(step): expected the unpacked image under \(images), saw \(before.count) files")
            let vandal = try start(step, ["/bin/sh", "-c", guarded], environment: environment).wait()
            XCTAssertEqual(vandal.status, 0, "\(step): exit status of the vandal script: \(vandal.stderr)")
            XCTAssertFalse(vandal.stdout.contains("/bin "), "\(step): rm -rf /bin should have worked inside, saw \(vandal.stdout)")
            let changed = changedPaths(before, treeSnapshot(images))
            XCTAssertEqual(changed, [], "\(step): the container's writes should not change the cached image, saw \(changed.count) paths changed: \(changed.prefix(5))")
            let again = try start(step, ["/bin/sh", "-c", "test -x /bin/sh && cat /etc/alpine-release; ls /written-by-container 2>&1"],
                                  environment: environment).wait()
            XCTAssertEqual(again.stdout.split(separator: "\n").first, "3.20.3",
                           "\(step): the next container should see the pristine image, saw \(again.stdout) \(again.stderr)")
            XCTAssertTrue(again.stdout.contains("No such file"), "\(step): the next container should not see the last one's file, saw \(again.stdout)")
            let left = (try? FileManager.default.contentsOfDirectory(atPath: home + "/containers")) ?? []
            XCTAssertEqual(left, [], "\(step): run directories left in \(home)/containers")
        }
    }

    /// The point of chapter 03: a process inside with CAP_SYS_CHROOT climbs out.
    /// This check fails once chroot is replaced by pivot_root (see Step04Tests).
    func testChrootEscapeReachesTheHost() throws {
        let marker = try makeHostMarker()
        let result = try run("step03-chroot", ["--try-escape", "cat", marker.path])
        XCTAssertEqual(result.status, 0, "step03-chroot --try-escape: exit status: \(result.stderr)")
        XCTAssertEqual(result.stdout, marker.content, "step03-chroot --try-escape: the host marker file read after the escape (chroot does not hold)")
    }

    func testImageIsPreparedThroughTheCache() throws {
        let result = try run("step03-chroot", ["true"], quiet: false)
        XCTAssertEqual(result.status, 0, "step03-chroot: exit status: \(result.stderr)")
        expect(result.stderr.contains("image: alpine-minirootfs-3.20.3"), step: "step03-chroot", property: "the narration",
               expected: "image: alpine-minirootfs-3.20.3", seen: result.stderr)
        let images = try FileManager.default.contentsOfDirectory(atPath: testHome + "/images")
        let pinned = try pinnedAlpineSHA256()
        expect(images.contains(pinned), step: "step03-chroot", property: "the image cache \(testHome)/images",
               expected: "a directory named after the pinned SHA-256 \(pinned)", seen: images)
    }

    /// libarchive is loaded only to unpack (dlopen): without it, a cold unpack is one
    /// clear line and exit 125, and no half image is left.
    func testMissingLibarchiveIsOneLine() throws {
        let finder = Process()
        finder.executableURL = URL(fileURLWithPath: "/bin/sh")
        finder.arguments = ["-c", "ldconfig -p | awk '/libarchive\\.so\\.13 / { print $NF; exit }'"]
        let pipe = Pipe()
        finder.standardOutput = pipe
        try finder.run()
        finder.waitUntilExit()
        let library = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertFalse(library.isEmpty, "libarchive.so.13 is not installed")
        let home = NSTemporaryDirectory() + "workshop-nolib-\(getpid())"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: home) }
        // In a private mount namespace of its own, the library is /dev/null.
        let hide = ["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                    "mount --bind /dev/null \(library) && exec \"$0\" \"$@\""]
        let result = try start("step03-chroot", ["true"], prefix: hide, environment: ["WORKSHOP_HOME": home]).wait()
        XCTAssertEqual(result.status, 125, "step03-chroot without libarchive: exit status (runtime failure): \(result.stderr)")
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "step03-chroot without libarchive: lines on stderr (one clear line): \(result.stderr)")
        expect(result.stderr.contains("cannot load libarchive"), step: "step03-chroot without libarchive", property: "the error",
               expected: "cannot load libarchive", seen: result.stderr)
        let images = (try? FileManager.default.contentsOfDirectory(atPath: home + "/images")) ?? []
        XCTAssertEqual(images.filter { $0 != ".lock" }, [], "a half image was left")
    }

    func testMissingRootfsIsOneLine() throws {
        let result = try run("step03-chroot", ["--rootfs", "/nonexistent/rootfs.tar.gz", "true"])
        XCTAssertEqual(result.status, 125, "step03-chroot --rootfs /nonexistent/...: exit status (runtime failure): \(result.stderr)")
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "step03-chroot --rootfs /nonexistent/...: lines on stderr (one clear line): \(result.stderr)")
    }
}
