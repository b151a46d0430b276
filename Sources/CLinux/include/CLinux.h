// CLinux: the Linux interfaces Swift's Glibc module does not expose, and nothing else.
//
// Why this exists: Glibc's Swift module hides clone and the CLONE_* flags (they need
// _GNU_SOURCE), pivot_root, capset, pidfd_open, close_range and bpf (no libc wrapper:
// only syscall(2), which is variadic and so not callable from Swift), prctl and ioctl
// (variadic), statfs magic numbers and the WIFEXITED family (macros), and everything
// built around a C struct or union Swift imports awkwardly (clone_args, bpf_attr,
// ifreq, the SCM_RIGHTS control message). Most shims are one call; the struct-filling
// ones a dozen lines. Each declaration below says why it is here. The lessons stay in Swift.
// Every export is used by Workshop, a step or a chapter's exercise: add one only with its first caller.
#pragma once
#include <stdint.h>
#include <sys/types.h>
#include <linux/filter.h>

// Namespace and clone flags (<sched.h> defines them only under _GNU_SOURCE).
extern const int WS_CLONE_NEWNS, WS_CLONE_NEWUTS, WS_CLONE_NEWIPC, WS_CLONE_NEWPID,
    WS_CLONE_NEWNET, WS_CLONE_NEWUSER, WS_CLONE_NEWCGROUP;

/// clone(2) through glibc's wrapper: the child runs fn(arg) on a fresh stack
/// and exits with its return value. Returns the child's PID or -1 (errno).
pid_t ws_clone(int flags, int (*fn)(void *), void *arg);

/// clone3(2) with CLONE_INTO_CGROUP: the child is born inside the cgroup v2
/// directory cgroup_fd, so it never runs outside the limits. Returns -1 with
/// errno (ENOSYS, E2BIG, EINVAL...) when the kernel cannot, so callers fall back.
pid_t ws_clone3_into_cgroup(uint64_t flags, int cgroup_fd, int (*fn)(void *), void *arg);

/// pivot_root(2): no glibc wrapper.
int ws_pivot_root(const char *new_root, const char *put_old);
/// prctl(2) is variadic in C.
int ws_prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5);
/// pidfd_open(2): no wrapper in older glibc. -1 with ENOSYS before Linux 5.3.
int ws_pidfd_open(pid_t pid);
/// pipe2(O_CLOEXEC) (pipe2 needs _GNU_SOURCE): both ends close on exec, so the error pipe
/// reports a successful exec as EOF.
int ws_pipe_cloexec(int fds[2]);

// prctl options used by the steps (<sys/prctl.h> is not in Glibc's module).
extern const int WS_PR_SET_PDEATHSIG, WS_PR_CAPBSET_DROP, WS_PR_CAPBSET_READ, WS_PR_CAP_AMBIENT,
    WS_PR_CAP_AMBIENT_CLEAR_ALL, WS_PR_SET_NO_NEW_PRIVS;

/// capset(2), ABI version 3 (no glibc wrapper): two 32-bit words per set, so capabilities
/// 32..63 (CAP_SYSLOG, CAP_BPF, CAP_CHECKPOINT_RESTORE...) are in word 1.
int ws_capset(uint64_t effective, uint64_t permitted, uint64_t inheritable);
/// capget(2), the same layout. No step calls it: chapter 03's exercise does (give up CAP_SYS_CHROOT).
int ws_capget(uint64_t *effective, uint64_t *permitted, uint64_t *inheritable);

/// statfs(2)'s f_type (struct statfs is not in Glibc's module): how runc tells cgroup v2
/// (0x63677270) from the tmpfs that holds v1 hierarchies.
long ws_filesystem_magic(const char *path);
extern const long WS_CGROUP2_SUPER_MAGIC;

// <sys/wait.h>'s WIFEXITED family are macros (chapter 01 names them; the runtime asks
// ws_signaled first, so ws_exited is the one a learner's own wait loop uses).
int ws_exited(int status);
int ws_exit_status(int status);
int ws_signaled(int status);
int ws_term_signal(int status);

/// makedev(3) is a macro (major and minor numbers packed as this libc does).
dev_t ws_makedev(unsigned int major, unsigned int minor);

/// SIOCSIFFLAGS needs struct ifreq and a variadic ioctl: bring an interface (lo) up in this netns.
int ws_link_up(const char *name);

