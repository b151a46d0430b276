// Package.swift defines _GNU_SOURCE for this target: without it <sched.h> has no clone()
// or CLONE_*, and pipe2, prlimit, TIOCGPTPEER users fail in confusing ways further down.
#ifndef _GNU_SOURCE
#error "CLinux must be compiled with _GNU_SOURCE (Package.swift: cSettings: [.define(\"_GNU_SOURCE\")])"
#endif

#include "CLinux.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/bpf.h>
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
          WS_CLONE_NEWCGROUP = CLONE_NEWCGROUP;

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
          WS_PR_SET_NO_NEW_PRIVS = PR_SET_NO_NEW_PRIVS;

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
const long WS_CGROUP2_SUPER_MAGIC = CGROUP2_SUPER_MAGIC;

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
                    WS_MS_REC = MS_REC, WS_MS_PRIVATE = MS_PRIVATE, WS_MS_STRICTATIME = MS_STRICTATIME;
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

// Syscall numbers differ per architecture; the kernel headers (<asm/unistd.h>) know this one's.
// Every call the filter names is listed here, and a name without a number here fails the
// build ("undeclared __NR_..."), so no name is ever dropped silently.
//
// Calls newer than the oldest headers the kit builds with (Ubuntu 22.04: Linux 5.15, up to
// 448). Since Linux 5.1 (424) every architecture gives a new call the same number, so the
// numbers below hold on x86_64 and aarch64 alike (kernel's scripts/syscall.tbl).
#ifndef __NR_futex_waitv
#define __NR_futex_waitv 449            /* 5.16 */
#endif
#ifndef __NR_set_mempolicy_home_node
#define __NR_set_mempolicy_home_node 450 /* 5.17 */
#endif
#ifndef __NR_cachestat
#define __NR_cachestat 451              /* 6.5 */
#endif
#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452              /* 6.6 */
#endif
#ifndef __NR_map_shadow_stack
#define __NR_map_shadow_stack 453       /* 6.6 */
#endif
#ifndef __NR_futex_wake
#define __NR_futex_wake 454             /* 6.7 */
#endif
#ifndef __NR_futex_wait
#define __NR_futex_wait 455
#endif
#ifndef __NR_futex_requeue
#define __NR_futex_requeue 456
#endif
#ifndef __NR_statmount
#define __NR_statmount 457              /* 6.8 */
#endif
#ifndef __NR_listmount
#define __NR_listmount 458
#endif
#ifndef __NR_lsm_get_self_attr
#define __NR_lsm_get_self_attr 459
#endif
#ifndef __NR_lsm_set_self_attr
#define __NR_lsm_set_self_attr 460
#endif
#ifndef __NR_lsm_list_modules
#define __NR_lsm_list_modules 461
#endif
#ifndef __NR_mseal
#define __NR_mseal 462                  /* 6.10 */
#endif
#ifndef __NR_setxattrat
#define __NR_setxattrat 463             /* 6.13 */
#endif
#ifndef __NR_getxattrat
#define __NR_getxattrat 464
#endif
#ifndef __NR_listxattrat
#define __NR_listxattrat 465
#endif
#ifndef __NR_removexattrat
#define __NR_removexattrat 466
#endif
#ifndef __NR_open_tree_attr
#define __NR_open_tree_attr 467         /* 6.15: the newest call the kit knows */
#endif
#if defined(__x86_64__) && !defined(__NR_uretprobe)
#define __NR_uretprobe 335              /* 6.11, x86_64 only */
#endif

