#!/bin/sh
# Runs each fuzz target given (default: all) for FUZZ_TIME seconds, starting from a copy of its committed corpus
# (Fuzz/corpus/<target>, never grown by the run). Exits non-zero if any target finds a crash, a timeout or an
# out-of-memory; the input that did it is left in $FUZZ_ARTIFACTS. Called by `make fuzz` after the build.
#   FUZZ_BIN        directory of the coop-fuzz-* executables (required)
#   FUZZ_TIME       seconds per target (default 30)
#   FUZZ_ARTIFACTS  where crashing inputs go (default: .build-fuzz/artifacts)
#   FUZZ_FLAGS      extra libFuzzer flags
set -u
cd "$(dirname "$0")/.."
: "${FUZZ_BIN:?FUZZ_BIN: directory of the fuzz executables}"
FUZZ_TIME=${FUZZ_TIME:-30}
FUZZ_ARTIFACTS=${FUZZ_ARTIFACTS:-.build-fuzz/artifacts}
targets=${*:-frame envelope requests}

# libFuzzer reports crashes itself; Swift's backtracer would only slow that down (minutes on a fuzz binary).
export SWIFT_BACKTRACE=enable=no
mkdir -p "$FUZZ_ARTIFACTS"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failed=""
for target in $targets; do
    mkdir -p "$work/$target"
    cp Fuzz/corpus/"$target"/* "$work/$target/"
    dict=""
    [ -f "Fuzz/$target.dict" ] && dict="-dict=Fuzz/$target.dict"
    echo "== fuzz $target: ${FUZZ_TIME}s"
    # shellcheck disable=SC2086
    "$FUZZ_BIN/coop-fuzz-$target" "$work/$target" $dict -max_total_time="$FUZZ_TIME" -max_len=65536 -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$FUZZ_ARTIFACTS/$target-" ${FUZZ_FLAGS:-} \
        >"$work/$target.log" 2>&1
    status=$?
    grep -E '^(#[0-9]+[[:space:]]+DONE|stat::|SUMMARY|==[0-9]+==|Fatal error|.*Test unit written)' "$work/$target.log"
    if [ "$status" -ne 0 ]; then
        tail -n 60 "$work/$target.log"
        echo "== fuzz $target FAILED (exit $status); reproduce: $FUZZ_BIN/coop-fuzz-$target <input>"
        failed="$failed $target"
    fi
done
if [ -n "$failed" ]; then
    echo "fuzz: failed:$failed (inputs in $FUZZ_ARTIFACTS)"
    exit 1
fi
echo "fuzz: no crash in $targets"
