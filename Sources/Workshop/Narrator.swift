import Glibc

/// Tells the learner, on stderr, what the step just did and how to look at it
/// from the host. stdout belongs to the container's command. `--quiet` silences it.
public struct Narrator {
    public let step: String
    public let quiet: Bool
    private let color: Bool

    /// A step's narrator, named after the calling step (see `stepName(fileID:)`).
    public init(quiet: Bool, fileID: String = #fileID) {
        self.init(step: stepName(fileID: fileID), quiet: quiet)
    }

    public init(step: String, quiet: Bool) {
        self.step = step
        self.quiet = quiet
        self.color = isatty(STDERR_FILENO) == 1 && environment("NO_COLOR") == nil
    }

    /// What the step did: "step02 ▸ clone(...)".
    public func say(_ line: String) {
        guard !quiet else { return }
        let tag = String(step.prefix(6))
        writeLine(to: STDERR_FILENO, color ? "\u{1B}[36m\(tag) ▸\u{1B}[0m \(line)" : "\(tag) ▸ \(line)")
    }

    /// How to look at it from the host, in a second terminal.
    public func look(_ command: String) {
        guard !quiet else { return }
        let line = "  host$ \(command)"
        writeLine(to: STDERR_FILENO, color ? "\u{1B}[2m\(line)\u{1B}[0m" : line)
    }

    /// A line printed even with --quiet (summaries the learner asked for).
    public func always(_ line: String) {
        writeLine(to: STDERR_FILENO, line)
    }
}