#define ENTRY(n) {#n, __NR_##n},
static const struct { const char *name; int number; } syscall_table[] = {
    // Calls every architecture has (alphabetical).
    ENTRY(accept) ENTRY(accept4) ENTRY(acct) ENTRY(add_key) ENTRY(adjtimex) ENTRY(bind) ENTRY(bpf) ENTRY(brk)
    ENTRY(cachestat) ENTRY(capget) ENTRY(capset) ENTRY(chdir) ENTRY(chroot) ENTRY(clock_adjtime)
    ENTRY(clock_getres) ENTRY(clock_gettime) ENTRY(clock_nanosleep) ENTRY(clock_settime) ENTRY(clone)
    ENTRY(clone3) ENTRY(close) ENTRY(close_range) ENTRY(connect) ENTRY(copy_file_range) ENTRY(delete_module)
    ENTRY(dup) ENTRY(dup3) ENTRY(epoll_create1) ENTRY(epoll_ctl) ENTRY(epoll_pwait) ENTRY(epoll_pwait2)
    ENTRY(eventfd2) ENTRY(execve) ENTRY(execveat) ENTRY(exit) ENTRY(exit_group) ENTRY(faccessat)
    ENTRY(faccessat2) ENTRY(fadvise64) ENTRY(fallocate) ENTRY(fanotify_init) ENTRY(fanotify_mark)
    ENTRY(fchdir) ENTRY(fchmod) ENTRY(fchmodat) ENTRY(fchmodat2) ENTRY(fchown) ENTRY(fchownat) ENTRY(fcntl)
    ENTRY(fdatasync) ENTRY(fgetxattr) ENTRY(finit_module) ENTRY(flistxattr) ENTRY(flock) ENTRY(fremovexattr)
    ENTRY(fsconfig) ENTRY(fsetxattr) ENTRY(fsmount) ENTRY(fsopen) ENTRY(fspick) ENTRY(fstat) ENTRY(fstatfs)
    ENTRY(fsync) ENTRY(ftruncate) ENTRY(futex) ENTRY(futex_requeue) ENTRY(futex_wait) ENTRY(futex_waitv)
    ENTRY(futex_wake) ENTRY(get_mempolicy) ENTRY(get_robust_list) ENTRY(getcpu) ENTRY(getcwd)
    ENTRY(getdents64) ENTRY(getegid) ENTRY(geteuid) ENTRY(getgid) ENTRY(getgroups) ENTRY(getitimer)
    ENTRY(getpeername) ENTRY(getpgid) ENTRY(getpid) ENTRY(getppid) ENTRY(getpriority) ENTRY(getrandom)
    ENTRY(getresgid) ENTRY(getresuid) ENTRY(getrlimit) ENTRY(getrusage) ENTRY(getsid) ENTRY(getsockname)
    ENTRY(getsockopt) ENTRY(gettid) ENTRY(gettimeofday) ENTRY(getuid) ENTRY(getxattr) ENTRY(getxattrat)
    ENTRY(init_module) ENTRY(inotify_add_watch) ENTRY(inotify_init1) ENTRY(inotify_rm_watch) ENTRY(io_cancel)
    ENTRY(io_destroy) ENTRY(io_getevents) ENTRY(io_pgetevents) ENTRY(io_setup) ENTRY(io_submit)
    ENTRY(io_uring_enter) ENTRY(io_uring_register) ENTRY(io_uring_setup) ENTRY(ioctl) ENTRY(ioprio_get)
    ENTRY(ioprio_set) ENTRY(kcmp) ENTRY(kexec_file_load) ENTRY(kexec_load) ENTRY(keyctl) ENTRY(kill)
    ENTRY(landlock_add_rule) ENTRY(landlock_create_ruleset) ENTRY(landlock_restrict_self) ENTRY(lgetxattr)
    ENTRY(linkat) ENTRY(listen) ENTRY(listmount) ENTRY(listxattr) ENTRY(listxattrat) ENTRY(llistxattr)
    ENTRY(lookup_dcookie) ENTRY(lremovexattr) ENTRY(lseek) ENTRY(lsetxattr) ENTRY(lsm_get_self_attr)
    ENTRY(lsm_list_modules) ENTRY(lsm_set_self_attr) ENTRY(madvise) ENTRY(map_shadow_stack) ENTRY(mbind)
    ENTRY(membarrier) ENTRY(memfd_create) ENTRY(memfd_secret) ENTRY(migrate_pages) ENTRY(mincore)
    ENTRY(mkdirat) ENTRY(mknodat) ENTRY(mlock) ENTRY(mlock2) ENTRY(mlockall) ENTRY(mmap) ENTRY(mount)
    ENTRY(mount_setattr) ENTRY(move_mount) ENTRY(move_pages) ENTRY(mprotect) ENTRY(mq_getsetattr)
    ENTRY(mq_notify) ENTRY(mq_open) ENTRY(mq_timedreceive) ENTRY(mq_timedsend) ENTRY(mq_unlink) ENTRY(mremap)
    ENTRY(mseal) ENTRY(msgctl) ENTRY(msgget) ENTRY(msgrcv) ENTRY(msgsnd) ENTRY(msync) ENTRY(munlock)
    ENTRY(munlockall) ENTRY(munmap) ENTRY(name_to_handle_at) ENTRY(nanosleep) ENTRY(newfstatat)
    ENTRY(open_by_handle_at) ENTRY(open_tree) ENTRY(open_tree_attr) ENTRY(openat) ENTRY(openat2)
    ENTRY(perf_event_open) ENTRY(personality) ENTRY(pidfd_getfd) ENTRY(pidfd_open) ENTRY(pidfd_send_signal)
    ENTRY(pipe2) ENTRY(pivot_root) ENTRY(pkey_alloc) ENTRY(pkey_free) ENTRY(pkey_mprotect) ENTRY(ppoll)
    ENTRY(prctl) ENTRY(pread64) ENTRY(preadv) ENTRY(preadv2) ENTRY(prlimit64) ENTRY(process_madvise)
    ENTRY(process_mrelease) ENTRY(process_vm_readv) ENTRY(process_vm_writev) ENTRY(pselect6) ENTRY(ptrace)
    ENTRY(pwrite64) ENTRY(pwritev) ENTRY(pwritev2) ENTRY(quotactl) ENTRY(quotactl_fd) ENTRY(read)
    ENTRY(readahead) ENTRY(readlinkat) ENTRY(readv) ENTRY(reboot) ENTRY(recvfrom) ENTRY(recvmmsg)
    ENTRY(recvmsg) ENTRY(remap_file_pages) ENTRY(removexattr) ENTRY(removexattrat) ENTRY(renameat)
    ENTRY(renameat2) ENTRY(request_key) ENTRY(restart_syscall) ENTRY(rseq) ENTRY(rt_sigaction)
    ENTRY(rt_sigpending) ENTRY(rt_sigprocmask) ENTRY(rt_sigqueueinfo) ENTRY(rt_sigreturn) ENTRY(rt_sigsuspend)
    ENTRY(rt_sigtimedwait) ENTRY(rt_tgsigqueueinfo) ENTRY(sched_get_priority_max)
    ENTRY(sched_get_priority_min) ENTRY(sched_getaffinity) ENTRY(sched_getattr) ENTRY(sched_getparam)
    ENTRY(sched_getscheduler) ENTRY(sched_rr_get_interval) ENTRY(sched_setaffinity) ENTRY(sched_setattr)
    ENTRY(sched_setparam) ENTRY(sched_setscheduler) ENTRY(sched_yield) ENTRY(seccomp) ENTRY(semctl)
    ENTRY(semget) ENTRY(semop) ENTRY(semtimedop) ENTRY(sendfile) ENTRY(sendmmsg) ENTRY(sendmsg) ENTRY(sendto)
    ENTRY(set_mempolicy) ENTRY(set_mempolicy_home_node) ENTRY(set_robust_list) ENTRY(set_tid_address)
    ENTRY(setdomainname) ENTRY(setfsgid) ENTRY(setfsuid) ENTRY(setgid) ENTRY(setgroups) ENTRY(sethostname)
    ENTRY(setitimer) ENTRY(setns) ENTRY(setpgid) ENTRY(setpriority) ENTRY(setregid) ENTRY(setresgid)
    ENTRY(setresuid) ENTRY(setreuid) ENTRY(setrlimit) ENTRY(setsid) ENTRY(setsockopt) ENTRY(settimeofday)
    ENTRY(setuid) ENTRY(setxattr) ENTRY(setxattrat) ENTRY(shmat) ENTRY(shmctl) ENTRY(shmdt) ENTRY(shmget)
    ENTRY(shutdown) ENTRY(sigaltstack) ENTRY(signalfd4) ENTRY(socket) ENTRY(socketpair) ENTRY(splice)
    ENTRY(statfs) ENTRY(statmount) ENTRY(statx) ENTRY(swapoff) ENTRY(swapon) ENTRY(symlinkat) ENTRY(sync)
    ENTRY(sync_file_range) ENTRY(syncfs) ENTRY(sysinfo) ENTRY(syslog) ENTRY(tee) ENTRY(tgkill)
    ENTRY(timer_create) ENTRY(timer_delete) ENTRY(timer_getoverrun) ENTRY(timer_gettime) ENTRY(timer_settime)
    ENTRY(timerfd_create) ENTRY(timerfd_gettime) ENTRY(timerfd_settime) ENTRY(times) ENTRY(tkill)
    ENTRY(truncate) ENTRY(umask) ENTRY(umount2) ENTRY(uname) ENTRY(unlinkat) ENTRY(unshare) ENTRY(userfaultfd)
    ENTRY(utimensat) ENTRY(vhangup) ENTRY(vmsplice) ENTRY(wait4) ENTRY(waitid) ENTRY(write) ENTRY(writev)
#if defined(__x86_64__)
    // Calls only x86_64 has: aarch64 uses the kernel's generic table, which has only the
    // newer forms (openat, not open; clone, not fork...). SeccompFilter.swift lists them too.
    ENTRY(access) ENTRY(alarm) ENTRY(arch_prctl) ENTRY(chmod) ENTRY(chown) ENTRY(creat) ENTRY(dup2)
    ENTRY(epoll_create) ENTRY(epoll_ctl_old) ENTRY(epoll_wait) ENTRY(epoll_wait_old) ENTRY(eventfd)
    ENTRY(fork) ENTRY(futimesat) ENTRY(get_thread_area) ENTRY(getdents) ENTRY(getpgrp) ENTRY(inotify_init)
    ENTRY(ioperm) ENTRY(iopl) ENTRY(lchown) ENTRY(link) ENTRY(lstat) ENTRY(mkdir) ENTRY(mknod)
    ENTRY(modify_ldt) ENTRY(open) ENTRY(pause) ENTRY(pipe) ENTRY(poll) ENTRY(readlink) ENTRY(rename)
    ENTRY(rmdir) ENTRY(select) ENTRY(set_thread_area) ENTRY(signalfd) ENTRY(stat) ENTRY(symlink) ENTRY(time)
    ENTRY(unlink) ENTRY(uretprobe) ENTRY(utime) ENTRY(utimes) ENTRY(vfork)
#endif
};
#undef ENTRY

