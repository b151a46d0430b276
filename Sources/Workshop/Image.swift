import CArchive
import CArchiveLoader
import CLinux
import Glibc

/// Where the kit keeps its files: WORKSHOP_HOME, or /var/lib/workshop.
///   downloads/          tarballs and their .sha256 files (a given Alpine tarball is kept here)
///   images/             0711: the mapped root (step07) must pass through, nobody may list it
///   images/<sha256>/    0700 unpacked images, never written by a container, no host user may enter
///   containers/<id>/    0700 one writable root per running container
public var workshopHome: String { environment("WORKSHOP_HOME") ?? "/var/lib/workshop" }

/// The default image: Alpine's minirootfs.
public enum Alpine {
    public static let version = "3.20.3"

    /// uname -m, as Alpine names its builds.
    public static var architecture: String {
        var names = utsname()
        uname(&names)
        return withUnsafeBytes(of: names.machine) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
    }

    public static var tarballName: String { "alpine-minirootfs-\(version)-\(architecture).tar.gz" }

    /// Checksums committed with the kit (rootfs-scripts/checksums.sha256 has the same):
    /// a tarball with one of these names must have this hash, whatever its .sha256 file says.
    static let knownChecksums = [
        "alpine-minirootfs-3.20.3-x86_64.tar.gz": "d4e6fd67dcf75e40c451560ac7265166c2b72a0f38ddc9aae756a7de3d1efa0c",
        "alpine-minirootfs-3.20.3-aarch64.tar.gz": "041fa34a81788242df9e78fa69b97ab45b8ec47ddbf88864755610414a7bf3de",
    ]
}

/// The package's own directory (for rootfs-scripts/), found from this source file's path at build time.
let packageDirectory: String = {
    if let scripts = environment("WORKSHOP_SOURCE") { return scripts }
    var path = #filePath
    for _ in 0..<3 { path = parentDirectory(of: path) }   // Sources/Workshop/Image.swift
    return path
}()

/// An unpacked root filesystem image: the read-only lower layer of every container's root.
public struct Image {
    /// The unpacked tree.
    public var path: String
    /// What it is, for the narration ("alpine-minirootfs-3.20.3-x86_64.tar.gz").
    public var source: String
    /// Milliseconds spent unpacking, or nil when the cache already had it.
    public var unpackMilliseconds: Double?

    static var images: String { workshopHome + "/images" }
    static var downloads: String { workshopHome + "/downloads" }
    static let busyboxName = "busybox-rootfs.tar.gz"

    /// Finds or unpacks the image. `ownerShift` adds to every file's uid and
    /// gid (step07: container root is host uid 100000, so its files must be too).
    public static func prepare(rootfs: String? = nil, ownerShift: UInt32 = 0) throws -> Image {
        if let rootfs, isDirectory(rootfs) {
            return Image(path: rootfs, source: rootfs, unpackMilliseconds: nil)
        }
        let tarball = try rootfs ?? findTarball()
        // Opened once, and everything (checksum, unpack, the offline copy) reads this descriptor:
        // the file cannot be swapped between the check and the unpack.
        let file = try openRegularFile(tarball, what: "rootfs")
        let expected = try expectedChecksum(of: tarball)
        // Checked against the file (in `unpack`) before anything is unpacked from it.
        let hash = try expected ?? SHA256.of(fd: file.rawValue, path: tarball)
        // The cache name: 64 hex digits (validated, or our own digest), never text taken from a file.
        let name = hash + (ownerShift == 0 ? "" : "-uid\(ownerShift)")
        try makeDirectories(images, mode: 0o711)
        var info = stat()
        if stat(images, &info) == 0 && info.st_mode & 0o7777 != 0o711 {   // made by an older kit (0755)
            try check(chmod(images, 0o711), "chmod \(images)")
        }
        let target = images + "/" + name
        var image = Image(path: target, source: printable(lastComponent(of: tarball)), unpackMilliseconds: nil)
        if !isDirectory(target) {
            let start = monotonicMilliseconds()
            try unpack(file.rawValue, named: tarball, into: target, expectedChecksum: expected, ownerShift: ownerShift)
            image.unpackMilliseconds = monotonicMilliseconds() - start
        }
        try secure(target, owner: ownerShift)
        try keepForOffline(file.rawValue, named: tarball)
        return image
    }

