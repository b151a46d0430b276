import Foundation

public struct LabError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// What one run printed and how it ended (128+N: killed by signal N).
public struct Outcome {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public init(status: Int32, stdout: String, stderr: String) {
        (self.status, self.stdout, self.stderr) = (status, stdout, stderr)
    }
    /// The probe's own answer: 0 it got through, 1 the kernel refused it. Anything
    /// else (125: the runtime failed, 127: no probe...) is a broken run, never "blocked".
    var probeAnswered: Bool { status == 0 || status == 1 }
    var summary: String {
        let text = (stderr.isEmpty ? stdout : stderr).split(separator: "\n").last.map(String.init) ?? ""
        return "exit \(status)" + (text.isEmpty ? "" : ": \(text)")
    }
}

/// Runs a host command to completion (gcc, tar...; the tests' tools too), with `environment`
/// instead of ours when given.
public func runHostCommand(_ arguments: [String], environment: [String: String]? = nil) throws -> Outcome {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: arguments[0])
    process.arguments = Array(arguments.dropFirst())
    if let environment { process.environment = environment }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Outcome(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                   stderr: String(decoding: stderr, as: UTF8.self))
}

/// The attacker's workbench: a test directory on the host (markers, scripts,
/// the probe), a tiny image holding the probe for steps 03-08, and the built steps.
public final class Lab {
    /// 0 is the host itself (the payload run without a runtime), 1...8 the steps.
    public static let columns = Array(0...8)
    public static let stepNames = ["host", "step01-clone", "step02-namespaces", "step03-chroot", "step04-pivot-root",
                                   "step05-cgroup", "step06-capabilities", "step07-userns", "step08-seccomp"]
    public static func label(_ column: Int) -> String { column == 0 ? "host" : String(format: "step%02d", column) }

    /// The test directory (mode 0755 under /tmp): every marker an attack leaves lands here.
    public let directory: String
    /// The image the steps from 03 on run (--rootfs): the probe and the empty directories they mount on.
    public let image: String
    public let probe: String
    let binaryDirectory: String
    let environment: [String: String]
    /// The kit's cgroup parent for this run (WORKSHOP_CGROUP_PARENT): attacks make their groups under it.
    public let cgroupParent: String
    private var counter = 0

