import Glibc
import XCTest
@testable import Workshop

/// Workshop's FileDescriptor: one owner closes it, every descriptor is close-on-exec, flock is checked.
final class FileDescriptorTests: XCTestCase {
    private func isOpen(_ fd: Int32) -> Bool { fcntl(fd, F_GETFD) != -1 }

    func testClosesAtTheEndOfItsScopeAndNotAfterRelease() throws {
        var number: Int32 = -1
        do {
            let file = try FileDescriptor(opening: "/dev/null", O_RDONLY)
            number = file.rawValue
            XCTAssertTrue(isOpen(number), "FileDescriptor: descriptor \(number) inside its scope: expected open, saw closed")
            XCTAssertEqual(fcntl(number, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC,
                           "FileDescriptor: FD_CLOEXEC on \(number): expected set (no container may inherit it), saw it clear")
        }
        XCTAssertFalse(isOpen(number), "FileDescriptor: descriptor \(number) after its scope: expected closed, saw it open")

        let kept = try FileDescriptor(opening: "/dev/null", O_RDONLY).release()
        defer { close(kept) }
        XCTAssertTrue(isOpen(kept), "FileDescriptor.release(): descriptor \(kept): expected still open for its new owner, saw closed")
    }

    func testReplacingClosesTheOldDescriptor() throws {
        var file = try FileDescriptor(opening: "/dev/null", O_RDONLY)
        let first = file.rawValue
        file = try FileDescriptor(opening: "/", O_RDONLY | O_DIRECTORY)
        XCTAssertFalse(first != file.rawValue && isOpen(first),
                       "FileDescriptor: the replaced descriptor \(first): expected closed, saw it open")
    }

    func testTryLockSaysWhenAnotherHolderHasTheLock() throws {
        let path = "/tmp/workshop-fd-test-\(getpid()).lock"
        defer { unlink(path) }
        let holder = try FileDescriptor(opening: path, O_RDWR | O_CREAT, mode: 0o600)
        let other = try FileDescriptor(opening: path, O_RDWR)
        XCTAssertTrue(try holder.tryLock(.exclusive, what: "lock"), "tryLock on a free lock: expected true, saw false")
        XCTAssertFalse(try other.tryLock(.exclusive, what: "lock"),
                       "tryLock while another open file holds the lock: expected false, saw true")
        let closed = holder.close()
        XCTAssertTrue(closed, "close(): expected success, saw an error")
        XCTAssertTrue(try other.tryLock(.exclusive, what: "lock"),
                      "tryLock after the holder closed: expected true (flock dies with its descriptor), saw false")
    }

    func testErrorsSayWhatWasBeingDone() {
        XCTAssertThrowsError(try FileDescriptor(opening: "/nonexistent/workshop", O_RDONLY).release(),
                             "FileDescriptor(opening:) of a missing file: expected an error, saw none") { error in
            XCTAssertEqual("\(error)", "open /nonexistent/workshop: No such file or directory",
                           "FileDescriptor(opening:) of a missing file: the error's text")
        }
    }
}
