import Foundation
import Workshop
import XCTest

/// The step files' layer markers: each step's starting point (its own regions cut out) builds,
/// and is the previous step plus TODO blocks and a few allowed lines, so the two cannot drift.
final class LayerMarkerTests: XCTestCase {
    static let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let steps = ["step01-clone", "step02-namespaces", "step03-chroot", "step04-pivot-root",
                        "step05-cgroup", "step06-capabilities", "step07-userns", "step08-seccomp"]

    func source(_ n: Int) throws -> String {
        try String(contentsOf: Self.package.appendingPathComponent("Sources/\(Self.steps[n - 1])/main.swift"), encoding: .utf8)
    }

    func chapter(_ n: Int) -> String { "Chapters/" + Self.steps[n - 1].dropFirst(4) + ".md" }

    /// The lines after the header comment, blank lines dropped (what the allowance counts).
    func body(_ text: String) -> [String] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = lines.firstIndex { $0.hasPrefix("import ") } ?? 0
        return lines[start...].filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
    }

    /// Lines only in `a` and only in `b` (a longest-common-subsequence diff).
    func difference(_ a: [String], _ b: [String]) -> (removed: [String], added: [String]) {
        var table = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            for j in stride(from: b.count - 1, through: 0, by: -1) {
                table[i][j] = a[i] == b[j] ? table[i + 1][j + 1] + 1 : max(table[i + 1][j], table[i][j + 1])
            }
        }
        var (i, j) = (0, 0)
        var removed: [String] = [], added: [String] = []
        while i < a.count || j < b.count {
            if i < a.count, j < b.count, a[i] == b[j] { i += 1; j += 1 }
            else if j < b.count, i == a.count || table[i][j + 1] >= table[i + 1][j] { added.append(b[j]); j += 1 }
            else { removed.append(a[i]); i += 1 }
        }
        return (removed, added)
    }

    /// The learner's program as committed is chapter 01's starting point (what `workshop reset 01` writes),
    /// so a fresh clone starts at chapter 01 and the file cannot drift from step01.
    func testLearnerFileIsChapter01sStartingPoint() throws {
        let learner = try String(contentsOf: Self.package.appendingPathComponent("Sources/my-container/main.swift"), encoding: .utf8)
        XCTAssertEqual(learner, LayerMarkers.startingPoint(of: try source(1), step: 1, chapter: chapter(1)),
                       "Sources/my-container/main.swift: expected chapter 01's starting point (workshop reset 01), saw another file")
    }

    func testEveryStepHasItsOwnRegions() throws {
        for n in 1...8 {
            XCTAssertFalse(LayerMarkers.regions(of: n, in: try source(n)).isEmpty, "\(Self.steps[n - 1]) marks no region of its own")
        }
    }

    /// Cut step N's regions and compare with step N-1: only TODO blocks and at most 5 other lines
    /// (the abstract, a line a layer changes in place) may differ, outside the header comment.
    func testStartingPointIsThePreviousStepPlusTODOs() throws {
        for n in 2...8 {
            let cut = LayerMarkers.startingPoint(of: try source(n), step: n, chapter: chapter(n))
            XCTAssertTrue(cut.contains("// TODO(step0\(n)): "), "step \(n): no TODO block")
            let (removed, added) = difference(body(try source(n - 1)), body(cut).filter { !LayerMarkers.isTODO($0) })
            XCTAssertLessThanOrEqual(max(removed.count, added.count), 5,
                "cut \(Self.steps[n - 1]) vs \(Self.steps[n - 2]): only in the previous step:\n"
                + removed.joined(separator: "\n") + "\nonly in the cut:\n" + added.joined(separator: "\n"))
        }
    }

    /// The chapter's `workshop start NN` line says how many TODOs the starting point has ("plus six TODOs").
    func testChaptersCountTheTODOsTheStartingPointHas() throws {
        let words = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
        for n in 2...8 {
            let cut = LayerMarkers.startingPoint(of: try source(n), step: n, chapter: chapter(n))
            let count = cut.split(separator: "\n").filter { $0.contains("// TODO(step0\(n)): ") }.count
            let text = try String(contentsOf: Self.package.appendingPathComponent(chapter(n)), encoding: .utf8)
            let line = text.split(separator: "\n").first { $0.contains("workshop start 0\(n) ") && $0.contains(" TODO") } ?? ""
            let said = words.firstIndex { line.contains("plus \($0) TODO") }.map { $0 + 1 }
            XCTAssertEqual(said, count, "\(chapter(n)): the `workshop start 0\(n)` line says \(line.isEmpty ? "nothing" : String(line)); "
                           + "the starting point has \(count) TODO(s)")
        }
    }

    /// Each starting point type-checks against the built Workshop module (it then fails the chapter's checks).
    func testStartingPointsBuild() throws {
        let runner = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let build = URL(fileURLWithPath: runner).deletingLastPathComponent()
        let modules = build.appendingPathComponent("Modules")
        guard FileManager.default.fileExists(atPath: modules.appendingPathComponent("Workshop.swiftmodule").path) else {
            return XCTFail("no Workshop module beside the test runner in \(build.path)")
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("layer-markers-\(getpid())")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        for n in 1...8 {
            let cut = LayerMarkers.startingPoint(of: try source(n), step: n, chapter: chapter(n))
            XCTAssertFalse(cut.contains("[step0\(n)]"), "step \(n): a marker of its own survived the cut")
            let file = scratch.appendingPathComponent("main.swift")
            try cut.write(to: file, atomically: true, encoding: .utf8)
            let swiftc = Process()
            swiftc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            swiftc.arguments = ["swiftc", "-typecheck", "-module-name", Self.steps[n - 1].replacingOccurrences(of: "-", with: "_"),
                                // its own module cache: $HOME may be read-only (the mutation harness makes / so)
                                "-module-cache-path", scratch.appendingPathComponent("module-cache").path,
                                "-I", modules.path,
                                "-Xcc", "-fmodule-map-file=" + build.appendingPathComponent("CLinux.build/module.modulemap").path,
                                "-Xcc", "-fmodule-map-file=" + build.appendingPathComponent("CArchiveLoader.build/module.modulemap").path,
                                "-Xcc", "-fmodule-map-file=" + Self.package.appendingPathComponent("Sources/CArchive/module.modulemap").path,
                                file.path]
            let errors = Pipe()
            swiftc.standardError = errors
            swiftc.standardOutput = errors
            try swiftc.run()
            let output = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            swiftc.waitUntilExit()
            XCTAssertEqual(swiftc.terminationStatus, 0, "the starting point of \(Self.steps[n - 1]) does not build:\n\(output)\n---\n\(cut)")
            XCTAssertFalse(output.contains("warning:"), "\(Self.steps[n - 1])'s starting point warns:\n\(output)")
        }
    }
}

