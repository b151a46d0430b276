#include "CLinux.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

const int WS_CLONE_NEWNS = CLONE_NEWNS, WS_CLONE_NEWUTS = CLONE_NEWUTS, WS_CLONE_NEWIPC = CLONE_NEWIPC,
          WS_CLONE_NEWPID = CLONE_NEWPID, WS_CLONE_NEWNET = CLONE_NEWNET, WS_CLONE_NEWUSER = CLONE_NEWUSER,
          WS_CLONE_NEWCGROUP = CLONE_NEWCGROUP, WS_CLONE_NEWTIME = 0x00000080;
#ifdef CLONE_INTO_CGROUP
const int WS_CLONE_INTO_CGROUP_SUPPORTED = 1;
#else
const int WS_CLONE_INTO_CGROUP_SUPPORTED = 0;
#endif

enum { child_stack_size = 8 << 20 };

pid_t ws_clone(int flags, int (*fn)(void *), void *arg) {
    // The child gets its own copy of this mapping (no CLONE_VM), so it is never unmapped under it.
    void *stack = mmap(NULL, child_stack_size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) return -1;
    pid_t pid = clone(fn, (char *)stack + child_stack_size, flags, arg);
    int saved = errno;
    munmap(stack, child_stack_size);
    errno = saved;
    return pid;
}

pid_t ws_clone3_into_cgroup(uint64_t flags, int cgroup_fd, int (*fn)(void *), void *arg) {
#if defined(CLONE_INTO_CGROUP) && defined(SYS_clone3)
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = flags | CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = (uint64_t)cgroup_fd;
    // Without CLONE_VM, clone3 behaves like fork: the child continues here on a copy of our stack.
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) _exit(fn(arg));
    return (pid_t)pid;
#else
    errno = ENOSYS;
    return -1;
#endif
}

int ws_pivot_root(const char *new_root, const char *put_old) {
    return (int)syscall(SYS_pivot_root, new_root, put_old);
}
int ws_prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5) {
    return prctl(option, a2, a3, a4, a5);
}
int ws_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    errno = ENOSYS;
    return -1;
#endif
}

int ws_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

const int WS_PR_SET_PDEATHSIG = PR_SET_PDEATHSIG, WS_PR_CAPBSET_DROP = PR_CAPBSET_DROP,
          WS_PR_CAPBSET_READ = PR_CAPBSET_READ, WS_PR_CAP_AMBIENT = PR_CAP_AMBIENT,
          WS_PR_CAP_AMBIENT_CLEAR_ALL = PR_CAP_AMBIENT_CLEAR_ALL,
          WS_PR_SET_NO_NEW_PRIVS = PR_SET_NO_NEW_PRIVS, WS_PR_SET_SECCOMP = PR_SET_SECCOMP,
          WS_SECCOMP_MODE_FILTER = SECCOMP_MODE_FILTER;

int ws_capset(uint64_t effective, uint64_t permitted, uint64_t inheritable) {
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2] = {
        {(uint32_t)effective, (uint32_t)permitted, (uint32_t)inheritable},
        {(uint32_t)(effective >> 32), (uint32_t)(permitted >> 32), (uint32_t)(inheritable >> 32)},
    };
    return (int)syscall(SYS_capset, &header, data);
}
int ws_capget(uint64_t *effective, uint64_t *permitted, uint64_t *inheritable) {
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &header, data) != 0) return -1;
    *effective = data[0].effective | (uint64_t)data[1].effective << 32;
    *permitted = data[0].permitted | (uint64_t)data[1].permitted << 32;
    *inheritable = data[0].inheritable | (uint64_t)data[1].inheritable << 32;
    return 0;
}

long ws_filesystem_magic(const char *path) {
    struct statfs buf;
    if (statfs(path, &buf) != 0) return -1;
    return (long)buf.f_type;
}
const long WS_CGROUP2_SUPER_MAGIC = CGROUP2_SUPER_MAGIC, WS_TMPFS_MAGIC = TMPFS_MAGIC,
           WS_CGROUP_SUPER_MAGIC = CGROUP_SUPER_MAGIC;

