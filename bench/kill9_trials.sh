#!/usr/bin/env bash
# kill -9 trials of the record's write path (docs/record.md, "How the record
# is written"): a pass applying many pins of one commit is killed at a random
# moment, then a new `sluice reconcile --once` recovers. After each recovery
# the remote record must show, for every adapter run, the `applying` event
# that announced it (nothing lost: it was durable before the adapter
# started), and no app whose last event is `applying` (every interrupted
# apply resolved). Counts are printed; the script exits 1 if either is ever
# violated.
#
#   bench/kill9_trials.sh                    # 100 trials, 20 pins each
#   bench/kill9_trials.sh --trials 10 --pins 5
#
# Options:
#   --trials N     trials (default 100)
#   --pins P       pins changed by each trial's commit, all in one environment (default 20)
#   --max-delay MS the kill comes 0..MS milliseconds after the pass starts (default 1500)
#   --sluice PATH  the binary (default build/controller/sluice)
#   --work DIR     working directory (default: a new temp dir, removed at exit)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

trials=100 pins=20 max_delay=1500 sluice="$root/build/controller/sluice" work=""
while [ $# -gt 0 ]; do
  case "$1" in
    --trials) trials="$2"; shift 2 ;;
    --pins) pins="$2"; shift 2 ;;
    --max-delay) max_delay="$2"; shift 2 ;;
    --sluice) sluice="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "kill9_trials.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -x "$sluice" ] || { echo "kill9_trials.sh: $sluice is not built (cmake --build build)" >&2; exit 2; }
if [ -z "$work" ]; then work=$(mktemp -d); keep=0; else mkdir -p "$work"; keep=1; fi
daemon_pid="" pass_pid=""
cleanup() {
  [ -n "$pass_pid" ] && kill -9 "$pass_pid" 2>/dev/null || true
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  [ "$keep" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
log() { echo "kill9_trials.sh: $*" >&2; }
export GIT_AUTHOR_NAME="Trial Author" GIT_AUTHOR_EMAIL=author@trial.example
export GIT_COMMITTER_NAME="Trial Author" GIT_COMMITTER_EMAIL=author@trial.example

# ------------------------------------------------------------ repository
# Every pin runs scripts/trial.sh, which appends "<app> <digest>" to the
# stamps file when it starts (the adapter ran) and takes a moment, so kills
# land mid-apply too.
mkdir -p "$work/srv" "$work/tmp"
stamps="$work/tmp/kill9-stamps"
bench/generate.sh --out "$work/srv/env.git" --envs 1 --apps "$pins" --commits 1 --notes-every 0 \
  --command scripts/trial.sh >/dev/null
git clone -q "$work/srv/env.git" "$work/author"
printf '#!/bin/sh\necho "$SLUICE_APP $SLUICE_DIGEST" >> "${TMPDIR:-/tmp}/kill9-stamps"\nsleep 0.02\n' \
  >"$work/author/scripts/trial.sh"
. "$root/bench/lib.sh"
commit_trial_adapter "$work/author"
serve_env_repo "$work/srv" "$work/daemon.log" kill9_trials.sh
reconcile() { TMPDIR="$work/tmp" "$sluice" reconcile --once --repo "$url" --workdir "$work/wd" --log-level off --format json "$@"; }
log "first pass over $pins pins"
reconcile >/dev/null || true

# ------------------------------------------------------------ trials
killed_mid_pass=0 runs=0 announced=0 lost=0 unresolved=0 reapplied=0
for trial in $(seq "$trials"); do
  for f in "$work/author"/environments/e00/apps/*.yaml; do
    d=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
    sed -i "s/digest: sha256:[0-9a-f]*/digest: sha256:$d/" "$f"
  done
  git -C "$work/author" commit -q -am "trial $trial: $pins pins"
  git -C "$work/author" push -q origin HEAD:main
  head=$(git -C "$work/author" rev-parse HEAD)
  : >"$stamps"
  # The binary itself in the background (not a shell function: $! would be
  # a subshell, and kill -9 would miss sluice).
  TMPDIR="$work/tmp" "$sluice" reconcile --once --repo "$url" --workdir "$work/wd" \
    --log-level off >/dev/null 2>&1 &
  pass_pid=$!
  delay=$((RANDOM % (max_delay + 1)))
  sleep "$(awk -v ms="$delay" 'BEGIN { printf "%.3f", ms / 1000 }')"
  if kill -9 "$pass_pid" 2>/dev/null; then killed_mid_pass=$((killed_mid_pass + 1)); fi
  wait "$pass_pid" 2>/dev/null || true
  pass_pid=""
  # Recovery: a new process finishes the work (an interrupted exec apply is
  # applied again: exec cannot observe what runs).
  reconcile >"$work/recover.json" 2>>"$work/recover.log" || true
  note=$(git --git-dir="$work/srv/env.git" notes --ref=sluice show "$head" 2>/dev/null || true)
  while read -r app digest; do
    [ -n "$app" ] || continue
    runs=$((runs + 1))
    if printf '%s\n' "$note" | grep -F "\"app\":\"$app\"" | grep -F "\"event\":\"applying\"" \
        | grep -qF "\"digest\":\"$digest\""; then
      announced=$((announced + 1))
    else
      lost=$((lost + 1)); log "trial $trial: $app ran $digest with no applying event on the remote"
    fi
  done <"$stamps"
  reapplied=$((reapplied + $(cut -d' ' -f1 "$stamps" | sort | uniq -d | wc -l)))
  for f in "$work/author"/environments/e00/apps/*.yaml; do
    app=$(basename "$f" .yaml)
    last=$(printf '%s\n' "$note" | grep -F "\"app\":\"$app\"" | tail -1 | grep -o '"event":"[a-z-]*"' || true)
    if [ "$last" = '"event":"applying"' ] || [ -z "$last" ]; then
      unresolved=$((unresolved + 1)); log "trial $trial: $app ends with ${last:-no event} after recovery"
    fi
  done
  [ $((trial % 10)) -ne 0 ] || log "$trial/$trials trials: $runs adapter runs, $lost lost, $unresolved unresolved"
done

echo "trials: $trials ($killed_mid_pass killed while the pass ran), $pins pins each"
echo "adapter runs: $runs; announced on the remote before or after recovery: $announced"
echo "adapter runs with no applying event on the remote (must be 0): $lost"
echo "apps left applying or without an event after recovery (must be 0): $unresolved"
echo "apps applied twice after a kill (exec cannot observe; expected): $reapplied"
[ "$lost" = 0 ] && [ "$unresolved" = 0 ]
