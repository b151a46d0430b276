import AttackMatrix
import Foundation
import XCTest

/// The attack matrix (Sources/AttackMatrix), asserted both ways: every attack gets
/// through in each step before the layer that stops it (or on the host itself, for
/// defences every step has) and fails from that step through step08. Whether it got
/// through is seen from the host: a marker the payload left, a host value, a host process.
final class AttackMatrixTests: StepTestCase {
    /// One lab (test directory, probe built with gcc -static, probe image) for the whole class.
    nonisolated(unsafe) private static var sharedLab: Lab?

    private static func lab() throws -> Lab {
        if let sharedLab { return sharedLab }
        let lab = try Lab(binaryDirectory: binaryDirectory.path, home: testHome, cgroupParent: testCgroupParent)
        sharedLab = lab
        return lab
    }

    override class func tearDown() {
        sharedLab?.close()
        sharedLab = nil
        super.tearDown()
    }

    private var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Runs one attack in every column it applies to and checks each cell against the matrix.
    private func check(_ id: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let attack = try XCTUnwrap(AttackMatrix.attack(id), "no attack \(id)", file: file, line: line)
        let lab = try Self.lab()
        if let reason = attack.preconditionFailure(in: lab) {
            // Never a vacuous pass: here the row cannot run, so it proves nothing.
            if isCI { return XCTFail("\(id) cannot run on this machine: \(reason)", file: file, line: line) }
            throw XCTSkip("\(id): n/a here: \(reason)")
        }
        for cell in attack.evaluate(in: Array(attack.columns), lab: lab) {
            let label = "\(id) in \(Lab.label(cell.column))"
            guard let verdict = cell.verdict else {
                XCTFail("\(label): \(cell.problem ?? "no verdict")", file: file, line: line)
                continue
            }
            switch verdict {
            case .gotThrough(let detail):
                XCTAssertEqual(cell.expected, true,
                               "\(label) got through, but \(attack.stopLabel) must stop it: \(detail)", file: file, line: line)
            case .blocked(let detail):
                XCTAssertEqual(cell.expected, false,
                               "\(label) was blocked, but the matrix says it gets through until \(attack.stopLabel) "
                               + "(a layer that stops it earlier: update stoppedBy in Sources/AttackMatrix/Attacks.swift "
                               + "and regenerate chapter 08's table): \(detail)",
                               file: file, line: line)
            case .notApplicable(let reason):
                XCTAssertFalse(isCI, "\(label) could not run: \(reason)", file: file, line: line)
            }
        }
    }

    // One test per attack, so a failure names it (testEveryAttackHasATest keeps the list whole).
    static let tested = ["tiocsti", "inherited-fd", "host-uts", "kill-host-process", "ptrace-host-process", "proc-pid-root",
                         "setuid-layer", "chroot-escape", "masked-proc", "core-pattern-write", "nofile", "mknod-disk", "devices-after-leaving",
                         "masked-proc-umount", "core-pattern", "new-proc", "new-sysfs", "release-agent", "leave-cgroup",
                         "open-by-handle", "host-clock", "nested-userns", "keyctl", "personality", "vsock"]

    func testTIOCSTI() throws { try check("tiocsti") }
    func testInheritedDescriptor() throws { try check("inherited-fd") }
    func testHostUTS() throws { try check("host-uts") }
    func testKillHostProcess() throws { try check("kill-host-process") }
    func testPtraceHostProcess() throws { try check("ptrace-host-process") }
    func testProcPidRoot() throws { try check("proc-pid-root") }
    func testSetuidInLayer() throws { try check("setuid-layer") }
    func testChrootEscape() throws { try check("chroot-escape") }
    func testMaskedProc() throws { try check("masked-proc") }
    func testCorePatternWrite() throws { try check("core-pattern-write") }
    func testNofile() throws { try check("nofile") }
    func testMknodDisk() throws { try check("mknod-disk") }
    func testDevicesAfterLeavingTheGroup() throws { try check("devices-after-leaving") }
    func testMaskedProcUmount() throws { try check("masked-proc-umount") }
    func testCorePattern() throws { try check("core-pattern") }
    func testNewProc() throws { try check("new-proc") }
    func testNewSysfs() throws { try check("new-sysfs") }
    func testReleaseAgent() throws {
        try check("release-agent")
        XCTAssertFalse(namedHierarchyExists(releaseAgentHierarchy), "the payload's cgroup v1 hierarchy outlived the test")
    }
    func testLeaveCgroup() throws { try check("leave-cgroup") }
    func testOpenByHandle() throws { try check("open-by-handle") }
    func testHostClock() throws { try check("host-clock") }
    func testNestedUserNamespace() throws { try check("nested-userns") }
    func testKeyctl() throws { try check("keyctl") }
    func testPersonality() throws { try check("personality") }
    func testVsock() throws { try check("vsock") }

    func testEveryAttackHasATest() {
        XCTAssertEqual(Set(Self.tested), Set(AttackMatrix.attacks.map(\.id)), "AttackMatrixTests.tested vs AttackMatrix.attacks' ids (one test per attack)")
        XCTAssertEqual(Self.tested.count, Set(Self.tested).count, "AttackMatrixTests.tested: entries vs distinct ids (no attack listed twice)")
    }

