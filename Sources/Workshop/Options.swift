import CLinux
import Glibc

// The command line grows with the steps: each step names the option groups of
// the layers it has. Names and units follow `docker run`.
//
// Parsed here by hand rather than with swift-argument-parser: measured with
// callgrind, its reflection-based parsing was 60% of the instructions a step
// spent before clone(2), about 3 ms on every run (Tests/Benchmarks).

/// The option groups, one per layer that has options.
public enum OptionGroup: Sendable {
    case output        // step01+: -q, -t, -i, --preserve-fds
    case namespaces    // step02+: --hostname, --network, --init
    case filesystem    // step03+: --rootfs, --try-escape
    case resources     // step05+: --cpus, --memory, --pids-limit, --stats, --ulimit
    case privileges    // step06+: --cap-add, --cap-drop
    case users         // step07+: --uidmap, --gidmap
    case security      // step08:  --security-opt
}

/// step01+: how much the step tells, and the container's stdio.
public struct OutputOptions: Sendable {
    public var quiet = false
    /// -t: stdin, stdout and stderr all on a pseudo-terminal, whatever they are for the caller.
    public var tty = false
    /// --preserve-fds N (runc's): descriptors 3...3+N-1 stay open in the container; all others above 2 close.
    public var preservedDescriptors = 0

    /// Does the container get its own pseudo-terminal? Yes with -t, and whenever the caller's stdin, stdout
    /// or stderr is a terminal: no container ever holds the caller's terminal (it could push input into it).
    public var wantsTerminal: Bool {
        tty || [STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO].contains { isatty($0) == 1 }
    }
}

public enum NetworkMode: String, Sendable {
    /// A new network namespace with only `lo` (docker run --network none).
    case none
    /// Keep the host's network namespace (docker run --network host).
    case host
}

/// step02+: the namespaces.
public struct NamespaceOptions: Sendable {
    public var hostname = "container"
    public var network: NetworkMode = .none
    /// --init: a tiny PID 1 forwards signals to the command and reaps orphans (chapter 02).
    public var runsInit = false
}

/// step03+: the root filesystem.
public struct FilesystemOptions: Sendable {
    /// A directory or a .tar.gz; nil: the Alpine minirootfs.
    public var rootfs: String?
    public var tryEscape = false
}

/// step05+: the control group limits.
public struct ResourceOptions: Sendable {
    public var cpus = 0.1
    public var memory: MemorySize?
    public var pidsLimit: Int?
    public var stats = false
    /// --ulimit values, on top of `ResourceLimit.defaults`.
    public var ulimits: [ResourceLimit] = []

    /// The limits the container gets: runc's default spec (nofile 1024:1024), then each --ulimit (the last of a name wins).
    public var resourceLimits: [ResourceLimit] {
        var result: [ResourceLimit] = []
        for limit in ResourceLimit.defaults + ulimits {
            result.removeAll { $0.name == limit.name }
            result.append(limit)
        }
        return result
    }
}

/// One setrlimit(2) limit, named as `docker run --ulimit` names them: `nofile=1024:2048`.
public struct ResourceLimit: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    /// RLIMIT_*; `WS_RLIM_INFINITY` for unlimited (written -1, as Docker does).
    public var resource: Int32
    public var soft: UInt64
    public var hard: UInt64

    /// runc's default spec (`runc spec`): 1024 open files. Everything else is the caller's.
    public static let defaults = [ResourceLimit(argument: "nofile=1024:1024")!]

    /// `name=soft[:hard]`; hard defaults to soft; -1 means unlimited.
    public init?(argument: String) {
        let parts = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let resource = ws_rlimit_resource(String(parts[0]))
        guard resource >= 0 else { return nil }
        let values = parts[1].split(separator: ":", omittingEmptySubsequences: false)
        guard values.count == 1 || values.count == 2 else { return nil }
        func value(_ text: Substring) -> UInt64? {
            if text == "-1" || text == "unlimited" { return WS_RLIM_INFINITY }
            return UInt64(text)
        }
        guard let soft = value(values[0]), let hard = values.count == 2 ? value(values[1]) : soft, soft <= hard else {
            return nil
        }
        (name, self.resource, self.soft, self.hard) = (String(parts[0]), resource, soft, hard)
    }

    public var description: String {
        func text(_ value: UInt64) -> String { value == WS_RLIM_INFINITY ? "unlimited" : String(value) }
        return "\(name)=\(text(soft)):\(text(hard))"
    }
}

