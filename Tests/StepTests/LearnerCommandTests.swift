import Foundation
import XCTest

/// The learner's commands (`workshop start`, `reset`, `solution`, `progress`, `check --watch`, and
/// their usage errors), run as built in a throwaway workspace: a temporary directory with
/// Sources/my-container, copies of the step files and chapters, and solution pages of the test's
/// own. Never in the package itself, which the other tests build from.
final class LearnerCommandTests: StepTestCase {
    private var workspace = ""

    private static let stepNames = ["step01-clone", "step02-namespaces", "step03-chroot", "step04-pivot-root",
                                    "step05-cgroup", "step06-capabilities", "step07-userns", "step08-seccomp"]

    override func setUpWithError() throws {
        try super.setUpWithError()
        workspace = NSTemporaryDirectory() + "workshop-learner-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        let manager = FileManager.default
        for name in Self.stepNames + ["my-container"] {
            try manager.createDirectory(atPath: "\(workspace)/Sources/\(name)", withIntermediateDirectories: true)
            try manager.copyItem(atPath: packageDirectory.appendingPathComponent("Sources/\(name)/main.swift").path,
                                 toPath: "\(workspace)/Sources/\(name)/main.swift")
        }
        try manager.createDirectory(atPath: workspace + "/Chapters/ja", withIntermediateDirectories: true)
        for language in ["", "ja/"] {
            for name in try manager.contentsOfDirectory(atPath: packageDirectory.appendingPathComponent("Chapters/" + language).path)
            where name.hasPrefix("0") && name.hasSuffix(".md") {
                try manager.copyItem(atPath: packageDirectory.appendingPathComponent("Chapters/\(language)\(name)").path,
                                     toPath: "\(workspace)/Chapters/\(language)\(name)")
            }
        }
        let directory = workspace
        addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
    }

    private var learnerFile: String { workspace + "/Sources/my-container/main.swift" }

