// workshop: the kit's helper for learners and trainers.
//
//   sudo swift run workshop doctor             # can every chapter run on this machine?
//   sudo swift run workshop attacks            # the attack matrix, live, against the built steps
//
// One subcommand per job; each gets the words after its name and returns an exit code.

import AttackMatrix
import Foundation

struct Subcommand {
    let name: String
    let summary: String
    let usage: String
    let run: ([String]) -> Int32
}

let subcommands: [Subcommand] = [
    Subcommand(name: "doctor", summary: "check that this machine can run every chapter, and say how to fix what it cannot",
               usage: """
               usage: workshop doctor [--tarball PATH]
                 --tarball PATH  verify a copy of alpine-minirootfs-3.20.3-<arch>.tar.gz and keep it in
                                 $WORKSHOP_HOME/downloads, for every later run (offline)
               One line per check: ✓ fine, ✗ a chapter cannot run (with the command that fixes it), ! worth knowing.
               Exit 0: every chapter can run here; 1: at least one ✗.
               """, run: doctor),
    Subcommand(name: "attacks", summary: "run every attack against every step and print what each layer stops",
               usage: """
               usage: workshop attacks [--only ID,...] [--list] [--markdown] [-v]
                 --only ID,...  run only these attacks
                 --list         print the matrix as the kit promises it, without running anything
                 --markdown     print chapter 08's table, generated from the matrix
                 -v             say what each cell observed
               Needs root and the built steps (swift build), gcc with static glibc for the probe.
               Exit 0: every attack was stopped where the matrix says; 1: one got through (or a run broke).
               """, run: attacks),
    Subcommand(name: "start", summary: "set Sources/my-container to chapter NN's starting point (your edits: --force)",
               usage: """
               usage: workshop start NN [--force] [--from-reference | --extend]
                 Writes chapter NN's starting point (stepNN with its new layer cut out, TODOs in its place)
                 to Sources/my-container/main.swift. Refuses to replace your edits unless --force
                 (then keeps a copy in .workshop/saved/).
                 --from-reference  start from the previous chapter's complete reference step instead:
                                   write chapter NN's layer with no TODOs to guide you
                 --extend          start from the reference stepNN itself: the base for the chapter's
                                   "Extend it" exercise (then: workshop check NN --extend)
               """, run: start),
    Subcommand(name: "check", summary: "build your my-container and run chapter NN's checks on it (--watch: again on every save)",
               usage: """
               usage: workshop check NN [--reference] [--extend] [--watch]
                 Builds my-container (showing only errors) and runs chapter NN's black-box checks
                 (the tests of StepNNTests, all at once) against it: one line per property, ✓ or ✗, in the
                 chapter's words, and for the first failure what it depends on and your next open TODO.
                 Each check running at once keeps its containers and an Alpine copy (about 12 MB) in
                 /var/lib/workshop-checks/N ($WORKSHOP_CHECK_HOME); rm -rf it to free the space.
                 --reference  run the same checks against the kit's stepNN instead
                 --extend     run the checks of the chapter's "Extend it" exercise (ExtendNNTests);
                              with --reference they fail: the kit's step has no extension
                 --watch      check, then check again whenever a file in Sources/my-container changes;
                              Ctrl-C stops (and stops a check that is running)
               Needs root. Exit 0: every check passed (recorded for `workshop progress`); 1: one failed.
               """, run: check),
    Subcommand(name: "hint", summary: "the next hint for chapter NN (one per call)",
               usage: "usage: workshop hint NN\n  Prints chapter NN's next TODO and where it is in your file.", run: hint),
    Subcommand(name: "solution", summary: "the diff from your my-container to the reference stepNN; the exercises' explanations",
               usage: """
               usage: workshop solution NN [--break | --extend [--diff]]
                 diff -u Sources/my-container/main.swift Sources/stepNN-*/main.swift
                 --break   explain exercise 1, "Break it" (Chapters/solutions/NN.md, section "## 1.")
                 --extend  the answer to exercise 2, "Extend it" (section "## 2.")
                 --diff    only that section's diff: workshop solution NN --extend --diff | git apply
               In a Japanese locale (LANG or LC_ALL ja…) Chapters/ja/solutions/NN.md, when it exists.
               """, run: solution),
    Subcommand(name: "reset", summary: "start NN --force: back to chapter NN's starting point",
               usage: """
               usage: workshop reset NN [--from-reference | --extend]
                 Same as `workshop start NN --force` (your file is saved in .workshop/saved/).
               """, run: reset),
    Subcommand(name: "progress", summary: "the chapters (and extensions) whose checks your my-container passed",
               usage: "usage: workshop progress\n  ✓ a chapter passed `workshop check NN`; (+ extension): it passed `workshop check NN --extend`.", run: progress),
]

