#!/usr/bin/env python3
"""Benchmarks for the container workshop kit (started by run.sh; see README.md).

Measures, reports, never asserts: a missed target is a line in the report, not
a failing exit code. Leaves nothing behind (containers, runc state, mounts,
temporary directories, cgroups) and says so at the end.
"""
import argparse
import glob
import json
import os
import platform
import random
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

STEPS = [
    "step01-clone", "step02-namespaces", "step03-chroot", "step04-pivot-root",
    "step05-cgroup", "step06-capabilities", "step07-userns", "step08-seccomp",
]
LAYERS = [  # what step N adds to step N-1
    ("namespaces", "UTS, PID, mount, IPC, net namespaces; sethostname, private /, new /proc, lo up"),
    ("root filesystem", "cached image lookup, run directory + lock, overlay mount, /proc in it, chroot; rm of the run directory"),
    ("pivot_root + standard mounts", "/dev tmpfs + nodes + devpts + shm, read-only sysfs, masked and read-only /proc paths, pivot_root, detach old root"),
    ("cgroup", "mkdir the group (one per v1 hierarchy), write the limits, move the child in, kill/sample/rmdir at the end; stale-group scan"),
    ("capabilities", "drop the bounding set, clear ambient, capset"),
    ("user namespace", "CLONE_NEWUSER, uid/gid maps, chown of the run dirs, host devices bind-mounted, sysfs per netns"),
    ("seccomp", "build the BPF filter, no_new_privs, install it"),
]
FLOOR = "unshare -fpmiunC --mount-proc chroot ROOT /bin/true"
RUNC = "runc run"


def log(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def ms(value, places=1):
    return "n/a" if value is None else f"{value:.{places}f}"


def percentile(values, q):
    data = sorted(values)
    if not data:
        return None
    position = (len(data) - 1) * q
    low = int(position)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (position - low)


def median(values):
    return statistics.median(values) if values else None


def run(argv, check=False, **kwargs):
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    return subprocess.run(argv, check=check, **kwargs)


def table(headers, rows, align=None):
    align = align or ["l"] + ["r"] * (len(headers) - 1)
    marks = {"l": "---", "r": "---:", "c": ":---:"}
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(marks[a] for a in align) + " |"]
    for row in rows:
        lines.append("| " + " | ".join(str(cell) for cell in row) + " |")
    return "\n".join(lines)


class Command:
    def __init__(self, name, argv, kind, note=""):
        self.name, self.argv, self.kind, self.note = name, argv, kind, note
        self.times = []        # milliseconds, every timed run
        self.failures = []     # (round, message)

    @property
    def is_runc(self):
        return self.name == RUNC


