import AttackMatrix
import Foundation
import XCTest

/// The package's directory, from this file's path.
let packageDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// Where the tests keep the kit's state, apart from a learner's /var/lib/workshop
/// (WORKSHOP_TEST_HOME gives a second checkout testing at the same time its own).
let testHome = ProcessInfo.processInfo.environment["WORKSHOP_TEST_HOME"] ?? "/var/lib/workshop-tests"

/// The tests' own cgroup parent, apart from the `workshop` group a learner's containers use:
/// neither sweeps the other's groups.
let testCgroupParent = ProcessInfo.processInfo.environment["WORKSHOP_TEST_CGROUP_PARENT"] ?? "workshop-tests"

/// `uname -m`: Alpine names its builds the same way (x86_64, aarch64).
let machineArchitecture: String = {
    var names = utsname()
    uname(&names)
    return withUnsafeBytes(of: names.machine) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
}()

/// This machine's Alpine minirootfs, as the kit names it.
let alpineTarballName = "alpine-minirootfs-3.20.3-\(machineArchitecture).tar.gz"

/// The SHA-256 the kit pins for this machine's Alpine tarball (rootfs-scripts/checksums.sha256, the
/// list the runtime also knows), or a failure that says this architecture has none.
func pinnedAlpineSHA256(file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let list = packageDirectory.appendingPathComponent("rootfs-scripts/checksums.sha256").path
    let text = (try? String(contentsOfFile: list, encoding: .utf8)) ?? ""
    var hash: String?
    for line in text.split(separator: "\n") {
        let fields: [Substring] = line.split(separator: " ", omittingEmptySubsequences: true)
        if fields.count == 2 && String(fields[1]) == alpineTarballName { hash = String(fields[0]) }
    }
    return try XCTUnwrap(hash, "the kit's pinned Alpine tarballs (\(list)): expected one for this machine, \(alpineTarballName) "
                         + "(uname -m: \(machineArchitecture)), saw: \(text.isEmpty ? "no list" : text)", file: file, line: line)
}

/// The Alpine tarball: $WORKSHOP_ALPINE_TARBALL, or ../shared/rootfs beside the checkout (CI),
/// or the copy the kit keeps in its downloads once it was given one (offline set up once).
let alpineTarball: String = {
    if let path = ProcessInfo.processInfo.environment["WORKSHOP_ALPINE_TARBALL"], !path.isEmpty { return path }
    let name = alpineTarballName
    let candidates = [packageDirectory.deletingLastPathComponent().appendingPathComponent("shared/rootfs/" + name).path,
                      testHome + "/downloads/" + name,
                      (ProcessInfo.processInfo.environment["WORKSHOP_HOME"] ?? "/var/lib/workshop") + "/downloads/" + name]
    return candidates.first { FileManager.default.fileExists(atPath: $0) } ?? candidates[0]
}()

/// The built step executables sit beside the test runner (.build/<triple>/debug/).
let binaryDirectory: URL = {
    let runner = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return URL(fileURLWithPath: runner).deletingLastPathComponent()
}()

/// What a finished step printed, and how it ended (AttackMatrix's, so both run tools the same way).
typealias RunResult = Outcome

/// A step running in the background, watched from the host.
final class RunningStep {
    let process: Process
    let stdout = Pipe()
    let stderr = Pipe()
    private var output = Data()
    private var errors = Data()
    private let lock = NSLock()
    private let readersDone = DispatchSemaphore(value: 0)
    private var readersFinished = 0

    init(_ process: Process) {
        self.process = process
        process.standardOutput = stdout
        process.standardError = stderr
    }

    /// Reads both pipes to their end on threads of their own, from when the runtime has started.
    /// (A readabilityHandler can have read a chunk that it has not appended yet when `wait`
    /// collects the output: that lost a refused image's one line now and then.)
    func startReading() {
        for (pipe, isOutput) in [(stdout, true), (stderr, false)] {
            let handle = pipe.fileHandleForReading
            Thread.detachNewThread { [self] in
                while true {
                    let data = handle.availableData
                    if data.isEmpty { break }
                    lock.withLock { if isOutput { output.append(data) } else { errors.append(data) } }
                }
                readersDone.signal()
            }
        }
    }

    var runtimePID: pid_t { process.processIdentifier }

