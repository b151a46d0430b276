import AttackMatrix
import CArchive
import CArchiveLoader
import Foundation
import XCTest

/// A tar archive written byte by byte (ustar headers, pax records where needed), so a
/// test can build any hostile entry: names with control bytes, negative or huge ids,
/// hard links to symlinks, device nodes, xattrs, file flags, lying sizes.
struct TarWriter {
    private(set) var bytes: [UInt8] = []

    enum Kind: UInt8 {
        case file = 0x30, hardlink = 0x31, symlink = 0x32, character = 0x33, block = 0x34, directory = 0x35, fifo = 0x36
    }

    mutating func add(_ name: String, _ kind: Kind = .file, mode: Int = 0o644, uid: Int64 = 0, gid: Int64 = 0,
                      link: String = "", data: [UInt8] = [], declaredSize: Int64? = nil, pax: [(String, [UInt8])] = [],
                      device: (Int, Int) = (0, 0), rawName: [UInt8]? = nil) {
        let nameBytes = rawName ?? Array(name.utf8)
        var records = pax
        if nameBytes.count > 100 { records.append(("path", nameBytes)) }
        if link.utf8.count > 100 { records.append(("linkpath", Array(link.utf8))) }
        if uid < 0 || uid > 0o7777777 { records.append(("uid", Array(String(uid).utf8))) }
        if gid < 0 || gid > 0o7777777 { records.append(("gid", Array(String(gid).utf8))) }
        let size = declaredSize ?? Int64(data.count)
        if size > 0o77777777777 { records.append(("size", Array(String(size).utf8))) }
        if !records.isEmpty {
            var body: [UInt8] = []
            for (key, value) in records {
                // "LEN key=value\n", LEN counting itself.
                let rest = 1 + key.utf8.count + 1 + value.count + 1
                var length = rest + 1
                while String(length).count + rest != length { length += 1 }
                body += Array("\(length) \(key)=".utf8) + value + [0x0a]
            }
            appendHeader(name: Array("PaxHeader/x".utf8), type: 0x78, mode: 0o644, uid: 0, gid: 0, link: [], size: Int64(body.count), device: (0, 0))
            appendData(body)
        }
        appendHeader(name: Array(nameBytes.prefix(100)), type: kind.rawValue, mode: mode, uid: max(0, min(uid, 0o7777777)),
                     gid: max(0, min(gid, 0o7777777)), link: Array(link.utf8.prefix(100)),
                     size: min(size, 0o77777777777), device: device)
        appendData(data)
    }

    private mutating func appendHeader(name: [UInt8], type: UInt8, mode: Int, uid: Int64, gid: Int64, link: [UInt8],
                                       size: Int64, device: (Int, Int)) {
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ offset: Int, _ field: [UInt8]) { for (i, byte) in field.enumerated() { header[offset + i] = byte } }
        func octal(_ offset: Int, _ width: Int, _ value: Int64) {
            let digits = String(value, radix: 8)
            put(offset, Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8))
        }
        put(0, name)
        octal(100, 8, Int64(mode))
        octal(108, 8, uid)
        octal(116, 8, gid)
        octal(124, 12, size)
        octal(136, 12, 1_700_000_000)
        put(148, Array("        ".utf8))
        header[156] = type
        put(157, link)
        put(257, Array("ustar\u{0}00".utf8))
        octal(329, 8, Int64(device.0))
        octal(337, 8, Int64(device.1))
        let sum = header.reduce(0) { $0 + Int($1) }
        octal(148, 7, Int64(sum))
        bytes += header
    }

    private mutating func appendData(_ data: [UInt8]) {
        bytes += data
        if data.count % 512 != 0 { bytes += [UInt8](repeating: 0, count: 512 - data.count % 512) }
    }

    /// The archive with its end (two zero blocks).
    var archive: [UInt8] { bytes + [UInt8](repeating: 0, count: 1024) }
}

enum Compression { case none, gzip, bzip2, xz, zstd }

/// Writes `data` through one of libarchive's compression filters (its "raw" format: no archive around it).
func compress(_ data: [UInt8], _ compression: Compression, to path: String) throws {
    if compression == .none {
        try Data(data).write(to: URL(fileURLWithPath: path))
        return
    }
    let writer = archive_write_new()
    defer { archive_write_free(writer) }
    archive_write_set_format_raw(writer)
    switch compression {
    case .gzip: archive_write_add_filter_gzip(writer)
    case .bzip2: archive_write_add_filter_bzip2(writer)
    case .xz: archive_write_add_filter_xz(writer)
    case .zstd: archive_write_add_filter_zstd(writer)
    case .none: break
    }
    XCTAssertEqual(archive_write_open_filename(writer, path), ARCHIVE_OK, "test setup: libarchive opening \(path) for writing")
    let entry = archive_entry_new()
    defer { archive_entry_free(entry) }
    archive_entry_set_pathname(entry, "data")
    archive_entry_set_filetype(entry, 0o100000)
    archive_entry_set_size(entry, Int64(data.count))
    XCTAssertEqual(archive_write_header(writer, entry), ARCHIVE_OK, "test setup: libarchive writing the header of 'data' in \(path)")
    _ = data.withUnsafeBytes { archive_write_data(writer, $0.baseAddress, $0.count) }
    XCTAssertEqual(archive_write_close(writer), ARCHIVE_OK, "test setup: libarchive closing \(path)")
}

