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
///
/// The policy is an allow list: the calls Docker's default profile allows a container
/// with Docker's 14 default capabilities. Everything else fails with EPERM, and calls
/// newer than the kit (numbered above every call it names) with ENOSYS, as runc does,
/// so that libc falls back to an older call. A deny list would let next year's calls through.
public enum SeccompFilter {
    // MARK: The policy

    /// The calls a container may make, whatever their arguments.
    ///
    /// Source: moby/profiles `seccomp/default.json` at tag seccomp/v0.2.3 (commit 836ae4d,
    /// 2026-05-06), the copy moby/moby vendors (b985e23, 2026-08). Docker computes the
    /// profile for the container's capabilities; this is it for the 14 of
    /// `CapabilitySet.dockerDefault`, fixed: `--cap-add SYS_ADMIN` does not open `mount`.
    public static let allowedSyscalls: [String] = profileAllowList + [
        // The profile allows these on kernels >= 4.8 (the kit needs 5.11): since 4.8 the kernel
        // runs the filter again after a tracer changed a call, so ptrace cannot get around it.
        // A container can only trace its own processes, and strace and gdb keep working.
        "ptrace", "process_vm_readv", "process_vm_writev",
        // The profile allows it to containers with CAP_SYS_CHROOT, one of the 14.
        "chroot",
        // The profile allows these on x86 only.
        "arch_prctl", "modify_ldt",
    ]

    /// The profile's unconditional list, in its (alphabetical) order, less the names only
    /// 32-bit ABIs have (chown32, _llseek, socketcall, the *_time64 calls...): the filter
    /// kills those ABIs outright. clone, clone3, socket and personality are not on it:
    /// the profile allows them only with some arguments (`checkedSyscalls`).
    static let profileAllowList = [
        "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget", "capset",
        "chdir", "chmod", "chown", "clock_adjtime", "clock_getres", "clock_gettime", "clock_nanosleep",
        "close", "close_range", "connect", "copy_file_range", "creat", "dup", "dup2", "dup3",
        "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2",
        "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group",
        "faccessat", "faccessat2", "fadvise64", "fallocate", "fanotify_mark", "fchdir", "fchmod",
        "fchmodat", "fchmodat2", "fchown", "fchownat", "fcntl", "fdatasync", "fgetxattr", "flistxattr",
        "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstatfs", "fsync", "ftruncate", "futex",
        "futex_requeue", "futex_wait", "futex_waitv", "futex_wake", "futimesat", "getcpu", "getcwd",
        "getdents", "getdents64", "getegid", "geteuid", "getgid", "getgroups", "getitimer", "getpeername",
        "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid", "getresuid",
        "getrlimit", "get_robust_list", "getrusage", "getsid", "getsockname", "getsockopt",
        "get_thread_area", "gettid", "gettimeofday", "getuid", "getxattr", "getxattrat",
        "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl",
        "io_destroy", "io_getevents", "io_pgetevents", "ioprio_get", "ioprio_set", "io_setup", "io_submit",
        "kill", "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown",
        "lgetxattr", "link", "linkat", "listen", "listmount", "listxattr", "listxattrat", "llistxattr",
        "lremovexattr", "lseek", "lsetxattr", "lstat", "madvise", "map_shadow_stack", "membarrier",
        "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock",
        "mlock2", "mlockall", "mmap", "mprotect", "mq_getsetattr", "mq_notify", "mq_open",
        "mq_timedreceive", "mq_timedsend", "mq_unlink", "mremap", "mseal", "msgctl", "msgget", "msgrcv",
        "msgsnd", "msync", "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep",
        "newfstatat", "open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe",
        "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "prctl", "pread64", "preadv",
        "preadv2", "prlimit64", "process_mrelease", "pselect6", "pwrite64", "pwritev", "pwritev2", "read",
        "readahead", "readlink", "readlinkat", "readv", "recvfrom", "recvmmsg", "recvmsg",
        "remap_file_pages", "removexattr", "removexattrat", "rename", "renameat", "renameat2",
        "restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
        "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_tgsigqueueinfo",
        "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_get_priority_max",
        "sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval", "sched_setaffinity",
        "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select",
        "semctl", "semget", "semop", "semtimedop", "sendfile", "sendmmsg", "sendmsg", "sendto", "setfsgid",
        "setfsuid", "setgid", "setgroups", "setitimer", "setpgid", "setpriority", "setregid", "setresgid",
        "setresuid", "setreuid", "setrlimit", "set_robust_list", "setsid", "setsockopt", "set_thread_area",
        "set_tid_address", "setuid", "setxattr", "setxattrat", "shmat", "shmctl", "shmdt", "shmget",
        "shutdown", "sigaltstack", "signalfd", "signalfd4", "socketpair", "splice", "stat", "statfs",
        "statmount", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee",
        "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
        "timer_settime", "timerfd_create", "timerfd_gettime", "timerfd_settime", "times", "tkill",
        "truncate", "umask", "uname", "unlink", "unlinkat", "uretprobe", "utime", "utimensat", "utimes",
        "vfork", "vmsplice", "wait4", "waitid", "write", "writev",
    ]

