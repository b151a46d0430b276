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
    total=$(grep -c '^[✓✗] ' "$saved/out" || true)
    # What the chapter says ("fails 7 of its 9 checks"; Japanese "9 個のうち 7 個のチェック") must be what happened.
    page=$(ls Chapters/"$chapter"-*.md)
    quoted=$(tr '\n' ' ' < "$page" | grep -oE "\`check $chapter\` fails [0-9]+ of its [0-9]+ checks" | awk '{print $4 "/" $7}' | head -1)
    quoted_ja=$(tr '\n' ' ' < "Chapters/ja/${page#Chapters/}" | grep -oE "\`check $chapter\` は [0-9]+ 個のうち [0-9]+ 個のチェック" \
        | awk '{print $6 "/" $4}' | head -1)
    if [ "$status" -ne 1 ] || [ "$failed" -eq 0 ] || grep -q 'does not build' "$saved/out"; then
        echo "FAIL chapter $chapter: the starting point should build and fail its checks (exit $status, $failed ✗):"
        cat "$saved/out"
        failures=$((failures + 1))
    elif [ "$quoted" != "$failed/$total" ] || [ "$quoted_ja" != "$failed/$total" ]; then
        echo "FAIL chapter $chapter: the starting point fails $failed of $total checks; $page says ${quoted:-nothing}, its Japanese twin ${quoted_ja:-nothing}:"
        grep '^[✓✗] ' "$saved/out"
        failures=$((failures + 1))
    else
        echo "ok   chapter $chapter: the starting point fails $failed of $total checks, as the chapter says ($(grep '^✗ ' "$saved/out" | cut -c5- | cut -c-32 | paste -sd';' -)) in ${milliseconds} ms"
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

# The "Extend it" exercises (02-08; chapter 01's is a look, nothing kept): the answer in
# Chapters/solutions/NN.md (its diff) applied to the kit's stepNN makes `workshop check NN --extend`
# pass, and the solution page's `swift run my-container` commands give what the page says
# (DocCommandTests with WORKSHOP_DOC_SOLUTION); every wrong answer in Tests/Learner/wrong/NN-*.diff
# fails it; the kit's stepNN fails it too (`--reference`; swift test proves that as well).
for chapter in "${chapters[@]}"; do
    [ "$chapter" = 01 ] && continue
    "$workshop" start "$chapter" --extend --force >/dev/null
    if ! "$workshop" solution "$chapter" --extend --diff | git apply -; then
        echo "FAIL chapter $chapter: the answer in Chapters/solutions/$chapter.md does not apply to step $chapter"
        failures=$((failures + 1))
        continue
    fi
    start=$(date +%s%N)
    status=0
    "$workshop" check "$chapter" --extend > "$saved/out" 2>&1 || status=$?
    milliseconds=$(( ($(date +%s%N) - start) / 1000000 ))
    if [ "$status" -ne 0 ]; then
        echo "FAIL chapter $chapter: its extension check should pass with the answer applied (exit $status):"
        cat "$saved/out"
        failures=$((failures + 1))
    else
        echo "ok   chapter $chapter: the answer passes the extension check ($(grep -c '^✓ ' "$saved/out") ✓) in ${milliseconds} ms"
    fi
    if grep -q 'swift run my-container' "Chapters/solutions/$chapter.md"; then
        status=0
        WORKSHOP_DOC_SOLUTION=$chapter swift test --skip-build --disable-swift-testing \
            --filter DocCommandTests/testEveryDocumentedCommandRunsAsWritten > "$saved/out" 2>&1 || status=$?
        if [ "$status" -ne 0 ]; then
            echo "FAIL chapter $chapter: the commands of Chapters/solutions/$chapter.md, run with the answer built:"
            grep -E 'error|doc commands' "$saved/out"
            failures=$((failures + 1))
        else
            echo "ok   chapter $chapter: $(grep -o 'doc commands of .*' "$saved/out")"
        fi
    fi
    for wrong in Tests/Learner/wrong/"$chapter"-*.diff; do
        [ -e "$wrong" ] || continue
        "$workshop" start "$chapter" --extend --force >/dev/null
        git apply "$wrong"
        status=0
        "$workshop" check "$chapter" --extend > "$saved/out" 2>&1 || status=$?
        if [ "$status" -ne 1 ] || grep -q 'does not build' "$saved/out"; then
            echo "FAIL chapter $chapter: the wrong answer $wrong should build and fail the extension check (exit $status):"
            cat "$saved/out"
            failures=$((failures + 1))
        else
            echo "ok   chapter $chapter: the wrong answer $(basename "$wrong" .diff) fails $(grep -c '^✗ ' "$saved/out") check(s)"
        fi
    done
    status=0
    "$workshop" check "$chapter" --extend --reference > "$saved/out" 2>&1 || status=$?
    if [ "$status" -ne 1 ]; then
        echo "FAIL chapter $chapter: the kit's step $chapter has no extension: its check should fail (exit $status):"
        cat "$saved/out"
        failures=$((failures + 1))
    else
        echo "ok   chapter $chapter: the kit's step fails the extension check, as it should"
    fi
done
exit $((failures > 0))
