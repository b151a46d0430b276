import CLinux
import Glibc

// --init (docker run --init, which runs tini): PID 1 of a PID namespace has two duties the
// kernel gives no other process (chapter 02):
//  - signals: the kernel delivers to PID 1 only the signals it has a handler for, so a plain
//    command as PID 1 (sleep, a server without handlers) ignores SIGTERM from `docker stop`;
//  - orphans: every process whose parent dies is re-parented to PID 1, which must wait(2) for
//    it, or it stays a zombie until the namespace ends.
// The init here is a fork of the container's first process, made in the child just before
// execve (the child is single-threaded, so fork is safe). It forwards every signal it can catch
// to the command, reaps every child, and exits with the command's status (128+N for signal N).

nonisolated(unsafe) private var initCommand: pid_t = 0

/// Forks: returns in the child, which goes on to exec the command; the parent stays as init and never returns.
func startInit() throws {
    // Signals wait until init has its handlers (and the command its default ones).
    var all = sigset_t()
    var previous = sigset_t()
    sigfillset(&all)
    sigprocmask(SIG_SETMASK, &all, &previous)
    let pid = fork()
    if pid < 0 {
        sigprocmask(SIG_SETMASK, &previous, nil)
        throw SystemCallError("fork (--init)")
    }
    if pid == 0 {
        // The command. On a terminal it gets its own process group in the foreground,
        // so Ctrl-C reaches it (once) and not init. (SIGTTOU is blocked here, as tcsetpgrp needs.)
        if isatty(STDIN_FILENO) == 1 {
            setpgid(0, 0)
            tcsetpgrp(STDIN_FILENO, getpid())
        }
        sigprocmask(SIG_SETMASK, &previous, nil)
        return
    }
    // Init keeps no descriptor but the container's stdio: the error pipe must close when the
    // command exec's, or the runtime would wait for it forever.
    if ws_close_range(3, UInt32.max, 0) != 0 {
        for fd in 3..<1024 { close(Int32(fd)) }
    }
    initCommand = pid
    for number: Int32 in 1..<32 where ![SIGKILL, SIGSTOP, SIGCHLD].contains(number) {
        if [SIGTTIN, SIGTTOU, SIGTSTP].contains(number) {
            signal(number, SIG_IGN)   // init itself must never stop
            continue
        }
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { number in kill(initCommand, number) }
        action.sa_flags = SA_RESTART
        sigaction(number, &action, nil)
    }
    sigprocmask(SIG_SETMASK, &previous, nil)
    var exitCode: Int32 = Failure.runtimeExitCode
    while true {
        var status: Int32 = 0
        let reaped = waitpid(-1, &status, 0)
        if reaped < 0 {
            if errno == EINTR { continue }
            break   // ECHILD: nobody left
        }
        if reaped == pid {
            exitCode = ws_signaled(status) != 0 ? 128 + ws_term_signal(status) : ws_exit_status(status)
            // Reap what is already dead; when init exits, the kernel kills the rest of the namespace.
            while waitpid(-1, &status, WNOHANG) > 0 {}
            break
        }
    }
    _exit(exitCode)
}
