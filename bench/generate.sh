#!/usr/bin/env bash
# Builds a synthetic environments repository for the benchmarks, with the git
# CLI only (git fast-import; awk writes the import stream).
#
#   bench/generate.sh --out /tmp/b/srv/env.git --envs 10 --apps 1000 --commits 100000
#
# What it makes (a bare repository, branch main):
#   sluice.yaml                            pipeline: [e00, e01, ...]
#   environments/<env>/environment.yaml    {} (no gates: every change applies)
#   environments/<env>/apps/<app>.yaml     a pin: sha256 digest, exec adapter
#   scripts/stamp.sh                       an adapter that appends a timestamp to
#                                          $TMPDIR/sluice-bench-stamps (latency runs;
#                                          adapters see only PATH, HOME, TMPDIR...)
# Commit 1 adds every pin; each later commit bumps one pin (new digest and
# version), chosen at random with a fixed seed, one minute apart.
#
# Options:
#   --out DIR          bare repository to create (must not exist)       required
#   --envs N           environments (default 10)
#   --apps M           apps per environment (default 1000)
#   --commits K        commits of history, the first included (default 1000)
#   --notes-every E    a note in refs/notes/sluice on every E-th commit, in the
#                      event format of docs/record.md (applying, applied,
#                      verified); 0 = no notes (default 1)
#   --seed-record      also write refs/sluice/{deployed,lkg,candidate}/<env>/<app>
#                      and refs/sluice/applied/<env> at the head, as a controller
#                      that has deployed everything would have left them
#   --command WORD     the exec command of every pin (default "true")
#   --policy FILE      environment.yaml of every environment (default "{}": no gates)
#   --seed S           random seed (default 42)
#   --sign-key FILE    sign the record's events with this OpenSSH ed25519 key,
#                      as a controller would (needs --signer); a controller
#                      trusts only a record signed by a key it lists
#   --signer BIN       the sluice_sign_record binary (build/bench/)
set -euo pipefail

out="" envs=10 apps=1000 commits=1000 notes_every=1 seed_record=0 command=true seed=42 policy=""
sign_key="" signer=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --envs) envs="$2"; shift 2 ;;
    --apps) apps="$2"; shift 2 ;;
    --commits) commits="$2"; shift 2 ;;
    --notes-every) notes_every="$2"; shift 2 ;;
    --seed-record) seed_record=1; shift ;;
    --command) command="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --policy) policy="$2"; shift 2 ;;
    --sign-key) sign_key="$2"; shift 2 ;;
    --signer) signer="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "generate.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$out" ]; then echo "generate.sh: --out DIR is required" >&2; exit 2; fi
if [ -e "$out" ]; then echo "generate.sh: $out already exists" >&2; exit 2; fi
if [ "$commits" -lt 1 ] || [ "$envs" -lt 1 ] || [ "$apps" -lt 1 ]; then
  echo "generate.sh: --envs, --apps and --commits must be at least 1" >&2; exit 2
fi

if [ -n "$policy" ]; then
  [ -r "$policy" ] || { echo "generate.sh: cannot read --policy $policy" >&2; exit 2; }
  SLUICE_BENCH_POLICY=$(cat "$policy"; echo x); SLUICE_BENCH_POLICY=${SLUICE_BENCH_POLICY%x}
else
  SLUICE_BENCH_POLICY=$'{}\n'
fi
export SLUICE_BENCH_POLICY  # read by awk through ENVIRON: no escape processing

started=$(date +%s.%N)
git init -q --bare -b main "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Phase 1: the branch. awk writes a fast-import stream; every commit gets a
# mark (its number), and a side file remembers which pin each commit bumped.
awk -v envs="$envs" -v apps="$apps" -v commits="$commits" -v seed="$seed" \
    -v cmd="$command" -v meta="$work/meta" '
