import CLinux
import Glibc

/// Sets the container's setrlimit(2) limits from the host, before it runs (step05).
///
/// A cgroup limits the container as a whole; an rlimit limits each process (open files,
/// core size, stack...), and is inherited across fork and exec. Without this the container
/// gets whatever the caller had (`ulimit -n` of a root shell may be 20000 or a million).
/// The runtime sets them with prlimit(2) while the child waits on the sync pipe: from outside,
/// with the runtime's privileges, so a hard limit can be raised even for a container whose root
/// is an unprivileged host user (step07), which could not raise it itself (if the runtime has CAP_SYS_RESOURCE).
public func applyResourceLimits(_ limits: [ResourceLimit], to pid: pid_t) throws {
    for limit in limits where ws_prlimit(pid, limit.resource, limit.soft, limit.hard) != 0 {
        let reason = String(cString: strerror(errno))
        throw Failure("--ulimit \(limit): \(reason)" + (errno == EPERM
            ? " (above the runtime's own hard limit, and it lacks CAP_SYS_RESOURCE: see ulimit -H)" : ""))
    }
}