    /// Allowed with their arguments checked, as in the profile (part 4 of the program).
    public static let checkedSyscalls = [
        "clone",        // only without CLONE_NEW* flags: no new namespaces
        "clone3",       // ENOSYS: its flags are in memory, BPF cannot read them; libc falls back to clone
        "socket",       // every address family but AF_ALG (38) and AF_VSOCK (40)
        "personality",  // only the 5 values in `allowedPersonalities` (no READ_IMPLIES_EXEC...)
    ]

    /// Calls the kit knows and refuses (EPERM, like every call not allowed). Listing them
    /// changes nothing in the program but the newest number it knows; the tests check each one.
    public static let refusedSyscalls = [
        // The profile allows these only with a capability Docker does not give by default
        // (SYS_ADMIN, SYS_MODULE, SYS_PTRACE, SYS_TIME, SYS_NICE, DAC_READ_SEARCH...).
        // Mounting with either API, namespaces, and seeing or changing host-wide state:
        "mount", "umount2", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree",
        "mount_setattr", "unshare", "setns", "sethostname", "setdomainname", "quotactl", "quotactl_fd",
        "bpf", "perf_event_open", "fanotify_init", "lookup_dcookie", "syslog",
        "lsm_get_self_attr", "lsm_set_self_attr", "lsm_list_modules",
        "init_module", "finit_module", "delete_module", "reboot", "acct", "vhangup",
        "settimeofday", "clock_settime",
        // Reading or steering other processes' memory and files (SYS_PTRACE).
        "kcmp", "pidfd_getfd", "process_madvise",
        // NUMA memory placement: host-wide (SYS_NICE).
        "mbind", "set_mempolicy", "get_mempolicy", "set_mempolicy_home_node",
        // Files by handle, bypassing the mount tree: the 2014 "shocker" escape (DAC_READ_SEARCH).
        "open_by_handle_at",
        // Not in the profile at all: kernel keyrings are not namespaced, kexec replaces the
        // kernel, swap and pivot_root are the host's, userfaultfd and io_uring are large attack
        // surfaces, move_pages/migrate_pages move other processes' memory.
        "keyctl", "add_key", "request_key", "kexec_load", "kexec_file_load", "swapon", "swapoff",
        "pivot_root", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
        "move_pages", "migrate_pages",
        // Linux 6.15, newer than the profile: open_tree with mount attributes, a way around the
        // /proc masks of chapter 04. The newest call the kit knows: higher numbers get ENOSYS.
        "open_tree_attr",
        // x86 I/O ports (SYS_RAWIO).
        "iopl", "ioperm",
    ]