int ws_syscall_at(size_t index, const char **name) {
    if (index >= sizeof syscall_table / sizeof syscall_table[0]) return -1;
    *name = syscall_table[index].name;
    return syscall_table[index].number;
}

int ws_install_seccomp_filter(const struct sock_filter *filter, unsigned short count) {
    struct sock_fprog program = {count, (struct sock_filter *)filter};
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0);
}

// ── bpf(2) ──
static long ws_bpf(int command, union bpf_attr *attr) {
#ifdef SYS_bpf
    return syscall(SYS_bpf, command, attr, sizeof *attr);
#else
    errno = ENOSYS;
    return -1;
#endif
}

int ws_bpf_load_device_program(const uint64_t *instructions, uint32_t count, const char *license,
                               const char *name, char *log, uint32_t log_size) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = (uint64_t)(uintptr_t)instructions;
    attr.insn_cnt = count;
    attr.license = (uint64_t)(uintptr_t)license;
    strncpy(attr.prog_name, name, sizeof attr.prog_name - 1);
    if (log_size > 0) {
        attr.log_buf = (uint64_t)(uintptr_t)log;
        attr.log_size = log_size;
        attr.log_level = 1;
        log[0] = 0;
    }
    return (int)ws_bpf(BPF_PROG_LOAD, &attr);
}

