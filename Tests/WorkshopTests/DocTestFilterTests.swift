import Foundation
import XCTest

/// Every `swift test --filter …` the README and the chapters show names tests that exist:
/// a filter that matches nothing runs 0 tests and "passes", so a renamed or moved test
/// would silently turn a chapter's check into no check at all.
final class DocTestFilterTests: XCTestCase {
    private let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// "Class/method" and "Class" for every XCTestCase subclass and test method under Tests/.
    private func knownTests() throws -> Set<String> {
        var known: Set<String> = []
        let tests = package.appendingPathComponent("Tests")
        let files = FileManager.default.enumerator(atPath: tests.path)?.compactMap { $0 as? String } ?? []
        for file in files where file.hasSuffix(".swift") {
            let text = try String(contentsOf: tests.appendingPathComponent(file), encoding: .utf8)
            var current: String?
            for line in text.split(separator: "\n") {
                let words = line.split(whereSeparator: { " (:{".contains($0) })
                if let index = words.firstIndex(of: "class"), index + 1 < words.count {
                    current = String(words[index + 1])
                    known.insert(current!)
                }
                if let index = words.firstIndex(of: "func"), index + 1 < words.count, words[index + 1].hasPrefix("test"),
                   let current {
                    known.insert(current + "/" + words[index + 1])
                }
            }
        }
        return known
    }

    func testEveryDocumentedFilterNamesExistingTests() throws {
        let known = try knownTests()
        XCTAssertTrue(known.contains("Step01Tests/testMissingCommandExits127"), "the test scanner found no tests: \(known.count) names")
        var documents = ["README.md"]
        for directory in ["Chapters", "Chapters/ja"] {
            let names = try FileManager.default.contentsOfDirectory(atPath: package.appendingPathComponent(directory).path)
            documents += names.filter { $0.hasSuffix(".md") }.map { directory + "/" + $0 }
        }
        let pattern = try NSRegularExpression(pattern: #"swift test(?: --disable-swift-testing)? --filter '?([A-Za-z0-9_/|]+)"#)
        var checked = 0
        for document in documents.sorted() {
            let text = try String(contentsOf: package.appendingPathComponent(document), encoding: .utf8)
            for (number, line) in text.components(separatedBy: "\n").enumerated() {
                let range = NSRange(line.startIndex..., in: line)
                for match in pattern.matches(in: line, range: range) {
                    let filter = String(line[Range(match.range(at: 1), in: line)!])
                    for name in filter.split(separator: "|").map(String.init) where !name.hasSuffix("/") {
                        checked += 1
                        XCTAssertTrue(known.contains(name),
                                      "\(document):\(number + 1): `--filter \(filter)` names \(name), which no test in Tests/ is called: it would run 0 tests and pass")
                    }
                }
            }
        }
        XCTAssertGreaterThan(checked, 20, "documented test filters found in README.md and Chapters/: \(checked)")
    }
}
