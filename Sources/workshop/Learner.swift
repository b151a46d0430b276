// The learner's side of the workshop (issue 14): one program of their own, Sources/my-container,
// that `start NN` sets to chapter NN's starting point (the reference step with its new layer cut
// out) and `check NN` runs chapter NN's black-box checks against (the same StepTests code that
// checks the reference steps). The kit's state lives in .workshop/ in the package (git-ignored).

import Foundation
import Workshop

let stepNames = ["step01-clone", "step02-namespaces", "step03-chroot", "step04-pivot-root",
                 "step05-cgroup", "step06-capabilities", "step07-userns", "step08-seccomp"]

/// The package the learner works in: the nearest directory up from here with Sources/my-container.
struct Workspace {
    let root: URL

    init?() {
        var directory = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        while true {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Sources/my-container/main.swift").path) {
                root = directory
                return
            }
            if directory.path == "/" { return nil }
            directory.deleteLastPathComponent()
        }
    }

    var learnerFile: URL { root.appendingPathComponent("Sources/my-container/main.swift") }
    var state: URL { root.appendingPathComponent(".workshop") }
    func reference(_ chapter: Int) -> URL { root.appendingPathComponent("Sources/\(stepNames[chapter - 1])/main.swift") }
    func chapterFile(_ chapter: Int) -> String { "Chapters/" + stepNames[chapter - 1].dropFirst(4) + ".md" }

    /// Chapter NN's explanations of its exercises: the Japanese ones when the locale is Japanese
    /// (LANG or LC_ALL starts with "ja") and they exist, else the English ones.
    func solutionFile(_ chapter: Int) -> String {
        let environment = ProcessInfo.processInfo.environment
        let japanese = "Chapters/ja/solutions/\(twoDigits(chapter)).md"
        if [environment["LANG"], environment["LC_ALL"]].contains(where: { $0?.hasPrefix("ja") == true }) && FileManager.default.fileExists(atPath: root.appendingPathComponent(japanese).path) {
            return japanese
        }
        return "Chapters/solutions/\(twoDigits(chapter)).md"
    }

    func read(_ url: URL) -> String? { try? String(contentsOf: url, encoding: .utf8) }

    func write(_ text: String, to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    /// Chapter NN's starting point: stepNN with its own regions cut out.
    func startingPoint(_ chapter: Int) throws -> String {
        guard let source = read(reference(chapter)) else { throw WorkshopError("cannot read \(reference(chapter).path)") }
        return LayerMarkers.startingPoint(of: source, step: chapter, chapter: chapterFile(chapter))
    }

    /// What `start` last wrote (the committed file is chapter 01's starting point).
    func base() throws -> String { try read(state.appendingPathComponent("base.swift")) ?? startingPoint(1) }
}

struct WorkshopError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// "02", "2" → 2; nil unless 1...8.
func chapterNumber(_ word: String?) -> Int? {
    guard let word, let n = Int(word), (1...8).contains(n) else { return nil }
    return n
}

func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

/// Parses `NN [flags]`; returns the chapter and the flags given, or a usage failure.
func chapterArguments(_ arguments: [String], command: String, flags: Set<String> = []) -> Result<(Int, Set<String>), WorkshopError> {
    var chapter: Int?
    var given: Set<String> = []
    for word in arguments {
        if flags.contains(word) { given.insert(word); continue }
        if word.hasPrefix("-") { return .failure(WorkshopError("unknown option \(word) (workshop \(command) --help)")) }
        guard chapter == nil, let n = chapterNumber(word) else {
            return .failure(WorkshopError("expected one chapter number 01-08, saw \(word) (workshop \(command) --help)"))
        }
        chapter = n
    }
    guard let chapter else { return .failure(WorkshopError("which chapter? workshop \(command) NN (01-08)")) }
    return .success((chapter, given))
}

