/* vmprobe: tiny static helper for guest-smoke.sh (busybox has no seccomp or
 * setuid-then-unshare tool).  Built by run.sh with `cc -static`.
 *   vmprobe seccomp   install a filter (uname -> EPERM), check it bites
 *   vmprobe userns    drop to uid/gid 65534, unshare(CLONE_NEWUSER|CLONE_NEWNS),
 *                     map 0 -> 65534, mount a tmpfs as "root" of the new userns
 *   vmprobe pty       open /dev/ptmx, grantpt/unlockpt, report the slave name
 * Prints one line "ok ..." or "error ..." and exits 0 / 1. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

static int seccomp_status(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int v = -1;
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Seccomp: %d", &v) == 1) break;
    fclose(f);
    return v;
}

static int probe_seccomp(void) {
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_uname, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { .len = sizeof filter / sizeof filter[0], .filter = filter };
    struct utsname u;
    int before = seccomp_status();
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) { printf("error no_new_privs: %s\n", strerror(errno)); return 1; }
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
        printf("error seccomp(SET_MODE_FILTER): %s\n", strerror(errno)); return 1;
    }
    int r = uname(&u);
    int e = errno;
    int after = seccomp_status();
    if (r == 0 || e != EPERM) { printf("error uname not blocked (r=%d errno=%d)\n", r, e); return 1; }
    printf("ok uname->EPERM, other syscalls allowed, Seccomp: %d->%d\n", before, after);
    return 0;
}

static int write_file(const char *path, const char *s) {
    int fd = open(path, O_WRONLY);
    if (fd < 0) return -1;
    ssize_t n = write(fd, s, strlen(s));
    close(fd);
    return n == (ssize_t)strlen(s) ? 0 : -1;
}

static int probe_userns(void) {
    if (getuid() == 0) {
        if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534)) {
            printf("error dropping to 65534: %s\n", strerror(errno)); return 1;
        }
        /* Changing credentials cleared "dumpable", which makes the files of /proc/self root-owned. */
        prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    }
    uid_t outer = getuid();
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
        printf("error unshare(CLONE_NEWUSER|CLONE_NEWNS) as uid %d: %s\n", outer, strerror(errno)); return 1;
    }
    char m[64];
    snprintf(m, sizeof m, "0 %d 1\n", outer);
    if (write_file("/proc/self/setgroups", "deny") || write_file("/proc/self/uid_map", m) ||
        write_file("/proc/self/gid_map", m)) {
        printf("error writing id maps: %s\n", strerror(errno)); return 1;
    }
    if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", "/mnt", "tmpfs", 0, "size=1m") != 0) {
        printf("error mount in userns: %s\n", strerror(errno)); return 1;
    }
    printf("ok outer_uid=%d inner_uid=%d tmpfs-mount-in-userns\n", outer, getuid());
    return 0;
}

static int probe_pty(void) {
    int fd = posix_openpt(O_RDWR | O_NOCTTY);
    if (fd < 0) { printf("error posix_openpt: %s\n", strerror(errno)); return 1; }
    if (grantpt(fd) || unlockpt(fd)) { printf("error grantpt/unlockpt: %s\n", strerror(errno)); return 1; }
    char *name = ptsname(fd);
    int s = name ? open(name, O_RDWR | O_NOCTTY) : -1;
    if (s < 0) { printf("error open slave %s: %s\n", name ? name : "?", strerror(errno)); return 1; }
    printf("ok master=/dev/ptmx slave=%s\n", name);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 2 && !strcmp(argv[1], "seccomp")) return probe_seccomp();
    if (argc == 2 && !strcmp(argv[1], "userns")) return probe_userns();
    if (argc == 2 && !strcmp(argv[1], "pty")) return probe_pty();
    fprintf(stderr, "usage: vmprobe seccomp|userns|pty\n");
    return 2;
}
