/// What `workshop check` and `workshop solution` read from a chapter's Markdown: the rows of its
/// check tables (`| `testX` | what it checks | if it fails |`), its numbered `## N.` sections and
/// their ```diff blocks, and the ✗ count it quotes for the starting point. The unit tests read the
/// chapters with the same code, so what the command prints is what the tests hold to.
/// (Plain Swift: no Foundation in Workshop.)

/// One row of a check table: the test it names and the two texts `workshop check` prints.
public struct CheckRow: Equatable, Sendable {
    /// The class the row names (`Extend02Tests.testTmpIsPrivate`), or nil for a bare `testX`.
    public let className: String?
    public let test: String
    public let description: String
    public let hint: String
    /// The row's line in the file, from 1.
    public let line: Int
}

public enum ChapterText {
    /// The lines outside fenced code blocks, with their numbers (from 1).
    static func prose(_ markdown: String) -> [(number: Int, line: String)] {
        var result: [(Int, String)] = []
        var fence: String? = nil
        for (index, line) in markdown.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.drop { $0 == " " }
            if let open = fence {
                if trimmed.hasPrefix(open) && trimmed.allSatisfy({ $0 == open.first || $0 == " " }) { fence = nil }
                continue
            }
            if trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~") {
                fence = String(trimmed.prefix { $0 == trimmed.first })
                continue
            }
            result.append((index + 1, String(line)))
        }
        return result
    }

    /// The cells of a table line `| a | b \| c | d |`, trimmed ("\|" is a "|" inside its cell).
    static func cells(_ line: String) -> [String] {
        var cells: [String] = []
        var cell = ""
        var escaped = false
        for character in line.drop(while: { $0 == " " }).dropFirst() {
            if escaped { if character != "|" { cell.append("\\") }; cell.append(character); escaped = false; continue }
            if character == "\\" { escaped = true; continue }
            if character == "|" { cells.append(trim(cell)); cell = ""; continue }
            cell.append(character)
        }
        if !trim(cell).isEmpty { cells.append(trim(cell)) }
        return cells
    }

    static func trim(_ text: String) -> String {
        String(text.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }

    /// Every table row outside code blocks whose first cell is a backticked test name,
    /// `testX` or `SomeTests.testX`. A missing third cell reads as an empty hint.
    public static func checkRows(in markdown: String) -> [CheckRow] {
        prose(markdown).compactMap { number, line in
            guard line.drop(while: { $0 == " " }).hasPrefix("|") else { return nil }
            let cells = cells(line)
            guard let first = cells.first, first.count > 2, first.hasPrefix("`"), first.hasSuffix("`") else { return nil }
            let name = String(first.dropFirst().dropLast())
            let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard parts.count <= 2, let test = parts.last, test.hasPrefix("test"),
                  parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" } }) else { return nil }
            return CheckRow(className: parts.count == 2 ? parts[0] : nil, test: test,
                            description: cells.count > 1 ? cells[1] : "", hint: cells.count > 2 ? cells[2] : "", line: number)
        }
    }

    /// The row for `test` of `className`: one naming the class, else one naming the test alone.
    public static func row(for test: String, of className: String, in rows: [CheckRow]) -> CheckRow? {
        rows.first { $0.test == test && $0.className == className } ?? rows.first { $0.test == test && $0.className == nil }
    }

    /// The level-2 section whose heading starts with `## N.` (`## 1. Break it`, `## 1. 壊してみる`):
    /// its heading line and everything up to the next level-1 or level-2 heading.
    public static func section(numbered number: Int, in markdown: String) -> String? {
        let lines = markdown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let headings = Set(prose(markdown).filter { $0.line.hasPrefix("# ") || $0.line.hasPrefix("## ") }.map(\.number))
        guard let start = headings.sorted().first(where: { lines[$0 - 1].hasPrefix("## \(number).") }) else { return nil }
        let end = headings.sorted().first { $0 > start } ?? lines.count + 1
        var body = Array(lines[(start - 1)..<(end - 1)])
        while body.last?.allSatisfy({ $0 == " " }) == true { body.removeLast() }
        return body.joined(separator: "\n")
    }

    /// The contents of the first ```diff block in `text` (fences dropped), ending with a newline.
    public static func diffBlock(in text: String) -> String? {
        var inside = false
        var body: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if inside {
                if line.hasPrefix("```") { return body.map { $0 + "\n" }.joined() }
                body.append(line)
            } else if line.hasPrefix("```diff") {
                inside = true
            }
        }
        return nil
    }

    /// The ✗ count the chapter quotes for its starting point: "`check 02` fails 7 of its 9 checks"
    /// (English) or "`check 02` は 9 個のうち 7 個のチェック" (Japanese), as (failing, total).
    public static func startingPointFailures(in markdown: String) -> (failing: Int, total: Int)? {
        let text = prose(markdown).map(\.line).joined(separator: " ")
        func numbers(after prefix: String, _ pattern: [String]) -> [Int]? {
            // pattern: the literal words between the two numbers and after the second
            var rest = Substring(text)
            while let start = rest.range(of: prefix) {
                var cursor = rest[start.upperBound...]
                var found: [Int] = []
                for word in pattern {
                    let digits = cursor.prefix { $0.isNumber }
                    guard let value = Int(digits), cursor.dropFirst(digits.count).hasPrefix(word) else { found = []; break }
                    found.append(value)
                    cursor = cursor.dropFirst(digits.count + word.count)
                }
                if found.count == pattern.count { return found }
                rest = rest[start.upperBound...]
            }
            return nil
        }
        if let english = numbers(after: "` fails ", [" of its ", " checks"]) { return (english[0], english[1]) }
        if let japanese = numbers(after: "` は ", [" 個のうち ", " 個のチェック"]) { return (japanese[1], japanese[0]) }
        return nil
    }
}

extension Substring {
    /// Where `needle` first starts (no Foundation).
    func range(of needle: String) -> Range<Index>? {
        var index = startIndex
        while index < endIndex {
            if self[index...].hasPrefix(needle) { return index..<self.index(index, offsetBy: needle.count) }
            index = self.index(after: index)
        }
        return nil
    }
}
