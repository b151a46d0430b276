import CArchive
import Foundation
import XCTest
@testable import Workshop

/// This machine's Alpine tarball (named after uname -m, as Alpine names its builds):
/// $WORKSHOP_ALPINE_TARBALL, or ../shared/rootfs beside the checkout.
let alpineTarball: String = {
    if let path = ProcessInfo.processInfo.environment["WORKSHOP_ALPINE_TARBALL"], !path.isEmpty { return path }
    return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("shared/rootfs/" + Alpine.tarballName).path
}()

/// The SHA-256 the kit pins for this machine's Alpine tarball, or a failure that says there is none.
func pinnedAlpineChecksum(file: StaticString = #filePath, line: UInt = #line) throws -> String {
    try XCTUnwrap(Alpine.knownChecksums[Alpine.tarballName],
                  "Alpine.knownChecksums: a pinned SHA-256 for \(Alpine.tarballName) (uname -m: \(Alpine.architecture)): "
                    + "expected one, saw only \(Alpine.knownChecksums.keys.sorted())", file: file, line: line)
}

/// An entry of a tarball built by the test.
enum Entry {
    case file(String, String)
    case directory(String)
    case symlink(String, to: String)
    case hardlink(String, to: String)
}

/// Writes a .tar.gz with libarchive's writer, and its .sha256 beside it (so the
/// checksum passes and the extraction itself is what must refuse it).
func makeTarball(_ path: String, _ entries: [Entry]) throws {
    let writer = archive_write_new()
    defer { archive_write_free(writer) }
    archive_write_set_format_pax_restricted(writer)
    archive_write_add_filter_gzip(writer)
    XCTAssertEqual(archive_write_open_filename(writer, path), ARCHIVE_OK, "test setup: libarchive opening \(path) for writing")
    for item in entries {
        let entry = archive_entry_new()
        defer { archive_entry_free(entry) }
        var data = ""
        switch item {
        case let .file(name, content):
            archive_entry_set_pathname(entry, name)
            archive_entry_set_filetype(entry, 0o100000)
            archive_entry_set_perm(entry, 0o644)
            archive_entry_set_size(entry, Int64(content.utf8.count))
            data = content
        case let .directory(name):
            archive_entry_set_pathname(entry, name)
            archive_entry_set_filetype(entry, 0o040000)
            archive_entry_set_perm(entry, 0o755)
        case let .symlink(name, target):
            archive_entry_set_pathname(entry, name)
            archive_entry_set_filetype(entry, 0o120000)
            archive_entry_set_symlink(entry, target)
            archive_entry_set_perm(entry, 0o777)
        case let .hardlink(name, target):
            archive_entry_set_pathname(entry, name)
            archive_entry_set_filetype(entry, 0o100000)
            archive_entry_set_hardlink(entry, target)
            archive_entry_set_perm(entry, 0o644)
        }
        XCTAssertEqual(archive_write_header(writer, entry), ARCHIVE_OK, "test setup: libarchive writing an entry's header in \(path)")
        if !data.isEmpty { _ = data.withCString { archive_write_data(writer, $0, data.utf8.count) } }
    }
    archive_write_close(writer)
    try "\(try SHA256.of(file: path))  \(URL(fileURLWithPath: path).lastPathComponent)\n"
        .write(toFile: path + ".sha256", atomically: true, encoding: .utf8)
}

final class RootfsTests: XCTestCase {
    var home = ""

    override func setUpWithError() throws {
        home = NSTemporaryDirectory() + "workshop-rootfs-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        setenv("WORKSHOP_HOME", home, 1)
    }

    override func tearDownWithError() throws {
        unsetenv("WORKSHOP_HOME")
        try? FileManager.default.removeItem(atPath: home)
    }

    /// Nothing half-unpacked anywhere in the cache.
    private func assertNoImages(file: StaticString = #filePath, line: UInt = #line) {
        let images = (try? FileManager.default.contentsOfDirectory(atPath: home + "/images")) ?? []
        XCTAssertEqual(images.filter { $0 != ".lock" }, [], "images left behind", file: file, line: line)
    }

