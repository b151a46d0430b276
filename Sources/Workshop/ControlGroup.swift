import CLinux
import Glibc

/// Which cgroup layout this machine has, detected as runc and crun do it.
public enum CgroupLayout: String, Sendable {
    /// cgroup v2 only, at /sys/fs/cgroup (Ubuntu 22.04+, Debian 12, Fedora).
    case unified
    /// v1 controllers under /sys/fs/cgroup/<controller>, plus an (unused) v2 at /sys/fs/cgroup/unified.
    case hybrid
    /// cgroup v1 only.
    case legacy

    public static let root = "/sys/fs/cgroup"

    /// statfs(2) magic of /sys/fs/cgroup: cgroup2 means unified; a tmpfs of v1 mounts means v1,
    /// hybrid when a cgroup2 is also mounted at /sys/fs/cgroup/unified.
    public static func detect() -> CgroupLayout {
        if isCgroup2(root) { return .unified }
        if isCgroup2(root + "/unified") { return .hybrid }
        return .legacy
    }

    public static func isCgroup2(_ path: String) -> Bool { ws_filesystem_magic(path) == WS_CGROUP2_SUPER_MAGIC }

    public var isV2: Bool { self == .unified }

    public var description: String {
        switch self {
        case .unified: return "cgroup v2 (unified hierarchy at /sys/fs/cgroup)"
        case .hybrid: return "cgroup v1 (hybrid: v1 controllers under /sys/fs/cgroup/<controller>, an empty v2 beside them)"
        case .legacy: return "cgroup v1 (one hierarchy per controller under /sys/fs/cgroup/<controller>)"
        }
    }
}

/// The limits, in Docker's terms.
public struct CgroupLimits: Sendable {
    public var cpus: Double
    public var memory: Int64?
    public var pids: Int?

    public init(cpus: Double, memory: Int64?, pids: Int?) {
        (self.cpus, self.memory, self.pids) = (cpus, memory, pids)
    }

    public static let cpuPeriod = 100_000   // microseconds, the CFS default
    public var cpuQuota: Int { max(1000, Int((cpus * Double(CgroupLimits.cpuPeriod)).rounded())) }

    /// The files and values for each layout: what the step writes.
    public func files(for layout: CgroupLayout) -> [(controller: String, file: String, value: String)] {
        var files: [(String, String, String)] = []
        if layout.isV2 {
            files.append(("cpu", "cpu.max", "\(cpuQuota) \(CgroupLimits.cpuPeriod)"))
            if let memory {
                files.append(("memory", "memory.max", "\(memory)"))
                files.append(("memory", "memory.swap.max", "0"))   // or the container just swaps
            }
            if let pids { files.append(("pids", "pids.max", "\(pids)")) }
        } else {
            files.append(("cpu", "cpu.cfs_period_us", "\(CgroupLimits.cpuPeriod)"))
            files.append(("cpu", "cpu.cfs_quota_us", "\(cpuQuota)"))
            if let memory {
                files.append(("memory", "memory.limit_in_bytes", "\(memory)"))
                files.append(("memory", "memory.memsw.limit_in_bytes", "\(memory)"))   // memory + swap: no swap
            }
            if let pids { files.append(("pids", "pids.max", "\(pids)")) }
        }
        return files
    }
}

/// What the group's own accounting says.
public struct CgroupSample: Sendable {
    public var cpuNanoseconds: UInt64 = 0
    public var memoryBytes: Int64 = 0
    public var peakMemoryBytes: Int64 = 0
    public var tasks: Int = 0
    public var oomKills: Int = 0
    public var throttledPeriods: Int = 0
    /// When it was taken (CLOCK_MONOTONIC, ms): the final sample's is when the container was over.
    public var milliseconds = monotonicMilliseconds()
}

/// One container's control group: `workshop/<id>` under each hierarchy the kit uses.
/// The kit only ever writes inside `workshop/`, and only to groups it created.
public final class ControlGroup {
    public let id: String
    public let layout: CgroupLayout
    public let limits: CgroupLimits
    /// controller → the group's directory (v2: the same one for all; v1: one per hierarchy).
    public let directories: [String: String]
    /// What was written, for the narration: "cpu.max = 10000 100000".
    public private(set) var written: [String] = []
    private var removed = false

