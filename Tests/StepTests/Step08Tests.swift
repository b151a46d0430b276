import Foundation
import XCTest

/// step08-seccomp: the hand-written BPF filter and no_new_privs.
final class Step08Tests: StepTestCase {
    func testSeccompIsOn() throws {
        let running = try start("step08-seccomp", ["sleep", "2"])
        let pid = try containerPID(running, step: "step08-seccomp")
        XCTAssertEqual(statusField(pid, "Seccomp"), "2", "step08-seccomp: Seccomp in /proc/\(pid)/status (2: a filter)")
        XCTAssertEqual(statusField(pid, "NoNewPrivs"), "1", "step08-seccomp: NoNewPrivs in /proc/\(pid)/status")
        let result = stopContainer(running, pid)
        XCTAssertEqual(result.status, 137, "step08-seccomp: exit status of sleep SIGKILLed from the host: \(result.stderr)")
    }

    func testNamespaceCallsAreRefused() throws {
        let result = try run("step08-seccomp", ["unshare", "-U", "true"])
        XCTAssertNotEqual(result.status, 0, "step08-seccomp: exit status of unshare -U true (refused by the filter)")
        expect(result.stderr.contains("Operation not permitted"), step: "step08-seccomp", property: "unshare -U's error",
               expected: "Operation not permitted", seen: result.stderr)
    }

    /// A static C probe, placed into the running container from the host, makes the calls
    /// itself and prints what the kernel (or the filter) answered.
    func testTheAllowListRefusesWhatDockerRefuses() throws {
        let probe = try buildProbe()
        let confined = try runProbe(probe, in: "step08-seccomp")
        var expected = """
            syscall-minus-1: ENOSYS
            newer-than-the-kit: ENOSYS
            keyctl: EPERM
            clone-newuser: EPERM
            clone-newuts: EPERM
            clone-plain: ok
            personality-read-implies-exec: EPERM
            socket-vsock: EPERM
            socket-inet: ok

            """
        #if arch(x86_64)
        // The 32-bit ABI (int 0x80) and x32: other numbers for the same calls, so the filter kills.
        expected += "int80-getpid: killed by signal \(SIGSYS)\nx32-getpid: killed by signal \(SIGSYS)\n"
        #endif
        XCTAssertEqual(confined.stdout, expected, "step08-seccomp: the probe's calls and what the kernel answered: \(confined.stderr)")
        XCTAssertEqual(confined.status, 0, "step08-seccomp: the probe's exit status: \(confined.stderr)")

        // step07 is step08 without the filter: there the kernel answers the same calls.
        let kernel = try runProbe(probe, in: "step07-userns")
        let answers = lines(kernel.stdout)
        XCTAssertEqual(kernel.status, 0, "step07-userns: the probe's exit status: \(kernel.stderr)")
        XCTAssertEqual(answers["syscall-minus-1"], "ENOSYS", "step07-userns (no filter): the kernel's answer to syscall(-1)")
        XCTAssertEqual(answers["keyctl"], "ok", "step07-userns (no filter): keyctl (the session keyring's id)")
        XCTAssertEqual(answers["clone-newuser"], "ok", "step07-userns (no filter): clone(CLONE_NEWUSER)")
        XCTAssertEqual(answers["clone-newuts"], "EPERM", "step07-userns: clone(CLONE_NEWUTS) (no CAP_SYS_ADMIN in step07 either: the capability refuses it)")
        XCTAssertEqual(answers["personality-read-implies-exec"], "ok", "step07-userns (no filter): personality(READ_IMPLIES_EXEC)")
        XCTAssertNotEqual(answers["socket-vsock"], "EPERM", "step07-userns (no filter): socket(AF_VSOCK), the kernel's answer")
        #if arch(x86_64)
        XCTAssertEqual(answers["int80-getpid"], "survived", "step07-userns (no filter): getpid through int 0x80 (32-bit calls work)")
        #endif
        // file_getattr (Linux 6.17) exists on newer kernels: there the kernel answers, not ENOSYS.
        if kernelVersion() >= (6, 17) {
            XCTAssertNotEqual(answers["newer-than-the-kit"], "ENOSYS", "step07-userns (no filter): a call newer than the kit on Linux 6.17+: \(kernel.stdout)")
        }

        // step08 unconfined (with SYS_ADMIN for the UTS namespace): the filter made the difference.
        let free = try runProbe(probe, in: "step08-seccomp", options: ["--security-opt", "seccomp=unconfined",
                                                                        "--cap-add", "SYS_ADMIN"])
        let unconfined = lines(free.stdout)
        for call in ["keyctl", "clone-newuser", "clone-newuts", "clone-plain", "personality-read-implies-exec", "socket-inet"] {
            XCTAssertEqual(unconfined[call], "ok", "step08-seccomp --security-opt seccomp=unconfined --cap-add SYS_ADMIN: \(call)")
        }
        #if arch(x86_64)
        XCTAssertEqual(unconfined["int80-getpid"], "survived", "step08-seccomp unconfined: getpid through int 0x80")
        #endif
        XCTAssertEqual(free.status, 0, "step08-seccomp unconfined: the probe's exit status: \(free.stderr)")
    }