    func testAlpineUnpacks() throws {
        let start = Date()
        let image = try Image.prepare(rootfs: alpineTarball)
        let cold = Date().timeIntervalSince(start)
        XCTAssertNotNil(image.unpackMilliseconds, "Image.prepare(Alpine) into an empty cache: unpackMilliseconds (it unpacked)")
        XCTAssertEqual(try String(contentsOfFile: image.path + "/etc/alpine-release", encoding: .utf8), "3.20.3\n",
                       "Image.prepare(Alpine): the unpacked /etc/alpine-release")
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: image.path + "/bin/busybox"),
                      "Image.prepare(Alpine): /bin/busybox in \(image.path): expected executable, saw it missing or not executable")
        let pinned = try pinnedAlpineChecksum()
        XCTAssertTrue(image.path.hasSuffix("/images/" + pinned),
                      "Image.prepare(Alpine): the cache directory: expected .../images/\(pinned) (the pinned SHA-256), saw \(image.path)")
        print("cold prepare of the Alpine tarball: \(Int(cold * 1000)) ms")
    }

    /// libarchive sets directory modes and times when the writer closes, by relative path:
    /// they must land in the image, not in whatever directory the runtime was started from.
    func testDirectoryModesLandInTheImageNotInTheCallersDirectory() throws {
        let caller = home + "/caller"
        for name in ["tmp", "root", "etc"] {
            try FileManager.default.createDirectory(atPath: caller + "/" + name, withIntermediateDirectories: true)
            XCTAssertEqual(chmod(caller + "/" + name, 0o750), 0, "test setup: chmod \(caller)/\(name)")
        }
        let past = [timespec(tv_sec: 1_000_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000_000, tv_nsec: 0)]
        XCTAssertEqual(utimensat(AT_FDCWD, caller + "/etc", past, 0), 0, "test setup: utimensat \(caller)/etc")
        let saved = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(caller), "test setup: chdir \(caller)")
        defer { _ = FileManager.default.changeCurrentDirectoryPath(saved) }

        let image = try Image.prepare(rootfs: alpineTarball)
        func mode(_ path: String) -> mode_t {
            var info = stat()
            XCTAssertEqual(lstat(path, &info), 0, "lstat \(path)")
            return info.st_mode & 0o7777
        }
        XCTAssertEqual(mode(image.path + "/tmp"), 0o1777, "the image's /tmp must be sticky and world-writable")
        XCTAssertEqual(mode(image.path + "/root"), 0o700, "Image.prepare(Alpine): the image's /root mode (from the tarball)")
        for name in ["tmp", "root", "etc"] { XCTAssertEqual(mode(caller + "/" + name), 0o750, "the caller's \(name) changed") }
        var info = stat()
        XCTAssertEqual(lstat(caller + "/etc", &info), 0, "lstat \(caller)/etc")
        XCTAssertEqual(info.st_mtim.tv_sec, 1_000_000_000, "the caller's etc got the image's mtime")
    }

    func testSecondPrepareUsesTheCache() throws {
        let first = try Image.prepare(rootfs: alpineTarball)
        let start = Date()
        let second = try Image.prepare(rootfs: alpineTarball)
        let cached = Date().timeIntervalSince(start)
        XCTAssertEqual(first.path, second.path, "Image.prepare(Alpine) twice: the image directory (the same cached one)")
        XCTAssertNil(second.unpackMilliseconds, "the second prepare unpacked again")
        print("cached prepare: \(String(format: "%.2f", cached * 1000)) ms")
    }

    func testShiftedImageIsOwnedByTheMappedUser() throws {
        let image = try Image.prepare(rootfs: alpineTarball, ownerShift: 100_000)
        XCTAssertTrue(image.path.hasSuffix("-uid100000"),
                      "Image.prepare(Alpine, ownerShift: 100000): the cache name: expected a -uid100000 suffix, saw \(image.path)")
        for path in ["", "/bin/busybox", "/etc/passwd"] {
            var info = stat()
            XCTAssertEqual(lstat(image.path + path, &info), 0, "lstat \(image.path)\(path)")
            XCTAssertEqual(info.st_uid, 100_000, "Image.prepare(Alpine, ownerShift: 100000): the owner of \(path.isEmpty ? "/" : path)")
        }
    }

    func testWrongChecksumIsRefused() throws {
        let copy = home + "/custom.tar.gz"
        try FileManager.default.copyItem(atPath: alpineTarball, toPath: copy)
        try "\(String(repeating: "0", count: 64))  custom.tar.gz\n".write(toFile: copy + ".sha256", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Image.prepare(rootfs: copy), "Image.prepare of a tarball whose .sha256 does not match: expected an error, saw none") { error in
            XCTAssertTrue("\(error)".contains("checksum mismatch"), "Image.prepare with a wrong .sha256: the error: expected 'checksum mismatch', saw \(error)")
        }
        assertNoImages()
        // A file with the default Alpine name must match the checksum the kit knows, whatever its .sha256 says.
        let impostor = home + "/" + Alpine.tarballName
        try makeTarball(impostor, [.file("etc/alpine-release", "3.20.3\n")])
        XCTAssertThrowsError(try Image.prepare(rootfs: impostor), "Image.prepare of an impostor named \(Alpine.tarballName): expected an error, saw none") { error in
            XCTAssertTrue("\(error)".contains("refusing"), "Image.prepare of an impostor \(Alpine.tarballName): the error: expected 'refusing', saw \(error)")
        }
        assertNoImages()
    }

    func testMaliciousTarballsAreRefused() throws {
        let outside = home + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        let marker = outside + "/marker"
        try "untouched".write(toFile: marker, atomically: true, encoding: .utf8)
        let cases: [(String, [Entry], String)] = [
            ("dotdot", [.directory("etc"), .file("etc/../../outside/marker", "overwritten")], "etc/../../outside/marker"),
            ("absolute", [.file(marker, "overwritten")], marker),
            ("symlink", [.symlink("escape", to: outside), .file("escape/marker", "overwritten")], "escape/marker"),
            ("symlink-dir", [.symlink("escape", to: outside), .file("escape/new-file", "written")], "escape/new-file"),
            ("hardlink", [.hardlink("stolen", to: marker)], "stolen"),
            ("hardlink-dotdot", [.hardlink("stolen", to: "../../outside/marker")], "stolen"),
            ("hardlink-symlink", [.symlink("escape", to: outside), .hardlink("stolen", to: "escape/marker")], "stolen"),
        ]
        for (name, entries, entryName) in cases {
            let tarball = home + "/\(name).tar.gz"
            try makeTarball(tarball, entries)
            XCTAssertThrowsError(try Image.prepare(rootfs: tarball), "Image.prepare of the \(name) tarball: expected an error, saw none") { error in
                XCTAssertTrue("\(error)".contains("'\(entryName)'"), "Image.prepare of the \(name) tarball: the error: expected it to name '\(entryName)', saw \(error)")
                XCTAssertFalse("\(error)".contains("\n"), "Image.prepare of the \(name) tarball: the error: expected one line, saw \(error)")
            }
            XCTAssertEqual(try String(contentsOfFile: marker, encoding: .utf8), "untouched", "Image.prepare of the \(name) tarball: the marker outside the image")
            XCTAssertFalse(FileManager.default.fileExists(atPath: outside + "/new-file"),
                           "Image.prepare of the \(name) tarball: \(outside)/new-file: expected none, saw one written outside the image")
            var info = stat()
            XCTAssertEqual(lstat(marker, &info), 0, "lstat \(marker)")
            XCTAssertEqual(info.st_nlink, 1, "Image.prepare of the \(name) tarball: the marker's link count (no hard link made to it)")
            assertNoImages()
        }
    }

    func testAnInterruptedUnpackLeavesNoHalfImage() throws {
        // A truncated tarball fails half-way through.
        let truncated = home + "/truncated.tar.gz"
        let data = try Data(contentsOf: URL(fileURLWithPath: alpineTarball))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: truncated))
        try "\(try SHA256.of(file: truncated))  truncated.tar.gz\n".write(toFile: truncated + ".sha256", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Image.prepare(rootfs: truncated), "Image.prepare of a truncated tarball: expected an error, saw none")
        assertNoImages()
    }
}

