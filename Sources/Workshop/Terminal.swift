import CLinux
import Glibc

// The process boundary: what a container must not share with whoever started the runtime.
//
//  - the session and controlling terminal: a process in the caller's session can push
//    keystrokes into the caller's shell with ioctl(TIOCSTI), to be run after the container ends;
//  - the descriptors the caller left open (`step 7</` hands the container the host's root);
//  - the terminal itself: each of stdin, stdout, stderr that is the caller's terminal is replaced by
//    the container's own pseudo-terminal, and the runtime relays between the two (as `docker run -it`,
//    runc's --console-socket). A file or pipe stays what it is, so `> out.txt` gets the bytes unchanged.
//
// Every step gets this (a runtime that leaks its caller's terminal is no container); it is
// plumbing, applied by `execute` just before execve, after the step's own layers.

/// Set in the child when it is released; read by `execute` and `rearmParentDeathSignal`.
nonisolated(unsafe) var childBoundary: ChildBoundary?

/// The child's side of the boundary.
struct ChildBoundary {
    /// The sync pipe's read end: the runtime holds the write end until we exec, so a hang-up means it died.
    var syncRead: Int32
    /// Where the pty master goes (-1: no terminal).
    var consoleSocket: Int32
    var preservedDescriptors: Int
    /// -t: all three on the pty, not only those that were terminals.
    var allOnTerminal: Bool
    /// A pty on the host's devpts, opened before the step changes the root (see `enter`).
    var hostMaster: Int32 = -1

    mutating func prepare() {
        if consoleSocket >= 0 { hostMaster = ws_pty_open_master("/dev/ptmx") }
    }

    /// Called right before execve: own session, own terminal, no inherited descriptors.
    func enter() throws {
        // A new session without a controlling terminal: TIOCSTI into the caller's terminal is refused
        // (without CAP_SYS_ADMIN), and the terminal's job-control signals no longer reach us.
        try check(setsid(), "setsid")
        if consoleSocket >= 0 { try attachTerminal() }
        // Descriptors above 2 (and above the preserved ones) close on exec. CLOEXEC rather than close:
        // the error pipe must stay open until the exec itself succeeds.
        let first = UInt32(3 + preservedDescriptors)
        if ws_close_range(first, UInt32.max, WS_CLOSE_RANGE_CLOEXEC) != 0 {
            // Before Linux 5.11: mark them one by one.
            let limit = Int32(truncatingIfNeeded: min(sysconf(Int32(_SC_OPEN_MAX)), 1 << 20))
            var fd = Int32(first)
            while fd < limit {
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                fd += 1
            }
        }
    }

    /// The pty is opened at the container's own /dev/ptmx (steps 04+: a new devpts instance, so the
    /// container sees /dev/pts/0 as its own and `tty` names it), as runc does. Steps 01-03 have no
    /// /dev of their own: steps 01 and 02 see the host's, where /dev/ptmx is the host's devpts anyway;
    /// step03's chroot has an empty /dev, so its pty comes from the one opened on the host's devpts
    /// before the chroot (a terminal, but one whose name it cannot look up: chapter 04 fixes /dev).
    private func attachTerminal() throws {
        var master = ws_pty_open_master("/dev/ptmx")
        if master >= 0 {
            if hostMaster >= 0 { close(hostMaster) }
        } else {
            guard hostMaster >= 0 else { throw SystemCallError("open /dev/ptmx (the container's terminal)") }
            master = hostMaster
        }
        let peer = try check(ws_pty_open_peer(master), "open the pty's peer (TIOCGPTPEER)")
        let standard = [STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO]
        let replaced = allOnTerminal ? standard : standard.filter { isatty($0) == 1 }
        // The caller's window size, before the command can ask for it.
        for fd in standard where ws_copy_window_size(fd, peer) == 0 { break }
        try check(ws_set_controlling_terminal(peer), "make the pty our controlling terminal (TIOCSCTTY)")
        try check(ws_send_fd(consoleSocket, master), "send the pty to the runtime")
        close(master)
        close(consoleSocket)
        for fd in replaced { try check(dup2(peer, fd), "dup2 the pty to \(fd)") }
        if peer > STDERR_FILENO { close(peer) }
    }
}

