// `workshop check NN --watch`: check, then wait for a save under Sources/my-container and check
// again, as rustlings' watch does. Each check runs as a child (this program without --watch), so
// Ctrl-C can end it and everything it started (swift build, swift test, the test runner, the steps
// it runs) before the watcher exits. No dependencies: the watcher polls modification times.

import CLinux
import Foundation

/// What identifies a file's version: a save changes its mtime, an editor's rename its inode.
struct FileVersion: Equatable {
    let modified: timespec
    let size: Int
    let inode: UInt

    static func == (a: FileVersion, b: FileVersion) -> Bool {
        a.modified.tv_sec == b.modified.tv_sec && a.modified.tv_nsec == b.modified.tv_nsec && a.size == b.size && a.inode == b.inode
    }
}

/// Every file under `directory`, with its version.
func fileVersions(under directory: URL) -> [String: FileVersion] {
    var versions: [String: FileVersion] = [:]
    let files = FileManager.default.enumerator(atPath: directory.path)
    while let name = files?.nextObject() as? String {
        let path = directory.path + "/" + name
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
        versions[name] = FileVersion(modified: info.st_mtim, size: Int(info.st_size), inode: UInt(info.st_ino))
    }
    return versions
}

/// How often the watcher looks at the files.
let pollInterval: useconds_t = 300_000

/// Runs `command` now and after every change under `directory`, until SIGINT (exit 0) or SIGTERM.
func watch(_ directory: URL, command: [String], in root: URL) -> Int32 {
    let shown = directory.path.hasPrefix(root.path + "/") ? String(directory.path.dropFirst(root.path.count + 1)) : directory.path
    while interrupted == 0 {
        let before = fileVersions(under: directory)
        _ = runSupervised(command, in: root)
        if interrupted != 0 { break }
        if fileVersions(under: directory) == before {   // else: saved during the run, so check again at once
            print("watching \(shown) for changes: save to check again, Ctrl-C to stop")
            fflush(stdout)
            while interrupted == 0 && fileVersions(under: directory) == before { usleep(pollInterval) }
            if interrupted != 0 { break }
        }
        print("\n\(shown) changed: checking again")
        fflush(stdout)
    }
    print("\nstopped watching")
    return interrupted == SIGINT ? 0 : 128 + interrupted
}

// MARK: - running a check so that Ctrl-C ends all of it

/// PR_SET_CHILD_SUBREAPER from <linux/prctl.h> (the CLinux shim exports only what the steps use).
let prSetChildSubreaper: Int32 = 36

/// Runs `command` (with WORKSHOP_SUPERVISED=1) and waits for it; its exit status, or nil when
/// SIGINT or SIGTERM came first. Then every process it started is ended: Foundation's Process and
/// SwiftPM put their children (swift test, the test runner, the steps the tests run) in process
/// groups of their own, which Ctrl-C at the terminal never reaches. As a child subreaper this
/// process inherits every orphan below it, so "all of them" is simply every descendant.
func runSupervised(_ command: [String], in directory: URL) -> Int32? {
    signal(SIGINT) { _ in interrupted = SIGINT }
    signal(SIGTERM) { _ in interrupted = SIGTERM }
    _ = ws_prctl(prSetChildSubreaper, 1, 0, 0, 0)
    fflush(stdout)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
    var defaults = sigset_t(), empty = sigset_t()
    sigemptyset(&defaults); sigaddset(&defaults, SIGINT); sigaddset(&defaults, SIGTERM)
    sigemptyset(&empty)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setsigmask(&attributes, &empty)
    let previous = FileManager.default.currentDirectoryPath
    _ = FileManager.default.changeCurrentDirectoryPath(directory.path)
    defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
    var arguments = command.map { strdup($0) } + [nil]
    var environment = ProcessInfo.processInfo.environment.merging(["WORKSHOP_SUPERVISED": "1"]) { $1 }
        .map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { (arguments + environment).forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, command[0], nil, &attributes, &arguments, &environment)
    guard spawned == 0 else {
        FileHandle.standardError.write(Data("workshop: cannot run \(command[0]): \(String(cString: strerror(spawned)))\n".utf8))
        return 125
    }
    var result: Int32? = nil
    while result == nil && interrupted == 0 {
        var status: Int32 = 0
        var reaped = waitpid(-1, &status, WNOHANG)
        while reaped > 0 {   // the command, or an orphan it left to us
            if reaped == pid { result = exitCode(status) }
            reaped = waitpid(-1, &status, WNOHANG)
        }
        if result == nil { usleep(20_000) }
    }
    endDescendants()
    return interrupted == 0 ? result : nil
}

/// The wait status as a shell would report it: the exit code, or 128 + the signal.
func exitCode(_ status: Int32) -> Int32 {
    (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
}

/// Every process below this one, from /proc.
func descendants() -> [pid_t] {
    var children: [pid_t: [pid_t]] = [:]
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
        guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { continue }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        if fields.count > 1, let parent = pid_t(fields[1]) { children[parent, default: []].append(pid) }
    }
    var result: [pid_t] = [], queue = [getpid()]
    while let next = queue.popLast() {
        let found = children[next] ?? []
        result += found
        queue += found
    }
    return result
}

/// SIGINT to every descendant (what Ctrl-C would have sent them), up to 10 s to finish (a step
/// runtime removes its cgroup and mounts), then SIGKILL; every one reaped.
func endDescendants() {
    func reapAll() { var status: Int32 = 0; while waitpid(-1, &status, WNOHANG) > 0 {} }
    reapAll()
    var left = descendants()
    for pid in left { kill(pid, SIGINT) }
    for round in 0..<300 where !left.isEmpty {
        if round == 200 { for pid in left { kill(pid, SIGKILL) } }
        usleep(50_000)
        reapAll()
        left = descendants()
    }
}
