// `workshop check NN --watch`: check, then wait for a save under Sources/my-container and check
// again, as rustlings' watch does. Each check runs as a child (this program without --watch) in a
// process group of its own, so Ctrl-C can end it and everything it started (swift build, swift
// test, the test runner, the steps it runs) before the watcher exits. No dependencies: the
// watcher polls the files' modification times.

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
/// WORKSHOP_WATCH_COMMAND (for the tests) replaces the command with a shell command line.
func watch(_ directory: URL, command: [String], in root: URL) -> Int32 {
    let command = ProcessInfo.processInfo.environment["WORKSHOP_WATCH_COMMAND"].map { ["/bin/sh", "-c", $0] } ?? command
    signal(SIGINT) { _ in interrupted = SIGINT }
    signal(SIGTERM) { _ in interrupted = SIGTERM }
    let shown = directory.path.hasPrefix(root.path + "/") ? String(directory.path.dropFirst(root.path.count + 1)) : directory.path
    while interrupted == 0 {
        let before = fileVersions(under: directory)
        runInOwnGroup(command, in: root)
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

/// Runs `command` in a new process group and waits for it. On SIGINT/SIGTERM the whole group
/// gets SIGINT (what Ctrl-C would have sent it), then SIGKILL if anything is left after 10 s.
func runInOwnGroup(_ command: [String], in directory: URL) {
    fflush(stdout)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
    posix_spawnattr_setpgroup(&attributes, 0)
    var defaults = sigset_t(), empty = sigset_t()
    sigemptyset(&defaults); sigaddset(&defaults, SIGINT); sigaddset(&defaults, SIGTERM)
    sigemptyset(&empty)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setsigmask(&attributes, &empty)
    let previous = FileManager.default.currentDirectoryPath
    _ = FileManager.default.changeCurrentDirectoryPath(directory.path)
    defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
    var arguments = command.map { strdup($0) } + [nil]
    defer { arguments.forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, command[0], nil, &attributes, &arguments, environ)
    guard spawned == 0 else {
        FileHandle.standardError.write(Data("workshop: cannot run \(command[0]): \(String(cString: strerror(spawned)))\n".utf8))
        return
    }
    var status: Int32 = 0
    while waitpid(pid, &status, WNOHANG) == 0 {
        if interrupted != 0 {
            endGroup(pid, leader: pid)
            return
        }
        usleep(50_000)
    }
    // The command is done; a straggler it left in its group (a test's container runtime) goes too.
    if kill(-pid, 0) == 0 { endGroup(pid, leader: nil) }
}

/// SIGINT to the group, up to 10 s to finish (runtimes remove their cgroups and mounts), then SIGKILL.
func endGroup(_ group: pid_t, leader: pid_t?) {
    kill(-group, SIGINT)
    var status: Int32 = 0
    for _ in 0..<200 {
        if let leader, waitpid(leader, &status, WNOHANG) == 0 { usleep(50_000); continue }
        if kill(-group, 0) != 0 { return }   // ESRCH: nobody left in the group
        usleep(50_000)
    }
    kill(-group, SIGKILL)
    if let leader { waitpid(leader, &status, 0) }
}
