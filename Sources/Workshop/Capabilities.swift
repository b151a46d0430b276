import CLinux
import Glibc

/// A set of Linux capabilities, as the kernel's 64-bit masks (bit N = capability N).
public struct CapabilitySet: Equatable, Sendable, CustomStringConvertible {
    public var mask: UInt64

    public init(mask: UInt64) { self.mask = mask }

    public init(_ names: [String]) throws {
        mask = 0
        for name in names { mask |= 1 << UInt64(try CapabilitySet.number(of: name)) }
    }

    /// capability(7) names, by number. 32 and above live in capset's second word.
    public static let names: [String] = [
        "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
        "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
        "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
        "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
        "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
        "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
    ]

    /// Docker's default: what a root process in a container keeps (moby's oci/caps/defaults.go).
    public static let dockerDefault = try! CapabilitySet([
        "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
        "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
    ])

    /// The highest capability this kernel knows (/proc/sys/kernel/cap_last_cap).
    public static func lastCapability() -> Int {
        let text = (try? readFile("/proc/sys/kernel/cap_last_cap")) ?? ""
        return Int(text.split(separator: "\n").first ?? "") ?? names.count - 1
    }

    /// Every capability the runtime itself may hand on: those in its own bounding set
    /// (a VM or an outer container may have taken some away already).
    public static var all: CapabilitySet {
        CapabilitySet(mask: (0...lastCapability()).reduce(0) { mask, number in
            ws_prctl(WS_PR_CAPBSET_READ, UInt(number), 0, 0, 0) == 1 ? mask | 1 << UInt64(number) : mask
        })
    }

    /// "CAP_SYS_ADMIN", "sys_admin" and "SYS_ADMIN" are the same capability (Docker accepts all three).
    public static func number(of name: String) throws -> Int {
        var upper = name.uppercased()
        if upper.hasPrefix("CAP_") { upper.removeFirst(4) }
        guard let number = names.firstIndex(of: upper) else {
            throw Failure.usage("unknown capability '\(name)' (see capabilities(7); e.g. SYS_ADMIN, NET_RAW, ALL)")
        }
        return number
    }

    public func contains(_ number: Int) -> Bool { mask & (1 << UInt64(number)) != 0 }

    public func adding(_ names: [String]) throws -> CapabilitySet {
        if names.contains(where: { $0.uppercased() == "ALL" }) { return CapabilitySet.all }
        return CapabilitySet(mask: mask | (try CapabilitySet(names)).mask)
    }

    public func dropping(_ names: [String]) throws -> CapabilitySet {
        if names.contains(where: { $0.uppercased() == "ALL" }) { return CapabilitySet(mask: 0) }
        return CapabilitySet(mask: mask & ~(try CapabilitySet(names)).mask)
    }

    /// The mask as /proc/PID/status prints it (CapEff: 00000000a80425fb).
    public var hex: String {
        let digits = String(mask, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    public var description: String {
        (0..<64).filter(contains).map { $0 < CapabilitySet.names.count ? CapabilitySet.names[$0] : "CAP_\($0)" }
            .joined(separator: " ")
    }
}
