import CLinux
import Glibc

/// step08's lesson: a seccomp BPF program, written by hand.
///
/// The kernel runs it on every system call the container makes, with a
/// `struct seccomp_data` as input:
///
///     offset 0   int   nr                   the system call number
///     offset 4   u32   arch                 AUDIT_ARCH_X86_64, AUDIT_ARCH_AARCH64...
///     offset 8   u64   instruction_pointer
///     offset 16  u64   args[6]              (args[0]'s low 32 bits at 16: little-endian)
///
/// and the program's return value decides: allow, fail with an errno, or kill.
public enum SeccompFilter {
    /// Calls an unprivileged container has no business making: Docker's default
    /// profile refuses them (without CAP_SYS_ADMIN & co, which step06 dropped anyway:
    /// the filter is a second wall, and it also covers kernel bugs behind them).
    public static let deniedSyscalls = [
        // kernel keyrings are not namespaced: keys would leak between containers
        "keyctl", "add_key", "request_key",
        // replacing or extending the running kernel
        "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
        // (un)mounting and moving roots: the container could undo step04. The new
        // mount API (fsopen...) is another way to mount, so it goes too.
        "mount", "umount2", "pivot_root", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount",
        "open_tree", "mount_setattr",
        // new namespaces, or joining others ("clone" with namespace flags is checked below)
        "unshare", "setns",
        // file handles bypass the mount tree (the 2014 "shocker" escape)
        "open_by_handle_at", "name_to_handle_at",
        // in-kernel programs and profiling: large attack surface, host-wide view
        "bpf", "perf_event_open", "userfaultfd", "lookup_dcookie",
        // the machine's clock, swap, accounting, power and kernel log are host-wide
        "settimeofday", "clock_settime", "clock_adjtime", "swapon", "swapoff", "acct", "reboot", "syslog",
        "quotactl", "vhangup", "iopl", "ioperm",
        // ptrace is allowed, as Docker allows it on kernels >= 4.8: since then a
        // traced process cannot use it to get around its seccomp filter, and a
        // container can only trace its own processes. That keeps strace and gdb working.
    ]

    /// clone(2) flags that create namespaces. (CLONE_NEWTIME is 0x80, inside
    /// clone's exit-signal byte, so clone cannot ask for it; unshare is denied anyway.)
    public static var namespaceFlags: UInt32 {
        UInt32(bitPattern: WS_CLONE_NEWNS | WS_CLONE_NEWUTS | WS_CLONE_NEWIPC | WS_CLONE_NEWUSER
            | WS_CLONE_NEWPID | WS_CLONE_NEWNET | WS_CLONE_NEWCGROUP)
    }

    // Return values (linux/seccomp.h).
    static let killProcess: UInt32 = 0x8000_0000
    static let allow: UInt32 = 0x7fff_0000
    static func fail(_ errno: Int32) -> UInt32 { 0x0005_0000 | UInt32(errno & 0xffff) }   // SECCOMP_RET_ERRNO

    // Classic BPF opcodes (linux/bpf_common.h).
    static let loadWord: UInt16 = 0x20        // BPF_LD | BPF_W | BPF_ABS: A = data[k]
    static let jumpIfEqual: UInt16 = 0x15     // BPF_JMP | BPF_JEQ | BPF_K
    static let jumpIfAbove: UInt16 = 0x35     // BPF_JMP | BPF_JGE | BPF_K
    static let jumpIfAnyBit: UInt16 = 0x45    // BPF_JMP | BPF_JSET | BPF_K
    static let returnValue: UInt16 = 0x06     // BPF_RET | BPF_K

    /// The program. Jumps are relative ("skip n instructions"), so it is laid
    /// out with the shared return instructions at the end and the distances counted.
    public static func program() -> [sock_filter] {
        let denied = deniedSyscalls.map { ws_syscall_number($0) }.filter { $0 >= 0 }
        let clone = UInt32(ws_syscall_number("clone"))
        let clone3 = UInt32(ws_syscall_number("clone3"))

        var code: [sock_filter] = []
        // 1. Architecture first: syscall numbers mean different calls on other
        //    ABIs (x86 32-bit, x32), so anything not native is killed.
        code.append(sock_filter(code: loadWord, jt: 0, jf: 0, k: 4))
        code.append(sock_filter(code: jumpIfEqual, jt: 1, jf: 0, k: WS_AUDIT_ARCH))
        code.append(sock_filter(code: returnValue, jt: 0, jf: 0, k: killProcess))
        // 2. The call's number.
        code.append(sock_filter(code: loadWord, jt: 0, jf: 0, k: 0))
        if WS_X32_SYSCALL_BIT != 0 {
            // x32 calls are x86_64 numbers with bit 30 set: same arch value, other ABI.
            // Number -1 (0xffffffff) is above that bit too, but it is no call at all: the
            // kernel answers ENOSYS, and tracers and libc probes use it, so libseccomp
            // and runc let it through. So do we.
            code.append(sock_filter(code: jumpIfEqual, jt: 0, jf: 1, k: 0xffff_ffff))
            code.append(sock_filter(code: returnValue, jt: 0, jf: 0, k: fail(ENOSYS)))
            code.append(sock_filter(code: jumpIfAbove, jt: 0, jf: 1, k: WS_X32_SYSCALL_BIT))
            code.append(sock_filter(code: returnValue, jt: 0, jf: 0, k: killProcess))
        }
        // 3. clone3 passes its flags in memory, which BPF cannot read: answer ENOSYS,
        //    and libc falls back to clone, whose flags are a register we can check.
        code.append(sock_filter(code: jumpIfEqual, jt: 0, jf: 1, k: clone3))
        code.append(sock_filter(code: returnValue, jt: 0, jf: 0, k: fail(ENOSYS)))
        // 4. clone: refuse it only when its flags (args[0]) ask for a namespace.
        code.append(sock_filter(code: jumpIfEqual, jt: 0, jf: 4, k: clone))
        code.append(sock_filter(code: loadWord, jt: 0, jf: 0, k: 16))
        code.append(sock_filter(code: jumpIfAnyBit, jt: 0, jf: 1, k: namespaceFlags))
        code.append(sock_filter(code: returnValue, jt: 0, jf: 0, k: fail(EPERM)))
        code.append(sock_filter(code: returnValue, jt: 0, jf: 0, k: allow))
        // 5. The deny list: each equal number jumps to the EPERM return after the list.
        for (index, number) in denied.enumerated() {
            let distance = UInt8(denied.count - index)   // skip the rest of the list and the allow
            code.append(sock_filter(code: jumpIfEqual, jt: distance, jf: 0, k: UInt32(number)))
        }
        // 6. Everything else is allowed, so Alpine's tools work.
        code.append(sock_filter(code: returnValue, jt: 0, jf: 0, k: allow))
        code.append(sock_filter(code: returnValue, jt: 0, jf: 0, k: fail(EPERM)))
        return code
    }

    /// Installs the filter on this process; it is inherited across fork and exec,
    /// and can never be removed. Needs no_new_privs (or CAP_SYS_ADMIN) first.
    public static func install(_ program: [sock_filter]) throws {
        try program.withUnsafeBufferPointer { buffer in
            try check(ws_install_seccomp_filter(buffer.baseAddress, UInt16(buffer.count)), "install the seccomp filter")
        }
    }
}