/// A size with Docker's suffixes: b, k, m, g (powers of 1024).
public struct MemorySize: Sendable, Equatable {
    public var bytes: Int64

    public init(bytes: Int64) { self.bytes = bytes }

    public init?(argument: String) {
        let text = argument.lowercased()
        var digits = Substring(text)
        var unit: Int64 = 1
        if let last = text.last, last.isLetter {
            digits = text.dropLast()
            switch last {
            case "b": unit = 1
            case "k": unit = 1 << 10
            case "m": unit = 1 << 20
            case "g": unit = 1 << 30
            default: return nil
            }
        }
        guard let value = Double(digits), value.isFinite, value > 0 else { return nil }
        let bytes = value * Double(unit)
        // Docker's minimum: below 6 MiB even a shell cannot start.
        guard bytes >= 6 * 1024 * 1024, bytes < Double(Int64(1) << 50) else { return nil }
        self.bytes = Int64(bytes)
    }
}

extension MemorySize: CustomStringConvertible {
    public var description: String { formatBytes(bytes) }
}

/// step06+: the capability set.
public struct PrivilegeOptions: Sendable {
    public var added: [String] = []
    public var dropped: [String] = []

    /// Docker's rule: start from the default set, drop, then add (so --cap-drop ALL --cap-add X keeps X).
    public func capabilities() throws -> CapabilitySet {
        let wanted = try CapabilitySet.dockerDefault.dropping(dropped).adding(added)
        let missing = CapabilitySet(mask: wanted.mask & ~CapabilitySet.all.mask)
        if missing.mask != 0 {
            throw Failure("cannot give the container \(missing): the runtime does not have it itself (see CapBnd in /proc/self/status)")
        }
        return wanted
    }
}

/// step07+: the user namespace's id mappings.
public struct UserOptions: Sendable {
    public var uidMappings: [IDMapping] = []
    public var gidMappings: [IDMapping] = []

    public var uidMap: [IDMapping] { uidMappings.isEmpty ? [IDMapping.workshopDefault] : uidMappings }
    public var gidMap: [IDMapping] { gidMappings.isEmpty ? uidMap : gidMappings }
}

/// step08: Docker's --security-opt, for seccomp.
public struct SecurityOptions: Sendable {
    public var settings: [String] = []

    public var seccompEnabled: Bool { !settings.contains("seccomp=unconfined") }
}

/// The command and its arguments: `stepNN [options] [--] [command [args...]]`.
public struct CommandOptions: Sendable {
    public var arguments: [String] = []

    /// What to exec: what the user gave, or the image's shell.
    public var command: [String] { arguments.isEmpty ? ["/bin/sh"] : arguments }
}

/// Everything a step's command line can say. A step accepts only its own groups'
/// options; the other groups keep their defaults.
public struct StepOptions: Sendable {
    public var output = OutputOptions()
    public var namespaces = NamespaceOptions()
    public var filesystem = FilesystemOptions()
    public var resources = ResourceOptions()
    public var privileges = PrivilegeOptions()
    public var users = UserOptions()
    public var security = SecurityOptions()
    public var command = CommandOptions()
    /// Values of the options a program adds of its own (`parseCommandLine(…, adding:)`), by name.
    public var added: [String: String] = [:]

    public init() {}

    /// Parses CommandLine.arguments. A bad one is one line on stderr and exit 64;
    /// --help prints the help and exits 0.
    /// `adding`: options of the program's own, after the groups' (their `set` stores the value in `added`).
    public static func parseCommandLine(abstract: String, groups: [OptionGroup], adding: [OptionSpec] = [],
                                        fileID: String = #fileID) -> StepOptions {
        parseCommandLine(step: stepName(fileID: fileID), abstract: abstract, groups: groups, adding: adding)
    }

