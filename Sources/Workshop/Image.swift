import CArchive
import CArchiveLoader
import Glibc

/// Where the kit keeps its files: WORKSHOP_HOME, or /var/lib/workshop.
///   downloads/          tarballs and their .sha256 files
///   images/<sha256>/    unpacked images, never written by a container
///   containers/<id>/    one writable root per running container
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

    /// Finds or unpacks the image. `ownerShift` adds to every file's uid and
    /// gid (step07: container root is host uid 100000, so its files must be too).
    public static func prepare(rootfs: String? = nil, ownerShift: UInt32 = 0) throws -> Image {
        if let rootfs, isDirectory(rootfs) {
            return Image(path: rootfs, source: rootfs, unpackMilliseconds: nil)
        }
        let tarball = try rootfs ?? findTarball()
        guard fileExists(tarball) else { throw Failure("rootfs \(tarball) does not exist") }
        let expected = try expectedChecksum(of: tarball)
        let name = try (expected ?? SHA256.of(file: tarball)) + (ownerShift == 0 ? "" : "-uid\(ownerShift)")
        let images = workshopHome + "/images"
        let target = images + "/" + name
        if isDirectory(target) {
            return Image(path: target, source: lastComponent(of: tarball), unpackMilliseconds: nil)
        }
        let start = monotonicMilliseconds()
        try unpack(tarball, into: target, expectedChecksum: expected, ownerShift: ownerShift)
        return Image(path: target, source: lastComponent(of: tarball),
                     unpackMilliseconds: monotonicMilliseconds() - start)
    }

    /// WORKSHOP_ALPINE_TARBALL; else a tarball already downloaded; else
    /// rootfs-scripts/fetch-alpine.sh; else the busybox fallback.
    static func findTarball() throws -> String {
        if let path = environment("WORKSHOP_ALPINE_TARBALL") { return path }
        let downloads = workshopHome + "/downloads"
        let downloaded = downloads + "/" + Alpine.tarballName
        if fileExists(downloaded) { return downloaded }
        let scripts = packageDirectory + "/rootfs-scripts"
        writeLine(to: STDERR_FILENO, "workshop: no Alpine minirootfs yet; fetching \(Alpine.tarballName)...")
        if let path = runScript("\(scripts)/fetch-alpine.sh \(Alpine.version) \(Alpine.architecture)",
                                downloads: downloads) {
            return path
        }
        writeLine(to: STDERR_FILENO, "workshop: download failed; building the offline busybox fallback instead")
        if let path = runScript("\(scripts)/build-busybox-rootfs.sh", downloads: downloads) { return path }
        throw Failure("no root filesystem: could not download Alpine nor build the busybox fallback "
            + "(set WORKSHOP_ALPINE_TARBALL, or apt-get install busybox-static)")
    }

    /// Runs a rootfs script; its last line on stdout is the tarball's path.
    private static func runScript(_ command: String, downloads: String) -> String? {
        guard let pipe = popen("WORKSHOP_DOWNLOADS='\(downloads)' \(command)", "r") else { return nil }
        var output = ""
        var buffer = [CChar](repeating: 0, count: 4096)
        while fgets(&buffer, Int32(buffer.count), pipe) != nil { output += String(cString: buffer) }
        guard pclose(pipe) == 0 else { return nil }
        let path = output.split(separator: "\n").last.map(String.init) ?? ""
        return fileExists(path) ? path : nil
    }

    /// The committed checksum for a known tarball name, or the one in TARBALL.sha256 beside it.
    static func expectedChecksum(of tarball: String) throws -> String? {
        let sidecar = (try? readFile(tarball + ".sha256")).flatMap { $0.split(separator: " ").first }
            .map { String($0).lowercased() }
        if let known = Alpine.knownChecksums[lastComponent(of: tarball)] {
            if let sidecar, sidecar != known {
                throw Failure("\(tarball).sha256 says \(sidecar), but the kit knows this file as \(known): refusing it")
            }
            return known
        }
        return sidecar
    }

    /// Checks the checksum, then unpacks into a temporary directory and renames
    /// it into place only when complete: an interrupted or rejected unpack leaves no half image.
    static func unpack(_ tarball: String, into target: String, expectedChecksum: String?, ownerShift: UInt32) throws {
        let images = parentDirectory(of: target)
        try makeDirectories(images)
        // One unpack at a time; whoever waited may find the work done.
        let lock = try check(open(images + "/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600), "open \(images)/.lock")
        defer { close(lock) }
        flock(lock, LOCK_EX)
        if isDirectory(target) { return }
        for name in directoryEntries(images) where name.hasPrefix(".tmp-") {
            try? removeTree(images + "/" + name)   // left by an unpack that was killed
        }
        if let expectedChecksum {
            let actual = try SHA256.of(file: tarball)
            guard actual == expectedChecksum else {
                throw Failure("checksum mismatch for \(tarball): expected \(expectedChecksum), got \(actual): refusing it")
            }
        }
        let temporary = images + "/.tmp-" + lastComponent(of: target)
        try check(mkdir(temporary, 0o755), "mkdir \(temporary)")
        do {
            try extract(tarball, into: temporary, ownerShift: ownerShift)
            try check(chmod(temporary, 0o755), "chmod \(temporary)")
            if ownerShift != 0 { try check(lchown(temporary, ownerShift, ownerShift), "chown \(temporary)") }
            try check(rename(temporary, target), "rename \(temporary) to \(target)")
        } catch {
            try? removeTree(temporary)
            throw error
        }
    }

    /// Extracts with libarchive, refusing any entry that would write outside `directory`.
    static func extract(_ tarball: String, into directory: String, ownerShift: UInt32) throws {
        // Loaded now, not at start-up (Sources/CArchiveLoader): only an unpack needs it.
        guard ws_archive_load() == 0 else {
            throw Failure("cannot load libarchive (\(String(cString: ws_archive_error()))): "
                + "sudo apt-get install libarchive13 (Fedora: libarchive)")
        }
        guard let reader = archive_read_new() else { throw Failure("libarchive: out of memory") }
        defer { archive_read_free(reader) }
        archive_read_support_filter_all(reader)
        archive_read_support_format_all(reader)
        guard archive_read_open_filename(reader, tarball, 1 << 16) == ARCHIVE_OK else {
            throw Failure("cannot read \(tarball): \(String(cString: archive_error_string(reader)))")
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
        // The SECURE flags make libarchive itself refuse "..", absolute paths and
        // writes through symlinks; `checkEntry` below says which entry, first.
        archive_write_disk_set_options(writer, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_OWNER
            | ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_FFLAGS | ARCHIVE_EXTRACT_SECURE_NODOTDOT
            | ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS)

        var entry: OpaquePointer?
        while true {
            let result = archive_read_next_header(reader, &entry)
            if result == ARCHIVE_EOF { break }
            guard result >= ARCHIVE_WARN, let entry else {
                throw Failure("cannot read \(tarball): \(String(cString: archive_error_string(reader)))")
            }
            let name = String(cString: archive_entry_pathname(entry))
            let hardlink = archive_entry_hardlink(entry).map { String(cString: $0) }
            try checkEntry(name, hardlink: hardlink)
            if ownerShift != 0 {
                // Numeric ids only: a name lookup would use the *host's* /etc/passwd.
                archive_entry_set_uid(entry, archive_entry_uid(entry) + Int64(ownerShift))
                archive_entry_set_gid(entry, archive_entry_gid(entry) + Int64(ownerShift))
            }
            archive_entry_set_uname(entry, nil)
            archive_entry_set_gname(entry, nil)
            guard archive_write_header(writer, entry) >= ARCHIVE_WARN else {
                throw Failure("refusing tarball entry '\(name)': \(String(cString: archive_error_string(writer)))")
            }
            if archive_entry_size(entry) > 0 {
                var block: UnsafeRawPointer?
                var size = 0
                var offset: la_int64_t = 0
                while true {
                    let read = archive_read_data_block(reader, &block, &size, &offset)
                    if read == ARCHIVE_EOF { break }
                    guard read >= ARCHIVE_WARN, archive_write_data_block(writer, block, size, offset) >= ARCHIVE_WARN else {
                        throw Failure("cannot unpack '\(name)': \(String(cString: archive_error_string(writer) ?? archive_error_string(reader)))")
                    }
                }
            }
            guard archive_write_finish_entry(writer) >= ARCHIVE_WARN else {
                throw Failure("cannot unpack '\(name)': \(String(cString: archive_error_string(writer)))")
            }
        }
        guard archive_write_close(writer) >= ARCHIVE_WARN else {
            throw Failure("cannot finish unpacking: \(String(cString: archive_error_string(writer)))")
        }
    }

    /// Refuses an entry whose path, or hard link target, could reach outside the image.
    static func checkEntry(_ name: String, hardlink: String?) throws {
        for (path, what) in [(name, "path"), (hardlink, "hard link target")] {
            guard let path else { continue }
            if path.hasPrefix("/") { throw Failure("refusing tarball entry '\(name)': absolute \(what) '\(path)'") }
            let parts = path.split(separator: "/")
            if parts.contains("..") { throw Failure("refusing tarball entry '\(name)': '..' in its \(what) '\(path)'") }
            // No component before the last may be a symlink already unpacked: writing
            // through it (or linking to a file behind it) would land outside.
            var prefix = ""
            for part in parts.dropLast() where part != "." {
                prefix += (prefix.isEmpty ? "" : "/") + part
                var info = stat()
                if lstat(prefix, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK {
                    throw Failure("refusing tarball entry '\(name)': its \(what) goes through the symlink '\(prefix)'")
                }
            }
        }
    }
}

public func monotonicMilliseconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) * 1000 + Double(now.tv_nsec) / 1_000_000
}