func learnerCommand(_ name: String, _ arguments: [String], _ body: (Workspace) throws -> Int32) -> Int32 {
    if arguments.contains("--help") || arguments.contains("-h") {
        print(subcommands.first { $0.name == name }!.usage)
        return 0
    }
    guard let workspace = Workspace() else {
        return fail("no Sources/my-container/main.swift here or above: run workshop in the kit's directory", code: 64)
    }
    do { return try body(workspace) } catch { return fail("\(error)", code: 125) }
}

// MARK: - start, reset

func start(_ arguments: [String]) -> Int32 { startChapter(arguments, command: "start") }
func reset(_ arguments: [String]) -> Int32 { startChapter(arguments + ["--force"], command: "reset") }

func startChapter(_ arguments: [String], command: String) -> Int32 {
    learnerCommand(command, arguments) { workspace in
        let (chapter, flags): (Int, Set<String>)
        switch chapterArguments(arguments, command: command, flags: ["--force", "--from-reference", "--extend"]) {
        case .success(let parsed): (chapter, flags) = parsed
        case .failure(let error): return fail(error.description, code: 64)
        }
        if flags.contains("--from-reference") && flags.contains("--extend") {
            return fail("--from-reference or --extend, not both (workshop \(command) --help)", code: 64)
        }
        let nn = twoDigits(chapter)
        let current = workspace.read(workspace.learnerFile) ?? ""
        let edited = current != (try workspace.base())
        if edited && !flags.contains("--force") {
            return fail("Sources/my-container/main.swift has your edits: `workshop start \(nn) --force` "
                        + "(or `workshop reset \(nn)`) replaces it and keeps a copy in .workshop/saved/", code: 1)
        }
        if edited {
            let stamp = Int(Date().timeIntervalSince1970)
            let copy = workspace.state.appendingPathComponent("saved/main-\(stamp).swift")
            try workspace.write(current, to: copy)
            print("your file was saved as \(copy.path)")
        }
        // The three ways in: the starting point (TODOs where chapter NN's layer goes), the previous
        // chapter's complete reference (write the layer without TODOs), or the reference stepNN
        // (the base of the chapter's "Extend it" exercise).
        let text: String
        let summary: String
        let next: String
        if flags.contains("--extend") {
            guard let reference = workspace.read(workspace.reference(chapter)) else {
                throw WorkshopError("cannot read \(workspace.reference(chapter).path)")
            }
            text = reference
            summary = "is \(stepNames[chapter - 1]), complete: the base for chapter \(nn)'s \"Extend it\" exercise"
            next = "sudo swift run workshop check \(nn) --extend"
        } else if flags.contains("--from-reference") && chapter > 1 {
            guard let reference = workspace.read(workspace.reference(chapter - 1)) else {
                throw WorkshopError("cannot read \(workspace.reference(chapter - 1).path)")
            }
            text = reference
            summary = "is \(stepNames[chapter - 2]), complete: write chapter \(nn)'s layer into it, no TODOs to guide you"
            next = "sudo swift run workshop check \(nn)"
        } else {
            text = try workspace.startingPoint(chapter)
            let todos = text.split(separator: "\n").filter { $0.contains("// TODO(step\(nn))") }.count
            summary = "is chapter \(nn)'s starting point: \(todos) TODO(s) to write"
            next = "sudo swift run workshop check \(nn)"
        }
        try workspace.write(text, to: workspace.learnerFile)
        try workspace.write(text, to: workspace.state.appendingPathComponent("base.swift"))
        try? FileManager.default.removeItem(at: workspace.state.appendingPathComponent("hints-\(nn)"))
        print("""
            Sources/my-container/main.swift \(summary) (\(workspace.chapterFile(chapter))).
            Then: \(next)
            """)
        return 0
    }
}

// MARK: - solution, hint, progress