    /// An image directory only its owner (root, or the mapped root of step07) may enter:
    /// it holds the image's setuid files, and no host user may run those. Also fixes a
    /// cache made by an older kit (0755).
    static func secure(_ target: String, owner: UInt32) throws {
        var info = stat()
        try check(lstat(target, &info), "stat \(target)")
        guard (info.st_mode & S_IFMT) == S_IFDIR else { throw Failure("\(target) is not a directory") }
        if info.st_mode & 0o7777 != 0o700 { try check(chmod(target, 0o700), "chmod \(target)") }
        if info.st_uid != owner || info.st_gid != owner { try check(lchown(target, owner, owner), "chown \(target)") }
    }

    // MARK: - Finding the tarball

    /// WORKSHOP_ALPINE_TARBALL; else the Alpine tarball already in downloads/ (copied there
    /// by an earlier run, or downloaded); else the busybox fallback built by an earlier run;
    /// else rootfs-scripts/fetch-alpine.sh; else build the busybox fallback.
    static func findTarball() throws -> String {
        if let path = environment("WORKSHOP_ALPINE_TARBALL") { return path }
        let alpine = downloads + "/" + Alpine.tarballName
        if fileExists(alpine) { return alpine }
        let busybox = downloads + "/" + busyboxName
        if fileExists(busybox) {
            announceBusybox()
            return busybox
        }
        let scripts = packageDirectory + "/rootfs-scripts"
        writeLine(to: STDERR_FILENO, "workshop: no Alpine minirootfs yet; fetching \(Alpine.tarballName)...")
        if let path = runScript(scripts + "/fetch-alpine.sh", [Alpine.version, Alpine.architecture]) {
            return path
        }
        writeLine(to: STDERR_FILENO, "workshop: download failed; building the offline busybox fallback (once) instead")
        if let path = runScript(scripts + "/build-busybox-rootfs.sh", []) {
            announceBusybox()
            return path
        }
        throw Failure("no root filesystem: could not download Alpine nor build the busybox fallback "
            + "(set WORKSHOP_ALPINE_TARBALL to a copy of \(Alpine.tarballName), or apt-get install busybox-static)")
    }

    /// Said on every run that uses the fallback: a learner must not mistake it for Alpine.
    static func announceBusybox() {
        writeLine(to: STDERR_FILENO, "workshop: using the BusyBox fallback root, not Alpine; to get Alpine, run "
            + "rootfs-scripts/fetch-alpine.sh online, or once with WORKSHOP_ALPINE_TARBALL=/path/to/\(Alpine.tarballName)")
    }

