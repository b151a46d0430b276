// step01-clone: the smallest "container": clone(2) a child that execs a command.
//
// Nothing is isolated yet. The child shares the host's hostname, process
// table, mounts and network; it only has its own PID. Every later step is
// this program plus one more layer.
//
//   sudo swift run step01-clone -- /bin/sh -c 'echo my pid is $$'

import CLinux
import Glibc
import Workshop

let options = StepOptions.parseCommandLine(
    step: "step01-clone",
    abstract: "Run a command in a cloned child process (no isolation yet).",
    groups: [
        .output,
    ])
let say = Narrator(step: "step01-clone", quiet: options.output.quiet)

exitOnFailure(step: "step01-clone") {
    try requireRoot(step: "step01-clone")

    // clone(2) with no namespace flags: just a new process, like fork(2).
    // SIGCHLD tells the kernel to signal us when the child exits, so we can wait for it.
    let flags: Int32 = 0

    let container = try Container.start(flags: flags, stdio: options.output) {
        // ── Here we are the child. It runs the command in place of itself. ──
        try execute(options.command.command, environment: hostEnvironment())
    }

    say.say("clone(\(describeCloneFlags(flags))) made a child: PID \(container.pid) on the host (the runtime is PID \(getpid()))")
    say.say("no namespaces: it shares the hostname, PIDs, mounts and network with the host")
    say.look("ps -o pid,ppid,cmd -p \(container.pid)       # the child, with the runtime as its parent")
    say.look("ls -l /proc/\(container.pid)/ns              # the same namespace inodes as /proc/self/ns")

    try container.release()
    finish(container.waitForExit())
}
