#!/usr/bin/env bash
# kill -9 trials with replicas (issue 17, docs/operations.md "High
# availability (etcd)"): 2 or 3 `sluice controller --etcd` replicas share six
# environments of a repository served by git daemon, against a real etcd.
# Each trial pushes a commit that changes every pin, kills one replica with
# kill -9 at a random moment, measures how long the others take to own its
# environments (from the kill until no owner key is on the dead replica's
# lease and every environment has an owner), restarts it, and waits until
# every change has an outcome. At the end, per change (env, app, digest), the
# adapter runs (the adapter's own start/end stamps) are compared with the
# `applying` events of the remote record:
#
#   double applies  a change run again although the replica that ran it
#                   before was not killed in between (the adapter stamps its
#                   parent's pid, the script stamps each kill), or a run
#                   started while another run of it was still alive
#                   (overlap, seen by the adapter itself): must be 0
#   lost events     adapter runs with no `applying` event announcing them: 0
#   unresolved      changes whose last event (by time, as the readers take
#                   it) is `applying` or none once the replicas have
#                   settled: 0
#   reapplied       runs again because a run died with its replica, or
#                   completed but its replica died before recording the
#                   outcome (the crash-recovery rule: exec cannot observe
#                   what ran, so it applies again; expected)
#
# The script exits 1 when a double apply, a lost event or an unresolved
# change is found.
#
#   bench/ha_kill9_trials.sh                      # 20 trials, 3 replicas
#   bench/ha_kill9_trials.sh --trials 3 --replicas 2
#
# Options:
#   --trials N      trials (default 20)
#   --replicas R    replicas, 2 or 3 (default 3)
#   --apps A        apps per environment (default 2; six environments)
#   --lease-ttl S   --lease-ttl of every replica, whole seconds (default 3)
#   --max-delay MS  the kill comes 0..MS ms after the trial's push (default 2500)
#   --adapter-ms MS how long one adapter run takes (default 300), so kills
#                   land mid-apply too
#   --sluice PATH   the binary (default build/controller/sluice)
#   --work DIR      working directory (default: a new temp dir, removed at exit)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

trials=20 replicas=3 apps=2 ttl=3 max_delay=2500 adapter_ms=300
sluice="$root/build/controller/sluice" work=""
while [ $# -gt 0 ]; do
  case "$1" in
    --trials) trials="$2"; shift 2 ;;
    --replicas) replicas="$2"; shift 2 ;;
    --apps) apps="$2"; shift 2 ;;
    --lease-ttl) ttl="$2"; shift 2 ;;
    --max-delay) max_delay="$2"; shift 2 ;;
    --adapter-ms) adapter_ms="$2"; shift 2 ;;
    --sluice) sluice="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "ha_kill9_trials.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
