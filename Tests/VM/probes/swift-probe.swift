// swift-probe: a dynamically linked Swift program (stdlib + Glibc, like the
// kit's step binaries) that run.sh puts into the default smoke payload with
// add-binary.sh, to prove such binaries start in the guest.
import Glibc

var uts = utsname()
uname(&uts)
let release = withUnsafeBytes(of: &uts.release) { raw in
    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
}
var cgroup = "?"
if let f = fopen("/proc/self/cgroup", "r") {
    var buf = [CChar](repeating: 0, count: 512)
    var lines: [String] = []
    while fgets(&buf, Int32(buf.count), f) != nil {
        lines.append(String(cString: buf).trimmingSuffix())
    }
    fclose(f)
    cgroup = "\(lines.count) lines, first=\(lines.first ?? "")"
}
print("ok swift-probe pid=\(getpid()) kernel=\(release) /proc/self/cgroup: \(cgroup)")

extension String {
    func trimmingSuffix() -> String {
        var s = self
        while s.last == "\n" { s.removeLast() }
        return s
    }
}
