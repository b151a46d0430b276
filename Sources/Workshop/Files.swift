import Glibc

// Small file helpers on plain system calls: the steps keep Foundation out of
// their start-up path (it costs about 5 ms a start).

public func writeLine(to fd: Int32, _ text: String) {
    writeAll(fd, text + "\n")
}

/// Writes every byte to a descriptor someone else owns (stdout, stderr, a pipe end), retrying
/// short writes and EINTR. Returns false on error.
@discardableResult
public func writeAll(_ fd: Int32, _ text: String) -> Bool {
    var bytes = Array(text.utf8)
    return writeAll(fd, bytes: &bytes)
}

@discardableResult
func writeAll(_ fd: Int32, bytes: inout [UInt8]) -> Bool {
    var offset = 0
    while offset < bytes.count {
        guard let n = try? retryingEINTR("write", { bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) } })
        else { return false }
        offset += n
    }
    return true
}

/// Reads a whole file (small ones: /proc, /sys, cgroup files) as text.
public func readFile(_ path: String) throws -> String {
    let file = try FileDescriptor(opening: path, O_RDONLY)
    return String(decoding: try file.readAll(what: "read \(path)"), as: UTF8.self)
}

/// Reads a descriptor someone else owns (a pipe end) to its end.
func readAll(_ fd: Int32, path: String) throws -> [UInt8] {
    let borrowed = FileDescriptor(adopting: fd)
    let bytes = Result { try borrowed.readAll(what: "read \(path)") }
    _ = borrowed.release()
    return try bytes.get()
}

