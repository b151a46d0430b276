import Foundation
import XCTest

/// step08-seccomp: the hand-written BPF filter and no_new_privs.
final class Step08Tests: StepTestCase {
    func testSeccompIsOn() throws {
        let running = try start("step08-seccomp", ["sleep", "2"])
        let pid = try XCTUnwrap(running.containerPID())
        XCTAssertEqual(statusField(pid, "Seccomp"), "2")
        XCTAssertEqual(statusField(pid, "NoNewPrivs"), "1")
        XCTAssertEqual(stopContainer(running, pid).status, 137)
    }

    func testNamespaceCallsAreRefused() throws {
        let result = try run("step08-seccomp", ["unshare", "-U", "true"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("Operation not permitted"), result.stderr)
        // A namespace-creating clone(2), made by a static probe placed in the container from the host.
        let probe = try buildCloneProbe()
        let running = try start("step08-seccomp", ["/bin/sh", "-c", "while [ ! -x /tmp/probe ]; do sleep 0.05; done; /tmp/probe"])
        try place(probe, into: try XCTUnwrap(running.containerPID()))
        let probed = running.wait()
        XCTAssertEqual(probed.stdout, "syscall-minus-1: Function not implemented\nclone-newuts: Operation not permitted\n", probed.stderr)
        XCTAssertEqual(probed.status, 128 + SIGSYS, "an x32 call must kill the process")
        // Without the filter (and everything else equal) the same probe succeeds: the filter stopped it.
        let unconfined = try start("step08-seccomp", ["--security-opt", "seccomp=unconfined", "--cap-add", "SYS_ADMIN",
                                                      "--", "/bin/sh", "-c", "while [ ! -x /tmp/probe ]; do sleep 0.05; done; /tmp/probe"])
        try place(probe, into: try XCTUnwrap(unconfined.containerPID()))
        let free = unconfined.wait()
        XCTAssertEqual(free.stdout, "syscall-minus-1: Function not implemented\nclone-newuts: ok\nclone-plain: ok\nx32: survived\n")
        XCTAssertEqual(free.status, 0)
    }

    func testMountIsRefusedEvenWithSysAdmin() throws {
        let result = try run("step08-seccomp", ["--cap-add", "SYS_ADMIN", "--", "/bin/sh", "-c",
                                                "mount -t tmpfs none /mnt; grep -c ' /mnt ' /proc/self/mountinfo"])
        XCTAssertEqual(result.stdout, "0\n", result.stderr)
        // In step07, SYS_ADMIN alone is enough: the filter is what refuses it here.
        XCTAssertEqual(try run("step07-userns", ["--cap-add", "SYS_ADMIN", "--", "/bin/sh", "-c",
                                                 "mount -t tmpfs none /mnt && grep -c ' /mnt ' /proc/self/mountinfo"]).stdout, "1\n")
    }

    func testOrdinaryCommandsWork() throws {
        let out = try shell("step08-seccomp", "ls / >/dev/null && ps >/dev/null && sh -c 'echo sub' && wget --help 2>&1 | head -1 | cut -c1-7 && apk --version | cut -c1-9")
        XCTAssertEqual(out, "sub\nBusyBox\napk-tools\n")
    }

    func testUnconfinedAllowsUnshare() throws {
        XCTAssertNotEqual(try run("step08-seccomp", ["unshare", "-U", "true"]).status, 0)
        XCTAssertEqual(try run("step08-seccomp", ["--security-opt", "seccomp=unconfined", "--", "unshare", "-U", "true"]).status, 0)
        XCTAssertEqual(try run("step07-userns", ["unshare", "-U", "true"]).status, 0, "step07 allows it: the filter makes the difference")
        let result = try run("step08-seccomp", ["--security-opt", "apparmor=foo", "true"])
        XCTAssertEqual(result.status, 64)
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

    /// A static C program (gcc -static runs inside Alpine) that calls clone(2) directly.
    private func buildCloneProbe() throws -> String {
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
            #include <sys/syscall.h>
            #include <sys/wait.h>
            #include <unistd.h>
            static int try(const char *name, long flags) {
                long pid = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
                if (pid == 0) _exit(0);
                if (pid < 0) { printf("%s: %s\\n", name, strerror(errno)); return 1; }
                waitpid(pid, 0, 0);
                printf("%s: ok\\n", name);
                return 0;
            }
            int main(void) {
                errno = 0;
                syscall(-1L);   /* no call at all: ENOSYS, with or without a filter */
                printf("syscall-minus-1: %s\\n", strerror(errno));
                if (try("clone-newuts", CLONE_NEWUTS) == 0) try("clone-plain", 0);
                fflush(stdout);
                syscall(0x40000000L | SYS_getpid);   /* the x32 ABI: the filter kills the process */
                printf("x32: survived\\n");
                return 0;
            }
            """
        try source.write(toFile: directory + "/probe.c", atomically: true, encoding: .utf8)
        let gcc = Process()
        gcc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        gcc.arguments = ["gcc", "-static", "-O2", "-o", directory + "/probe", directory + "/probe.c"]
        try gcc.run()
        gcc.waitUntilExit()
        XCTAssertEqual(gcc.terminationStatus, 0, "gcc -static failed (apt-get install gcc libc6-dev)")
        return directory + "/probe"
    }
}
