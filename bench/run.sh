#!/usr/bin/env bash
# Whole-process benchmarks of `sluice reconcile --once`, `plan`, `audit` and
# `status`, side by side with the plain git CLI doing the same Git work on the
# same data, over a real network fetch (git daemon on loopback). See
# docs/performance.md.
#
#   bench/run.sh                      # full size: 10 envs x 1000 apps, 100,000 commits
#   bench/run.sh --envs 3 --apps 1000 --commits 30000
#   bench/run.sh --smoke              # tiny, for CI: fails only if a step errors
#
# Options:
#   --envs N --apps M --commits K   size of the generated repository (bench/generate.sh)
#   --repeat R            repetitions of each timed step, median reported (default 5)
#   --latency-runs L      push -> adapter start runs, and rollback -> adapter start
#                         runs (default 20 each)
#   --full-pass-budget S  seconds a first full pass may run; a pass still running
#                         then is stopped and its rate measured so far (default 300)
#   --full-apps M         apps per environment in the first-full-pass repository
#                         (default: --apps)
#   --fleet-pins N        pins of one environment that ONE commit changes after the
#                         first full pass (a base-image fix across the fleet), applied
#                         in one pass (default: 1000, at most --full-apps)
#   --sluice PATH         the binary (default build/controller/sluice)
#   --signer PATH         bench/sign_record.cc's binary, which signs the generated
#                         record (default build/bench/sluice_sign_record)
#   --json PATH           where to write the results (default bench/results/<date>.json)
#   --work DIR            working directory (default: a new temp dir, removed at exit)
#   --smoke               3 envs x 20 apps, 200 commits, 2 repeats, 3 latency runs,
#                         first full pass over 3 x 2 pins
# Environment: SLUICE_BENCH_LOOSE_SERVER_REFS=1 leaves the server's refs as the
# first full pass wrote them (loose) for the one-commit row, instead of packing
# them as a maintained server does.
# Times are wall-clock milliseconds of whole processes (start-up included).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

envs=10 apps=1000 commits=100000 repeat=5 latency_runs=20 budget=300 smoke=0 full_apps="" fleet_pins=1000
sluice="$root/build/controller/sluice" json="" work=""
signer="$root/build/bench/sluice_sign_record"
while [ $# -gt 0 ]; do
  case "$1" in
    --envs) envs="$2"; shift 2 ;;
    --apps) apps="$2"; shift 2 ;;
    --commits) commits="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --latency-runs) latency_runs="$2"; shift 2 ;;
    --full-pass-budget) budget="$2"; shift 2 ;;
    --full-apps) full_apps="$2"; shift 2 ;;
    --fleet-pins) fleet_pins="$2"; shift 2 ;;
    --sluice) sluice="$2"; shift 2 ;;
    --signer) signer="$2"; shift 2 ;;
    --json) json="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --smoke) smoke=1; envs=3 apps=20 commits=200 repeat=2 latency_runs=3 budget=60 full_apps=2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -x "$sluice" ] || { echo "run.sh: $sluice is not built (cmake --build build)" >&2; exit 2; }
[ -x "$signer" ] || { echo "run.sh: $signer is not built (cmake --build build)" >&2; exit 2; }
sluice=$(cd "$(dirname "$sluice")" && pwd)/$(basename "$sluice")
[ -x /usr/bin/time ] || { echo "run.sh: /usr/bin/time missing (scripts/install-deps.sh installs it)" >&2; exit 2; }
pins=$((envs * apps))
full_apps=${full_apps:-$apps}
full_pins=$((envs * full_apps))
if [ -z "$json" ]; then json="$root/bench/results/$(date -u +%Y-%m-%dT%H%M%SZ).json"; fi
mkdir -p "$(dirname "$json")"