final class ImagePlumbingTests: XCTestCase {
    func testChecksumFilesAreParsedStrictly() throws {
        let directory = NSTemporaryDirectory() + "workshop-sidecar-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let hash = String(repeating: "ab", count: 32)
        let sidecar = directory + "/x.tar.sha256"
        func parse(_ text: String) throws -> String? {
            try text.write(toFile: sidecar, atomically: true, encoding: .utf8)
            return try Image.readSidecar(sidecar, for: "x.tar")
        }
        XCTAssertEqual(try parse(hash), hash, "a bare hash")
        XCTAssertEqual(try parse(hash + "\n"), hash, "Image.readSidecar: a bare hash and a newline")
        XCTAssertEqual(try parse(hash.uppercased() + "  x.tar\n"), hash, "sha256sum's format, hex in either case")
        XCTAssertEqual(try parse(hash + " *x.tar\r\n"), hash, "binary mode, CRLF")
        XCTAssertEqual(try parse(String(repeating: "0", count: 64) + "  y.tar\n" + hash + "  dir/x.tar\n"), hash, "the line for this file")
        for bad in ["../../../../../../../..", String(hash.dropLast()), hash + "0", "g" + hash.dropFirst(), "", "\n",
                    hash + "\t x.tar", String(repeating: "0", count: 64) + "  y.tar\n" + hash + "  z.tar\n"] {
            XCTAssertThrowsError(try parse(bad), "Image.readSidecar of '\(printable(bad))': expected an error, saw none") { error in
                XCTAssertFalse("\(error)".contains("\n"), "Image.readSidecar of '\(printable(bad))': the error: expected one line, saw \(error)")
                XCTAssertTrue("\(error)".contains("is not a checksum file"), "Image.readSidecar of '\(printable(bad))': the error: expected 'is not a checksum file', saw \(error)")
            }
        }
        XCTAssertNil(try Image.readSidecar(directory + "/none.sha256", for: "none"), "Image.readSidecar of a missing file (nil: no sidecar)")
    }

