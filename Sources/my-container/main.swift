// step02-namespaces: step01 plus namespaces.
//
// The child is cloned into new UTS, PID, mount, IPC and network namespaces:
// its own hostname, its own process tree (the command is PID 1), its own
// mount table (so a fresh /proc shows only its processes), its own System V
// IPC, and a network with only `lo`. The filesystem is still the host's.
//
// Each layer's lines are marked `// [stepNN] …` … `// [/stepNN]` (or one line: a trailing `// [stepNN]`).
//
//   sudo swift run step02-namespaces -- /bin/sh -c 'hostname; echo $$; ps'

import CLinux
import Glibc
import Workshop

let options = StepOptions.parseCommandLine(
    abstract: "Run a command in new UTS, PID, mount, IPC and network namespaces.",
    groups: [
        .output,
        // TODO(step02): --hostname, --network, --init
        //   (see Chapters/02-namespaces.md, "Walk through the new code")
    ])
let narrator = Narrator(quiet: options.output.quiet)

exitOnFailure {
    try requireRoot()

    // [step01] clone(2) a child that runs the command; SIGCHLD tells us when it exits
    // [step01 stub] throw Failure("step01 is not written yet: see Chapters/01-clone.md")
    let flags: Int32 = 0
        // TODO(step02): hostname and domain name
        //   (see Chapters/02-namespaces.md, "Walk through the new code")

    let container = try ContainerProcess.start(flags: flags, stdio: options.output) {
        // ── Here we are the child. It runs the command in place of itself. ──

        // TODO(step02): our own hostname, private mounts, a fresh /proc, lo up
        //   (see Chapters/02-namespaces.md, "Walk through the new code")

        try execute(options.command.command, environment: hostEnvironment(),
                    init: options.namespaces.runsInit)
    }
    narrator.process(container, flags: flags)

    // TODO(step02): write this line
    //   (see Chapters/02-namespaces.md, "Walk through the new code")

    try container.release()
    finish(container.waitForExit())
    // [/step01]
}
