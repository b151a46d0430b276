import CLinux
import Glibc
import XCTest
@testable import Workshop

/// step08's filter, run instruction by instruction in a classic-BPF interpreter written
/// here (not the kernel's), on the `struct seccomp_data` the kernel would hand it.
final class SeccompFilterTests: XCTestCase {
    private let program = SeccompFilter.program()

    // The kernel's answers (linux/seccomp.h).
    private let allow: UInt32 = 0x7fff_0000
    private let kill: UInt32 = 0x8000_0000
    private let eperm: UInt32 = 0x0005_0000 | UInt32(EPERM)
    private let enosys: UInt32 = 0x0005_0000 | UInt32(ENOSYS)

    private func nr(_ name: String, file: StaticString = #filePath, line: UInt = #line) -> UInt32 {
        guard let number = SeccompFilter.number(of: name) else {
            XCTFail("\(name) has no number here", file: file, line: line)
            return 0xdead
        }
        return number
    }

    private func verdict(_ number: UInt32, arch: UInt32 = WS_AUDIT_ARCH, args: [UInt64] = [],
                         file: StaticString = #filePath, line: UInt = #line) -> UInt32 {
        do {
            return try BPFInterpreter.run(program, on: SeccompData(nr: number, arch: arch, args: args)).result
        } catch {
            XCTFail("\(error)", file: file, line: line)
            return 0
        }
    }

    // MARK: The program is one the kernel accepts

    func testProgramIsValidClassicBPF() throws {
        try BPFInterpreter.validate(program)   // jump targets inside, ends in RET, known opcodes only
        XCTAssertLessThanOrEqual(program.count, 4096, "BPF_MAXINSNS")
        // Architecture first: the very first load is seccomp_data.arch.
        XCTAssertEqual(program[0].code, 0x20, "SeccompFilter.program: the first instruction (BPF_LD|BPF_W|BPF_ABS)")
        XCTAssertEqual(program[0].k, 4, "SeccompFilter.program: the first load's offset (seccomp_data.arch)")
    }

    func testTheInterpreterRefusesBrokenPrograms() {
        let ret = sock_filter(code: 0x06, jt: 0, jf: 0, k: allow)
        let load = sock_filter(code: 0x20, jt: 0, jf: 0, k: 0)
        XCTAssertThrowsError(try BPFInterpreter.validate([load]), "no RET at the end")
        XCTAssertThrowsError(try BPFInterpreter.validate([sock_filter(code: 0x15, jt: 1, jf: 0, k: 0), ret]), "jump past the end")
        XCTAssertThrowsError(try BPFInterpreter.validate([sock_filter(code: 0x20, jt: 0, jf: 0, k: 66), ret]), "load past seccomp_data")
        XCTAssertThrowsError(try BPFInterpreter.validate([sock_filter(code: 0x07, jt: 0, jf: 0, k: 0), ret]), "unknown opcode")
        XCTAssertNoThrow(try BPFInterpreter.validate([load, ret]), "BPFInterpreter.validate of a load and a return")
    }

    // MARK: Allowed, refused, newer

    func testEveryAllowedCallIsAllowedWithoutLookingAtItsArguments() throws {
        let names = SeccompFilter.allowedSyscalls.filter { !SeccompFilter.absentOnThisArchitecture.contains($0) }
        XCTAssertGreaterThan(names.count, 250, "SeccompFilter: allowed calls with a number on this architecture")
        for name in names {
            let run = try BPFInterpreter.run(program, on: SeccompData(nr: nr(name)))
            XCTAssertEqual(run.result, allow, "SeccompFilter: the verdict for \(name) (allowed)")
            // Only nr and arch read: the kernel can then cache "always allowed" for the number
            // and skip the filter for it altogether (seccomp's action cache, Linux 5.11).
            XCTAssertEqual(run.loadedOffsets.subtracting([0, 4]), [], "\(name) reads its arguments")
        }
        // What a shell needs, named here independently of the kit's list.
        var essentials = ["read", "write", "openat", "close", "mmap", "munmap", "mprotect", "brk", "execve",
                          "exit_group", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "futex", "wait4", "getppid",
                          "getpid", "ioctl", "fcntl", "newfstatat", "getdents64", "pipe2", "dup3", "chdir", "setuid",
                          "kill", "nanosleep", "clock_gettime", "uname", "prctl", "ptrace", "chroot", "faccessat2",
                          "statx", "close_range", "rseq", "mseal", "statmount", "listmount"]
        #if arch(x86_64)
        essentials += ["open", "stat", "fork", "vfork", "arch_prctl", "poll"]
        #endif
        for name in essentials { XCTAssertEqual(verdict(nr(name)), allow, "SeccompFilter: the verdict for \(name) (allowed)") }
    }

