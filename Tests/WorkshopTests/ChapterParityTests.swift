import Foundation
import XCTest

/// Keeps the Japanese chapters (Chapters/ja/) in step with the English ones.
///
/// For every English chapter (and TRAINER.md), and every page of exercise answers
/// (Chapters/solutions/NN.md ↔ Chapters/ja/solutions/NN.md), the Japanese one must have the same
/// section structure (heading levels, in order), the same fenced code blocks byte for
/// byte and in order, the same exercises and answers, the same tables (rows and columns)
/// and the same links to files. Prose is free: it is written for Japanese readers, not
/// translated line by line.
///
/// After an English chapter changed only inside its code blocks, run
/// `CHAPTER_PARITY_SYNC=1 swift test --filter ChapterParityTests` once: it copies
/// the English blocks into the Japanese chapter, block by block, when both have the
/// same number of blocks (then read the prose around them). Anything else it reports.
/// No root needed.
final class ChapterParityTests: XCTestCase {

    // MARK: the checks

    func testEveryEnglishChapterHasAJapaneseOne() throws {
        let english = try Chapter.englishNames()
        XCTAssertGreaterThanOrEqual(english.count, 10, "Chapters/ should hold 00…08 and TRAINER.md, found \(english)")
        for name in english {
            XCTAssertTrue(FileManager.default.fileExists(atPath: Chapter.japaneseDirectory + "/" + name),
                          "Chapters/\(name) has no Japanese counterpart Chapters/ja/\(name)")
        }
        for name in try Chapter.japaneseNames() where name != "README.md" {
            XCTAssertTrue(english.contains(name), "Chapters/ja/\(name) has no English original Chapters/\(name)")
        }
    }

    /// The exercises' answers (`workshop solution NN --break/--extend`) exist in both languages.
    func testEveryAnswerPageHasAJapaneseOne() throws {
        let english = try Chapter.englishSolutionNames()
        XCTAssertGreaterThanOrEqual(english.count, 8, "Chapters/solutions/ should hold 01.md…08.md, found \(english)")
        for name in english {
            XCTAssertTrue(FileManager.default.fileExists(atPath: Chapter.japaneseDirectory + "/" + name),
                          "Chapters/\(name) has no Japanese counterpart Chapters/ja/\(name)")
        }
        for name in try Chapter.japaneseSolutionNames() {
            XCTAssertTrue(english.contains(name), "Chapters/ja/\(name) has no English original Chapters/\(name)")
        }
    }

    /// An answer page answers its chapter's exercises: its numbered sections (## 1. …, ## 2. …)
    /// are the exercises of the chapter it belongs to, in both languages.
    func testAnswerPagesAnswerTheChaptersExercises() throws {
        let chapters = try Chapter.pairs().filter { !$0.name.hasPrefix(Chapter.solutionsFolder + "/") }
        for pair in try Chapter.pairs() where pair.name.hasPrefix(Chapter.solutionsFolder + "/") {
            let number = (pair.name as NSString).lastPathComponent.prefix { $0.isNumber }
            guard let chapter = chapters.first(where: { $0.name.hasPrefix(number + "-") }) else {
                XCTFail("\(pair.title): no chapter Chapters/\(number)-*.md for these answers")
                continue
            }
            for (answers, exercises) in [(pair.english, chapter.english), (pair.japanese, chapter.japanese)] {
                XCTAssertEqual(answers.answeredExercises, exercises.exercises,
                               "\(answers.shortPath): answers the exercises \(answers.answeredExercises) (its '## N.' sections), "
                               + "but \(exercises.shortPath) has the exercises \(exercises.exercises)")
            }
        }
    }

    func testSectionStructureIsTheSame() throws {
        for pair in try Chapter.pairs() {
            let en = pair.english.headings, ja = pair.japanese.headings
            if en.map(\.level) == ja.map(\.level) { continue }
            let index = (0..<min(en.count, ja.count)).first { en[$0].level != ja[$0].level } ?? min(en.count, ja.count)
            var message = "\(pair.title): the section structure differs (\(en.count) headings in English, \(ja.count) in Japanese); "
            message += "first difference at heading \(index + 1): "
            message += index < en.count ? "English \(en[index]) " : "English has no more headings "
            message += index < ja.count ? "vs Japanese \(ja[index])" : "vs Japanese has no more headings"
            XCTFail(message)
        }
    }

