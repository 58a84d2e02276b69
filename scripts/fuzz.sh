#!/usr/bin/env bash
# Runs the libFuzzer targets of fuzz/ (docs/testing.md).
#
#   scripts/fuzz.sh [--seconds N | --runs N] [target...]
#   scripts/fuzz.sh --build-only [target...]
#
# Configures and builds build-fuzz with clang 14 (-DSLUICE_FUZZ=ON: libFuzzer,
# ASan, UBSan), then runs each target (all of them by default: pin policy
# settings event scan_report forge webhook calendar) for N seconds (default
# 60), or for exactly N executions with --runs, on a copy of its seed corpus
# under build-fuzz/fuzz-runs/<target>/, so the seeds in the tree stay small.
# Prints each target's executions and time; on a crash, leak or sanitizer
# report prints the reproducer's path (copy it into fuzz/corpus/<target>/
# with the fix, so the replay test keeps it) and exits 1. --build-only stops
# after the build: scripts/test.sh then runs the 20 s smoke of each target
# (ctest --test-dir build-fuzz -L fuzz-smoke). SLUICE_FUZZ_JOBS sets the
# build's parallelism (default 1, so that a fuzzer already running keeps a core).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${SLUICE_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
SECONDS_PER_TARGET=60
RUNS=""
BUILD_ONLY=0
ALL=(pin policy settings event scan_report forge webhook calendar)
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_PER_TARGET="$2"; shift 2 ;;
    --seconds=*) SECONDS_PER_TARGET="${1#*=}"; shift ;;
    --runs) RUNS="$2"; shift 2 ;;
    --runs=*) RUNS="${1#*=}"; shift ;;
    --build-only) BUILD_ONLY=1; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -eq 0 ] && targets=("${ALL[@]}")
for t in "${targets[@]}"; do
  if [ ! -d "$ROOT/fuzz/corpus/$t" ]; then
    echo "fuzz.sh: unknown target $t (known: ${ALL[*]})" >&2
    exit 2
  fi
done

launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 "${launcher[@]}" \
  -DSLUICE_FUZZ=ON -DSLUICE_BUILD_TESTS=OFF -DSLUICE_BUILD_BENCH=OFF >/dev/null
# Only the targets, and so only the libraries they link, are built.
ninja -C "$BUILD" -j "${SLUICE_FUZZ_JOBS:-1}" "${targets[@]/#/fuzz_}"
[ "$BUILD_ONLY" = 1 ] && exit 0

failed=0
for t in "${targets[@]}"; do
  run="$BUILD/fuzz-runs/$t"
  rm -rf "$run"
  mkdir -p "$run/corpus" "$run/artifacts"
  cp "$ROOT/fuzz/corpus/$t/"* "$run/corpus/"
  if [ -n "$RUNS" ]; then
    limit=(-runs="$RUNS")
    echo "== $t: $RUNS executions"
  else
    limit=(-max_total_time="$SECONDS_PER_TARGET")
    echo "== $t: ${SECONDS_PER_TARGET}s"
  fi
  status=0
  started=$(date +%s)
  # detect_leaks stays on (the ASan default): a leak is a finding too.
  "$BUILD/fuzz/fuzz_$t" "${limit[@]}" -print_final_stats=1 \
    -artifact_prefix="$run/artifacts/" -timeout=10 -rss_limit_mb=2048 \
    "$run/corpus" >"$run/log" 2>&1 || status=$?
  grep -E '^#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::average_exec_per_sec' "$run/log" || true
  echo "$t: $(( $(date +%s) - started )) s"
  crashes=$(find "$run/artifacts" -type f | sort)
  if [ "$status" -ne 0 ] || [ -n "$crashes" ]; then
    failed=1
    echo "$t: FAILED (exit $status); log: $run/log"
    grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|fuzz contract' \
      "$run/log" || true
    for c in $crashes; do echo "$t: crash input: $c"; done
  fi
done
exit "$failed"