own_work=0
if [ -z "$work" ]; then work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench.XXXXXX"); own_work=1; fi
mkdir -p "$work"
daemon_pid=""
ctl_pid=""
cleanup() {
  local rc=$?
  # The work directory goes with the run; a failed run (CI) shows its logs first.
  if [ "$rc" != 0 ] && [ "$own_work" = 1 ]; then
    for f in "$work/sluice.log" "$work/controller.log"; do
      [ -s "$f" ] && { echo "run.sh: last lines of $(basename "$f"):" >&2; tail -n 30 "$f" >&2; }
    done
  fi
  if [ -n "$ctl_pid" ]; then kill "$ctl_pid" 2>/dev/null || true; wait "$ctl_pid" 2>/dev/null || true; fi
  if [ -n "$daemon_pid" ]; then kill "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
  if [ "$own_work" = 1 ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

log() { echo "run.sh: $*" >&2; }
now_ns() { date +%s%N; }
ms_since() { echo $(( ($(now_ns) - $1) / 1000000 )); }
# median / p95 of numbers on stdin
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "null"; else if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
p95() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "null"; else { i = int(NR * 0.95 + 0.999); if (i > NR) i = NR; print v[i] } }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "null") printf "%.2f", a / b; else print "null" }'; }
peak_rss_mb() { awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$1"; }
json_field() { grep -o "\"$1\":[0-9a-z]*" "$2" | head -1 | cut -d: -f2; }

export GIT_AUTHOR_NAME="Bench Author" GIT_AUTHOR_EMAIL=author@bench.example
export GIT_COMMITTER_NAME="Bench Author" GIT_COMMITTER_EMAIL=author@bench.example
stamps="$work/tmp/sluice-bench-stamps"

# ---------------------------------------------------------------- data
mkdir -p "$work/srv"
# The generated record is signed with the key every workdir below signs
# with too (one controller identity), so the controller trusts it
# (docs/record.md, "The record is signed").
ssh-keygen -q -t ed25519 -N '' -C sluice-bench -f "$work/record-key"
for d in wd wd-oncall wd-full wd-plan; do
  mkdir -p "$work/$d"
  install -m 600 "$work/record-key" "$work/$d/controller-key"
  cp "$work/record-key.pub" "$work/$d/controller-key.pub"
done
log "generating $envs x $apps pins, $commits commits"
gen_seeded=$(bench/generate.sh --out "$work/srv/env.git" --envs "$envs" --apps "$apps" \
  --commits "$commits" --seed-record --sign-key "$work/record-key" --signer "$signer")
echo "$gen_seeded" >&2
gen_fresh=$(bench/generate.sh --out "$work/srv/fresh.git" --envs "$envs" --apps "$full_apps" \
  --commits 1 --notes-every 0)
echo "$gen_fresh" >&2

# ---------------------------------------------------------------- server
port=""
for attempt in 1 2 3 4 5 6 7 8; do
  p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
  git daemon --listen=127.0.0.1 --port="$p" --base-path="$work/srv" --export-all \
    --enable=receive-pack --reuseaddr --informative-errors "$work/srv" \
    >"$work/daemon.log" 2>&1 &
  daemon_pid=$!
  for _ in $(seq 50); do
    if git ls-remote "git://127.0.0.1:$p/env.git" HEAD >/dev/null 2>&1; then port=$p; break; fi
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$port" ] && break
  kill "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=""
done
[ -n "$port" ] || { echo "run.sh: git daemon did not start: $(cat "$work/daemon.log")" >&2; exit 1; }
url="git://127.0.0.1:$port/env.git"
log "serving $work/srv on $url"

# The refspecs the controller fetches (record/workspace.cc, Workspace::Sync).
specs=("+refs/heads/main:refs/remotes/origin/main" "+refs/notes/sluice:refs/notes/sluice"
       "+refs/sluice/*:refs/sluice/*")

run_sluice() {  # run_sluice WORKDIR REPO_URL JSON_OUT [time -v file]
  local wd=$1 u=$2 out=$3 tv=${4:-}
  if [ -n "$tv" ]; then
    /usr/bin/time -v -o "$tv" "$sluice" reconcile --once --repo "$u" --workdir "$wd" \
      --format json >"$out" 2>>"$work/sluice.log"
  else
    "$sluice" reconcile --once --repo "$u" --workdir "$wd" --format json >"$out" 2>>"$work/sluice.log"
  fi
}

# ------------------------------------------------- cold start (one each)
log "cold start: sluice into an empty workdir vs git fetch into an empty bare repo"
t=$(now_ns); run_sluice "$work/wd" "$url" "$work/cold.json" "$work/cold.time"; cold_sluice=$(ms_since "$t")
cold_rss=$(peak_rss_mb "$work/cold.time")
[ "$(json_field unchanged "$work/cold.json")" = "false" ] || true
git init -q --bare "$work/gitclone"
git -C "$work/gitclone" remote add origin "$url"
t=$(now_ns); git -C "$work/gitclone" fetch -q origin "${specs[@]}"; cold_git=$(ms_since "$t")

# ------------------------------------------------- no-change pass
log "no-change pass x$repeat"
: >"$work/nc.sluice"; : >"$work/nc.git"
for i in $(seq "$repeat"); do
  t=$(now_ns); run_sluice "$work/wd" "$url" "$work/nc.json"; ms_since "$t" >>"$work/nc.sluice"
  pr=$(json_field pinsRead "$work/nc.json")
  [ "$pr" = 0 ] || { echo "run.sh: no-change pass read $pr pins (expected 0)" >&2; exit 1; }
  t=$(now_ns); git -C "$work/gitclone" fetch -q origin "${specs[@]}"; ms_since "$t" >>"$work/nc.git"
done
/usr/bin/time -v -o "$work/nc.time" "$sluice" reconcile --once --repo "$url" --workdir "$work/wd" \
  --format json >/dev/null 2>>"$work/sluice.log"
nc_rss=$(peak_rss_mb "$work/nc.time")
nc_sluice=$(median <"$work/nc.sluice"); nc_git=$(median <"$work/nc.git")

# ------------------------------------------------- one pin changed
git clone -q --depth 1 --branch main "$url" "$work/author"
bump() {  # bump ENV APP [COMMAND]: commits a new digest for one pin and prints its path
  local f="environments/$1/apps/$2.yaml" d
  d=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  sed -i "s/digest: sha256:[0-9a-f]*/digest: sha256:$d/" "$work/author/$f"
  if [ -n "${3:-}" ]; then sed -i "s|command: \[[^]]*\]|command: [$3]|" "$work/author/$f"; fi
  git -C "$work/author" commit -q -am "bench: bump $1/$2"
}
log "one pin changed x$repeat"
: >"$work/one.sluice"; : >"$work/one.git"; : >"$work/one.reads"
for i in $(seq "$repeat"); do
  e=$(printf 'e%02d' $(( i % envs ))); a=$(printf 'app-%05d' $(( (i * 7919) % apps )))
  bump "$e" "$a"
  git -C "$work/author" push -q origin main
  old=$(git -C "$work/gitclone" rev-parse refs/remotes/origin/main)
  t=$(now_ns)
  git -C "$work/gitclone" fetch -q origin "${specs[@]}"
  git -C "$work/gitclone" diff --name-only "$old" refs/remotes/origin/main >"$work/one.diff"
  ms_since "$t" >>"$work/one.git"
  [ "$(wc -l <"$work/one.diff")" = 1 ] || { echo "run.sh: git diff saw $(wc -l <"$work/one.diff") paths" >&2; exit 1; }
  t=$(now_ns); run_sluice "$work/wd" "$url" "$work/one.json" "$work/one.time"; ms_since "$t" >>"$work/one.sluice"
  json_field pinsRead "$work/one.json" >>"$work/one.reads"
  grep -q '"state":"verified"' "$work/one.json" || { echo "run.sh: the changed pin was not applied: $(cat "$work/one.json")" >&2; exit 1; }
done
one_sluice=$(median <"$work/one.sluice"); one_git=$(median <"$work/one.git")
one_reads=$(sort -u "$work/one.reads" | paste -sd, -)
[ "$one_reads" = 1 ] || { echo "run.sh: one changed pin read $one_reads pins (expected 1)" >&2; exit 1; }
one_rss=$(peak_rss_mb "$work/one.time")

# ------------------------------------------------- push -> adapter start
log "push -> adapter start x$latency_runs"
: >"$work/lat"; mkdir -p "$work/tmp"; : >"$stamps"
for i in $(seq "$latency_runs"); do
  bump e00 app-00000 scripts/stamp.sh
  t=$(now_ns)
  git -C "$work/author" push -q origin main
  TMPDIR="$work/tmp" run_sluice "$work/wd" "$url" "$work/lat.json"
  stamp=$(tail -n 1 "$stamps")
  [ "$(wc -l <"$stamps")" = "$i" ] || { echo "run.sh: the adapter did not run: $(cat "$work/lat.json")" >&2; exit 1; }
  awk -v s="$stamp" -v t="$t" 'BEGIN { printf "%d\n", (s * 1000) - (t / 1000000) }' >>"$work/lat"
done
lat_median=$(median <"$work/lat"); lat_p95=$(p95 <"$work/lat")

# ------------------------------------------------- rollback commit -> adapter start
# e00/app-00001 gets a verified release (the LKG), then per run: a bad
# release that fails verification (an http check nobody answers; onFailure:
# hold) and `sluice rollback --push` from an on-call workdir of its own; the
# clock starts when that push has returned (the rollback commit is on the
# remote) and stops when the adapter starts (scripts/rollback-stamp.sh
# appends "<time> <digest>"). Correctness: the adapter must start with the
# LKG's digest.
rollback_latency() {
  local f="environments/e00/apps/app-00001.yaml" rstamps="$work/tmp/sluice-bench-rollback-stamps"
  local good bad i t stamp rc
  printf '#!/bin/sh\n# Records when the adapter started and what (rollback latency benchmark).\necho "$(date +%%s.%%N) $SLUICE_DIGEST" >> "${TMPDIR:-/tmp}/sluice-bench-rollback-stamps"\n' \
    >"$work/author/scripts/rollback-stamp.sh"
  chmod +x "$work/author/scripts/rollback-stamp.sh"
  git -C "$work/author" add scripts/rollback-stamp.sh
  bump e00 app-00001 scripts/rollback-stamp.sh
  git -C "$work/author" push -q origin main
  TMPDIR="$work/tmp" run_sluice "$work/wd" "$url" "$work/rb.json"
  grep -q '"state":"verified"' "$work/rb.json" || { echo "run.sh: rollback setup: the LKG release was not verified: $(cat "$work/rb.json")" >&2; exit 1; }
  good=$(sed -n 's/.*digest: \(sha256:[0-9a-f]*\).*/\1/p' "$work/author/$f")
  : >"$work/rb.lat"; : >"$rstamps"
  for i in $(seq "$latency_runs"); do
    git -C "$work/author" pull -q --ff-only origin main
    bump e00 app-00001
    printf 'verification:\n  checks:\n    - http: {url: "http://127.0.0.1:1/ready", retries: 0, timeout: 1s}\n' >>"$work/author/$f"
    git -C "$work/author" commit -q --amend --no-edit -a
    bad=$(sed -n 's/.*digest: \(sha256:[0-9a-f]*\).*/\1/p' "$work/author/$f")
    git -C "$work/author" push -q origin main
    # A pass in which a release fails exits 1 (SPEC 7).
    rc=0
    TMPDIR="$work/tmp" run_sluice "$work/wd" "$url" "$work/rb.json" || rc=$?
    [ "$rc" = 1 ] || { echo "run.sh: the pass with a failing release exited $rc, not 1" >&2; exit 1; }
    grep -q '"state":"failed"' "$work/rb.json" || { echo "run.sh: the bad release did not fail verification: $(cat "$work/rb.json")" >&2; exit 1; }
    "$sluice" rollback e00 app-00001 --push --repo "$url" --workdir "$work/wd-oncall" \
      --format json >"$work/rb.commit.json" 2>>"$work/sluice.log" \
      || { echo "run.sh: sluice rollback failed; see $work/sluice.log" >&2; exit 1; }
    t=$(now_ns)
    TMPDIR="$work/tmp" run_sluice "$work/wd" "$url" "$work/rb.json"
    # Two stamps per run: the bad release, then the rollback.
    [ "$(wc -l <"$rstamps")" = "$((2 * i))" ] || { echo "run.sh: the rollback was not applied: $(cat "$work/rb.json")" >&2; exit 1; }
    stamp=$(tail -n 1 "$rstamps")
    [ "${stamp#* }" = "$good" ] || { echo "run.sh: the adapter started with ${stamp#* }, not the LKG digest $good (bad: $bad)" >&2; exit 1; }
    awk -v s="${stamp%% *}" -v t="$t" 'BEGIN { printf "%d\n", (s * 1000) - (t / 1000000) }' >>"$work/rb.lat"
  done
}
log "rollback commit on the remote -> adapter start x$latency_runs"
rollback_latency
rb_median=$(median <"$work/rb.lat"); rb_p95=$(p95 <"$work/rb.lat")

# ------------------------------------------------- push + webhook -> adapter start
# The daemon path of issue #8: `sluice controller --listen` with a long poll
# interval (so only the hook can wake it), a pin bump pushed, then a signed
# POST /hooks/generic; the clock starts when the push has returned and stops
# when the adapter starts. Polls the stamp file (bench script, not a test).
hook_latency() {
  local hstamps="$work/tmp/sluice-bench-stamps" secret="$work/hook-secret" hport body sig i t n
  printf 'bench-secret\n' >"$secret"
  # Port 0: the kernel picks a free port and the controller logs it
  # ("serving HTTP on 127.0.0.1:PORT"); a random pick can collide with an
  # ephemeral port in use.
  : >"$work/controller.log"
  TMPDIR="$work/tmp" "$sluice" controller --repo "$url" --workdir "$work/wd" --interval 1h \
    --listen "127.0.0.1:0" --webhook-secret-file "$secret" >>"$work/controller.log" 2>&1 &
  ctl_pid=$!
  hport=""
  for _ in $(seq 600); do
    hport=$(sed -n 's/.*serving HTTP on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$work/controller.log" | head -1)
    [ -n "$hport" ] && curl -sf "http://127.0.0.1:$hport/healthz" >/dev/null 2>&1 && break
    if ! kill -0 "$ctl_pid" 2>/dev/null; then
      echo "run.sh: sluice controller exited; its log ends:" >&2
      tail -n 20 "$work/controller.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  [ -n "$hport" ] || { echo "run.sh: sluice controller never served HTTP; its log ends:" >&2; tail -n 20 "$work/controller.log" >&2; exit 1; }
  body='{"ref":"refs/heads/main"}'
  sig="sha256=$(printf '%s' "$body" | openssl dgst -sha256 -hmac bench-secret -r | cut -d' ' -f1)"
  : >"$work/hook.lat"
  for i in $(seq "$latency_runs"); do
    # The controller spaces passes at least 500 ms apart (cli/cmd_controller.cc,
    # kMinPassSpacing); let that pass so a run measures the hook, not the spacing.
    sleep 1
    git -C "$work/author" pull -q --ff-only origin main
    n=$(wc -l <"$hstamps")
    bump e00 app-00002 scripts/stamp.sh
    git -C "$work/author" push -q origin main
    t=$(now_ns)
    curl -sf -X POST -H "X-Sluice-Signature: $sig" -H 'Content-Type: application/json' \
      --data "$body" "http://127.0.0.1:$hport/hooks/generic" >/dev/null \
      || { echo "run.sh: the webhook was refused" >&2; exit 1; }
    for _ in $(seq 1200); do [ "$(wc -l <"$hstamps")" -gt "$n" ] && break; sleep 0.05; done
    [ "$(wc -l <"$hstamps")" -gt "$n" ] || { echo "run.sh: the hook did not start the adapter within 60s" >&2; exit 1; }
    awk -v s="$(tail -n 1 "$hstamps")" -v t="$t" 'BEGIN { printf "%d\n", (s * 1000) - (t / 1000000) }' >>"$work/hook.lat"
    # Let the pass finish (record pushed) before the next bump.
    for _ in $(seq 1200); do
      [ "$(git --git-dir="$work/srv/env.git" rev-parse -q --verify refs/sluice/deployed/e00/app-00002 2>/dev/null)" = \
        "$(git --git-dir="$work/srv/env.git" rev-parse refs/heads/main)" ] && break
      sleep 0.05
    done
  done
  kill "$ctl_pid" 2>/dev/null || true; wait "$ctl_pid" 2>/dev/null || true; ctl_pid=""
}
log "push + webhook -> adapter start (sluice controller) x$latency_runs"
hook_latency
hook_median=$(median <"$work/hook.lat"); hook_p95=$(p95 <"$work/hook.lat")

# ------------------------------------------------- first full pass
log "first full pass over $full_pins pins (budget ${budget}s)"
furl="git://127.0.0.1:$port/fresh.git"
t=$(now_ns)
set +e
# timeout inside /usr/bin/time, so a stopped pass still reports its peak RSS.
/usr/bin/time -v -o "$work/full.time" timeout "$budget" "$sluice" reconcile --once --repo "$furl" \
  --workdir "$work/wd-full" --format json >"$work/full.json" 2>>"$work/sluice.log"
full_rc=$?
set -e
full_ms=$(ms_since "$t")
applied=$(git --git-dir="$work/srv/fresh.git" for-each-ref refs/sluice/deployed | wc -l)
if [ "$full_rc" = 0 ]; then
  full_complete=true
  full_reads=$(json_field pinsRead "$work/full.json")
  [ "$applied" = "$full_pins" ] || { echo "run.sh: full pass deployed $applied of $full_pins pins" >&2; exit 1; }
elif [ "$full_rc" = 124 ]; then
  full_complete=false; full_reads=$applied
  log "full pass stopped after ${budget}s with $applied of $full_pins pins applied"
else
  echo "run.sh: the full pass failed (exit $full_rc); see $work/sluice.log" >&2; exit 1
fi
full_rate=$(awk -v n="$applied" -v ms="$full_ms" 'BEGIN { printf "%.1f", n * 1000 / ms }')
full_rss=$(peak_rss_mb "$work/full.time" || true)

# ------------------------------------------------- one commit, many pins
# A fix pinned across the fleet in ONE commit (SPEC 8, issue 16): the
# history shape the per-pin benchmarks above do not have. Then the remote's
# growth per recorded event: the record of the first full pass and of this
# pass, all written by the controller (a record that started empty).
fleet_ms=null fleet_rate=null fleet_rss=null fleet_n=0
[ "$fleet_pins" -le "$full_apps" ] || fleet_pins=$full_apps
if [ "$full_complete" = true ] && [ "$fleet_pins" -gt 0 ]; then
  log "one commit changing $fleet_pins pins of e00"
  git clone -q --branch main "$furl" "$work/fleet-author"
  for f in $(ls "$work/fleet-author/environments/e00/apps" | head -n "$fleet_pins"); do
    d=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
    sed -i "s/digest: sha256:[0-9a-f]*/digest: sha256:$d/" "$work/fleet-author/environments/e00/apps/$f"
  done
  git -C "$work/fleet-author" commit -q -am "bench: $fleet_pins pins in one commit"
  git -C "$work/fleet-author" push -q origin main
  # The first full pass left 30,000 record refs as loose files on the
  # server (git receive-pack writes each ref it updates as one). A
  # maintained server packs them (git gc, git maintenance, a forge's
  # housekeeping); unpacked, each push reads them three times (its
  # advertisement and the connectivity check's two listings), 1.5-2.5 s a
  # push here, and this row measures that server. docs/performance.md has
  # both figures.
  if [ "${SLUICE_BENCH_LOOSE_SERVER_REFS:-0}" != 1 ]; then
    git --git-dir="$work/srv/fresh.git" pack-refs --all
  fi
  t=$(now_ns)
  /usr/bin/time -v -o "$work/fleet.time" "$sluice" reconcile --once --repo "$furl" \
    --workdir "$work/wd-full" --format json >"$work/fleet.json" 2>>"$work/sluice.log" \
    || { echo "run.sh: the one-commit pass failed; see $work/sluice.log" >&2; exit 1; }
  fleet_ms=$(ms_since "$t")
  fleet_n=$(grep -o '"state":"verified"' "$work/fleet.json" | wc -l)
  [ "$fleet_n" = "$fleet_pins" ] || { echo "run.sh: the one-commit pass verified $fleet_n of $fleet_pins pins" >&2; exit 1; }
  fleet_rate=$(awk -v n="$fleet_n" -v ms="$fleet_ms" 'BEGIN { printf "%.1f", n * 1000 / ms }')
  fleet_rss=$(peak_rss_mb "$work/fleet.time")
fi
# Remote growth: every object the record added to fresh.git (its branch is
# subtracted: the size of a copy without the record), per event line, as
# pushed (loose objects and packs) and after `git gc`.
events=0
for blob in $(git --git-dir="$work/srv/fresh.git" notes --ref=sluice list | cut -d' ' -f1); do
  events=$((events + $(git --git-dir="$work/srv/fresh.git" cat-file -p "$blob" | grep -c .)))
done
pushed_bytes=$(du -sb "$work/srv/fresh.git/objects" | cut -f1)
rm -rf "$work/gc.git" "$work/gc-base.git"
cp -r "$work/srv/fresh.git" "$work/gc.git"; git -C "$work/gc.git" gc -q --prune=now
git clone -q --no-local --bare --single-branch --branch main "$work/srv/fresh.git" "$work/gc-base.git"
git -C "$work/gc-base.git" gc -q --prune=now
base_bytes=$(du -sb "$work/gc-base.git/objects" | cut -f1)
gc_bytes=$(du -sb "$work/gc.git/objects" | cut -f1)
growth_pushed=$(awk -v a="$pushed_bytes" -v b="$base_bytes" -v n="$events" 'BEGIN { if (n > 0) printf "%d", (a - b) / n; else print "null" }')
growth_gc=$(awk -v a="$gc_bytes" -v b="$base_bytes" -v n="$events" 'BEGIN { if (n > 0) printf "%d", (a - b) / n; else print "null" }')

# ------------------------------------------------- sluice plan over every pin
# A repository whose every pin is pending (never deployed) under local gates
# only (window, freeze, incidents, rollback target: no registry, no network),
# so `sluice plan` judges all of them; git does the same Git work: an
# up-to-date fetch, then reads every pin blob.
cat >"$work/plan-policy.yaml" <<'POLICY'
# Local gates only: what `sluice plan` judges per pin without the network.
gates:
  rollbackTarget: { required: true, allowFirst: true }
  noActiveIncident: true
windows:
  timezone: UTC
  allow:
    - { days: [mon, tue, wed, thu, fri, sat, sun], hours: "00:00-24:00" }
freezes:
  - { name: long-ago, from: 2020-01-01, to: 2020-01-02 }
POLICY
bench/generate.sh --out "$work/srv/plan.git" --envs "$envs" --apps "$apps" --commits 1 \
  --notes-every 0 --policy "$work/plan-policy.yaml" >&2
purl="git://127.0.0.1:$port/plan.git"
log "sluice plan over $pins pending pins x$repeat"
plan_run() {  # plan_run -> exit code of sluice plan (0 pass, 3 block, 4 wait)
  local rc=0
  "$sluice" plan --repo "$purl" --workdir "$work/wd-plan" --format json >"$work/plan.json" \
    2>>"$work/sluice.log" || rc=$?
  case $rc in 0|3|4) ;; *) echo "run.sh: sluice plan failed (exit $rc); see $work/sluice.log" >&2; exit 1 ;; esac
}
plan_run  # the first run fills the workdir; the timed ones find it warm
plan_judged=$(grep -o '"env":' "$work/plan.json" | wc -l)
[ "$plan_judged" = "$pins" ] || { echo "run.sh: sluice plan judged $plan_judged of $pins pins" >&2; exit 1; }
git clone -q --bare "$purl" "$work/planclone"
: >"$work/plan.sluice"; : >"$work/plan.git"
for i in $(seq "$repeat"); do
  t=$(now_ns); /usr/bin/time -v -o "$work/plan.time" "$sluice" plan --repo "$purl" \
    --workdir "$work/wd-plan" --format json >/dev/null 2>>"$work/sluice.log" || true
  ms_since "$t" >>"$work/plan.sluice"
  t=$(now_ns)
  git -C "$work/planclone" fetch -q origin
  git -C "$work/planclone" ls-tree -r HEAD environments | awk '{ print $3 }' |
    git -C "$work/planclone" cat-file --batch >/dev/null
  ms_since "$t" >>"$work/plan.git"
