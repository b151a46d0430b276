import Glibc

/// An error the runtime reports as one clear line, with a Docker-like exit code.
public struct Failure: Error, CustomStringConvertible {
    public var message: String
    public var exitCode: Int32

    public init(_ message: String, exitCode: Int32 = Failure.runtimeExitCode) {
        self.message = message
        self.exitCode = exitCode
    }

    public var description: String { message }

    /// Exit codes, as `docker run` uses them.
    public static let usageExitCode: Int32 = 64          // EX_USAGE: bad flags or values
    public static let runtimeExitCode: Int32 = 125       // the runtime itself failed
    public static let cannotExecuteExitCode: Int32 = 126 // the command exists but cannot run
    public static let notFoundExitCode: Int32 = 127      // the command does not exist

    public static func usage(_ message: String) -> Failure { Failure(message, exitCode: usageExitCode) }
}

/// A failed system call, remembered with what the runtime was trying to do.
public struct SystemCallError: Error, CustomStringConvertible {
    public var action: String
    public var code: Int32

    public init(_ action: String, errno code: Int32 = errno) {
        self.action = action
        self.code = code
    }

    public var description: String { "\(action): \(String(cString: strerror(code)))" }
}

/// Runs a system call wrapper that returns -1 on failure and throws its errno with context.
@discardableResult
public func check<T: BinaryInteger>(_ result: T, _ action: @autoclosure () -> String) throws -> T {
    if result == -1 { throw SystemCallError(action()) }
    return result
}

/// What to undo if the runtime stops early: newest first. Single-threaded by design.
public enum Cleanup {
    nonisolated(unsafe) private static var actions: [(id: Int, run: () -> Void)] = []
    nonisolated(unsafe) private static var nextID = 0

    /// Registers an undo action; returns a token to cancel it once done normally.
    @discardableResult
    public static func push(_ action: @escaping () -> Void) -> Int {
        nextID += 1
        actions.append((nextID, action))
        return nextID
    }

    public static func cancel(_ id: Int) { actions.removeAll { $0.id == id } }

    /// Runs every registered action, newest first.
    public static func runAll() {
        while let last = actions.popLast() { last.run() }
    }
}

/// Runs the step's body; any error becomes one line on stderr and a Docker-like exit code.
/// Registered clean-up actions run first, so a failure leaves nothing behind.
public func exitOnFailure(fileID: String = #fileID, _ body: () throws -> Never) -> Never {
    exitOnFailure(step: stepName(fileID: fileID), body)
}

public func exitOnFailure(step: String, _ body: () throws -> Never) -> Never {
    do {
        try body()
    } catch {
        Cleanup.runAll()
        let code: Int32
        let message: String
        switch error {
        case let failure as Failure: (code, message) = (failure.exitCode, failure.message)
        case let failure as SystemCallError: (code, message) = (Failure.runtimeExitCode, failure.description)
        default: (code, message) = (Failure.runtimeExitCode, "\(error)")
        }
        writeLine(to: STDERR_FILENO, "\(step): error: \(message)")
        exit(code)
    }
}

/// Stops with a clear message unless running as root (every step needs it).
public func requireRoot(fileID: String = #fileID) throws {
    try requireRoot(step: stepName(fileID: fileID))
}

public func requireRoot(step: String) throws {
    if geteuid() != 0 {
        throw Failure("must be run as root (try: sudo swift run \(step) ...)")
    }
}

/// Normal end of a step: undo what the runtime set up (cgroup, run directory), then exit with the container's status.
public func finish(_ status: Int32) -> Never {
    Cleanup.runAll()
    exit(status)
}