function hex(n,   s, i) { s = ""; for (i = 0; i < n; i++) s = s substr("0123456789abcdef", int(rand() * 16) + 1, 1); return s }
function envname(e) { return sprintf("e%02d", e) }
function appname(a) { return sprintf("app-%05d", a) }
function pin(e, a, digest, version) {
  return "artifact:\n  image: registry.example.com/bench/" appname(a) "\n  digest: " digest \
         "\n  version: " version "\ndeploy:\n  adapter: exec\n  exec: { command: [" cmd "], timeout: 1m }\n"
}
function blob(path, text) { printf "M 100644 inline %s\ndata %d\n%s\n", path, length(text), text }
function header(mark, t, msg) {
  printf "commit refs/heads/main\nmark :%d\n", mark
  printf "author Bench Author <author@bench.example> %d +0000\n", t
  printf "committer Bench Author <author@bench.example> %d +0000\n", t
  printf "data %d\n%s\n", length(msg), msg
}
BEGIN {
  srand(seed); t0 = 1767225600  # 2026-01-01T00:00:00Z
  pipeline = ""
  for (e = 0; e < envs; e++) pipeline = pipeline (e ? ", " : "") envname(e)
  header(1, t0, "bench: " envs " environments x " apps " apps")
  printf "deleteall\n"
  blob("sluice.yaml", "pipeline: [" pipeline "]\n")
  stamp = "#!/bin/sh\n# Records when the adapter started (push -> adapter latency benchmark).\ndate +%s.%N >> \"${TMPDIR:-/tmp}/sluice-bench-stamps\"\n"
  printf "M 100755 inline scripts/stamp.sh\ndata %d\n%s\n", length(stamp), stamp
  for (e = 0; e < envs; e++) {
    blob("environments/" envname(e) "/environment.yaml", ENVIRON["SLUICE_BENCH_POLICY"])
    for (a = 0; a < apps; a++) {
      d = "sha256:" hex(64)
      blob("environments/" envname(e) "/apps/" appname(a) ".yaml", pin(e, a, d, "1.0.0"))
    }
  }
  print "1", "-", "-", "-", "-", t0 > meta
  for (i = 2; i <= commits; i++) {
    e = int(rand() * envs); a = int(rand() * apps)
    d = "sha256:" hex(64); v = "1.0." i; t = t0 + 60 * i
    header(i, t, "bump " envname(e) "/" appname(a) " to " v)
    printf "from :%d\n", i - 1
    blob("environments/" envname(e) "/apps/" appname(a) ".yaml", pin(e, a, d, v))
    print i, envname(e), appname(a), d, v, t > meta
  }
}' | git -C "$out" fast-import --quiet --export-marks="$work/marks"

# The record's events pass through the signer when a key is given.
sign_stream() {
  if [ -n "$sign_key" ]; then "$signer" "$sign_key"; else cat; fi
}
if [ -n "$sign_key" ] && [ ! -x "$signer" ]; then
  echo "generate.sh: --sign-key needs --signer (build/bench/sluice_sign_record)" >&2; exit 2
fi

notes=0
if [ "$notes_every" -gt 0 ] || [ "$seed_record" -eq 1 ]; then
  # Phase 2: notes and record refs, which need the commit ids of phase 1.
  awk -v every="$notes_every" -v seed_record="$seed_record" -v envs="$envs" -v apps="$apps" \
      -v commits="$commits" -v marks="$work/marks" -v count="$work/notes" '