    /// The names above that this architecture does not have. Every other name must have a
    /// number in shim.c's table (`ws_syscall_at`); a unit test checks both ways, so none is dropped silently.
    #if arch(x86_64)
    public static let absentOnThisArchitecture: Set<String> = []
    #elseif arch(arm64)
    public static let absentOnThisArchitecture: Set<String> = [
        // aarch64 uses the kernel's generic table, which has only the newer forms of the
        // old calls: openat, not open; pipe2, not pipe; clone, not fork...
        "access", "alarm", "chmod", "chown", "creat", "dup2", "epoll_create", "epoll_ctl_old",
        "epoll_wait", "epoll_wait_old", "eventfd", "fork", "futimesat", "get_thread_area", "getdents",
        "getpgrp", "inotify_init", "lchown", "link", "lstat", "mkdir", "mknod", "open", "pause", "pipe",
        "poll", "readlink", "rename", "rmdir", "select", "set_thread_area", "signalfd", "stat",
        "symlink", "time", "unlink", "utime", "utimes", "vfork",
        // x86's own: thread areas, I/O ports, the uretprobe trampoline.
        "arch_prctl", "modify_ldt", "iopl", "ioperm", "uretprobe",
    ]
    #else
    #error("the workshop supports x86_64 and aarch64")
    #endif

    /// clone(2) flags that create namespaces (the profile's mask 0x7e020000). CLONE_NEWTIME
    /// is 0x80, inside clone's exit-signal byte, so only clone3 and unshare can ask for it.
    public static var namespaceFlags: UInt32 {
        UInt32(bitPattern: WS_CLONE_NEWNS | WS_CLONE_NEWUTS | WS_CLONE_NEWIPC | WS_CLONE_NEWUSER
            | WS_CLONE_NEWPID | WS_CLONE_NEWNET | WS_CLONE_NEWCGROUP)
    }

    /// personality(2) values the profile allows: PER_LINUX, PER_LINUX32, UNAME26,
    /// PER_LINUX32|UNAME26, and 0xffffffff, which only asks for the current value.
    /// READ_IMPLIES_EXEC (0x400000, every readable page executable) and friends are refused.
    public static let allowedPersonalities: [UInt32] = [0x0, 0x8, 0x2_0000, 0x2_0008, 0xffff_ffff]

    /// socket(2) families the profile refuses: AF_ALG (the kernel's crypto API) and
    /// AF_VSOCK (sockets to the hypervisor and its other guests).
    public static let refusedAddressFamilies: [UInt32] = [38, 40]

    /// A call's number on this architecture (nil: it has none, see absentOnThisArchitecture).
    public static func number(of name: String) -> UInt32? { numbers[name] }

    /// shim.c's table (from the kernel headers), read once: the filter looks up ~700 names,
    /// and a dictionary keeps that at microseconds of every container's start.
    private static let numbers: [String: UInt32] = {
        var numbers: [String: UInt32] = [:]
        var name: UnsafePointer<CChar>?
        var index = 0
        while case let number = ws_syscall_at(index, &name), number >= 0, let name {
            numbers[String(cString: name)] = UInt32(number)
            index += 1
        }
        return numbers
    }()

    /// The calls this architecture has that the filter allows (checked ones included).
    public static var allowedHere: [String] {
        (allowedSyscalls + ["clone", "socket", "personality"]).filter { number(of: $0) != nil }
    }

    /// The highest call number the kit knows. Calls above it are newer than the kit: ENOSYS.
    public static var newestKnownNumber: UInt32 {
        (allowedSyscalls + checkedSyscalls + refusedSyscalls).compactMap { number(of: $0) }.max()!
    }

    // MARK: Return values (linux/seccomp.h) and classic BPF opcodes (linux/bpf_common.h)

    public static let killProcess: UInt32 = 0x8000_0000
    public static let allow: UInt32 = 0x7fff_0000
    public static func fail(_ errno: Int32) -> UInt32 { 0x0005_0000 | UInt32(errno & 0xffff) }   // SECCOMP_RET_ERRNO

    public static let loadWord: UInt16 = 0x20        // BPF_LD | BPF_W | BPF_ABS: A = data[k]
    public static let jumpIfEqual: UInt16 = 0x15     // BPF_JMP | BPF_JEQ | BPF_K
    public static let jumpIfAbove: UInt16 = 0x25     // BPF_JMP | BPF_JGT | BPF_K
    public static let jumpIfAtLeast: UInt16 = 0x35   // BPF_JMP | BPF_JGE | BPF_K
    public static let jumpIfAnyBit: UInt16 = 0x45    // BPF_JMP | BPF_JSET | BPF_K
    public static let returnValue: UInt16 = 0x06     // BPF_RET | BPF_K