/// A static program of a few hundred bytes (no libc) that prints "euid=N": the command
/// every test image runs, and the setuid file the host-user checks aim at.
let probeBinary: [UInt8] = {
    let directory = NSTemporaryDirectory() + "workshop-probe-\(getpid())"
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let source = #"""
    static long sys(long n, long a, long b, long c) {
        long r;
    #if defined(__x86_64__)
        __asm__ volatile ("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    #else
        register long x8 __asm__("x8") = n, x0 __asm__("x0") = a, x1 __asm__("x1") = b, x2 __asm__("x2") = c;
        __asm__ volatile ("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
        r = x0;
    #endif
        return r;
    }
    #if defined(__x86_64__)
    enum { WRITE = 1, EXIT = 60, GETEUID = 107 };
    #else
    enum { WRITE = 64, EXIT = 93, GETEUID = 175 };
    #endif
    void _start(void) {
        char text[32] = "euid=";
        long id = sys(GETEUID, 0, 0, 0), n = 5;
        char digits[16]; int d = 0;
        do { digits[d++] = '0' + id % 10; id /= 10; } while (id);
        while (d) text[n++] = digits[--d];
        text[n++] = '\n';
        sys(WRITE, 1, (long)text, n);
        sys(EXIT, 0, 0, 0);
    }
    """#
    try? source.write(toFile: directory + "/probe.c", atomically: true, encoding: .utf8)
    let gcc = Process()
    gcc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    gcc.arguments = ["gcc", "-static", "-nostdlib", "-fno-stack-protector", "-Os", "-s", "-o", directory + "/probe", directory + "/probe.c"]
    try? gcc.run()
    gcc.waitUntilExit()
    return (try? Array(Data(contentsOf: URL(fileURLWithPath: directory + "/probe")))) ?? []
}()

/// The black-box battery of hostile images (issue 12): each case runs a real step with
/// `--rootfs`, and checks the exit code, the one line it says, that nothing outside the
/// image changed (a marker directory, compared before and after), that nothing is left
/// in the cache, and that a good image still works afterwards.
final class ImageTests: StepTestCase {
    var work = ""
    var home = ""
    var outside = ""
    var hostFile = ""
    var imagesBefore: Set<String> = []

    override func setUpWithError() throws {
        try super.setUpWithError()
        XCTAssertFalse(probeBinary.isEmpty, "gcc could not build the probe (apt-get install gcc)")
        work = "/tmp/workshop-images-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        home = work + "/home"
        outside = work + "/outside"
        hostFile = outside + "/host-file"
        for directory in [home, outside + "/dir"] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        chmod(work, 0o755)
        try "host data".write(toFile: hostFile, atomically: true, encoding: .utf8)
        chmod(hostFile, 0o644)
        try "in a directory".write(toFile: outside + "/dir/file", atomically: true, encoding: .utf8)
        addTeardownBlock { [work] in
            _ = try? self.runTool("/usr/bin/chattr", ["-R", "-i", work])
            try? FileManager.default.removeItem(atPath: work)
        }
        imagesBefore = cacheEntries()
    }

    override func tearDownWithError() throws {
        try super.tearDownWithError()
    }

    // MARK: helpers

    /// Every file under the marker directory: type, mode, owner, links, contents.
    func snapshot() -> [String: String] {
        var result: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(atPath: outside)
        var paths = [""]
        while let next = enumerator?.nextObject() as? String { paths.append(next) }
        for path in paths {
            var info = stat()
            let full = outside + (path.isEmpty ? "" : "/" + path)
            guard lstat(full, &info) == 0 else { continue }
            let content = (info.st_mode & S_IFMT) == S_IFREG ? ((try? String(contentsOfFile: full, encoding: .utf8)) ?? "?") : ""
            result[path] = "\(String(info.st_mode, radix: 8)) \(info.st_uid):\(info.st_gid) n\(info.st_nlink) \(content)"
        }
        return result
    }

    func cacheEntries() -> Set<String> {
        Set(((try? FileManager.default.contentsOfDirectory(atPath: home + "/images")) ?? []).filter { $0 != ".lock" })
    }

    /// Runs a step against an image in this test's home.
    func runImage(_ rootfs: String, step: String = "step03-chroot", command: [String] = ["/bin/probe"],
                  environment: [String: String] = [:], timeout: TimeInterval = 60) throws -> RunResult {
        var env = ["WORKSHOP_HOME": home]
        for (key, value) in environment { env[key] = value }
        return try start(step, ["--rootfs", rootfs, "--"] + command, environment: env).wait(timeout: timeout)
    }

    @discardableResult
    func runTool(_ path: String, _ arguments: [String], environment: [String: String]? = nil) throws -> RunResult {
        try runHostCommand([path] + arguments, environment: environment)
    }

    /// An image that works: the probe as /bin/probe.
    func goodEntries(_ tar: inout TarWriter, probeMode: Int = 0o755) {
        tar.add("bin", .directory, mode: 0o755)
        tar.add("bin/probe", mode: probeMode, data: probeBinary)
        for name in ["proc", "dev", "sys", "tmp"] { tar.add(name, .directory, mode: name == "tmp" ? 0o1777 : 0o755) }
    }

    func tarball(_ name: String, _ compression: Compression = .none, good: Bool = true, probeMode: Int = 0o755,
                 _ build: (inout TarWriter) -> Void = { _ in }) throws -> String {
        var tar = TarWriter()
        if good { goodEntries(&tar, probeMode: probeMode) }
        build(&tar)
        let path = work + "/" + name
        try compress(tar.archive, compression, to: path)
        return path
    }

    /// The refusal: exit code, exactly one line naming what, nothing changed outside,
    /// nothing in the cache, and a good image runs afterwards.
    func assertRefused(_ rootfs: String, step: String = "step03-chroot", status: Int32 = 125, saying expected: String,
                       environment: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) throws {
        let before = snapshot()
        let result = try runImage(rootfs, step: step, environment: environment)
        XCTAssertEqual(result.status, status, "stderr: \(result.stderr)", file: file, line: line)
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        XCTAssertEqual(lines.count, 1, "\(step): lines on stderr for a refused image (one clear line): \(result.stderr)", file: file, line: line)
        expect(result.stderr.contains(expected), step: step, property: "why the image was refused", expected: "'\(expected)'",
               seen: result.stderr, file: file, line: line)
        XCTAssertEqual(result.stdout, "", "\(step): the command's output (it must not have run)", file: file, line: line)
        XCTAssertEqual(snapshot(), before, "\(step): the marker directory outside the image (unchanged)", file: file, line: line)
        XCTAssertEqual(cacheEntries().subtracting(imagesBefore), [], "\(step): new entries in the image cache (none)", file: file, line: line)
        try assertGoodRunWorks(step: step, file: file, line: line)
    }

    func assertGoodRunWorks(step: String = "step03-chroot", file: StaticString = #filePath, line: UInt = #line) throws {
        let good = try tarball("good-\(Int.random(in: 0..<1_000_000)).tar")
        let result = try runImage(good, step: step)
        XCTAssertEqual(result.status, 0, "\(step): exit status of a good image after it: \(result.stderr)", file: file, line: line)
        XCTAssertEqual(result.stdout, "euid=0\n", "\(step): the good image's probe output", file: file, line: line)
        imagesBefore = cacheEntries()
    }

    /// Accepted: runs, says `notes` (one line each), the image is cached.
    @discardableResult
    func assertAccepted(_ rootfs: String, step: String = "step03-chroot", notes: [String] = [], lines expectedLines: Int? = nil,
                        environment: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let before = snapshot()
        let result = try runImage(rootfs, step: step, environment: environment)
        XCTAssertEqual(result.status, 0, "\(step): exit status with an accepted image: \(result.stderr)", file: file, line: line)
        XCTAssertEqual(result.stdout, "euid=0\n", "\(step): the image's probe output", file: file, line: line)
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, expectedLines ?? notes.count, "\(step): lines on stderr (one per note): \(result.stderr)", file: file, line: line)
        for note in notes {
            expect(result.stderr.contains(note), step: step, property: "what the runtime said", expected: "'\(note)'", seen: result.stderr,
                   file: file, line: line)
        }
        XCTAssertEqual(snapshot(), before, "\(step): the marker directory outside the image (unchanged)", file: file, line: line)
        let new = cacheEntries().subtracting(imagesBefore)
        XCTAssertEqual(new.count, 1, "\(step): new images in the cache", file: file, line: line)
        imagesBefore = cacheEntries()
        return home + "/images/" + (new.first ?? "?")
    }

    func sha256(_ path: String) throws -> String {
        let result = try runTool("/usr/bin/sha256sum", [path])
        return String(result.stdout.prefix(64))
    }

    // MARK: an image reaches the host

    func testHardLinkToASymlinkCannotChmodAHostFile() throws {
        for step in ["step03-chroot", "step05-cgroup", "step08-seccomp"] {
            let tarball = try tarball("chmod-\(step).tar") { tar in
                tar.add("s", .symlink, mode: 0o777, link: self.hostFile)
                // A pax header makes libarchive keep a hard link's data (and so write through it).
                tar.add("h", .hardlink, mode: 0o4777, link: "s", data: Array("pwned".utf8),
                        pax: [("comment", Array("carries data".utf8))])
            }
            try assertRefused(tarball, step: step, saying: "refusing tarball entry 'h': a hard link to 's', a symlink")
            var info = stat()
            XCTAssertEqual(lstat(hostFile, &info), 0, "\(step): lstat of the host file \(hostFile)")
            XCTAssertEqual(info.st_mode & 0o7777, 0o644, "\(step): the host file's mode (unchanged by the image)")
        }
    }

    func testDotDotIsRefused() throws {
        try assertRefused(try tarball("dotdot.tar") { $0.add("bin/../../outside/new", data: [1]) }, saying: "'..' in")
    }

    func testAbsolutePathIsRefused() throws {
        try assertRefused(try tarball("absolute.tar") { $0.add(self.outside + "/new", data: [1]) }, saying: "absolute path")
    }

    func testWritingThroughASymlinkIsRefused() throws {
        let path = try tarball("through-symlink.tar") { tar in
            tar.add("escape", .symlink, link: self.outside + "/dir")
            tar.add("escape/file", data: Array("overwritten".utf8))
        }
        try assertRefused(path, saying: "refusing tarball entry 'escape/file': it goes through the symlink 'escape'")
    }

    func testWritingThroughASymlinkChainIsRefused() throws {
        let path = try tarball("chain.tar") { tar in
            tar.add("b", .symlink, link: self.outside)
            tar.add("a", .symlink, link: "b")
            tar.add("a/dir/new", data: [1])
        }
        try assertRefused(path, saying: "it goes through the symlink 'a'")
    }

    func testHardLinkToAHostFileIsRefused() throws {
        try assertRefused(try tarball("hardlink-absolute.tar") { $0.add("stolen", .hardlink, link: self.hostFile) },
                          saying: "absolute path")
        try assertRefused(try tarball("hardlink-dotdot.tar") { $0.add("stolen", .hardlink, link: "../outside/host-file") },
                          saying: "'..' in")
    }

    func testHardLinkThroughASymlinkIsRefused() throws {
        let path = try tarball("hardlink-through.tar") { tar in
            tar.add("escape", .symlink, link: self.outside)
            tar.add("stolen", .hardlink, link: "escape/host-file")
        }
        try assertRefused(path, saying: "a hard link to 'escape/host-file', nothing this image made before")
    }

    func testHardLinkToADirectoryIsRefused() throws {
        try assertRefused(try tarball("hardlink-dir.tar") { $0.add("linked", .hardlink, link: "bin") },
                          saying: "a hard link to 'bin', a directory")
    }

    func testDirectoryReplacedBySymlinkIsRefused() throws {
        let path = try tarball("dir-to-symlink.tar") { tar in
            tar.add("d", .directory, mode: 0o755)
            tar.add("d", .symlink, link: self.outside)
            tar.add("d/new", data: [1])
        }
        try assertRefused(path, saying: "refusing tarball entry 'd': it would replace the directory")
    }

    func testFileReplacedBySymlinkThenLinkedIsRefused() throws {
        let path = try tarball("file-to-symlink.tar") { tar in
            tar.add("f", data: [1])
            tar.add("f", .symlink, link: self.hostFile)
            tar.add("h", .hardlink, mode: 0o4777, link: "f")
        }
        try assertRefused(path, saying: "a hard link to 'f', a symlink")
    }

    func testHardLinkToARegularFileOfTheImageWorks() throws {
        let path = try tarball("hardlink-good.tar") { tar in
            tar.add("bin/again", .hardlink, link: "./bin//probe")
        }
        let image = try assertAccepted(path)
        var first = stat(), second = stat()
        XCTAssertEqual(lstat(image + "/bin/probe", &first), 0, "step03-chroot: lstat of the unpacked bin/probe")
        XCTAssertEqual(lstat(image + "/bin/again", &second), 0, "step03-chroot: lstat of the unpacked hard link bin/again")
        XCTAssertEqual(first.st_ino, second.st_ino, "step03-chroot: bin/again's inode (the same file as bin/probe)")
    }

    func testSetuidFilesAreKeptWhereNoHostUserCanReachThem() throws {
        let image = try assertAccepted(try tarball("setuid.tar", probeMode: 0o4755))
        var info = stat()
        XCTAssertEqual(lstat(image + "/bin/probe", &info), 0, "step03-chroot: lstat of the unpacked bin/probe")
        XCTAssertEqual(info.st_mode & 0o7777, 0o4755, "step03-chroot: bin/probe's mode (setuid kept for the container)")
        for path in [image + "/bin/probe", image + "/bin"] {
            let asNobody = try runTool("/usr/bin/setpriv", ["--reuid", "65534", "--regid", "65534", "--clear-groups", "--",
                                                            "/usr/bin/stat", "-c", "%a", path])
            XCTAssertNotEqual(asNobody.status, 0, "host uid 65534: exit status of stat \(path) (refused): \(asNobody.stdout)")
            expect(asNobody.stderr.contains("Permission denied"), step: "host uid 65534", property: "stat \(path)",
                   expected: "Permission denied (the image directory is 0700)", seen: asNobody.stderr)
        }
        // Through a shell: setpriv keeps root's capabilities up to its own execve, so the file must
        // be exec'd by a process that already is only uid 65534.
        let run = try runTool("/usr/bin/setpriv", ["--reuid", "65534", "--regid", "65534", "--clear-groups", "--",
                                                   "/bin/sh", "-c", "exec \"$0\"", image + "/bin/probe"])
        XCTAssertNotEqual(run.stdout, "euid=0\n", "host uid 65534: the image's setuid-root probe's output (it must not run as root)")
        XCTAssertNotEqual(run.status, 0, "host uid 65534: exit status of exec'ing the image's setuid probe (refused): \(run.stderr)")
    }

    func testFileCapabilitiesAreLeftOut() throws {
        // A v2 security.capability value granting cap_setuid (bit 7) permitted and effective.
        let capability: [UInt8] = [0x01, 0x00, 0x00, 0x02, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        let path = try tarball("capability.tar") { tar in
            tar.add("bin/cap", mode: 0o755, data: probeBinary, pax: [("SCHILY.xattr.security.capability", capability),
                                                                      ("SCHILY.xattr.user.note", Array("x".utf8))])
        }
        let image = try assertAccepted(path, notes: ["left out the extended attributes of 1 entry of /", "capability.tar, file capabilities on 1"], lines: 1)
        XCTAssertEqual(systemGetxattr(image + "/bin/cap", "security.capability", nil, 0), -1, "step03-chroot: getxattr security.capability of bin/cap (none)")
        XCTAssertEqual(errno, ENODATA, "step03-chroot: getxattr security.capability's errno (ENODATA: no file capability)")
        XCTAssertEqual(systemGetxattr(image + "/bin/cap", "user.note", nil, 0), -1, "step03-chroot: getxattr user.note of bin/cap (none)")
    }

    func testDeviceNodesAndFIFOsAreNeverCreated() throws {
        let path = try tarball("devices.tar") { tar in
            tar.add("mem", .character, mode: 0o666, device: (1, 1))
            tar.add("disk", .block, mode: 0o666, device: (8, 0))
            tar.add("pipe", .fifo, mode: 0o666)
        }
        let image = try assertAccepted(path, notes: ["left out 1 FIFO, 2 device nodes of /", "devices.tar: an image never brings its own devices"], lines: 1)
        for name in ["mem", "disk", "pipe"] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: image + "/" + name), "step03-chroot: the image's /\(name): expected not created, saw it exists")
        }
    }

    func testIDsOutsideTheMappedRangeAreRefusedNotWrapped() throws {
        let wrap = try tarball("uid-wrap.tar") { $0.add("bin/root-after-wrap", uid: 4_294_867_296, data: [1]) }
        try assertRefused(wrap, step: "step08-seccomp", saying: "uid 4294867296 is outside the ids an image may use (0-65535)")
        let negative = try tarball("uid-negative.tar") { $0.add("bin/negative", uid: -100_000, data: [1]) }
        try assertRefused(negative, step: "step07-userns", saying: "uid -100000 is outside")
        try assertRefused(negative, step: "step03-chroot", saying: "uid -100000 is outside")
        let gid = try tarball("gid-high.tar") { $0.add("bin/gid", gid: 70_000, data: [1]) }
        try assertRefused(gid, step: "step07-userns", saying: "gid 70000 is outside")
    }

    func testShiftedImageIDsStayInTheMappedRange() throws {
        let path = try tarball("ids.tar") { $0.add("bin/owned", uid: 65_535, gid: 1000, data: [1]) }
        let image = try assertAccepted(path, step: "step07-userns")
        var info = stat()
        XCTAssertEqual(lstat(image + "/bin/owned", &info), 0, "step07-userns: lstat of the unpacked bin/owned")
        XCTAssertEqual(info.st_uid, 165_535, "step07-userns: bin/owned's uid on the host (65535 shifted by 100000)")
        XCTAssertEqual(info.st_gid, 101_000, "step07-userns: bin/owned's gid on the host (1000 shifted by 100000)")
    }

    func testSidecarTextNeverBecomesTheImageName() throws {
        let path = try tarball("sidecar-dotdot.tar")
        try "../../../../../../../..".write(toFile: path + ".sha256", atomically: true, encoding: .utf8)
        try assertRefused(path, saying: "is not a checksum file")
        try "\(String(repeating: "g", count: 64))  sidecar-dotdot.tar\n".write(toFile: path + ".sha256", atomically: true, encoding: .utf8)
        try assertRefused(path, saying: "is not a checksum file")
    }

    func testBareHashSidecarIsAccepted() throws {
        let path = try tarball("bare.tar")
        try (try sha256(path) + "\n").write(toFile: path + ".sha256", atomically: true, encoding: .utf8)
        let image = try assertAccepted(path)
        XCTAssertEqual(lastComponent(image), try sha256(path), "step03-chroot: the cache name of an image with a bare-hash sidecar (its SHA-256)")
    }

    func testSha256sumSidecarFormatsAreAccepted() throws {
        let path = try tarball("binary-mode.tar")
        try "\(try sha256(path).uppercased()) *binary-mode.tar\n".write(toFile: path + ".sha256", atomically: true, encoding: .utf8)
        try assertAccepted(path)
        let listed = try tarball("listed.tar") { $0.add("etc/listed", data: [2]) }
        try "\(String(repeating: "0", count: 64))  other.tar\n\(try sha256(listed))  ./dir/listed.tar\n"
            .write(toFile: listed + ".sha256", atomically: true, encoding: .utf8)
        try assertAccepted(listed)
    }

    func testWrongChecksumIsRefused() throws {
        let path = try tarball("wrong.tar")
        try "\(String(repeating: "0", count: 64))  wrong.tar\n".write(toFile: path + ".sha256", atomically: true, encoding: .utf8)
        try assertRefused(path, saying: "checksum mismatch")
    }

    func testNonRegularSidecarIsRefusedWithoutHanging() throws {
        let path = try tarball("fifo-sidecar.tar")
        XCTAssertEqual(mkfifo(path + ".sha256", 0o644), 0, "test setup: mkfifo \(path).sha256")
        try assertRefused(path, saying: "fifo-sidecar.tar.sha256 is a FIFO, not a regular file")
    }

    func testNamesAreEscapedWhenPrinted() throws {
        let path = try tarball("terminal.tar") { tar in
            tar.add("x\nstep03-chroot: forged line\u{1b}[2J", .hardlink, link: "nowhere")
        }
        try assertRefused(path, saying: "'x\\nstep03-chroot: forged line\\e[2J'")
        let latin1 = try tarball("latin1.tar") { $0.add("", .hardlink, link: "nowhere", rawName: [0x63, 0xe9, 0x9b, 0x32, 0x4a]) }
        try assertRefused(latin1, saying: "'c\\xe9\\x9b2J'")
    }

    func testNonUTF8NamesUnpackByteForByte() throws {
        let name: [UInt8] = [0x63, 0x61, 0x66, 0xe9]   // "café" in Latin-1
        let image = try assertAccepted(try tarball("latin1-good.tar") { $0.add("", data: [1], rawName: name) })
        let path = Array((image + "/").utf8) + name + [0]
        var info = stat()
        let found = path.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { lstat($0, &info) }
        }
        XCTAssertEqual(found, 0, "the Latin-1 name is on disk byte for byte")
    }

    // MARK: data loss and leftovers

    func testAFullDiskCachesNothingAndTheNextRunWorks() throws {
        var random = [UInt8](repeating: 0, count: 1 << 20)
        for i in random.indices { random[i] = UInt8.random(in: 0...255) }
        let path = try tarball("big.tar") { $0.add("big", data: random) }
        let step = binaryDirectory.appendingPathComponent("step03-chroot").path
        // A small tmpfs as WORKSHOP_HOME, in a mount namespace of its own: gone when the shell ends.
        let script = """
        mount -t tmpfs -o size=600k tmpfs "$H" || exit 99
        "$STEP" -q --rootfs "$T" -- /bin/probe; echo "first=$?"
        echo "images=[$(ls -A "$H/images" | tr '\\n' ' ')]"
        mount -o remount,size=64m "$H"
        "$STEP" -q --rootfs "$T" -- /bin/probe; echo "second=$?"
        """
        var env = ProcessInfo.processInfo.environment
        env["H"] = home; env["STEP"] = step; env["T"] = path
        env["WORKSHOP_HOME"] = home; env["WORKSHOP_CGROUP_PARENT"] = testCgroupParent
        let result = try runTool("/usr/bin/unshare", ["-m", "--propagation", "private", "/bin/sh", "-c", script], environment: env)
        expect(result.stdout.contains("first=125"), step: step, property: "exit status on a full disk", expected: "first=125",
               seen: result.stdout + result.stderr)
        expect(result.stderr.contains("No space left on device"), step: step, property: "the error on a full disk",
               expected: "No space left on device", seen: result.stderr)
        expect(result.stdout.contains("images=[.lock ]"), step: step, property: "the image cache after a full disk",
               expected: "images=[.lock ] (nothing cached)", seen: result.stdout)
        expect(result.stdout.contains("euid=0\nsecond=0"), step: step, property: "a run after space was freed",
               expected: "euid=0 and second=0", seen: result.stdout + result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(step): lines on stderr on a full disk (one clear line): \(result.stderr)")
    }

    func testFileFlagsFromAnImageAreNotApplied() throws {
        // The immutable flag, then a refused entry: the half image must still be removable.
        let refused = try tarball("immutable-refused.tar") { tar in
            tar.add("bin/locked", data: [1], pax: [("SCHILY.fflags", Array("schg,uappnd".utf8))])
            tar.add("bin/bad", .hardlink, link: "nowhere")
        }
        try assertRefused(refused, saying: "refusing tarball entry 'bin/bad'")
        try assertRefused(refused, saying: "refusing tarball entry 'bin/bad'")   // again: no "File exists"
        let image = try assertAccepted(try tarball("immutable.tar") { tar in
            tar.add("bin/locked", data: [1], pax: [("SCHILY.fflags", Array("schg".utf8))])
        })
        let flags = try runTool("/usr/bin/lsattr", ["-d", image + "/bin/locked"])
        XCTAssertEqual(flags.status, 0, "test: lsattr's exit status: \(flags.stderr)")
        expect(!flags.stdout.prefix(while: { $0 != " " }).contains("i"), step: "step03-chroot", property: "bin/locked's file flags (lsattr)",
               expected: "no i (the image's immutable flag not applied)", seen: flags.stdout)
    }

    func testAStaleUnpackIsRemovedEvenWithOddModesAndFlags() throws {
        let images = home + "/images"
        let stale = images + "/.tmp-" + String(repeating: "a", count: 64)
        try FileManager.default.createDirectory(atPath: stale + "/deep/er", withIntermediateDirectories: true)
        try "x".write(toFile: stale + "/deep/er/locked", atomically: true, encoding: .utf8)
        let chattr = try runTool("/usr/bin/chattr", ["+i", stale + "/deep/er/locked"])
        XCTAssertEqual(chattr.status, 0, "this file system cannot set the immutable flag: \(chattr.stderr)")
        chmod(stale + "/deep/er", 0)
        chmod(stale + "/deep", 0o500)
        try assertAccepted(try tarball("after-stale.tar"), notes: ["removed 1 unfinished image left by an unpack that was stopped"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale), "step03-chroot: the stale unpack \(stale): expected removed, saw it still there")
    }

    func testADeepTreeInTheLayerIsRemovedAndNoFalseReport() throws {
        let script = "i=0; while [ $i -lt 1500 ]; do mkdir d && cd d || exit 1; i=$((i+1)); done; echo deep"
        let result = try start("step03-chroot", ["--", "/bin/sh", "-c", "cd /tmp && " + script],
                               environment: ["WORKSHOP_HOME": home]).wait(timeout: 120)
        XCTAssertEqual(result.status, 0, "step03-chroot: exit status of a 1500-level mkdir: \(result.stderr)")
        XCTAssertEqual(result.stdout, "deep\n", "step03-chroot: the script's output")
        XCTAssertEqual(withoutCopyNote(result.stderr), "", "step03-chroot: stderr after removing a 1500-level layer (nothing: it was removed)")
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: home + "/containers")) ?? [], [], "step03-chroot: run directories left")
        let next = try start("step03-chroot", ["--", "/bin/true"], environment: ["WORKSHOP_HOME": home]).wait()
        XCTAssertEqual(next.status, 0, "step03-chroot: exit status of the next run: \(next.stderr)")
        expect(!next.stderr.contains("removed"), step: "step03-chroot", property: "the next run's stderr",
               expected: "no report of a removal (nothing was left)", seen: next.stderr)
    }

    func testAStaleRunDirectoryIsReportedTruthfully() throws {
        let containers = home + "/containers"
        var path = containers + "/0123456789ab"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        // Deeper than PATH_MAX, built with relative mkdirs.
        let fd = open(path, O_RDONLY | O_DIRECTORY)
        var current = fd
        for _ in 0..<1500 {
            XCTAssertEqual(mkdirat(current, "level", 0o755), 0, "test setup: mkdirat level (a tree deeper than PATH_MAX)")
            let next = openat(current, "level", O_RDONLY | O_DIRECTORY)
            close(current)
            current = next
        }
        close(current)
        path = containers
        let image = try tarball("stale-run.tar")
        let result = try runImage(image)
        XCTAssertEqual(result.status, 0, "step03-chroot: exit status with a stale run directory: \(result.stderr)")
        XCTAssertEqual(result.stderr, "workshop: removed 1 run directory left by a runtime that was killed\n", "step03-chroot: what it said about the stale run")
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? ["?"], [], "step03-chroot: run directories left")
        let next = try runImage(image)
        XCTAssertEqual(next.stdout, "euid=0\n", "step03-chroot: the next run's probe output")
        XCTAssertEqual(next.stderr, "", "nothing left to remove: nothing to report")
    }

    // MARK: hangs and denial of service

    func testTenThousandLevelsAreRefusedAtOnce() throws {
        // The levels up to the limit and a little past it (the rest of a 10,000-level archive
        // is never read), then the 10,000th: without the limit, libarchive would make each level.
        var tar = TarWriter()
        goodEntries(&tar)
        var name = "bin"
        for _ in 0..<200 {
            name += "/d"
            tar.add(name, .directory, mode: 0o755)
        }
        tar.add("bin" + String(repeating: "/d", count: 10_000), data: [1])
        let path = work + "/deep.tar.gz"
        try compress(tar.archive, .gzip, to: path)
        let start = Date()
        try assertRefused(path, saying: "more than 128 directory levels")
        print("deep archive refused in \(Int(Date().timeIntervalSince(start) * 1000)) ms (with the good run after it)")
        let long = try tarball("long.tar") { $0.add(String(repeating: "x", count: 200) + String(repeating: "/" + String(repeating: "y", count: 200), count: 20), data: [1]) }
        try assertRefused(long, saying: "path longer than 4095 bytes")
    }

    func testDeepButReasonableTreesUnpack() throws {
        var tar = TarWriter()
        goodEntries(&tar)
        var name = "bin"
        for _ in 0..<120 {
            name += "/d"
            tar.add(name, .directory, mode: 0o755)
            tar.add(name + "/f", data: [1])
        }
        let path = work + "/deep-ok.tar"
        try compress(tar.archive, .none, to: path)
        let image = try assertAccepted(path)
        XCTAssertTrue(FileManager.default.fileExists(atPath: image + "/" + name + "/f"), "step03-chroot: the deep file \(name)/f: expected unpacked, saw it missing")
    }

    func testDevZeroAndFIFOsAsRootfsAreRefused() throws {
        try assertRefused("/dev/zero", saying: "rootfs /dev/zero is a character device, not a regular file")
        let fifo = work + "/image.tar"
        XCTAssertEqual(mkfifo(fifo, 0o644), 0, "test setup: mkfifo \(fifo)")
        try assertRefused(fifo, saying: "is a FIFO, not a regular file")
    }

    func testAZeroBombStopsAtTheSizeLimit() throws {
        let path = try tarball("bomb.tar.gz", .gzip) { $0.add("zeros", data: [UInt8](repeating: 0, count: 16 << 20)) }
        try assertRefused(path, saying: "unpacks to more than 1 MiB (at 'zeros')", environment: ["WORKSHOP_IMAGE_MAX_BYTES": "1m"])
    }

    func testAHugeDeclaredSizeIsRefusedBeforeItIsRead() throws {
        var tar = TarWriter()
        goodEntries(&tar)
        tar.add("huge", declaredSize: 3 << 30)
        let path = work + "/huge.tar"
        try compress(tar.bytes + [UInt8](repeating: 0, count: 4096), .none, to: path)
        try assertRefused(path, saying: "unpacks to more than 2 GiB (at 'huge')")
    }

    func testABadSizeLimitIsOneLine() throws {
        try assertRefused(try tarball("limit.tar"), saying: "WORKSHOP_IMAGE_MAX_BYTES wants a size",
                          environment: ["WORKSHOP_IMAGE_MAX_BYTES": "lots"])
    }

    // MARK: unclear input

    func testAnEmptyFileIsNotAnImage() throws {
        XCTAssertTrue(FileManager.default.createFile(atPath: work + "/empty.tar.gz", contents: Data()), "test setup: create \(work)/empty.tar.gz")
        try assertRefused(work + "/empty.tar.gz", saying: "empty.tar.gz is empty: not an image")
    }

    func testATextFileIsNotAnImage() throws {
        // A passwd file: libarchive with every format on reads it as an mtree listing.
        try "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
            .write(toFile: work + "/passwd", atomically: true, encoding: .utf8)
        try assertRefused(work + "/passwd", saying: "an image is a tar archive")
        try compress(Array("just text\n".utf8), .gzip, to: work + "/text.gz")
        try assertRefused(work + "/text.gz", saying: "an image is a tar archive")
    }

    func testAnArchiveWithoutFilesIsNotAnImage() throws {
        try compress(TarWriter().archive, .gzip, to: work + "/nothing.tar.gz")
        try assertRefused(work + "/nothing.tar.gz", saying: "nothing.tar.gz holds no files: not an image")
        let onlyDevices = try tarball("only-devices.tar", good: false) { $0.add("null", .character, mode: 0o666, device: (1, 3)) }
        try assertRefused(onlyDevices, saying: "only-devices.tar holds no files")
        let onlyRoot = try tarball("only-root.tar", good: false) { $0.add("./", .directory, mode: 0o755) }
        try assertRefused(onlyRoot, saying: "only-root.tar holds no files")
    }

    func testEveryCompressionTheKitNamesWorks() throws {
        for (compression, name) in [(Compression.none, "plain.tar"), (.gzip, "g.tar.gz"), (.bzip2, "b.tar.bz2"),
                                    (.xz, "x.tar.xz"), (.zstd, "z.tar.zst")] {
            try assertAccepted(try tarball(name, compression))
        }
    }

    func testOddButHarmlessPathsAreCleaned() throws {
        let image = try assertAccepted(try tarball("dots.tar") { tar in
            tar.add("./", .directory, mode: 0o755)
            tar.add("./etc//./deep/", .directory, mode: 0o755)
            tar.add("etc/deep/./file", data: Array("ok".utf8))
        })
        XCTAssertEqual(try String(contentsOfFile: image + "/etc/deep/file", encoding: .utf8), "ok", "step03-chroot: etc/deep/file from odd paths (cleaned)")
    }

    func testAWorkshopHomeWithCommaAndColonWorks() throws {
        home = work + "/odd,home:dir"
        let result = try runImage(try tarball("odd-home.tar"))
        XCTAssertEqual(result.status, 0, "step03-chroot with WORKSHOP_HOME \(home): exit status: \(result.stderr)")
        XCTAssertEqual(result.stdout, "euid=0\n", "step03-chroot with WORKSHOP_HOME \(home): the probe's output")
    }

    // MARK: issue 11, item 4: no host user reaches an image or a run's layer

    func testHostUsersCannotReachARunningContainersLayer() throws {
        for step in ["step06-capabilities", "step08-seccomp"] {
            let before = Set((try? FileManager.default.contentsOfDirectory(atPath: testHome + "/containers")) ?? [])
            let running = try start(step, ["--", "/bin/sh", "-c",
                                           "cp /bin/busybox /tmp/suid && chmod 4755 /tmp/suid && echo ready && sleep 30"])
            guard let pid = running.containerPID() else { XCTFail("\(step) did not start"); continue }
            var ready = false
            for _ in 0..<200 where !ready {
                ready = (try? runTool("/bin/cat", ["/proc/\(pid)/root/tmp/suid"]))?.status == 0
                usleep(20_000)
            }
            let id = Set((try? FileManager.default.contentsOfDirectory(atPath: testHome + "/containers")) ?? []).subtracting(before).first ?? "?"
            let layerFile = testHome + "/containers/\(id)/upper/tmp/suid"
            var info = stat()
            XCTAssertEqual(lstat(layerFile, &info), 0, "\(step): root sees the setuid file in the layer")
            XCTAssertEqual(info.st_mode & 0o7000, 0o4000, "\(step): the setuid bit of the file in the layer, as root sees it")
            for path in [layerFile, "/proc/\(pid)/root/tmp/suid"] {
                let asNobody = try runTool("/usr/bin/setpriv", ["--reuid", "65534", "--regid", "65534", "--clear-groups", "--",
                                                                "/usr/bin/stat", "-c", "%a", path])
                XCTAssertNotEqual(asNobody.status, 0, "\(step): host uid 65534 reached \(path)")
                expect(asNobody.stderr.contains("Permission denied"), step: step, property: "host uid 65534 reading \(path)",
                       expected: "Permission denied", seen: asNobody.stderr)
            }
            _ = stopContainer(running, pid)
        }
    }

    // MARK: offline, as a new learner would

    func testAGivenAlpineTarballIsKeptForLaterRuns() throws {
        let first = try start("step03-chroot", ["--", "cat", "/etc/alpine-release"],
                              environment: ["WORKSHOP_HOME": home]).wait()
        XCTAssertEqual(first.status, 0, "step03-chroot with WORKSHOP_ALPINE_TARBALL: exit status: \(first.stderr)")
        let kept = home + "/downloads/" + lastComponent(alpineTarball)
        XCTAssertTrue(FileManager.default.fileExists(atPath: kept), "step03-chroot: the kept copy \(kept): expected there, saw it missing")
        // Now without WORKSHOP_ALPINE_TARBALL (empty is unset) and without a network.
        let later = try start("step03-chroot", ["--", "cat", "/etc/alpine-release"],
                              environment: ["WORKSHOP_HOME": home, "WORKSHOP_ALPINE_TARBALL": "",
                                            "ALPINE_MIRROR": work + "/no-mirror"]).wait()
        XCTAssertEqual(later.status, 0, "step03-chroot without WORKSHOP_ALPINE_TARBALL: exit status: \(later.stderr)")
        XCTAssertEqual(later.stdout, "3.20.3\n", "step03-chroot without WORKSHOP_ALPINE_TARBALL: /etc/alpine-release")
        XCTAssertEqual(later.stderr, "", "no download, no fallback")
    }

    func testTheBusyboxFallbackIsBuiltOnceAndAnnouncedEveryRun() throws {
        let offline = ["WORKSHOP_HOME": home, "WORKSHOP_ALPINE_TARBALL": "", "ALPINE_MIRROR": work + "/no-mirror"]
        let first = try start("step03-chroot", ["--", "cat", "/etc/os-release"], environment: offline).wait(timeout: 120)
        XCTAssertEqual(first.status, 0, "step03-chroot offline, no tarball: exit status: \(first.stderr)")
        expect(first.stdout.contains("BusyBox fallback"), step: "step03-chroot offline", property: "/etc/os-release",
               expected: "the BusyBox fallback's", seen: first.stdout)
        XCTAssertTrue(first.stderr.contains("WORKSHOP_ALPINE_TARBALL"), "the download error names it: \(first.stderr)")
        let second = try start("step03-chroot", ["--", "cat", "/etc/os-release"], environment: offline).wait()
        XCTAssertEqual(second.status, 0, "step03-chroot offline, second run: exit status: \(second.stderr)")
        let lines = second.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "one line, no second download or build: \(second.stderr)")
        expect(second.stderr.contains("using the BusyBox fallback root, not Alpine") && second.stderr.contains("WORKSHOP_ALPINE_TARBALL"),
               step: "step03-chroot offline, second run", property: "what it says", expected: "that it uses the BusyBox fallback, not Alpine, and how to get Alpine (WORKSHOP_ALPINE_TARBALL)",
               seen: second.stderr)
    }
}

/// Without the one line a first run with a given Alpine tarball says (it keeps a copy in downloads/).
private func withoutCopyNote(_ text: String) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false)
        .filter { !$0.hasPrefix("workshop: kept a copy of alpine-minirootfs") }.joined(separator: "\n")
}

/// getxattr(2), which Glibc's Swift module does not export.
@_silgen_name("getxattr")
private func systemGetxattr(_ path: UnsafePointer<CChar>, _ name: UnsafePointer<CChar>, _ value: UnsafeMutableRawPointer?,
                            _ size: Int) -> Int

private func lastComponent(_ path: String) -> String { (path as NSString).lastPathComponent }