done
plan_sluice=$(median <"$work/plan.sluice"); plan_git=$(median <"$work/plan.git")
plan_rss=$(peak_rss_mb "$work/plan.time")

# ------------------------------------------------- reading the record
log "git log --notes=sluice x$repeat"
: >"$work/log.git"
for i in $(seq "$repeat"); do
  t=$(now_ns); git --git-dir="$work/gitclone" log --notes=sluice refs/remotes/origin/main >/dev/null
  ms_since "$t" >>"$work/log.git"
done
log_git=$(median <"$work/log.git")
# `sluice audit --env <first env>` (one environment's share of the history,
# as an auditor asks for prod) and `sluice status` (every pin) on the
# controller's workdir, against `git log --notes=sluice` of the whole history.
# A binary without the command reports null.
time_optional() {  # time_optional NAME ARGS... -> median ms or null
  local name=$1; shift
  if ! "$sluice" "$name" --help >/dev/null 2>&1; then echo null; return; fi
  : >"$work/opt.$name"
  for i in $(seq "$repeat"); do
    t=$(now_ns)
    "$sluice" "$name" "$@" >/dev/null 2>>"$work/sluice.log" || { echo null; return; }
    ms_since "$t" >>"$work/opt.$name"
  done
  median <"$work/opt.$name"
}
audit_env=$(printf 'e%02d' 0)
audit_ms=$(time_optional audit --repo "$url" --workdir "$work/wd" --env "$audit_env" --format md)
status_ms=$(time_optional status --repo "$url" --workdir "$work/wd")
# The same command on the record a first full pass wrote (every event of
# N x M pins on one commit, from an empty record): the shape a fleet-wide
# change leaves, which the generated history (one pin per commit) hides.
status_fleet_ms=null
if [ "$full_complete" = true ]; then
  status_fleet_ms=$(time_optional status --repo "$furl" --workdir "$work/wd-full")