    func testNamesArePrintedSafely() {
        XCTAssertEqual(printable("a\nb\u{1b}[2J\tc\\"), "a\\nb\\e[2J\\tc\\\\", "printable: newline, escape, tab, backslash")
        XCTAssertEqual(printable(bytes: [0x63, 0xe9, 0x00, 0x7f, 0xc2, 0x9b]), "c\\xe9\\x00\\x7f\\xc2\\x9b", "bad UTF-8 and C1 controls")
        XCTAssertEqual(printable("café ✓"), "café ✓", "printable: valid UTF-8 kept")
    }

    func testOverlayOptionsKeepCommasAndColonsInPaths() {
        XCTAssertEqual(RunDirectory.escape("/srv/a,b:c\\d"), "/srv/a\\,b\\:c\\\\d", "RunDirectory.escape: overlayfs's , : and \\ escaped")
    }

    /// A tree far deeper than PATH_MAX and than the descriptor limit is still removed.
    func testRemoveTreeHasNoDepthLimit() throws {
        let top = NSTemporaryDirectory() + "workshop-deep-\(getpid())"
        XCTAssertEqual(mkdir(top, 0o755), 0, "test setup: mkdir \(top)")
        var fd = open(top, O_RDONLY | O_DIRECTORY)
        for level in 0..<3000 {
            XCTAssertEqual(mkdirat(fd, "level-directory", 0o755), 0, "test setup: mkdirat level \(level)")
            if level % 100 == 0 { close(openat(fd, "file", O_CREAT | O_WRONLY, 0o644)) }
            let next = openat(fd, "level-directory", O_RDONLY | O_DIRECTORY)
            close(fd)
            fd = next
        }
        close(fd)
        let descriptorsBefore = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
        XCTAssertNoThrow(try removeTree(top), "removeTree of a 3000-level tree")
        XCTAssertFalse(FileManager.default.fileExists(atPath: top), "removeTree of a 3000-level tree: \(top): expected gone, saw it still there")
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0, descriptorsBefore,
                       "removeTree: open descriptors afterwards (none leaked)")
    }
}