/// Writes text to an existing file, as one write(2): how cgroup and /proc files want it.
public func writeFile(_ path: String, _ text: String, create: Bool = false, mode: mode_t = 0o644) throws {
    let file = try FileDescriptor(opening: path, O_WRONLY | (create ? O_CREAT | O_TRUNC : 0), mode: mode)
    try file.writeOnce(text, what: "write \"\(printable(text))\" to \(path)")
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
///
/// Iterative, one directory descriptor at a time: it goes down with openat(O_NOFOLLOW)
/// and back up with "..", checking that ".." is the directory it came from (st_dev,
/// st_ino). So no depth is too deep: no recursion, no descriptor per level, no path
/// longer than PATH_MAX (a container can build a tree thousands of levels deep).
public func removeTree(_ path: String) throws {
    var info = stat()
    guard lstat(path, &info) == 0 else {
        if errno == ENOENT { return }
        throw SystemCallError("stat \(printable(path))")
    }
    if (info.st_mode & S_IFMT) != S_IFDIR {
        try removeEntry(AT_FDCWD, path, directory: false, what: path)
        return
    }
    let directoryFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW
    // Replacing `directory` closes the one it held: one descriptor open at a time.
    var directory = try FileDescriptor(opening: path, directoryFlags)
    // One level per directory we are in below `path`: who it is, and the subdirectories still to remove.
    struct Level { var device: dev_t; var inode: ino_t; var name: String; var pending: [String] }
    var levels: [Level] = []
    var pending = try clearFiles(in: directory, device: info.st_dev, what: path)
    while true {
        if let child = pending.popLast() {
            let childDirectory = try directory.open(child, directoryFlags, what: "open \(printable(path))/…/\(printable(child))")
            let here = try directory.status(what: "stat \(printable(path))/…")
            levels.append(Level(device: here.st_dev, inode: here.st_ino, name: child, pending: pending))
            directory = childDirectory
            pending = try clearFiles(in: directory, device: info.st_dev, what: path)
            continue
        }
        // This directory is empty now: go up and remove it.
        guard let level = levels.popLast() else { break }
        directory = try directory.open("..", directoryFlags, what: "open .. in \(printable(path))")
        let up = try directory.status(what: "stat .. in \(printable(path))")
        guard up.st_dev == level.device && up.st_ino == level.inode else {
            throw Failure("refusing to go on removing \(printable(path)): a directory in it was moved meanwhile")
        }
        try removeEntry(directory.rawValue, level.name, directory: true, what: path)
        pending = level.pending
    }
    try removeEntry(AT_FDCWD, path, directory: true, what: path)
}

/// Removes every non-directory in an open directory; returns the names of its subdirectories.
private func clearFiles(in directory: borrowing FileDescriptor, device: dev_t, what path: String) throws -> [String] {
    // closedir closes the stream's descriptor: it gets a copy, the caller keeps its own.
    let copy = try retryingEINTR("read \(printable(path))") { fcntl(directory.rawValue, F_DUPFD_CLOEXEC, 0) }
    guard let stream = fdopendir(copy) else {
        let error = SystemCallError("read \(printable(path))")
        close(copy)
        throw error
    }
    rewinddir(stream)
    var directories: [String] = []
    for name in entries(of: stream) {
        var info = stat()
        guard fstatat(directory.rawValue, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            if info.st_dev != device {
                throw Failure("refusing to remove \(printable(path))/…/\(printable(name)): it is a mount point")
            }
            directories.append(name)
        } else {
            try removeEntry(directory.rawValue, name, directory: false, what: path)
        }
    }
    return directories
}

/// unlinkat, and if the kernel says EPERM (an immutable or append-only file, or one in
/// such a directory), clears those flags once and tries again.
private func removeEntry(_ dirfd: Int32, _ name: String, directory: Bool, what path: String) throws {
    let flags = directory ? AT_REMOVEDIR : 0
    if unlinkat(dirfd, name, flags) == 0 || errno == ENOENT { return }
    if errno == EPERM {
        clearInodeFlags(dirfd, name)
        clearInodeFlags(dirfd, ".")
        if unlinkat(dirfd, name, flags) == 0 { return }
    }
    throw SystemCallError("remove \(printable(path))\(name == path ? "" : "/…/" + printable(name))")
}

/// chattr -ia: a file with the immutable or append-only flag cannot be removed, even by root.
private func clearInodeFlags(_ dirfd: Int32, _ name: String) {
    let opened = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
    guard opened >= 0 else { return }
    let file = FileDescriptor(adopting: opened)
    // FS_IOC_GETFLAGS / FS_IOC_SETFLAGS (the same numbers on x86_64 and aarch64); the kernel reads an int.
    var flags: Int32 = 0
    guard ioctl(file.rawValue, 0x8008_6601, &flags) == 0 else { return }
    let immutableOrAppend: Int32 = 0x10 | 0x20   // FS_IMMUTABLE_FL | FS_APPEND_FL
    if flags & immutableOrAppend == 0 { return }
    flags &= ~immutableOrAppend
    _ = ioctl(file.rawValue, 0x4008_6602, &flags)
}

/// Text made safe for a terminal: control characters (and bytes that are not UTF-8)
/// become escapes, \n, \e, \x9b..., so a file name from an image cannot forge a line
/// or send the terminal commands.
public func printable(_ text: String) -> String { printable(bytes: Array(text.utf8)) }

public func printable(bytes: [UInt8]) -> String {
    var out = ""
    var i = 0
    func hex(_ byte: UInt8) -> String { "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16) }
    while i < bytes.count {
        let byte = bytes[i]
        if byte < 0x80 {
            switch byte {
            case 0x0a: out += "\\n"
            case 0x09: out += "\\t"
            case 0x0d: out += "\\r"
            case 0x1b: out += "\\e"
            case 0x5c: out += "\\\\"
            case 0..<0x20, 0x7f: out += hex(byte)
            default: out.unicodeScalars.append(Unicode.Scalar(byte))
            }
            i += 1
            continue
        }
        // A whole, valid UTF-8 sequence that is not a C1 control (U+0080...U+009F) is kept.
        let length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc2 ? 2 : 0
        if length > 0, i + length <= bytes.count, bytes[i + 1..<i + length].allSatisfy({ $0 & 0xc0 == 0x80 }),
           let scalar = String(validating: bytes[i..<i + length], as: UTF8.self)?.unicodeScalars.first,
           !(0x80...0x9f).contains(scalar.value), !(0x2028...0x2029).contains(scalar.value) {
            out.unicodeScalars.append(scalar)
            i += length
        } else {
            out += hex(byte)
            i += 1
        }
    }
    return out
}

/// The value of an environment variable, if set and not empty.
public func environment(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    let text = String(cString: value)
    return text.isEmpty ? nil : text
}