class Bench:
    def __init__(self, args):
        self.args = args
        self.bin = args.bin
        self.tarball = args.tarball
        self.temp = tempfile.mkdtemp(prefix="wsbench-")
        # step07/08's container root is host uid 100000: it must be able to reach the run directories.
        os.chmod(self.temp, 0o711)
        self.runc_ids = set()
        self.runc_counter = 0
        self.children = []                 # Popen objects still to reap on abort
        self.notes = []                    # free-form remarks for the report
        self.sections = []
        self.targets = []                  # (target, measured, met: True/False/None)
        self.results = {}
        self.outside_kills = 0             # our containers SIGKILLed by someone else (see notes)
        self.before = self.snapshot()
        self.load_before = os.getloadavg()

    # ── helpers ───────────────────────────────────────────────────────────
    def step(self, name):
        return os.path.join(self.bin, name)

    def workshop_home(self):
        return os.environ.get("WORKSHOP_HOME") or "/var/lib/workshop"

    def snapshot(self):
        """What could be left behind, to compare before and after."""
        state = {}
        groups = glob.glob("/sys/fs/cgroup/*/workshop/*") + glob.glob("/sys/fs/cgroup/workshop/*")
        state["cgroups"] = sorted(g for g in groups if os.path.isdir(g) and re.fullmatch(r"[0-9a-f]{12}", os.path.basename(g)))
        state["runc_cgroups"] = sorted(g for g in glob.glob("/sys/fs/cgroup/**/wsbench-*", recursive=True) if os.path.isdir(g))
        containers = os.path.join(self.workshop_home(), "containers")
        state["runs"] = sorted(os.listdir(containers)) if os.path.isdir(containers) else []
        state["locks"] = sorted(glob.glob("/run/workshop/*.lock") + glob.glob("/run/workshop/.*.lock"))
        listing = run(["runc", "list", "-q"]) if shutil.which("runc") else None
        state["runc"] = sorted(listing.stdout.split()) if listing and listing.returncode == 0 else []
        with open("/proc/self/mountinfo") as mounts:
            state["mounts"] = [line.split()[4] for line in mounts if "wsbench-" in line.split()[4]]
        return state

    def new_runc_id(self):
        self.runc_counter += 1
        ident = f"wsbench-{os.getpid()}-{self.runc_counter}"
        self.runc_ids.add(ident)
        return ident

    # ── preparation ───────────────────────────────────────────────────────
    def prepare(self):
        log("preparing the kit's image cache (step03 and step07 once each)")
        for name in ("step03-chroot", "step07-userns"):
            result = run([self.step(name), "/bin/true"])
            if result.returncode != 0:
                raise SystemExit(f"bench: {name} /bin/true failed ({result.returncode}): {result.stderr.strip()}")
            unpacked = re.search(r"unpacked with libarchive in (\d+) ms", result.stderr)
            log(f"  {name}: " + (f"unpacked the image in {unpacked.group(1)} ms" if unpacked else "image already cached"))
        log("unpacking the tarball with tar for the chroot floor and the runc bundle")
        self.chroot_root = os.path.join(self.temp, "chroot-root")
        os.mkdir(self.chroot_root)
        run(["tar", "xzf", self.tarball, "-C", self.chroot_root], check=True)
        self.bundle = os.path.join(self.temp, "bundle")
        os.makedirs(os.path.join(self.bundle, "rootfs"))
        run(["tar", "xzf", self.tarball, "-C", os.path.join(self.bundle, "rootfs")], check=True)
        self.runc_ok = False
        if shutil.which("runc"):
            run(["runc", "spec"], cwd=self.bundle, check=True)
            config_path = os.path.join(self.bundle, "config.json")
            with open(config_path) as f:
                config = json.load(f)
            config["process"]["args"] = ["/bin/true"]
            config["process"]["terminal"] = False
            config["root"] = {"path": "rootfs", "readonly": True}
            with open(config_path, "w") as f:
                json.dump(config, f, indent=2)
            probe = self.new_runc_id()
            result = run(["runc", "run", "--bundle", self.bundle, probe])
            run(["runc", "delete", "-f", probe])
            if result.returncode == 0:
                self.runc_ok = True
            else:
                self.notes.append(f"`runc run` does not work here ({result.returncode}: {result.stderr.strip()[:200]}); its row is left out.")
        else:
            self.notes.append("runc is not installed; its row is left out.")

    def commands(self):
        true = "/bin/true"
        cmds = [Command(s, [self.step(s), "-q", true], "step") for s in STEPS]
        cmds += [
            Command("step05-cgroup --cpus 2", [self.step("step05-cgroup"), "-q", "--cpus", "2", true], "check",
                    "throttling check: default is --cpus 0.1"),
            Command("step08-seccomp --cpus 2", [self.step("step08-seccomp"), "-q", "--cpus", "2", true], "check",
                    "throttling check: default is --cpus 0.1"),
            Command("unshare -f true", ["unshare", "-f", "true"], "baseline"),
            Command("unshare -fpmiun --mount-proc true", ["unshare", "-fpmiun", "--mount-proc", "true"], "baseline"),
            Command(FLOOR, ["unshare", "-fpmiunC", "--mount-proc", "chroot", self.chroot_root, true], "baseline",
                    "ROOT = the Alpine tarball unpacked with tar"),
        ]
        if self.runc_ok:
            cmds.append(Command(RUNC, ["runc", "run", "--bundle", self.bundle, "ID"], "baseline",
                                "runc spec, rootfs = tar xzf copy (read-only), args [/bin/true], terminal false; a new ID each invocation"))
        return cmds

    # ── table 1: start-to-exit ────────────────────────────────────────────
    def argv_for(self, cmd):
        if cmd.is_runc:
            return cmd.argv[:-1] + [self.new_runc_id()]
        return cmd.argv

    def after_runc(self):
        listing = run(["runc", "list", "-q"])
        for ident in listing.stdout.split():
            if ident.startswith(f"wsbench-{os.getpid()}-"):
                run(["runc", "delete", "-f", ident])

    def time_hyperfine(self, cmd, runs, warmup, round_number):
        out = os.path.join(self.temp, "hyperfine.json")
        for attempt in range(3):
            argv = self.argv_for(cmd)
            result = run(["hyperfine", "-N", "--style", "none", "--warmup", str(warmup), "--runs", str(runs),
                          "--export-json", out, "--command-name", cmd.name, shlex.join(argv)])
            if cmd.is_runc:
                self.after_runc()
            if result.returncode == 0:
                with open(out) as f:
                    data = json.load(f)["results"][0]
                os.unlink(out)
                return [t * 1000 for t in data["times"]]
            message = (result.stderr.strip().splitlines() or ["?"])[-1]
            if "exit code: 137" in message or "code 137" in message:
                self.outside_kills += 1
            cmd.failures.append((round_number, message))
            log(f"  {cmd.name}: hyperfine failed ({message}); retrying")
        return []

    def time_plain_once(self, cmd):
        argv = self.argv_for(cmd)
        start = time.perf_counter_ns()
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        elapsed = (time.perf_counter_ns() - start) / 1e6
        if cmd.is_runc:
            run(["runc", "delete", "-f", argv[-1]])   # normally already gone: runc run deletes on exit
        if result.returncode != 0:
            cmd.failures.append((None, f"exit {result.returncode}: {result.stderr.decode(errors='replace').strip()[-200:]}"))
            return None
        return elapsed

    def startup(self):
        cmds = self.commands()
        rounds, runs, warmup = self.args.rounds, self.args.runs, self.args.warmup
        use_hyperfine = shutil.which("hyperfine") and not self.args.no_hyperfine
        self.timer = "hyperfine -N" if use_hyperfine else "plain Python loop (time.perf_counter_ns around subprocess.run)"
        log(f"table 1: {len(cmds)} commands x {rounds} rounds x {runs} runs, interleaved by round, with {self.timer}")
        started = time.monotonic()
        if use_hyperfine:
            for r in range(rounds):
                order = cmds if r % 2 == 0 else list(reversed(cmds))   # no command always follows the same one
                for cmd in order:
                    cmd.times += self.time_hyperfine(cmd, runs, warmup, r + 1)
                log(f"  round {r + 1}/{rounds} done ({time.monotonic() - started:.0f} s)")
        else:
            for _ in range(warmup):
                for cmd in cmds:
                    self.time_plain_once(cmd)
            for i in range(rounds * runs):
                for cmd in cmds:
                    elapsed = self.time_plain_once(cmd)
                    if elapsed is not None:
                        cmd.times.append(elapsed)
                if (i + 1) % runs == 0:
                    log(f"  round {(i + 1) // runs}/{rounds} done ({time.monotonic() - started:.0f} s)")
        self.cmds = {cmd.name: cmd for cmd in cmds}
        self.table1_seconds = time.monotonic() - started
        self.throttle_check()

    def throttle_check(self):
        """Do the default --cpus 0.1 limits ever throttle a /bin/true container? Ask the kit's own --stats."""
        self.throttled = {}
        for name in ("step05-cgroup", "step08-seccomp"):
            total, runs = 0, 0
            for _ in range(self.args.throttle_runs):
                result = run([self.step(name), "-q", "--stats", "/bin/true"])
                found = re.search(r"throttled\s+(\d+) of", result.stderr)
                if result.returncode == 0 and found:
                    total += int(found.group(1))
                    runs += 1
            self.throttled[name] = (total, runs)

    def report_startup(self):
        cmds = self.cmds
        floor = median(cmds[FLOOR].times) if cmds.get(FLOOR) and cmds[FLOOR].times else None
        runc = median(cmds[RUNC].times) if cmds.get(RUNC) and cmds[RUNC].times else None
        rows = []
        for cmd in cmds.values():
            med, p90 = median(cmd.times), percentile(cmd.times, 0.9)
            rows.append([
                f"`{cmd.name}`" + (f" ({cmd.note})" if cmd.note else ""),
                ms(med), ms(p90), ms(percentile(cmd.times, 0.1)), ms(min(cmd.times) if cmd.times else None),
                f"{med / floor:.2f}×" if med and floor else "n/a",
                f"{med / runc:.2f}×" if med and runc else "n/a",
                len(cmd.times),
            ])
        text = [f"## 1. Start-to-exit of `/bin/true` (ms)\n",
                f"{self.args.rounds} rounds × {self.args.runs} runs per command ({self.args.warmup} warm-up per round), "
                + ("rounds interleaved (commands cycled each round, alternate rounds reversed)"
                   if self.timer.startswith("hyperfine") else "runs interleaved (one run of each command in turn)")
                + f", timed with {self.timer}; "
                f"{self.table1_seconds:.0f} s in all. Steps run with `-q`; steps 01–02 run the host's `/bin/true` (glibc), "
                f"03–08 Alpine's (busybox). Ratios are of medians.\n",
                table(["command", "median", "p90", "p10", "min", "× floor", "× runc", "runs"], rows)]
        for name, (total, n) in self.throttled.items():
            text.append(f"\nThrottling check: {n} runs of `{name} -q --stats /bin/true` at the default `--cpus 0.1` "
                        f"reported {total} throttled CFS period(s) in all (the kit's own cgroup accounting).")
        failures = [(c.name, r, m) for c in cmds.values() for r, m in c.failures]
        if failures:
            text.append("\nFailed invocations (retried): " + "; ".join(f"`{n}` round {r}: {m}" for n, r, m in failures[:10]))
        self.sections.append("\n".join(text))
        self.results.update(floor=floor, runc=runc)

        # ── table 2: layers ──
        rng = random.Random(1)
        rows = []
        for i, (layer, what) in enumerate(LAYERS):
            upper, lower = cmds[STEPS[i + 1]].times, cmds[STEPS[i]].times
            if not upper or not lower:
                rows.append([f"{STEPS[i + 1]} − {STEPS[i]}", layer, "n/a", "n/a", "n/a", what])
                continue
            diff = median(upper) - median(lower)
            boot = sorted(median(rng.choices(upper, k=len(upper))) - median(rng.choices(lower, k=len(lower)))
                          for _ in range(1000))
            low = percentile(upper, 0.1) - percentile(lower, 0.1)
            rows.append([f"{STEPS[i + 1]} − {STEPS[i]}", layer, ms(diff, 2),
                         f"{boot[50]:.2f} … {boot[949]:.2f}", ms(low, 2), what])
        s1 = median(cmds[STEPS[0]].times)
        base = median(cmds["unshare -f true"].times)
        s1_low = percentile(cmds[STEPS[0]].times, 0.1)
        base_low = percentile(cmds["unshare -f true"].times, 0.1)
        rows.insert(0, ["step01-clone − `unshare -f true`", "the runtime itself",
                        ms(s1 - base, 2) if s1 and base else "n/a", "",
                        ms(s1_low - base_low, 2) if s1_low and base_low else "n/a",
                        "process start (Swift runtime, static in release builds), parsing the command line, clone/exec/wait (`--profile` shows the split)"])
        self.sections.append("## 2. Cost of each layer (difference of adjacent medians, ms)\n\n"
                             "The 90% interval is a bootstrap of the difference of medians (1000 resamples): "
                             "an interval that straddles 0 means the layer is lost in the noise. Δ p10 is the "
                             "difference of the 10th percentiles, which other load on the machine disturbs less.\n\n"
                             + table(["steps", "layer", "Δ median", "90% interval", "Δ p10", "what the layer does"],
                                     rows, ["l", "l", "r", "r", "r", "l"]))

    # ── table 3: root filesystem ──────────────────────────────────────────
    def rootfs(self):
        reps = self.args.unpack_runs
        log(f"table 3: cold unpack by the kit vs tar xzf ({reps} runs each)")
        results = {"kit": [], "kit_wall": [], "cached_wall": [], "kit07": [], "tar": [], "sha": [], "gunzip": []}
        for i in range(reps):
            home = os.path.join(self.temp, f"home-{i}")
            os.mkdir(home)
            env = dict(os.environ, WORKSHOP_HOME=home)
            start = time.perf_counter_ns()
            result = run([self.step("step03-chroot"), "/bin/true"], env=env)
            wall = (time.perf_counter_ns() - start) / 1e6
            found = re.search(r"unpacked with libarchive in (\d+) ms", result.stderr)
            if result.returncode == 0 and found:
                results["kit"].append(float(found.group(1)))
                results["kit_wall"].append(wall)
            else:
                self.notes.append(f"cold step03 run {i}: exit {result.returncode}, {result.stderr.strip()[-200:]}")
            for _ in range(3):
                start = time.perf_counter_ns()
                cached = run([self.step("step03-chroot"), "/bin/true"], env=env)
                if cached.returncode == 0:
                    results["cached_wall"].append((time.perf_counter_ns() - start) / 1e6)
            if i < 3:   # the shifted copy (step07/08): every file chowned on the way
                result = run([self.step("step07-userns"), "/bin/true"], env=env)
                found = re.search(r"unpacked with libarchive in (\d+) ms", result.stderr)
                if result.returncode == 0 and found:
                    results["kit07"].append(float(found.group(1)))
            shutil.rmtree(home)
            target = os.path.join(self.temp, f"tar-{i}")
            os.mkdir(target)
            start = time.perf_counter_ns()
            run(["tar", "xzf", self.tarball, "-C", target], check=True)
            results["tar"].append((time.perf_counter_ns() - start) / 1e6)
            shutil.rmtree(target)
            start = time.perf_counter_ns()
            run(["sha256sum", self.tarball], check=True)
            results["sha"].append((time.perf_counter_ns() - start) / 1e6)
            start = time.perf_counter_ns()
            subprocess.run(["gzip", "-dc", self.tarball], stdout=subprocess.DEVNULL, check=True)
            results["gunzip"].append((time.perf_counter_ns() - start) / 1e6)
        self.rootfs_results = results

    def report_rootfs(self):
        r = self.rootfs_results
        size = os.path.getsize(self.tarball)
        s02 = median(self.cmds["step02-namespaces"].times)
        s03 = median(self.cmds["step03-chroot"].times)
        per_run = s03 - s02 if s02 and s03 else None
        cold_extra = (median(r["kit_wall"]) - median(r["cached_wall"])) if r["kit_wall"] and r["cached_wall"] else None

        def row(what, values, how, n=None):
            return [what, ms(median(values)), ms(min(values) if values else None),
                    ms(max(values) if values else None), n if n is not None else len(values), how]
        rows = [
            row("kit: cold unpack (step03)", r["kit"], "its narration: \"unpacked with libarchive in N ms\" "
                "(lock, SHA-256 check, libarchive extract, rename), fresh `WORKSHOP_HOME=$(mktemp -d)`"),
            row("kit: cold unpack, shifted owners (step07)", r["kit07"], "the same, every entry's uid/gid + 100000"),
            row("kit: cold step03 run − cached step03 run", [cold_extra] if cold_extra is not None else [],
                "wall clock, same temporary home, difference of the medians",
                f"{len(r['kit_wall'])} / {len(r['cached_wall'])}"),
            row("`tar xzf` into an empty directory", r["tar"], "GNU tar + gzip, the same file, wall clock"),
            row("  of which `gzip -dc` alone", r["gunzip"], "decompression only, to /dev/null"),
            row("`sha256sum` of the tarball", r["sha"], "what the kit's checksum check costs in C"),
            ["cached prepare + per-run writable root", ms(per_run), "", "", "",
             "**estimate**: median step03 − median step02 (table 1): image lookup, run directory and lock, "
             "overlay + /proc mounts, chroot, clean-up"],
        ]
        self.sections.append(f"## 3. Root filesystem (ms)\n\nAlpine minirootfs {os.path.basename(self.tarball)}, "
                             f"{size / 1e6:.1f} MB compressed.\n\n"
                             + table(["what", "median", "min", "max", "n", "how"], rows,
                                     ["l", "r", "r", "r", "r", "l"]))
        self.results.update(per_run=per_run, cold=median(r["kit"]), tar=median(r["tar"]))

    # ── table 4: CPU limit accuracy ───────────────────────────────────────
    def cgroup_mounts(self):
        v1, v2 = {}, None
        with open("/proc/self/mountinfo") as f:
            for line in f:
                left, _, right = line.partition(" - ")
                fields, rest = left.split(), right.split()
                if rest[0] == "cgroup2":
                    v2 = v2 or fields[4]
                elif rest[0] == "cgroup":
                    for option in rest[2].split(","):
                        v1[option] = fields[4]
        return v1, v2

    def usage_file(self, pid):
        """The file with the container's CPU usage: (path, scale to ns), from /proc/PID/cgroup."""
        v1, v2 = self.cgroup_mounts()
        with open(f"/proc/{pid}/cgroup") as f:
            lines = [line.rstrip("\n").split(":", 2) for line in f]
        for _, controllers, path in lines:
            if "cpuacct" in controllers.split(",") and "cpuacct" in v1:
                return os.path.join(v1["cpuacct"] + path, "cpuacct.usage"), 1, path
        for hierarchy, controllers, path in lines:
            if hierarchy == "0" and v2:
                return os.path.join(v2 + path, "cpu.stat"), 1000, path
        return None, None, None

    @staticmethod
    def read_usage(path, scale):
        with open(path) as f:
            text = f.read()
        if path.endswith("cpu.stat"):
            text = re.search(r"usage_usec (\d+)", text).group(1)
        return int(text.split()[0]) * scale

    def cfs_stat(self, group):
        """The group's CFS bandwidth counters (nr_periods, nr_throttled) from cpu.stat."""
        v1, v2 = self.cgroup_mounts()
        path = (v1["cpu"] + group if "cpu" in v1 else (v2 or "") + group) + "/cpu.stat"
        try:
            with open(path) as f:
                return {k: int(v) for k, v in (line.split() for line in f if len(line.split()) == 2)}
        except (OSError, ValueError):
            return {}

    @staticmethod
    def runqueue_wait(pid):
        """Nanoseconds the task spent runnable but waiting for a CPU (/proc/PID/schedstat, field 2)."""
        try:
            with open(f"/proc/{pid}/schedstat") as f:
                return int(f.read().split()[1])
        except (OSError, IndexError, ValueError):
            return None

    @staticmethod
    def children_of(pid):
        result = run(["pgrep", "-P", str(pid)]) if shutil.which("pgrep") else None
        if result is not None:
            return [int(p) for p in result.stdout.split()]
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                return [int(p) for p in f.read().split()]
        except OSError:
            return []

    def cpu_accuracy(self):
        self.cpu_rows = []
        log(f"table 4: CPU share at --cpus {', '.join(self.args.cpus)} "
            f"(busy loop, sampled {self.args.cpu_start}-{self.args.cpu_end} s)")
        for target in self.args.cpus:
            problems = []
            for attempt in range(3):
                row = self.cpu_share(target)
                if row["measured"] is not None:
                    break
                problems.append(row["note"])
                log(f"  --cpus {target}: attempt {attempt + 1} failed: {row['note']}")
            if problems:
                row["note"] = (row["note"] + "; " if row["note"] else "") + \
                    f"{len(problems)} failed attempt(s) before: " + " | ".join(problems)
            self.cpu_rows.append(row)
            log(f"  --cpus {target}: " + (f"{row['measured']:.3f} CPUs" if row["measured"] is not None else row["note"]))

    def cpu_share(self, target):
        start_at, end_at = self.args.cpu_start, self.args.cpu_end
        row = {"target": float(target), "measured": None, "error": None, "note": ""}
        runtime = subprocess.Popen([self.step("step05-cgroup"), "-q", "--cpus", target, "--",
                                    "sh", "-c", "while :; do :; done"],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.children.append(runtime)
        launched = time.monotonic()
        child = None
        killed = False
        try:
            while time.monotonic() - launched < 5 and runtime.poll() is None:
                kids = self.children_of(runtime.pid)
                if kids:
                    file, scale, group = self.usage_file(kids[0])
                    if group and "/workshop/" in group:
                        child, path = kids[0], (file, scale)
                        row["group"] = group
                        break
                time.sleep(0.01)
            if child is None:
                row["note"] = "container not found"
            else:
                samples = []
                for at in (start_at, end_at):
                    time.sleep(max(0, launched + at - time.monotonic()))
                    samples.append((time.monotonic_ns(), self.read_usage(*path), self.cfs_stat(group),
                                    self.runqueue_wait(child)))
                if runtime.poll() is None:
                    (t0, u0, c0, w0), (t1, u1, c1, w1) = samples
                    row["measured"] = (u1 - u0) / (t1 - t0)
                    row["error"] = (row["measured"] - row["target"]) * 100
                    periods = c1.get("nr_periods", 0) - c0.get("nr_periods", 0)
                    if periods > 0:
                        row["throttled"] = (c1.get("nr_throttled", 0) - c0.get("nr_throttled", 0)) / periods
                    if w0 is not None and w1 is not None:
                        # run_delay also counts the time a throttled task waits for its next period: take that out.
                        throttled_ns = (c1.get("throttled_time", c1.get("throttled_usec", 0) * 1000)
                                        - c0.get("throttled_time", c0.get("throttled_usec", 0) * 1000))
                        row["waiting"] = max(0, (w1 - w0) - throttled_ns) / (t1 - t0)
                os.kill(child, signal.SIGKILL)   # PID 1 of its namespace: only SIGKILL from outside works
                killed = True
        except (OSError, AttributeError) as error:
            row["note"] = f"could not sample ({error.__class__.__name__}: {error})"
        finally:
            early = runtime.poll()
            if early is None and not killed:
                for kid in self.children_of(runtime.pid):
                    os.kill(kid, signal.SIGKILL)
            try:
                code = runtime.wait(timeout=15)
            except subprocess.TimeoutExpired:
                runtime.kill()
                code = runtime.wait()
            self.children.remove(runtime)
            stderr = runtime.stderr.read().decode(errors="replace").strip()
            runtime.stderr.close()
            row["exit"] = code
            if early is not None and not killed:
                row["note"] += (f"; the runtime exited by itself with {early}"
                                + (" (its container was SIGKILLed from outside: see the notes)"
                                   if early == 137 else f": {stderr[-200:]}"))
                if early == 137:
                    self.outside_kills += 1
            elif code != 137:
                row["note"] += f"; runtime exit {code} after kill -9 (expected 137): {stderr[-200:]}"
        if row.get("group"):
            leftover = [d for d in glob.glob(f"/sys/fs/cgroup/*{row['group']}") + glob.glob(f"/sys/fs/cgroup{row['group']}")
                        if os.path.isdir(d)]
            if leftover:
                row["note"] += f"; group left behind: {leftover}"
        return row

    def report_cpu(self):
        rows = []
        for row in self.cpu_rows:
            throttled, waiting = row.get("throttled"), row.get("waiting")
            if row["measured"] is None:
                verdict = ""
            elif row["error"] < -1.5 and waiting is not None and waiting * 100 >= -row["error"] / 2:
                verdict = "**held back by other load** (inconclusive)"
            elif throttled is not None and throttled >= 0.5:
                verdict = "held by the limit"
            else:
                verdict = "not throttled"
            rows.append([f"{row['target']:g}", f"{row['target'] * 100:.1f}%",
                         f"{row['measured'] * 100:.2f}%" if row["measured"] is not None else "n/a",
                         f"{row['error']:+.2f}" if row["error"] is not None else "n/a",
                         f"{throttled * 100:.0f}%" if throttled is not None else "n/a",
                         f"{waiting * 100:.1f}%" if waiting is not None else "n/a", verdict,
                         f"`{row.get('group', '?')}`", row["note"] or "exit 137 after kill -9 (expected)"])
        v1, _ = self.cgroup_mounts()
        source = "cpuacct.usage (v1)" if "cpuacct" in v1 else "cpu.stat usage_usec (v2)"
        self.sections.append(
            "## 4. CPU limit accuracy (step05-cgroup)\n\n"
            f"`step05-cgroup -q --cpus X -- sh -c 'while :; do :; done'`; share = Δ{source} / Δwall between "
            f"t = {self.args.cpu_start} s and t = {self.args.cpu_end} s after launch (start-up skipped), "
            "then `kill -9` of the container's host PID. Share is of one CPU. *Throttled* is the share of CFS "
            "periods in the window that hit the quota (cpu.stat); *run-queue wait* is the share of the window the "
            "busy loop was runnable but waiting for a CPU held by someone else (/proc/PID/schedstat run_delay minus "
            "the group's throttled_time): when it explains the shortfall, the machine, not the limit, held the "
            "container back and the error says nothing about the kit. At `--cpus 1` one busy thread cannot exceed "
            "the quota, so that row only checks that the limit does not hold it below one CPU.\n\n"
            + table(["--cpus", "target", "measured", "error (points)", "throttled", "run-queue wait", "verdict",
                     "group", "note"], rows, ["r", "r", "r", "r", "r", "r", "l", "l", "l"]))

    # ── table 5: build and test (optional) ────────────────────────────────
    def build(self):
        scratch = os.path.join(self.args.repo, ".build-bench-clean")
        self.build_rows = []
        log("table 5: clean debug build into .build-bench-clean, then swift test (minutes)")
        shutil.rmtree(scratch, ignore_errors=True)
        out_dir = os.path.dirname(self.args.out)
        try:
            for label, argv in (("clean `swift build` (debug)", ["swift", "build", "--scratch-path", scratch]),
                                ("`swift test` (builds the tests, then runs them)", ["swift", "test", "--scratch-path", scratch])):
                logfile = os.path.join(out_dir, "build-clean.log" if "build" in argv[1] else "test.log")
                start = time.monotonic()
                with open(logfile, "w") as f:
                    result = subprocess.run(argv, cwd=self.args.repo, stdin=subprocess.DEVNULL, stdout=f,
                                            stderr=subprocess.STDOUT)
                seconds = time.monotonic() - start
                with open(logfile) as f:
                    lines = f.read().splitlines()
                summary = []
                for pattern in (r"Executed \d+ tests?", r"Test run with \d+ tests?", r"Build complete|error:"):
                    found = [l.strip() for l in lines if re.search(pattern, l)]
                    if found:
                        summary.append(found[-1][:120])
                if not summary and lines:
                    summary = [lines[-1].strip()[:120]]
                self.build_rows.append([label, f"{seconds:.1f}", result.returncode,
                                        "; ".join(f"`{line}`" for line in summary)
                                        + f" (log: out/{os.path.basename(logfile)})"])
                log(f"  {label}: {seconds:.1f} s, exit {result.returncode}")
                if argv[1] == "build":
                    self.results["debug_build"] = seconds if result.returncode == 0 else None
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def report_build(self):
        if not self.args.build:
            self.sections.append("## 5. Build and test times\n\nNot measured: run with `--build` "
                                 "(a clean debug build and the whole `swift test`, several minutes).")
            return
        self.sections.append("## 5. Build and test times (s)\n\nScratch path `.build-bench-clean`, removed afterwards; "
                             "dependencies come from SwiftPM's local cache.\n\n"
                             + table(["what", "seconds", "exit", "summary lines"], self.build_rows,
                                     ["l", "r", "r", "l"]))

    # ── profile (optional) ────────────────────────────────────────────────
    def profile(self):
        log("profile: ldd, LD_DEBUG=statistics, perf stat, strace -c, callgrind")
        text = ["## 6. Where start-up time goes (`--profile`)\n"]
        step01, step08 = self.step("step01-clone"), self.step("step08-seccomp")
        libs = [l.split()[0] for l in run(["ldd", step01]).stdout.splitlines() if "=>" in l]
        archive = [l.split()[0] for l in run(["ldd", "/lib/x86_64-linux-gnu/libarchive.so.13"]).stdout.splitlines()
                   if "=>" in l] if os.path.exists("/lib/x86_64-linux-gnu/libarchive.so.13") else []
        swift = [l for l in libs if l.startswith("libswift") or l in ("libFoundationEssentials.so", "libdispatch.so",
                                                                      "libBlocksRuntime.so")]
        linked = "libarchive.so.13" in libs
        text.append(f"* `ldd step01-clone`: {len(libs)} shared libraries besides the vDSO and the loader "
                    f"({', '.join(libs)}). Swift's own: {', '.join(swift) or 'none (the runtime is linked statically)'}. "
                    + ("libarchive is linked, with its own dependencies: " if linked else
                       "libarchive is not linked: it is dlopen()ed on the first unpack (Sources/CArchiveLoader), and "
                       "with it its own dependencies: ")
                    + f"{', '.join(sorted(set(archive) - {'libc.so.6', 'linux-vdso.so.1'}))}.")
        stats = run([step01, "-q", "/bin/true"], env=dict(os.environ, LD_DEBUG="statistics")).stderr
        first = re.search(r"total startup time in dynamic loader: ([\d,]+) cycles.*?number of relocations: (\d+)"
                          r".*?relative relocations: (\d+)", stats, re.S)
        if first:
            text.append(f"* `LD_DEBUG=statistics step01-clone`: {first.group(1)} cycles in the dynamic loader, "
                        f"{first.group(2)} symbol relocations + {first.group(3)} relative ones "
                        "(a C `/bin/true`: under 100 000 cycles, ~90 relocations).")
        if shutil.which("perf"):
            rows = []
            for label, argv in (("`/bin/true`", ["/bin/true"]), ("`unshare -f true`", ["unshare", "-f", "true"]),
                                ("`step01-clone -q /bin/true`", [step01, "-q", "/bin/true"]),
                                ("`step01-clone --help`", [step01, "--help"]),
                                ("`step08-seccomp -q /bin/true`", [step08, "-q", "/bin/true"])):
                result = run(["perf", "stat", "-x", ",", "-r", "20", "-e", "task-clock,page-faults", "--"] + argv)
                values = {}
                for line in result.stderr.splitlines():
                    parts = line.split(",")
                    if len(parts) > 2 and parts[0].replace(".", "", 1).isdigit():
                        values[parts[2]] = float(parts[0])
                rows.append([label, ms(values.get("task-clock")), f"{values.get('page-faults', 0):.0f}"])
            text.append("\n`perf stat -r 20 -e task-clock,page-faults` (children included; hardware counters "
                        "are not available in this VM):\n\n" + table(["command", "CPU ms", "page faults"], rows))
        if shutil.which("strace"):
            rows = []
            for name in ("step01-clone", "step05-cgroup", "step08-seccomp"):
                trace = os.path.join(self.temp, f"strace-{name}")
                run(["strace", "-f", "-c", "-o", trace, self.step(name), "-q", "/bin/true"])
                with open(trace) as f:
                    lines = f.read().splitlines()
                total = next((l.split() for l in lines if l.strip().endswith("total")), None)
                body = [l.split() for l in lines if re.match(r"\s*\d", l) and not l.strip().endswith("total")]
                top = sorted(body, key=lambda p: -int(p[3]))[:6]
                rows.append([name, total[3] if total else "?", ", ".join(f"{p[-1]} {p[3]}" for p in top)])
                os.unlink(trace)
            text.append("\n`strace -f -c` (runtime + container, until exec):\n\n"
                        + table(["step", "syscalls", "most frequent"], rows, ["l", "r", "l"]))
        if shutil.which("valgrind") and shutil.which("strip") and shutil.which("callgrind_annotate"):
            # valgrind cannot read the Swift binaries' DWARF ("Possibly corrupted debuginfo"): profile a copy without it.
            stripped = os.path.join(self.temp, "step01-clone")
            shutil.copy2(step01, stripped)
            run(["strip", "-g", stripped])
            rows = []
            out = os.path.join(self.temp, "callgrind.out")
            for label, argv in (("C `/bin/true`", ["/bin/true"]), ("`unshare -f true`", ["unshare", "-f", "true"]),
                                ("`step01-clone -q /bin/true` (parent only)", [stripped, "-q", "/bin/true"])):
                result = run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--"] + argv)
                found = re.search(r"Collected : (\d+)", result.stderr)
                rows.append([label, f"{int(found.group(1)):,}" if found else "?"])
            annotate = run(["callgrind_annotate", "--inclusive=yes", out]).stdout
            interesting = [("dynamic loader: `_dl_relocate_object`", r"_dl_relocate_object"),
                           ("command line: `StepOptions.parse`", r"11StepOptionsV5parse"),
                           ("  `swift_conformsToProtocol*` (conformance scan)", r"swift_conformsToProtocolMaybeInstantiateSuperclasses"),
                           ("  `swift_getTypeByMangledName` (demangling)", r"\bswift_getTypeByMangledName\b")]
            for label, pattern in interesting:
                match = next((l for l in annotate.splitlines() if re.search(pattern, l)), None)
                if match:
                    rows.append([label, match.split()[0]])
            if os.path.exists(out):
                os.unlink(out)
            text.append("\nInstructions executed (`valgrind --tool=callgrind`; inclusive counts for step01's parts):\n\n"
                        + table(["what", "instructions"], rows))
        text.append("\n" + self.kernel_costs())
        self.sections.append("\n".join(text))

    def kernel_costs(self):
        """Two kernel operations the steps pay for on every run, timed alone (ctypes, no process start)."""
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        rows = []
        # 1. cgroup v1: the first write of a PID to cgroup.procs after a quiet spell waits for an RCU grace
        #    period (cgroup_threadgroup_rwsem taken for writing); v2's clone3(CLONE_INTO_CGROUP) does not migrate.
        v1, _ = self.cgroup_mounts()
        if "cpu" in v1:
            # Two groups under a parent of our own: never write to a group the machine made.
            parent = os.path.join(v1["cpu"], f"wsbench-attach-{os.getpid()}")
            group, other = os.path.join(parent, "a"), os.path.join(parent, "b")
            for directory in (parent, group, other):
                os.mkdir(directory)
            sleeper = subprocess.Popen(["sleep", "60"])
            first, again = [], []
            try:
                for _ in range(15):
                    time.sleep(0.05)
                    for target, bucket in ((group, first), (other, again)):
                        start = time.perf_counter_ns()
                        with open(os.path.join(target, "cgroup.procs"), "w") as f:
                            f.write(str(sleeper.pid))
                        bucket.append((time.perf_counter_ns() - start) / 1e6)
            finally:
                sleeper.kill()
                sleeper.wait()
                for directory in (group, other, parent):
                    for _ in range(100):
                        try:
                            os.rmdir(directory)
                            break
                        except OSError:
                            time.sleep(0.01)
            rows.append(["cgroup v1: write a PID to `cpu/…/cgroup.procs`, first after 50 ms idle",
                         ms(median(first), 2), ms(max(first), 2)])
            rows.append(["  the same write right after (grace period already passed)", ms(median(again), 2),
                         ms(max(again), 2)])
        # 2. overlayfs: unmounting (what the container's exit does to its mount namespace) syncs the upper
        #    file system unless the overlay is mounted with `volatile` (Linux 5.10+).
        image = None
        images = os.path.join(self.workshop_home(), "images")
        for name in sorted(os.listdir(images)) if os.path.isdir(images) else []:
            if re.fullmatch(r"[0-9a-f]{64}", name):
                image = os.path.join(images, name)
        scratch_parent = self.workshop_home()   # the same file system as the kit's run directories
        if image:
            scratch = tempfile.mkdtemp(prefix="wsbench-ovl-", dir=scratch_parent)
            try:
                for options, label in (("", "overlayfs: umount (upper on the kit's file system), default"),
                                       (",volatile", "  the same with `-o volatile`")):
                    times = []
                    for i in range(15):
                        base = os.path.join(scratch, f"{len(options)}-{i}")
                        for part in ("upper", "work", "root"):
                            os.makedirs(os.path.join(base, part))
                        data = f"lowerdir={image},upperdir={base}/upper,workdir={base}/work{options}"
                        if libc.mount(b"overlay", f"{base}/root".encode(), b"overlay", 0, data.encode()) != 0:
                            times = None
                            break
                        with open(os.path.join(base, "root", "tmp", "written"), "wb") as f:
                            f.write(b"x" * 65536)   # the container wrote something
                        start = time.perf_counter_ns()
                        libc.umount2(f"{base}/root".encode(), 0)
                        times.append((time.perf_counter_ns() - start) / 1e6)
                        shutil.rmtree(base)
                    rows.append([label, ms(median(times), 2) if times else "mount failed",
                                 ms(max(times), 2) if times else ""])
            finally:
                with open("/proc/self/mountinfo") as f:
                    for mount in [l.split()[4] for l in f if l.split()[4].startswith(scratch)]:
                        libc.umount2(mount.encode(), 2)
                shutil.rmtree(scratch, ignore_errors=True)
        return ("Kernel operations the steps pay for, timed alone (15 tries each):\n\n"
                + table(["operation", "median ms", "max ms"], rows))

    # ── report ────────────────────────────────────────────────────────────
    def machine(self):
        model = "?"
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        cgroupfs = run(["stat", "-fc", "%T", "/sys/fs/cgroup"]).stdout.strip()
        layout = {"cgroup2fs": "cgroup v2 (unified)"}.get(cgroupfs, "cgroup v1" + (
            " (hybrid: cgroup2 at /sys/fs/cgroup/unified)" if os.path.ismount("/sys/fs/cgroup/unified") else ""))
        def version(argv):
            try:
                return run(argv).stdout.strip().splitlines()[0]
            except (OSError, IndexError):
                return "not installed"
        commit = run(["git", "-C", self.args.repo, "describe", "--always", "--dirty"]).stdout.strip()
        rows = [
            ["kernel", platform.release()], ["CPUs (nproc)", os.cpu_count()], ["CPU model", model],
            ["/sys/fs/cgroup", f"{cgroupfs}: {layout}"],
            ["load average at start / end", f"{self.load_before[0]:.2f} / {os.getloadavg()[0]:.2f} (1 min)"],
            ["swift", version(["swift", "--version"])], ["runc", version(["runc", "--version"])],
            ["hyperfine", version(["hyperfine", "--version"])], ["commit", commit],
            ["nice", f"{os.nice(0)} (every timed command inherits it)"],
            ["binaries", f"`{os.path.relpath(self.bin, self.args.repo)}` (release)"],
            ["date", time.strftime("%Y-%m-%d %H:%M:%S %Z")],
        ]
        return table(["", ""], rows, ["l", "l"])

    def evaluate_targets(self):
        c = self.cmds
        s08 = median(c["step08-seccomp"].times)
        floor, runc = self.results.get("floor"), self.results.get("runc")
        t = []
        if s08 and runc:
            t.append(("step08 `/bin/true` ≥ 3× faster than `runc run`", f"{runc / s08:.2f}× ({ms(runc)} vs {ms(s08)} ms)",
                      runc / s08 >= 3))
        else:
            t.append(("step08 `/bin/true` ≥ 3× faster than `runc run`", "runc not measured", None))
        t.append(("step08 within 2.5× the unshare…chroot floor",
                  f"{s08 / floor:.2f}× ({ms(s08)} vs {ms(floor)} ms)" if s08 and floor else "n/a",
                  (s08 / floor <= 2.5) if s08 and floor else None))
        per_run = self.results.get("per_run")
        t.append(("cached prepare + per-run root < 5 ms", f"{ms(per_run, 2)} ms (estimate, step03 − step02)",
                  (per_run < 5) if per_run is not None else None))
        cold, tar = self.results.get("cold"), self.results.get("tar")
        t.append(("cold unpack ≤ `tar xzf`", f"{ms(cold)} vs {ms(tar)} ms" if cold and tar else "n/a",
                  (cold <= tar) if cold and tar else None))
        for row in self.cpu_rows:
            err = row["error"]
            met = (abs(err) <= 1.5) if err is not None else None
            measured = f"{err:+.2f} points" if err is not None else row["note"] or "n/a"
            held_by_load = err is not None and err < -1.5 and (row.get("waiting") or 0) * 100 >= -err / 2
            if met is False and held_by_load:
                met = None
                measured += f" — inconclusive: the loop waited {row['waiting'] * 100:.0f}% of the time for a CPU"
            t.append((f"CPU share within ±1.5 points at --cpus {row['target']:g}", measured, met))
        build = self.results.get("debug_build")
        t.append(("clean debug build < 90 s", f"{build:.1f} s" if build else ("not measured (use --build)" if not self.args.build else "failed"),
                  (build < 90) if build else None))
        rows = [[what, measured, {True: "met", False: "**missed**", None: "—"}[met]] for what, measured, met in t]
        self.sections.append("## Targets (reported, never asserted)\n\n" + table(["target", "measured", "result"], rows,
                                                                                 ["l", "l", "c"]))

    @staticmethod
    def kit_run_is_live(path):
        """Does a live runtime hold the run lock of the kit id in `path`? (Then it is a concurrent run, not ours.)"""
        import fcntl
        found = re.search(r"([0-9a-f]{12})(\.lock)?$", path)
        if not found:
            return False
        try:
            fd = os.open(f"/run/workshop/{found.group(1)}.lock", os.O_RDWR | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        except OSError:
            return True
        finally:
            os.close(fd)

    def leftovers(self):
        after = self.snapshot()
        for _ in range(20):   # a concurrent user's runtime may be finishing: give it a moment
            if not any(set(after[k]) - set(self.before[k]) for k in ("cgroups", "runs", "locks")):
                break
            time.sleep(0.25)
            after = self.snapshot()
        lines = []
        for key, label in (("cgroups", "kit cgroups (/sys/fs/cgroup/*/workshop/*)"), ("runc_cgroups", "runc cgroups"),
                           ("runs", f"run directories in {self.workshop_home()}/containers"),
                           ("locks", "run locks in /run/workshop"),
                           ("runc", "runc containers (`runc list`)"), ("mounts", "mounts under the temp directory")):
            new = sorted(set(after[key]) - set(self.before[key]))
            ours = [x for x in after[key] if "wsbench-" in x] if key in ("runc", "runc_cgroups", "mounts") else []
            leftover = sorted(set(new) | set(ours))
            live = [x for x in leftover if key in ("cgroups", "runs", "locks") and self.kit_run_is_live(x)]
            leftover = [x for x in leftover if x not in live]
            if live:
                lines.append(f"* {label}: {len(live)} held by a live runtime (a concurrent user of the kit, not this harness)")
            lines.append(f"* {label}: " + ("none" if not leftover else f"**{len(leftover)} left**: {', '.join(leftover[:5])}"
                                           + (" (may belong to a concurrent user of the kit)" if key in ("cgroups", "runs", "locks") else "")))
        lines.append(f"* temporary directory {self.temp}: {'removed' if not os.path.exists(self.temp) else '**still there**'}")
        return "\n".join(lines)

    def cleanup(self):
        for child in list(self.children):
            if child.poll() is None:
                for kid in self.children_of(child.pid):
                    try:
                        os.kill(kid, signal.SIGKILL)
                    except OSError:
                        pass
                child.kill()
            child.wait()
        if shutil.which("runc"):
            listing = run(["runc", "list", "-q"])
            for ident in listing.stdout.split():
                if ident in self.runc_ids:
                    run(["runc", "delete", "-f", ident])
        with open("/proc/self/mountinfo") as f:
            mounts = [line.split()[4] for line in f if line.split()[4].startswith(self.temp)]
        for mount in sorted(mounts, key=len, reverse=True):
            run(["umount", "-l", mount])
        shutil.rmtree(self.temp, ignore_errors=True)

    def write(self):
        header = (f"# Container workshop kit: benchmarks\n\nMachine and run:\n\n{self.machine()}\n")
        body = "\n\n".join(self.sections)
        load_after = os.getloadavg()[0]
        if self.load_before[0] >= 0.5 * (os.cpu_count() or 1):   # at the end it includes our own load
            self.notes.append(f"The machine was busy (1-min load {self.load_before[0]:.2f} at start, {load_after:.2f} at end, "
                              f"{os.cpu_count()} CPUs): medians carry that noise; trust the `min` column and the "
                              "bootstrap intervals more than small differences.")
        if self.outside_kills:
            self.notes.append(
                f"{self.outside_kills} of our containers were SIGKILLed from outside (runtime exit 137 without our "
                "kill): something swept the kit's cgroups while they were live. Before commit 0d47d7c the kit's "
                "own stale-group sweep (`ControlGroup.removeStale`) judged liveness by "
                "`$WORKSHOP_HOME/containers/<id>.lock`, so any step05+ run with another WORKSHOP_HOME (tests, a "
                "second checkout) killed them. Those invocations were retried.")
        notes = "\n".join(f"* {n}" for n in self.notes)
        text = header + "\n" + body + ("\n\n## Notes\n\n" + notes if notes else "") + \
            "\n\n## Left behind\n\n" + self.leftovers() + "\n"
        os.makedirs(os.path.dirname(self.args.out), exist_ok=True)
        with open(self.args.out, "w") as f:
            f.write(text)
        print(text)
        log(f"wrote {self.args.out}")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repo", required=True)
    parser.add_argument("--bin", required=True, help="directory with the release step binaries")
    parser.add_argument("--tarball", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--build", action="store_true", help="also time a clean debug build and swift test")
    parser.add_argument("--profile", action="store_true", help="also profile start-up")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--no-hyperfine", action="store_true")
    parser.add_argument("--unpack-runs", type=int, default=5)
    parser.add_argument("--throttle-runs", type=int, default=10)
    parser.add_argument("--cpus", nargs="+", default=["0.1", "0.5", "1.0"])
    parser.add_argument("--cpu-start", type=float, default=1.0)
    parser.add_argument("--cpu-end", type=float, default=5.0)
    parser.add_argument("--nice", type=int, default=0,
                        help="run the whole harness (and so every command it times) at this nice increment, "
                             "e.g. -10 on a busy machine")
    args = parser.parse_args()
    if args.nice:
        os.nice(args.nice)

    def stop(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)

    bench = Bench(args)
    status = 0
    try:
        bench.prepare()
        bench.startup()
        bench.report_startup()
        bench.rootfs()
        bench.report_rootfs()
        bench.cpu_accuracy()
        bench.report_cpu()
        if args.build:
            bench.build()
        bench.report_build()
        if args.profile:
            bench.profile()
        bench.evaluate_targets()
    except KeyboardInterrupt:
        log("interrupted: cleaning up")
        status = 130
    except Exception:
        import traceback
        traceback.print_exc()
        status = 1
    finally:
        bench.cleanup()
    if status == 0:
        bench.write()
    else:
        log(f"left behind: \n{bench.leftovers()}")
    return status


if __name__ == "__main__":
    sys.exit(main())
