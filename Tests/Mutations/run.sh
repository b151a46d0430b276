#!/usr/bin/env bash
# Mutation run over the step tests: removes (or neutralises) one isolation line
# at a time, rebuilds, and runs the tests that must notice. A mutation no test
# notices is a hole in the tests. Root; takes 10-20 minutes; not part of CI.
#
#   sudo Tests/Mutations/run.sh                 # every mutation, each with its own test filter
#   sudo Tests/Mutations/run.sh s03-chdir s04-keys   # only these
#   sudo Tests/Mutations/run.sh --broad         # each mutation against the whole suite
#   sudo Tests/Mutations/run.sh --list          # the table of mutations, nothing run
#   Tests/Mutations/run.sh --check              # does every mutation still apply? (prints each diff; no build)
#
# MUTATION_SOURCE=DIR tests another checkout's tests against the same mutations
# (how the "before" table in README.md was made). See README.md.
set -uo pipefail
# The whole script is one block, read before it runs: a checkout that changes under a
# running harness (a rebase, an edit) cannot change what it does half-way.
{

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
source_dir=$(cd "${MUTATION_SOURCE:-$repo}" && pwd)
scratch=${MUTATION_SCRATCH:-/var/tmp/workshop-mutations/$(basename "$repo")}
tarball=${WORKSHOP_ALPINE_TARBALL:-$(dirname "$repo")/shared/rootfs/alpine-minirootfs-3.20.3-$(uname -m).tar.gz}
cgroup_parent=${WORKSHOP_TEST_CGROUP_PARENT:-workshop-mutations}

# ── The mutations ──────────────────────────────────────────────────────────
# mutation ID FILE OLD NEW FILTER [OWNER]
#   FILE    relative to the package
#   OLD     a fixed string that occurs on exactly one line of FILE
#   NEW     what replaces OLD on that line; "" deletes the whole line
#   FILTER  swift test --filter: the tests that must fail
#   OWNER   "" (these tests), who covers it ("owned elsewhere"), or "equiv" (an equivalent
#           mutation: nothing observable changes): those are run and reported, not counted
ids=() files=() olds=() news=() filters=() owners=()
mutation() { ids+=("$1"); files+=("$2"); olds+=("$3"); news+=("$4"); filters+=("$5"); owners+=("${6:-}"); }

S2=Sources/step02-namespaces/main.swift S3=Sources/step03-chroot/main.swift S4=Sources/step04-pivot-root/main.swift
S5=Sources/step05-cgroup/main.swift S6=Sources/step06-capabilities/main.swift S7=Sources/step07-userns/main.swift
S8=Sources/step08-seccomp/main.swift FS=Sources/Workshop/Filesystems.swift CG=Sources/Workshop/ControlGroup.swift
SF=Sources/Workshop/SeccompFilter.swift IM=Sources/Workshop/Image.swift ID=Sources/Workshop/IDMapping.swift
T=StepTests
# Calls that span two lines (deleted whole), and one that several steps share.
HOSTNAME_CALL=$'try check(sethostname(options.namespaces.hostname, options.namespaces.hostname.utf8.count),\n                  "sethostname")'
CAPSET='try check(ws_capset(capabilities.mask, capabilities.mask, 0), "capset")'
RPRIVATE='try check(mount(nil, "/", nil, WS_MS_REC | WS_MS_PRIVATE, nil), "make / private (mount --make-rprivate /)")'

# step02: namespaces, hostname, private propagation, /proc, lo
mutation s02-newuts      $S2 '| WS_CLONE_NEWUTS    // [step02]' '' "$T.Step02Tests/testAllNamespacesDiffer"
mutation s02-newpid      $S2 '| WS_CLONE_NEWPID    // [step02]' '' "$T.Step02Tests/testCommandIsPID1"
mutation s02-newns       $S2 '| WS_CLONE_NEWNS     // [step02]' '' "$T.Step02Tests/testAllNamespacesDiffer"
mutation s02-newipc      $S2 '| WS_CLONE_NEWIPC    // [step02]' '' "$T.Step02Tests/testAllNamespacesDiffer"
mutation s02-newnet      $S2 '| (options.namespaces.network == .none ? WS_CLONE_NEWNET : 0)' '' "$T.Step02Tests/testOnlyLoopbackIsUp"
mutation s02-sethostname $S2 "$HOSTNAME_CALL" '' "$T.Step02Tests/testHostnameIsTheContainers"
mutation s02-rprivate    $S2 "$RPRIVATE" '' "$T.Step02Tests/testMountsDoNotLeakToASharedHost"
mutation s02-proc        $S2 'try mountProc(in: root)' '' "$T.Step02Tests/testPsSeesOnlyTheContainer"
mutation s02-lo          $S2 'try check(ws_link_up("lo"), "bring lo up")' '' "$T.Step02Tests/testOnlyLoopbackIsUp"
# step03: the image through an overlay, chroot + chdir, and private mounts still
mutation s03-rprivate    $S3 "$RPRIVATE" '' "$T.Step02Tests/testMountsDoNotLeakToASharedHost"
mutation s03-overlay     $S3 'try mountOverlay(run)' 'try check(mount(run.image.path, run.rootfs, nil, WS_MS_BIND, nil), "bind the image")' "$T.Step03Tests/testImageStaysPristine"
mutation s03-chroot      $S3 'try check(chroot(root), "chroot \(root)")' '' "$T.Step03Tests/testHostFilesAreNotVisible"
mutation s03-chdir       $S3 'try check(chdir("/"), "chdir /")' '' "$T.Step03Tests/testWorkingDirectoryIsTheNewRoot"
mutation s03-proc        $S3 'try mountProc(in: root)' '' "$T.LaterStepsTests"
mutation s03-lo          $S3 'try check(ws_link_up("lo"), "bring lo up")' '' "$T.LaterStepsTests"
# step04: pivot_root, the standard mounts, masked and read-only kernel paths
mutation s04-rprivate    $S4 "$RPRIVATE" '' "$T.Step02Tests/testMountsDoNotLeakToASharedHost"
mutation s04-overlay     $S4 'try mountOverlay(run)' 'try check(mount(run.image.path, run.rootfs, nil, WS_MS_BIND, nil), "bind the image")' "$T.Step03Tests/testImageStaysPristine"
mutation s04-dev         $S4 'try mountDev(in: root, bindHostDevices: false)' '' "$T.Step04Tests/testDevNullIsTheRealDevice"
mutation s04-sys         $S4 'try mountSys(in: root, newInstance: true)' '' "$T.Step04Tests/testSysIsReadOnly"
mutation s04-protect     $S4 'try protectKernelPaths(in: root)' '' "$T.Step04Tests/testKernelFilesAreProtected"
mutation s04-chdir-root  $S4 'try check(chdir(root), "chdir \(root)")' '' "$T.Step04Tests/testChrootEscapeFails"
mutation s04-pivot       $S4 'try check(ws_pivot_root(".", "."), "pivot_root")' '' "$T.Step04Tests/testChrootEscapeFails"
mutation s04-detach      $S4 'try check(umount2(".", WS_MNT_DETACH)' '' "$T.Step04Tests/testChrootEscapeFails"
mutation s04-lo          $S4 'try check(ws_link_up("lo"), "bring lo up")' '' "$T.LaterStepsTests"
mutation ws-sys-ro       $FS 'let readOnly = WS_MS_RDONLY | WS_MS_NOSUID' 'let readOnly = WS_MS_NOSUID' "$T.Step04Tests/testSysIsReadOnly"
mutation ws-mask-keys    $FS '"/proc/kcore", "/proc/keys",' '"/proc/kcore",' "$T.Step04Tests/testKernelFilesAreProtected"
mutation ws-mask-timer   $FS '"/proc/latency_stats", "/proc/timer_list",' '"/proc/latency_stats",' "$T.Step04Tests/testKernelFilesAreProtected"
mutation ws-ro-procsys   $FS '"/proc/irq", "/proc/sys", ' '"/proc/irq", ' "$T.Step04Tests/testKernelFilesAreProtected"
# step05: the cgroup (its limits neutralised one at a time, on either layout)
mutation s05-add         $S5 'try writeFile(directory + "/cgroup.procs", "\(container.pid)")' '' "$T.LaterStepsTests"
mutation s05-cpu         $CG 'try writeFile(path, value)' 'if file != "cpu.max" && file != "cpu.cfs_quota_us" { try writeFile(path, value) }' "$T.LaterStepsTests"
mutation s05-pids        $CG 'try writeFile(path, value)' 'if file != "pids.max" { try writeFile(path, value) }' "$T.Step05Tests/testPidsLimitContainsAForkLoop"
mutation s05-memory      $CG 'try writeFile(path, value)' 'if !file.hasPrefix("memory.") { try writeFile(path, value) }' "$T.Step05Tests/testMemoryLimitOOMKills"
mutation s08-add         $S8 'try writeFile(directory + "/cgroup.procs", "\(container.pid)")' '' "$T.LaterStepsTests"
# step06: capabilities
mutation s06-bounding    $S6 'try check(ws_prctl(WS_PR_CAPBSET_DROP, UInt(number), 0, 0, 0), "prctl(PR_CAPBSET_DROP, \(number))")' '' "$T.Step06Tests/testCapabilitiesAreDockersDefault"
mutation s06-capset      $S6 "$CAPSET" '' "$T.Step06Tests/testCapabilitiesAreDockersDefault"
# step07: the user namespace
mutation s07-newuser     $S7 '| WS_CLONE_NEWUSER   // [step07]' '' "$T.Step07Tests/testHostSeesAnUnprivilegedUser"
mutation s07-setgroups   $S7 'try check(setgroups(0, nil), "setgroups")' '' "$T.Step07Tests/testHostSeesAnUnprivilegedUser"
mutation s07-setgid      $S7 'try check(setgid(0), "setgid(0)")' '' "$T.Step07Tests/testHostSeesAnUnprivilegedUser"
mutation s07-setuid      $S7 'try check(setuid(0), "setuid(0)")' '' "$T.Step07Tests/testHostSeesAnUnprivilegedUser"
mutation s07-uidmap      $S7 'try writeFile("/proc/\(container.pid)/uid_map", options.users.uidMap.map(\.description).joined(separator: "\n"))' 'try writeFile("/proc/\(container.pid)/uid_map", "0 0 65536\n")' "$T.Step07Tests/testHostSeesAnUnprivilegedUser"
mutation s08-newuser     $S8 '| WS_CLONE_NEWUSER   // [step07]' '' "$T.LaterStepsTests"
# step08: no_new_privs and the filter
mutation s08-nnp         $S8 'try check(ws_prctl(WS_PR_SET_NO_NEW_PRIVS' '' "$T.Step08Tests/testSeccompIsOn"
mutation s08-seccomp     $S8 'try SeccompFilter.install(filter)' '' "$T.Step08Tests/testSeccompIsOn"
# equivalent: nothing observable changes (see README.md); run to show it, not counted
mutation s06-ambient     $S6 'try check(ws_prctl(WS_PR_CAP_AMBIENT, UInt(WS_PR_CAP_AMBIENT_CLEAR_ALL), 0, 0, 0), "clear the ambient set")' '' "$T.Step06Tests|$T.LaterStepsTests" equiv
mutation s07-rprivate    $S7 "$RPRIVATE" '' "$T.Step02Tests/testMountsDoNotLeakToASharedHost" equiv
mutation s08-capset      $S8 "$CAPSET" '' "$T.Step06Tests/testCapabilitiesAreDockersDefault|$T.LaterStepsTests" equiv
mutation s04-chdir-after $S4 $'try check(chdir("/"), "chdir /")\n        if options.filesystem.tryEscape' 'if options.filesystem.tryEscape' "$T.Step03Tests/testWorkingDirectoryIsTheNewRoot|$T.Step04Tests" equiv
# owned elsewhere (Step08Tests' seccomp part, the image's tarball checks): run and reported, not counted here
mutation ws-arch         $SF 'code.jump(jumpIfEqual, WS_AUDIT_ARCH, then: .next, else: "kill")' 'code.jump(jumpIfEqual, WS_AUDIT_ARCH, then: .next, else: .next)' "$T.Step08Tests" seccomp
mutation ws-keyctl       $SF '"kill", "landlock_add_rule",' '"keyctl", "kill", "landlock_add_rule",' "$T.Step08Tests|WorkshopTests.SeccompFilterTests" seccomp
mutation ws-clone-user   $SF '| WS_CLONE_NEWUSER' '| 0' "$T.Step08Tests|WorkshopTests.SeccompFilterTests" seccomp
mutation ws-tar-nodotdot $IM '| ARCHIVE_EXTRACT_SECURE_NODOTDOT' '| 0' "WorkshopTests|$T.ImageTests" images
mutation ws-tar-ownchk   $IM 'if part.count == 2 && part.allSatisfy({ $0 == UInt8(ascii: ".") }) {' 'if false, part.count == 2 && part.allSatisfy({ $0 == UInt8(ascii: ".") }) {' "WorkshopTests|$T.ImageTests" images

# ── Running them ───────────────────────────────────────────────────────────
broad=0 list=0 check=0 only=()
for argument in "$@"; do
    case $argument in
        --broad) broad=1 ;;
        --list) list=1 ;;
        --check) check=1 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        -*) echo "run.sh: unknown option $argument" >&2; exit 64 ;;
        *) only+=("$argument") ;;
    esac
