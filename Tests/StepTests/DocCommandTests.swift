import AttackMatrix
import Foundation
import XCTest

// The commands the README and the chapters show, run as written.
//
// A doc command is a line of a console/sh code block a reader types: `$ …` and `host$ …` at the
// start of a line (indented `host$` lines are the steps' narration, output), a `sudo …` or
// `.build/…` line of a block without prompts, and `# …` / `/ # …` lines typed into the shell the
// command above them started. Inline `sudo swift run …` spans in the prose count too (and the
// README's `… stepNN …` table cells, which abbreviate `sudo swift run`).
//
// Every command that runs a step or `workshop` is run; so is any other command of a block marked
// `session`. Everything else is listed below with the reason it is not run; a command neither run
// nor listed fails the test, and so does a listed one that is no longer in the docs.
//
// How a command runs: `sh -c 'TEXT'` in the package directory, with a `sudo` (we are root already)
// and a `swift` first on PATH: `swift run NAME ARGS…` execs .build/…/NAME with ARGS… exactly as
// SwiftPM 6 passes them (a `--` after NAME included), under the tests' WORKSHOP_HOME and cgroup
// parent. What it must give is said by an HTML comment right after its block:
//
//     <!-- doc-test: exit 0; stdout contains "3.20.3" -->          every command of the block
//     <!-- doc-test 2: exit 125; stderr contains "unknown option" -->   the block's 2nd command
//
// Clauses: `exit N` (default 0); `stdout|stderr|output contains "…"`; `stdout lacks "…"`;
// `stdin "…"` (\n escapes); `stop after S` (the container's PID 1 is killed from the host after S
// seconds, as the chapter tells the reader to: endless commands); `as nobody` (run without root);
// `session` (run the block's commands as one script, in a PID and UTS namespace of the test's own,
// so that `pgrep`, `kill` or `hostname` in it touch nothing else). Without a comment: exit 0.

/// Commands that run a step or `workshop` but are not run here, and why.
private let stepCommandsNotRun: [String: String] = [
    "sudo swift run workshop attacks        # ✓ blocked  ✗ got through  · n/a, one row per attack":
        "25 attacks x 9 columns take minutes: AttackMatrixTests runs every cell of the same matrix",
    "sudo swift run workshop attacks": "the README's mention of the same command (AttackMatrixTests runs the matrix)",
    "sudo swift run stepNN-name -- command args…": "a template (stepNN, args…), not a command",
    "sudo env \"PATH=$PATH\" swift run …": "a template (…): how to keep PATH under sudo",
    "sudo swift run workshop doctor --tarball ~/alpine-minirootfs-3.20.3-x86_64.tar.gz":
        "writes into the learner's downloads; WorkshopCommandTests.testDoctorKeepsAGivenTarballForOfflineRuns runs it",
    "sudo env WORKSHOP_ALPINE_TARBALL=/path/to/alpine.tar.gz swift run step03-chroot":
        "a template (/path/to): chapter 00's block below it runs the same with a real path",
]