die() { echo "ha_kill9_trials.sh: $*" >&2; exit 2; }
[ -x "$sluice" ] || die "$sluice is not built (cmake --build build)"
case "$replicas" in 2|3) ;; *) die "--replicas must be 2 or 3" ;; esac
for tool in etcd git ssh-keygen curl base64; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh)"
done
if [ -z "$work" ]; then work=$(mktemp -d); keep=0; else mkdir -p "$work"; keep=1; fi
envs=6
daemon_pid="" etcd_pid=""
declare -a pids=()
cleanup() {
  for p in "${pids[@]}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null || true
  [ -n "$etcd_pid" ] && kill "$etcd_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  [ "$keep" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
log() { echo "ha_kill9_trials.sh: $*" >&2; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
export GIT_AUTHOR_NAME="Trial Author" GIT_AUTHOR_EMAIL=author@trial.example
export GIT_COMMITTER_NAME="Trial Author" GIT_COMMITTER_EMAIL=author@trial.example

# Polls `cmd` every 20 ms until it succeeds or `ms` milliseconds have passed.
poll() {
  local ms="$1"; shift
  local until=$(($(now_ms) + ms))
  until "$@"; do
    [ "$(now_ms)" -lt "$until" ] || return 1
    sleep 0.02
  done
}

# ------------------------------------------------------------ etcd
for attempt in 1 2 3 4 5 6 7 8; do
  cport=$((20000 + RANDOM % 20000)) pport=$((20000 + RANDOM % 20000))
  rm -rf "$work/etcd"
  etcd --name default --data-dir "$work/etcd" \
    --listen-client-urls "http://127.0.0.1:$cport" --advertise-client-urls "http://127.0.0.1:$cport" \
    --listen-peer-urls "http://127.0.0.1:$pport" --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
    --initial-cluster "default=http://127.0.0.1:$pport" >>"$work/etcd.log" 2>&1 &
  etcd_pid=$!
  if poll 10000 curl -sf "http://127.0.0.1:$cport/health" -o /dev/null; then break; fi
  kill "$etcd_pid" 2>/dev/null || true; wait "$etcd_pid" 2>/dev/null || true; etcd_pid=""
done
[ -n "$etcd_pid" ] || { echo "ha_kill9_trials.sh: etcd did not start; see $work/etcd.log" >&2; exit 1; }
etcd_url="http://127.0.0.1:$cport"

# "<env> <instance> <lease>" per owner key, from etcd's JSON gateway (keys,
# values and numbers come base64- or string-encoded; one range read).
owners() {
  local begin end
  begin=$(printf '/sluice/' | base64 -w0)
  end=$(printf '/sluice0' | base64 -w0)
  curl -sf -X POST "$etcd_url/v3/kv/range" -d "{\"key\":\"$begin\",\"range_end\":\"$end\"}" \
    | grep -o '{[^{}]*"key"[^{}]*}' | while read -r kv; do
      key=$(printf '%s' "$kv" | sed -n 's/.*"key":"\([^"]*\)".*/\1/p' | base64 -d)
      case "$key" in */owners/*) ;; *) continue ;; esac
      value=$(printf '%s' "$kv" | sed -n 's/.*"value":"\([^"]*\)".*/\1/p' | base64 -d)
      lease=$(printf '%s' "$kv" | sed -n 's/.*"lease":"\([^"]*\)".*/\1/p')
      echo "${key##*/} $value ${lease:-0}"
    done
}

# ------------------------------------------------------------ repository
mkdir -p "$work/srv" "$work/tmp"
stamps="$work/tmp/ha-stamps"
: >"$stamps"
bench/generate.sh --out "$work/srv/env.git" --envs "$envs" --apps "$apps" --commits 1 \
  --notes-every 0 --command scripts/trial.sh >/dev/null
git clone -q "$work/srv/env.git" "$work/author"
# The adapter: stamps its start and its end, and sees an overlap with a live
# run of the same (env, app) through a lock directory holding that run's pid.
sleep_s=$(awk -v ms="$adapter_ms" 'BEGIN { printf "%.3f", ms / 1000 }')
cat >"$work/author/scripts/trial.sh" <<EOF
#!/bin/sh
d="\${TMPDIR:-/tmp}"
lock="\$d/running-\$SLUICE_ENV-\$SLUICE_APP"
if ! mkdir "\$lock" 2>/dev/null; then
  other=\$(cat "\$lock/pid" 2>/dev/null || true)
  if [ -n "\$other" ] && [ -r "/proc/\$other/stat" ] && ! grep -q ') Z' "/proc/\$other/stat"; then
    echo "overlap \$SLUICE_ENV \$SLUICE_APP \$SLUICE_DIGEST \$\$ \$other" >> "\$d/ha-stamps"
  fi
  mkdir -p "\$lock"
fi
echo \$\$ > "\$lock/pid"
echo "start \$SLUICE_ENV \$SLUICE_APP \$SLUICE_DIGEST \$\$ \$PPID" >> "\$d/ha-stamps"
sleep $sleep_s
echo "end \$SLUICE_ENV \$SLUICE_APP \$SLUICE_DIGEST \$\$" >> "\$d/ha-stamps"
rm -rf "\$lock"
EOF
. "$root/bench/lib.sh"
commit_trial_adapter "$work/author"
serve_env_repo "$work/srv" "$work/daemon.log" ha_kill9_trials.sh

# ------------------------------------------------------------ replicas
# Each signs the record with its own key and trusts all of them.
: >"$work/controller-keys"
for i in $(seq 0 $((replicas - 1))); do
  ssh-keygen -q -t ed25519 -N "" -C "r$i" -f "$work/r$i.key"
  cat "$work/r$i.key.pub" >>"$work/controller-keys"
done
start_replica() {
  local i="$1"
  TMPDIR="$work/tmp" "$sluice" controller --repo "$url" --workdir "$work/wd-r$i" --interval 1s \
    --etcd "$etcd_url" --lease-ttl "${ttl}s" --instance-id "r$i" \
    --signing-key "$work/r$i.key" --controller-keys "$work/controller-keys" \
    --log-level info >/dev/null 2>>"$work/r$i.log" &
  pids[$i]=$!
}
for i in $(seq 0 $((replicas - 1))); do start_replica "$i"; done

# Every environment owned, each replica holding its share.
spread() {
  local o; o=$(owners)
  [ "$(printf '%s\n' "$o" | grep -c .)" -eq "$envs" ] || return 1
  local floor=$((envs / replicas))
  for i in $(seq 0 $((replicas - 1))); do
    [ "$(printf '%s\n' "$o" | awk -v r="r$i" '$2 == r' | wc -l)" -ge "$floor" ] || return 1
  done
}
poll 60000 spread || { log "the replicas did not share the environments; see $work/r*.log"; exit 1; }
log "$replicas replicas share $envs environments ($apps apps each), lease ${ttl}s"

# The last event of each (env, app) on `head`, by time (as the readers take
# it: a note is a union of what several replicas pushed, not in time order):
# "<env> <app> <event>" lines.
last_events() {
  git --git-dir="$work/srv/env.git" notes --ref=sluice show "$1" 2>/dev/null \
    | sed -n 's/.*"time":"\([^"]*\)","env":"\([^"]*\)","app":"\([^"]*\)","event":"\([a-z-]*\)".*/\2 \3 \1 \4/p' \
    | sed 's/:\([0-9][0-9]\)Z /:\1.000Z /' | sort -s -k1,2 -k3,3 \
    | awk '{ last[$1 " " $2] = $4 } END { for (k in last) print k, last[k] }'
}
# Every pin of `head` ended: its last event is an outcome.
converged() {
  local n
  n=$(last_events "$1" | awk '$3 == "verified" || $3 == "applied" || $3 == "failed"' | wc -l)
  [ "$n" -eq $((envs * apps)) ]
}

# ------------------------------------------------------------ trials
changes="$work/changes"  # "<head> <env> <app> <digest>" per change
: >"$changes"
takeovers="$work/takeovers"
: >"$takeovers"
killed_owner=0 not_converged=0
for trial in $(seq "$trials"); do
  poll 30000 spread || log "trial $trial: the environments are not spread yet; going on"
  for f in "$work/author"/environments/*/apps/*.yaml; do
    d=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
    sed -i "s/digest: sha256:[0-9a-f]*/digest: sha256:$d/" "$f"
  done
  git -C "$work/author" commit -q -am "trial $trial: every pin"
  git -C "$work/author" push -q origin HEAD:main
  head=$(git -C "$work/author" rev-parse HEAD)
  for f in "$work/author"/environments/*/apps/*.yaml; do
    e=$(basename "$(dirname "$(dirname "$f")")") a=$(basename "$f" .yaml)
    echo "$head $e $a $(sed -n 's/.*digest: \(sha256:[0-9a-f]*\).*/\1/p' "$f")" >>"$changes"
  done
  delay=$((RANDOM % (max_delay + 1)))
  sleep "$(awk -v ms="$delay" 'BEGIN { printf "%.3f", ms / 1000 }')"
  v=$((RANDOM % replicas))
  lease=$(owners | awk -v r="r$v" '$2 == r { print $3; exit }')
  kill -9 "${pids[$v]}"
  t0=$(now_ms)
  echo "kill ${pids[$v]}" >>"$stamps"
  wait "${pids[$v]}" 2>/dev/null || true
  if [ -n "$lease" ]; then
    killed_owner=$((killed_owner + 1))
    # Taken over: every environment owned again, none on the dead lease.
    taken() {
      local o; o=$(owners)
      [ "$(printf '%s\n' "$o" | grep -c .)" -eq "$envs" ] && ! printf '%s\n' "$o" | awk '{ print $3 }' | grep -qx "$lease"
    }
    if poll 60000 taken; then
      echo $(($(now_ms) - t0)) >>"$takeovers"
    else
      log "trial $trial: r$v's environments not taken over within 60 s"
    fi
  fi
  start_replica "$v"
  if ! poll 120000 converged "$head"; then
    not_converged=$((not_converged + 1))
    log "trial $trial: not every change settled at $head within 120 s"
  fi
  [ $((trial % 5)) -ne 0 ] || log "$trial/$trials trials"
done
# The last victim's journal: an `applying` it wrote (fsync'd) and started an
# adapter for, but was killed before pushing, reaches the remote when the
# restarted replica's first pushing Sync folds its journal, which may come
# after the others settled the trial. Count once every journal is pushed.
journals_pushed() {
  local i
  for i in $(seq 0 $((replicas - 1))); do
    [ ! -s "$work/wd-r$i/record-journal" ] || return 1
  done
}
poll 60000 journals_pushed || log "a replica's record journal still holds events after 60 s"
# ------------------------------------------------------------ counting
runs=0 announced_total=0 lost=0 double=0 unresolved=0 reapplied=0 outcome_lost=0 not_verified=0
overlaps=$(grep -c '^overlap ' "$stamps" || true)
declare -A note_of last_of
while read -r head e a digest; do
  if [ -z "${note_of[$head]+x}" ]; then
    note_of[$head]=$(git --git-dir="$work/srv/env.git" notes --ref=sluice show "$head" 2>/dev/null || true)
  fi
  lines=$(printf '%s\n' "${note_of[$head]}" | grep -F "\"env\":\"$e\",\"app\":\"$a\"" || true)
  count() { printf '%s\n' "$lines" | grep -F "\"event\":\"$1\"" | grep -cF "\"digest\":\"$digest\"" || true; }
  applying=$(count applying) applied=$(count applied) failed=$(count failed)
  # The stamps of this change, in the order they were written.
  seq_of=$(awk -v e="$e" -v a="$a" -v d="$digest" \
    '($1 == "start" || $1 == "end") && $2 == e && $3 == a && $4 == d { print $1 }' "$stamps")
  n=$(printf '%s\n' "$seq_of" | grep -c '^start$' || true)
  runs=$((runs + n))
  announced_total=$((announced_total + applying))
  if [ "$n" -gt "$applying" ]; then
    lost=$((lost + n - applying)); log "$e/$a $digest: $n adapter runs, $applying applying events"
  fi
  [ "$n" -le 1 ] || reapplied=$((reapplied + n - 1))
  # Runs again after a run that had completed but whose replica was killed
  # before it recorded the outcome (crash recovery applies again).
  again=$(printf '%s\n' "$seq_of" | awk '$1 == "end" { ended = 1 } $1 == "start" && ended { n++ } END { print n + 0 }')
  outcome_lost=$((outcome_lost + again))
  # Settled: the last event of (env, app) on the commit (by time) is an
  # outcome.
  if [ -z "${last_of[$head]+x}" ]; then last_of[$head]=$(last_events "$head"); fi
  last=$(printf '%s\n' "${last_of[$head]}" | awk -v e="$e" -v a="$a" '$1 == e && $2 == a { print $3 }')
  case "$last" in
    verified) ;;
    applied) not_verified=$((not_verified + 1)); log "$e/$a at $head: applied, never verified" ;;
    *) unresolved=$((unresolved + 1))
       log "$e/$a at $head ends with ${last:-no event} ($applying applying, $applied applied, $failed failed)" ;;
  esac
