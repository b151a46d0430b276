import CLinux
import Glibc

/// The container's first process, seen from the runtime (the parent).
///
/// The protocol, the same one runc uses:
///  1. `start` flushes stdout and clones the child with the step's flags.
///  2. The child blocks on the *sync pipe* until the parent has done its side
///     (put it in a cgroup, write its uid map) and calls `release()`.
///  3. The child sets itself up and execs. The *error pipe* is close-on-exec:
///     a successful exec closes it (the parent reads EOF); a failure writes
///     the reason and exit code into it first, so the parent can print one clear line.
public final class ContainerProcess {
    /// The child's PID as the host sees it.
    public let pid: pid_t
    /// How the child got into its cgroup, when it has one (for the narration).
    public private(set) var bornInCgroup = false
    private var syncWrite: Int32
    private var errorRead: Int32
    private var consoleSocket: Int32 = -1
    private var allOnTerminal = false
    /// The relay between the caller's terminal and the container's pty, once it sent its master.
    private var terminal: TerminalRelay?
    private var exited = false

    private init(pid: pid_t, syncWrite: Int32, errorRead: Int32) {
        self.pid = pid
        self.syncWrite = syncWrite
        self.errorRead = errorRead
    }

    /// Clones the child. `body` runs in the child once released; it must end by
    /// exec'ing (see `execute`), and anything it throws reaches the parent.
    /// With a cgroup v2 directory, the child is born inside it (clone3 +
    /// CLONE_INTO_CGROUP) where the kernel allows; otherwise the caller moves it in before `release()`.
    /// `stdio` says whether the container gets its own pseudo-terminal and which descriptors it keeps
    /// (Workshop/Terminal.swift: every container gets its own session, whatever the step).
    public static func start(
        flags: Int32, cgroupDirectory: Int32? = nil, stdio: OutputOptions, _ body: @escaping () throws -> Never
    ) throws -> ContainerProcess {
        let sync = try makePipe()
        let errors = try makePipe()
        // The console socket: the child sends its pty master back over it (runc's --console-socket).
        let console = stdio.wantsTerminal ? try makeSocketPair() : nil
        let child = ChildContext(syncRead: sync.read, syncWrite: sync.write,
                                 errorRead: errors.read, errorWrite: errors.write, body: body)
        child.boundary = ChildBoundary(syncRead: sync.read, consoleSocket: console?.child ?? -1,
                                       preservedDescriptors: stdio.preservedDescriptors, allOnTerminal: stdio.tty)
        child.consoleParent = console?.parent ?? -1
        let context = Unmanaged.passRetained(child).toOpaque()
        defer { Unmanaged<ChildContext>.fromOpaque(context).release() }

        // Buffered output would otherwise be printed twice, once by each process.
        fflush(nil)
        var pid: pid_t = -1
        var born = false
        if let cgroupDirectory {
            pid = ws_clone3_into_cgroup(UInt64(UInt32(bitPattern: flags)), cgroupDirectory, childEntry, context)
            born = pid > 0
        }
        if pid < 0 {
            pid = ws_clone(flags | SIGCHLD, childEntry, context)
        }
        let cloneErrno = errno
        close(sync.read)
        close(errors.write)
        if let console { close(console.child) }
        guard pid > 0 else {
            close(sync.write)
            close(errors.read)
            if let console { close(console.parent) }
            throw cloneFailure(flags: flags, errno: cloneErrno)
        }
        let container = ContainerProcess(pid: pid, syncWrite: sync.write, errorRead: errors.read)
        container.bornInCgroup = born
        container.consoleSocket = console?.parent ?? -1
        container.allOnTerminal = stdio.tty
        // If the runtime fails before the container runs, nothing may be left behind.
        Cleanup.push { [container] in container.killAndReap() }
        // A child that dies early must not kill us with SIGPIPE on the sync pipe: we want
        // to say what happened. (Set after the clone: an ignored signal survives exec.)
        signal(SIGPIPE, SIG_IGN)
        forwardSignals(to: pid)
        return container
    }

    /// Lets the child go on, then waits until it has exec'd the command (or failed to).
    public func release() throws {
        var byte: UInt8 = 1
        let sent = write(syncWrite, &byte, 1)
        if sent != 1 {
            closeSetupDescriptors()
            if consoleSocket >= 0 { close(consoleSocket) }
            consoleSocket = -1
            let status = waitForExit()
            throw Failure("the container's process died before it was released (exit code \(status))")
        }
        let report = (try? readAll(errorRead, path: "error pipe")) ?? []
        // Only now, when it has exec'd: until then the child checks that this end is open
        // to know the runtime is alive (`rearmParentDeathSignal`).
        closeSetupDescriptors()
        guard report.isEmpty else {
            if consoleSocket >= 0 { close(consoleSocket) }
            consoleSocket = -1
            // "CODE message" from the child: it failed before or at exec.
            let text = String(decoding: report, as: UTF8.self)
            let parts = text.split(separator: " ", maxSplits: 1)
            let code = parts.first.flatMap { Int32($0) } ?? Failure.runtimeExitCode
            _ = waitForExit()
            throw Failure(parts.count > 1 ? String(parts[1]) : text, exitCode: code)
        }
        if consoleSocket >= 0 {
            // The child sent its pty master before exec'ing: it is waiting in the socket.
            let master = ws_receive_fd(consoleSocket)
            close(consoleSocket)
            consoleSocket = -1
            guard master >= 0 else {
                throw Failure("the container sent no terminal: \(String(cString: strerror(errno)))")
            }
            let relay = TerminalRelay(master: master, allOnTerminal: allOnTerminal)
            terminal = relay
            Cleanup.push { relay.restoreHostTerminal() }
            relay.start()
        }
    }

