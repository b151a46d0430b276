import Glibc

/// One container's writable root: an overlay whose lower layer is the cached
/// image (never written) and whose upper layer is this run's own directory.
///
///   /run/workshop/<id>.lock  held (flock) by the runtime while it lives; machine-wide,
///                            whatever WORKSHOP_HOME each runtime uses, since cgroups are too
///   containers/<id>/upper    what the container writes
///   containers/<id>/work     overlayfs's scratch space
///   containers/<id>/rootfs   where the child mounts the overlay, in its own mount namespace
public final class RunDirectory {
    /// 12 hex digits, like a short Docker id. Also the name of its cgroup.
    public let id: String
    public let directory: String
    public let image: Image
    /// Held (flock) while this runtime lives; closed, and so released, by `remove()`.
    private var lock: FileDescriptor?

    public var upper: String { directory + "/upper" }
    public var work: String { directory + "/work" }
    public var rootfs: String { directory + "/rootfs" }

    /// overlayfs mount options: lower (read-only image) + upper (this run). overlayfs splits
    /// the options at "," and lowerdir at ":": a backslash keeps them in a path (WORKSHOP_HOME=/srv/a,b).
    public var overlayOptions: String {
        "lowerdir=\(RunDirectory.escape(image.path)),upperdir=\(RunDirectory.escape(upper)),workdir=\(RunDirectory.escape(work))"
    }

    static func escape(_ path: String) -> String {
        var out = ""
        for character in path {
            if character == "\\" || character == "," || character == ":" { out.append("\\") }
            out.append(character)
        }
        return out
    }

    static var containers: String { workshopHome + "/containers" }
    /// Run-time state, on the tmpfs /run: gone after a reboot, like the containers.
    static let locks = "/run/workshop"

    /// Makes the directories. `rootOwner` is the host uid/gid of the container's root (step07).
    public init(image: Image, rootOwner: UInt32 = 0) throws {
        self.image = image
        try makeDirectories(RunDirectory.containers, mode: 0o711)
        try makeDirectories(RunDirectory.locks, mode: 0o700)
        RunDirectory.removeStale(report: true)
        id = RunDirectory.newID()
        directory = RunDirectory.containers + "/" + id
        // Take the lock under a temporary name, then rename it into place: a scan
        // never sees an unlocked lock file of a live runtime.
        let temporary = RunDirectory.locks + "/.\(id).lock"
        let lock = try FileDescriptor(opening: temporary, O_RDWR | O_CREAT | O_EXCL, mode: 0o600,
                                      what: "create \(temporary)")
        // A new file nobody else has open: the lock cannot be refused, but say so if it is.
        do {
            guard try lock.tryLock(.exclusive, what: "lock \(temporary)") else {
                throw Failure("could not lock \(temporary): another process holds it")
            }
        } catch {
            unlink(temporary)
            throw error
        }
        self.lock = Optional(consume lock)
        try check(rename(temporary, RunDirectory.lockPath(id)), "rename \(temporary)")
        Cleanup.push { [self] in remove() }
        // The run directory is 0700 and owned by the container's root (root, or the mapped
        // root of step07 that mounts the overlay): no other host user may enter the layer,
        // where the container may have made setuid files. Inside it, 0711 as before.
        try check(mkdir(directory, 0o700), "mkdir \(directory)")
        for path in [upper, work, rootfs] {
            try check(mkdir(path, 0o711), "mkdir \(path)")
        }
        if rootOwner != 0 {
            for path in [directory, upper, work, rootfs] { try check(chown(path, rootOwner, rootOwner), "chown \(path)") }
            try check(chmod(upper, 0o755), "chmod \(upper)")
        }
    }

    /// Deletes this run's directories (the overlay itself vanished with the container's mount namespace).
    public func remove() {
        do {
            try removeTree(directory)
        } catch {
            writeLine(to: STDERR_FILENO, "workshop: could not remove the run directory \(directory): \(error)")
        }
        unlink(RunDirectory.lockPath(id))
        lock = nil
    }

    /// The lock file of the runtime that owns `id`.
    static func lockPath(_ id: String) -> String { locks + "/" + id + ".lock" }

    /// Is the runtime that owns `id` still running? Its flock dies with it, so a lock we can
    /// take means it is gone. No lock file: gone too. A lock we cannot even try (an error other
    /// than "held"): live, since removing a live container's files is the worse mistake.
    public static func isLive(_ id: String) -> Bool {
        guard let file = try? FileDescriptor(opening: lockPath(id), O_RDWR) else { return false }
        return (try? file.tryLock(.exclusive, what: "lock \(lockPath(id))")) != true
    }

    /// Removes run directories whose runtime died (SIGKILL, power cut). Returns how many
    /// it removed; with `report`, says so (and what it could not remove), truthfully.
    @discardableResult
    public static func removeStale(report: Bool = false) -> Int {
        var removed = 0
        for id in directoryEntries(containers) where isContainerID(id) && !isLive(id) {
            do {
                try removeTree(containers + "/" + id)
                removed += 1
            } catch {
                if report { writeLine(to: STDERR_FILENO, "workshop: could not remove \(containers)/\(id), left by a runtime that was killed: \(error)") }
            }
        }
        for name in directoryEntries(locks) where name.hasSuffix(".lock") {
            let id = String(name.dropLast(5))
            if isContainerID(id) && !isLive(id) { unlink(lockPath(id)) }
        }
        if report && removed > 0 {
            writeLine(to: STDERR_FILENO, "workshop: removed \(removed) run director\(removed == 1 ? "y" : "ies") left by a runtime that was killed")
        }
        return removed
    }

    static func newID() -> String {
        let digits = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        return String((String(repeating: "0", count: 16 - digits.count) + digits).prefix(12))
    }

    /// Only names the kit makes: 12 lowercase hex digits.
    public static func isContainerID(_ name: String) -> Bool {
        name.utf8.count == 12 && name.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }
}