    /// The container's first process as the host sees it: the runtime's child.
    func containerPID(timeout: TimeInterval = 10) -> pid_t? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let pid = childrenOf(runtimePID).first, isReleased(pid) { return pid }
            if !process.isRunning { return nil }
            usleep(20_000)
        }
        return nil
    }

    /// The child has exec'd (it no longer runs the runtime's own binary).
    private func isReleased(_ pid: pid_t) -> Bool {
        guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe") else { return false }
        return !exe.hasPrefix(binaryDirectory.path)
    }

    /// Waits for the runtime to exit (SIGKILL after the time-out) and returns what it printed.
    func wait(timeout: TimeInterval = 60) -> RunResult {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(runtimePID, SIGKILL)
            process.waitUntilExit()
        }
        process.waitUntilExit()
        // Both pipes end when the last process holding them does (the kit leaves none: if one
        // is left, say what was read within 10 s rather than hang; the leftover check fails then).
        while readersFinished < 2, readersDone.wait(timeout: .now() + 10) == .success { readersFinished += 1 }
        return lock.withLock {
            RunResult(status: process.terminationStatus,
                      stdout: String(decoding: output, as: UTF8.self),
                      stderr: String(decoding: errors, as: UTF8.self))
        }
    }
}

/// CPU seconds a process has used (utime + stime), from the host's /proc.
func cpuSeconds(of pid: pid_t) -> Double? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return nil }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

func namespaceInode(_ pid: String, _ kind: String) -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/\(kind)")) ?? "?"
}

/// Mount points in a mountinfo file (field 5).
func mountPoints(_ path: String = "/proc/self/mountinfo") -> [String] {
    let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    return text.split(separator: "\n").map { line in
        let fields = line.split(separator: " ")
        return fields.count > 4 ? String(fields[4]) : ""
    }
}

/// A line "Key:\tvalue" of /proc/PID/status.
func statusField(_ pid: pid_t, _ key: String) -> String? {
    let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
        return line.dropFirst(key.count + 1).trimmingCharacters(in: .whitespaces)
    }
    return nil
}

/// Every directory the tests' runs could have left in the cgroup hierarchies.
func kitCgroupDirectories() -> [String] {
    var found: [String] = []
    let root = "/sys/fs/cgroup"
    var parents = [root + "/" + testCgroupParent]
    for name in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] {
        parents.append("\(root)/\(name)/\(testCgroupParent)")
    }
    for parent in parents {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [] {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: parent + "/" + name, isDirectory: &isDirectory), isDirectory.boolValue {
                found.append(parent + "/" + name)
            }
        }
    }
    return found
}

/// The kit's runtimes hold an flock on /run/workshop/<id>.lock while they live.
func runtimeIsAlive(id: String) -> Bool {
    let fd = open("/run/workshop/\(id).lock", O_RDWR | O_CLOEXEC)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    return flock(fd, LOCK_EX | LOCK_NB) != 0
}

/// The base class of the black-box tests: runs the built steps as root and,
/// after every test, checks that nothing was left behind.
class StepTestCase: XCTestCase {
    private var mountsBefore: [String] = []
    private var groupsBefore: Set<String> = []
    private var runsBefore: Set<String> = []

