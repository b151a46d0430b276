import Foundation

/// What an attack did in one column, judged from outside the container.
public enum Verdict: Equatable {
    case gotThrough(String)
    case blocked(String)
    /// The attack cannot be tried here (a kernel without the feature, no terminal...): the reason.
    case notApplicable(String)

    public var detail: String {
        switch self {
        case .gotThrough(let text), .blocked(let text), .notApplicable(let text): return text
        }
    }
}

/// One attack: the single source of truth the tests, `workshop attacks` and
/// chapter 08's table are all checked against.
public struct Attack {
    public let id: String
    /// One line: what the attacker does.
    public let summary: String
    /// The first step that stops it (`Attack.notStoppedYet`: none does yet), and the layer that does, in words.
    public let stoppedBy: Int
    public let layer: String
    /// The first column where it applies: 0 the host itself (the same payload with no
    /// runtime: for defences present from step01 on), 1...8 a step.
    public let firstColumn: Int
    /// Why it cannot run on this machine at all, or nil.
    let precondition: (Lab) -> String?
    /// Runs the payload in a column and observes the result from the host.
    /// Throws when the run itself broke (the runtime failed): that is never "blocked".
    let attempt: (Lab, Int) throws -> Verdict
    /// Steps before `stoppedBy` where something else already stops it, and what:
    /// asserted like every other cell, so the side effect is on record.
    public var alsoStoppedIn: [Int: String] = [:]

    public var columns: ClosedRange<Int> { firstColumn...8 }

    /// No step stops it yet: it gets through everywhere, and the matrix says so (a known hole, not a pass).
    public static let notStoppedYet = 9
    public var isStopped: Bool { stoppedBy <= 8 }

    /// What the matrix promises for COLUMN: true "got through", false "blocked", nil n/a.
    public func expectsSuccess(in column: Int) -> Bool? {
        columns.contains(column) ? column < stoppedBy && alsoStoppedIn[column] == nil : nil
    }

    public func preconditionFailure(in lab: Lab) -> String? { precondition(lab) }

    /// Tries the attack in COLUMN: n/a outside its columns or without its precondition.
    public func run(in column: Int, lab: Lab) throws -> Verdict {
        guard columns.contains(column) else { return .notApplicable("before \(Lab.label(firstColumn))") }
        if let reason = precondition(lab) { return .notApplicable(reason) }
        return try attempt(lab, column)
    }
}

/// The run broke before the probe could answer (the runtime failed, the probe is missing...).
struct BrokenRun: Error, CustomStringConvertible {
    let description: String
    init(_ column: Int, _ outcome: Outcome) {
        description = "\(Lab.label(column)): the run broke (\(outcome.summary))"
    }
    init(_ text: String) { description = text }
}

/// The probe's exit status is the observation: 0 through, 1 refused.
func byExitStatus(_ column: Int, _ outcome: Outcome) throws -> Verdict {
    guard outcome.probeAnswered else { throw BrokenRun(column, outcome) }
    return outcome.status == 0 ? .gotThrough(outcome.summary) : .blocked(outcome.summary)
}
