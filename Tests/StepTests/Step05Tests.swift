import Foundation
import XCTest

/// The group a process is in, from the host's /proc/PID/cgroup, as directories to read.
/// `cpu` holds the limit, `cpuacct` the CPU accounting, `pids` the task count (one directory on v2).
func cgroupDirectories(of pid: pid_t) -> (cpu: String, cpuacct: String, pids: String)? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8) else { return nil }
    var found: [String: String] = [:]
    for line in text.split(separator: "\n") {
        let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 else { continue }
        if parts[0] == "0" && parts[1].isEmpty, isV2 {
            let directory = "/sys/fs/cgroup" + parts[2]
            return (directory, directory, directory)
        }
        // v1: /sys/fs/cgroup/<hierarchy name>/<path>; cpu and cpuacct may share a hierarchy ("cpu,cpuacct").
        for controller in parts[1].split(separator: ",") {
            found[String(controller)] = "/sys/fs/cgroup/\(parts[1])\(parts[2])"
        }
    }
    guard let cpu = found["cpu"], let cpuacct = found["cpuacct"], let pids = found["pids"] else { return nil }
    return (cpu, cpuacct, pids)
}

var isV2: Bool { (try? String(contentsOfFile: "/sys/fs/cgroup/cgroup.controllers", encoding: .utf8)) != nil }