    func testRefusedCallsFailWithEPERM() {
        // The review's list (issue 11) and the old deny list, named here independently of the kit's.
        var refused = ["open_tree_attr", "move_pages", "mbind", "set_mempolicy", "kcmp", "pidfd_getfd",
                       "process_madvise", "keyctl", "add_key", "request_key", "mount", "umount2", "unshare",
                       "setns", "pivot_root", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree",
                       "mount_setattr", "open_by_handle_at", "bpf", "perf_event_open", "userfaultfd",
                       "lookup_dcookie", "kexec_load", "kexec_file_load", "init_module", "finit_module",
                       "delete_module", "settimeofday", "clock_settime", "swapon", "swapoff", "acct", "reboot",
                       "syslog", "quotactl", "vhangup", "sethostname", "setdomainname", "io_uring_setup",
                       "migrate_pages", "lsm_set_self_attr"]
        #if arch(x86_64)
        refused += ["iopl", "ioperm"]
        #endif
        for name in refused + SeccompFilter.refusedSyscalls where !SeccompFilter.absentOnThisArchitecture.contains(name) {
            XCTAssertEqual(verdict(nr(name)), eperm, "SeccompFilter: the verdict for \(name) (EPERM)")
        }
    }

    /// Every number up to the newest the kit knows, against a model built from the lists:
    /// the search tree must give each exactly its list's answer.
    func testEveryNumberGetsItsListsAnswer() throws {
        let allowed = Set(SeccompFilter.allowedSyscalls.compactMap(SeccompFilter.number(of:)))
        let newest = SeccompFilter.newestKnownNumber
        XCTAssertEqual(newest, nr("open_tree_attr"), "the newest call the kit names")
        var longest = 0
        for number in 0...newest + 200 {
            let expected: UInt32
            switch number {
            case _ where number > newest: expected = enosys
            case nr("clone3"): expected = enosys
            case nr("clone"), nr("socket"), nr("personality"): expected = allow   // with arguments 0
            case _ where allowed.contains(number): expected = allow
            default: expected = eperm
            }
            let run = try BPFInterpreter.run(program, on: SeccompData(nr: number))
            XCTAssertEqual(run.result, expected, "syscall \(number)")
            longest = max(longest, run.steps)
        }
        // A binary search: about log2(pieces) comparisons, not one per listed call.
        XCTAssertLessThanOrEqual(longest, 20, "the longest path through the program (instructions)")
    }

    func testNewerAndNonexistentCallsGetENOSYS() {
        let newest = SeccompFilter.newestKnownNumber
        XCTAssertEqual(verdict(newest + 1), enosys, "a call newer than the kit (file_getattr, 6.17): libc falls back")
        XCTAssertEqual(verdict(0xffff_ffff), enosys, "syscall(-1): no call at all")
        XCTAssertEqual(verdict(nr("clone3"), args: [0]), enosys, "clone3: libc falls back to clone")
        XCTAssertEqual(verdict(nr("clone3"), args: [UInt64(SeccompFilter.namespaceFlags)]), enosys, "SeccompFilter: the verdict for clone3 (ENOSYS, so libc falls back to clone)")
        #if arch(x86_64)
        XCTAssertEqual(verdict(0x3fff_ffff), enosys, "SeccompFilter: the verdict for a number past every known call (ENOSYS)")
        #endif
    }

    // MARK: Argument rules