func usage() -> String {
    "usage: workshop <command> [options]\n\ncommands:\n"
        + subcommands.map { "  " + $0.name.padding(toLength: 10, withPad: " ", startingAt: 0) + $0.summary }.joined(separator: "\n")
        + "\n\n`workshop <command> --help` for a command's options.\n"
}

func fail(_ message: String, code: Int32) -> Int32 {
    FileHandle.standardError.write(Data("workshop: \(message)\n".utf8))
    return code
}

// MARK: - attacks

nonisolated(unsafe) var interrupted: sig_atomic_t = 0

func attacks(_ arguments: [String]) -> Int32 {
    var only: Set<String>?
    var verbose = false
    var index = 0
    while index < arguments.count {
        let word = arguments[index]
        switch word {
        case "--help", "-h":
            print(subcommands.first { $0.name == "attacks" }!.usage)
            return 0
        case "--list":
            let columns = Lab.columns
            print(MatrixTable.header(columns: columns))
            for attack in AttackMatrix.attacks { print(MatrixTable.expectedLine(attack, columns: columns)) }
            return 0
        case "--markdown":
            print(MatrixTable.markdown())
            return 0
        case "-v", "--verbose":
            verbose = true
        case "--only":
            index += 1
            guard index < arguments.count else { return fail("--only needs attack ids", code: 64) }
            let ids = arguments[index].split(separator: ",").map(String.init)
            if let unknown = ids.first(where: { AttackMatrix.attack($0) == nil }) {
                return fail("no attack \(unknown) (workshop attacks --list)", code: 64)
            }
            only = Set(ids)
        default:
            return fail("unknown option \(word) (workshop attacks --help)", code: 64)
        }
        index += 1
    }
    guard geteuid() == 0 else { return fail("the attacks need root: sudo swift run workshop attacks", code: 125) }
    // The steps are built beside this program (.build/<configuration>/).
    let binaries = ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
    let binaryDirectory = (binaries as NSString).deletingLastPathComponent
    let environment = ProcessInfo.processInfo.environment
    let lab: Lab
    do {
        lab = try Lab(binaryDirectory: binaryDirectory, home: environment["WORKSHOP_HOME"] ?? "/var/lib/workshop",
                      cgroupParent: environment["WORKSHOP_CGROUP_PARENT"] ?? "workshop")
    } catch {
        return fail("\(error)", code: 125)
    }
    defer { lab.close() }
    // A trainer's Ctrl-C must still put the host's settings back: finish the current attack (its
    // defers restore what it touched), then stop.
    signal(SIGINT) { _ in interrupted = 1 }

    let columns = Lab.columns
    let selected = AttackMatrix.attacks.filter { only?.contains($0.id) ?? true }
    print(MatrixTable.header(columns: columns))
    var notes: [String] = []
    var breaches = 0, broken = 0
    let start = Date()
    for attack in selected {
        if interrupted != 0 {
            notes.append("interrupted: the rest was not run")
            break
        }
        let cells = attack.evaluate(in: columns, lab: lab)
        print(MatrixTable.line(attack, cells))
        fflush(stdout)
        for cell in cells {
            let label = "\(attack.id) \(Lab.label(cell.column))"
            if let problem = cell.problem {
                broken += 1
                notes.append("!  \(label): \(problem)")
            } else if cell.isBreach {
                breaches += 1
                notes.append("✗! \(label): got through, but \(attack.stopLabel) should stop it: \(cell.verdict!.detail)")
            } else if cell.isStaleBaseline {
                notes.append("✓? \(label): blocked, but the matrix says it gets through until \(attack.stopLabel): \(cell.verdict!.detail)")
            } else if case .notApplicable(let reason) = cell.verdict, attack.columns.contains(cell.column) {
                notes.append("·  \(label): cannot run here: \(reason)")
            } else if verbose, let verdict = cell.verdict, attack.columns.contains(cell.column) {
                notes.append("   \(label): \(verdict.detail)")
            }
        }
    }
    print("\n" + MatrixTable.legend)
    for note in notes { print(note) }
    print(String(format: "%d attacks x %d columns in %.1f s", selected.count, columns.count, Date().timeIntervalSince(start)))
    return breaches + broken == 0 ? 0 : 1
}

// MARK: - dispatch

var arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "--" { arguments.removeFirst() }   // `swift run workshop -- attacks` passes it on
guard let name = arguments.first else {
    FileHandle.standardError.write(Data(usage().utf8))
    exit(64)
}
if ["-h", "--help", "help"].contains(name) {
    print(usage(), terminator: "")
    exit(0)
}
guard let subcommand = subcommands.first(where: { $0.name == name }) else {
    exit(fail("unknown command \(name)\n" + usage(), code: 64))
}
exit(subcommand.run(Array(arguments.dropFirst())))
