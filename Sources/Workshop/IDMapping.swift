import Glibc

/// One line of /proc/PID/uid_map: `count` ids from `container` map to `host`.
public struct IDMapping: Equatable, Sendable, CustomStringConvertible {
    public var container: UInt32
    public var host: UInt32
    public var count: UInt32

    public init(container: UInt32, host: UInt32, count: UInt32) {
        (self.container, self.host, self.count) = (container, host, count)
    }

    /// Container root is host uid 100000; 65536 ids, as Docker's userns-remap and /etc/subuid use.
    public static let workshopDefault = IDMapping(container: 0, host: 100_000, count: 65_536)

    /// "CONTAINER:HOST:COUNT", as podman's --uidmap.
    public init?(argument: String) {
        let parts = argument.split(separator: ":", omittingEmptySubsequences: false).map { UInt32($0) }
        guard parts.count == 3, let container = parts[0], let host = parts[1], let count = parts[2], count > 0,
              UInt64(container) + UInt64(count) <= UInt64(UInt32.max),
              UInt64(host) + UInt64(count) <= UInt64(UInt32.max) else { return nil }
        self.init(container: container, host: host, count: count)
    }

    /// The line the kernel expects in uid_map and gid_map.
    public var description: String { "\(container) \(host) \(count)" }

    /// The host id of container id `id`, if mapped.
    public static func hostID(of id: UInt32, in mappings: [IDMapping]) -> UInt32? {
        for map in mappings where id >= map.container && id - map.container < map.count {
            return map.host + (id - map.container)
        }
        return nil
    }
}
