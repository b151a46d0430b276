import Foundation
import XCTest
@testable import Workshop

/// The cgroup v2 device program, run by this machine's kernel. On a hybrid host (v1
/// controllers) the steps use devices.allow, so without this test the eBPF program would
/// only be exercised in the VM; but the kernel runs device programs on the cgroup2 tree
/// (/sys/fs/cgroup/unified) whatever the v1 controllers say, so it can be tried here.
final class DeviceFilterTests: XCTestCase {
    /// The cgroup2 mount: /sys/fs/cgroup (v2) or /sys/fs/cgroup/unified (hybrid).
    private func cgroup2Root() -> String? {
        for path in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] where CgroupLayout.isCgroup2(path) { return path }
        return nil
    }

    /// A shell is moved into a group of its own with the program attached, then makes and
    /// opens nodes: /dev/null and /dev/zero work, a mknod is allowed, but opening the kernel
    /// log (c 1:11) and a block node is refused with EPERM. The same shell without the program
    /// (the first run) opens the kernel log, so the refusal is the program's.
    func testKernelRunsTheDeviceProgram() throws {
        guard geteuid() == 0 else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail("needs root (CI=true: refusing to skip)"); return }
            throw XCTSkip("needs root: sudo swift test")
        }
        guard let root = cgroup2Root() else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail("no cgroup2 mount"); return }
            throw XCTSkip("no cgroup2 mount on this machine")
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("workshop-devfilter-\(getpid())").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let parent = ProcessInfo.processInfo.environment["WORKSHOP_TEST_CGROUP_PARENT"] ?? "workshop-tests"
        // Under the tests' own parent, never beside the machine's groups.
        let parentDirectory = "\(root)/\(parent)"
        if mkdir(parentDirectory, 0o755) != 0 { XCTAssertEqual(errno, EEXIST, "mkdir \(parentDirectory)") }
        defer { rmdir(parentDirectory) }   // only if empty: the step tests may be using it
        let group = "\(parentDirectory)/devfilter-\(getpid())"
        let script = """
            echo $$ > "$GROUP/cgroup.procs" || exit 99
            head -c 4 /dev/zero | wc -c; echo x > /dev/null && echo null=ok
            mknod "$DIR/kmsg" c 1 11 && mknod "$DIR/disk" b 7 0 && echo mknod=ok
            dd if="$DIR/kmsg" of=/dev/null bs=8192 count=1 2>&1 | grep -o 'Operation not permitted\\|records in' | head -1
            head -c 1 "$DIR/disk" 2>&1 >/dev/null | grep -o 'Operation not permitted' || echo disk=opened
            """
        func runInGroup() throws -> String {
            try? FileManager.default.removeItem(atPath: scratch + "/kmsg")
            try? FileManager.default.removeItem(atPath: scratch + "/disk")
            let shell = Process()
            shell.executableURL = URL(fileURLWithPath: "/bin/sh")
            shell.arguments = ["-c", script]
            shell.environment = ["GROUP": group, "DIR": scratch, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]
            let output = Pipe()
            shell.standardOutput = output
            try shell.run()
            shell.waitUntilExit()
            return String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        }
        for attached in [false, true] {
            XCTAssertEqual(mkdir(group, 0o755), 0, "mkdir \(group): \(String(cString: strerror(errno)))")
            defer { for _ in 0..<100 where rmdir(group) != 0 && errno == EBUSY { usleep(10_000) } }
            if attached {
                _ = try DeviceFilter.attach(DeviceFilter.program(allowing: DeviceRule.containerDefaults), to: group)
            }
            let lines = try runInGroup().split(separator: "\n").map(String.init)
            XCTAssertEqual(lines.prefix(3), ["4", "null=ok", "mknod=ok"], "DeviceFilter \(attached ? "attached" : "not attached"): zero, null and mknod in the group")
            if attached {
                XCTAssertEqual(Array(lines.dropFirst(3)), ["Operation not permitted", "Operation not permitted"],
                               "DeviceFilter attached: opening the kernel log and a block node (refused by the program)")
            } else {
                XCTAssertEqual(lines.dropFirst(3).first, "records in", "DeviceFilter not attached: reading the kernel log (it opens)")
            }
        }
    }

    /// Every jump lands inside the program, on the next rule's first instruction or the final
    /// refusal, and the program ends with "return 0": what the verifier will insist on.
    func testJumpsLandOnRuleBoundaries() {
        let program = DeviceFilter.program(allowing: DeviceRule.containerDefaults)
        let exits = program.indices.filter { program[$0].code == DeviceFilter.exit }
        XCTAssertEqual(exits.count, DeviceRule.containerDefaults.count + 1, "DeviceFilter.program: exits (one per rule and the final refusal)")
        XCTAssertEqual(program.last?.code, DeviceFilter.exit, "DeviceFilter.program: the last instruction (an exit)")
        XCTAssertEqual(program[program.count - 2].immediate, 0, "DeviceFilter.program: the final return value (0: refuse)")
        let blockStarts = Set(exits.map { $0 + 1 })
        for (index, instruction) in program.enumerated()
        where instruction.code == DeviceFilter.jumpIfNotEqual || instruction.code == DeviceFilter.jumpIfNotEqualRegister {
            XCTAssertTrue(blockStarts.contains(index + 1 + Int(instruction.offset)),
                          "DeviceFilter.program: the jump at \(index): expected to land on a rule's first instruction, saw \(instruction)")
        }
    }
}