    func testMountIsRefusedEvenWithSysAdmin() throws {
        let result = try run("step08-seccomp", ["--cap-add", "SYS_ADMIN", "--", "/bin/sh", "-c",
                                                "mount -t tmpfs none /mnt; grep -c ' /mnt ' /proc/self/mountinfo"])
        XCTAssertEqual(result.stdout, "0\n", "step08-seccomp --cap-add SYS_ADMIN: mounts at /mnt after mount -t tmpfs (the filter refuses mount): \(result.stderr)")
        // In step07, SYS_ADMIN alone is enough: the filter is what refuses it here.
        let step07 = try run("step07-userns", ["--cap-add", "SYS_ADMIN", "--", "/bin/sh", "-c",
                                               "mount -t tmpfs none /mnt && grep -c ' /mnt ' /proc/self/mountinfo"])
        XCTAssertEqual(step07.stdout, "1\n", "step07-userns --cap-add SYS_ADMIN: mounts at /mnt after mount -t tmpfs (no filter): \(step07.stderr)")
    }

    func testOrdinaryCommandsWork() throws {
        let out = try shell("step08-seccomp", """
            ls / >/dev/null && ps >/dev/null && sh -c 'echo sub' && cat /etc/alpine-release | cut -c1-2 && \
            sleep 0.1 && date +%Y >/dev/null && wget --help 2>&1 | head -1 | cut -c1-7 && apk --version | cut -c1-9
            """)
        XCTAssertEqual(out, "sub\n3.\nBusyBox\napk-tools\n", "step08-seccomp: what ls, ps, sh, cat, sleep, date, wget and apk print under the filter")
    }

    func testUnconfinedAllowsUnshare() throws {
        XCTAssertNotEqual(try run("step08-seccomp", ["unshare", "-U", "true"]).status, 0, "step08-seccomp: exit status of unshare -U true (refused)")
        let unconfined = try run("step08-seccomp", ["--security-opt", "seccomp=unconfined", "--", "unshare", "-U", "true"])
        XCTAssertEqual(unconfined.status, 0, "step08-seccomp --security-opt seccomp=unconfined: exit status of unshare -U true: \(unconfined.stderr)")
        let step07 = try run("step07-userns", ["unshare", "-U", "true"])
        XCTAssertEqual(step07.status, 0, "step07-userns: exit status of unshare -U true (allowed: the filter makes the difference): \(step07.stderr)")
        let result = try run("step08-seccomp", ["--security-opt", "apparmor=foo", "true"])
        XCTAssertEqual(result.status, 64, "step08-seccomp --security-opt apparmor=foo: exit status (usage error): \(result.stderr)")
    }