    public init(binaryDirectory: String, home: String, cgroupParent: String) throws {
        self.binaryDirectory = binaryDirectory
        self.cgroupParent = cgroupParent
        var template = Array("/tmp/workshop-attacks-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw LabError("cannot create a test directory in /tmp") }
        directory = String(cString: made)
        chmod(directory, 0o755)   // host user 65534 must reach what steps 01-02 write here (the setuid row)
        image = directory + "/image"
        var env = ProcessInfo.processInfo.environment
        env["WORKSHOP_HOME"] = home
        env["WORKSHOP_CGROUP_PARENT"] = cgroupParent
        env["NO_COLOR"] = "1"
        environment = env
        do {
            for path in ["", "/proc", "/dev", "/sys", "/tmp", "/mnt/proc", "/mnt/sys", "/mnt/cgroup"] {
                try FileManager.default.createDirectory(atPath: image + path, withIntermediateDirectories: true)
            }
            chmod(image + "/tmp", 0o1777)
            probe = try Probe.build(into: image)
            chmod(probe, 0o755)
            unlink(image + "/attack-probe.c")
        } catch {
            _ = try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    /// Removes the test directory.
    public func close() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A fresh name in the test directory.
    func uniquePath(_ stem: String) -> String {
        counter += 1
        return "\(directory)/\(stem)-\(counter)"
    }

    /// The probe as a payload in COLUMN sees it: steps 01-02 have no root of their own.
    func probePath(in column: Int) -> String { column <= 2 ? probe : "/attack-probe" }

    /// A directory the payload may create files in: one in the test directory, or the
    /// container's root (the upper layer's own directory: in step07 the image's
    /// directories belong to a host uid the container cannot map, so it cannot write below them).
    func scratch(in column: Int) -> String {
        if column <= 2 {
            let path = uniquePath("scratch")
            mkdir(path, 0o755)
            return path
        }
        return "/"
    }

    /// An empty directory to mount NAME on: made in the test directory, or already in the image.
    func mountPoint(in column: Int, _ name: String) -> String {
        column <= 2 ? scratch(in: column) + "/" + name : "/mnt/" + name
    }

    /// The command line that runs the probe with ARGUMENTS in COLUMN.
    func commandLine(_ column: Int, _ arguments: [String], options: [String]) -> [String] {
        let payload = [probePath(in: column)] + arguments
        if column == 0 { return payload }
        let binary = binaryDirectory + "/" + Lab.stepNames[column]
        return [binary, "-q"] + (column >= 3 ? ["--rootfs", image] : []) + options + ["--"] + payload
    }

    /// Starts the probe in COLUMN in the background; its output goes to files in the test directory.
    func start(_ column: Int, _ arguments: [String], options: [String] = [], prefix: [String] = [],
               stdin: FileHandle? = nil) throws -> Running {
        let command = prefix + commandLine(column, arguments, options: options)
        let binary = command[0]
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw LabError("\(binary) is not built (swift build)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = Array(command.dropFirst())
        process.environment = environment
        let out = uniquePath("stdout"), err = uniquePath("stderr")
        guard FileManager.default.createFile(atPath: out, contents: nil),
              FileManager.default.createFile(atPath: err, contents: nil) else { throw LabError("cannot write in \(directory)") }
        process.standardOutput = FileHandle(forWritingAtPath: out)
        process.standardError = FileHandle(forWritingAtPath: err)
        process.standardInput = stdin ?? FileHandle.nullDevice
        try process.run()
        return Running(process: process, column: column, stdoutPath: out, stderrPath: err)
    }

    /// Runs the probe in COLUMN to completion (killed after TIMEOUT seconds).
    func run(_ column: Int, _ arguments: [String], options: [String] = [], prefix: [String] = [],
             stdin: FileHandle? = nil, timeout: TimeInterval = 30) throws -> Outcome {
        let running = try start(column, arguments, options: options, prefix: prefix, stdin: stdin)
        return running.wait(timeout: timeout)
    }
}

/// A probe (or the step running it) in the background.
final class Running {
    let process: Process
    let column: Int
    let stdoutPath: String
    let stderrPath: String

    init(process: Process, column: Int, stdoutPath: String, stderrPath: String) {
        self.process = process
        self.column = column
        self.stdoutPath = stdoutPath
        self.stderrPath = stderrPath
    }

    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }

    /// The payload's process as the host sees it: the probe itself on the host,
    /// else the runtime's child once it has exec'd the probe.
    func payloadPID(timeout: TimeInterval = 10) -> pid_t? {
        if column == 0 { return process.processIdentifier }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline && process.isRunning {
            for child in childrenOf(process.processIdentifier) where executable(of: child)?.hasSuffix("attack-probe") == true {
                return child
            }
            usleep(10_000)
        }
        return nil
    }

    /// Waits until stdout contains TEXT or the process ends.
    func waitForOutput(_ text: String, timeout: TimeInterval = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if stdout.contains(text) { return true }
            if !process.isRunning { return stdout.contains(text) }
            usleep(10_000)
        }
        return false
    }

    /// Stops the payload the way a user would: SIGKILL to the container's first process.
    func kill() {
        guard process.isRunning else { return }
        if column == 0 {
            Glibc.kill(process.processIdentifier, SIGKILL)
        } else {
            for child in childrenOf(process.processIdentifier) { Glibc.kill(child, SIGKILL) }
        }
    }

    func wait(timeout: TimeInterval = 30) -> Outcome {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning {
            kill()
            let grace = Date().addingTimeInterval(10)
            while process.isRunning && Date() < grace { usleep(10_000) }
            if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return Outcome(status: status, stdout: stdout,
                       stderr: (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "")
    }
}

public func childrenOf(_ parent: pid_t) -> [pid_t] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { pid_t($0) }.filter { parentOf($0) == parent }.sorted()
}

public func parentOf(_ pid: pid_t) -> pid_t? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return nil }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    return fields.count > 1 ? pid_t(fields[1]) : nil
}

func executable(of pid: pid_t) -> String? {
    try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")
}

/// A process is gone or a zombie (killed, not yet reaped).
func isDead(_ pid: pid_t) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return true }
    return stat[stat.index(after: close)...].split(separator: " ").first == "Z"
}

func readHostFile(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

/// Writes a /proc/sys knob (or any file) in place, as `echo VALUE > PATH` does.
@discardableResult
func writeHostFile(_ path: String, _ value: String) -> Bool {
    let fd = open(path, O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return false }
    defer { Glibc.close(fd) }
    let bytes = Array(value.utf8)
    return bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == bytes.count
}

/// Waits up to TIMEOUT seconds for a file to appear.
func waitForFile(_ path: String, timeout: TimeInterval) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if access(path, F_OK) == 0 { return true }
        usleep(10_000)
    }
    return access(path, F_OK) == 0
}
