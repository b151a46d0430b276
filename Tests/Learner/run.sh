#!/usr/bin/env bash
# Proof that the learner's loop works, chapter by chapter (issue 14): the starting point that
# `workshop start NN` writes builds, `workshop check NN` FAILS on it naming failing properties
# (✗ lines), and `workshop check NN --reference` passes the same checks with the kit's stepNN.
# Needs root and a built kit (swift build --build-tests). Usage: Tests/Learner/run.sh [NN ...]
# Leaves Sources/my-container/main.swift and .workshop/ as it found them.
set -euo pipefail
cd "$(dirname "$0")/../.."
chapters=("$@")
[ ${#chapters[@]} -gt 0 ] || chapters=(01 02 03 04 05 06 07 08)

workshop=$(swift build --show-bin-path)/workshop
saved=$(mktemp -d)
cp Sources/my-container/main.swift "$saved/main.swift"
[ -d .workshop ] && cp -a .workshop "$saved/state"
restore() {
    cp "$saved/main.swift" Sources/my-container/main.swift
    rm -rf .workshop
    [ -d "$saved/state" ] && cp -a "$saved/state" .workshop
    rm -rf "$saved"
}
trap restore EXIT

failures=0
for chapter in "${chapters[@]}"; do
    "$workshop" reset "$chapter" >/dev/null
    start=$(date +%s%N)
    status=0
    "$workshop" check "$chapter" > "$saved/out" 2>&1 || status=$?
    milliseconds=$(( ($(date +%s%N) - start) / 1000000 ))
    failed=$(grep -c '^✗ ' "$saved/out" || true)
    if [ "$status" -ne 1 ] || [ "$failed" -eq 0 ] || grep -q 'does not build' "$saved/out"; then
        echo "FAIL chapter $chapter: the starting point should build and fail its checks (exit $status, $failed ✗):"
        cat "$saved/out"
        failures=$((failures + 1))
    else
        echo "ok   chapter $chapter: the starting point fails $failed check(s) ($(grep '^✗ ' "$saved/out" | cut -c5- | paste -sd, -)) in ${milliseconds} ms"
    fi
    status=0
    "$workshop" check "$chapter" --reference > "$saved/out" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then
        echo "FAIL chapter $chapter: the reference step should pass its checks (exit $status):"
        cat "$saved/out"
        failures=$((failures + 1))
    else
        echo "ok   chapter $chapter: --reference $(tail -1 "$saved/out")"
    fi
done
exit $((failures > 0))
