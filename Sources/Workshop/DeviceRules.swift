import CLinux
import Glibc

/// One rule of the devices allow list, in cgroup v1's own words: `c 1:3 rwm` is
/// "character device, major 1, minor 3: read, write, mknod"; `*` is any number.
/// The same list is written to devices.allow (v1) and compiled to eBPF (v2).
public struct DeviceRule: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable { case character = "c", block = "b" }

    public struct Access: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        // The kernel's bits (linux/bpf.h BPF_DEVCG_ACC_*): the eBPF program compares them directly.
        public static let mknod = Access(rawValue: 1)
        public static let read = Access(rawValue: 2)
        public static let write = Access(rawValue: 4)
        public static let all: Access = [.read, .write, .mknod]

        public var letters: String {
            (contains(.read) ? "r" : "") + (contains(.write) ? "w" : "") + (contains(.mknod) ? "m" : "")
        }
    }

    public var kind: Kind
    public var major: UInt32?   // nil: any
    public var minor: UInt32?   // nil: any
    public var access: Access

    public init(_ kind: Kind, _ major: UInt32?, _ minor: UInt32?, _ access: Access) {
        (self.kind, self.major, self.minor, self.access) = (kind, major, minor, access)
    }

    /// `c 1:3 rwm`, as devices.allow takes it and devices.list shows it.
    public var description: String {
        "\(kind.rawValue) \(major.map(String.init) ?? "*"):\(minor.map(String.init) ?? "*") \(access.letters)"
    }

    /// What runc (and so Docker) allows a container by default (libcontainer/specconv
    /// AllowedDevices); everything else is refused:
    public static let containerDefaults: [DeviceRule] = [
        // mknod of any node is allowed (the runtime itself makes /dev's nodes inside
        // the group), but a node made that way cannot be *opened* unless a rule below allows it.
        DeviceRule(.character, nil, nil, .mknod),
        DeviceRule(.block, nil, nil, .mknod),
        DeviceRule(.character, 1, 3, .all),      // /dev/null
        DeviceRule(.character, 1, 5, .all),      // /dev/zero
        DeviceRule(.character, 1, 7, .all),      // /dev/full
        DeviceRule(.character, 1, 8, .all),      // /dev/random
        DeviceRule(.character, 1, 9, .all),      // /dev/urandom
        DeviceRule(.character, 5, 0, .all),      // /dev/tty
        DeviceRule(.character, 5, 2, .all),      // /dev/ptmx (the container's devpts has its own)
        DeviceRule(.character, 136, nil, .all),  // /dev/pts/N, the pseudo-terminals
        // Not /dev/console (5:1): that is the host's console, and runc dropped it in 2020
        // (a container's console is one of its ptys). Nor tun (10:200), which runc keeps
        // only for older orchestrators that expect it.
    ]
}

/// The eBPF program that enforces `[DeviceRule]` on cgroup v2, written by hand.
///
/// cgroup v2 has no devices.allow file: instead the kernel runs a program of type
/// BPF_PROG_TYPE_CGROUP_DEVICE, attached to the group, on every open or mknod of a
/// device node by a process in it. Its input (R1 points to it) is
///
///     struct bpf_cgroup_dev_ctx {
///         u32 access_type;   // low 16 bits: BPF_DEVCG_DEV_BLOCK 1 / CHAR 2; high 16: ACC_MKNOD 1 | READ 2 | WRITE 4
///         u32 major;
///         u32 minor;
///     };
///
/// and it returns (in R0) 1 to allow, 0 to refuse (EPERM). Unlike chapter 08's classic
/// BPF (one accumulator, k-relative jumps, `struct seccomp_data`), eBPF has eleven
/// 64-bit registers R0-R10 and the kernel's verifier proves the program safe (every
/// path ends, every read is in bounds) before accepting it. The layout follows runc's
/// (libcontainer/cgroups/devices/devicefilter.go, itself from crun).
public enum DeviceFilter {
    /// One `struct bpf_insn` (linux/bpf.h): 8 bytes.
    public struct Instruction: Sendable, CustomStringConvertible {
        public var code: UInt8
        public var destination: UInt8   // register number
        public var source: UInt8        // register number
        public var offset: Int16        // jumps: instructions to skip; loads: byte offset
        public var immediate: Int32
        /// What it does, for a reader.
        public var comment: String