// Mount flags: Glibc's module imports MS_* (an enum in <sys/mount.h>) as Int, but mount(2)
// takes an unsigned long: these have its type, so flags combine without a conversion each.
extern const unsigned long WS_MS_RDONLY, WS_MS_NOSUID, WS_MS_NODEV, WS_MS_NOEXEC, WS_MS_REMOUNT,
    WS_MS_BIND, WS_MS_REC, WS_MS_PRIVATE, WS_MS_STRICTATIME;
extern const int WS_MNT_DETACH;

// seccomp: the filter is written in Swift; these are the kernel's numbers.
/// This architecture's AUDIT_ARCH_* value (the first thing a filter checks).
extern const uint32_t WS_AUDIT_ARCH;
/// Syscalls with this bit set on x86_64 are the x32 ABI, which a filter must also refuse.
extern const uint32_t WS_X32_SYSCALL_BIT;
/// Entry `index` of the kit's syscall table (name, number on this architecture),
/// from the kernel headers: the number, with *name set; -1 past the end.
int ws_syscall_at(size_t index, const char **name);
/// prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &sock_fprog): variadic, and the program header is a C struct.
int ws_install_seccomp_filter(const struct sock_filter *filter, unsigned short count);

// bpf(2): no glibc wrapper, and its argument is a large union (union bpf_attr) that
// Swift imports awkwardly; these fill it in. The program itself is written in Swift
// (DeviceFilter.swift): each instruction is passed as the 8 bytes of one struct bpf_insn.
/// bpf(BPF_PROG_LOAD) of a BPF_PROG_TYPE_CGROUP_DEVICE program. Returns its fd, or -1 with
/// errno; then, if log_size > 0, the verifier's explanation is in log.
int ws_bpf_load_device_program(const uint64_t *instructions, uint32_t count, const char *license,
                               const char *name, char *log, uint32_t log_size);
/// bpf(BPF_PROG_ATTACH, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI) to a cgroup v2 directory.
int ws_bpf_attach_device_program(int program_fd, int cgroup_fd);
/// bpf(BPF_PROG_QUERY, BPF_CGROUP_DEVICE): the IDs of the device programs attached to the
/// directory itself (not its parents'). Returns how many there are, or -1 with errno.
int ws_bpf_attached_device_programs(int cgroup_fd, uint32_t *ids, uint32_t capacity);
/// bpf(BPF_OBJ_GET_INFO_BY_FD): the kernel's ID for a loaded program.
int ws_bpf_program_id(int program_fd, uint32_t *id);

// ── The process boundary: terminals, descriptors, resource limits ──
// ioctl(2) and the SCM_RIGHTS control message are variadic or macro-built in C.

/// Opens a pty master at `ptmx` (O_NOCTTY, close-on-exec) and unlocks its peer. -1 with errno.
int ws_pty_open_master(const char *ptmx);
/// The peer (slave) of a pty master, opened through the master (TIOCGPTPEER), so it works
/// whatever /dev/pts the caller sees. -1 with errno.
int ws_pty_open_peer(int master);
/// TIOCSCTTY: make the terminal `fd` the calling session leader's controlling terminal.
int ws_set_controlling_terminal(int fd);
/// TIOCGWINSZ on `from`, TIOCSWINSZ on `to`.
int ws_copy_window_size(int from, int to);
/// Sends / receives one descriptor over a unix socket (SCM_RIGHTS), as runc's --console-socket.
int ws_send_fd(int socket, int fd);
int ws_receive_fd(int socket);
/// A connected pair of unix stream sockets, close-on-exec.
int ws_socketpair_cloexec(int fds[2]);
/// close_range(2) (Linux 5.9; CLOSE_RANGE_CLOEXEC 5.11): -1 with errno when the kernel lacks it.
int ws_close_range(unsigned int first, unsigned int last, int flags);
extern const int WS_CLOSE_RANGE_CLOEXEC;
/// prlimit(2) on another process (the runtime sets its child's limits before it runs);
/// glibc declares it only under _GNU_SOURCE.
int ws_prlimit(pid_t pid, int resource, uint64_t soft, uint64_t hard);
extern const uint64_t WS_RLIM_INFINITY;
/// The RLIMIT_* number for Docker's --ulimit name ("nofile", "nproc", "core"...), or -1.
int ws_rlimit_resource(const char *name);
/// 1 when the child `pid` has exited (it stays a zombie: waitid WNOWAIT), 0 when not yet.
/// (siginfo_t's si_pid is inside a union Swift cannot reach by name.)
int ws_has_exited(pid_t pid);