func solution(_ arguments: [String]) -> Int32 {
    learnerCommand("solution", arguments) { workspace in
        let (chapter, flags): (Int, Set<String>)
        switch chapterArguments(arguments, command: "solution", flags: ["--break", "--extend", "--diff"]) {
        case .success(let parsed): (chapter, flags) = parsed
        case .failure(let error): return fail(error.description, code: 64)
        }
        let section = flags.contains("--break") ? 1 : flags.contains("--extend") ? 2 : nil
        if flags.contains("--break") && flags.contains("--extend") {
            return fail("--break or --extend, not both (workshop solution --help)", code: 64)
        }
        guard let section else {
            if flags.contains("--diff") { return fail("--diff goes with --break or --extend (workshop solution --help)", code: 64) }
            // The whole answer to the chapter: the diff from the learner's file to the reference.
            let diff = Process()
            diff.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            diff.currentDirectoryURL = workspace.root
            diff.arguments = ["diff", "-u", "Sources/my-container/main.swift", "Sources/\(stepNames[chapter - 1])/main.swift"]
            try diff.run()
            diff.waitUntilExit()
            return diff.terminationStatus <= 1 ? 0 : 125   // diff: 1 = they differ
        }
        // An exercise's explanation: section "## 1." or "## 2." of Chapters/solutions/NN.md
        // (Chapters/ja/solutions/NN.md in a Japanese locale, when there is one).
        let file = workspace.solutionFile(chapter)
        guard let text = workspace.read(workspace.root.appendingPathComponent(file)) else {
            throw WorkshopError("no \(file): chapter \(twoDigits(chapter)) has no written solutions yet")
        }
        guard let body = ChapterText.section(numbered: section, in: text) else {
            throw WorkshopError("\(file) has no section \"## \(section).\" (exercise \(section))")
        }
        if flags.contains("--diff") {
            guard let diff = ChapterText.diffBlock(in: body) else {
                throw WorkshopError("section \"## \(section).\" of \(file) has no ```diff block")
            }
            print(diff, terminator: "")
        } else {
            print(body)
        }
        return 0
    }
}

/// The TODO texts of chapter NN's starting point, in order.
func hints(_ workspace: Workspace, _ chapter: Int) throws -> [String] {
    let tag = "// TODO(step\(twoDigits(chapter))): "
    return try workspace.startingPoint(chapter).split(separator: "\n").compactMap { line in
        line.range(of: tag).map { String(line[$0.upperBound...]) }
    }
}