    public static func parseCommandLine(step: String, abstract: String, groups: [OptionGroup],
                                        adding: [OptionSpec] = []) -> StepOptions {
        do {
            return try parse(Array(CommandLine.arguments.dropFirst()), groups: groups, adding: adding)
        } catch is HelpRequest {
            print(help(step: step, abstract: abstract, groups: groups, adding: adding), terminator: "")
            exit(0)
        } catch {
            writeLine(to: STDERR_FILENO, "\(step): error: \(error) (see --help)")
            exit(Failure.usageExitCode)
        }
    }

    /// `[options] [--] [command [args...]]`: options until the first word that is
    /// not one (or `--`); everything from there on belongs to the command.
    public static func parse(_ arguments: [String], groups: [OptionGroup], adding: [OptionSpec] = []) throws -> StepOptions {
        var options = StepOptions()
        let known = OptionSpec.all.filter { groups.contains($0.group) } + adding
        // `swift run stepNN -- --stats sh` hands us "--", "--stats", "sh" (SwiftPM 6 passes
        // its own separator on): a leading "--" is swift run's, not the end of our options.
        var index = arguments.first == "--" ? 1 : 0
        while index < arguments.count {
            let word = arguments[index]
            index += 1
            if word == "--" { break }
            if word == "-h" || word == "--help" { throw HelpRequest() }
            // `docker run -it`: both flags in one word.
            if word == "-it" || word == "-ti" {
                options.output.tty = true
                continue
            }
            guard word.hasPrefix("-"), word != "-" else { index -= 1; break }   // the command starts here
            // --name=value or --name value
            let parts = word.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            guard let spec = known.first(where: { $0.name == name || $0.short == name }) else {
                throw UsageError("unknown option '\(name)'")
            }
            var value = ""
            if spec.valueName != nil {
                if parts.count == 2 {
                    value = String(parts[1])
                } else {
                    guard index < arguments.count else { throw UsageError("\(spec.name) needs a value") }
                    value = arguments[index]
                    index += 1
                }
            } else if parts.count == 2 {
                throw UsageError("\(spec.name) takes no value")
            }
            try spec.set(&options, value)
        }
        options.command.arguments = Array(arguments[index...])
        if groups.contains(.users) {
            for map in [options.users.uidMap, options.users.gidMap] {
                guard map.contains(where: { $0.container == 0 }) else {
                    throw UsageError("the mappings must map container id 0 (the container's root)")
                }
                if map.count > 340 { throw UsageError("at most 340 mappings (the kernel's limit)") }
                // The kernel refuses overlapping ranges with a bare EINVAL; say which, in one line.
                for (i, a) in map.enumerated() {
                    for b in map[(i + 1)...] {
                        for (side, x, y) in [("container", a.container, b.container), ("host", a.host, b.host)]
                        where UInt64(x) < UInt64(y) + UInt64(b.count)
                            && UInt64(y) < UInt64(x) + UInt64(a.count) {
                            throw UsageError("the mappings \(a.container):\(a.host):\(a.count) and "
                                + "\(b.container):\(b.host):\(b.count) overlap in their \(side) ids")
                        }
                    }
                }
            }
        }
        return options
    }

    /// The --help screen.
    public static func help(step: String, abstract: String, groups: [OptionGroup], adding: [OptionSpec] = []) -> String {
        var lines = wrap("OVERVIEW: " + abstract, width: 80, indent: "")
        lines += ["", "USAGE: \(step) [<options>] [--] [<command> ...]", "", "ARGUMENTS:"]
        lines += column("<command>", "The command to run in the container, with its arguments (default: /bin/sh).")
        lines += ["", "OPTIONS:"]
        for spec in OptionSpec.all.filter({ groups.contains($0.group) }) + adding {
            let names = (spec.short.map { $0 + ", " } ?? "") + spec.name + (spec.valueName.map { " <\($0)>" } ?? "")
            lines += column(names, spec.help)
        }
        lines += column("-h, --help", "Show help information.")
        return lines.joined(separator: "\n") + "\n"
    }