    // MARK: The program

    /// What the filter does with a call, decided by its number alone, or by a block of
    /// instructions that looks at its arguments.
    enum Outcome: Equatable {
        case allow, refuse, noSuchCall, checkArguments(String)
    }

    /// The program:
    ///
    ///     1. arch: not this architecture's?                    → KILL
    ///     2. nr: above the newest call the kit knows?          → x32: KILL, else ENOSYS
    ///     3. a binary search over the numbers 0...newest, cut into pieces that share one
    ///        outcome: allowed, refused, clone3 (ENOSYS), or a call whose arguments are checked
    ///     4. the argument checks: clone, socket, personality
    ///     5. the shared returns: ALLOW, ERRNO(EPERM), ERRNO(ENOSYS), KILL_PROCESS
    ///
    /// A plain call costs 4 instructions, then one per level of the search (about
    /// log2 of the number of pieces), then the return.
    public static func program() -> [sock_filter] {
        var code = Assembler()
        // 1. Architecture first: syscall numbers mean different calls on other ABIs
        //    (x86 32-bit `int 0x80`: 56 is not clone there), so anything not native is killed.
        code.load(4)
        code.jump(jumpIfEqual, WS_AUDIT_ARCH, then: .next, else: "kill")
        // 2. The call's number. Above the newest call the kit knows: x32 or newer than the kit.
        let newest = newestKnownNumber
        code.load(0)
        let hasX32 = WS_X32_SYSCALL_BIT != 0
        code.jump(jumpIfAbove, newest, then: hasX32 ? "x32 or newer" : "no such call", else: .next)
        // 3. The search: "nr >= first number of the right half?" at every level.
        code.search(pieces(upTo: newest)[...], outcomeLabel: label(for:))
        // 4. Arguments (args[0]'s low 32 bits; clone, socket and personality take an int
        //    or use only the low half, so the high half does not matter to the kernel).
        code.mark("clone")
        code.load(16)
        code.jump(jumpIfAnyBit, namespaceFlags, then: "refuse", else: "allow")
        code.mark("socket")
        code.load(16)
        for (index, family) in refusedAddressFamilies.enumerated() {
            let last = index == refusedAddressFamilies.count - 1
            code.jump(jumpIfEqual, family, then: "refuse", else: last ? "allow" : .next)
        }
        code.mark("personality")
        code.load(16)
        for (index, value) in allowedPersonalities.enumerated() {
            let last = index == allowedPersonalities.count - 1
            code.jump(jumpIfEqual, value, then: "allow", else: last ? "refuse" : .next)
        }
        if hasX32 {
            code.mark("x32 or newer")
            // x32 calls are x86_64 numbers with bit 30 set: same arch value, other ABI: kill.
            // Number -1 (0xffffffff) is above that bit too, but it is no call at all: the
            // kernel answers ENOSYS, and tracers and libc probes use it, so runc lets it through.
            code.jump(jumpIfEqual, 0xffff_ffff, then: "no such call", else: .next)
            code.jump(jumpIfAtLeast, WS_X32_SYSCALL_BIT, then: "kill", else: "no such call")
        }
        // 5. The shared returns, at the end: jumps only go forward.
        code.mark("allow")
        code.ret(allow)
        code.mark("refuse")
        code.ret(fail(EPERM))
        code.mark("no such call")
        code.ret(fail(ENOSYS))
        code.mark("kill")
        code.ret(killProcess)
        return code.assemble()
    }

    private static func label(for outcome: Outcome) -> Assembler.Target {
        switch outcome {
        case .allow: return "allow"
        case .refuse: return "refuse"
        case .noSuchCall: return "no such call"
        case .checkArguments(let name): return .label(name)
        }
    }