    func testCodeBlocksAreTheSameByteForByte() throws {
        let sync = ProcessInfo.processInfo.environment["CHAPTER_PARITY_SYNC"] == "1"
        for var pair in try Chapter.pairs() {
            if sync, pair.english.codeBlocks.count == pair.japanese.codeBlocks.count,
               pair.english.codeBlocks.map(\.text) != pair.japanese.codeBlocks.map(\.text) {
                try pair.japanese.replaceCodeBlocks(with: pair.english.codeBlocks)
                print("CHAPTER_PARITY_SYNC: copied the English code blocks into Chapters/ja/\(pair.name); read the prose around them")
            }
            for problem in codeBlockDifferences(pair) { XCTFail(problem) }
        }
    }

    func testExercisesAreTheSame() throws {
        for pair in try Chapter.pairs() {
            let en = pair.english, ja = pair.japanese
            XCTAssertEqual(en.exercises, ja.exercises,
                           "\(pair.title): \(en.exercises.count) exercises in English \(en.exercises), \(ja.exercises.count) in Japanese \(ja.exercises)")
            XCTAssertEqual(en.answerCount, ja.answerCount,
                           "\(pair.title): \(en.answerCount) <details> answers in English, \(ja.answerCount) in Japanese")
        }
    }

    /// Tables are prose (translated), but their shape is not: the same tables, in order,
    /// each with the same number of rows and columns (a new row of chapter 08's attack
    /// matrix in English fails here until the Japanese table has it too).
    func testTablesHaveTheSameShape() throws {
        for pair in try Chapter.pairs() {
            let en = pair.english.tables, ja = pair.japanese.tables
            if en.map(\.shape) == ja.map(\.shape) { continue }
            let index = (0..<min(en.count, ja.count)).first { en[$0].shape != ja[$0].shape } ?? min(en.count, ja.count)
            var message = "\(pair.title): the tables differ (\(en.count) in English, \(ja.count) in Japanese); first difference at table \(index + 1): "
            message += index < en.count ? "English \(en[index]) " : "English has no more tables "
            message += index < ja.count ? "vs Japanese \(ja[index])" : "vs Japanese has no more tables"
            XCTFail(message)
        }
    }

    func testLinksToFilesAreTheSame() throws {
        for pair in try Chapter.pairs() {
            let en = pair.english.fileLinks.map(\.target), ja = pair.japanese.fileLinks.map(\.target)
            XCTAssertEqual(en, ja, "\(pair.title): links to files differ. English: \(pair.english.fileLinks), Japanese: \(pair.japanese.fileLinks)")
        }
    }

    /// Every relative link in both languages points at a file that exists, a Japanese
    /// chapter links the Japanese version of a chapter, and every #anchor names a heading.
    func testLinksResolve() throws {
        var documents = try Chapter.pairs().flatMap { [$0.english, $0.japanese] }
        documents.append(try Chapter(path: Chapter.japaneseDirectory + "/README.md"))
        documents.append(try Chapter(path: Chapter.repository + "/README.md"))
        for document in documents {
            for link in document.links {
                let (path, anchor) = link.resolved(from: document.directory)
                let target = path ?? document.path
                guard FileManager.default.fileExists(atPath: target) else {
                    XCTFail("\(document.shortPath):\(link.line): the link \(link.raw) points at a missing file \(target)")
                    continue
                }
                if document.isJapanese, let path, path.hasPrefix(Chapter.directory + "/"), !path.hasPrefix(Chapter.japaneseDirectory + "/"),
                   FileManager.default.fileExists(atPath: Chapter.japaneseDirectory + "/" + path.dropFirst(Chapter.directory.count + 1)) {
                    XCTFail("\(document.shortPath):\(link.line): \(link.raw) links the English page; link the Japanese one")
                }
                if let anchor, target.hasSuffix(".md") {
                    let slugs = try Chapter(path: target).headings.map(\.slug)
                    XCTAssertTrue(slugs.contains(anchor),
                                  "\(document.shortPath):\(link.line): the anchor #\(anchor) of \(link.raw) is not a heading of \(target) (headings: \(slugs))")
                }
            }
        }
    }

