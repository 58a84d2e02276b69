#!/usr/bin/env bash
# The house format (.clang-format: Google style, 100 columns) for every C++
# file of the project.
#
#   scripts/format.sh          # rewrite the files that differ
#   scripts/format.sh --check  # list them and exit 1 (the test suite runs this)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v clang-format >/dev/null 2>&1; then
  echo "format: clang-format is not installed; run scripts/install-deps.sh" >&2
  exit 2
fi

mapfile -t files < <(find controller tests bench fuzz -type f \( -name '*.cc' -o -name '*.h' \) \
                       -not -path '*/node_modules/*' | sort)

if [ "${1:-}" = "--check" ]; then
  bad=()
  for f in "${files[@]}"; do
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then bad+=("$f"); fi
  done
  if [ ${#bad[@]} -gt 0 ]; then
    echo "format: ${#bad[@]} of ${#files[@]} files differ from .clang-format:" >&2
    printf '  %s\n' "${bad[@]}" >&2
    echo "format: run scripts/format.sh to rewrite them" >&2
    exit 1
  fi
  echo "format: ${#files[@]} files match .clang-format"
  exit 0
fi

clang-format -i "${files[@]}"
echo "format: ${#files[@]} files formatted"