    private static func column(_ left: String, _ text: String) -> [String] {
        let indent = String(repeating: " ", count: 26)
        var lines = wrap(text, width: 80, indent: indent)
        let label = "  " + left
        if label.count < 25 {
            lines[0] = label + String(repeating: " ", count: 26 - label.count) + lines[0].dropFirst(26)
        } else {
            lines.insert(label, at: 0)
        }
        return lines
    }

    private static func wrap(_ text: String, width: Int, indent: String) -> [String] {
        var lines: [String] = []
        var line = indent
        for word in text.split(separator: " ") {
            if line.count > indent.count && line.count + 1 + word.count > width {
                lines.append(line)
                line = indent
            }
            line += (line.count > indent.count ? " " : "") + word
        }
        lines.append(line)
        return lines
    }
}

/// A bad option or value: the step prints it as one line and exits 64.
public struct UsageError: Error, CustomStringConvertible {
    public var description: String
    public init(_ message: String) { description = message }
}

struct HelpRequest: Error {}

/// One option: its group, names, value and what it sets. A program adds options of its own with
/// `parseCommandLine(…, adding: [OptionSpec(…) { options, value in options.added["--name"] = value }])`;
/// `set` throws UsageError for a bad value (one line, exit 64).
public struct OptionSpec: Sendable {
    var group: OptionGroup
    var name: String
    var short: String?
    /// For --help: `--cpus <n>`. nil: a flag, which takes no value.
    var valueName: String?
    var help: String
    var set: @Sendable (inout StepOptions, String) throws -> Void

    public init(_ group: OptionGroup, _ name: String, short: String? = nil, value: String? = nil, help: String,
         set: @escaping @Sendable (inout StepOptions, String) throws -> Void) {
        (self.group, self.name, self.short, self.valueName, self.help, self.set) = (group, name, short, value, help, set)
    }