    func testCloneIsRefusedWithEachNamespaceFlag() {
        let clone = nr("clone")
        let threadFlags: UInt64 = 0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000 | 0x80000 | 0x200000 // VM FS FILES SIGHAND THREAD SYSVSEM SETTLS CHILD_CLEARTID
        XCTAssertEqual(verdict(clone, args: [UInt64(SIGCHLD)]), allow, "fork")
        XCTAssertEqual(verdict(clone, args: [threadFlags]), allow, "pthread_create")
        XCTAssertEqual(verdict(clone, args: [0x4000 | 0x100 | UInt64(SIGCHLD)]), allow, "vfork")
        let namespaces: [(String, Int32)] = [
            ("CLONE_NEWNS", WS_CLONE_NEWNS), ("CLONE_NEWUTS", WS_CLONE_NEWUTS), ("CLONE_NEWIPC", WS_CLONE_NEWIPC),
            ("CLONE_NEWUSER", WS_CLONE_NEWUSER), ("CLONE_NEWPID", WS_CLONE_NEWPID), ("CLONE_NEWNET", WS_CLONE_NEWNET),
            ("CLONE_NEWCGROUP", WS_CLONE_NEWCGROUP),
        ]
        for (name, flag) in namespaces {
            XCTAssertEqual(verdict(clone, args: [UInt64(UInt32(bitPattern: flag)) | UInt64(SIGCHLD)]), eperm, "SeccompFilter: the verdict for clone(\(name)|SIGCHLD) (EPERM)")
            XCTAssertEqual(verdict(clone, args: [UInt64(UInt32(bitPattern: flag)) | threadFlags]), eperm, "SeccompFilter: the verdict for clone(\(name)|thread flags) (EPERM)")
        }
        XCTAssertEqual(SeccompFilter.namespaceFlags, 0x7e02_0000, "the profile's mask")
    }

    func testPersonalityOnlyWithTheProfilesValues() {
        let personality = nr("personality")
        for value: UInt64 in [0, 0x8, 0x2_0000, 0x2_0008, 0xffff_ffff] {
            XCTAssertEqual(verdict(personality, args: [value]), allow, "personality(\(value))")
        }
        // READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE, PER_LINUX|READ_IMPLIES_EXEC, PER_SVR4, PER_BSD
        for value: UInt64 in [0x40_0000, 0x4_0000, 0x40_0008, 0x0400_0001, 0x6] {
            XCTAssertEqual(verdict(personality, args: [value]), eperm, "personality(\(value))")
        }
    }

    func testSocketRefusesAFALGAndAFVSOCK() {
        let socket = nr("socket")
        // AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, AF_NFC 39, AF_KCM 41, AF_XDP 44
        for family: UInt64 in [1, 2, 10, 16, 17, 39, 41, 44] {
            XCTAssertEqual(verdict(socket, args: [family, 1, 0]), allow, "socket(\(family))")
        }
        XCTAssertEqual(verdict(socket, args: [40, 1, 0]), eperm, "AF_VSOCK")
        XCTAssertEqual(verdict(socket, args: [38, 5, 0]), eperm, "AF_ALG")
    }

    // MARK: Other ABIs

    func testForeignArchitecturesAndX32AreKilled() {
        let i386: UInt32 = 0x4000_0003, x86_64: UInt32 = 0xc000_003e
        let arm: UInt32 = 0x4000_0028, aarch64: UInt32 = 0xc000_00b7
        let foreign = [i386, x86_64, arm, aarch64].filter { $0 != WS_AUDIT_ARCH }
        XCTAssertEqual(foreign.count, 3, "SeccompFilterTests: architectures other than this one to try")
        for arch in foreign {
            for number: UInt32 in [0, 20, nr("getppid"), nr("clone"), 0xffff_ffff] {
                XCTAssertEqual(verdict(number, arch: arch), kill, "arch \(arch), syscall \(number)")
            }
        }
        #if arch(x86_64)
        for number in [nr("getpid"), nr("unshare"), 0, 512, 547] {
            XCTAssertEqual(verdict(0x4000_0000 | number), kill, "x32 syscall \(number)")
        }
        #endif
    }

    // MARK: The number table

    /// Every name the filter uses has a number here, except those this architecture lacks,
    /// which are listed (and must really be absent). Nothing is dropped silently.
    func testEveryNameResolves() {
        let names = SeccompFilter.allowedSyscalls + SeccompFilter.checkedSyscalls + SeccompFilter.refusedSyscalls
        XCTAssertEqual(Set(names).count, names.count, "a name listed twice")
        XCTAssertEqual(Set(SeccompFilter.allowedSyscalls).intersection(SeccompFilter.refusedSyscalls), [], "SeccompFilter: calls both allowed and refused (none)")
        for name in names {
            if SeccompFilter.absentOnThisArchitecture.contains(name) {
                XCTAssertNil(SeccompFilter.number(of: name), "\(name) exists here: take it off the absent list")
            } else {
                XCTAssertNotNil(SeccompFilter.number(of: name), "\(name) has no number here (shim.c's table)")
            }
        }
        XCTAssertEqual(SeccompFilter.absentOnThisArchitecture.subtracting(names), [], "absent names the filter does not use")
        XCTAssertNil(SeccompFilter.number(of: "no_such_call"), "SeccompFilter.number(of: no_such_call): expected nil")
    }