    private func closeSetupDescriptors() {
        for fd in [syncWrite, errorRead] where fd >= 0 { close(fd) }
        (syncWrite, errorRead) = (-1, -1)
    }

    /// Waits for the child; calls `tick` about once a second while it runs (for --stats).
    /// Returns the exit code the runtime should use: the command's status, or 128+N for signal N.
    public func waitForExit(tick: (() -> Void)? = nil) -> Int32 {
        var status: Int32 = 0
        if let terminal {
            terminal.relay(until: pid, tick: tick)
            terminal.restoreHostTerminal()
        } else if let tick, let process = FileDescriptor(processID: pid) {
            var descriptor = pollfd(fd: process.rawValue, events: Int16(POLLIN), revents: 0)
            while poll(&descriptor, 1, 1000) == 0 || (descriptor.revents == 0 && errno == EINTR) {
                tick()
            }
        }
        guard (try? retryingEINTR("waitpid", { waitpid(pid, &status, 0) })) != nil else { return Failure.runtimeExitCode }
        exited = true
        stopForwardingSignals()
        if ws_signaled(status) != 0 { return 128 + ws_term_signal(status) }
        return ws_exit_status(status)
    }

    /// SIGKILL and reap: used when the runtime fails half-way.
    public func killAndReap() {
        guard !exited else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = try? retryingEINTR("waitpid", { waitpid(pid, &status, 0) })
        exited = true
    }
}

// MARK: - The child side

private final class ChildContext {
    let syncRead: Int32, syncWrite: Int32, errorRead: Int32, errorWrite: Int32
    let body: () throws -> Never
    var boundary: ChildBoundary?
    var consoleParent: Int32 = -1

    init(syncRead: Int32, syncWrite: Int32, errorRead: Int32, errorWrite: Int32, body: @escaping () throws -> Never) {
        (self.syncRead, self.syncWrite, self.errorRead, self.errorWrite) = (syncRead, syncWrite, errorRead, errorWrite)
        self.body = body
    }
}

/// Reports a failure inside the child to the parent, then exits.
private func failInChild(_ errorWrite: Int32, code: Int32, _ message: String) -> Never {
    writeAll(errorWrite, "\(code) \(message)")
    _exit(code)
}

private let childEntry: @convention(c) (UnsafeMutableRawPointer?) -> Int32 = { raw in
    let child = Unmanaged<ChildContext>.fromOpaque(raw!).takeUnretainedValue()
    close(child.syncWrite)
    close(child.errorRead)
    if child.consoleParent >= 0 { close(child.consoleParent) }
    // Die with the runtime: a container must never outlive the process that manages it.
    _ = ws_prctl(WS_PR_SET_PDEATHSIG, UInt(SIGKILL), 0, 0, 0)
    var byte: UInt8 = 0
    let n = (try? retryingEINTR("read the sync pipe", { read(child.syncRead, &byte, 1) })) ?? -1
    // EOF: the runtime failed or died before releasing us; say nothing, it reports.
    // (The sync pipe stays open, close-on-exec: its hang-up tells us later that the runtime died.)
    guard n == 1 else { _exit(Failure.runtimeExitCode) }
    // A runtime that released us and died before our prctl above (a busy machine may run this child
    // late) sent no signal: the kernel only signals for a parent that dies after it. Its end of the
    // sync pipe is closed then; nobody is left to report to.
    var hangup = pollfd(fd: child.syncRead, events: 0, revents: 0)
    if poll(&hangup, 1, 0) == 1 && hangup.revents & Int16(POLLHUP) != 0 { _exit(Failure.runtimeExitCode) }
    childBoundary = child.boundary
    childBoundary?.prepare()
    do {
        try child.body()
    } catch let failure as Failure {
        failInChild(child.errorWrite, code: failure.exitCode, failure.message)
    } catch {
        failInChild(child.errorWrite, code: Failure.runtimeExitCode, "inside the container: \(error)")
    }
}

/// The environment a container's command gets (what `docker run` sets).
public func containerEnvironment(hostname: String) -> [String] {
    var environment = [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOSTNAME=\(hostname)",
        "HOME=/root",
    ]
    if let term = Glibc.getenv("TERM") { environment.append("TERM=\(String(cString: term))") }
    return environment
}

/// The runtime's own environment, for steps that have no root filesystem yet.
public func hostEnvironment() -> [String] {
    var result: [String] = []
    var cursor = environ
    while let entry = cursor.pointee {
        result.append(String(cString: entry))
        cursor += 1
    }
    return result
}