        /// The 8 bytes as the kernel reads them on a little-endian CPU (x86_64, aarch64):
        /// code, dst_reg in the low nibble and src_reg in the high one, off, imm.
        public var encoded: UInt64 {
            UInt64(code) | UInt64(destination & 0xf | (source & 0xf) << 4) << 8
                | UInt64(UInt16(bitPattern: offset)) << 16 | UInt64(UInt32(bitPattern: immediate)) << 32
        }
        public var description: String { comment }
    }

    // Opcodes (linux/bpf.h, linux/bpf_common.h): class | operation | source.
    static let load32: UInt8 = 0x61        // BPF_LDX | BPF_MEM | BPF_W:  dst = *(u32 *)(src + off)
    static let and32: UInt8 = 0x54         // BPF_ALU | BPF_AND | BPF_K:  dst &= imm   (32-bit)
    static let shiftRight32: UInt8 = 0x74  // BPF_ALU | BPF_RSH | BPF_K:  dst >>= imm
    static let move32: UInt8 = 0xb4        // BPF_ALU | BPF_MOV | BPF_K:  dst = imm
    static let moveRegister32: UInt8 = 0xbc // BPF_ALU | BPF_MOV | BPF_X: dst = src
    static let jumpIfNotEqual: UInt8 = 0x55 // BPF_JMP | BPF_JNE | BPF_K: if dst != imm, skip off
    static let jumpIfNotEqualRegister: UInt8 = 0x5d // BPF_JMP | BPF_JNE | BPF_X: if dst != src, skip off
    static let exit: UInt8 = 0x95           // BPF_JMP | BPF_EXIT: return R0

    // The registers the program uses.
    static let (r0, r1, r2, r3, r4, r5): (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 1, 2, 3, 4, 5)

    static func instruction(_ code: UInt8, dst destination: UInt8, src source: UInt8 = 0, off offset: Int16 = 0,
                            imm immediate: Int32 = 0, _ comment: String) -> Instruction {
        Instruction(code: code, destination: destination, source: source, offset: offset, immediate: immediate,
                    comment: comment)
    }

    /// The program for `rules`: a prologue that unpacks the context into registers, one
    /// block per rule ("does this access match? then return 1"), and a final "return 0".
    public static func program(allowing rules: [DeviceRule]) -> [Instruction] {
        var code: [Instruction] = [
            // 1. Unpack struct bpf_cgroup_dev_ctx (R1 points to it) into R2..R5.
            instruction(load32, dst: r2, src: r1, off: 0, "r2 = ctx->access_type"),
            instruction(and32, dst: r2, imm: 0xffff, "r2 &= 0xffff         (the device type: 1 block, 2 char)"),
            instruction(load32, dst: r3, src: r1, off: 0, "r3 = ctx->access_type"),
            instruction(shiftRight32, dst: r3, imm: 16, "r3 >>= 16            (the access: 1 mknod | 2 read | 4 write)"),
            instruction(load32, dst: r4, src: r1, off: 4, "r4 = ctx->major"),
            instruction(load32, dst: r5, src: r1, off: 8, "r5 = ctx->minor"),
        ]
        // 2. One block per rule. Each test jumps to the next block when it fails;
        //    the block's length is known once it is built, so the jumps are filled in after.
        for rule in rules {
            var block: [Instruction] = []
            let type: Int32 = rule.kind == .block ? 1 : 2
            block.append(instruction(jumpIfNotEqual, dst: r2, imm: type, "if r2 != \(type) goto next   (\(rule))"))
            if rule.access != .all {
                // Every bit asked for must be in the rule: (access & allowed) == access.
                block.append(instruction(moveRegister32, dst: r1, src: r3, "r1 = r3"))
                block.append(instruction(and32, dst: r1, imm: Int32(rule.access.rawValue), "r1 &= \(rule.access.rawValue)              (\(rule.access.letters))"))
                block.append(instruction(jumpIfNotEqualRegister, dst: r1, src: r3, "if r1 != r3 goto next"))
            }
            if let major = rule.major {
                block.append(instruction(jumpIfNotEqual, dst: r4, imm: Int32(bitPattern: major), "if r4 != \(major) goto next"))
            }
            if let minor = rule.minor {
                block.append(instruction(jumpIfNotEqual, dst: r5, imm: Int32(bitPattern: minor), "if r5 != \(minor) goto next"))
            }
            block.append(instruction(move32, dst: r0, imm: 1, "r0 = 1               (allow)"))
            block.append(instruction(exit, dst: 0, "return r0"))
            // A jump skips `offset` instructions: from each test to the end of the block.
            for index in block.indices where block[index].code == jumpIfNotEqual || block[index].code == jumpIfNotEqualRegister {
                block[index].offset = Int16(block.count - index - 1)
            }
            code += block
        }
        // 3. No rule matched: refuse.
        code.append(instruction(move32, dst: r0, imm: 0, "r0 = 0               (refuse: EPERM)"))
        code.append(instruction(exit, dst: 0, "return r0"))
        return code
    }