    /// A few numbers from the kernel's own tables, including calls newer than the build's headers.
    func testNumbersMatchTheKernelsTables() {
        #if arch(x86_64)
        let known = ["read": 0, "open": 2, "clone": 56, "getppid": 110, "personality": 135, "keyctl": 250,
                     "uretprobe": 335, "clone3": 435, "cachestat": 451, "listmount": 458, "mseal": 462,
                     "removexattrat": 466, "open_tree_attr": 467]
        #else
        let known = ["io_setup": 0, "clone": 220, "getppid": 173, "personality": 92, "keyctl": 219, "clone3": 435,
                     "cachestat": 451, "listmount": 458, "mseal": 462, "removexattrat": 466, "open_tree_attr": 467]
        #endif
        for (name, number) in known { XCTAssertEqual(SeccompFilter.number(of: name), UInt32(number), "SeccompFilter.number(of: \(name)) on this architecture") }
    }
}

/// `struct seccomp_data`, as the kernel lays it out (little-endian).
struct SeccompData {
    var nr: UInt32
    var arch: UInt32 = WS_AUDIT_ARCH
    var instructionPointer: UInt64 = 0
    var args: [UInt64] = []

    /// The 32-bit word at a byte offset.
    func word(at offset: UInt32) -> UInt32 {
        switch offset {
        case 0: return nr
        case 4: return arch
        case 8, 12: return UInt32(truncatingIfNeeded: instructionPointer >> (offset == 8 ? 0 : 32))
        default:
            let index = Int(offset - 16) / 8
            let value = index < args.count ? args[index] : 0
            return UInt32(truncatingIfNeeded: (offset - 16) % 8 == 0 ? value : value >> 32)
        }
    }
}

/// A classic-BPF interpreter for seccomp programs: the opcodes the kit emits, and the
/// checks the kernel makes before it accepts a program.
enum BPFInterpreter {
    struct Invalid: Error, CustomStringConvertible { var description: String }

    static let loadWord: UInt16 = 0x20, jumpAlways: UInt16 = 0x05, jumpIfEqual: UInt16 = 0x15,
               jumpIfAbove: UInt16 = 0x25, jumpIfAtLeast: UInt16 = 0x35, jumpIfAnyBit: UInt16 = 0x45,
               returnValue: UInt16 = 0x06

    static func validate(_ program: [sock_filter]) throws {
        guard !program.isEmpty, program.count <= 4096 else { throw Invalid(description: "\(program.count) instructions") }
        guard program.last!.code == returnValue else { throw Invalid(description: "the program does not end in RET") }
        for (index, instruction) in program.enumerated() {
            switch instruction.code {
            case loadWord:
                guard instruction.k % 4 == 0, instruction.k + 4 <= 64 else {
                    throw Invalid(description: "\(index): load at \(instruction.k), outside seccomp_data")
                }
            case returnValue: break
            case jumpAlways:
                guard index + 1 + Int(instruction.k) < program.count else { throw Invalid(description: "\(index): ja past the end") }
            case jumpIfEqual, jumpIfAbove, jumpIfAtLeast, jumpIfAnyBit:
                for skip in [instruction.jt, instruction.jf] where index + 1 + Int(skip) >= program.count {
                    throw Invalid(description: "\(index): jump of \(skip) past the end")
                }
            default:
                throw Invalid(description: "\(index): opcode \(instruction.code) unknown to this interpreter")
            }
        }
    }

    /// Runs the program; `steps` counts the instructions executed (the per-call cost).
    static func run(_ program: [sock_filter], on data: SeccompData) throws
        -> (result: UInt32, steps: Int, loadedOffsets: Set<UInt32>) {
        try validate(program)
        var a: UInt32 = 0
        var pc = 0
        var steps = 0
        var loaded: Set<UInt32> = []
        while true {
            let instruction = program[pc]
            steps += 1
            pc += 1
            switch instruction.code {
            case loadWord:
                a = data.word(at: instruction.k)
                loaded.insert(instruction.k)
            case returnValue:
                return (instruction.k, steps, loaded)
            case jumpAlways:
                pc += Int(instruction.k)
            default:
                let taken: Bool
                switch instruction.code {
                case jumpIfEqual: taken = a == instruction.k
                case jumpIfAbove: taken = a > instruction.k
                case jumpIfAtLeast: taken = a >= instruction.k
                default: taken = a & instruction.k != 0   // jumpIfAnyBit; validate() allowed no other
                }
                pc += Int(taken ? instruction.jt : instruction.jf)
            }
        }
    }
}