    /// The Japanese chapters use the glossary's terms: no spelling the glossary lists
    /// as not used appears in their prose (code and inline code are not prose).
    func testJapaneseProseUsesTheGlossaryTerms() throws {
        let readme = try Chapter(path: Chapter.japaneseDirectory + "/README.md")
        let rows = readme.glossaryRows
        let glossary = rows.map(\.entry)
        XCTAssertGreaterThanOrEqual(glossary.count, 20, "Chapters/ja/README.md: the 用語集 table should list the terms (found \(glossary.count))")
        var documents = try Chapter.pairs().map(\.japanese)
        documents.append(readme)
        for document in documents {
            var depth = 0   // 「 opened on an earlier line of the paragraph
            for (number, line) in document.proseLines where !(document.path == readme.path && rows.contains { $0.line == number }) {
                if line.trimmingCharacters(in: .whitespaces).isEmpty { depth = 0 }
                let prose = withoutQuotations(line, depth: &depth)
                for entry in glossary {
                    for avoided in entry.avoided where contains(prose, avoided) {
                        XCTFail("\(document.shortPath):\(number): '\(avoided)' — the glossary's term is '\(entry.term)': \(line)")
                    }
                }
            }
        }
    }

    func testReadmeLinksTheJapaneseChaptersAndTheTrainersGuide() throws {
        let readme = try Chapter(path: Chapter.repository + "/README.md")
        let targets = readme.links.compactMap { $0.resolved(from: readme.directory).path }
        XCTAssertTrue(targets.contains(Chapter.japaneseDirectory + "/README.md"), "README.md should link Chapters/ja/README.md")
        XCTAssertTrue(targets.contains(Chapter.directory + "/TRAINER.md"), "README.md should link Chapters/TRAINER.md")
        let japanese = try Chapter(path: Chapter.japaneseDirectory + "/README.md")
        let japaneseTargets = Set(japanese.links.compactMap { $0.resolved(from: japanese.directory).path })
        for name in try Chapter.englishNames() {
            XCTAssertTrue(japaneseTargets.contains(Chapter.japaneseDirectory + "/" + name), "Chapters/ja/README.md should link ja/\(name)")
        }
        // The Japanese README holds the English one's learner-facing parts: its commands are the same.
        let englishBlocks = readme.codeBlocks.map(\.text)
        for block in japanese.codeBlocks where !englishBlocks.contains(block.text) {
            XCTFail("Chapters/ja/README.md:\(block.line): this code block is not one of README.md's:\n\(block.text)")
        }
    }

    /// The parser itself: a heading inside a code block is not a heading, an indented
    /// fence is a fence, and a changed line is reported with both versions.
    func testTheParserSeesWhatADiffWouldSee() throws {
        let english = Chapter(name: "x.md", path: "/x/x.md", isJapanese: false, text: """
            # Title
            ## Exercise
            ### 1. One
            - item

              ```
              # not a heading
              ```
            ```sh
            echo a
            ```
            [next](../README.md#quick-start)
            """)
        let japanese = Chapter(name: "x.md", path: "/x/ja/x.md", isJapanese: true, text: """
            # 題
            ## 演習
            ### 1. ひとつ
            ```
            # not a heading
            ```
            ```sh
            echo b
            ```
            """)
        XCTAssertEqual(english.headings.map(\.level), [1, 2, 3])
        XCTAssertEqual(english.codeBlocks.map(\.line), [6, 9])
        XCTAssertEqual(english.codeBlocks[0].text, "  ```\n  # not a heading\n  ```")
        XCTAssertEqual(english.exercises, ["1"])
        XCTAssertEqual(japanese.exercises, ["1"])
        XCTAssertEqual(english.fileLinks.map(\.target), ["README.md"])
        let problems = codeBlockDifferences(Pair(name: "x.md", english: english, japanese: japanese))
        XCTAssertEqual(problems.count, 2, "\(problems)")
        XCTAssertTrue(problems.contains { $0.contains("block 2") && $0.contains("echo a") && $0.contains("echo b") }, "\(problems)")
        // An answer page one folder down: its link to the chapter counts as the same file in both languages.
        let answers = Chapter(name: "01.md", path: "/x/solutions/01.md", isJapanese: false,
                              text: "# Answers\n[01](../01-x.md)\n## 1. Break it\n## 2. Extend it\n### not an answer")
        let japaneseAnswers = Chapter(name: "01.md", path: "/x/ja/solutions/01.md", isJapanese: true,
                                      text: "# 解答\n[01](../01-x.md)\n## 1. 壊してみる\n## 2. 拡張してみる")
        XCTAssertEqual(answers.fileLinks.map(\.target), ["x/01-x.md"])
        XCTAssertEqual(japaneseAnswers.fileLinks.map(\.target), ["x/01-x.md"])
        XCTAssertEqual(answers.answeredExercises, ["1", "2"])
        XCTAssertEqual(japaneseAnswers.answeredExercises, ["1", "2"])
        XCTAssertEqual(Heading.slug(of: "`sudo` and Swift"), "sudo-and-swift")
        XCTAssertEqual(Heading.slug(of: "1. 壊してみる: フラグを 1 つ多く"), "1-壊してみる-フラグを-1-つ多く")
    }