int ws_bpf_attach_device_program(int program_fd, int cgroup_fd) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.target_fd = (uint32_t)cgroup_fd;
    attr.attach_bpf_fd = (uint32_t)program_fd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    return (int)ws_bpf(BPF_PROG_ATTACH, &attr);
}

int ws_bpf_attached_device_programs(int cgroup_fd, uint32_t *ids, uint32_t capacity) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.query.target_fd = (uint32_t)cgroup_fd;
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
    attr.query.prog_cnt = capacity;
    if (ws_bpf(BPF_PROG_QUERY, &attr) != 0) return -1;
    return (int)attr.query.prog_cnt;
}

int ws_bpf_program_id(int program_fd, uint32_t *id) {
    struct bpf_prog_info info;
    memset(&info, 0, sizeof info);
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.info.bpf_fd = (uint32_t)program_fd;
    attr.info.info_len = sizeof info;
    attr.info.info = (uint64_t)(uintptr_t)&info;
    if (ws_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr) != 0) return -1;
    *id = info.id;
    return 0;
}

// ── The process boundary ──
#include <sys/resource.h>
#include <termios.h>

int ws_pty_open_master(const char *ptmx) {
    int master = open(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) return -1;
    int unlock = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) != 0) {
        int saved = errno;
        close(master);
        errno = saved;
        return -1;
    }
    return master;
}