fi

# ------------------------------------------------- report
cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
mem_mb=$(awk '/MemTotal/ { printf "%d", $2 / 1024 }' /proc/meminfo)
full_label="first full pass, $full_reads of $full_pins pins$([ "$full_complete" = true ] || echo " (stopped at budget)")"
{
  printf '\nsluice bench: %s envs x %s apps = %s pins, %s commits; %s runs each (median); %s cores, %s MB, %s\n\n' \
    "$envs" "$apps" "$pins" "$commits" "$repeat" "$(nproc)" "$mem_mb" "$cpu"
  printf '| %-46s | %12s | %12s | %7s |\n' "measurement" "sluice" "git" "ratio"
  printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' $(seq 48))" "$(printf -- '-%.0s' $(seq 14))" "$(printf -- '-%.0s' $(seq 14))" "$(printf -- '-%.0s' $(seq 9))"
  row() { printf '| %-46s | %12s | %12s | %7s |\n' "$1" "$2" "$3" "$4"; }
  row "cold start: empty workdir (1 run)" "$cold_sluice ms" "$cold_git ms" "$(ratio "$cold_sluice" "$cold_git")x"
  row "no-change pass vs git fetch (up to date)" "$nc_sluice ms" "$nc_git ms" "$(ratio "$nc_sluice" "$nc_git")x"
  row "1 pin changed (pinsRead=$one_reads) vs fetch+diff" "$one_sluice ms" "$one_git ms" "$(ratio "$one_sluice" "$one_git")x"
  row "push -> adapter start, median ($latency_runs runs)" "$lat_median ms" "" ""
  row "push -> adapter start, p95" "$lat_p95 ms" "" ""
  row "push + webhook -> adapter start, median" "$hook_median ms" "" ""
  row "push + webhook -> adapter start, p95" "$hook_p95 ms" "" ""
  row "rollback on remote -> adapter start, median" "$rb_median ms" "" ""
  row "rollback on remote -> adapter start, p95" "$rb_p95 ms" "" ""
  row "$full_label" "$full_ms ms" "" ""
  row "  rate" "$full_rate pins/s" "" ""
  row "peak RSS: no-change pass" "$nc_rss MB" "" ""
  row "peak RSS: 1 pin changed" "$one_rss MB" "" ""
  row "peak RSS: cold start" "$cold_rss MB" "" ""
  row "peak RSS: first full pass" "${full_rss:-?} MB" "" ""
  row "one commit, $fleet_pins pins, one pass" "$fleet_ms ms" "" ""
  row "  rate" "$fleet_rate applies/s" "" ""
  row "peak RSS: one commit, $fleet_pins pins" "$fleet_rss MB" "" ""
  row "remote growth per event ($events events), pushed" "$growth_pushed B" "" ""
  row "remote growth per event, after git gc" "$growth_gc B" "" ""
  row "sluice plan, $pins pending pins, local gates" "$plan_sluice ms" "$plan_git ms" "$(ratio "$plan_sluice" "$plan_git")x"
  row "peak RSS: sluice plan" "$plan_rss MB" "" ""
  row "read the record: git log --notes=sluice" "" "$log_git ms" ""
  row "sluice audit --env $audit_env vs git log --notes" "$audit_ms ms" "$log_git ms" "$(ratio "$audit_ms" "$log_git")x"
  row "sluice status vs git log --notes" "$status_ms ms" "$log_git ms" "$(ratio "$status_ms" "$log_git")x"
  row "sluice status after the first full pass" "$status_fleet_ms ms" "" ""
  echo
} >&2

