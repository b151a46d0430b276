import ArgumentParser
import Glibc

// The command line grows with the steps: each step's ParsableCommand lists the
// option groups of the layers it has. Names and units follow `docker run`.

/// step01+: how much the step tells.
public struct OutputOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Do not narrate what the step does (stderr).")
    public var quiet = false
    public init() {}
}

public enum NetworkMode: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// A new network namespace with only `lo` (docker run --network none).
    case none
    /// Keep the host's network namespace (docker run --network host).
    case host
}

/// step02+: the namespaces.
public struct NamespaceOptions: ParsableArguments {
    @Option(help: "Hostname inside the container.")
    public var hostname = "container"

    @Option(help: "'none': a new network namespace with only lo; 'host': share the host's network.")
    public var network: NetworkMode = .none

    public init() {}

    public func validate() throws {
        // sethostname(2) takes at most 64 bytes.
        if hostname.isEmpty || hostname.utf8.count > 64 {
            throw ValidationError("--hostname must be 1 to 64 characters")
        }
    }
}

/// step03+: the root filesystem.
public struct RootfsOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Image to use as the root: a directory or a .tar.gz (default: the Alpine minirootfs).",
        valueName: "path"))
    public var rootfs: String?

    @Flag(help: "Play a malicious program: try the classic chroot escape inside the container, then run the command wherever it lands.")
    public var tryEscape = false

    public init() {}
}

/// step05+: the control group limits.
public struct ResourceOptions: ParsableArguments {
    @Option(help: ArgumentHelp("CPU limit, in CPUs (0.1 = 10% of one CPU).", valueName: "n"))
    public var cpus: Double = 0.1

    @Option(help: ArgumentHelp("Memory limit: bytes or with a k, m or g suffix (e.g. 64m). Default: none.",
                               valueName: "size"),
            transform: { text in
                guard let size = MemorySize(argument: text) else {
                    throw ValidationError("give bytes or a number with k, m or g, at least 6m (e.g. 64m)")
                }
                return size
            })
    public var memory: MemorySize?

    @Option(help: ArgumentHelp("Maximum number of tasks (processes and threads). Default: none.", valueName: "n"))
    public var pidsLimit: Int?

    @Flag(help: "Print the container's CPU, memory and task count from its cgroup once a second.")
    public var stats = false

    public init() {}

    public func validate() throws {
        let online = Double(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        guard cpus.isFinite, cpus > 0 else { throw ValidationError("--cpus must be a number above 0 (e.g. 0.5)") }
        guard cpus >= 0.01 else { throw ValidationError("--cpus must be at least 0.01") }
        guard cpus <= online else {
            throw ValidationError("--cpus \(cpus) is more than this machine's \(Int(online)) CPUs")
        }
        if let pidsLimit, pidsLimit <= 0 { throw ValidationError("--pids-limit must be a whole number above 0") }
    }
}

/// A size with Docker's suffixes: b, k, m, g (powers of 1024).
public struct MemorySize: ExpressibleByArgument, Sendable, Equatable {
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

    public static var defaultCompletionKind: CompletionKind { .default }
}

extension MemorySize: CustomStringConvertible {
    public var description: String { formatBytes(bytes) }
}

/// step06+: the capability set.
public struct CapabilityOptions: ParsableArguments {
    @Option(name: .customLong("cap-add"), help: ArgumentHelp(
        "Add a capability to Docker's default set (e.g. SYS_ADMIN, or ALL).", valueName: "name"))
    public var added: [String] = []

    @Option(name: .customLong("cap-drop"), help: ArgumentHelp(
        "Drop a capability from Docker's default set (e.g. CHOWN, or ALL).", valueName: "name"))
    public var dropped: [String] = []

    public init() {}

    public func validate() throws {
        for name in added + dropped where name.uppercased() != "ALL" {
            do { _ = try CapabilitySet.number(of: name) } catch let failure as Failure { throw ValidationError(failure.message) }
        }
    }