done

# apply INDEX FILE: prints FILE with mutation INDEX applied; fails unless OLD occurs exactly once.
apply() {
    OLD=${olds[$1]} NEW=${news[$1]} perl -0777 -ne '
        my ($old, $new) = ($ENV{OLD}, $ENV{NEW});
        my $count = () = /\Q$old\E/g;
        exit 3 unless $count == 1;
        # NEW "" deletes every line OLD touches, leaving one empty line (compiler messages keep their line numbers)
        if ($new eq "") { s/[^\n]*\Q$old\E[^\n]*/$new/ } else { s/\Q$old\E/$new/ }
        print' "$2"
}

if [ $check = 1 ]; then
    stale=0
    for i in "${!ids[@]}"; do
        if apply "$i" "$repo/${files[$i]}" > "${TMPDIR:-/tmp}/mutation.$$"; then
            echo "== ${ids[$i]}"; diff "$repo/${files[$i]}" "${TMPDIR:-/tmp}/mutation.$$" | grep '^[<>]'
        else
            echo "== ${ids[$i]}: STALE: the text is not on exactly one line of ${files[$i]}"; stale=$((stale + 1))
        fi
    done
    rm -f "${TMPDIR:-/tmp}/mutation.$$"
    exit $(( stale > 0 ))
fi