/// execve(2) the command, searching PATH like a shell. Throws Docker's codes:
/// 127 when nothing by that name exists, 126 when it exists but cannot run.
/// Before that, the container leaves the caller's session and descriptors (`ChildBoundary`);
/// with `init`, a tiny init stays PID 1 and the command runs as its child (`--init`, Workshop/Init.swift).
public func execute(_ command: [String], environment: [String], init runsInit: Bool = false) throws -> Never {
    try childBoundary?.enter()
    if runsInit { try startInit() }   // returns in the command's process only
    let name = command[0]
    var candidates: [String] = []
    if name.isEmpty {
        // Docker: `exec: "": executable file not found in $PATH`, 127 (a PATH search would try directories: 126).
    } else if name.contains("/") {
        candidates = [name]
    } else {
        let path = environment.first { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) }
            ?? "/usr/local/bin:/usr/bin:/bin"
        candidates = path.split(separator: ":").map { "\($0)/\(name)" }
    }
    let argv = command.map { strdup($0) } + [nil]
    let envp = environment.map { strdup($0) } + [nil]
    var denied: Int32 = 0
    for candidate in candidates {
        execve(candidate, argv, envp)
        switch errno {
        case ENOENT, ENOTDIR: continue
        case EACCES, EPERM, ENOEXEC, EISDIR: denied = errno
        default:
            throw Failure("exec \(candidate): \(String(cString: strerror(errno)))",
                          exitCode: Failure.cannotExecuteExitCode)
        }
    }
    if denied != 0 {
        throw Failure("exec \(name): \(String(cString: strerror(denied)))", exitCode: Failure.cannotExecuteExitCode)
    }
    let where_ = name.contains("/") ? "no such file" : "executable file not found in $PATH"
    throw Failure("exec \"\(name)\": \(where_)", exitCode: Failure.notFoundExitCode)
}

// MARK: - Signals

nonisolated(unsafe) private var signalTarget: pid_t = 0
nonisolated(unsafe) private var signalsForwarded: Int32 = 0
private let forwardedSignals = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]

/// `kill` aimed at the runtime goes to the container; the third one is a SIGKILL (as docker does).
/// The container has its own session, so Ctrl-C on the caller's terminal never reaches it directly:
/// with a pty it is a byte the relay passes on (the container's terminal sends SIGINT to its own
/// foreground process group); without one it reaches the runtime, which forwards it to PID 1 like
/// `docker run` without -t (PID 1 ignores it unless it handles it, or runs under --init).
private func forwardSignals(to pid: pid_t) {
    signalTarget = pid
    for signal in forwardedSignals {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { number in
            signalsForwarded += 1
            kill(signalTarget, signalsForwarded >= 3 ? SIGKILL : number)
        }
        action.sa_flags = SA_RESTART
        sigaction(signal, &action, nil)
    }
}

private func stopForwardingSignals() {
    for signal in forwardedSignals { Glibc.signal(signal, SIG_DFL) }
}

private func makeSocketPair() throws -> (parent: Int32, child: Int32) {
    var fds: [Int32] = [0, 0]
    try check(ws_socketpair_cloexec(&fds), "socketpair (console socket)")
    return (fds[0], fds[1])
}

private func makePipe() throws -> (read: Int32, write: Int32) {
    var fds: [Int32] = [0, 0]
    try check(ws_pipe_cloexec(&fds), "pipe2")
    return (fds[0], fds[1])
}

private func cloneFailure(flags: Int32, errno code: Int32) -> Failure {
    let names = describeCloneFlags(flags)
    switch code {
    case EINVAL:
        return Failure("clone(\(names)): the kernel does not support one of these namespaces (EINVAL)")
    case EPERM:
        return Failure("clone(\(names)): not permitted (EPERM): are user namespaces disabled (sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone)?")
    case ENOSPC, EUSERS:
        return Failure("clone(\(names)): too many namespaces of this kind (see /proc/sys/user/max_*_namespaces)")
    default:
        return Failure("clone(\(names)): \(String(cString: strerror(code)))")
    }
}

/// "CLONE_NEWUTS|CLONE_NEWPID|...", for narration and errors.
public func describeCloneFlags(_ flags: Int32) -> String {
    let names: [(Int32, String)] = [
        (WS_CLONE_NEWUSER, "CLONE_NEWUSER"), (WS_CLONE_NEWUTS, "CLONE_NEWUTS"), (WS_CLONE_NEWPID, "CLONE_NEWPID"),
        (WS_CLONE_NEWNS, "CLONE_NEWNS"), (WS_CLONE_NEWIPC, "CLONE_NEWIPC"), (WS_CLONE_NEWNET, "CLONE_NEWNET"),
        (WS_CLONE_NEWCGROUP, "CLONE_NEWCGROUP"),
    ]
    let set = names.filter { flags & $0.0 != 0 }.map(\.1)
    return (set + ["SIGCHLD"]).joined(separator: "|")
}
