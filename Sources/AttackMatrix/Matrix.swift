import Foundation

/// One cell of the matrix as it was run.
public struct Cell {
    public let column: Int
    /// nil: the run broke (`problem` says how).
    public let verdict: Verdict?
    public let problem: String?
    /// What the matrix promises here: true got through, false blocked, nil n/a.
    public let expected: Bool?

    /// The attack got through where the matrix says a layer stops it.
    public var isBreach: Bool {
        if case .gotThrough = verdict, expected == false { return true }
        return false
    }
    /// Blocked where the matrix says it still works: the row's baseline is wrong, or the
    /// attack no longer works for some other reason (then its "stopped" cells prove nothing).
    public var isStaleBaseline: Bool {
        if case .blocked = verdict, expected == true { return true }
        return false
    }
    public var agrees: Bool { problem == nil && !isBreach && !isStaleBaseline }

    public var symbol: String {
        guard let verdict else { return "!" }
        switch verdict {
        case .gotThrough: return isBreach ? "✗!" : "✗"
        case .blocked: return isStaleBaseline ? "✓?" : "✓"
        case .notApplicable: return "·"
        }
    }
}

extension Attack {
    /// Runs the attack in each of COLUMNS (n/a outside its own) and judges each result.
    public func evaluate(in columns: [Int], lab: Lab) -> [Cell] {
        columns.map { column in
            do {
                return Cell(column: column, verdict: try run(in: column, lab: lab), problem: nil,
                            expected: expectsSuccess(in: column))
            } catch {
                return Cell(column: column, verdict: nil, problem: "\(error)", expected: expectsSuccess(in: column))
            }
        }
    }

    /// "step06 no CAP_SYS_ADMIN"
    public var stopLabel: String { isStopped ? "\(Lab.label(stoppedBy)) \(layer)" : "not stopped yet (\(layer))" }
}

/// The printed matrix: one line per attack, one column per step.
public enum MatrixTable {
    static let idWidth = AttackMatrix.attacks.map(\.id.count).max() ?? 20

    public static func header(columns: [Int]) -> String {
        "attack".padding(toLength: idWidth + 2, withPad: " ", startingAt: 0)
            + columns.map { Lab.label($0).padding(toLength: 7, withPad: " ", startingAt: 0) }.joined()
            + "stopped by"
    }

    public static func line(_ attack: Attack, _ cells: [Cell]) -> String {
        attack.id.padding(toLength: idWidth + 2, withPad: " ", startingAt: 0)
            + cells.map { cell in "  " + cell.symbol.padding(toLength: 5, withPad: " ", startingAt: 0) }.joined()
            + attack.stopLabel
    }

    /// The matrix as the design says it must come out, without running anything.
    public static func expectedLine(_ attack: Attack, columns: [Int]) -> String {
        attack.id.padding(toLength: idWidth + 2, withPad: " ", startingAt: 0)
            + columns.map { column -> String in
                let symbol = attack.expectsSuccess(in: column).map { $0 ? "✗" : "✓" } ?? "·"
                return "  " + symbol.padding(toLength: 5, withPad: " ", startingAt: 0)
            }.joined()
            + attack.stopLabel
    }

    public static let legend = "✓ blocked   ✗ got through   · n/a   ✗! got through where the matrix says it is stopped   "
        + "✓? blocked where it should still work   ! the run broke"

    /// Chapter 08's table, generated from the matrix (`workshop attacks --markdown`).
    public static func markdown() -> String {
        var lines = ["| attack | what the attacker does | stopped from | by |", "|---|---|---|---|"]
        for attack in AttackMatrix.attacks {
            let summary = attack.summary.replacingOccurrences(of: "|", with: "\\|")
            let step = attack.isStopped ? Lab.label(attack.stoppedBy) : "not yet"
            lines.append("| `\(attack.id)` | \(summary) | \(step) | \(attack.layer) |")
        }
        return lines.joined(separator: "\n")
    }

    /// Reads such a table back: (id, stopping step) for each row.
    public static func parse(markdown: String) -> [(id: String, stoppedBy: Int)] {
        markdown.split(separator: "\n").compactMap { line -> (String, Int)? in
            let cells = line.split(separator: "|", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 5, cells[1].hasPrefix("`"), cells[1].hasSuffix("`") else { return nil }
            let id = String(cells[1].dropFirst().dropLast())
            if cells[3] == "not yet" { return (id, Attack.notStoppedYet) }
            guard cells[3].hasPrefix("step"), let step = Int(cells[3].dropFirst(4)) else { return nil }
            return (id, step)
        }
    }
}