/// Each chapter's "Walk through the new code" quotes exactly its step's regions: every region
/// appears, and every quoted block with a marker is whole regions of that step (joined by "…").
final class WalkThroughTests: XCTestCase {
    func testWalkThroughsQuoteTheRegions() throws {
        for (index, step) in LayerMarkerTests.steps.enumerated() {
            let n = index + 1
            let chapterPath = LayerMarkerTests.package.appendingPathComponent("Chapters/" + step.dropFirst(4) + ".md")
            let chapter = try String(contentsOf: chapterPath, encoding: .utf8)
            let source = try String(contentsOf: LayerMarkerTests.package.appendingPathComponent("Sources/\(step)/main.swift"), encoding: .utf8)
            let regions = LayerMarkers.regions(of: n, in: source).map { $0.joined(separator: "\n") }
            let lines = chapter.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            guard let start = lines.firstIndex(of: "## Walk through the new code") else {
                XCTFail("\(chapterPath.lastPathComponent): no \"Walk through the new code\" section"); continue
            }
            let end = lines[(start + 1)...].firstIndex { $0.hasPrefix("## ") } ?? lines.count
            var blocks: [[String]] = []
            var current: [String]? = nil
            for line in lines[start..<end] {
                if current == nil, line == "```swift" { current = [] }
                else if current != nil, line == "```" { blocks.append(current!); current = nil }
                else if current != nil { current!.append(line) }
            }
            var quoted: [String] = []
            for block in blocks where block.contains(where: { $0.contains("// [step") || $0.contains("NEW in step") }) {
                let parts = block.split(separator: "…", omittingEmptySubsequences: true).map { $0.joined(separator: "\n") }
                for part in parts {
                    XCTAssertTrue(regions.contains(part), "\(chapterPath.lastPathComponent) quotes lines that are not a region of \(step):\n\(part)")
                    quoted.append(part)
                }
            }
            for region in regions where !quoted.contains(region) {
                XCTFail("\(chapterPath.lastPathComponent) does not quote this region of \(step):\n\(region)")
            }
        }
    }
}