    static let all: [OptionSpec] = [
        OptionSpec(.output, "--quiet", short: "-q", help: "Do not narrate what the step does (stderr).") { options, _ in
            options.output.quiet = true
        },
        OptionSpec(.output, "--tty", short: "-t",
                   help: "Put the container's stdin, stdout and stderr on its own pseudo-terminal, even when they are not terminals. Without -t, each of them that is a terminal is replaced by the container's own pty (as docker run -it): the runtime relays, with your terminal in raw mode, so Ctrl-C goes to the container's foreground process. With stdin not a terminal, Ctrl-C reaches the runtime, which forwards SIGINT to the command.") {
            options, _ in
            options.output.tty = true
        },
        OptionSpec(.output, "--interactive", short: "-i",
                   help: "Accepted for docker run -i: the container always reads the runtime's stdin.") { _, _ in },
        OptionSpec(.output, "--preserve-fds", value: "n",
                   help: "Pass descriptors 3 to 3+n-1 on to the container (as runc). Every other descriptor above 2 is closed. Default: 0.") {
            options, value in
            guard let count = Int(value), count >= 0, count <= 1 << 20 else {
                throw UsageError("--preserve-fds must be a whole number, 0 or more, not '\(value)'")
            }
            options.output.preservedDescriptors = count
        },
        OptionSpec(.namespaces, "--hostname", value: "name", help: "Hostname inside the container (default: container).") {
            options, value in
            // sethostname(2) takes at most 64 bytes.
            guard !value.isEmpty, value.utf8.count <= 64 else { throw UsageError("--hostname must be 1 to 64 characters") }
            options.namespaces.hostname = value
        },
        OptionSpec(.namespaces, "--network", value: "mode",
                   help: "'none' (default): a new network namespace with only lo; 'host': share the host's network.") {
            options, value in
            guard let mode = NetworkMode(rawValue: value) else {
                throw UsageError("--network must be 'none' or 'host', not '\(value)'")
            }
            options.namespaces.network = mode
        },
        OptionSpec(.namespaces, "--init",
                   help: "Run a tiny init as PID 1 that forwards signals to the command and reaps orphaned processes (as docker run --init).") {
            options, _ in
            options.namespaces.runsInit = true
        },
        OptionSpec(.filesystem, "--rootfs", value: "path",
                   help: "Image to use as the root: a directory or a .tar.gz (default: the Alpine minirootfs).") {
            options, value in
            options.filesystem.rootfs = value
        },
        OptionSpec(.filesystem, "--try-escape",
                   help: "Play a malicious program: try the classic chroot escape inside the container, then run the command wherever it lands.") {
            options, _ in
            options.filesystem.tryEscape = true
        },
        OptionSpec(.resources, "--cpus", value: "n", help: "CPU limit, in CPUs (default: 0.1, 10% of one CPU).") { options, value in
            guard let cpus = Double(value), cpus.isFinite, cpus > 0 else {
                throw UsageError("--cpus must be a number above 0 (e.g. 0.5), not '\(value)'")
            }
            guard cpus >= 0.01 else { throw UsageError("--cpus must be at least 0.01") }
            let online = Double(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
            guard cpus <= online else { throw UsageError("--cpus \(value) is more than this machine's \(Int(online)) CPUs") }
            options.resources.cpus = cpus
        },
        OptionSpec(.resources, "--memory", short: "-m", value: "size",
                   help: "Memory limit: bytes or with a k, m or g suffix (e.g. 64m). Default: none.") { options, value in
            guard let size = MemorySize(argument: value) else {
                throw UsageError("--memory '\(value)': give bytes or a number with k, m or g, at least 6m (e.g. 64m)")
            }
            options.resources.memory = size
        },
        OptionSpec(.resources, "--pids-limit", value: "n",
                   help: "Maximum number of tasks (processes and threads). Default: none.") { options, value in
            guard let limit = Int(value), limit > 0 else { throw UsageError("--pids-limit must be a whole number above 0") }
            options.resources.pidsLimit = limit
        },
        OptionSpec(.resources, "--stats",
                   help: "Print the container's CPU, memory and task count from its cgroup once a second.") { options, _ in
            options.resources.stats = true
        },
        OptionSpec(.resources, "--ulimit", value: "name=soft[:hard]",
                   help: "A resource limit (setrlimit), e.g. nofile=2048:4096, nproc=64, core=0; -1 is unlimited. Repeatable. Default: nofile=1024:1024.") {
            options, value in
            guard let limit = ResourceLimit(argument: value) else {
                throw UsageError("--ulimit wants NAME=SOFT[:HARD] with soft <= hard and NAME one of core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack; not '\(value)'")
            }
            options.resources.ulimits.append(limit)
        },
        OptionSpec(.privileges, "--cap-add", value: "name",
                   help: "Add a capability to Docker's default set (e.g. SYS_ADMIN, or ALL). Repeatable.") { options, value in
            if value.uppercased() != "ALL" { _ = try CapabilitySet.number(of: value) }
            options.privileges.added.append(value)
        },
        OptionSpec(.privileges, "--cap-drop", value: "name",
                   help: "Drop a capability from Docker's default set (e.g. CHOWN, or ALL). Repeatable.") { options, value in
            if value.uppercased() != "ALL" { _ = try CapabilitySet.number(of: value) }
            options.privileges.dropped.append(value)
        },
        OptionSpec(.users, "--uidmap", value: "map",
                   help: "Map container uids to host uids: CONTAINER:HOST:COUNT (repeatable). Default: 0:100000:65536.") {
            options, value in
            guard let map = IDMapping(argument: value) else {
                throw UsageError("--uidmap wants CONTAINER:HOST:COUNT (e.g. 0:100000:65536), not '\(value)'")
            }
            options.users.uidMappings.append(map)
        },
        OptionSpec(.users, "--gidmap", value: "map",
                   help: "Map container gids to host gids, same format. Default: the uid mappings.") { options, value in
            guard let map = IDMapping(argument: value) else {
                throw UsageError("--gidmap wants CONTAINER:HOST:COUNT (e.g. 0:100000:65536), not '\(value)'")
            }
            options.users.gidMappings.append(map)
        },
        OptionSpec(.security, "--security-opt", value: "option",
                   help: "'seccomp=unconfined' turns the seccomp filter off.") { options, value in
            guard value == "seccomp=unconfined" else {
                throw UsageError("unsupported --security-opt '\(value)' (this kit knows seccomp=unconfined)")
            }
            options.security.settings.append(value)
        },
    ]
}