    override func setUpWithError() throws {
        try super.setUpWithError()
        if geteuid() != 0 {
            // A skipped isolation check must never pass silently in CI.
            // An error other than XCTSkip makes the test fail, whatever XCTest does with a skip.
            struct NeedsRoot: Error, CustomStringConvertible {
                var description: String { "the step tests need root (CI=true: refusing to skip)" }
            }
            if ProcessInfo.processInfo.environment["CI"] == "true" { throw NeedsRoot() }
            throw XCTSkip("the step tests need root: sudo swift test")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: alpineTarball),
                      "the Alpine tarball for this machine (uname -m: \(machineArchitecture)): expected \(alpineTarball), saw no such file "
                        + "(set WORKSHOP_ALPINE_TARBALL, or put \(alpineTarballName) in ../shared/rootfs)")
        // The tests' state directory (a fresh one per check under `workshop check`) exists from the start.
        try FileManager.default.createDirectory(atPath: testHome, withIntermediateDirectories: true)
        mountsBefore = mountPoints()
        // Groups of containers a learner (or another kit) is running right now are not ours.
        groupsBefore = Set(kitCgroupDirectories())
        runsBefore = runDirectories()
    }

    private func runDirectories() -> Set<String> {
        Set((try? FileManager.default.contentsOfDirectory(atPath: testHome + "/containers")) ?? [])
    }

    override func tearDownWithError() throws {
        if geteuid() == 0 { assertNothingLeftBehind() }
        try super.tearDownWithError()
    }

    func assertNothingLeftBehind(file: StaticString = #filePath, line: UInt = #line) {
        // Processes: give the kernel a moment to reap, then nothing of ours may still run.
        var leftovers: [pid_t] = []
        for _ in 0..<100 {
            leftovers = descendants(of: getpid()).filter { !isZombie($0) }
            if leftovers.isEmpty { break }
            usleep(20_000)
        }
        XCTAssertEqual(leftovers, [], "after the test: the test's processes still running (the containers' must all be gone)", file: file, line: line)
        XCTAssertEqual(mountPoints().count, mountsBefore.count,
                       "after the test: mounts on the host vs before (none left): new \(Set(mountPoints()).subtracting(mountsBefore))", file: file, line: line)
        // A group whose runtime still holds its lock belongs to a container running right now
        // (a learner's, or another tool's); one whose runtime is gone was left behind.
        let left = Set(kitCgroupDirectories()).subtracting(groupsBefore).filter { !runtimeIsAlive(id: ($0 as NSString).lastPathComponent) }
        XCTAssertEqual(left, [], "after the test: cgroups under \(testCgroupParent) whose runtime is gone (none left)", file: file, line: line)
        let runs = runDirectories().subtracting(runsBefore).filter { !runtimeIsAlive(id: $0) }
        XCTAssertEqual(runs, [], "after the test: run directories in \(testHome)/containers whose runtime is gone (none left)", file: file, line: line)
    }

    private func descendants(of parent: pid_t) -> [pid_t] {
        childrenOf(parent).flatMap { [$0] + descendants(of: $0) }
    }

    private func isZombie(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(after: close)...].split(separator: " ").first == "Z"
    }

    /// Starts a step (quietly unless asked) in the background.
    func start(_ step: String, _ arguments: [String], quiet: Bool = true, prefix: [String] = [],
               environment: [String: String] = [:], directory: String? = nil) throws -> RunningStep {
        let process = Process()
        let binary = binaryDirectory.appendingPathComponent(stepUnderTest.binary(for: step)).path
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: binary),
                      "\(step): the executable \(binary): expected built, saw none (swift build --build-tests)")
        if prefix.isEmpty {
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = (quiet ? ["-q"] : []) + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: prefix[0])
            process.arguments = Array(prefix.dropFirst()) + [binary] + (quiet ? ["-q"] : []) + arguments
        }
        var env = ProcessInfo.processInfo.environment
        env["WORKSHOP_HOME"] = testHome
        env["WORKSHOP_CGROUP_PARENT"] = testCgroupParent
        env["WORKSHOP_ALPINE_TARBALL"] = alpineTarball
        env["NO_COLOR"] = "1"
        env["STEP"] = binary
        for (key, value) in environment { env[key] = value }
        process.environment = env
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.standardInput = FileHandle.nullDevice
        let running = RunningStep(process)
        try process.run()
        running.startReading()
        // If the test stops early, stop the container the way a user would (so the runtime still cleans up).
        addTeardownBlock {
            guard running.process.isRunning else { return }
            for child in childrenOf(running.runtimePID) { kill(child, SIGKILL) }
            _ = running.wait(timeout: 10)
        }
        return running
    }

    /// Runs a step to completion.
    @discardableResult
    func run(_ step: String, _ arguments: [String], quiet: Bool = true, prefix: [String] = [],
             timeout: TimeInterval = 60) throws -> RunResult {
        try start(step, arguments, quiet: quiet, prefix: prefix).wait(timeout: timeout)
    }

    /// Runs `sh -c script` in a step and expects exit 0.
    func shell(_ step: String, _ script: String, options: [String] = [], prefix: [String] = [],
               file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let result = try start(step, options + ["--", "/bin/sh", "-c", script], prefix: prefix).wait()
        XCTAssertEqual(result.status, 0, "\(step): exit status of sh -c '\(script)': \(result.stderr)", file: file, line: line)
        return result.stdout
    }

    /// Kills a running container's first process from the host (PID 1 of a PID
    /// namespace ignores signals from inside; SIGKILL from its parent namespace works).
    func stopContainer(_ running: RunningStep, _ pid: pid_t) -> RunResult {
        kill(pid, SIGKILL)
        return running.wait(timeout: 30)
    }

    /// A guard for a script that writes to or deletes from its "/": a marker put into the
    /// step's cached image from outside, and a shell prefix that refuses (exit 97) unless
    /// "/" shows it. A regression (or a mutation run) that leaves the container on the
    /// host's root then writes nothing there.
    func imageRootGuard(_ step: String, home: String = testHome) throws -> String {
        // The step's image exists after one run (steps 07 and 08 unpack their own, shifted copy).
        let prepared = try start(step, ["true"], environment: ["WORKSHOP_HOME": home]).wait()
        XCTAssertEqual(prepared.status, 0, "\(step): a first run to prepare the image: \(prepared.stderr)")
        let images = home + "/images"
        for image in (try? FileManager.default.contentsOfDirectory(atPath: images)) ?? [] where !image.hasPrefix(".") {
            XCTAssertTrue(FileManager.default.createFile(atPath: images + "/" + image + "/" + imageGuardName, contents: Data()),
                          "\(step): could not put the guard marker into \(images)/\(image)")
        }
        return "[ -e /\(imageGuardName) ] || { echo 'refusing: / is not the image' >&2; exit 97; }; "
    }

    /// A file on the host that no container should be able to read.
    func makeHostMarker() throws -> (path: String, content: String) {
        let content = "host-secret-\(UUID().uuidString)"
        let path = "/tmp/workshop-marker-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        try content.write(toFile: path, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return (path, content)
    }
}