int ws_exited(int status) { return WIFEXITED(status); }
int ws_exit_status(int status) { return WEXITSTATUS(status); }
int ws_signaled(int status) { return WIFSIGNALED(status); }
int ws_term_signal(int status) { return WTERMSIG(status); }
dev_t ws_makedev(unsigned int major, unsigned int minor) { return makedev(major, minor); }

int ws_link_up(const char *name) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strncpy(request.ifr_name, name, IFNAMSIZ - 1);
    int result = ioctl(fd, SIOCGIFFLAGS, &request);
    if (result == 0) {
        request.ifr_flags |= IFF_UP;
        result = ioctl(fd, SIOCSIFFLAGS, &request);
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return result;
}

const unsigned long WS_MS_RDONLY = MS_RDONLY, WS_MS_NOSUID = MS_NOSUID, WS_MS_NODEV = MS_NODEV,
                    WS_MS_NOEXEC = MS_NOEXEC, WS_MS_REMOUNT = MS_REMOUNT, WS_MS_BIND = MS_BIND,
                    WS_MS_REC = MS_REC, WS_MS_PRIVATE = MS_PRIVATE, WS_MS_SLAVE = MS_SLAVE,
                    WS_MS_STRICTATIME = MS_STRICTATIME, WS_MS_RELATIME = MS_RELATIME;
const int WS_MNT_DETACH = MNT_DETACH;

#if defined(__x86_64__)
const uint32_t WS_AUDIT_ARCH = AUDIT_ARCH_X86_64;
const uint32_t WS_X32_SYSCALL_BIT = 0x40000000;
#elif defined(__aarch64__)
const uint32_t WS_AUDIT_ARCH = AUDIT_ARCH_AARCH64;
const uint32_t WS_X32_SYSCALL_BIT = 0;
#else
#error "the workshop supports x86_64 and aarch64"
#endif

// Syscall numbers differ per architecture; <sys/syscall.h> knows this one's.
#define ENTRY(n) {#n, SYS_##n},
static const struct { const char *name; int number; } syscall_table[] = {
    ENTRY(acct) ENTRY(add_key) ENTRY(bpf) ENTRY(clock_adjtime) ENTRY(clock_settime) ENTRY(clone)
    ENTRY(clone3) ENTRY(delete_module) ENTRY(finit_module) ENTRY(fsconfig) ENTRY(fsmount)
    ENTRY(fsopen) ENTRY(fspick) ENTRY(init_module) ENTRY(kexec_file_load) ENTRY(kexec_load)
    ENTRY(keyctl) ENTRY(lookup_dcookie) ENTRY(mount) ENTRY(mount_setattr) ENTRY(move_mount)
    ENTRY(name_to_handle_at) ENTRY(open_by_handle_at) ENTRY(open_tree) ENTRY(perf_event_open)
    ENTRY(pivot_root) ENTRY(quotactl) ENTRY(reboot) ENTRY(request_key) ENTRY(setns)
    ENTRY(settimeofday) ENTRY(swapoff) ENTRY(swapon) ENTRY(syslog) ENTRY(umount2) ENTRY(unshare)
    ENTRY(userfaultfd) ENTRY(vhangup) ENTRY(ptrace) ENTRY(getpid)
#ifdef SYS_iopl
    ENTRY(iopl) ENTRY(ioperm)
#endif
#ifdef SYS_kcmp
    ENTRY(kcmp)
#endif
};

int ws_syscall_number(const char *name) {
    for (size_t i = 0; i < sizeof syscall_table / sizeof syscall_table[0]; i++)
        if (strcmp(syscall_table[i].name, name) == 0) return syscall_table[i].number;
    return -1;
}

int ws_install_seccomp_filter(const struct sock_filter *filter, unsigned short count) {
    struct sock_fprog program = {count, (struct sock_filter *)filter};
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0);
}
