import Foundation
import XCTest

/// `workshop doctor`: the preflight a learner runs first (chapter 00).
final class WorkshopCommandTests: StepTestCase {
    private func doctor(_ arguments: [String] = [], environment: [String: String] = [:]) throws -> RunResult {
        let process = Process()
        process.executableURL = binaryDirectory.appendingPathComponent("workshop")
        process.arguments = ["doctor"] + arguments
        var env = ProcessInfo.processInfo.environment
        env["WORKSHOP_HOME"] = testHome
        env["WORKSHOP_ALPINE_TARBALL"] = alpineTarball
        for (key, value) in environment { env[key] = value }
        process.environment = env.filter { !$0.value.isEmpty }   // "" unsets
        process.standardInput = FileHandle.nullDevice
        let running = RunningStep(process)
        try process.run()
        running.startReading()
        return running.wait(timeout: 60)
    }

    private func line(_ output: String, _ name: String) -> String? {
        output.split(separator: "\n").map(String.init).last { $0.dropFirst(2).hasPrefix(name) }
    }

    func testDoctorPassesOnThisMachine() throws {
        let result = try doctor()
        XCTAssertEqual(result.status, 0, "workshop doctor: \(result.stdout)\(result.stderr)")
        for name in ["root", "kernel", "cgroup", "overlayfs", "user namespaces", "seccomp", "libarchive", "alpine image", "disk"] {
            XCTAssertEqual(line(result.stdout, name)?.first, "✓", "\(name): \(result.stdout)")
        }
        XCTAssertTrue(result.stdout.contains("every chapter can run here"), result.stdout)
        XCTAssertFalse(result.stdout.contains("✗"), result.stdout)
    }

    func testDoctorNamesAMissingTarballAndItsFix() throws {
        let result = try doctor(environment: ["WORKSHOP_ALPINE_TARBALL": "/nonexistent/alpine-minirootfs-3.20.3-x86_64.tar.gz"])
        XCTAssertEqual(result.status, 1, result.stdout)
        let alpine = line(result.stdout, "alpine image") ?? ""
        XCTAssertTrue(alpine.hasPrefix("✗") && alpine.contains("no such file"), result.stdout)
        XCTAssertTrue(result.stdout.contains("fix: sudo swift run workshop doctor --tarball"), result.stdout)
    }

    func testDoctorReadsTheKernelsSettings() throws {
        // Stand-ins for /proc/sys files (WORKSHOP_DOCTOR_ROOT, for the tests only): an old kernel,
        // user namespaces switched off, Ubuntu's AppArmor restriction.
        let root = testHome + "/doctor-root-\(getpid())"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: root) }
        for (path, value) in ["/proc/sys/kernel/osrelease": "5.4.0-150-generic\n", "/proc/sys/user/max_user_namespaces": "0\n",
                              "/proc/sys/kernel/apparmor_restrict_unprivileged_userns": "1\n"] {
            try FileManager.default.createDirectory(atPath: root + (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try value.write(toFile: root + path, atomically: true, encoding: .utf8)
        }
        let result = try doctor(environment: ["WORKSHOP_DOCTOR_ROOT": root])
        XCTAssertEqual(result.status, 1, result.stdout)
        XCTAssertTrue(line(result.stdout, "kernel")?.hasPrefix("✗ kernel           5.4.0-150-generic") ?? false, result.stdout)
        XCTAssertTrue(line(result.stdout, "user namespaces")?.hasPrefix("✗") ?? false, result.stdout)
        XCTAssertTrue(result.stdout.contains("fix: sudo sysctl -w user.max_user_namespaces=15000"), result.stdout)
        XCTAssertTrue(result.stdout.contains("2 problems"), result.stdout)

        // Only the stand-ins differ: the same checks pass without them.
        let real = try doctor()
        XCTAssertEqual(line(real.stdout, "kernel")?.first, "✓", real.stdout)
    }

    func testDoctorKeepsAGivenTarballForOfflineRuns() throws {
        let home = testHome + "/doctor-home-\(getpid())"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: home) }
        let before = try doctor(environment: ["WORKSHOP_HOME": home, "WORKSHOP_ALPINE_TARBALL": ""])
        XCTAssertTrue(line(before.stdout, "alpine image")?.hasPrefix("!") ?? false, before.stdout)

        let kept = try doctor(["--tarball", alpineTarball], environment: ["WORKSHOP_HOME": home, "WORKSHOP_ALPINE_TARBALL": ""])
        XCTAssertEqual(kept.status, 0, "\(kept.stdout)\(kept.stderr)")
        let copy = home + "/downloads/" + (alpineTarball as NSString).lastPathComponent
        XCTAssertEqual(FileManager.default.contents(atPath: copy), FileManager.default.contents(atPath: alpineTarball),
                       "no copy of the tarball in \(home)/downloads")
        XCTAssertTrue(line(kept.stdout, "alpine image")?.contains("works offline") ?? false, kept.stdout)

        let misnamed = try doctor(["--tarball", "/etc/hostname"], environment: ["WORKSHOP_HOME": home])
        XCTAssertEqual(misnamed.status, 64, misnamed.stderr)
        XCTAssertEqual(misnamed.stderr.split(separator: "\n").count, 1, misnamed.stderr)
    }
}