    /// Runs a rootfs script (posix_spawn of /bin/sh with an argument vector: no shell
    /// quoting of paths); its last line on stdout is the tarball's path.
    static func runScript(_ script: String, _ arguments: [String]) -> String? {
        var pipeFDs: [Int32] = [0, 0]
        guard ws_pipe_cloexec(&pipeFDs) == 0 else { return nil }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], STDOUT_FILENO)
        var environmentStrings = ["WORKSHOP_DOWNLOADS=" + downloads]
        var index = 0
        while let entry = environ[index] {
            let text = String(cString: entry)
            if !text.hasPrefix("WORKSHOP_DOWNLOADS=") { environmentStrings.append(text) }
            index += 1
        }
        let argv = (["/bin/sh", script] + arguments).map { strdup($0) } + [nil]
        let envp = environmentStrings.map { strdup($0) } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/sh", &actions, nil, argv, envp)
        close(pipeFDs[1])
        defer { close(pipeFDs[0]) }
        guard spawned == 0 else { return nil }
        let output = (try? readAll(pipeFDs[0], path: script)) ?? []
        var status: Int32 = 0
        _ = try? retryingEINTR("waitpid", { waitpid(pid, &status, 0) })
        guard status == 0 else { return nil }
        let path = String(decoding: output, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        return fileExists(path) ? path : nil
    }

    // MARK: - Checksums

    /// The committed checksum for a known tarball name, or the one in TARBALL.sha256 beside it.
    static func expectedChecksum(of tarball: String) throws -> String? {
        let sidecar = try readSidecar(tarball + ".sha256", for: lastComponent(of: tarball))
        if let known = Alpine.knownChecksums[lastComponent(of: tarball)] {
            if let sidecar, sidecar != known {
                throw Failure("\(printable(tarball)).sha256 says \(sidecar), but the kit knows this file as \(known): refusing it")
            }
            return known
        }
        return sidecar
    }

    /// The hash in a checksum file, as `sha256sum` writes it ("HASH  NAME", "HASH *NAME",
    /// one line per file: the line for `name`) or a bare hash. nil if there is no such file.
    static func readSidecar(_ path: String, for name: String) throws -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { return nil }
            throw SystemCallError("stat \(printable(path))")
        }
        let file = try openRegularFile(path, what: "checksum file", maximumSize: 64 << 10)
        let lines = try file.readAll(what: "read \(printable(path))").split(separator: UInt8(ascii: "\n"))
            .map { $0.last == UInt8(ascii: "\r") ? $0.dropLast() : $0 }.filter { !$0.isEmpty }
        var candidates: [ArraySlice<UInt8>] = []
        for line in lines {
            let hash = line.prefix { $0 != UInt8(ascii: " ") }
            var rest = line.dropFirst(hash.count)
            if rest.isEmpty { candidates.append(hash); continue }           // a bare hash
            guard rest.starts(with: Array("  ".utf8)) || rest.starts(with: Array(" *".utf8)) else {
                candidates.removeAll(); break
            }
            rest = rest.dropFirst(2)
            if rest.last.map({ $0 == UInt8(ascii: "/") }) == false,
               lastComponent(of: String(decoding: rest, as: UTF8.self)) == name || lines.count == 1 {
                candidates.append(hash)
            }
        }
        guard candidates.count == 1, let hash = SHA256.hexDigest(candidates[0]) else {
            throw Failure("\(printable(path)) is not a checksum file: it should hold a SHA-256 (64 hex digits), "
                + "as `sha256sum \(printable(name)) > \(printable(lastComponent(of: path)))` writes it")
        }
        return hash
    }

    // MARK: - Unpacking

    /// Checks the checksum, then unpacks into a temporary directory and renames
    /// it into place only when complete: an interrupted or rejected unpack leaves no half image.
    static func unpack(_ fd: Int32, named tarball: String, into target: String, expectedChecksum: String?,
                       ownerShift: UInt32) throws {
        let images = parentDirectory(of: target)
        // One unpack at a time; whoever waited may find the work done.
        let lock = try FileDescriptor(opening: images + "/.lock", O_RDWR | O_CREAT, mode: 0o600)
        try lock.lock(.exclusive, what: "lock \(images)/.lock")
        if isDirectory(target) { return }
        var removed: [String] = []
        for name in directoryEntries(images) where name.hasPrefix(".tmp-") {
            // Left by an unpack that was killed (we hold the lock: nobody is writing it).
            do {
                try removeTree(images + "/" + name)
                removed.append(name)
            } catch {
                writeLine(to: STDERR_FILENO, "workshop: could not remove \(printable(images + "/" + name)), an unfinished image: \(error)")
            }
        }
        if !removed.isEmpty {
            writeLine(to: STDERR_FILENO, "workshop: removed \(removed.count) unfinished image\(removed.count == 1 ? "" : "s") "
                + "left by an unpack that was stopped: \(removed.map { printable($0) }.joined(separator: ", "))")
        }
        if let expectedChecksum {
            let actual = try SHA256.of(fd: fd, path: tarball)
            guard actual == expectedChecksum else {
                throw Failure("checksum mismatch for \(printable(tarball)): expected \(expectedChecksum), got \(actual): refusing it")
            }
        }
        let temporary = images + "/.tmp-" + lastComponent(of: target)
        try check(mkdir(temporary, 0o700), "mkdir \(temporary)")
        do {
            let report = try extract(fd, named: tarball, into: temporary, ownerShift: ownerShift)
            for line in report { writeLine(to: STDERR_FILENO, "workshop: \(line)") }
            try check(chmod(temporary, 0o700), "chmod \(temporary)")
            if ownerShift != 0 { try check(lchown(temporary, ownerShift, ownerShift), "chown \(temporary)") }
            try check(rename(temporary, target), "rename \(temporary) to \(target)")
        } catch {
            try? removeTree(temporary)
            throw error
        }
    }

    /// The most an image may take once unpacked: WORKSHOP_IMAGE_MAX_BYTES (a number of
    /// bytes, or with k, m, g), default 2 GiB.
    static func maximumBytes() throws -> Int64 {
        guard let text = environment("WORKSHOP_IMAGE_MAX_BYTES") else { return 2 << 30 }
        var digits = Substring(text.lowercased())
        var unit: Int64 = 1
        switch digits.last {
        case "k": unit = 1 << 10
        case "m": unit = 1 << 20
        case "g": unit = 1 << 30
        default: break
        }
        if unit != 1 { digits = digits.dropLast() }
        guard let value = Int64(digits), value > 0, value <= Int64.max / unit else {
            throw Failure("WORKSHOP_IMAGE_MAX_BYTES wants a size in bytes (or with k, m, g), not '\(printable(text))'")
        }
        return value * unit
    }

    /// Extracts with libarchive; returns lines to tell the user (what it left out).
    ///
    /// Two layers. First, `ImageTree` checks each entry against what *this* extraction
    /// made (the directory is new and only we write in it), so no entry can reach
    /// outside the image, in time linear in the archive. Second, libarchive's SECURE flags.
    static func extract(_ fd: Int32, named tarball: String, into directory: String, ownerShift: UInt32) throws -> [String] {
        // Loaded now, not at start-up (Sources/CArchiveLoader): only an unpack needs it.
        guard ws_archive_load() == 0 else {
            throw Failure("cannot load libarchive (\(String(cString: ws_archive_error()))): "
                + "sudo apt-get install libarchive13 (Fedora: libarchive)")
        }
        let shown = printable(tarball)
        let limit = try maximumBytes()
        var size = stat()
        try check(fstat(fd, &size), "stat \(tarball)")
        if size.st_size == 0 { throw Failure("\(shown) is empty: not an image") }
        try check(lseek(fd, 0, SEEK_SET), "seek \(tarball)")

        guard let reader = archive_read_new() else { throw Failure("libarchive: out of memory") }
        defer { archive_read_free(reader) }
        // Tar only (ustar, pax, GNU), plain or compressed: nothing else is an image
        // (with every format on, /etc/passwd reads as an mtree listing).
        archive_read_support_format_tar(reader)
        for filter in [archive_read_support_filter_gzip, archive_read_support_filter_bzip2,
                       archive_read_support_filter_xz, archive_read_support_filter_zstd] { _ = filter(reader) }
        let hint = " (an image is a tar archive, plain or gzip, bzip2, xz, zstd)"
        guard archive_read_open_fd(reader, fd, 1 << 16) == ARCHIVE_OK else {
            throw Failure("cannot read \(shown): \(libarchiveError(reader, reason: false))" + hint)
        }
        // libarchive extracts relative to the working directory.
        let saved = try check(open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open .")
        defer { fchdir(saved); close(saved) }
        try check(chdir(directory), "chdir \(directory)")

        // Created after the chdir so that its `defer` runs before the one above: libarchive
        // sets directory modes and times (/tmp's 1777) only when the writer is closed, by
        // *relative* path, so closing it anywhere else would change the caller's directories.
        guard let writer = archive_write_disk_new() else { throw Failure("libarchive: out of memory") }
        defer { archive_write_free(writer) }
        // No XATTR (file capabilities, trusted.overlay.*), no FFLAGS (immutable), no ACL:
        // an image brings files, modes and owners, nothing the host would enforce on its own.
        archive_write_disk_set_options(writer, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_OWNER
            | ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS)

        var tree = ImageTree()
        // Numeric ids only; the container sees ids 0...65535 (step07 shifts them by ownerShift).
        let highestID: Int64 = ownerShift == 0 ? Int64(UInt32.max) - 1 : 65_535
        var bytes: Int64 = 0
        var created = 0
        var skipped: [String: Int] = [:]
        var withAttributes = 0
        var withCapabilities = 0
        var entry: OpaquePointer?
        while true {
            let result = archive_read_next_header(reader, &entry)
            if result == ARCHIVE_EOF { break }
            guard result >= ARCHIVE_WARN, let entry else {
                throw Failure("cannot read \(shown): \(libarchiveError(reader, reason: false))" + (created == 0 ? hint : ""))
            }
            guard let rawName = archive_entry_pathname(entry) else {
                throw Failure("cannot read \(shown): an entry without a usable name")
            }
            let rawBytes = Array(UnsafeBufferPointer(start: UnsafeRawPointer(rawName).assumingMemoryBound(to: UInt8.self),
                                                     count: strlen(rawName)))
            // Escaped for the terminal, and shortened: a 4 KB name is no help in a message.
            let name = rawBytes.count <= 160 ? printable(bytes: rawBytes)
                : printable(bytes: Array(rawBytes.prefix(100))) + "…" + printable(bytes: Array(rawBytes.suffix(40)))
            func refuse(_ why: String) -> Failure { Failure("refusing tarball entry '\(name)': \(why)") }

            let type = archive_entry_filetype(entry)
            let hardlink = archive_entry_hardlink(entry).map { pointer in
                Array(UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self),
                                          count: strlen(pointer)))
            }
            let kind: ImageTree.Kind
            if hardlink != nil {
                kind = .file
            } else {
                switch type {
                case S_IFREG: kind = .file
                case S_IFDIR: kind = .directory
                case S_IFLNK: kind = .symlink
                case S_IFCHR, S_IFBLK: skipped["device node", default: 0] += 1; continue
                case S_IFIFO: skipped["FIFO", default: 0] += 1; continue
                case S_IFSOCK: skipped["socket", default: 0] += 1; continue
                default: throw refuse("unknown file type \(String(type, radix: 8))")
                }
            }
            for (id, what) in [(archive_entry_uid(entry), "uid"), (archive_entry_gid(entry), "gid")]
            where id < 0 || id > highestID {
                throw refuse("\(what) \(id) is outside the ids an image may use (0-\(highestID))")
            }
            let path = try tree.add(rawBytes, kind: kind, hardlink: hardlink, refuse: refuse)
            // libarchive gets the path exactly as checked (clean, relative, no "." or "//").
            archive_entry_set_pathname(entry, ImageTree.cString(path))
            if let hardlink {
                archive_entry_set_hardlink(entry, ImageTree.cString(try ImageTree.clean(hardlink, refuse: refuse)))
            }
            let declared = archive_entry_size(entry)
            bytes += max(0, kind == .file ? declared : 0) + 512   // 512: what an inode costs, roughly
            if bytes > limit {
                throw Failure("\(shown) unpacks to more than \(describeBytes(limit)) (at '\(name)'): refusing it "
                    + "(WORKSHOP_IMAGE_MAX_BYTES raises the limit)")
            }
            if archive_entry_xattr_count(entry) > 0 {
                withAttributes += 1
                archive_entry_xattr_reset(entry)
                var attribute: UnsafePointer<CChar>?
                var value: UnsafeRawPointer?
                var length = 0
                while archive_entry_xattr_next(entry, &attribute, &value, &length) == ARCHIVE_OK {
                    if let attribute, strcmp(attribute, "security.capability") == 0 { withCapabilities += 1; break }
                }
                archive_entry_xattr_clear(entry)
            }
            archive_entry_set_fflags(entry, 0, 0)
            if ownerShift != 0 {
                archive_entry_set_uid(entry, archive_entry_uid(entry) + Int64(ownerShift))
                archive_entry_set_gid(entry, archive_entry_gid(entry) + Int64(ownerShift))
            }
            archive_entry_set_uname(entry, nil)
            archive_entry_set_gname(entry, nil)
            // From here on, a warning is a failure: libarchive reports a short write
            // (a full disk) as ARCHIVE_WARN, and a short image must never be cached.
            guard archive_write_header(writer, entry) == ARCHIVE_OK else {
                throw refuse(libarchiveError(writer))
            }
            if !path.isEmpty { created += 1 }
            if kind == .file && declared > 0 {
                var block: UnsafeRawPointer?
                var length = 0
                var offset: la_int64_t = 0
                while true {
                    let read = archive_read_data_block(reader, &block, &length, &offset)
                    if read == ARCHIVE_EOF { break }
                    guard read >= ARCHIVE_WARN else {
                        throw Failure("cannot unpack '\(name)': \(libarchiveError(reader, reason: false))")
                    }
                    guard archive_write_data_block(writer, block, length, offset) == ARCHIVE_OK else {
                        throw Failure("cannot unpack '\(name)': \(libarchiveError(writer))")
                    }
                }
            }
            guard archive_write_finish_entry(writer) == ARCHIVE_OK else {
                throw Failure("cannot unpack '\(name)': \(libarchiveError(writer))")
            }
        }
        guard archive_write_close(writer) == ARCHIVE_OK else {
            throw Failure("cannot finish unpacking \(shown): \(libarchiveError(writer))")
        }
        if created == 0 { throw Failure("\(shown) holds no files: not an image") }
        var report: [String] = []
        if !skipped.isEmpty {
            let kinds = skipped.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)\($0.value == 1 ? "" : "s")" }
            report.append("left out \(kinds.joined(separator: ", ")) of \(shown): an image never brings its own "
                + "devices (the runtime makes /dev)")
        }
        if withAttributes > 0 {
            report.append("left out the extended attributes of \(withAttributes) entr\(withAttributes == 1 ? "y" : "ies") of \(shown)"
                + (withCapabilities > 0 ? ", file capabilities on \(withCapabilities)" : "") + ": an image keeps no file capabilities")
        }
        return report
    }

    /// libarchive's message, with the system's reason when it has one ("Write failed: No space left on device").
    static func libarchiveError(_ archive: OpaquePointer, reason: Bool = true) -> String {
        let text = archive_error_string(archive).map { printable(String(cString: $0)) } ?? "unknown libarchive error"
        let code = archive_errno(archive)
        guard reason && code > 0 && code < 4096 else { return text }
        let reason = String(cString: strerror(code))
        return text.contains(reason) ? text : text + ": " + reason
    }

    // MARK: - Files

    /// Opens a file that must be a regular file: checked before open (a FIFO would block
    /// open, /dev/zero never ends) and again after (it cannot have been swapped meanwhile).
    static func openRegularFile(_ path: String, what: String, maximumSize: Int64? = nil) throws -> FileDescriptor {
        let shown = printable(path)
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { throw Failure("\(what) \(shown) does not exist") }
            throw SystemCallError("stat \(shown)")
        }
        func requireRegular(_ info: stat) throws {
            let type = info.st_mode & S_IFMT
            guard type == S_IFREG else {
                let kind = type == S_IFIFO ? "a FIFO" : type == S_IFCHR ? "a character device"
                    : type == S_IFBLK ? "a block device" : type == S_IFSOCK ? "a socket" : "not a file"
                throw Failure("\(what) \(shown) is \(kind), not a regular file")
            }
            if let maximumSize, info.st_size > maximumSize {
                throw Failure("\(what) \(shown) is too large (\(info.st_size) bytes) to be one")
            }
        }
        try requireRegular(info)
        let file = try FileDescriptor(opening: path, O_RDONLY | O_NONBLOCK | O_NOCTTY, what: "open \(shown)")
        try requireRegular(try file.status(what: "stat \(shown)"))
        return file
    }

    /// Keeps a copy of a given Alpine tarball in downloads/, so that later runs (and the
    /// tests) find it without WORKSHOP_ALPINE_TARBALL and without the network. Copied from
    /// the verified descriptor; published (renamed) only if its hash is the pinned one.
    static func keepForOffline(_ fd: Int32, named tarball: String) throws {
        let name = lastComponent(of: tarball)
        guard name == Alpine.tarballName, let known = Alpine.knownChecksums[name] else { return }
        let copy = downloads + "/" + name
        guard !fileExists(copy) else { return }
        try makeDirectories(downloads)
        let temporary = downloads + "/.\(name).partial.\(getpid())"
        let out = try FileDescriptor(opening: temporary, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644,
                                     what: "create \(temporary)")
        let source = FileDescriptor(adopting: fd)   // the caller's: released below, not closed
        var hash = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var ok = lseek(fd, 0, SEEK_SET) == 0
        while ok {
            do {
                let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0, what: "read \(name)") }
                if n == 0 { break }
                try buffer.withUnsafeBytes { chunk in
                    hash.update(UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
                    try out.writeAll(UnsafeRawBufferPointer(rebasing: chunk[0..<n]), what: "write \(temporary)")
                }
            } catch {
                ok = false
            }
        }
        _ = source.release()
        ok = out.close() && ok
        if ok && hash.finalize() == known && rename(temporary, copy) == 0 {
            try? writeFile(copy + ".sha256", "\(known)  \(name)\n", create: true)
            writeLine(to: STDERR_FILENO, "workshop: kept a copy of \(name) in \(downloads) for later runs (offline too)")
        } else {
            unlink(temporary)
        }
    }
}