    /// Loads the program into the kernel (its verifier checks it) and attaches it to the
    /// cgroup v2 directory `directory`. Returns the program's ID, read back from the
    /// group's list of attached programs. The attachment keeps the program alive: it goes
    /// away with the group, so nothing is left behind when the group is removed.
    public static func attach(_ program: [Instruction], to directory: String) throws -> UInt32 {
        let group = try FileDescriptor(opening: directory, O_RDONLY | O_DIRECTORY)
        let words = program.map(\.encoded)
        // Same license string as runc: the kernel only lets GPL-compatible programs call
        // GPL-only helpers, and this one calls none.
        var programFD = ws_bpf_load_device_program(words, UInt32(words.count), "Apache", "workshop_dev", nil, 0)
        if programFD < 0 {
            let code = errno
            // Load again with the verifier's log, to say what it disliked.
            var log = [CChar](repeating: 0, count: 4096)
            programFD = ws_bpf_load_device_program(words, UInt32(words.count), "Apache", "workshop_dev", &log, UInt32(log.count))
            if programFD < 0 {
                let lines = String(cString: log).split(separator: "\n")
                if code == ENOSYS || lines.isEmpty {   // no bpf(2), or no such program type
                    throw Failure("this kernel cannot filter devices on cgroup v2: bpf(BPF_PROG_LOAD, BPF_PROG_TYPE_CGROUP_DEVICE) failed: \(String(cString: strerror(code))) (it needs CONFIG_BPF_SYSCALL and CONFIG_CGROUP_BPF)")
                }
                throw Failure("the kernel's verifier refused the device program: \(lines.suffix(2).joined(separator: "; "))")
            }
        }
        let loaded = FileDescriptor(adopting: programFD)   // closed on return: the attachment keeps the program
        if ws_bpf_attach_device_program(loaded.rawValue, group.rawValue) != 0 {
            let code = errno
            throw Failure("this kernel cannot filter devices on cgroup v2: bpf(BPF_PROG_ATTACH, BPF_CGROUP_DEVICE) on \(directory) failed: \(String(cString: strerror(code)))"
                + (code == EINVAL ? " (it needs CONFIG_CGROUP_BPF)" : ""))
        }
        var id: UInt32 = 0
        var attached = [UInt32](repeating: 0, count: 8)
        let count = ws_bpf_attached_device_programs(group.rawValue, &attached, UInt32(attached.count))
        guard ws_bpf_program_id(loaded.rawValue, &id) == 0, count > 0, attached.prefix(Int(count)).contains(id) else {
            throw Failure("the device program was attached to \(directory), but the kernel does not list it there")
        }
        return id
    }
}
