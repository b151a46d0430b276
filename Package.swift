// swift-tools-version:6.0
import PackageDescription

/// The eight steps, in teaching order. Each is one executable whose
/// main.swift contains every earlier layer plus one new one.
let steps = [
    "step01-clone",
    "step02-namespaces",
    "step03-chroot",
    "step04-pivot-root",
    "step05-cgroup",
    "step06-capabilities",
    "step07-userns",
    "step08-seccomp",
]

let package = Package(
    name: "ContainerWorkshop",
    platforms: [.macOS(.v13)],  // Linux only in practice; this just keeps SwiftPM quiet on a Mac
    products: steps.map { .executable(name: $0, targets: [$0]) }
        + [.executable(name: "workshop", targets: ["workshop"]),
           .executable(name: "my-container", targets: ["my-container"])],
    // No package dependencies: every learner builds the kit on a laptop, often offline.
    // (The command line is parsed in Workshop/Options.swift: swift-argument-parser's
    // reflection cost every step about 3 ms at start-up, measured in Tests/Benchmarks.)
    targets: [
        // What Swift's Glibc module hides: clone, unshare, pivot_root, capset, seccomp...
        .target(name: "CLinux", cSettings: [.define("_GNU_SOURCE")]),
        // libarchive's declarations (apt-get install libarchive-dev). Not linked: pkg-config's
        // -larchive would load it, libxml2, ICU and libstdc++ into every step at start-up
        // (about 3 ms each time); CArchiveLoader loads it on the first call instead.
        .systemLibrary(name: "CArchive"),
        .target(name: "CArchiveLoader", dependencies: ["CArchive"], linkerSettings: [.linkedLibrary("dl")]),
        .target(
            name: "Workshop",
            dependencies: [
                "CLinux", "CArchive", "CArchiveLoader",
            ]
        ),
        .testTarget(name: "WorkshopTests", dependencies: ["Workshop", "CArchive"]),
        // The attacks every layer must stop, each with its payload and how the host sees
        // whether it worked: the tests, `workshop attacks` and chapter 08's table use it.
        // (Foundation is fine here: it is never in a step's start path.)
        .target(name: "AttackMatrix"),
        // The learner's and trainer's helper: `workshop doctor`, `start`, `check`, `attacks`...
        .executableTarget(name: "workshop", dependencies: ["AttackMatrix", "Workshop", "CArchiveLoader"]),
        // The learner's own runtime: `workshop start NN` writes chapter NN's starting point here
        // (the reference step with its new layer cut out), `workshop check NN` runs its checks on it.
        .executableTarget(name: "my-container", dependencies: ["Workshop", "CLinux"]),
        // Black-box tests: they run the built step executables and look from the host.
        // ImageTests build hostile tarballs with libarchive's writer (no fixtures from the network).
        .testTarget(name: "StepTests",
                    dependencies: steps.map { .target(name: $0) } + ["CArchive", "CArchiveLoader", "AttackMatrix", "workshop"]),
    ] + steps.map { step in
        .executableTarget(
            name: step,
            dependencies: ["Workshop", "CLinux"],
            // Release builds link the Swift runtime statically: resolving its symbols
            // across a dozen shared libraries was most of a step's start-up (about
            // 3 ms a run, Tests/Benchmarks). Debug builds keep the faster links.
            linkerSettings: [.unsafeFlags(["-static-stdlib"], .when(configuration: .release))]
        )
    },
    swiftLanguageModes: [.v5]
)