    private func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "<missing \(path)>" }

    private func step(_ n: Int) -> String { read("\(workspace)/Sources/\(Self.stepNames[n - 1])/main.swift") }

    private func write(_ text: String, _ path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Runs `workshop ARGUMENTS` in the workspace (or `directory`), as root unless `prefix` says otherwise.
    @discardableResult
    private func workshop(_ arguments: [String], environment: [String: String] = [:], prefix: [String] = [],
                          in directory: String? = nil) throws -> RunResult {
        let process = Process()
        let binary = binaryDirectory.appendingPathComponent("workshop").path
        process.executableURL = URL(fileURLWithPath: prefix.first ?? binary)
        process.arguments = prefix.isEmpty ? arguments : Array(prefix.dropFirst()) + [binary] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory ?? workspace)
        var env = ProcessInfo.processInfo.environment
        env["LANG"] = "C.UTF-8"
        env["LC_ALL"] = nil
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardInput = FileHandle.nullDevice
        let running = RunningStep(process)
        try process.run()
        running.startReading()
        return running.wait(timeout: 60)
    }

    /// A usage or runtime error: the exit status, one line on stderr, nothing on stdout.
    private func assertOneLineError(_ result: RunResult, _ status: Int32, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, status, "\(what): exit status (stderr: \(result.stderr))", file: file, line: line)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(what): expected one line on stderr, saw \(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.stderr.hasPrefix("workshop: "), "\(what): \(result.stderr)", file: file, line: line)
        XCTAssertEqual(result.stdout, "", "\(what): nothing on stdout", file: file, line: line)
    }

    // MARK: - start, reset

    func testStartProtectsYourEditsAndResetKeepsACopy() throws {
        let started = try workshop(["start", "02"])
        XCTAssertEqual(started.status, 0, started.stderr)
        let startingPoint = read(learnerFile)
        XCTAssertTrue(startingPoint.contains("// TODO(step02): "), "start 02 should write chapter 02's TODOs: \(startingPoint)")
        XCTAssertNotEqual(startingPoint, step(2))

        // Unedited: start moves on freely. Edited: refused, the file untouched.
        XCTAssertEqual(try workshop(["start", "03"]).status, 0)
        let edited = read(learnerFile) + "// my own line\n"
        try write(edited, learnerFile)
        let refused = try workshop(["start", "02"])
        assertOneLineError(refused, 1, "start over an edit")
        XCTAssertTrue(refused.stderr.contains("--force"), refused.stderr)
        XCTAssertEqual(read(learnerFile), edited, "a refused start must not touch the file")

        let forced = try workshop(["start", "02", "--force"])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertEqual(read(learnerFile), startingPoint, "start 02 --force should write chapter 02's starting point")
        let saved = try FileManager.default.contentsOfDirectory(atPath: workspace + "/.workshop/saved")
        XCTAssertEqual(saved.count, 1, "one saved copy expected, saw \(saved)")
        XCTAssertEqual(saved.first.map { read(workspace + "/.workshop/saved/" + $0) }, edited, "the saved copy should be the edited file")

        try write(read(learnerFile) + "// more\n", learnerFile)
        let reset = try workshop(["reset", "02"])
        XCTAssertEqual(reset.status, 0, reset.stderr)
        XCTAssertEqual(read(learnerFile), startingPoint, "reset 02 should write the starting point again")
        XCTAssertTrue(reset.stdout.contains(".workshop/saved/"), reset.stdout)
    }

    func testFromReferenceAndExtendStartFromTheReferenceVerbatim() throws {
        let chapter01 = read(learnerFile)   // the committed file is chapter 01's starting point
        XCTAssertEqual(try workshop(["start", "03", "--from-reference"]).status, 0)
        XCTAssertEqual(read(learnerFile), step(2), "start 03 --from-reference should write step02, complete")

        XCTAssertEqual(try workshop(["start", "03", "--extend"]).status, 0)
        XCTAssertEqual(read(learnerFile), step(3), "start 03 --extend should write step03, complete")

        // The same protection as a plain start, for both.
        try write(step(3) + "// my extension\n", learnerFile)
        for flag in ["--from-reference", "--extend"] {
            assertOneLineError(try workshop(["start", "04", flag]), 1, "start 04 \(flag) over an edit")
            XCTAssertEqual(read(learnerFile), step(3) + "// my extension\n")
        }
        XCTAssertEqual(try workshop(["start", "05", "--extend", "--force"]).status, 0)
        XCTAssertEqual(read(learnerFile), step(5))

        // Chapter 01 has no previous step: its starting point.
        XCTAssertEqual(try workshop(["reset", "01", "--from-reference"]).status, 0)
        XCTAssertEqual(read(learnerFile), chapter01)
        assertOneLineError(try workshop(["start", "02", "--from-reference", "--extend"]), 64, "both flags")
    }

    // MARK: - solution

    /// Solution pages of the test's own: an English and a Japanese 02, an English 03 with one section.
    private func writeSolutionPages() throws -> String {
        // A diff that applies to step02: one line after its `mountProc` call.
        let original = workspace + "/original.swift"
        let changed = workspace + "/changed.swift"
        try write(step(2), original)
        try write(step(2).replacingOccurrences(of: "        try mountProc(in: root)\n",
                                               with: "        try mountProc(in: root)\n        // a test line\n"), changed)
        let diff = Process()
        diff.executableURL = URL(fileURLWithPath: "/usr/bin/diff")
        diff.arguments = ["-u", "--label", "a/Sources/my-container/main.swift", "--label", "b/Sources/my-container/main.swift", original, changed]
        let pipe = Pipe()
        diff.standardOutput = pipe
        try diff.run()
        let patch = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        diff.waitUntilExit()
        XCTAssertTrue(patch.contains("+        // a test line"), "the fixture's diff: \(patch)")
        try write("""
            # Chapter 02: solutions

            ## 1. Break it: the English explanation
            Why the mounts leaked.

            ```console
            ## 2. not a heading: inside a code block
            ```

            ## 2. Extend it: a private /tmp
            The answer:

            ```diff
            \(patch)```

            After it.
            """, workspace + "/Chapters/solutions/02.md")
        try write("# 第 02 章: 解答\n\n## 1. 壊してみる\n日本語の説明。\n\n## 2. 拡張する\n```diff\n\(patch)```\n",
                  workspace + "/Chapters/ja/solutions/02.md")
        try write("# Chapter 03\n\n## 1. Break it\nOnly this one.\n", workspace + "/Chapters/solutions/03.md")
        return patch
    }

    func testSolutionPrintsTheExercisesSections() throws {
        let patch = try writeSolutionPages()
        let broken = try workshop(["solution", "02", "--break"])
        XCTAssertEqual(broken.status, 0, broken.stderr)
        XCTAssertEqual(broken.stdout, "## 1. Break it: the English explanation\nWhy the mounts leaked.\n\n```console\n## 2. not a heading: inside a code block\n```\n")

        let extended = try workshop(["solution", "02", "--extend"])
        XCTAssertEqual(extended.status, 0, extended.stderr)
        XCTAssertTrue(extended.stdout.hasPrefix("## 2. Extend it: a private /tmp\nThe answer:"), extended.stdout)
        XCTAssertTrue(extended.stdout.hasSuffix("After it.\n"), extended.stdout)
        XCTAssertFalse(extended.stdout.contains("Why the mounts leaked"), extended.stdout)

        let onlyDiff = try workshop(["solution", "02", "--extend", "--diff"])
        XCTAssertEqual(onlyDiff.status, 0, onlyDiff.stderr)
        XCTAssertEqual(onlyDiff.stdout, patch, "--extend --diff should print the diff block and nothing else")

        // Japanese, matched on "## 1." and "## 2.", not on the English words; an English page where no Japanese one exists.
        for environment in [["LANG": "ja_JP.UTF-8"], ["LC_ALL": "ja_JP.UTF-8"]] {
            let japanese = try workshop(["solution", "02", "--break"], environment: environment)
            XCTAssertEqual(japanese.stdout, "## 1. 壊してみる\n日本語の説明。\n", "\(environment): \(japanese.stderr)")
            XCTAssertEqual(try workshop(["solution", "02", "--extend", "--diff"], environment: environment).stdout, patch)
        }
        XCTAssertEqual(try workshop(["solution", "03", "--break"], environment: ["LANG": "ja_JP.UTF-8"]).stdout, "## 1. Break it\nOnly this one.\n")

        // Missing section, missing page, a section without a diff: one line, 125.
        assertOneLineError(try workshop(["solution", "03", "--extend"]), 125, "no section 2")
        assertOneLineError(try workshop(["solution", "04", "--break"]), 125, "no page")
        assertOneLineError(try workshop(["solution", "03", "--break", "--diff"]), 125, "no diff block")
        assertOneLineError(try workshop(["solution", "02", "--break", "--extend"]), 64, "both sections")
        assertOneLineError(try workshop(["solution", "02", "--diff"]), 64, "--diff alone")

        // CI's use: the diff applies to the reference, as `start --extend` writes it.
        XCTAssertEqual(try workshop(["start", "02", "--extend"]).status, 0)
        let apply = Process()
        apply.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        apply.arguments = ["sh", "-c", "\"$0\" solution 02 --extend --diff | git apply -", binaryDirectory.appendingPathComponent("workshop").path]
        apply.currentDirectoryURL = URL(fileURLWithPath: workspace)
        try apply.run()
        apply.waitUntilExit()
        XCTAssertEqual(apply.terminationStatus, 0, "git apply of the printed diff")
        XCTAssertTrue(read(learnerFile).contains("        try mountProc(in: root)\n        // a test line\n"), "the diff did not reach the file")

        // Without flags: the diff from the learner's file to the reference.
        let whole = try workshop(["solution", "02"])
        XCTAssertEqual(whole.status, 0, whole.stderr)
        XCTAssertTrue(whole.stdout.contains("+++ Sources/step02-namespaces/main.swift") && whole.stdout.contains("-        // a test line"), whole.stdout)
    }

    // MARK: - progress, usage, root

    func testProgressShowsChaptersAndExtensions() throws {
        try write("02\n02x\n03\n", workspace + "/.workshop/passed")
        let result = try workshop(["progress"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first { $0.contains(" 02 ") }, "✓ 02 namespaces  (+ extension)", result.stdout)
        XCTAssertEqual(lines.first { $0.contains(" 03 ") }, "✓ 03 chroot", result.stdout)
        XCTAssertEqual(lines.first { $0.contains(" 04 ") }, "· 04 pivot-root", result.stdout)
        XCTAssertTrue(result.stdout.contains("2/8 chapters checked, 1 extension(s)"), result.stdout)
    }

    func testBadUsageIsOneLineAndExit64() throws {
        let cases: [[String]] = [["start"], ["start", "9"], ["start", "02", "03"], ["start", "02", "--bogus"], ["reset", "x"],
                                 ["check"], ["check", "02", "--nope"], ["check", "10", "--watch"], ["hint"], ["hint", "02", "--extend"],
                                 ["solution"], ["solution", "02", "--extend", "--break"], ["progress", "02"], ["nonsense"]]
        for arguments in cases {
            let result = try workshop(arguments)
            XCTAssertEqual(result.status, 64, "workshop \(arguments.joined(separator: " ")): \(result.stderr)")
            XCTAssertTrue(result.stderr.hasPrefix("workshop: "), "workshop \(arguments.joined(separator: " ")): \(result.stderr)")
            if arguments != ["nonsense"] {   // an unknown command also lists the commands
                XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "workshop \(arguments.joined(separator: " ")): \(result.stderr)")
            }
        }
        // Outside a workspace: one line too.
        assertOneLineError(try workshop(["start", "02"], in: "/"), 64, "no workspace")
    }

    func testCheckWithoutRootSaysSo() throws {
        let nobody = ["/usr/bin/setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]
        for arguments in [["check", "02"], ["check", "02", "--watch"], ["check", "02", "--extend"]] {
            let result = try workshop(arguments, prefix: nobody)
            assertOneLineError(result, 125, "\(arguments.joined(separator: " ")) as nobody")
            XCTAssertTrue(result.stderr.contains("need root") && result.stderr.contains("sudo"), result.stderr)
        }
    }

    // MARK: - watch

    /// `workshop check NN --watch` with WORKSHOP_WATCH_COMMAND (the tests' stand-in for the check it reruns).
    private final class Watcher {
        let process = Process()
        private let pipe = Pipe()
        private let lock = NSLock()
        private var data = Data()

        init(binary: URL, workspace: String, command: String, watch: Bool = true) throws {
            process.executableURL = binary
            process.arguments = ["check", "02"] + (watch ? ["--watch"] : [])
            process.currentDirectoryURL = URL(fileURLWithPath: workspace)
            var environment = ProcessInfo.processInfo.environment
            environment["WORKSHOP_WATCH_COMMAND"] = command
            process.environment = environment
            process.standardOutput = pipe
            process.standardError = pipe
            process.standardInput = FileHandle.nullDevice
            pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
                let chunk = handle.availableData
                guard let self else { return }
                self.lock.lock(); self.data.append(chunk); self.lock.unlock()
            }
            try process.run()
        }

        var output: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data, as: UTF8.self) }

        /// Waits until `condition` holds for the output; the time it took, or nil after `timeout`.
        @discardableResult
        func wait(for condition: (String) -> Bool, timeout: TimeInterval = 10) -> TimeInterval? {
            let start = Date()
            while Date().timeIntervalSince(start) < timeout {
                if condition(output) { return Date().timeIntervalSince(start) }
                usleep(10_000)
            }
            return nil
        }

        /// Ctrl-C; the exit status, or nil if it did not end within `timeout`.
        func interrupt(timeout: TimeInterval = 20) -> Int32? {
            kill(process.processIdentifier, SIGINT)
            let start = Date()
            while process.isRunning && Date().timeIntervalSince(start) < timeout { usleep(20_000) }
            if process.isRunning { process.terminate(); return nil }
            pipe.fileHandleForReading.readabilityHandler = nil
            return process.terminationStatus
        }
    }

    func testWatchRechecksOnSaveAndCtrlCEndsIt() throws {
        let watcher = try Watcher(binary: binaryDirectory.appendingPathComponent("workshop"), workspace: workspace,
                                  command: "echo \"checked $(wc -l < Sources/my-container/main.swift) lines\"")
        let lines = read(learnerFile).split(separator: "\n", omittingEmptySubsequences: false).count - 1
        XCTAssertNotNil(watcher.wait { $0.contains("checked \(lines) lines") && $0.contains("Ctrl-C to stop") }, watcher.output)
        XCTAssertTrue(watcher.output.contains("watching Sources/my-container for changes"), watcher.output)

        // Each save (an append, then an editor's write-and-rename) is checked again.
        var latencies: [TimeInterval] = []
        try (read(learnerFile) + "// saved once\n").write(toFile: learnerFile, atomically: false, encoding: .utf8)
        if let seconds = watcher.wait(for: { $0.contains("checked \(lines + 1) lines") }) { latencies.append(seconds) }
        try (read(learnerFile) + "// saved twice\n").write(toFile: learnerFile, atomically: true, encoding: .utf8)
        if let seconds = watcher.wait(for: { $0.contains("checked \(lines + 2) lines") }) { latencies.append(seconds) }
        XCTAssertEqual(latencies.count, 2, "both saves should be checked again: \(watcher.output)")
        print("watch: save to rerun in \(latencies.map { String(format: "%.0f ms", $0 * 1000) }.joined(separator: ", "))")

        // A file that does not change triggers nothing.
        usleep(1_000_000)
        XCTAssertEqual(watcher.output.components(separatedBy: "checked ").count - 1, 3, watcher.output)

        XCTAssertEqual(watcher.interrupt(), 0, "Ctrl-C should end the watch with exit 0: \(watcher.output)")
        XCTAssertTrue(watcher.output.hasSuffix("stopped watching\n"), watcher.output)
    }

    func testCtrlCDuringACheckLeavesNothingRunning() throws {
        // A check that takes long, with a grandchild in a process group of its own (as Foundation's
        // Process and SwiftPM start swift test and the test runner), which under --watch also ignores
        // SIGINT (then SIGKILL, after 10 s): Ctrl-C must end all of it, under --watch (exit 0) and
        // under a plain check (130).
        for watch in [true, false] {
            let pids = workspace + "/pids"
            try? FileManager.default.removeItem(atPath: pids)
            let watcher = try Watcher(binary: binaryDirectory.appendingPathComponent("workshop"), workspace: workspace,
                                      command: watch ? "setsid sh -c 'echo $$ > \(pids); exec sleep 600' & echo running; wait"   // & ignores SIGINT
                                                    : "echo running; setsid sh -c 'echo $$ > \(pids); exec sleep 600'",
                                      watch: watch)
            XCTAssertNotNil(watcher.wait { $0.contains("running") && FileManager.default.fileExists(atPath: pids) }, watcher.output)
            usleep(100_000)
            let sleeper = pid_t(read(pids).trimmingCharacters(in: .whitespacesAndNewlines))
            XCTAssertNotNil(sleeper, "the grandchild's PID: \(read(pids))")
            XCTAssertEqual(watcher.interrupt(), watch ? 0 : 130, "Ctrl-C should end `check 02\(watch ? " --watch" : "")`: \(watcher.output)")
            if let sleeper {
                let state = (try? String(contentsOfFile: "/proc/\(sleeper)/stat", encoding: .utf8)).map { String($0.prefix(80)) }
                XCTAssertTrue(state == nil || state!.contains(") Z "), "the grandchild \(sleeper) still runs after Ctrl-C: \(state ?? "")")
            }
        }
    }

    func testCheckPassesOnTheStatusOfTheCheckItRuns() throws {
        let watcher = try Watcher(binary: binaryDirectory.appendingPathComponent("workshop"), workspace: workspace,
                                  command: "echo checked; exit 3", watch: false)
        let start = Date()
        while watcher.process.isRunning && Date().timeIntervalSince(start) < 10 { usleep(20_000) }
        XCTAssertEqual(watcher.process.terminationStatus, 3, watcher.output)
        XCTAssertEqual(watcher.output, "checked\n")
    }
}