/// Steps from `first` on (for checks every later step must keep passing). When `workshop check`
/// redirects a step to the learner's program, only that step: the later ones are not the learner's.
func steps(from first: Int) -> [String] {
    let all = ["step01-clone", "step02-namespaces", "step03-chroot", "step04-pivot-root", "step05-cgroup",
               "step06-capabilities", "step07-userns", "step08-seccomp"].suffix(from: first - 1).map { $0 }
    if let step = stepUnderTest.step { return all.contains(step) ? [step] : [] }
    return all
}

/// `workshop check NN` runs chapter NN's checks against the learner's program:
/// WORKSHOP_STEP_UNDER_TEST=step02-namespaces=my-container makes `start("step02-namespaces", …)`
/// run .build/…/my-container instead (one test code base for the reference steps and the learner's).
struct StepUnderTest {
    /// The reference step redirected (nil: none, every step runs as built).
    let step: String?
    let binary: String?

    init(_ value: String?) {
        let parts = (value ?? "").split(separator: "=").map(String.init)
        (step, binary) = parts.count == 2 ? (parts[0], parts[1]) : (nil, nil)
    }

    func binary(for name: String) -> String { name == step ? binary! : name }
}

let stepUnderTest = StepUnderTest(ProcessInfo.processInfo.environment["WORKSHOP_STEP_UNDER_TEST"])


/// Waits until a process runs `command` (its comm), e.g. a script's final `exec sleep`:
/// then everything the script did before has happened.
func waitUntil(_ pid: pid_t, runs command: String, timeout: TimeInterval = 10) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        let comm = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        if comm == command { return true }
        if comm == nil { return false }
        usleep(10_000)
    }
    return false
}

let imageGuardName = ".workshop-image-guard"

/// Prefix for a step whose regression could rename the machine: the runtime gets a UTS
/// namespace of its own, so a step that lost its own changes only that throwaway copy.
let ownUTSNamespace = ["/usr/bin/unshare", "--uts", "--"]

let isCI = ProcessInfo.processInfo.environment["CI"] == "true"

/// When a kernel lacks every path a check could look at: a failure in CI, a skip elsewhere.
/// Never a silent pass.
func nothingToCheck(_ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
    if isCI { XCTFail("\(what) (CI=true: refusing to skip)", file: file, line: line); return }
    throw XCTSkip(what)
}

/// One line of /proc/PID/mountinfo.
struct MountEntry {
    var point: String
    var options: [String]       // per-mount options (field 6): ro/rw, nosuid...
    var type: String
    var source: String
    var isReadOnly: Bool { options.contains("ro") }
}

func mountEntries(_ path: String) -> [MountEntry] {
    let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    return text.split(separator: "\n").compactMap { line in
        let fields = line.split(separator: " ").map(String.init)
        guard let dash = fields.firstIndex(of: "-"), dash + 2 < fields.count, fields.count > 5 else { return nil }
        return MountEntry(point: fields[4], options: fields[5].split(separator: ",").map(String.init),
                          type: fields[dash + 1], source: fields[dash + 2])
    }
}

