import CLinux
import Glibc

/// An open file descriptor that closes itself, in the spirit of swift-system's `FileDescriptor`.
///
/// Noncopyable, so exactly one owner closes it: at the end of its scope (`deinit`), when it is
/// replaced (`fd = other`), or explicitly (`close()`, or `release()` to hand the number on).
/// Every call here retries EINTR, so no caller places its own retry loop, and each failure
/// throws a `SystemCallError` that says what was being done.
struct FileDescriptor: ~Copyable {
    let rawValue: Int32

    /// Takes ownership of a descriptor some other call opened.
    init(adopting rawValue: Int32) { self.rawValue = rawValue }

    /// open(2), always close-on-exec: a container must never inherit a runtime's descriptor.
    init(opening path: String, _ flags: Int32, mode: mode_t = 0, what: @autoclosure () -> String? = nil) throws {
        rawValue = try retryingEINTR(what() ?? "open \(printable(path))") { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    /// openat(2) relative to this directory, close-on-exec.
    func open(_ name: String, _ flags: Int32, what: @autoclosure () -> String) throws -> FileDescriptor {
        let fd = try retryingEINTR(what()) { openat(rawValue, name, flags | O_CLOEXEC) }
        return FileDescriptor(adopting: fd)
    }

    /// pidfd_open(2): a descriptor that becomes readable when the process exits (Linux 5.3+).
    /// nil where the kernel has none: the caller polls the old way.
    init?(processID: pid_t) {
        let fd = ws_pidfd_open(processID)
        guard fd >= 0 else { return nil }
        rawValue = fd
    }

    deinit { Glibc.close(rawValue) }

    /// Closes now, and says whether the kernel reported an error (a write that failed late, on NFS say).
    consuming func close() -> Bool {
        let fd = release()
        return Glibc.close(fd) == 0
    }

    /// Gives up ownership: the number is the caller's to close.
    consuming func release() -> Int32 {
        let fd = rawValue
        discard self
        return fd
    }

    /// One read(2) into `buffer`; 0 at end of file.
    func read(into buffer: UnsafeMutableRawBufferPointer, what: @autoclosure () -> String) throws -> Int {
        try retryingEINTR(what()) { Glibc.read(rawValue, buffer.baseAddress, buffer.count) }
    }

    /// Everything up to end of file.
    func readAll(what: @autoclosure () -> String) throws -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try read(into: $0, what: what()) }
            if n == 0 { return result }
            result.append(contentsOf: buffer[0..<n])
        }
    }

    /// Writes every byte (short writes continue where they stopped).
    func writeAll(_ bytes: UnsafeRawBufferPointer, what: @autoclosure () -> String) throws {
        var offset = 0
        while offset < bytes.count {
            offset += try retryingEINTR(what()) { Glibc.write(rawValue, bytes.baseAddress! + offset, bytes.count - offset) }
        }
    }

    /// One write(2) of all of `text`, as cgroup and /proc files want it: a short write is an error.
    func writeOnce(_ text: String, what: @autoclosure () -> String) throws {
        var bytes = Array(text.utf8)
        let n = try retryingEINTR(what()) { bytes.withUnsafeMutableBytes { Glibc.write(rawValue, $0.baseAddress, $0.count) } }
        if n != bytes.count { throw SystemCallError(what(), errno: EIO) }
    }

    enum LockKind { case shared, exclusive }

    /// flock(2), waiting for it (through signals).
    func lock(_ kind: LockKind, what: @autoclosure () -> String) throws {
        _ = try retryingEINTR(what()) { flock(rawValue, kind == .shared ? LOCK_SH : LOCK_EX) }
    }

    /// flock(2) without waiting: false when someone else holds it, an error for anything else.
    func tryLock(_ kind: LockKind, what: @autoclosure () -> String) throws -> Bool {
        do {
            _ = try retryingEINTR(what()) { flock(rawValue, (kind == .shared ? LOCK_SH : LOCK_EX) | LOCK_NB) }
            return true
        } catch let error as SystemCallError where error.code == EWOULDBLOCK {
            return false
        }
    }

    func status(what: @autoclosure () -> String) throws -> stat {
        var info = stat()
        _ = try retryingEINTR(what()) { fstat(rawValue, &info) }
        return info
    }
}

/// Calls `body` again while it fails with EINTR; throws its errno with `action` for any other failure (-1).
@discardableResult
func retryingEINTR<T: BinaryInteger>(_ action: @autoclosure () -> String, _ body: () -> T) throws -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        if errno != EINTR { throw SystemCallError(action()) }
    }
}
