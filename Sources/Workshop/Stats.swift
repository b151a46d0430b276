import Glibc

/// The --stats view: once a second, from the group's own accounting, for the projector.
public final class StatsMonitor {
    let group: ControlGroup
    let narrator: Narrator
    let start = monotonicMilliseconds()
    var last: (time: Double, cpu: UInt64)
    var peakMemory: Int64 = 0
    let color = isatty(STDERR_FILENO) == 1 && environment("NO_COLOR") == nil

    public init(group: ControlGroup, narrator: Narrator) {
        self.group = group
        self.narrator = narrator
        last = (start, group.sample().cpuNanoseconds)
        narrator.always(header)
    }

    var header: String {
        "  time   CPU (of one CPU, limit \(formatDecimal(group.limits.cpus * 100, places: 0))%)        memory"
            + (group.limits.memory.map { " (limit \(formatBytes($0)))" } ?? "") + "     tasks"
    }

    /// Prints one line: CPU share since the last tick, memory in use, tasks.
    public func tick() {
        let now = monotonicMilliseconds()
        let sample = group.sample()
        let cpuShare = Double(sample.cpuNanoseconds &- last.cpu) / ((now - last.time) * 1_000_000)
        last = (now, sample.cpuNanoseconds)
        peakMemory = max(peakMemory, sample.peakMemoryBytes, sample.memoryBytes)
        let width = 20
        let filled = min(width, Int((cpuShare * Double(width)).rounded()))
        let limitMark = min(width - 1, Int(group.limits.cpus * Double(width)))
        var bar = ""
        for i in 0..<width { bar += i < filled ? "█" : (i == limitMark ? "┊" : "·") }
        if color { bar = "\u{1B}[32m" + bar + "\u{1B}[0m" }
        let seconds = formatDecimal((now - start) / 1000, places: 0)
        let percent = formatDecimal(cpuShare * 100, places: 1)
        let tasks = "\(sample.tasks)" + (group.limits.pids.map { "/\($0)" } ?? "")
        narrator.always(pad(seconds + "s", 6) + "  " + bar + " " + pad(percent + "%", 6) + "   "
            + pad(formatBytes(sample.memoryBytes), 10) + "   " + tasks)
    }

    /// The end-of-run summary; `final` is the group's last sample, taken before it was removed.
    public func summary(final: CgroupSample?, exitCode: Int32) {
        guard let final else { return }
        // Over the time the container ran: from the monitor's start (made before release) to
        // the final sample, taken once the group was empty; not the clean-up after it.
        let wall = max(final.milliseconds - start, 0.001) / 1000
        let cpuSeconds = Double(final.cpuNanoseconds) / 1e9
        // The limit is a budget per 100 ms period: a run shorter than one period is never throttled.
        let short = wall * 1_000_000 < Double(CgroupLimits.cpuPeriod)
            ? "; shorter than one 100 ms period, so never held to the limit" : ""
        let lines = [
            "CPU time     \(formatDecimal(cpuSeconds, places: 2)) s  (\(formatDecimal(cpuSeconds / wall * 100, places: 1))% of one CPU; limit \(formatDecimal(group.limits.cpus * 100, places: 0))%\(short))",
            "wall time    \(formatDecimal(wall, places: 2)) s",
            "peak memory  \(formatBytes(max(peakMemory, final.peakMemoryBytes)))" + (group.limits.memory.map { " (limit \(formatBytes($0)))" } ?? ""),
            "OOM kills    \(final.oomKills)" + (final.oomKills > 0 ? "  (the kernel killed a process at the memory limit)" : ""),
            "throttled    \(final.throttledPeriods) of the 100 ms periods hit the CPU limit",
            "exit code    \(exitCode)",
        ]
        narrator.always("┌─ summary of container \(group.id) (\(group.layout.isV2 ? "cgroup v2" : "cgroup v1"))")
        for line in lines { narrator.always("│ " + line) }
        narrator.always("└─")
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }
}