/// What one extraction has made so far, in memory: the directory it unpacks into is new
/// and only it writes there, so this is the truth on disk, without a system call.
///
/// Invariant: every path recorded has only directories above it. An entry is accepted
/// only if its parent is (or will be made as) a directory, so none can go through a
/// symlink or a file; a hard link only to a regular file this extraction made.
/// Checking the parent alone is enough by the invariant: linear in the archive.
struct ImageTree {
    enum Kind { case directory, file, symlink }

    /// Paths as their exact bytes (Swift String equality is Unicode-canonical: two different
    /// names on disk could compare equal).
    struct Path: Hashable {
        var bytes: [UInt8]
        func hash(into hasher: inout Hasher) { bytes.withUnsafeBytes { hasher.combine(bytes: $0) } }
        static func == (a: Path, b: Path) -> Bool {
            a.bytes.count == b.bytes.count
                && a.bytes.withUnsafeBytes { x in b.bytes.withUnsafeBytes { y in memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 } }
        }
    }

    private var kinds: [Path: Kind] = [:]

    /// Longest path accepted (PATH_MAX less the terminator), and most levels: deeper trees
    /// are refused at once instead of being made level by level. The level limit keeps the
    /// second layer cheap: libarchive's SECURE_SYMLINKS opens every directory above each
    /// entry, so its cost grows with depth (1000 levels took 7 s). Real images stay far
    /// below it (Alpine: 6 levels; deep node_modules trees: a few dozen).
    static let maximumPathLength = 4095
    static let maximumDepth = 128