    /// A quotation (a line starting with >, or 「…」) keeps its author's words.
    func withoutQuotations(_ line: String, depth: inout Int) -> String {
        if line.hasPrefix(">") { return "" }
        var result = ""
        for character in line {
            if character == "「" { depth += 1 } else if character == "」" { depth = max(0, depth - 1) } else if depth == 0 { result.append(character) }
        }
        return result
    }

    /// Whether `avoided` occurs in `line` as a word of its own: ユーザ is in ユーザ名 but
    /// not in ユーザー (a long-vowel mark after it makes it the glossary's spelling).
    func contains(_ line: String, _ avoided: String) -> Bool {
        var rest = Substring(line)
        while let range = rest.range(of: avoided) {
            if rest[range.upperBound...].first != "ー" { return true }
            rest = rest[range.upperBound...]
        }
        return false
    }

    // MARK: reporting

    /// One message per difference, naming the chapter, the block (number and line in
    /// both files) and the first line that differs.
    func codeBlockDifferences(_ pair: Pair) -> [String] {
        let en = pair.english.codeBlocks, ja = pair.japanese.codeBlocks
        let where_ = pair.title
        if en.count == ja.count {
            return zip(en, ja).enumerated().compactMap { index, blocks in
                let (e, j) = blocks
                guard e.text != j.text else { return nil }
                return "\(where_): code block \(index + 1) (English line \(e.line), Japanese line \(j.line)) differs: "
                    + firstDifference(e.text, j.text)
                    + " (CHAPTER_PARITY_SYNC=1 copies the English blocks)"
            }
        }
        // Different counts: align the blocks (longest common subsequence) and name the odd ones out.
        let matched = commonSubsequence(en.map(\.text), ja.map(\.text))
        var problems = ["\(where_): \(en.count) code blocks in English, \(ja.count) in Japanese"]
        for index in en.indices where !matched.contains(where: { $0.0 == index }) {
            let before = matched.last { $0.0 < index }.map { "after Japanese block \($0.1 + 1) (line \(ja[$0.1].line))" } ?? "before the first block"
            problems.append("\(where_): English code block \(index + 1) (line \(en[index].line)) is not in the Japanese chapter; it belongs \(before):\n\(en[index].text)")
        }
        for index in ja.indices where !matched.contains(where: { $0.1 == index }) {
            problems.append("\(where_): Japanese code block \(index + 1) (line \(ja[index].line)) is not in the English chapter:\n\(ja[index].text)")
        }
        return problems
    }

    func firstDifference(_ a: String, _ b: String) -> String {
        let left = a.components(separatedBy: "\n"), right = b.components(separatedBy: "\n")
        let index = (0..<min(left.count, right.count)).first { left[$0] != right[$0] } ?? min(left.count, right.count)
        let l = index < left.count ? left[index] : "(no line)", r = index < right.count ? right[index] : "(no line)"
        return "line \(index + 1) of the block is\n  English:  \(l)\n  Japanese: \(r)"
    }