    /// The matrix itself: enough rows, each asserted both ways (a column where it must
    /// get through, and the stopping step where it must fail).
    func testEveryRowCutsBothWays() {
        XCTAssertGreaterThanOrEqual(AttackMatrix.attacks.count, 15, "AttackMatrix: the number of attacks")
        for attack in AttackMatrix.attacks {
            XCTAssertTrue((1...8).contains(attack.stoppedBy) || attack.stoppedBy == Attack.notStoppedYet,
                          "AttackMatrix \(attack.id): stoppedBy: expected a step 1...8 or notStoppedYet, saw \(attack.stoppedBy)")
            XCTAssertEqual(attack.expectsSuccess(in: attack.stoppedBy - 1), true,
                           "\(attack.id): nothing shows it working right before \(attack.stopLabel)")
            // A known hole (no step stops it yet) is asserted one way: it gets through in step08.
            if attack.isStopped {
                XCTAssertEqual(attack.expectsSuccess(in: attack.stoppedBy), false, "AttackMatrix \(attack.id): expected to get through in \(attack.stopLabel), which stops it")
            }
        }
    }

    /// Chapter 08's "what each layer stops" table lists the same attacks, stopped by the same steps.
    func testChapter08TableMatchesTheMatrix() throws {
        let chapter = try String(contentsOf: packageDirectory.appendingPathComponent("Chapters/08-seccomp.md"), encoding: .utf8)
        let rows = MatrixTable.parse(markdown: chapter)
        XCTAssertEqual(rows.map(\.id), AttackMatrix.attacks.map(\.id),
                       "regenerate the table: swift run workshop attacks --markdown")
        for row in rows {
            XCTAssertEqual(row.stoppedBy, AttackMatrix.attack(row.id)?.stoppedBy, "chapter 08 says \(row.id) stops at step\(row.stoppedBy)")
        }
        XCTAssertTrue(chapter.contains(MatrixTable.markdown()), "the table differs from `workshop attacks --markdown`")
    }

    /// `workshop attacks` as a trainer runs it: the live matrix for one row, and one-line errors.
    func testWorkshopAttacksCommand() throws {
        let run = try workshop(["attacks", "--only", "host-clock"])
        XCTAssertEqual(run.status, 0, "workshop attacks --only host-clock: exit status: \(run.stderr + run.stdout)")
        let row = run.stdout.split(separator: "\n").first { $0.hasPrefix("host-clock") }.map(String.init) ?? ""
        let symbols = row.split(separator: " ").dropFirst().prefix(9)
        XCTAssertEqual(Array(symbols), ["·", "✗", "✗", "✗", "✗", "✗", "✓", "✓", "✓"], "workshop attacks: the host-clock row (host, step01..08): \(run.stdout)")
        let unknown = try workshop(["attacks", "--only", "nosuch"])
        XCTAssertEqual(unknown.status, 64, "workshop attacks --only nosuch: exit status (usage error): \(unknown.stderr)")
        XCTAssertEqual(unknown.stderr.split(separator: "\n").count, 1, "workshop attacks --only nosuch: lines on stderr (one clear line): \(unknown.stderr)")
        let nosuch = try workshop(["nosuch"])
        XCTAssertEqual(nosuch.status, 64, "workshop nosuch: exit status (usage error): \(nosuch.stderr)")
        let list = try workshop(["attacks", "--list"])
        XCTAssertEqual(list.stdout.split(separator: "\n").count, AttackMatrix.attacks.count + 1, "workshop attacks --list: lines (a header and one per attack): \(list.stdout)")
    }

    /// The command has teeth: with step01 posing as step02, the host's name changes from "step02"
    /// and `workshop attacks` says so and fails.
    func testWorkshopAttacksFailsWhenALayerIsMissing() throws {
        let directory = NSTemporaryDirectory() + "workshop-broken-steps-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for name in ["workshop"] + steps(from: 1) {
            let source = name == "step02-namespaces" ? "step01-clone" : name
            try FileManager.default.copyItem(atPath: binaryDirectory.appendingPathComponent(source).path,
                                             toPath: directory + "/" + name)
        }
        let run = try workshop(["attacks", "--only", "host-uts"], in: directory)
        XCTAssertEqual(run.status, 1, "workshop attacks with step01 posing as step02: exit status (a missing layer fails): \(run.stdout + run.stderr)")
        XCTAssertTrue(run.stdout.contains("✗! host-uts step02: got through"),
                      "workshop attacks with step01 posing as step02: expected '✗! host-uts step02: got through', saw \(run.stdout)")
    }

    private func workshop(_ arguments: [String], in directory: String? = nil) throws -> RunResult {
        let path = directory.map { $0 + "/workshop" } ?? binaryDirectory.appendingPathComponent("workshop").path
        var env = ProcessInfo.processInfo.environment
        env["WORKSHOP_HOME"] = testHome
        env["WORKSHOP_CGROUP_PARENT"] = testCgroupParent
        return try runHostCommand([path] + arguments, environment: env)
    }
}
