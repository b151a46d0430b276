import Foundation
import XCTest

/// step03-chroot: an Alpine root filesystem, and why chroot is not enough.
final class Step03Tests: StepTestCase {
    func testRunsInAlpine() throws {
        XCTAssertEqual(try shell("step03-chroot", "cat /etc/alpine-release"), "3.20.3\n")
        let inside = try shell("step03-chroot", "ls /").split(separator: "\n").map(String.init)
        let host = try FileManager.default.contentsOfDirectory(atPath: "/").sorted()
        XCTAssertNotEqual(inside, host)
        XCTAssertFalse(inside.contains("work"), "the host's /work is visible: \(inside)")
    }

    func testHostFilesAreNotVisible() throws {
        let marker = try makeHostMarker()
        let result = try run("step03-chroot", ["cat", marker.path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertFalse(result.stdout.contains(marker.content))
    }

    /// The point of chapter 03: a process inside with CAP_SYS_CHROOT climbs out.
    /// This check fails once chroot is replaced by pivot_root (see Step04Tests).
    func testChrootEscapeReachesTheHost() throws {
        let marker = try makeHostMarker()
        let result = try run("step03-chroot", ["--try-escape", "cat", marker.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, marker.content)
    }

    func testImageIsPreparedThroughTheCache() throws {
        let result = try run("step03-chroot", ["true"], quiet: false)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("image: alpine-minirootfs-3.20.3"), result.stderr)
        let images = try FileManager.default.contentsOfDirectory(atPath: testHome + "/images")
        XCTAssertTrue(images.contains("d4e6fd67dcf75e40c451560ac7265166c2b72a0f38ddc9aae756a7de3d1efa0c"), "\(images)")
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
        XCTAssertEqual(result.status, 125, result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("cannot load libarchive"), result.stderr)
        let images = (try? FileManager.default.contentsOfDirectory(atPath: home + "/images")) ?? []
        XCTAssertEqual(images.filter { $0 != ".lock" }, [], "a half image was left")
    }

    func testMissingRootfsIsOneLine() throws {
        let result = try run("step03-chroot", ["--rootfs", "/nonexistent/rootfs.tar.gz", "true"])
        XCTAssertEqual(result.status, 125)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
    }
}