    /// The path without "." components, duplicate or trailing slashes; refuses absolute
    /// paths, "..", and too long ones. Empty: the image's root. Bytes, not String: a name
    /// need not be UTF-8, and libarchive must get exactly the name that was checked.
    static func clean(_ raw: [UInt8], refuse: (String) -> Failure) throws -> [UInt8] {
        if raw.first == UInt8(ascii: "/") { throw refuse("absolute path '\(printable(bytes: raw))'") }
        if raw.count > maximumPathLength { throw refuse("path longer than \(maximumPathLength) bytes") }
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var depth = 0
        for part in raw.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
            if part.count == 1 && part.first == UInt8(ascii: ".") { continue }
            depth += 1
            if depth > maximumDepth { throw refuse("more than \(maximumDepth) directory levels") }
            if part.count == 2 && part.allSatisfy({ $0 == UInt8(ascii: ".") }) {
                throw refuse("'..' in '\(printable(bytes: raw))'")
            }
            if !out.isEmpty { out.append(UInt8(ascii: "/")) }
            out.append(contentsOf: part)
        }
        return out
    }

    /// A path as the C string libarchive takes ("." for the root).
    static func cString(_ path: [UInt8]) -> [CChar] {
        (path.isEmpty ? [UInt8(ascii: ".")] : path).map { CChar(bitPattern: $0) } + [0]
    }

    /// Records an entry; returns its clean path. Throws (via `refuse`) if it would go
    /// through anything but a directory, replace a directory, or link to anything but a regular file.
    mutating func add(_ raw: [UInt8], kind: Kind, hardlink: [UInt8]?, refuse: (String) -> Failure) throws -> [UInt8] {
        let path = try ImageTree.clean(raw, refuse: refuse)
        if path.isEmpty {
            guard kind == .directory, hardlink == nil else { throw refuse("the image's root must be a directory") }
            return path
        }
        try requireDirectories(above: path, refuse: refuse)
        if let hardlink {
            let target = try ImageTree.clean(hardlink, refuse: refuse)
            guard kinds[Path(bytes: target)] == .file else {
                let what = kinds[Path(bytes: target)].map { $0 == .symlink ? "a symlink" : "a directory" }
                    ?? "nothing this image made before"
                throw refuse("a hard link to '\(printable(bytes: target))', \(what): only links to regular files of the image are allowed")
            }
        }
        let key = Path(bytes: path)
        if let existing = kinds[key], existing != kind, existing == .directory || kind == .directory {
            throw refuse("it would replace the \(existing == .directory ? "directory" : "file") of the same name with a "
                + "\(kind == .directory ? "directory" : "non-directory")")
        }
        kinds[key] = kind
        return path
    }

    /// Every directory above `path` is (or is now recorded as, libarchive makes missing ones) a directory.
    private mutating func requireDirectories(above path: [UInt8], refuse: (String) -> Failure) throws {
        var missing: [Path] = []
        var end = path.lastIndex(of: UInt8(ascii: "/"))
        while let slash = end {
            let parent = Path(bytes: Array(path[..<slash]))
            if let kind = kinds[parent] {
                guard kind == .directory else {
                    throw refuse("it goes through the \(kind == .symlink ? "symlink" : "file") '\(printable(bytes: parent.bytes))'")
                }
                break
            }
            missing.append(parent)
            end = path[..<slash].lastIndex(of: UInt8(ascii: "/"))
        }
        for parent in missing { kinds[parent] = .directory }
    }
}
