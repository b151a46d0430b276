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

    func testMissingRootfsIsOneLine() throws {
        let result = try run("step03-chroot", ["--rootfs", "/nonexistent/rootfs.tar.gz", "true"])
        XCTAssertEqual(result.status, 125)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
    }
}