/// CPU seconds a group has used, by its own accounting (v1 cpuacct.usage, v2 cpu.stat usage_usec).
func groupCPUSeconds(_ directory: String) -> Double? {
    if isV2 {
        guard let text = try? String(contentsOfFile: directory + "/cpu.stat", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("usage_usec ") {
            return Double(line.split(separator: " ")[1]).map { $0 / 1e6 }
        }
        return nil
    }
    guard let text = try? String(contentsOfFile: directory + "/cpuacct.usage", encoding: .utf8) else { return nil }
    return Double(text.trimmingCharacters(in: .whitespacesAndNewlines)).map { $0 / 1e9 }
}

let busyLoop = ["--", "/bin/sh", "-c", "while :; do :; done"]

/// step05-cgroup: CPU, memory and pids limits, watched from the host.
final class Step05Tests: StepTestCase {
    /// Runs a busy loop for 3 s and returns (host-measured CPU seconds, the step's printed summary).
    private func busyLoopForThreeSeconds(_ step: String, options: [String]) throws -> (Double, RunResult) {
        let running = try start(step, options + busyLoop)
        let pid = try XCTUnwrap(running.containerPID())
        let directory = cgroupDirectories(of: pid)?.cpuacct
        Thread.sleep(forTimeInterval: 3)
        let used: Double
        if step == "step04-pivot-root" {
            used = try XCTUnwrap(cpuSeconds(of: pid))
        } else {
            used = try XCTUnwrap(groupCPUSeconds(try XCTUnwrap(directory)), "no accounting in \(directory ?? "?")")
            XCTAssertTrue(directory!.contains("/\(testCgroupParent)/"), "step05: expected the container in the tests' group \(testCgroupParent)/<id>, saw \(directory!)")
        }
        return (used, stopContainer(running, pid))
    }

    func testBusyLoopIsHeldAtTenPercent() throws {
        let (used, result) = try busyLoopForThreeSeconds("step05-cgroup", options: ["--cpus", "0.1"])
        XCTAssertEqual(result.status, 137)
        XCTAssertGreaterThanOrEqual(used, 0.2, "CPU seconds in 3 s at --cpus 0.1")
        XCTAssertLessThanOrEqual(used, 0.45, "CPU seconds in 3 s at --cpus 0.1")
    }

    func testStep04BusyLoopIsNotLimited() throws {
        let (used, _) = try busyLoopForThreeSeconds("step04-pivot-root", options: [])
        // Alone it gets about 3 s; a loaded CI machine may share the CPU. More than 1 s (a third
        // of a CPU, over three times what --cpus 0.1 allows) still shows the limit is step05's.
        XCTAssertGreaterThan(used, 1, "without a cgroup the loop should get far more than 10% of a CPU")
    }

    func testStatsAgreeWithTheHost() throws {
        let (used, result) = try busyLoopForThreeSeconds("step05-cgroup", options: ["--stats"])
        let ticks = result.stderr.split(separator: "\n").filter { $0.contains("%") && $0.contains("s  ") }
        XCTAssertGreaterThanOrEqual(ticks.count, 2, "no per-second lines: \(result.stderr)")
        let line = try XCTUnwrap(result.stderr.split(separator: "\n").first { $0.contains("CPU time") }, result.stderr)
        let printed = try XCTUnwrap(Double(line.split(separator: " ").first { Double($0) != nil } ?? ""))
        XCTAssertEqual(printed, used, accuracy: used * 0.2, "summary \(printed) s vs host \(used) s")
    }

    func testMemoryLimitOOMKills() throws {
        let result = try run("step05-cgroup", ["--memory", "32m", "--stats", "--",
                                               "dd", "if=/dev/zero", "of=/dev/null", "bs=100M", "count=1"])
        XCTAssertEqual(result.status, 137, result.stderr)
        let line = result.stderr.split(separator: "\n").first { $0.contains("OOM kills") } ?? ""
        XCTAssertTrue(line.contains("OOM kills    1"), result.stderr)
        // The same allocation without a limit succeeds: the limit, not the machine, stopped it.
        XCTAssertEqual(try run("step05-cgroup", ["--", "dd", "if=/dev/zero", "of=/dev/null", "bs=100M", "count=1"]).status, 0)
    }

    func testPidsLimitContainsAForkLoop() throws {
        // A subshell forks until the kernel says no; PID 1 then becomes `sleep` (exec, no fork needed).
        let running = try start("step05-cgroup", ["--pids-limit", "20", "--", "/bin/sh", "-c",
                                                  "(for i in $(seq 1 60); do sleep 3 & done); exec sleep 3"])
        let pid = try XCTUnwrap(running.containerPID())
        let directory = try XCTUnwrap(cgroupDirectories(of: pid)?.pids)
        var most = 0
        while running.process.isRunning {
            if let text = try? String(contentsOfFile: directory + "/pids.current", encoding: .utf8),
               let count = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                most = max(most, count)
            }
            usleep(20_000)
        }
        let result = running.wait()
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("can't fork"), "forks did not fail inside: \(result.stderr)")
        XCTAssertGreaterThanOrEqual(most, 18, "the loop should have filled the group up to the limit")
        XCTAssertLessThanOrEqual(most, 20, "the group's task count exceeded the limit")
    }

    func testNoGroupIsLeftBehind() throws {
        let running = try start("step05-cgroup", ["sleep", "1"])
        let pid = try XCTUnwrap(running.containerPID())
        let directory = try XCTUnwrap(cgroupDirectories(of: pid)?.cpu)
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory))
        XCTAssertEqual(running.wait().status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory), "\(directory) is still there")
    }

    func testStaleGroupIsCleanedUp() throws {
        let running = try start("step05-cgroup", ["sleep", "30"])
        let pid = try XCTUnwrap(running.containerPID())
        let directory = try XCTUnwrap(cgroupDirectories(of: pid)?.cpu)
        // Simulate a runtime killed hard: it cannot clean up; its container dies with it (PDEATHSIG).
        kill(running.runtimePID, SIGKILL)
        // Looked at before collecting the output: the container holds the output pipe,
        // so waiting for its end first would wait for the container itself.
        for _ in 0..<100 where kill(pid, 0) == 0 { usleep(20_000) }
        XCTAssertNotEqual(kill(pid, 0), 0, "the container outlived its runtime")
        if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
        _ = running.wait()
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory), "the simulated leftover is missing")
        XCTAssertEqual(try run("step05-cgroup", ["true"]).status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory), "the next run did not clean up \(directory)")
    }

    func testBadLimitsAreUsageErrors() throws {
        for arguments in [["--cpus", "0"], ["--cpus", "-1"], ["--cpus", "nan"], ["--cpus", "64"], ["--memory", "12q"],
                          ["--memory", "0"], ["--memory", "-5m"], ["--pids-limit", "0"], ["--pids-limit", "many"]] {
            let result = try run("step05-cgroup", arguments + ["true"])
            XCTAssertEqual(result.status, 64, "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        }
    }
}
