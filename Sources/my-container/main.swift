// step01-clone: the smallest "container": clone(2) a child that execs a command.
//
// Nothing is isolated yet. The child shares the host's hostname, process
// table, mounts and network; it only has its own PID. Every later step is
// this program plus one more layer.
//
// Each layer's lines are marked `// [stepNN] …` … `// [/stepNN]` (or one line: a trailing `// [stepNN]`).
//
//   sudo swift run step01-clone -- /bin/sh -c 'echo my pid is $$'

import CLinux
import Glibc
import Workshop

let options = StepOptions.parseCommandLine(
    abstract: "Run a command in a cloned child process (no isolation yet).",
    groups: [
        .output,
    ])
let narrator = Narrator(quiet: options.output.quiet)

exitOnFailure {
    try requireRoot()

    // TODO(step01): clone(2) a child that runs the command; SIGCHLD tells us when it exits
    //   ── Here we are the child. It runs the command in place of itself. ──
    //   (see Chapters/01-clone.md, "Walk through the new code")
    throw Failure("step01 is not written yet: see Chapters/01-clone.md")
}