func hint(_ arguments: [String]) -> Int32 {
    learnerCommand("hint", arguments) { workspace in
        let chapter: Int
        switch chapterArguments(arguments, command: "hint") {
        case .success(let parsed): chapter = parsed.0
        case .failure(let error): return fail(error.description, code: 64)
        }
        let all = try hints(workspace, chapter)
        let counter = workspace.state.appendingPathComponent("hints-\(twoDigits(chapter))")
        let given = Int(workspace.read(counter)?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        let index = given % max(all.count, 1)
        guard !all.isEmpty else { return fail("chapter \(twoDigits(chapter)) has no hints", code: 125) }
        // Where that TODO still is in the learner's file, if it is.
        let tag = "// TODO(step\(twoDigits(chapter))): " + all[index]
        let lines = (workspace.read(workspace.learnerFile) ?? "").split(separator: "\n", omittingEmptySubsequences: false)
        let place = lines.firstIndex { $0.contains(tag) }.map { " (Sources/my-container/main.swift:\($0 + 1))" } ?? ""
        print("hint \(index + 1)/\(all.count)\(place): \(all[index])")
        print("  more in \(workspace.chapterFile(chapter)), \"Walk through the new code\"; "
              + (index + 1 < all.count ? "`workshop hint \(twoDigits(chapter))` again for the next" : "the whole answer: `workshop solution \(twoDigits(chapter))`"))
        try workspace.write("\(given + 1)\n", to: counter)
        return 0
    }
}

/// The chapters whose checks passed ("02"), and whose extension checks passed ("02x").
func passedChecks(_ workspace: Workspace) -> Set<String> {
    Set((workspace.read(workspace.state.appendingPathComponent("passed")) ?? "").split(separator: "\n").map(String.init))
}

func progress(_ arguments: [String]) -> Int32 {
    learnerCommand("progress", arguments) { workspace in
        guard arguments.isEmpty else { return fail("workshop progress takes no arguments", code: 64) }
        let passed = passedChecks(workspace)
        for (index, step) in stepNames.enumerated() {
            let chapter = twoDigits(index + 1)
            print("\(passed.contains(chapter) ? "✓" : "·") \(chapter) \(step.dropFirst(7))"
                  + (passed.contains(chapter + "x") ? "  (+ extension)" : ""))
        }
        let chapters = passed.filter { !$0.hasSuffix("x") }.count
        print("\(chapters)/8 chapters checked, \(passed.count - chapters) extension(s) "
              + "(workshop check NN records a pass, workshop check NN --extend an extension's)")
        return 0
    }
}

// MARK: - check

/// Runs a tool in the package; returns its exit status and everything it printed.
func runTool(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) throws -> (Int32, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.currentDirectoryURL = directory
    var env = ProcessInfo.processInfo.environment
    for (key, value) in environment { env[key] = value }
    process.environment = env
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Runs every test of `className` at the same time, each in a test process of its own with its own
/// state directory and cgroup parent (the tests keep to those, so they cannot see each other's
/// containers): chapter 05's eleven checks, three of which watch a container for 3 s, take about
/// 4 s instead of 16 s one after another. Returns everything the processes printed.
func runChecksAtOnce(className: String, environment: [String: String], in directory: URL) throws -> String {
    // The test bundle first (after a learner's edit only my-container changed: quick).
    let (built, buildOutput) = try runTool(["swift", "build", "--build-tests"], in: directory)
    guard built == 0 else { return buildOutput }
    let (_, listing) = try runTool(["swift", "test", "list", "--skip-build", "--disable-swift-testing"], in: directory)
    // The test bundle itself, not `swift test`: SwiftPM processes wait on each other's lock of .build.
    let (_, binPath) = try runTool(["swift", "build", "--show-bin-path"], in: directory)
    let binaries = URL(fileURLWithPath: binPath.trimmingCharacters(in: .whitespacesAndNewlines))
    guard let bundle = (try? FileManager.default.contentsOfDirectory(atPath: binaries.path))?.first(where: { $0.hasSuffix("PackageTests.xctest") }) else {
        return "no test bundle in \(binaries.path) (swift build --build-tests)"
    }
    let tests = listing.split(separator: "\n").compactMap { line -> String? in
        guard let range = line.range(of: ".\(className)/") else { return nil }
        return String(line[range.upperBound...])
    }
    guard !tests.isEmpty else { return "No matching test cases were run (no \(className) in the test bundle)" }
    let home = ProcessInfo.processInfo.environment["WORKSHOP_CHECK_HOME"] ?? "/var/lib/workshop-checks"
    var running: [(Process, URL)] = []
    for (index, test) in tests.enumerated() {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [binaries.appendingPathComponent(bundle).path, "StepTests.\(className)/\(test)"]
        process.currentDirectoryURL = directory
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        // Slot N for the Nth check of any chapter: at most one image cache per check running at once
        // (about 12 MB each), kept for the next check.
        env["WORKSHOP_TEST_HOME"] = "\(home)/\(index)"
        env["WORKSHOP_TEST_CGROUP_PARENT"] = "workshop-check-\(index)"
        process.environment = env
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("workshop-check-\(getpid())-\(index).log")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try handle.close()
        running.append((process, output))
    }
    var everything = ""
    for (process, output) in running {
        process.waitUntilExit()
        everything += ((try? String(contentsOf: output, encoding: .utf8)) ?? "") + "\n"
        try? FileManager.default.removeItem(at: output)
    }
    return everything
}

/// One test's verdict, from XCTest's lines.
struct CheckResult {
    let name: String
    var passed: Bool
    var messages: [String]
}

/// XCTest (Linux) prints `Test Case 'Step02Tests.testX' started/passed/failed/skipped` and, per failed
/// assertion, `file:line: error: Step02Tests.testX : message`.
func parseTestOutput(_ output: String, className: String) -> [CheckResult] {
    var results: [CheckResult] = []
    var failures: [String: [String]] = [:]
    let prefix = "Test Case '\(className)."
    var last: (test: String, lines: Int)?   // a message may go on over lines (a value with newlines)
    for line in output.split(separator: "\n").map(String.init) {
        if let range = line.range(of: ": error: \(className).") {
            let rest = line[range.upperBound...]
            if let separator = rest.range(of: " : ") {
                let test = String(rest[..<separator.lowerBound])
                failures[test, default: []].append(String(rest[separator.upperBound...]))
                last = (test, 1)
            }
            continue
        }
        if line.hasPrefix("Test Case '") || line.hasPrefix("Test Suite '") { last = nil }
        if let (test, count) = last, count < 8 {
            failures[test]![failures[test]!.count - 1] += "\n      " + line
            last = (test, count + 1)
        } else if line.hasPrefix(prefix), let quote = line.dropFirst(prefix.count).firstIndex(of: "'") {
            let name = String(line.dropFirst(prefix.count)[..<quote])
            let verdict = line[quote...]
            if verdict.contains("' passed") { results.append(CheckResult(name: name, passed: true, messages: [])) }
            if verdict.contains("' failed") || verdict.contains("' skipped") {
                results.append(CheckResult(name: name, passed: false,
                                           messages: verdict.contains("skipped") ? ["skipped (the checks need root)"] : []))
            }
        }
    }
    for index in results.indices { results[index].messages += failures[results[index].name] ?? [] }
    return results
}

func check(_ arguments: [String]) -> Int32 {
    learnerCommand("check", arguments) { workspace in
        let (chapter, flags): (Int, Set<String>)
        switch chapterArguments(arguments, command: "check", flags: ["--reference", "--extend", "--watch"]) {
        case .success(let parsed): (chapter, flags) = parsed
        case .failure(let error): return fail(error.description, code: 64)
        }
        guard geteuid() == 0 else {
            return fail("the checks run containers and need root: sudo swift run workshop check \(twoDigits(chapter))", code: 125)
        }
        // The check itself runs in a child of this process (this program, without --watch), which
        // ends everything the check started when Ctrl-C comes: see Watch.swift.
        if ProcessInfo.processInfo.environment["WORKSHOP_SUPERVISED"] == "1" {
            return try runChecks(workspace, chapter: chapter, reference: flags.contains("--reference"), extends: flags.contains("--extend"))
        }
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        // WORKSHOP_WATCH_COMMAND (for the tests) replaces the check with a shell command line.
        let once = ProcessInfo.processInfo.environment["WORKSHOP_WATCH_COMMAND"].map { ["/bin/sh", "-c", $0] }
            ?? [me, "check", twoDigits(chapter)] + flags.subtracting(["--watch"]).sorted()
        if flags.contains("--watch") {
            return watch(workspace.root.appendingPathComponent("Sources/my-container"), command: once, in: workspace.root)
        }
        return runSupervised(once, in: workspace.root) ?? 128 + interrupted
    }
}

/// Builds the program under test and runs chapter NN's checks (StepNNTests, or ExtendNNTests for
/// the "Extend it" exercise) on it: one line per check, the chapter's words for what it checks,
/// and for the first failure the chapter's pointer plus the next open TODO.
func runChecks(_ workspace: Workspace, chapter: Int, reference: Bool, extends: Bool) throws -> Int32 {
    let nn = twoDigits(chapter)
    let step = stepNames[chapter - 1]
    let product = reference ? step : "my-container"
    if extends && chapter == 1 {
        return fail("chapter 01's second exercise is a look, with nothing kept to check: `workshop solution 01 --extend` has the answers", code: 64)
    }
    let started = Date()
    // Build the program first and show only the compiler's errors.
    let (built, buildOutput) = try runTool(["swift", "build", "--product", product], in: workspace.root)
    if built == 127 && buildOutput.contains("swift") {   // env: 'swift': No such file or directory
        return fail("no swift on PATH (sudo resets PATH): sudo env \"PATH=$PATH\" swift run workshop check \(nn)", code: 125)
    }
    guard built == 0 else {
        // Each `file:line:col: error: message` once (the compiler repeats them, with drawings),
        // followed by that source line.
        var shown: [String] = []
        for line in buildOutput.split(separator: "\n").map(String.init) where line.hasPrefix("/") && line.contains(": error: ") {
            if shown.contains(line) { continue }
            shown.append(line)
            let place = line.split(separator: ":")
            if place.count > 2, let number = Int(place[1]),
               let source = workspace.read(URL(fileURLWithPath: String(place[0])))?.split(separator: "\n", omittingEmptySubsequences: false),
               number >= 1, number <= source.count {
                print(line + "\n    " + source[number - 1].trimmingCharacters(in: .whitespaces))
            } else {
                print(line)
            }
        }
        if shown.isEmpty { print(buildOutput.split(separator: "\n").suffix(20).joined(separator: "\n")) }
        print("✗ \(product) does not build: fix the errors above, then `workshop check \(nn)` again")
        return 1
    }
    let className = extends ? "Extend\(nn)Tests" : "Step\(nn)Tests"
    var environment = reference ? [:] : ["WORKSHOP_STEP_UNDER_TEST": "\(step)=my-container"]
    if extends { environment["WORKSHOP_CHECK_EXTENSION"] = "1" }
    let testOutput = try runChecksAtOnce(className: className, environment: environment, in: workspace.root)
    // What each check is, in the chapter's words (its "How to check it" and "Extend it" tables),
    // in the chapter's order.
    let rows = ChapterText.checkRows(in: workspace.read(workspace.root.appendingPathComponent(workspace.chapterFile(chapter))) ?? "")
    func row(_ result: CheckResult) -> CheckRow? { ChapterText.row(for: result.name, of: className, in: rows) }
    let results = parseTestOutput(testOutput, className: className).sorted { (row($0)?.line ?? .max) < (row($1)?.line ?? .max) }
    guard !results.isEmpty else {
        if extends && testOutput.contains("No matching test cases were run") {
            return fail("chapter \(nn) has no extension checks (no \(className) in Tests/StepTests)", code: 125)
        }
        print(testOutput.split(separator: "\n").suffix(30).joined(separator: "\n"))
        return fail("the checks did not run (their output is above)", code: 125)
    }
    print("chapter \(nn)\(extends ? " extension" : ""): "
          + (reference ? step + " (the reference)" : "your my-container in place of " + step))
    for result in results {
        print("\(result.passed ? "✓" : "✗") \(row(result)?.description ?? result.name)")
        // The checks name the step they check; under check here that is the learner's program.
        for message in result.messages { print("    " + (reference ? message : message.replacingOccurrences(of: step, with: "my-container"))) }
    }
    let failed = results.filter { !$0.passed }
    print(String(format: "%d/%d checks passed in %.1f s", results.count - failed.count, results.count, Date().timeIntervalSince(started)))
    if extends && reference && !failed.isEmpty {
        print("(expected: \(step) has no extension; these checks pass once chapter \(nn)'s \"Extend it\" is written)")
    }
    if let first = failed.first, !reference {
        print("first to fail: \(row(first)?.description ?? first.name)")
        if let hint = row(first)?.hint, !hint.isEmpty { print("  if it fails: \(hint)") }
        // The nearest TODO still open in the learner's file, if any.
        let tag = "// TODO(step\(nn)): "
        let lines = (workspace.read(workspace.learnerFile) ?? "").split(separator: "\n", omittingEmptySubsequences: false)
        if let index = lines.firstIndex(where: { $0.contains(tag) }), let text = lines[index].range(of: tag).map({ lines[index][$0.upperBound...] }) {
            print("  next open TODO: Sources/my-container/main.swift:\(index + 1): \(text) (`workshop hint \(nn)`)")
        } else {
            print("  no TODO left in Sources/my-container/main.swift; compare with `workshop solution \(nn)\(extends ? " --extend" : "")`")
        }
    }
    if failed.isEmpty && !reference {
        let file = workspace.state.appendingPathComponent("passed")
        var passed = passedChecks(workspace)
        passed.insert(nn + (extends ? "x" : ""))
        try workspace.write(passed.sorted().joined(separator: "\n") + "\n", to: file)
    }
    return failed.isEmpty ? 0 : 1
}