    /// The numbers 0...newest cut into pieces: each piece starts at `first` and runs to the
    /// next piece's first number, and every call in it has the same outcome.
    static func pieces(upTo newest: UInt32) -> [(first: UInt32, outcome: Outcome)] {
        var outcomes = [Outcome](repeating: .refuse, count: Int(newest) + 1)
        for name in allowedSyscalls { if let nr = number(of: name) { outcomes[Int(nr)] = .allow } }
        for name in ["clone", "socket", "personality"] { outcomes[Int(number(of: name)!)] = .checkArguments(name) }
        outcomes[Int(number(of: "clone3")!)] = .noSuchCall
        var pieces: [(first: UInt32, outcome: Outcome)] = []
        for (nr, outcome) in outcomes.enumerated() where pieces.last?.outcome != outcome {
            pieces.append((UInt32(nr), outcome))
        }
        return pieces
    }

    /// Installs the filter on this process; it is inherited across fork and exec,
    /// and can never be removed. Needs no_new_privs (or CAP_SYS_ADMIN) first.
    public static func install(_ program: [sock_filter]) throws {
        try program.withUnsafeBufferPointer { buffer in
            _ = try check(ws_install_seccomp_filter(buffer.baseAddress, UInt16(buffer.count)), "install the seccomp filter")
        }
    }
}

/// A tiny assembler for classic BPF: instructions name where they jump, and `assemble`
/// turns the names into the forward distances ("skip n instructions") the kernel wants.
struct Assembler {
    enum Target: Hashable, ExpressibleByStringLiteral {
        case next
        case label(String)
        init(stringLiteral name: String) { self = .label(name) }
    }

    private var code: [(code: UInt16, k: UInt32, jt: Target, jf: Target)] = []
    private var labels: [String: Int] = [:]

    mutating func mark(_ label: String) {
        precondition(labels[label] == nil, "seccomp program: label \(label) twice")
        labels[label] = code.count
    }
    mutating func load(_ offset: UInt32) { code.append((SeccompFilter.loadWord, offset, .next, .next)) }
    mutating func ret(_ value: UInt32) { code.append((SeccompFilter.returnValue, value, .next, .next)) }
    mutating func jump(_ op: UInt16, _ k: UInt32, then jt: Target, else jf: Target) {
        code.append((op, k, jt, jf))
    }

    /// A binary search over sorted pieces (first number, outcome), laid out depth first:
    /// each node tests "nr >= first number of the right half"; the left half follows it.
    mutating func search(_ pieces: ArraySlice<(first: UInt32, outcome: SeccompFilter.Outcome)>,
                         outcomeLabel: (SeccompFilter.Outcome) -> Target) {
        func target(_ half: ArraySlice<(first: UInt32, outcome: SeccompFilter.Outcome)>) -> Target {
            half.count == 1 ? outcomeLabel(half.first!.outcome) : .label("search \(half.startIndex)..<\(half.endIndex)")
        }
        guard pieces.count > 1 else { return }
        let middle = pieces.startIndex + pieces.count / 2
        let left = pieces[..<middle], right = pieces[middle...]
        code.append((SeccompFilter.jumpIfAtLeast, right.first!.first, target(right), target(left)))
        if left.count > 1 { mark("search \(left.startIndex)..<\(left.endIndex)") }
        search(left, outcomeLabel: outcomeLabel)
        if right.count > 1 { mark("search \(right.startIndex)..<\(right.endIndex)") }
        search(right, outcomeLabel: outcomeLabel)
    }

    /// Resolves every target to a distance. A target behind the jump, or more than 255
    /// instructions ahead (jt and jf are 8 bits), is a bug in the program: stop here.
    func assemble() -> [sock_filter] {
        code.enumerated().map { index, instruction in
            func distance(_ target: Target) -> UInt8 {
                guard case .label(let name) = target else { return 0 }
                guard let place = labels[name] else { preconditionFailure("seccomp program: no label \(name)") }
                let skip = place - (index + 1)
                precondition((0...255).contains(skip), "seccomp program: \(name) is \(skip) instructions away")
                return UInt8(skip)
            }
            return sock_filter(code: instruction.code, jt: distance(instruction.jt), jf: distance(instruction.jf),
                               k: instruction.k)
        }
    }
}