/// Sets the parent-death signal again and makes sure the runtime is still there.
///
/// The kernel clears PR_SET_PDEATHSIG whenever a process changes its credentials, and
/// setuid/setgid inside a user namespace count (step07): without this, a container outlives a
/// SIGKILLed runtime. The runtime may have died just before the prctl; getppid() cannot tell
/// (in a new PID namespace our parent is outside it: 0), so we ask the sync pipe: the runtime
/// holds its write end until we exec, and a hang-up means it is gone.
public func rearmParentDeathSignal() throws {
    try check(ws_prctl(WS_PR_SET_PDEATHSIG, UInt(SIGKILL), 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
    guard let boundary = childBoundary else { return }
    var descriptor = pollfd(fd: boundary.syncRead, events: 0, revents: 0)
    if poll(&descriptor, 1, 0) == 1 && descriptor.revents & Int16(POLLHUP) != 0 {
        _exit(Failure.runtimeExitCode)   // the runtime is dead: nobody to report to
    }
}

// MARK: - The runtime's side: relaying a terminal

nonisolated(unsafe) private var windowChanged: Int32 = 0

/// Copies keys from the caller's terminal to the container's pty master and output back,
/// with the caller's terminal in raw mode (the pty does the line editing and Ctrl-C now).
final class TerminalRelay {
    let master: Int32
    /// Does the pty stand for the container's stdin (else stdin is the caller's file or pipe, untouched)?
    private let relaysInput: Bool
    /// Where the pty's output goes: stdout, or stderr when only stderr was a terminal.
    private let output: Int32
    private var saved: termios?
    private var raw = termios()
    private var hostTerminal: Int32 = -1

    init(master: Int32, allOnTerminal: Bool) {
        self.master = master
        relaysInput = allOnTerminal || isatty(STDIN_FILENO) == 1
        output = allOnTerminal || isatty(STDOUT_FILENO) == 1 || isatty(STDERR_FILENO) == 0 ? STDOUT_FILENO : STDERR_FILENO
    }

    /// SIGWINCH followed (raw mode starts with `relay`: the runtime may still print lines before it).
    func start() {
        for fd in [STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO] where isatty(fd) == 1 {
            hostTerminal = fd
            break
        }
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in windowChanged = 1 }
        sigaction(SIGWINCH, &action, nil)   // no SA_RESTART: poll returns, and we pass the size on
        // In case it changed between the child's copy and now.
        if hostTerminal >= 0 { _ = ws_copy_window_size(hostTerminal, master) }
    }

    /// Puts the caller's terminal back as it was. Safe to call more than once.
    func restoreHostTerminal() {
        guard var mode = saved else { return }
        saved = nil
        tcsetattr(STDIN_FILENO, TCSADRAIN, &mode)
        signal(SIGWINCH, SIG_DFL)
    }

    /// Relays until the process `pid` exits (it is not reaped here), calling `tick` about once a second.
    func relay(until pid: pid_t, tick: (() -> Void)?) {
        if relaysInput && isatty(STDIN_FILENO) == 1 {
            var mode = termios()
            if tcgetattr(STDIN_FILENO, &mode) == 0 {
                saved = mode
                cfmakeraw(&mode)
                raw = mode
                tcsetattr(STDIN_FILENO, TCSADRAIN, &mode)
            }
        }
        let process = FileDescriptor(processID: pid)   // closed when the relay ends
        let pidfd: Int32
        switch process {
        case .some(let opened): pidfd = opened.rawValue
        case .none: pidfd = -1
        }
        var inputOpen = relaysInput
        var outputOpen = true
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            if windowChanged != 0 {
                windowChanged = 0
                if hostTerminal >= 0 { _ = ws_copy_window_size(hostTerminal, master) }
            }
            var fds = [
                pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0),
                pollfd(fd: outputOpen ? master : -1, events: Int16(POLLIN), revents: 0),
                pollfd(fd: inputOpen ? STDIN_FILENO : -1, events: Int16(POLLIN), revents: 0),
            ]
            // Without a pidfd (before Linux 5.3), look every 100 ms.
            let ready = poll(&fds, 3, pidfd >= 0 ? (tick == nil ? -1 : 1000) : 100)
            if ready < 0 { continue }   // EINTR: SIGWINCH or a forwarded signal
            if ready == 0 {
                if let tick { narrate(tick) }
                if pidfd < 0 && ws_has_exited(pid) == 1 { break }
                continue
            }
            if fds[1].revents != 0 && !copyOnce(from: master, to: output, &buffer) { outputOpen = false }
            if fds[2].revents != 0 && !copyOnce(from: STDIN_FILENO, to: master, &buffer) {
                inputOpen = false
                // -t with a file or pipe on stdin: its end becomes an end of file for the reader in the
                // container (Ctrl-D at the start of a line), as script(1) does.
                if isatty(STDIN_FILENO) == 0 {
                    var endOfFile: UInt8 = 4
                    _ = write(master, &endOfFile, 1)
                }
            }
            if fds[0].revents != 0 { break }
        }
        // What the container wrote just before it ended.
        let flags = fcntl(master, F_GETFL)
        _ = fcntl(master, F_SETFL, flags | O_NONBLOCK)
        while outputOpen && copyOnce(from: master, to: output, &buffer) {}
        close(master)
    }

    /// The runtime's own lines (--stats) end in "\n" alone: let the caller's terminal turn them into
    /// "\r\n" while they are written, or they would run down the screen as a staircase.
    private func narrate(_ tick: () -> Void) {
        guard saved != nil else { return tick() }
        var lines = raw
        lines.c_oflag |= tcflag_t(OPOST | ONLCR)
        tcsetattr(STDIN_FILENO, TCSANOW, &lines)
        tick()
        tcsetattr(STDIN_FILENO, TCSADRAIN, &raw)
    }

    /// One read and the matching writes; false at end of file or an error (EIO: the pty's last user closed it).
    private func copyOnce(from source: Int32, to target: Int32, _ buffer: inout [UInt8]) -> Bool {
        guard let count = try? retryingEINTR("read", { buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) } }),
              count > 0 else { return false }
        var chunk = Array(buffer[0..<count])
        // A reader that went away (false here) is ignored: keep draining so the container does not block.
        writeAll(target, bytes: &chunk)
        return true
    }
}