    /// Copies a file into a running container's /tmp from the host. Host root is
    /// not mapped in the container's user namespace, so it cannot create files in its
    /// overlay; nsenter joins the container's user and mount namespaces (not its seccomp filter).
    private func place(_ file: String, into pid: pid_t) throws {
        let copy = Process()
        copy.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
        copy.arguments = ["--target", "\(pid)", "--user", "--mount", "--root", "--wd", "--",
                          "/bin/sh", "-c", "cat > /tmp/probe.part && chmod 755 /tmp/probe.part && mv /tmp/probe.part /tmp/probe"]
        copy.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: file))
        try copy.run()
        copy.waitUntilExit()
        XCTAssertEqual(copy.terminationStatus, 0, "could not place \(file) in the container")
    }

    /// Starts a step whose command waits for /tmp/probe, places the probe there, and waits.
    private func runProbe(_ probe: String, in step: String, options: [String] = []) throws -> RunResult {
        let running = try start(step, options + ["--", "/bin/sh", "-c",
                                                 "while [ ! -x /tmp/probe ]; do sleep 0.05; done; /tmp/probe"])
        try place(probe, into: try containerPID(running, step: step))
        return running.wait()
    }

    private func lines(_ output: String) -> [String: String] {
        var answers: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { answers[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        return answers
    }

    private func kernelVersion() -> (Int, Int) {
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let numbers = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return (numbers.first ?? 0, numbers.count > 1 ? numbers[1] : 0)
    }

    /// A static C program (gcc -static runs inside Alpine) that makes the calls directly,
    /// not through a libc wrapper that might fall back or refuse by itself.
    private func buildProbe() throws -> String {
        let directory = NSTemporaryDirectory() + "workshop-probe-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
        let source = """
            #define _GNU_SOURCE
            #include <errno.h>
            #include <sched.h>
            #include <signal.h>
            #include <stdio.h>
            #include <string.h>
            #include <sys/personality.h>
            #include <sys/socket.h>
            #include <sys/syscall.h>
            #include <sys/wait.h>
            #include <unistd.h>
            static void report(const char *name, long result) {
                if (result >= 0) printf("%s: ok\\n", name);
                else if (errno == EPERM) printf("%s: EPERM\\n", name);
                else if (errno == ENOSYS) printf("%s: ENOSYS\\n", name);
                else printf("%s: errno %d\\n", name, errno);
                fflush(stdout);
            }
            static void clone_with(const char *name, long flags) {
                errno = 0;
                long pid = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
                if (pid == 0) _exit(0);
                if (pid > 0) waitpid(pid, 0, 0);
                report(name, pid);
            }
            /* Calls that a filter may answer by killing: made in a child, whose end is reported. */
            static void in_child(const char *name, void (*call)(void)) {
                pid_t pid = fork();
                if (pid == 0) { call(); _exit(0); }
                int status;
                waitpid(pid, &status, 0);
                if (WIFSIGNALED(status)) printf("%s: killed by signal %d\\n", name, WTERMSIG(status));
                else printf("%s: survived\\n", name);
                fflush(stdout);
            }
            #if defined(__x86_64__)
            static void int80_getpid(void) {   /* the i386 ABI: getpid is 20 there */
                long result;
                __asm__ volatile("int $0x80" : "=a"(result) : "a"(20L) : "memory");
            }
            static void x32_getpid(void) { syscall(0x40000000L | SYS_getpid); }
            #endif
            int main(void) {
                errno = 0;
                report("syscall-minus-1", syscall(-1L));   /* no call at all: ENOSYS, with or without a filter */
                /* 468, file_getattr (Linux 6.17): one past open_tree_attr, the newest call the kit names */
                report("newer-than-the-kit", syscall(468L, -1L, 0L, 0L, 0L, 0L));
                report("keyctl", syscall(SYS_keyctl, 0L /* KEYCTL_GET_KEYRING_ID */, -3L /* session */, 0L));
                clone_with("clone-newuser", CLONE_NEWUSER);
                clone_with("clone-newuts", CLONE_NEWUTS);
                clone_with("clone-plain", 0);
                report("personality-read-implies-exec", syscall(SYS_personality, (long)READ_IMPLIES_EXEC));
                long fd = socket(AF_VSOCK, SOCK_STREAM, 0);
                report("socket-vsock", fd);
                if (fd >= 0) close(fd);
                fd = socket(AF_INET, SOCK_DGRAM, 0);
                report("socket-inet", fd);
                if (fd >= 0) close(fd);
            #if defined(__x86_64__)   /* aarch64 has no x32, and a 64-bit binary cannot make AArch32 calls */
                in_child("int80-getpid", int80_getpid);
                in_child("x32-getpid", x32_getpid);
            #endif
                return 0;
            }
            """
        return try buildStaticProbe(source, named: "probe", in: directory)
    }
}
