/// The layer markers in the step files, and the cutter that turns a reference step into the
/// learner's starting point for its chapter (issue 14's `workshop start NN`).
///
/// Markers (every later step keeps them, so each layer stays findable):
///
///     // [step05] what this layer does          opens step05's block (the text becomes the TODO)
///     // [step05 stub] let x: T? = nil          the code the starting point has instead (only inside the block)
///     // [/step05]                              closes it
///     some code   // [step05] what it is        one line of step05 (consecutive lines are one region)
///
/// Blocks nest: a later step's block may sit inside an earlier one's. Cutting step N drops its
/// blocks (with everything inside, including later steps' blocks) and its single lines, puts a
/// TODO block where each was, and turns step N's stubs back into code, so the result builds.
public enum LayerMarkers {
    enum Line {
        case open(step: Int, text: String, indent: String)
        case close(step: Int)
        case stub(step: Int, code: String, indent: String)
        case single(step: Int, text: String, indent: String)
        case plain
    }

    static func parse(_ line: String) -> Line {
        let indent = String(line.prefix { $0 == " " })
        let body = line.dropFirst(indent.count)
        if body.hasPrefix("// [/step"), let close = body.dropFirst(9).split(separator: "]").first, let n = Int(close) {
            return .close(step: n)
        }
        if body.hasPrefix("// [step") {
            let rest = body.dropFirst(8)
            let digits = rest.prefix { $0.isNumber }
            guard let n = Int(digits) else { return .plain }
            let after = rest.dropFirst(digits.count)
            if after.hasPrefix(" stub] ") { return .stub(step: n, code: String(after.dropFirst(7)), indent: indent) }
            if after.hasPrefix("]") { return .open(step: n, text: trimmed(after.dropFirst()), indent: indent) }
            return .plain
        }
        // a trailing marker: code, then "// [stepNN]" and an optional text
        if let start = lastIndex(of: "// [step", in: line), line[..<start].contains(where: { $0 != " " }) {
            let rest = line[start...].dropFirst(8)
            let digits = rest.prefix { $0.isNumber }
            if let n = Int(digits), rest.dropFirst(digits.count).hasPrefix("]") {
                return .single(step: n, text: trimmed(rest.dropFirst(digits.count + 1)), indent: indent)
            }
        }
        return .plain
    }

    /// Where `needle` last starts in `line` (no Foundation in Workshop).
    static func lastIndex(of needle: String, in line: String) -> String.Index? {
        var found: String.Index? = nil
        var index = line.startIndex
        while index < line.endIndex {
            if line[index...].hasPrefix(needle) { found = index }
            index = line.index(after: index)
        }
        return found
    }

    static func trimmed(_ text: Substring) -> String {
        String(text.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }

    /// True for the lines `startingPoint` writes in place of a region.
    public static func isTODO(_ line: String) -> Bool {
        let body = line.drop { $0 == " " }
        return body.hasPrefix("// TODO(step") || body.hasPrefix("//   ")
    }

    /// The regions of `step` in `source`: each one's lines, markers included (a block), or the single lines.
    public static func regions(of step: Int, in source: String) -> [[String]] {
        var result: [[String]] = []
        var current: [String]? = nil
        var depth = 0            // > 0: inside one of `step`'s blocks
        var singles = false      // the current region is a run of single lines
        for line in source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            let kind = parse(line)
            if depth > 0 {
                current!.append(line)
                if case .open = kind { depth += 1 }
                if case .close = kind { depth -= 1; if depth == 0 { result.append(current!); current = nil } }
                continue
            }
            switch kind {
            case .open(let n, _, _) where n == step:
                if singles { result.append(current!); singles = false }
                current = [line]; depth = 1
            case .single(let n, _, _) where n == step:
                if !singles { current = []; singles = true }
                current!.append(line)
            default:
                if singles { result.append(current!); current = nil; singles = false }
            }
        }
        if singles, let current { result.append(current) }
        return result
    }

    /// The learner's starting point for `step`: the reference step with that step's regions cut out,
    /// each replaced by a TODO block naming the chapter, and its stubs made code. A block's own comments
    /// (what each move does, and why) stay in its TODO; its code is what the learner writes.
    public static func startingPoint(of source: String, step: Int, chapter: String) -> String {
        let tag = "step" + (step < 10 ? "0" : "") + String(step)
        let see = "//   (see \(chapter), \"Walk through the new code\")"
        var output: [String] = []
        var depth = 0
        var inSingles = false
        var blockIndent = ""
        var stubs: [String] = []   // the block's stubs, written after its TODO
        for line in source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            let kind = parse(line)
            if depth > 0 {
                switch kind {
                case .open: depth += 1
                case .close:
                    depth -= 1
                    if depth == 0 { output += [blockIndent + see] + stubs }
                case .stub(let n, let code, let indent) where n == step && depth == 1:
                    stubs.append(indent + code)
                case .plain where depth == 1:
                    // A comment line of the block's own: the learner's guide to what to write.
                    let body = line.drop { $0 == " " }
                    if body.hasPrefix("//") {
                        let text = body.dropFirst(2)
                        output.append(blockIndent + "//   " + (text.hasPrefix(" ") ? text.dropFirst() : text))
                    }
                default: break
                }
                continue
            }
            switch kind {
            case .open(let n, let text, let indent) where n == step:
                output.append(indent + "// TODO(\(tag)): " + text)
                blockIndent = indent
                stubs = []
                depth = 1
                inSingles = false
            case .single(let n, let text, let indent) where n == step:
                if !inSingles {
                    output += [indent + "// TODO(\(tag)): " + (text.isEmpty ? singleLineTask(line) : text), indent + see]
                }
                inSingles = true
            default:
                output.append(line)
                inSingles = false
            }
        }
        return output.joined(separator: "\n")
    }

    /// What an unexplained marked line is for: the narration (plumbing) names its call.
    static func singleLineTask(_ line: String) -> String {
        let code = line.drop { $0 == " " }
        if code.hasPrefix("narrator."), let open = code.firstIndex(of: "(") {
            return "tell the learner what the layer did: \(code[..<open])(…) (Workshop/Narration.swift)"
        }
        return "write this line"
    }
}