cat >"$json" <<EOF
{
  "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "commit": "$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)",
  "machine": {"nproc": $(nproc), "memMB": $mem_mb, "cpu": "$cpu"},
  "size": {"envs": $envs, "apps": $apps, "pins": $pins, "commits": $commits, "smoke": $([ "$smoke" = 1 ] && echo true || echo false)},
  "repeat": $repeat,
  "results": {
    "coldStart": {"sluiceMs": $cold_sluice, "gitMs": $cold_git, "ratio": $(ratio "$cold_sluice" "$cold_git"), "sluicePeakRssMB": $cold_rss},
    "noChange": {"sluiceMs": $nc_sluice, "gitMs": $nc_git, "ratio": $(ratio "$nc_sluice" "$nc_git"), "runs": {"sluice": [$(paste -sd, "$work/nc.sluice")], "git": [$(paste -sd, "$work/nc.git")]}, "sluicePeakRssMB": $nc_rss},
    "onePinChanged": {"sluiceMs": $one_sluice, "gitMs": $one_git, "ratio": $(ratio "$one_sluice" "$one_git"), "pinsRead": $one_reads, "runs": {"sluice": [$(paste -sd, "$work/one.sluice")], "git": [$(paste -sd, "$work/one.git")]}, "sluicePeakRssMB": $one_rss},
    "pushToAdapterStart": {"medianMs": $lat_median, "p95Ms": $lat_p95, "runs": [$(paste -sd, "$work/lat")]},
    "webhookToAdapterStart": {"medianMs": $hook_median, "p95Ms": $hook_p95, "runs": [$(paste -sd, "$work/hook.lat")]},
    "rollbackToAdapterStart": {"medianMs": $rb_median, "p95Ms": $rb_p95, "runs": [$(paste -sd, "$work/rb.lat")]},
    "firstFullPass": {"ms": $full_ms, "pinsApplied": $applied, "pins": $full_pins, "complete": $full_complete, "pinsPerSecond": $full_rate, "peakRssMB": ${full_rss:-null}},
    "oneCommitManyPins": {"pins": $fleet_pins, "verified": $fleet_n, "ms": $fleet_ms, "appliesPerSecond": $fleet_rate, "peakRssMB": $fleet_rss},
    "remoteGrowthPerEvent": {"events": $events, "pushedBytes": $growth_pushed, "afterGcBytes": $growth_gc},
    "plan": {"pins": $pins, "sluiceMs": $plan_sluice, "gitMs": $plan_git, "ratio": $(ratio "$plan_sluice" "$plan_git"), "runs": {"sluice": [$(paste -sd, "$work/plan.sluice")], "git": [$(paste -sd, "$work/plan.git")]}, "sluicePeakRssMB": $plan_rss},
    "gitLogNotes": {"gitMs": $log_git},
    "sluiceAudit": {"env": "$audit_env", "sluiceMs": $audit_ms, "ratioToGitLog": $(ratio "$audit_ms" "$log_git")},
    "sluiceStatus": {"sluiceMs": $status_ms, "ratioToGitLog": $(ratio "$status_ms" "$log_git")},
    "sluiceStatusAfterFullPass": {"pins": $full_pins, "sluiceMs": $status_fleet_ms}
  }
}
EOF
cat "$json"
log "results written to $json"