    func commonSubsequence(_ a: [String], _ b: [String]) -> [(Int, Int)] {
        var table = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            for j in stride(from: b.count - 1, through: 0, by: -1) {
                table[i][j] = a[i] == b[j] ? table[i + 1][j + 1] + 1 : max(table[i + 1][j], table[i][j + 1])
            }
        }
        var pairs: [(Int, Int)] = [], i = 0, j = 0
        while i < a.count, j < b.count {
            if a[i] == b[j] { pairs.append((i, j)); i += 1; j += 1 } else if table[i + 1][j] >= table[i][j + 1] { i += 1 } else { j += 1 }
        }
        return pairs
    }
}

// MARK: - a small Markdown reader (what the checks need, no more)

struct Pair {
    let name: String
    let english: Chapter
    var japanese: Chapter
    var title: String { "Chapters/\(name) ↔ Chapters/ja/\(name)" }
}

struct Heading: CustomStringConvertible {
    let level: Int
    let text: String
    let line: Int
    var slug: String { Heading.slug(of: text) }
    var description: String { "'\(String(repeating: "#", count: level)) \(text)' (line \(line))" }

    /// GitHub's anchor for a heading: lower case, letters, digits, '-' and '_' kept, spaces to '-'.
    static func slug(of text: String) -> String {
        var slug = ""
        for character in text.lowercased() {
            if character == " " { slug.append("-") } else if character.isLetter || character.isNumber || character == "-" || character == "_" {
                slug.append(character)
            }
        }
        return slug
    }
}

struct Table: CustomStringConvertible {
    let line: Int
    let rows: Int      // body rows, without the header and the |---| line
    let columns: Int
    let firstCell: String
    var shape: [Int] { [rows, columns] }
    var description: String { "at line \(line): \(rows) rows × \(columns) columns, first row '\(firstCell)'" }
}

struct CodeBlock {
    let line: Int
    let text: String   // fence lines included, indentation included
}

struct Link: CustomStringConvertible {
    let raw: String
    let line: Int
    var description: String { "\(raw) (line \(line))" }

    /// The absolute path of the file (nil: this document) and the anchor, or (nil, nil) for a URL.
    func resolved(from directory: String) -> (path: String?, anchor: String?) {
        let parts = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let anchor = parts.count > 1 ? parts[1] : nil
        if parts[0].isEmpty { return (nil, anchor) }
        let path = URL(fileURLWithPath: parts[0], relativeTo: URL(fileURLWithPath: directory + "/")).standardizedFileURL.path
        return (path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path, anchor)
    }
}

struct FileLink: CustomStringConvertible {
    let target: String   // repository-relative; a Japanese chapter's Chapters/ja/X counts as Chapters/X
    let line: Int
    var description: String { "\(target) (line \(line))" }
}

struct GlossaryEntry {
    let term: String
    let avoided: [String]
}

struct Chapter {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let directory = repository + "/Chapters"
    static let japaneseDirectory = directory + "/ja"
    /// The exercises' answers, Chapters/solutions/NN.md (and Chapters/ja/solutions/NN.md).
    static let solutionsFolder = "solutions"

    let name: String
    let path: String
    private(set) var text: String

    /// Whether this is a Japanese document (it is under Chapters/ja).
    let isJapanese: Bool
    var directory: String { (path as NSString).deletingLastPathComponent }
    var shortPath: String { path.hasPrefix(Chapter.repository + "/") ? String(path.dropFirst(Chapter.repository.count + 1)) : path }

    init(name: String, path: String, isJapanese: Bool, text: String) {
        self.name = name
        self.path = path
        self.text = text
        self.isJapanese = isJapanese
    }

    init(path: String) throws {
        self.init(name: (path as NSString).lastPathComponent, path: path,
                  isJapanese: path.hasPrefix(Chapter.japaneseDirectory + "/"),
                  text: try String(contentsOfFile: path, encoding: .utf8))
    }