/// One file of a tree, everything that could change: type and mode, owner, size,
/// modification time, a symlink's target and a regular file's full contents.
struct FileSnapshot: Equatable {
    var mode: mode_t
    var owner: String
    var size: Int
    var modified: Int
    var linkTarget: String?
    var contents: Data?
}

/// A tree, file by file (a few MB for the Alpine image: compared byte for byte, no digest needed).
func treeSnapshot(_ root: String) -> [String: FileSnapshot] {
    var files: [String: FileSnapshot] = [:]
    let manager = FileManager.default
    let enumerator = manager.enumerator(atPath: root)
    while let relative = enumerator?.nextObject() as? String {
        let path = root + "/" + relative
        var info = stat()
        guard lstat(path, &info) == 0 else { continue }
        let type = info.st_mode & S_IFMT
        files[relative] = FileSnapshot(
            mode: info.st_mode, owner: "\(info.st_uid):\(info.st_gid)", size: Int(info.st_size),
            modified: Int(info.st_mtim.tv_sec),
            linkTarget: type == S_IFLNK ? try? manager.destinationOfSymbolicLink(atPath: path) : nil,
            contents: type == S_IFREG ? manager.contents(atPath: path) : nil)
    }
    return files
}

/// The paths that differ between two snapshots (added, removed or changed), sorted.
func changedPaths(_ before: [String: FileSnapshot], _ after: [String: FileSnapshot]) -> [String] {
    Set(before.keys).union(after.keys).filter { before[$0] != after[$0] }.sorted()
}

// MARK: - Messages a failing check prints

/// The one line a failing check prints: which step, which property, what was expected, what was seen.
/// ("step04-pivot-root: /proc/acpi's mount options: expected ro,nosuid,nodev,noexec, saw ro,relatime")
func expectation(step: String, property: String, expected: String, seen: Any) -> String {
    var shown = "\(seen)"
    if shown.count > 2000 { shown = String(shown.prefix(2000)) + "… (\(shown.count) characters)" }
    return "\(step): \(property): expected \(expected), saw \(shown.isEmpty ? "nothing" : shown)"
}

/// Fails with `expectation(...)` unless `condition` holds.
func expect(_ condition: Bool, step: String, property: String, expected: String, seen: @autoclosure () -> Any,
            file: StaticString = #filePath, line: UInt = #line) {
    if !condition {
        XCTFail(expectation(step: step, property: property, expected: expected, seen: seen()), file: file, line: line)
    }
}

/// Fails unless `seen == expected`; the message names the step and the property.
func expectEqual<T: Equatable>(_ seen: T, _ expected: T, step: String, property: String,
                               file: StaticString = #filePath, line: UInt = #line) {
    expect(seen == expected, step: step, property: property, expected: "\(expected)", seen: seen, file: file, line: line)
}

/// The value, or a failure that says what was missing, not only XCTUnwrap's "expected non-nil value of type".
/// `seen`: what was there instead (the text searched, say).
func unwrap<T>(_ value: T?, step: String, property: String, expected: String, seen: @autoclosure () -> Any = "nothing",
               file: StaticString = #filePath, line: UInt = #line) throws -> T {
    try XCTUnwrap(value, expectation(step: step, property: property, expected: expected, seen: seen()), file: file, line: line)
}

/// The container's first process as the host sees it, or a failure that names the step.
func containerPID(_ running: RunningStep, step: String, file: StaticString = #filePath, line: UInt = #line) throws -> pid_t {
    try unwrap(running.containerPID(), step: step, property: "the container's PID (a child of the runtime that exec'd the command)",
               expected: "one within 10 s", file: file, line: line)
}

/// Compiles a C probe with `gcc -static` into DIRECTORY/NAME: it runs inside Alpine (musl) and in
/// steps without a root of their own alike.
func buildStaticProbe(_ source: String, named name: String, in directory: String,
                      file: StaticString = #filePath, line: UInt = #line) throws -> String {
    try source.write(toFile: directory + "/" + name + ".c", atomically: true, encoding: .utf8)
    let result = try runHostCommand(["/usr/bin/env", "gcc", "-static", "-O2", "-o", directory + "/" + name,
                                     directory + "/" + name + ".c"])
    XCTAssertEqual(result.status, 0, "gcc -static \(name).c failed (apt-get install gcc libc6-dev): \(result.stderr)",
                   file: file, line: line)
    return directory + "/" + name
}