final class PlumbingTests: XCTestCase {
    /// fetch-alpine.sh trusts rootfs-scripts/checksums.sha256, the runtime its own copy: one list.
    func testPinnedChecksumsAgreeWithTheScripts() throws {
        let file = packageDirectory + "/rootfs-scripts/checksums.sha256"
        var pinned: [String: String] = [:]
        for line in try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count == 2 else { XCTFail("not sha256sum format: \(line)"); continue }
            pinned[String(fields[1])] = String(fields[0])
        }
        XCTAssertEqual(pinned, Alpine.knownChecksums, "Alpine.knownChecksums vs rootfs-scripts/checksums.sha256 (one list)")
        XCTAssertEqual(try pinnedAlpineChecksum(), try SHA256.of(file: alpineTarball),
                       "the pinned SHA-256 of \(Alpine.tarballName) vs the tarball the tests use (\(alpineTarball))")
    }

    func testSHA256() throws {
        var empty = SHA256()
        XCTAssertEqual(empty.finalize(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "SHA256 of nothing (FIPS 180 test vector)")
        var abc = SHA256()
        abc.update(Array("abc".utf8))
        XCTAssertEqual(abc.finalize(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "SHA256 of 'abc' (FIPS 180 test vector)")
        var long = SHA256()
        for chunk in stride(from: 0, to: 1000, by: 7) { long.update(Array(repeating: UInt8(ascii: "a"), count: min(7, 1000 - chunk))) }
        XCTAssertEqual(long.finalize(), "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3", "SHA256 of 1000 'a's fed in 7-byte pieces")
    }

    func testMemorySizes() {
        XCTAssertEqual(MemorySize(argument: "64m")?.bytes, 64 << 20, "MemorySize(64m) in bytes")
        XCTAssertEqual(MemorySize(argument: "1G")?.bytes, 1 << 30, "MemorySize(1G) in bytes")
        XCTAssertEqual(MemorySize(argument: "8388608")?.bytes, 8 << 20, "MemorySize(8388608) in bytes")
        for bad in ["0", "-5m", "12q", "m", "nan", "1k"] { XCTAssertNil(MemorySize(argument: bad), "MemorySize('\(bad)'): expected nil (refused)") }
    }

    func testCapabilityNames() throws {
        XCTAssertEqual(CapabilitySet.dockerDefault.hex, "00000000a80425fb", "CapabilitySet.dockerDefault as CapEff shows it")
        XCTAssertEqual(try CapabilitySet(["cap_sys_admin"]).mask, 1 << 21, "CapabilitySet(cap_sys_admin): bit 21")
        XCTAssertEqual(try CapabilitySet(["CHECKPOINT_RESTORE"]).mask, 1 << 40, "capabilities above 31 live in the second word")
        XCTAssertThrowsError(try CapabilitySet(["SYS_WIZARD"]), "CapabilitySet(SYS_WIZARD): expected an error, saw none")
        XCTAssertEqual(try CapabilitySet.dockerDefault.dropping(["ALL"]).adding(["NET_RAW"]).mask, 1 << 13, "--cap-drop ALL --cap-add NET_RAW: bit 13 only")
    }

    func testIDMappings() {
        XCTAssertEqual(IDMapping(argument: "0:100000:65536"), IDMapping.workshopDefault, "IDMapping(0:100000:65536)")
        XCTAssertNil(IDMapping(argument: "0:100000"), "IDMapping('0:100000'): expected nil (no count)")
        XCTAssertNil(IDMapping(argument: "0:4294967295:2"), "IDMapping('0:4294967295:2'): expected nil (past the last id)")
        XCTAssertEqual(IDMapping.hostID(of: 1000, in: [.workshopDefault]), 101_000, "IDMapping.hostID of container uid 1000")
        XCTAssertNil(IDMapping.hostID(of: 70000, in: [.workshopDefault]), "IDMapping.hostID of container uid 70000: expected nil (unmapped)")
    }

    func testCommandLineParsing() throws {
        let all: [OptionGroup] = [.output, .namespaces, .filesystem, .resources, .privileges, .users, .security]
        let options = try StepOptions.parse(["-q", "--cpus", "0.5", "--memory=64m", "--cap-add", "sys_admin",
                                             "sh", "-c", "echo --cpus"], groups: all)
        XCTAssertTrue(options.output.quiet, "StepOptions.parse(-q ...): quiet: expected true, saw false")
        XCTAssertEqual(options.resources.cpus, 0.5, "StepOptions.parse(--cpus 0.5): cpus")
        XCTAssertEqual(options.resources.memory?.bytes, 64 << 20, "StepOptions.parse(--memory=64m): bytes")
        XCTAssertEqual(options.privileges.added, ["sys_admin"], "StepOptions.parse(--cap-add sys_admin): the added capabilities")
        XCTAssertEqual(options.command.command, ["sh", "-c", "echo --cpus"], "everything after the command is its own")
        XCTAssertEqual(try StepOptions.parse(["--", "--", "--help"], groups: all).command.command, ["--help"], "StepOptions.parse(-- -- --help): the command")
        // `swift run step05-cgroup -- --stats sh`: SwiftPM 6 passes its "--" on; it is not ours.
        let afterSwiftRun = try StepOptions.parse(["--", "--stats", "-q", "sh"], groups: all)
        XCTAssertTrue(afterSwiftRun.resources.stats, "an option after swift run's leading -- is still an option")
        XCTAssertEqual(afterSwiftRun.command.command, ["sh"], "StepOptions.parse(-- --stats -q sh): the command")
        XCTAssertEqual(try StepOptions.parse(["--", "sh", "--stats"], groups: all).command.command, ["sh", "--stats"], "StepOptions.parse(-- sh --stats): the command keeps its own --stats")
        XCTAssertEqual(try StepOptions.parse([], groups: all).command.command, ["/bin/sh"], "StepOptions.parse(no arguments): the default command")
        XCTAssertEqual(try StepOptions.parse([], groups: all).resources.cpus, 0.1, "the demo's default")
        // An option of a later step is unknown to an earlier one.
        XCTAssertThrowsError(try StepOptions.parse(["--cpus", "1", "true"], groups: [.output, .namespaces]),
                             "StepOptions.parse(--cpus 1) without the resources group: expected a usage error, saw none")
        for bad in [["--hostname", ""], ["--quiet=yes"], ["--cpus", "inf"], ["--pids-limit", "-3"], ["--network", "bridge"],
                    ["--uidmap", "1:100000:10"], ["--security-opt", "apparmor=x"], ["-x"],
                    ["--uidmap", "0:100000:10", "--uidmap", "5:200000:10"], ["--uidmap", "0:100000:10", "--uidmap", "20:100005:10"]] {
            XCTAssertThrowsError(try StepOptions.parse(bad + ["true"], groups: all), "StepOptions.parse(\(bad)): expected a usage error, saw none") { error in
                XCTAssertFalse("\(error)".contains("\n"), "StepOptions.parse(\(bad)): the error: expected one line, saw \(error)")
            }
        }
        let help = StepOptions.help(step: "step05-cgroup", abstract: "A test.", groups: [.output, .resources])
        XCTAssertTrue(help.contains("USAGE: step05-cgroup"), "StepOptions.help(step05-cgroup): expected 'USAGE: step05-cgroup', saw \(help)")
        XCTAssertTrue(help.contains("--pids-limit <n>"), "StepOptions.help(step05-cgroup): expected '--pids-limit <n>', saw \(help)")
        XCTAssertFalse(help.contains("--cap-add"), "step05 has no capability options")
    }
}