int ws_pty_open_peer(int master) {
    return ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
}

int ws_set_controlling_terminal(int fd) { return ioctl(fd, TIOCSCTTY, 0); }

int ws_copy_window_size(int from, int to) {
    struct winsize size;
    if (ioctl(from, TIOCGWINSZ, &size) != 0) return -1;
    return ioctl(to, TIOCSWINSZ, &size);
}

int ws_send_fd(int socket, int fd) {
    char byte = 'T';
    struct iovec data = {&byte, 1};
    union { struct cmsghdr header; char space[CMSG_SPACE(sizeof(int))]; } control;
    memset(&control, 0, sizeof control);
    struct msghdr message = {0};
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    message.msg_control = control.space;
    message.msg_controllen = sizeof control.space;
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(header), &fd, sizeof(int));
    ssize_t sent;
    do { sent = sendmsg(socket, &message, MSG_NOSIGNAL); } while (sent < 0 && errno == EINTR);
    return sent == 1 ? 0 : -1;
}

int ws_receive_fd(int socket) {
    char byte;
    struct iovec data = {&byte, 1};
    union { struct cmsghdr header; char space[CMSG_SPACE(sizeof(int))]; } control;
    struct msghdr message = {0};
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    message.msg_control = control.space;
    message.msg_controllen = sizeof control.space;
    ssize_t got;
    do { got = recvmsg(socket, &message, MSG_CMSG_CLOEXEC | MSG_DONTWAIT); } while (got < 0 && errno == EINTR);
    if (got != 1) { if (got == 0) errno = ENOMSG; return -1; }
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    if (!header || header->cmsg_type != SCM_RIGHTS) { errno = ENOMSG; return -1; }
    int fd;
    memcpy(&fd, CMSG_DATA(header), sizeof(int));
    return fd;
}

int ws_socketpair_cloexec(int fds[2]) { return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds); }

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
const int WS_CLOSE_RANGE_CLOEXEC = CLOSE_RANGE_CLOEXEC;

int ws_close_range(unsigned int first, unsigned int last, int flags) {
#ifdef SYS_close_range
    return (int)syscall(SYS_close_range, first, last, flags);
#else
    errno = ENOSYS;
    return -1;
#endif
}

int ws_prlimit(pid_t pid, int resource, uint64_t soft, uint64_t hard) {
    struct rlimit limit = {soft, hard};
    return prlimit(pid, resource, &limit, NULL);
}

const uint64_t WS_RLIM_INFINITY = RLIM_INFINITY;

int ws_rlimit_resource(const char *name) {
    static const struct { const char *name; int resource; } table[] = {
        {"core", RLIMIT_CORE}, {"cpu", RLIMIT_CPU}, {"data", RLIMIT_DATA}, {"fsize", RLIMIT_FSIZE},
        {"locks", RLIMIT_LOCKS}, {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE},
        {"nice", RLIMIT_NICE}, {"nofile", RLIMIT_NOFILE}, {"nproc", RLIMIT_NPROC}, {"rss", RLIMIT_RSS},
        {"rtprio", RLIMIT_RTPRIO}, {"rttime", RLIMIT_RTTIME}, {"sigpending", RLIMIT_SIGPENDING},
        {"stack", RLIMIT_STACK},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].name, name) == 0) return table[i].resource;
    return -1;
}

int ws_has_exited(pid_t pid) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return 1;
    return info.si_pid == pid;
}
