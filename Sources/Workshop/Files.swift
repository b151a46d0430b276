import Glibc

// Small file helpers on plain system calls: the steps keep Foundation out of
// their start-up path (it costs about 5 ms a start).

public func writeLine(to fd: Int32, _ text: String) {
    writeAll(fd, text + "\n")
}

/// Writes every byte, retrying on short writes and EINTR. Returns false on error.
@discardableResult
public func writeAll(_ fd: Int32, _ text: String) -> Bool {
    var bytes = Array(text.utf8)
    return writeAll(fd, bytes: &bytes)
}

@discardableResult
func writeAll(_ fd: Int32, bytes: inout [UInt8]) -> Bool {
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if n < 0 {
            if errno == EINTR { continue }
            return false
        }
        offset += n
    }
    return true
}

/// Reads a whole file (small ones: /proc, /sys, cgroup files) as text.
public func readFile(_ path: String) throws -> String {
    let fd = try check(open(path, O_RDONLY | O_CLOEXEC), "open \(path)")
    defer { close(fd) }
    return try String(decoding: readAll(fd, path: path), as: UTF8.self)
}

func readAll(_ fd: Int32, path: String) throws -> [UInt8] {
    var result: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw SystemCallError("read \(path)")
        }
        if n == 0 { return result }
        result.append(contentsOf: buffer[0..<n])
    }
}

/// Writes text to an existing file, as one write(2): how cgroup and /proc files want it.
public func writeFile(_ path: String, _ text: String, create: Bool = false, mode: mode_t = 0o644) throws {
    let flags = O_WRONLY | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0)
    let fd = try check(open(path, flags, mode), "open \(path)")
    defer { close(fd) }
    var bytes = Array(text.utf8)
    let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) }
    if n != bytes.count { throw SystemCallError("write \"\(text)\" to \(path)") }
}

public func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

public func isDirectory(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
}

/// mkdir -p. Existing directories are fine.
public func makeDirectories(_ path: String, mode: mode_t = 0o755) throws {
    if isDirectory(path) { return }
    let parent = parentDirectory(of: path)
    if parent != path && !parent.isEmpty { try makeDirectories(parent, mode: mode) }
    if mkdir(path, mode) != 0 && errno != EEXIST { throw SystemCallError("mkdir \(path)") }
}

public func parentDirectory(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}

public func lastComponent(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return path }
    return String(path[path.index(after: slash)...])
}

/// Names in a directory, without . and .. (empty if it cannot be read).
public func directoryEntries(_ path: String) -> [String] {
    guard let dir = opendir(path) else { return [] }
    return entries(of: dir)
}

/// Reads an open directory stream to its end and closes it.
private func entries(of dir: OpaquePointer) -> [String] {
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

/// rm -rf that never leaves the file system it starts on, so a stray mount
/// point inside (a container's overlay, say) can never lead it into the host's files.
public func removeTree(_ path: String) throws {
    var info = stat()
    guard lstat(path, &info) == 0 else {
        if errno == ENOENT { return }
        throw SystemCallError("stat \(path)")
    }
    if (info.st_mode & S_IFMT) != S_IFDIR {
        try check(unlink(path), "remove \(path)")
        return
    }
    let dirfd = try check(open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), "open \(path)")
    defer { close(dirfd) }
    try removeContents(of: dirfd, path: path, device: info.st_dev)
    if rmdir(path) != 0 && errno != ENOENT { throw SystemCallError("remove \(path)") }
}

private func removeContents(of dirfd: Int32, path: String, device: dev_t) throws {
    let copy = dup(dirfd)   // closedir closes the stream's descriptor; the caller keeps its own
    guard let dir = fdopendir(copy) else {
        if copy >= 0 { close(copy) }
        throw SystemCallError("read \(path)")
    }
    for name in entries(of: dir) {
        var info = stat()
        guard fstatat(dirfd, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            if info.st_dev != device {
                throw Failure("refusing to remove \(path)/\(name): it is a mount point")
            }
            let child = try check(openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
                                  "open \(path)/\(name)")
            defer { close(child) }
            try removeContents(of: child, path: "\(path)/\(name)", device: device)
            try check(unlinkat(dirfd, name, AT_REMOVEDIR), "remove \(path)/\(name)")
        } else {
            try check(unlinkat(dirfd, name, 0), "remove \(path)/\(name)")
        }
    }
}

/// The value of an environment variable, if set and not empty.
public func environment(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    let text = String(cString: value)
    return text.isEmpty ? nil : text
}