done <"$changes"
# Applied again although every replica that had run the change lived on:
# a run that starts after an earlier run of the same change whose controller
# (the adapter's parent) was not killed in between. (A run of a killed
# replica may have completed with its outcome still in that replica's
# journal: applying again is then the crash-recovery rule.)
double=$(awk '
  $1 == "kill" { killed[$2] = NR; next }
  $1 == "start" {
    k = $2 " " $3 " " $4
    for (i = 1; i <= n[k]; i++) {
      if (!(ppid[k, i] in killed) || killed[ppid[k, i]] < line[k, i]) {
        bad++; print "ha_kill9_trials.sh: " k ": run " n[k] + 1 " although run " i " by pid " ppid[k, i] " was not killed" > "/dev/stderr"
        break
      }
    }
    n[k]++; ppid[k, n[k]] = $6; line[k, n[k]] = NR
  }
  END { print bad + 0 }' "$stamps")
double=$((double + overlaps))

nt=$(grep -c . "$takeovers" || true)
if [ "$nt" -gt 0 ]; then
  median=$(sort -n "$takeovers" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }')
  max=$(sort -n "$takeovers" | tail -1)
else
  median="-" max="-"
fi
echo "trials: $trials with $replicas replicas, $envs environments x $apps apps, lease ${ttl}s ($killed_owner kills of an owner)"
echo "changes: $(grep -c . "$changes"); adapter runs: $runs; applying events for them: $announced_total"
echo "double applies (must be 0): $double ($overlaps overlapping runs)"
echo "lost events, adapter runs with no applying event (must be 0): $lost"
echo "unresolved, changes left applying or without an event (must be 0): $unresolved"
echo "changes applied but never verified (a kill between the two events): $not_verified"
echo "trials not settled everywhere within 120 s: $not_converged"
echo "reapplied after their run was killed with its replica (exec cannot observe; expected): $reapplied"
echo "  of which the earlier run had completed, its outcome not yet pushed by its replica: $outcome_lost"
echo "takeover after kill -9, ms (kill to every environment owned by a live lease): median $median, max $max over $nt"
[ "$double" = 0 ] && [ "$lost" = 0 ] && [ "$unresolved" = 0 ] && [ "$not_converged" = 0 ]