    /// v1 hierarchies the kit uses; `devices` only there (v2 has no device files: see restrictDevices).
    static let controllers = ["cpu", "cpuacct", "memory", "pids", "devices"]
    /// The kit's parent group: `workshop`, or WORKSHOP_CGROUP_PARENT (the tests use their
    /// own, so a learner's containers and the tests never sweep each other's groups).
    /// One plain name only: the kit must never write outside a group of its own.
    public static let parentName: String = {
        guard let name = environment("WORKSHOP_CGROUP_PARENT") else { return "workshop" }
        let plain = name != "." && name != ".." && name.utf8.count <= 64
            && name.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122)
                || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
        guard plain else {
            writeLine(to: STDERR_FILENO, "workshop: WORKSHOP_CGROUP_PARENT must be one plain name (letters, digits, . _ -), not '\(name)'")
            Cleanup.runAll()   // the run directory made before this was first read
            exit(Failure.usageExitCode)
        }
        return name
    }()

    /// Makes the group's directories: `workshop/<id>` in the one v2 tree, or in each v1 controller's
    /// hierarchy (on v2 after handing the controllers down). Removed when the runtime exits, whatever
    /// happens. Nothing is limited yet: the step writes the limit files (`write`). `limits` is what it
    /// will write, for the narration and --stats.
    public init(id: String, limits: CgroupLimits) throws {
        self.id = id
        self.limits = limits
        layout = CgroupLayout.detect()
        let mounts = try ControlGroup.hierarchies(layout)
        var directories: [String: String] = [:]
        for (controller, mount) in mounts { directories[controller] = mount + "/" + ControlGroup.parentName + "/" + id }
        self.directories = directories
        let stale = ControlGroup.removeStale()
        if stale > 0 {
            writeLine(to: STDERR_FILENO, "workshop: removed the cgroup\(stale == 1 ? "" : "s") of \(stale) container\(stale == 1 ? "" : "s") whose runtime was killed")
        }
        Cleanup.push { [self] in _ = stop() }
        for mount in Set(mounts.values).sorted() {
            try ControlGroup.makeGroup(in: mount, id: id, v2: layout.isV2)
        }
    }

    /// Writes one of the group's files: `write("cpu", "cpu.max", "10000 100000")` (the controller
    /// says which v1 hierarchy; on v2 there is one directory). `ifPresent`: skip a file this kernel
    /// lacks (the swap files, without swap accounting).
    public func write(_ controller: String, _ file: String, _ value: String, ifPresent: Bool = false) throws {
        guard let directory = directories[controller] else { throw Failure("no '\(controller)' controller for the group") }
        let path = directory + "/" + file
        if ifPresent && !fileExists(path) { return }
        try writeFile(path, value)
        written.append("\(file) = \(value)")
    }

    /// Each directory of the group once (v2: one; v1: one per hierarchy): where cgroup.procs is.
    public var uniqueDirectories: [String] { Set(directories.values).sorted() }

    /// The directory each controller's groups live in (its hierarchy's mount point).
    static func hierarchies(_ layout: CgroupLayout) throws -> [String: String] {
        if layout.isV2 {
            let available = (try? readFile(CgroupLayout.root + "/cgroup.controllers")) ?? ""
            for needed in ["cpu", "memory", "pids"] where !available.split(separator: " ").contains(where: { $0.hasPrefix(needed) }) {
                throw Failure("this kernel's cgroup v2 has no '\(needed)' controller (see /sys/fs/cgroup/cgroup.controllers)")
            }
            return ["cpu": CgroupLayout.root, "cpuacct": CgroupLayout.root, "memory": CgroupLayout.root,
                    "pids": CgroupLayout.root, "devices": CgroupLayout.root]
        }
        // v1: find each controller's mount; cpu and cpuacct are often mounted together.
        var result: [String: String] = [:]
        for line in try readFile("/proc/self/mountinfo").split(separator: "\n") {
            let halves = line.split(separator: " - ", maxSplits: 1)
            guard halves.count == 2 else { continue }
            let fields = halves[1].split(separator: " ")
            guard fields.count >= 3, fields[0] == "cgroup" else { continue }
            let options = fields[2].split(separator: ",").map(String.init)
            let mountPoint = String(halves[0].split(separator: " ")[4])
            for controller in controllers where options.contains(controller) { result[controller] = mountPoint }
        }
        for controller in controllers where result[controller] == nil {
            throw Failure("no cgroup v1 hierarchy for the '\(controller)' controller is mounted (see /proc/self/mountinfo)")
        }
        return result
    }

    /// mkdir workshop/ (enabling the controllers for its children on v2) and workshop/<id>.
    static func makeGroup(in mount: String, id: String, v2: Bool) throws {
        let parent = mount + "/" + parentName
        for _ in 0..<50 {
            if mkdir(parent, 0o755) != 0 && errno != EEXIST { throw SystemCallError("mkdir \(parent)") }
            // ENOENT (or ENODEV: being removed) below: another runtime removed the
            // empty parent just now (its last container ended); make it again.
            if v2 {
                // v2's rule: controllers are handed down through each parent's
                // cgroup.subtree_control, and processes only live in leaves.
                try enableControllers(in: mount)
                do {
                    try enableControllers(in: parent)
                } catch let error as SystemCallError where error.code == ENOENT || error.code == ENODEV {
                    continue
                }
            }
            if mkdir(parent + "/" + id, 0o755) == 0 {
                // The parent may be a new one another runtime made after our enabling
                // and has not enabled yet; with our group in it, it can no longer vanish.
                if v2 { try enableControllers(in: parent) }
                return
            }
            if errno != ENOENT && errno != ENODEV { throw SystemCallError("mkdir \(parent)/\(id)") }
        }
        throw Failure("could not create \(parent)/\(id)")
    }

    static func enableControllers(in directory: String) throws {
        let enabled = ((try? readFile(directory + "/cgroup.subtree_control")) ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" })
        let missing = ["cpu", "memory", "pids"].filter { !enabled.contains(Substring($0)) }
        if missing.isEmpty { return }
        try writeFile(directory + "/cgroup.subtree_control", missing.map { "+" + $0 }.joined(separator: " "))
    }

    /// Allows only `rules`' device nodes to processes in the group (runc's default
    /// list: the standard nodes, mknod of anything, no opening of the host's disks).
    /// Done before the child runs. v1: the devices controller's own files; v2 has none,
    /// so the same rules become an eBPF program attached to the group.
    /// Returns what it did, read back from the kernel, and where to look, for the narration.
    public func restrictDevices(to rules: [DeviceRule]) throws -> (said: String, look: String) {
        let directory = directories["devices"]!
        if layout.isV2 {
            let program = DeviceFilter.program(allowing: rules)
            let id = try DeviceFilter.attach(program, to: directory)
            let places: [String] = ["/usr/sbin/bpftool", "/usr/bin/bpftool", "/sbin/bpftool"]
            let bpftool = places.first { access($0, X_OK) == 0 }
            return ("devices: no device files on cgroup v2; \(rules.count) rules compiled to a \(program.count)-instruction eBPF program "
                + "(BPF_PROG_TYPE_CGROUP_DEVICE), loaded and attached to the group (BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI): program ID \(id)",
                bpftool.map { "\($0) cgroup show \(directory); \($0) prog dump xlated id \(id)   # the program" }
                    ?? "bpftool cgroup show \(directory)   # the program (apt-get install bpftool)")
        } else {
            // Deny everything ("a" = all devices, any access), then allow each rule. A new group
            // starts with its parent's list, which for the kit's parent is the root's "a *:* rwm".
            try writeFile(directory + "/devices.deny", "a")
            for rule in rules { try writeFile(directory + "/devices.allow", rule.description) }
            let list = ((try? readFile(directory + "/devices.list")) ?? "").split(separator: "\n")
            return ("devices: wrote a to devices.deny, then \(rules.count) rules to devices.allow; devices.list now: "
                + list.joined(separator: ", "), "cat \(directory)/devices.list   # the allowed devices")
        }
    }

    /// An open directory for clone3(CLONE_INTO_CGROUP), on cgroup v2 only.
    public func openForClone() -> Int32? {
        guard layout.isV2, let directory = directories["cpu"] else { return nil }
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        return fd >= 0 ? fd : nil
    }

    /// Reads the group's accounting.
    public func sample() -> CgroupSample {
        var sample = CgroupSample()
        func number(_ controller: String, _ file: String) -> Int64? {
            guard let text = try? readFile(directories[controller]! + "/" + file) else { return nil }
            return Int64(text.split(separator: "\n").first ?? "")
        }
        func keyed(_ controller: String, _ file: String, _ key: String) -> Int64? {
            guard let text = try? readFile(directories[controller]! + "/" + file) else { return nil }
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: " ")
                if parts.count == 2, parts[0] == key { return Int64(parts[1]) }
            }
            return nil
        }
        if layout.isV2 {
            sample.cpuNanoseconds = UInt64(keyed("cpu", "cpu.stat", "usage_usec") ?? 0) * 1000
            sample.memoryBytes = number("memory", "memory.current") ?? 0
            sample.peakMemoryBytes = number("memory", "memory.peak") ?? sample.memoryBytes
            sample.oomKills = Int(keyed("memory", "memory.events", "oom_kill") ?? 0)
        } else {
            sample.cpuNanoseconds = UInt64(number("cpuacct", "cpuacct.usage") ?? 0)
            sample.memoryBytes = number("memory", "memory.usage_in_bytes") ?? 0
            sample.peakMemoryBytes = number("memory", "memory.max_usage_in_bytes") ?? sample.memoryBytes
            sample.oomKills = Int(keyed("memory", "memory.oom_control", "oom_kill") ?? 0)
        }
        sample.tasks = Int(number("pids", "pids.current") ?? 0)
        sample.throttledPeriods = Int(keyed("cpu", "cpu.stat", "nr_throttled") ?? 0)
        return sample
    }

    /// Kills whatever is left in the group, waits until it is empty, takes the
    /// final sample and removes the group (and the kit's parent, if now empty).
    @discardableResult
    public func stop() -> CgroupSample? {
        guard !removed else { return nil }
        removed = true
        let paths = Set(directories.values).sorted()
        for path in paths { ControlGroup.killAll(in: path) }
        let final = isDirectory(paths[0]) ? sample() : nil
        for path in paths { ControlGroup.removeGroup(path) }
        return final
    }

    /// Removes the kit's groups whose runtime is gone (killed with SIGKILL,
    /// say). Only `workshop/<12 hex digits>`, never anything else. Returns how many
    /// containers' groups (on v1 each has one directory per hierarchy).
    @discardableResult
    public static func removeStale() -> Int {
        var removed: Set<String> = []
        let layout = CgroupLayout.detect()
        guard let mounts = try? hierarchies(layout) else { return 0 }
        for mount in Set(mounts.values) {
            let parent = mount + "/" + parentName
            for name in directoryEntries(parent) where RunDirectory.isContainerID(name) && !RunDirectory.isLive(name) {
                killAll(in: parent + "/" + name)
                removeGroup(parent + "/" + name)
                removed.insert(name)
            }
        }
        return removed.count
    }

    static func killAll(in path: String) {
        for _ in 0..<200 {
            let pids = ((try? readFile(path + "/cgroup.procs")) ?? "").split(separator: "\n").compactMap { pid_t($0) }
            if pids.isEmpty { return }
            if fileExists(path + "/cgroup.kill") {
                try? writeFile(path + "/cgroup.kill", "1")   // v2, Linux 5.14+: the whole group at once
            } else {
                for pid in pids { kill(pid, SIGKILL) }
            }
            usleep(5000)
        }
    }

    static func removeGroup(_ path: String) {
        for _ in 0..<200 {
            if rmdir(path) == 0 || errno == ENOENT { break }
            usleep(5000)   // EBUSY while the last task is still exiting
        }
        rmdir(parentDirectory(of: path))   // the kit's parent, once no container uses it (ENOTEMPTY otherwise)
    }
}
