#!/usr/bin/env bash
# Installs what is missing, builds Sluice with its tests, and runs every test,
# then the 20 s libFuzzer smoke of each fuzz target.
#   scripts/test.sh              # RelWithDebInfo build in ./build
#   SANITIZE=1 scripts/test.sh   # AddressSanitizer + UBSan build in ./build-sanitize
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

if [ "${SANITIZE:-0}" = "1" ]; then
  build=build-sanitize
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=ON
  # An UBSan report fails the test that caused it (GCC's UBSan only prints
  # and goes on by default), with the stack that led there.
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
else
  build=build
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$build" -j"$(nproc)"

# Tests that start servers pick free loopback ports themselves; running two
# test binaries at once is safe.
ctest --test-dir "$build" --output-on-failure -j2 --timeout 300

# The libFuzzer smoke (docs/testing.md): each fuzz target fuzzes for 20 s from
# its seed corpus, in a second tree built with clang 14, ASan and UBSan
# (build-fuzz, the one scripts/fuzz.sh uses for longer runs).
SLUICE_FUZZ_JOBS="$(nproc)" scripts/fuzz.sh --build-only
ctest --test-dir build-fuzz --output-on-failure -j2 -L fuzz-smoke --timeout 300
