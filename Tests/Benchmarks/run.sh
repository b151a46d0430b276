#!/usr/bin/env bash
# Benchmarks for the container workshop kit: start-up of the eight steps next
# to unshare and runc, the cost of each layer, the root filesystem, the CPU
# limit's accuracy and (with --build) build and test times.
#
#   sudo Tests/Benchmarks/run.sh            # about 3-5 minutes
#   sudo Tests/Benchmarks/run.sh --build    # + clean debug build and swift test (several minutes more)
#   sudo Tests/Benchmarks/run.sh --profile  # + where start-up time goes (ldd, LD_DEBUG, strace, callgrind)
#
# Options (the rest are passed to bench.py, see `bench.py --help`):
#   --build            also time a clean `swift build` (debug) and `swift test`
#   --profile          also profile start-up (strace -c, LD_DEBUG=statistics, callgrind)
#   --rounds N         interleaved rounds for table 1 (default 10)
#   --runs N           runs per command per round (default 10)
#   --no-hyperfine     use the plain Python timing loop even if hyperfine is installed
#   --nice N           run at nice increment N (e.g. -10 on a busy machine; commands inherit it)
#   --skip-release-build  use the binaries already in .build-bench (for iterating on the harness)
#
# Writes Tests/Benchmarks/out/latest.md (and prints it). Never fails because a
# target is missed: the exit code is non-zero only if the harness itself failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/../.." && pwd))
cd "$repo"

log() { printf '[bench] %s\n' "$*" >&2; }

if [[ $(id -u) -ne 0 ]]; then
    echo "run.sh: must be run as root (the steps create namespaces, mounts and cgroups)" >&2
    exit 1
fi

skip_release_build=0
pass=()
for arg in "$@"; do
    case "$arg" in
        --skip-release-build) skip_release_build=1 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) pass+=("$arg") ;;
    esac
done

# ── tools ────────────────────────────────────────────────────────────────
# command -> Debian package; installed with apt-get only when missing.
declare -A packages=(
    [hyperfine]=hyperfine [runc]=runc [unshare]=util-linux [chroot]=coreutils
    [tar]=tar [gzip]=gzip [pgrep]=procps [python3]=python3 [git]=git
)
missing=()
for tool in "${!packages[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("${packages[$tool]}")
done
if ((${#missing[@]})); then
    log "installing with apt-get: ${missing[*]}"
    apt-get update -qq >&2 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2 || log "apt-get failed; going on with what is there"
fi
command -v python3 >/dev/null || { echo "run.sh: python3 is required" >&2; exit 1; }

# ── the Alpine tarball ───────────────────────────────────────────────────
if [[ -z ${WORKSHOP_ALPINE_TARBALL:-} ]]; then
    candidate="$repo/../shared/rootfs/alpine-minirootfs-3.20.3-$(uname -m).tar.gz"
    if [[ -f $candidate ]]; then
        WORKSHOP_ALPINE_TARBALL=$(cd "$(dirname "$candidate")" && pwd)/$(basename "$candidate")
        export WORKSHOP_ALPINE_TARBALL
    fi
fi
if [[ -z ${WORKSHOP_ALPINE_TARBALL:-} || ! -f ${WORKSHOP_ALPINE_TARBALL} ]]; then
    echo "run.sh: set WORKSHOP_ALPINE_TARBALL to the Alpine minirootfs tarball (not found at ../shared/rootfs)" >&2
    exit 1
fi
log "rootfs tarball: $WORKSHOP_ALPINE_TARBALL"

# ── release binaries, in our own scratch path (another engineer builds in .build) ──
mkdir -p "$here/out"
scratch=.build-bench
if ((skip_release_build == 0)); then
    log "swift build -c release --scratch-path $scratch (log: Tests/Benchmarks/out/build-release.log)"
    start=$(date +%s.%N)
    if ! swift build -c release --scratch-path "$scratch" >"$here/out/build-release.log" 2>&1; then
        tail -30 "$here/out/build-release.log" >&2
        echo "run.sh: release build failed" >&2
        exit 1
    fi
    log "release build took $(python3 -c "print(f'{$(date +%s.%N) - $start:.1f}')") s"
fi
bin=$(swift build -c release --scratch-path "$scratch" --show-bin-path 2>/dev/null)
[[ -x $bin/step08-seccomp ]] || { echo "run.sh: no release binaries in $bin" >&2; exit 1; }

exec python3 "$here/bench.py" --repo "$repo" --bin "$bin" --tarball "$WORKSHOP_ALPINE_TARBALL" \
    --out "$here/out/latest.md" "${pass[@]+"${pass[@]}"}"
