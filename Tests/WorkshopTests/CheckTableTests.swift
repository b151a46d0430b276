import Foundation
import Workshop
import XCTest

/// The chapters' check tables are what `workshop check NN` prints: every black-box check of
/// chapter NN (StepNNTests, and ExtendNNTests for its "Extend it" exercise) has exactly one row
/// in the chapter, with what it checks and what to look at if it fails, in English and Japanese
/// alike; every row names a test that exists; and the ✗ count each chapter quotes for its
/// starting point is out of the right number of checks. No root needed.
final class CheckTableTests: XCTestCase {
    static let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let chapterNames = ["01-clone", "02-namespaces", "03-chroot", "04-pivot-root",
                               "05-cgroup", "06-capabilities", "07-userns", "08-seccomp"]

    func chapter(_ n: Int, japanese: Bool = false) throws -> String {
        try String(contentsOf: Self.package.appendingPathComponent("Chapters/\(japanese ? "ja/" : "")\(Self.chapterNames[n - 1]).md"),
                   encoding: .utf8)
    }

    /// The `func test…` methods of every `class …Tests` in Tests/StepTests, by class (a class may
    /// live in any file: LaterStepsTests.swift holds tests of several chapters' layers).
    static let testMethods: [String: [String]] = {
        let directory = package.appendingPathComponent("Tests/StepTests")
        var methods: [String: [String]] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] where name.hasSuffix(".swift") {
            let text = (try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)) ?? ""
            var current: String? = nil
            for line in text.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                if line.hasPrefix("class ") || line.hasPrefix("final class "), let range = line.range(of: "class "),
                   let className = line[range.upperBound...].split(whereSeparator: { !$0.isLetter && !$0.isNumber }).first {
                    current = String(className)
                    methods[current!, default: []] += []
                } else if let current, line.hasPrefix("func test") || line.contains(" func test"),
                          let start = line.range(of: "func test") {
                    let name = line[start.lowerBound...].dropFirst(5).prefix { $0.isLetter || $0.isNumber || $0 == "_" }
                    methods[current, default: []].append(String(name))
                }
            }
        }
        return methods
    }()

    func testTheReaderFindsTheTestsOfEveryChapter() {
        // The scan above must see the classes, or every check below would pass on nothing.
        for n in 1...8 {
            XCTAssertGreaterThanOrEqual(Self.testMethods["Step0\(n)Tests"]?.count ?? 0, 3, "Step0\(n)Tests: \(Self.testMethods.keys.sorted())")
        }
    }

    func testEveryCheckHasOneRowWithADescriptionAndAHint() throws {
        for n in 1...8 {
            for japanese in [false, true] {
                let path = "Chapters/\(japanese ? "ja/" : "")\(Self.chapterNames[n - 1]).md"
                let rows = ChapterText.checkRows(in: try chapter(n, japanese: japanese))
                for className in ["Step0\(n)Tests", "Extend0\(n)Tests"] {
                    for test in Self.testMethods[className] ?? [] {
                        let matching = rows.filter { $0.test == test && ($0.className == className || $0.className == nil) }
                        XCTAssertEqual(matching.count, 1, "\(path): \(className).\(test) should have exactly one row in a "
                                       + "`| test | what it checks | if it fails |` table, found \(matching.map(\.line))")
                        for row in matching {
                            XCTAssertFalse(row.description.isEmpty, "\(path):\(row.line): \(test) says nothing about what it checks")
                            XCTAssertFalse(row.hint.isEmpty, "\(path):\(row.line): \(test) has no 'if it fails' pointer")
                        }
                    }
                }
            }
        }
    }

    func testEveryRowNamesAnExistingTest() throws {
        for n in 1...8 {
            for japanese in [false, true] {
                let path = "Chapters/\(japanese ? "ja/" : "")\(Self.chapterNames[n - 1]).md"
                for row in ChapterText.checkRows(in: try chapter(n, japanese: japanese)) {
                    let classes = row.className.map { [$0] } ?? ["Step0\(n)Tests", "Extend0\(n)Tests"]
                    XCTAssertTrue(classes.contains { Self.testMethods[$0]?.contains(row.test) ?? false },
                                  "\(path):\(row.line): `\(row.className.map { $0 + "." } ?? "")\(row.test)` is not a test of \(classes.joined(separator: " or "))")
                }
            }
        }
    }

    /// Both languages have the same rows, in the same order (the texts are translations).
    func testJapaneseRowsMatchTheEnglishOnes() throws {
        for n in 1...8 {
            let english = ChapterText.checkRows(in: try chapter(n)), japanese = ChapterText.checkRows(in: try chapter(n, japanese: true))
            XCTAssertEqual(english.map { "\($0.className ?? "").\($0.test)" }, japanese.map { "\($0.className ?? "").\($0.test)" },
                           "Chapters/\(Self.chapterNames[n - 1]).md and its Japanese twin name different tests, row by row")
        }
    }

    /// "On the starting point `check 02` fails 7 of its 9 checks": 9 is the number of Step02Tests,
    /// the same numbers in Japanese. (That 7 fail is Tests/Learner/run.sh's to measure.)
    func testTheQuotedFailureCountIsOutOfTheChaptersChecks() throws {
        for n in 1...8 {
            let tests = Self.testMethods["Step0\(n)Tests"]?.count ?? -1
            let english = ChapterText.startingPointFailures(in: try chapter(n))
            let japanese = ChapterText.startingPointFailures(in: try chapter(n, japanese: true))
            XCTAssertEqual(english?.total, tests, "Chapters/\(Self.chapterNames[n - 1]).md: expected \"`check 0\(n)` fails N of its \(tests) checks\"")
            XCTAssertEqual(japanese?.total, tests, "Chapters/ja/\(Self.chapterNames[n - 1]).md: expected \"`check 0\(n)` は \(tests) 個のうち N 個のチェック\"")
            XCTAssertEqual(english?.failing, japanese?.failing, "chapter 0\(n): English and Japanese quote different ✗ counts")
            if let failing = english?.failing { XCTAssertTrue((1...tests).contains(failing), "chapter 0\(n): \(failing) of \(tests)?") }
        }
    }

    /// The reader itself, on a table that has what the chapters may hold.
    func testTheReaderParsesRowsSectionsAndCounts() {
        let text = """
            | test | what it checks | if it fails |
            |---|---|---|
            | `testA` | `a \\| b` works | look at `x` |
            | `Extend02Tests.testB` | b | c |
            | `notATest` | no | no |
            ```
            | `testInCode` | no | no |
            ```
            On the starting point `check 02` fails 7 of its
            9 checks (…).

            ## 1. Break it
            one
            ## 2. Extend it
            ```diff
            +x
            ```
            """
        let rows = ChapterText.checkRows(in: text)
        XCTAssertEqual(rows.map(\.test), ["testA", "testB"])
        XCTAssertEqual(rows.first?.description, "`a | b` works")
        XCTAssertEqual(rows.first?.hint, "look at `x`")
        XCTAssertEqual(rows.last?.className, "Extend02Tests")
        XCTAssertEqual(ChapterText.row(for: "testB", of: "Extend02Tests", in: rows)?.line, 4)
        XCTAssertNil(ChapterText.row(for: "testB", of: "Step02Tests", in: rows))
        XCTAssertEqual(ChapterText.startingPointFailures(in: text)?.failing, 7)
        XCTAssertEqual(ChapterText.startingPointFailures(in: text)?.total, 9)
        XCTAssertEqual(ChapterText.section(numbered: 1, in: text), "## 1. Break it\none")
        XCTAssertEqual(ChapterText.diffBlock(in: ChapterText.section(numbered: 2, in: text) ?? ""), "+x\n")
        XCTAssertNil(ChapterText.section(numbered: 3, in: text))
        XCTAssertEqual(ChapterText.startingPointFailures(in: "`check 05` は 11 個のうち 8 個のチェック")?.failing, 8)
    }
}