    /// Docker's rule: start from the default set, drop, then add (so --cap-drop ALL --cap-add X keeps X).
    public func capabilities() throws -> CapabilitySet {
        let wanted: CapabilitySet
        do {
            wanted = try CapabilitySet.dockerDefault.dropping(dropped).adding(added)
        } catch let failure as Failure {
            throw ValidationError(failure.message)
        }
        let missing = CapabilitySet(mask: wanted.mask & ~CapabilitySet.all.mask)
        if missing.mask != 0 {
            throw Failure("cannot give the container \(missing): the runtime does not have it itself (see CapBnd in /proc/self/status)")
        }
        return wanted
    }
}

/// step07+: the user namespace's id mappings.
public struct UserNamespaceOptions: ParsableArguments {
    @Option(name: .customLong("uidmap"), help: ArgumentHelp(
        "Map container uids to host uids: CONTAINER:HOST:COUNT (repeatable). Default: 0:100000:65536.",
        valueName: "map"))
    public var uidMappings: [IDMapping] = []

    @Option(name: .customLong("gidmap"), help: ArgumentHelp(
        "Map container gids to host gids, same format. Default: the uid mappings.", valueName: "map"))
    public var gidMappings: [IDMapping] = []

    public init() {}

    public var uidMap: [IDMapping] { uidMappings.isEmpty ? [IDMapping.workshopDefault] : uidMappings }
    public var gidMap: [IDMapping] { gidMappings.isEmpty ? uidMap : gidMappings }

    public func validate() throws {
        for map in [uidMap, gidMap] {
            guard map.contains(where: { $0.container == 0 }) else {
                throw ValidationError("the mappings must map container id 0 (the container's root)")
            }
            if map.count > 340 { throw ValidationError("at most 340 mappings (the kernel's limit)") }
        }
    }
}

/// step08: Docker's --security-opt, for seccomp.
public struct SecurityOptions: ParsableArguments {
    @Option(name: .customLong("security-opt"), help: ArgumentHelp(
        "'seccomp=unconfined' turns the seccomp filter off.", valueName: "option"))
    public var securityOptions: [String] = []

    public init() {}

    public var seccompEnabled: Bool { !securityOptions.contains("seccomp=unconfined") }

    public func validate() throws {
        for option in securityOptions where option != "seccomp=unconfined" {
            throw ValidationError("unsupported --security-opt '\(option)' (this kit knows seccomp=unconfined)")
        }
    }
}

extension ParsableCommand {
    /// Parses the command line. Errors are one line and exit 64 (not a usage
    /// screen); --help prints the help and exits 0.
    public static func parseCommandLine() -> Self {
        do {
            var arguments = Array(CommandLine.arguments.dropFirst())
            // `swift run stepNN -- sh` may pass the separator through; the command starts after it.
            if arguments.first == "--" { arguments.removeFirst() }
            return try parse(arguments)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            let name = configuration.commandName ?? "step"
            let message = self.message(for: error).split(separator: "\n").first.map(String.init) ?? "bad usage"
            writeLine(to: STDERR_FILENO, "\(name): error: \(message) (see --help)")
            Glibc.exit(code == .validationFailure ? Failure.usageExitCode : code.rawValue)
        }
    }
}

/// The command and its arguments: `stepNN [options] [--] [command [args...]]`.
/// Declared last in every step, so everything after the first non-option is the command's.
public struct CommandOptions: ParsableArguments {
    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp(
        "The command to run in the container, with its arguments (default: /bin/sh).", valueName: "command"))
    public var arguments: [String] = []

    public init() {}

    /// What to exec: what the user gave, or the image's shell.
    public var command: [String] {
        var command = arguments
        if command.first == "--" { command.removeFirst() }
        return command.isEmpty ? ["/bin/sh"] : command
    }

    public func validate() throws {
        // captureForPassthrough also swallows a mistyped option; docker calls that an unknown flag.
        if let first = arguments.first, first.hasPrefix("-"), first != "--",
           !CommandLine.arguments.contains("--") {
            throw ValidationError("unknown option '\(first)'")
        }
    }
}

public func formatBytes(_ bytes: Int64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(bytes) B" : "\(formatDecimal(value, places: 1)) \(units[unit])"
}

/// String(format:) without Foundation.
public func formatDecimal(_ value: Double, places: Int) -> String {
    var scale = 1.0
    for _ in 0..<places { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    let whole = Int(scaled / scale)
    let fraction = Int(scaled) - whole * Int(scale)
    var text = (value < 0 && scaled > 0 ? "-" : "") + String(whole)
    if places > 0 {
        let digits = String(fraction)
        text += "." + String(repeating: "0", count: places - digits.count) + digits
    }
    return text
}