function rfc3339(t,   days, s, z, era, doe, yoe, y, doy, mp, d, m) {
  days = int(t / 86400); s = t - days * 86400
  z = days + 719468; era = int(z / 146097); doe = z - era * 146097
  yoe = int((doe - int(doe / 1460) + int(doe / 36524) - int(doe / 146096)) / 365)
  y = yoe + era * 400; doy = doe - (365 * yoe + int(yoe / 4) - int(yoe / 100))
  mp = int((5 * doy + 2) / 153); d = doy - int((153 * mp + 2) / 5) + 1
  m = mp < 10 ? mp + 3 : mp - 9; if (m <= 2) y++
  return sprintf("%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, int(s / 3600), int(s % 3600 / 60), s % 60)
}
function ev(kind, env, app, digest, version, commit, t, extra) {
  return "{\"v\":1,\"time\":\"" rfc3339(t) "\",\"env\":\"" env "\",\"app\":\"" app "\",\"event\":\"" kind \
         "\",\"digest\":\"" digest "\",\"version\":\"" version "\",\"commit\":\"" commit "\",\"landing\":\"" commit "\"" extra \
         ",\"gates\":[{\"name\":\"digest\",\"result\":\"pass\",\"reason\":\"" substr(digest, 1, 19) \
         "… is an immutable digest\"}],\"approvers\":[],\"controller\":{\"id\":\"bench-1\",\"version\":\"0.1.0\"}}\n"
}
BEGIN { while ((getline line < marks) > 0) { split(line, p, " "); id[substr(p[1], 2)] = p[2] } }
{ n = $1; if (n > 1) { env[n] = $2; app[n] = $3; dig[n] = $4; ver[n] = $5; tm[n] = $6 } }
END {
  head = id[commits]; notes = 0; headtext = ""
  if (every > 0 || seed_record) {
    printf "commit refs/notes/sluice\ncommitter Sluice controller <sluice@bench> %d +0000\ndata 11\nbench notes\n", 1767225600 + 60 * commits
  }
  if (every > 0) {
    for (n = 2; n <= commits; n++) {
      if (n % every) continue
      c = id[n]; t = tm[n] + 5
      text = ev("applying", env[n], app[n], dig[n], ver[n], c, t, "") \
             ev("applied", env[n], app[n], dig[n], ver[n], c, t + 1, ",\"reason\":\"exit 0 in 0.0s\",\"adapter\":{\"name\":\"exec\",\"exitCode\":0,\"durationMs\":3}") \
             ev("verified", env[n], app[n], dig[n], ver[n], c, t + 1, ",\"reason\":\"no verification configured\"")
      if (c == head && seed_record) { headtext = text; continue }
      printf "N inline %s\ndata %d\n%s\n", c, length(text), text
      notes++
    }
  }
  if (seed_record) {
    # The seeded refs below all name the head: one verified event per
    # (env, app) there confirms deployed, lkg, candidate and applied/<env>
    # (docs/record.md, "The record is signed").
    t = 1767225600 + 60 * commits
    for (e = 0; e < envs; e++) {
      for (a = 0; a < apps; a++) {
        headtext = headtext ev("verified", sprintf("e%02d", e), sprintf("app-%05d", a), "", "", head, t, \
                               ",\"reason\":\"seeded by bench/generate.sh\"")
      }
    }
    printf "N inline %s\ndata %d\n%s\n", head, length(headtext), headtext
    notes++
  }
  if (seed_record) {
    for (e = 0; e < envs; e++) {
      en = sprintf("e%02d", e)
      printf "reset refs/sluice/applied/%s\nfrom %s\n\n", en, head
      for (a = 0; a < apps; a++) {
        an = sprintf("app-%05d", a)
        printf "reset refs/sluice/deployed/%s/%s\nfrom %s\n\n", en, an, head
        printf "reset refs/sluice/lkg/%s/%s\nfrom %s\n\n", en, an, head
        printf "reset refs/sluice/candidate/%s/%s\nfrom %s\n\n", en, an, head
      }
    }
  }
  print notes > count
}' "$work/meta" | sign_stream | git -C "$out" fast-import --quiet --force
  notes=$(cat "$work/notes")
  git -C "$out" pack-refs --all
fi

git -C "$out" gc -q --auto
elapsed=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
refs=$(git -C "$out" for-each-ref refs/sluice | wc -l)
size=$(du -sh "$out" | cut -f1)
echo "generated $out in ${elapsed}s: $envs environments x $apps apps = $((envs * apps)) pins," \
     "$commits commits, $notes notes, $refs record refs, $size on disk," \
     "head $(git -C "$out" rev-parse --short=12 main)"