/// The learner-workspace commands build and rewrite Sources/my-container: Tests/Learner/run.sh runs them.
private func learnerCommandReason(_ command: DocCommand) -> String? {
    command.text.range(of: #"swift run workshop (start|check|hint|solution|reset|progress)\b"#, options: .regularExpression) == nil
        ? nil : "a learner-workspace command (it builds and rewrites Sources/my-container): Tests/Learner/run.sh runs them"
}

/// Exact other commands that are not run, and why.
private let otherCommandsNotRun: [String: String] = [
    "sudo apt-get install -y libarchive-dev      # the only system library the kit needs":
        "installs packages on the host (the kit's build already needs them)",
    "sudo apt-get install -y libarchive-dev iproute2 util-linux procps psmisc":
        "installs packages on the host (the kit's build already needs them)",
    "uname -r": "shows the kernel version: `workshop doctor` checks it (WorkshopCommandTests)",
    "stat -fc %T /sys/fs/cgroup": "shows the cgroup layout: `workshop doctor` checks it (WorkshopCommandTests)",
    "swift --version": "shows the toolchain: `workshop doctor` checks it (WorkshopCommandTests)",
    "ls /usr/include/archive.h": "shows libarchive-dev is installed: the build needs it",
    "sudo rootfs-scripts/fetch-alpine.sh            # → /var/lib/workshop/downloads/alpine-minirootfs-3.20.3-x86_64.tar.gz":
        "downloads from the network (no network in CI); RootfsTests check the checksum logic",
    "sudo rootfs-scripts/build-busybox-rootfs.sh    # offline fallback → /var/lib/workshop/downloads/busybox-rootfs.tar.gz":
        "writes into the learner's /var/lib/workshop; ImageTests run the busybox fallback",
    "mknod /tmp/disk b 254 0          # the host's /dev/vda (see: stat -c %t:%T /dev/vda on the host)":
        "what a container could do WITHOUT the devices controller (a raw read of the host's disk): Step05Tests prove it is refused",
    "head -c 512 /tmp/disk | od -c    # ...its first sector: the host's disk, read (or written) raw":
        "what a container could do WITHOUT the devices controller: Step05Tests prove it is refused",
]

/// Rules for whole kinds of other commands, and why they are not run.
private let otherCommandRules: [(matches: (DocCommand) -> Bool, reason: String)] = [
    ({ $0.prompt == "host$" }, "a look from the host at the container the block started: its PID and id are the example's"),
    ({ $0.text.contains("swift test") }, "runs the test suite, which this test is part of"),
    ({ $0.text.hasPrefix("diff Sources/") }, "shows the code that changed between two steps (nothing to run)"),
]

/// What inline commands (in prose, not in a block) must give; the default is exit 0.
private let inlineExpectations: [String: String] = [
    "sudo swift run step01-clone -- sleep 1": "exit 0",
    "sudo swift run workshop doctor": "stdout contains \"every chapter can run here\"",
    "sudo swift run step05-cgroup -- sh -c 'while :; do :; done'": "stop after 1; exit 137",
    "sudo swift run step07-userns -- sh -c 'touch /root/made-inside; mkdir /data; chown 1000:1000 /data; sleep 600'":
        "stop after 1; exit 137",
    // The README's table (`… stepNN` for `sudo swift run stepNN`).
    "sudo swift run step01-clone -- sh -c 'echo $$'": "exit 0",
    "sudo swift run step02-namespaces -- sh -c 'hostname; ps'": "stdout contains \"container\"; stdout contains \"PID\"",
    "sudo swift run step03-chroot -- --try-escape cat /etc/os-release": "stdout contains \"PRETTY_NAME\"; stdout lacks \"Alpine\"",
    "sudo swift run step04-pivot-root -- --try-escape cat /etc/os-release": "stdout contains \"Alpine Linux\"",
    "sudo swift run step05-cgroup -- --stats sh -c 'while :; do :; done'": "stop after 2; exit 137; stderr contains \"CPU\"",
    "sudo swift run step06-capabilities -- hostname x": "exit 1; stderr contains \"hostname\"",
    "sudo swift run step07-userns -- id": "stdout contains \"uid=0(root)\"",
    "sudo swift run step08-seccomp -- unshare -U true": "exit 1; stderr contains \"Operation not permitted\"",
    "sudo swift run step04-pivot-root -- sleep 600": "stop after 1; exit 137",
    "sudo swift run step06-capabilities -- sleep 600": "stop after 1; exit 137",
    "sudo swift run step08-seccomp -- sleep 600": "stop after 1; exit 137",
    "sudo swift run step07-userns -- sh -c 'unshare -U true && echo nested ok'": "exit 0; stdout contains \"nested ok\"",
    "sudo swift run step03-chroot -q -- sh -c 'readlink /proc/self/cwd; cat ../../../../../../etc/debian_version'":
        "exit 1",
    "swift run workshop attacks --markdown": "exit 0; stdout contains \"| attack |\"",
]

struct DocCommand {
    var file: String
    var line: Int
    var text: String
    var prompt: String          // "$", "host$", "" (a line of a block without prompts), "inline"
    var typedIn: [String] = []  // `# …` lines typed into the shell this command starts
    var block: Int              // index of its block in the file (-1 inline)
    var indexInBlock: Int       // 1-based

    /// It runs one of the kit's programs (through `swift run` or the built binary).
    var runsTheKit: Bool {
        ([text] + typedIn).contains { $0.contains("swift run ") }
            || text.range(of: #"\.build/\S*(step\d\d-|workshop)"#, options: .regularExpression) != nil
    }
    /// Its last word (before a comment) is a shell: the `# …` lines after it are typed into it.
    var startsAShell: Bool {
        let command = text.components(separatedBy: "  #")[0].trimmingCharacters(in: .whitespaces)
        return command.hasSuffix(" bash") || command.hasSuffix(" sh")
    }
    var location: String { "\(file):\(line)" }
}

struct DocExpectation {
    var exit: Int32 = 0
    var stdoutContains: [String] = []
    var stderrContains: [String] = []
    var outputContains: [String] = []
    var stdoutLacks: [String] = []
    var stdin: String?
    var stopAfter: Double?
    var asNobody = false
    var session = false
    var ownTmp = false

    init() {}

    /// Parses `exit 0; stdout contains "x"; …`.
    init(_ clauses: String) throws {
        for clause in splitClauses(clauses) {
            let words = clause.split(separator: " ", maxSplits: 2).map(String.init)
            func quoted() throws -> String {
                guard let open = clause.firstIndex(of: "\""), let close = clause.lastIndex(of: "\""), open < close else {
                    throw AnnotationError(text: clause)
                }
                return String(clause[clause.index(after: open)..<close]).replacingOccurrences(of: "\\n", with: "\n")
                    .replacingOccurrences(of: "\\t", with: "\t")
                    .replacingOccurrences(of: "\\\"", with: "\"")
            }
            switch (words.first, words.count > 1 ? words[1] : "") {
            case ("exit", let code): guard let value = Int32(code) else { throw AnnotationError(text: clause) }; exit = value
            case ("stdout", "contains"): stdoutContains.append(try quoted())
            case ("stderr", "contains"): stderrContains.append(try quoted())
            case ("output", "contains"): outputContains.append(try quoted())
            case ("stdout", "lacks"): stdoutLacks.append(try quoted())
            case ("stdin", _): stdin = try quoted()
            case ("stop", "after"):
                guard words.count == 3, let seconds = Double(words[2]) else { throw AnnotationError(text: clause) }
                stopAfter = seconds
            case ("as", "nobody"): asNobody = true
            case ("session", _): session = true
            case ("own", "/tmp"): ownTmp = true
            // The block shows what the chapter's exercise changes; the other clauses say what the
            // reference step gives.
            case ("exercise", _): break
            default: throw AnnotationError(text: clause)
            }
        }
    }
}

struct AnnotationError: Error, CustomStringConvertible {
    var text: String
    var description: String { "cannot read doc-test clause: \(text)" }
}

/// Splits at `;` outside double quotes.
private func splitClauses(_ text: String) -> [String] {
    var clauses: [String] = [], current = "", quoted = false, previous: Character = " "
    for character in text {
        if character == "\"" && previous != "\\" { quoted.toggle() }
        if character == ";" && !quoted {
            clauses.append(current); current = ""
        } else {
            current.append(character)
        }
        previous = character
    }
    clauses.append(current)
    return clauses.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
}

/// The documents whose commands are tested (Chapters/ja has byte-identical code blocks).
func documentedFiles() -> [String] {
    let chapters = ((try? FileManager.default.contentsOfDirectory(atPath: packageDirectory.path + "/Chapters")) ?? [])
        .filter { $0.hasSuffix(".md") && $0.first?.isNumber == true }   // 00-08, not TRAINER.md
        .sorted().map { "Chapters/" + $0 }
    let solutions = ((try? FileManager.default.contentsOfDirectory(atPath: packageDirectory.path + "/Chapters/solutions")) ?? [])
        .filter { $0.hasSuffix(".md") }.sorted().map { "Chapters/solutions/" + $0 }
    return ["README.md"] + chapters + solutions
}

/// The solution pages show the learner's program with the answer applied (`swift run my-container …`):
/// Tests/Learner/run.sh builds that program and runs them with WORKSHOP_DOC_SOLUTION=NN (only
/// Chapters/solutions/NN.md's). In the ordinary run my-container is chapter 01's starting point.
private let solutionUnderTest = ProcessInfo.processInfo.environment["WORKSHOP_DOC_SOLUTION"]

private func runsTheLearnersProgram(_ command: DocCommand) -> Bool {
    command.file.hasPrefix("Chapters/solutions/") && command.text.contains("swift run my-container")
}

/// Every command of one markdown file, with what its annotations expect.
func docCommands(in file: String) throws -> [(DocCommand, DocExpectation)] {
    let text = try String(contentsOfFile: packageDirectory.path + "/" + file, encoding: .utf8)
    let lines = text.components(separatedBy: "\n")
    var result: [(DocCommand, DocExpectation)] = []
    var index = 0, blockNumber = 0
    while index < lines.count {
        let line = lines[index]
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("```") else {
            // Inline commands in prose and tables (a span may go on to the next line).
            var prose = line
            let first = index
            while prose.filter({ $0 == "`" }).count % 2 == 1, index + 1 < lines.count,
                  !lines[index + 1].trimmingCharacters(in: .whitespaces).isEmpty {
                index += 1
                prose += " " + lines[index]
            }
            for span in inlineCodeSpans(prose) {
                var command = span
                if command.hasPrefix("… step") { command = "sudo swift run " + command.dropFirst(2) }
                guard command.hasPrefix("sudo swift run ") || command.hasPrefix("sudo env ") && command.contains(" swift run ")
                        || command.hasPrefix("swift run ") && command.count > "swift run ".count else { continue }
                let doc = DocCommand(file: file, line: first + 1, text: command, prompt: "inline", block: -1, indexInBlock: 0)
                result.append((doc, try DocExpectation(inlineExpectations[command] ?? "")))
            }
            index += 1
            continue
        }
        let language = trimmed.dropFirst(3).trimmingCharacters(in: .whitespaces)
        let start = index + 1
        var end = start
        while end < lines.count, !lines[end].trimmingCharacters(in: .whitespaces).hasPrefix("```") { end += 1 }
        blockNumber += 1
        // Annotations: the comment lines right after the closing fence.
        var annotations: [Int: String] = [:]   // 0: every command
        var after = end + 1
        while after < lines.count, lines[after].hasPrefix("<!-- doc-test") {
            let comment = lines[after]
            guard let colon = comment.firstIndex(of: ":"), comment.hasSuffix("-->") else {
                throw AnnotationError(text: "\(file):\(after + 1): \(comment)")
            }
            let target = comment[comment.index(comment.startIndex, offsetBy: "<!-- doc-test".count)..<colon]
                .trimmingCharacters(in: .whitespaces)
            let clauses = String(comment[comment.index(after: colon)..<comment.index(comment.endIndex, offsetBy: -3)])
            for number in target.split(separator: ",") {
                guard let value = Int(number.trimmingCharacters(in: .whitespaces)) else {
                    throw AnnotationError(text: "\(file):\(after + 1): \(comment)")
                }
                annotations[value] = clauses
            }
            if target.isEmpty { annotations[0] = clauses }
            after += 1
        }
        if ["", "console", "sh", "bash"].contains(language) {
            let block = Array(lines[start..<end])
            let hasPrompts = block.contains { $0.hasPrefix("$ ") || $0.hasPrefix("host$ ") }
            var commands: [DocCommand] = []
            var row = 0
            while row < block.count {
                var text = block[row]
                let number = start + row + 1
                while text.hasSuffix("\\"), row + 1 < block.count {
                    row += 1
                    text += "\n" + block[row]   // the shell joins them
                }
                row += 1
                var prompt: String?
                var command = text
                for candidate in ["$", "host$"] where text.hasPrefix(candidate + " ") {
                    prompt = candidate
                    command = String(text.dropFirst(candidate.count + 1))
                }
                if prompt == nil, !hasPrompts, language == "sh" || language == "bash",
                   !text.trimmingCharacters(in: .whitespaces).isEmpty, !text.hasPrefix("#") {
                    prompt = ""
                }
                if let prompt {
                    commands.append(DocCommand(file: file, line: number, text: command.trimmingCharacters(in: .whitespaces),
                                               prompt: prompt, block: blockNumber, indexInBlock: commands.count + 1))
                    continue
                }
                // A line typed into the shell the previous command started, or an orphan.
                for shellPrompt in ["# ", "/ # "] where text.hasPrefix(shellPrompt) && (hasPrompts || language == "console") {
                    let typed = String(text.dropFirst(shellPrompt.count))
                    if let last = commands.indices.last, commands[last].startsAShell {
                        commands[last].typedIn.append(typed)
                    } else {
                        commands.append(DocCommand(file: file, line: number, text: typed.trimmingCharacters(in: .whitespaces),
                                                   prompt: shellPrompt.trimmingCharacters(in: .whitespaces),
                                                   block: blockNumber, indexInBlock: commands.count + 1))
                    }
                }
            }
            for command in commands {
                let clauses = annotations[command.indexInBlock] ?? annotations[0] ?? ""
                result.append((command, try DocExpectation(clauses)))
            }
        } else if !annotations.isEmpty {
            throw AnnotationError(text: "\(file):\(end + 2): a doc-test comment after a \(language) block")
        }
        index = after
    }
    return result
}

private func inlineCodeSpans(_ line: String) -> [String] {
    let parts = line.components(separatedBy: "`")
    return stride(from: 1, to: parts.count, by: 2).map { parts[$0] }
}

final class DocCommandTests: StepTestCase {
    /// A directory with the `sudo` and `swift` the commands find first on PATH.
    private func fakeTools() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let realSwift = path.split(separator: ":").map { "\($0)/swift" }
            .first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/bin/swift"
        // Not under /tmp: `own /tmp` puts a tmpfs there.
        let directory = testHome + "/doc-tools-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
        let scripts = [
            // Root already: sudo runs its command (`sudo env X=Y swift run …` finds our swift through env).
            "sudo": "#!/bin/sh\nexec \"$@\"\n",
            // `swift run NAME ARGS…`: NAME gets ARGS… as SwiftPM 6 passes them (a `--` after NAME too).
            "swift": """
                #!/bin/sh
                [ "$1" = run ] || exec "\(realSwift)" "$@"   # swift --version (workshop doctor asks)
                shift
                name=$1; shift
                exec "\(binaryDirectory.path)/$name" "$@"

                """,
        ]
        for (name, script) in scripts {
            let path = directory + "/" + name
            try script.write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o755)
        }
        return directory
    }

    func testEveryDocumentedCommandRunsAsWritten() throws {
        let tools = try fakeTools()
        // A HOME with the Alpine tarball in it, where chapter 00 tells the reader to put it.
        let home = tools + "/home"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: home + "/" + (alpineTarball as NSString).lastPathComponent,
                                                   withDestinationPath: alpineTarball)
        var commands: [(DocCommand, DocExpectation)] = []
        for file in documentedFiles() { commands += try docCommands(in: file) }
        XCTAssertGreaterThan(commands.count, 50, "the parser found too few commands")
        if let chapter = solutionUnderTest {
            let page = "Chapters/solutions/\(chapter).md"
            let mine = commands.filter { $0.0.file == page && runsTheLearnersProgram($0.0) }
            XCTAssertFalse(mine.isEmpty, "\(page): no `swift run my-container` command to run with the solution applied")
            for (command, expectation) in mine { try check(command, script: command.text, expectation, tools: tools, home: home) }
            print("doc commands of \(page) run with the solution applied: \(mine.count)")
            return
        }

        var run = 0, listed = 0
        var usedListings = Set<String>()
        var sessionsRun = Set<String>()   // file#block
        let began = Date()
        for (command, expectation) in commands {
            let key = "\(command.file)#\(command.block)"
            if expectation.session {
                guard !sessionsRun.contains(key) else { run += 1; continue }
                sessionsRun.insert(key)
                let script = commands.filter { $0.0.file == command.file && $0.0.block == command.block }
                    .map { $0.0.text }.joined(separator: "\n")
                try check(command, script: script, expectation, tools: tools, home: home)
                run += 1
                continue
            }
            if runsTheLearnersProgram(command) {
                listed += 1   // the reason: see solutionUnderTest
                continue
            }
            if command.runsTheKit {
                if let reason = stepCommandsNotRun[command.text] ?? learnerCommandReason(command) {
                    usedListings.insert(command.text)
                    XCTAssertFalse(reason.isEmpty)
                    listed += 1
                    continue
                }
                try check(command, script: command.text, expectation, tools: tools, home: home)
                run += 1
            } else if let reason = otherCommandsNotRun[command.text] ?? otherCommandRules.first(where: { $0.matches(command) })?.reason {
                usedListings.insert(command.text)
                XCTAssertFalse(reason.isEmpty)
                listed += 1
            } else {
                XCTFail("\(command.location): `\(command.text)` is neither run nor listed with a reason in DocCommandTests")
            }
        }
        for stale in Set(stepCommandsNotRun.keys).union(otherCommandsNotRun.keys).subtracting(usedListings) {
            XCTFail("DocCommandTests lists `\(stale)`, which no document shows any more")
        }
        print("doc commands: \(commands.count), run: \(run), listed with a reason: \(listed), in "
              + String(format: "%.1f s", Date().timeIntervalSince(began)))
    }

    private func check(_ command: DocCommand, script: String, _ expectation: DocExpectation, tools: String,
                       home: String) throws {
        let process = Process()
        var arguments = ["/bin/sh", "-c", script]
        if expectation.asNobody { arguments = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"] + arguments }
        if expectation.ownTmp {
            // A tmpfs of its own on /tmp, in a mount namespace of its own: what the command writes
            // to the host's /tmp (step02 has no root of its own) goes away with it.
            // The package (its built steps) and the tarball stay reachable if they live under /tmp (a
            // clone there, as CI's may be): the real /tmp is kept at /mnt in that namespace and bound back.
            let keep = [packageDirectory.path, (alpineTarball as NSString).deletingLastPathComponent]
                .filter { $0.hasPrefix("/tmp/") }.map { "'\($0)'" }.joined(separator: " ")
            arguments = ["/usr/bin/unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
                         "mount --rbind /tmp /mnt && mount -t tmpfs tmpfs /tmp && for p in \(keep); do "
                         + "mkdir -p \"$p\" && mount --rbind \"/mnt${p#/tmp}\" \"$p\" || exit 125; done && exec \"$@\"",
                         "sh"] + arguments
        }
        if expectation.session { arguments = ["/usr/bin/unshare", "--pid", "--fork", "--mount-proc", "--uts", "--"] + arguments }
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.currentDirectoryURL = packageDirectory
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = tools + ":" + (environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin")
        environment["WORKSHOP_HOME"] = testHome
        environment["WORKSHOP_CGROUP_PARENT"] = testCgroupParent
        environment["WORKSHOP_ALPINE_TARBALL"] = alpineTarball
        environment["NO_COLOR"] = "1"
        environment["HOME"] = home   // chapter 00 keeps the offline tarball in $HOME
        process.environment = environment
        let input = Pipe()
        process.standardInput = input
        let running = RunningStep(process)
        let started = Date()
        try process.run()
        running.startReading()
        let typed = expectation.stdin ?? command.typedIn.map { $0 + "\n" }.joined()
        input.fileHandleForWriting.write(Data(typed.utf8))
        try? input.fileHandleForWriting.close()
        if let seconds = expectation.stopAfter {
            // The chapters stop an endless container from the host: kill -9 its PID 1.
            usleep(useconds_t(seconds * 1_000_000))
            for pid in containerProcesses(under: process.processIdentifier) { kill(pid, SIGKILL) }
        }
        let name = "\(command.location): `\(script)`"
        // Anything still running after 30 s: stop its containers the way the chapters do (the
        // runtimes clean up), and say so.
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            XCTFail("\(name): still running after 30 s (endless? annotate it: `stop after S; exit 137`)")
            for pid in containerProcesses(under: process.processIdentifier) { kill(pid, SIGKILL) }
        }
        let result = running.wait(timeout: 30)
        let seconds = Date().timeIntervalSince(started)
        if seconds > 3 { print(String(format: "doc command took %.1f s: %@", seconds, name)) }
        XCTAssertEqual(result.status, expectation.exit, "\(name): exit status\nstdout: \(result.stdout)\nstderr: \(result.stderr)")
        for text in expectation.stdoutContains {
            XCTAssertTrue(result.stdout.contains(text), "\(name): stdout lacks \"\(text)\"\nstdout: \(result.stdout)\nstderr: \(result.stderr)")
        }
        for text in expectation.stderrContains {
            XCTAssertTrue(result.stderr.contains(text), "\(name): stderr lacks \"\(text)\"\nstderr: \(result.stderr)")
        }
        for text in expectation.outputContains {
            XCTAssertTrue((result.stdout + result.stderr).contains(text),
                          "\(name): output lacks \"\(text)\"\nstdout: \(result.stdout)\nstderr: \(result.stderr)")
        }
        for text in expectation.stdoutLacks {
            XCTAssertFalse(result.stdout.contains(text), "\(name): stdout has \"\(text)\"\nstdout: \(result.stdout)")
        }
    }

    /// The containers' first processes below `root`: children of a step runtime (a process whose
    /// executable is one of the built steps) that no longer run the runtime's binary.
    private func containerProcesses(under root: pid_t) -> [pid_t] {
        func executable(_ pid: pid_t) -> String? { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe") }
        var found: [pid_t] = []
        var queue = [root]
        while let pid = queue.popLast() {
            for child in childrenOf(pid) {
                let isRuntime = executable(pid)?.hasPrefix(binaryDirectory.path) ?? false
                if isRuntime, let exe = executable(child), !exe.hasPrefix(binaryDirectory.path) {
                    found.append(child)
                } else {
                    queue.append(child)
                }
            }
        }
        return found
    }
}