if [ $list = 1 ]; then
    for i in "${!ids[@]}"; do printf '%-16s %-40s %s\n' "${ids[$i]}" "${files[$i]#Sources/}" "${filters[$i]}${owners[$i]:+  (owned elsewhere: ${owners[$i]})}"; done
    exit 0
fi
[ "$(id -u)" = 0 ] || { echo "run.sh: the step tests need root" >&2; exit 125; }
[ -f "$tarball" ] || { echo "run.sh: no Alpine tarball at $tarball (set WORKSHOP_ALPINE_TARBALL)" >&2; exit 125; }

selected=()
for i in "${!ids[@]}"; do
    if [ ${#only[@]} = 0 ] || printf '%s\n' "${only[@]}" | grep -qx "${ids[$i]}"; then selected+=("$i"); fi
done
[ ${#selected[@]} -gt 0 ] || { echo "run.sh: no mutation named ${only[*]}" >&2; exit 64; }

# A scratch copy of the sources (not .build, not .git); its build directory is kept
# between runs, so each mutation recompiles one file and relinks.
tree=$scratch/tree build=$scratch/build home=$scratch/home
mkdir -p "$scratch"
rm -rf "$tree" && mkdir -p "$tree"
(cd "$source_dir" && tar --exclude=./.build --exclude=./.git -cf - .) | (cd "$tree" && tar -xpf -)
# The mutations always apply to *these* sources (MUTATION_SOURCE only brings its tests).
if [ "$source_dir" != "$repo" ]; then rm -rf "$tree/Sources" && cp -a "$repo/Sources" "$tree/Sources"; fi
cp -a "$tree/Sources" "$scratch/pristine-sources.tmp" && rm -rf "$scratch/pristine-sources" && mv "$scratch/pristine-sources.tmp" "$scratch/pristine-sources"

swift_build() { swift build --build-tests --package-path "$tree" --scratch-path "$build" >"$scratch/build.log" 2>&1; }

# Each test run: a fresh state directory, and a UTS and mount namespace of its own, so that
# a mutant that lost its own namespace changes a throwaway copy of the machine's, not the machine's.
# In that namespace the machine's root is read-only, all but /tmp, /var/tmp and /run: a mutant
# that leaves its container on the host's "/" (no chroot, no pivot_root) cannot delete /etc
# (a test's payload once did, before the tests proved "/" was the image before writing).
protect_root='for d in /tmp /var/tmp /run; do mount --bind "$d" "$d" || exit 125; done
    mount -o remount,bind,ro / || exit 125
    touch /etc/.workshop-mutation-probe 2>/dev/null && { echo "run.sh: / is still writable" >&2; exit 125; }
    exec "$@"'
run_tests() {   # FILTER LOG
    rm -rf "$home"
    WORKSHOP_TEST_HOME=$home WORKSHOP_TEST_CGROUP_PARENT=$cgroup_parent WORKSHOP_ALPINE_TARBALL=$tarball \
        setsid --wait timeout 900 unshare --uts --mount --propagation private -- /bin/sh -c "$protect_root" sh \
        swift test --skip-build --package-path "$tree" --scratch-path "$build" --filter "$1" >"$2" 2>&1 &
    child=$!   # a session of its own: one kill stops everything it started
    wait $child
    local status=$?
    child=
    rm -rf "$home"
    return $status
}
failed_tests() { grep -oE "Test Case '[A-Za-z0-9_.]+' failed" "$1" | sed -E "s/Test Case '([^']+)' failed/\1/" | sort -u | tr '\n' ' '; }

restore() { [ -n "${current:-}" ] && cp -p "$scratch/pristine-sources/${current#Sources/}" "$tree/$current"; current=; }
# Interrupted: restore the file, stop the test run's whole session (its containers too), and stop.
# (swift test starts the test bundle in a session of its own: it and the steps, found by their
# executables in this scratch build, are stopped one by one.)
interrupted() {
    restore
    [ -n "${child:-}" ] && kill -KILL -- "-$child" 2>/dev/null
    for exe in /proc/[0-9]*/exe; do
        case $(readlink "$exe" 2>/dev/null) in "$build"/*) pid=${exe#/proc/}; kill -KILL "${pid%/exe}" 2>/dev/null ;; esac
    done
    exit 130
}
trap restore EXIT
trap interrupted INT TERM HUP

echo "mutation run: sources $repo, tests from $source_dir, scratch $scratch"
started=$(date +%s)
swift_build || { echo "run.sh: the unmutated tree does not build (see $scratch/build.log)" >&2; exit 125; }

# The unmutated tests must pass, or a "caught" below would mean nothing.
union=$(for i in "${selected[@]}"; do [ $broad = 1 ] && echo "StepTests|WorkshopTests" || echo "${filters[$i]}"; done | sort -u | paste -sd'|')
if ! run_tests "$union" "$scratch/baseline.log"; then
    echo "run.sh: the unmutated tests fail already: $(failed_tests "$scratch/baseline.log")(see $scratch/baseline.log)" >&2
    exit 1
fi

results=$scratch/results.txt
: > "$results"
missed=0 missed_elsewhere=0 invalid=0
printf '%-16s %-8s %-9s %s\n' mutation owner result "failing tests" | tee -a "$results"
for i in "${selected[@]}"; do
    id=${ids[$i]} file=${files[$i]} filter=${filters[$i]} owner=${owners[$i]:--}
    [ $broad = 1 ] && filter="StepTests|WorkshopTests"
    current=$file
    if ! apply "$i" "$scratch/pristine-sources/${file#Sources/}" > "$tree/$file"; then
        restore
        printf '%-16s %-8s %-9s %s\n' "$id" "$owner" STALE "the text to mutate is not on exactly one line of $file" | tee -a "$results"
        invalid=$((invalid + 1)); continue
    fi
    if ! swift_build; then
        cp "$scratch/build.log" "$scratch/$id.build.log"; restore
        printf '%-16s %-8s %-9s %s\n' "$id" "$owner" NO-BUILD "see $scratch/$id.build.log" | tee -a "$results"
        invalid=$((invalid + 1)); continue
    fi
    log=$scratch/$id.log
    if run_tests "$filter" "$log"; then
        result=MISSED
        if [ "$owner" = - ]; then missed=$((missed + 1)); else missed_elsewhere=$((missed_elsewhere + 1)); fi
    else
        result=caught
    fi
    failing=$(failed_tests "$log")
    [ "$result" = caught ] && [ -z "$failing" ] && failing="(no test case failed: the run itself broke, see $log)"
    printf '%-16s %-8s %-9s %s\n' "$id" "$owner" "$result" "${failing:-}" | tee -a "$results"
    restore
done
swift_build   # leave the scratch build unmutated

total=${#selected[@]}
echo "$total mutations: $missed missed, $missed_elsewhere missed but owned elsewhere or equivalent, $invalid stale or not building; $(( $(date +%s) - started )) s" | tee -a "$results"
echo "table: $results; logs: $scratch/<mutation>.log"
[ $missed = 0 ] && [ $invalid = 0 ]
exit
}