    static func markdownFiles(in directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".md") }.sorted()
    }

    static func englishNames() throws -> [String] { try markdownFiles(in: directory) }
    static func japaneseNames() throws -> [String] { try markdownFiles(in: japaneseDirectory) }

    /// The answer pages, as "solutions/NN.md" (none if the folder is missing: testEveryAnswerPageHasAJapaneseOne fails then).
    static func englishSolutionNames() throws -> [String] { try solutionNames(in: directory) }
    static func japaneseSolutionNames() throws -> [String] { try solutionNames(in: japaneseDirectory) }
    static func solutionNames(in directory: String) throws -> [String] {
        let folder = directory + "/" + solutionsFolder
        guard FileManager.default.fileExists(atPath: folder) else { return [] }
        return try markdownFiles(in: folder).map { solutionsFolder + "/" + $0 }
    }

    /// The chapters, then the answer pages, that exist in both languages (a missing one is
    /// testEveryEnglishChapterHasAJapaneseOne's or testEveryAnswerPageHasAJapaneseOne's to report).
    static func pairs() throws -> [Pair] {
        try (englishNames() + englishSolutionNames()).filter { FileManager.default.fileExists(atPath: japaneseDirectory + "/" + $0) }.map { name in
            Pair(name: name, english: try Chapter(path: directory + "/" + name), japanese: try Chapter(path: japaneseDirectory + "/" + name))
        }
    }

    var lines: [String] { text.components(separatedBy: "\n") }

    /// Each line with its number (from 1) and the code block it belongs to (nil: prose).
    /// A fence may be indented (a block in a list item); it closes with a line of at
    /// least as many of the same fence characters.
    var classifiedLines: [(number: Int, line: String, block: Int?)] {
        var result: [(Int, String, Int?)] = []
        var fence: String?, block = -1
        for (index, line) in lines.enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if let open = fence {
                result.append((index + 1, line, block))
                if trimmed.hasPrefix(open), trimmed.allSatisfy({ $0 == open.first }) { fence = nil }
            } else if trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~") {
                let marker = trimmed.first!
                fence = String(trimmed.prefix { $0 == marker })
                block += 1
                result.append((index + 1, line, block))
            } else {
                result.append((index + 1, line, nil))
            }
        }
        return result
    }

    /// The fenced code blocks, fence lines and indentation included.
    var codeBlocks: [CodeBlock] {
        var blocks: [CodeBlock] = []
        for (number, line, block) in classifiedLines {
            guard let block else { continue }
            if block == blocks.count {
                blocks.append(CodeBlock(line: number, text: line))
            } else {
                blocks[block] = CodeBlock(line: blocks[block].line, text: blocks[block].text + "\n" + line)
            }
        }
        return blocks
    }

    var headings: [Heading] {
        classifiedLines.compactMap { number, line, block in
            guard block == nil, line.hasPrefix("#") else { return nil }
            let level = line.prefix { $0 == "#" }.count
            guard level <= 6, line.dropFirst(level).first == " " else { return nil }
            let text = line.dropFirst(level + 1).trimmingCharacters(in: .whitespaces)
            return Heading(level: level, text: text.replacingOccurrences(of: "`", with: ""), line: number)
        }
    }

    /// The exercises: the numbers of the level-3 headings under the "Exercise" (演習)
    /// section ("1", "2"…; a heading without a number counts as its position).
    var exercises: [String] {
        var inside = false, result: [String] = []
        for heading in headings {
            if heading.level <= 2 {
                inside = heading.level == 2 && (heading.text.hasPrefix("Exercise") || heading.text.hasPrefix("演習"))
            } else if inside, heading.level == 3 {
                let number = heading.text.prefix { $0.isNumber }
                result.append(number.isEmpty ? "#\(result.count + 1)" : String(number))
            }
        }
        return result
    }

    /// The exercises an answer page answers: the numbers of its level-2 headings that start with one.
    var answeredExercises: [String] {
        headings.filter { $0.level == 2 }.map { String($0.text.prefix { $0.isNumber }) }.filter { !$0.isEmpty }
    }

    var answerCount: Int { classifiedLines.filter { $0.block == nil && $0.line.trimmingCharacters(in: .whitespaces).hasPrefix("<details") }.count }

    /// Markdown tables outside code blocks: consecutive lines starting with "|" (indented in a list too).
    var tables: [Table] {
        var result: [Table] = []
        var current: [(Int, String)] = []
        func finish() {
            if current.count >= 2 {
                let header = current[0].1.trimmingCharacters(in: .whitespaces)
                // Columns: the |---|---| line counts them without tripping on "\|" inside cells.
                let columns = current[1].1.filter { $0 == "|" }.count - 1
                let body = current.dropFirst(2)
                let first = body.first.map { $0.1.trimmingCharacters(in: .whitespaces) } ?? header
                result.append(Table(line: current[0].0, rows: body.count, columns: columns, firstCell: String(first.prefix(40))))
            }
            current = []
        }
        for (number, line, block) in classifiedLines {
            if block == nil, line.trimmingCharacters(in: .whitespaces).hasPrefix("|") {
                current.append((number, line))
            } else {
                finish()
            }
        }
        finish()
        return result
    }

    /// Prose lines (outside code blocks) with inline code removed.
    var proseLines: [(Int, String)] {
        classifiedLines.filter { $0.block == nil }.map { number, line, _ in
            (number, line.split(separator: "`", omittingEmptySubsequences: false).enumerated()
                .filter { $0.offset % 2 == 0 }.map { String($0.element) }.joined())
        }
    }

    /// Markdown links [text](target) in prose: URLs and mail addresses are not file links.
    var links: [Link] {
        var result: [Link] = []
        for (number, line) in proseLines {
            var rest = Substring(line)
            while let close = rest.range(of: "](") {
                let after = rest[close.upperBound...]
                guard let end = after.firstIndex(of: ")") else { break }
                let target = String(after[..<end]).trimmingCharacters(in: .whitespaces)
                if !target.contains("://"), !target.hasPrefix("mailto:") { result.append(Link(raw: target, line: number)) }
                rest = after[end...]
            }
        }
        return result
    }

    /// The directory of the English chapters (for a Japanese chapter, the one above ja/; for an answer page,
    /// the one above solutions/).
    var chaptersDirectory: String {
        var result = directory
        if (result as NSString).lastPathComponent == Chapter.solutionsFolder { result = (result as NSString).deletingLastPathComponent }
        if isJapanese, (result as NSString).lastPathComponent == "ja" { result = (result as NSString).deletingLastPathComponent }
        return result
    }

    /// Links to files, as paths relative to the repository (the directory above the
    /// chapters); a link to Chapters/ja/X counts as one to Chapters/X.
    var fileLinks: [FileLink] {
        let root = (chaptersDirectory as NSString).deletingLastPathComponent
        return links.compactMap { link in
            guard var path = link.resolved(from: directory).path else { return nil }
            if path.hasPrefix(chaptersDirectory + "/ja/") { path = chaptersDirectory + "/" + path.dropFirst(chaptersDirectory.count + 4) }
            let prefix = root.hasSuffix("/") ? root : root + "/"
            return FileLink(target: path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path, line: link.line)
        }
    }

    /// The 用語集 table: | 用語 | English | 使わない表記 | … |, the avoided spellings
    /// separated by 、 (— for none), with the line numbers of its rows.
    var glossaryRows: [(line: Int, entry: GlossaryEntry)] {
        var inGlossary = false, result: [(Int, GlossaryEntry)] = []
        for (number, line, block) in classifiedLines where block == nil {
            if line.hasPrefix("#") { inGlossary = line.contains("用語集"); continue }
            guard inGlossary, line.hasPrefix("|"), !line.hasPrefix("|---"), !line.contains("使わない表記") else { continue }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 4 else { continue }
            let avoided = cells[3].split(separator: "、").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && $0 != "—" }
            result.append((number, GlossaryEntry(term: cells[1], avoided: avoided)))
        }
        return result
    }

    /// Replaces the code blocks one for one (the caller checked the counts) and writes the file.
    mutating func replaceCodeBlocks(with replacements: [CodeBlock]) throws {
        var output: [String] = []
        var lines = self.lines[...]
        var number = 1
        for (old, new) in zip(codeBlocks, replacements) {
            while number < old.line { output.append(lines.removeFirst()); number += 1 }
            let count = old.text.components(separatedBy: "\n").count
            lines.removeFirst(count)
            number += count
            output.append(new.text)
        }
        output.append(contentsOf: lines)
        text = output.joined(separator: "\n")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
