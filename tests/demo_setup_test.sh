#!/usr/bin/env bash
# scripts/demo.sh without SLUICE: the install and build print one line per
# step, their output goes to DEMO_DIR/setup.log, and a failing step names
# that log. dpkg-query is a stub saying every package is installed (so
# install-deps.sh installs nothing) and cmake a stub that prints a screenful
# and fails, as a broken build would.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin"
cat >"$tmp/bin/dpkg-query" <<'STUB'
#!/bin/sh
printf 'install ok installed'
STUB
cat >"$tmp/bin/cmake" <<'STUB'
#!/bin/sh
i=0
while [ $i -lt 200 ]; do echo "compiler noise line $i"; i=$((i + 1)); done
echo "error: the build broke" >&2
exit 1
STUB
chmod +x "$tmp/bin/dpkg-query" "$tmp/bin/cmake"

fail() { echo "demo_setup_test: $*" >&2; echo "--- output:" >&2; cat "$tmp/out" >&2; exit 1; }
rc=0
env -u SLUICE PATH="$tmp/bin:$PATH" DEMO_DIR="$tmp/demo" bash "$root/scripts/demo.sh" \
  >"$tmp/out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "expected the demo to stop when the build fails"
log="$tmp/demo/setup.log"
grep -q "install what is missing (scripts/install-deps.sh) ... ok" "$tmp/out" \
  || fail "no one-line install step"
grep -q "configure the build (cmake) ... failed" "$tmp/out" || fail "no one-line failed step"
grep -qF "its output is in $log" "$tmp/out" || fail "the log's path is not printed"
! grep -q "compiler noise" "$tmp/out" || fail "the build's output reached the terminal"
! grep -q "install-deps: all" "$tmp/out" || fail "install-deps' output reached the terminal"
lines=$(wc -l <"$tmp/out")
[ "$lines" -le 6 ] || fail "expected at most 6 lines before the failure, got $lines"
grep -q "compiler noise line 199" "$log" || fail "the build's output is not in $log"
grep -q "error: the build broke" "$log" || fail "the build's errors are not in $log"
grep -q "install-deps: all" "$log" || fail "install-deps' output is not in $log"
echo "demo_setup_test: ok ($lines lines on the terminal; the rest in the log)"
