#!/usr/bin/env bash
# Installs what is missing, builds Sluice with its tests, and runs every test.
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
