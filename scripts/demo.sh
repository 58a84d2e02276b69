#!/usr/bin/env bash
# The Sluice walkthrough: installs what is missing, builds, and runs the
# controller against a local environments repository (a copy of
# environments/, served by a real `git daemon` on loopback) with the exec
# adapter. Everything it makes lives in ./demo-work and is removed on start.
#
#   scripts/demo.sh            # the whole story
#   KEEP=1 scripts/demo.sh     # leave the git daemon running at the end
#   SLUICE=PATH DEMO_DIR=DIR scripts/demo.sh
#                              # use a built binary (no install, no build) and
#                              # another working directory (the test suite runs
#                              # the walkthrough this way, so it cannot rot)
#
# The install and build print one line per step; their output goes to
# DEMO_DIR/setup.log, whose path is printed when a step fails.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

say() { printf '\n\033[1;34m== %s\033[0m\n' "$*"; }
run() { printf '\033[2m$ %s\033[0m\n' "$*"; "$@"; }

demo="${DEMO_DIR:-$root/demo-work}"
if [ -f "$demo/daemon.pid" ]; then kill "$(cat "$demo/daemon.pid")" 2>/dev/null || true; fi
rm -rf "$demo"
mkdir -p "$demo/srv" "$demo/state"

# step WHAT COMMAND...: one line for the step; the command's output goes to
# the setup log, and a failure names the log and stops the demo.
setup_log="$demo/setup.log"
step() {
  local what=$1
  shift
  printf '   %s ... ' "$what"
  if "$@" >>"$setup_log" 2>&1; then
    echo ok
  else
    echo failed
    echo "demo: '$what' failed; its output is in $setup_log" >&2
    exit 1
  fi
}

if [ -n "${SLUICE:-}" ]; then
  sluice=$SLUICE
else
  say "1. Install dependencies and build sluice (output in $setup_log)"
  step "install what is missing (scripts/install-deps.sh)" scripts/install-deps.sh
  step "configure the build (cmake)" cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
  step "build sluice (a few minutes the first time)" \
    cmake --build build -j"$(nproc)" --target sluice
  sluice="$root/build/controller/sluice"
fi
export GIT_AUTHOR_NAME="Dana Developer" GIT_AUTHOR_EMAIL="dana@example.com"
export GIT_COMMITTER_NAME="Dana Developer" GIT_COMMITTER_EMAIL="dana@example.com"
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
# The example deploy script (environments/scripts/deploy.sh) records what it
# "deploys" here; SLUICE_PASS_ENV hands that one variable to exec deploys.
export SLUICE_DEMO_STATE="$demo/state" SLUICE_PASS_ENV=SLUICE_DEMO_STATE

say "2. An environments repository, served by git daemon on loopback"
git init -q --bare -b main "$demo/srv/environments.git"
cp -r environments "$demo/work"
# Alice is a release manager; her SSH key signs the merges she approves.
# Carol is on call; her key signs the rollbacks she runs.
ssh-keygen -q -t ed25519 -N '' -C alice@example.com -f "$demo/alice_key"
ssh-keygen -q -t ed25519 -N '' -C carol@example.com -f "$demo/carol_key"
printf '\nsigners:\n  - "alice@example.com %s"\n  - "carol@example.com %s"\n' \
  "$(cut -d' ' -f1,2 "$demo/alice_key.pub")" "$(cut -d' ' -f1,2 "$demo/carol_key.pub")" \
  >> "$demo/work/sluice.yaml"
# The worked example's prod also has a Mon-Thu window, a 1h soak and freezes;
# the walkthrough keeps approval, upstreamVerified, rollbackTarget and
# noActiveIncident so that it finishes in a minute on any day.
cat > "$demo/work/environments/prod/environment.yaml" <<'YAML'
upstream: staging
approval: { required: 1, from: [release-managers], evidence: signed, separateAuthor: true }
gates:
  upstreamVerified: true
  rollbackTarget: { required: true, allowFirst: true }
  noActiveIncident: true
freezes:
  - { name: holiday-freeze, from: 2099-12-24, to: 2099-12-26 }
onFailure: rollback
YAML
git -C "$demo/work" init -q -b main
git -C "$demo/work" add -A
git -C "$demo/work" commit -q -m "Start the shop's environments: dev, staging, prod"
git -C "$demo/work" remote add origin "$demo/srv/environments.git"
git -C "$demo/work" push -q origin main
port=""
for _ in $(seq 1 20); do
  p=$(( (RANDOM % 20000) + 20000 ))
  git daemon --listen=127.0.0.1 --port="$p" --base-path="$demo/srv" --export-all \
    --enable=receive-pack --reuseaddr --pid-file="$demo/daemon.pid" --detach "$demo/srv" || continue
  for _ in $(seq 1 200); do
    if git ls-remote "git://127.0.0.1:$p/environments.git" >/dev/null 2>&1; then port=$p; break; fi
    sleep 0.02   # polling the daemon's port until it answers
  done
  [ -n "$port" ] && break
done
[ -n "$port" ] || { echo "could not start git daemon" >&2; exit 1; }
repo="git://127.0.0.1:$port/environments.git"
echo "serving $repo"
trap '[ "${KEEP:-0}" = 1 ] || kill "$(cat "$demo/daemon.pid")" 2>/dev/null || true' EXIT
S=("$sluice")
common=(--repo "$repo" --workdir "$demo/controller")
pass() { run "${S[@]}" reconcile --once "${common[@]}" --log-level warn; }
# A pass in which a change fails exits 1 (SPEC section 7): expect exactly that.
pass_failing() {
  local rc=0
  pass || rc=$?
  [ "$rc" = 1 ] || { echo "expected the pass to exit 1 (a change failed), got $rc" >&2; exit 1; }
}
push() { git -C "$demo/work" push -q origin HEAD:main; }
pin() { # pin ENV APP DIGEST VERSION [extra yaml]
  f="$demo/work/environments/$1/apps/$2.yaml"
  sed -i -e "s|^  digest: .*|  digest: $3|" -e "s|^  version: .*|  version: $4|" -e '/^verification:/,$d' "$f"
  [ -z "${5:-}" ] || printf '%s\n' "$5" >> "$f"
}

say "3. Validate the repository: every problem would be printed as path:line: message"
run "${S[@]}" validate --repo "$demo/work"

say "4. Controller passes: dev deploys; staging takes what dev verified; prod holds"
pass
echo "(the controller polls every minute; here we run the next pass by hand)"
pass
echo "what the deploy script ran:"; cat "$demo/state"/*.deployed

say "5. Dana promotes api staging -> prod with sluice promote, then merges it herself: blocked"
# sluice promote commits as the clone's git identity (user.name, user.email).
git -C "$demo/work" config user.name "Dana Developer"
git -C "$demo/work" config user.email dana@example.com
promote=("${S[@]}" promote api --from staging --to prod --repo "$demo/work"
         --workdir "$demo/promote" --log-level warn
         --controller-keys "$demo/controller/controller-key.pub")
run "${promote[@]}" --push
branch=$(git -C "$demo/work" for-each-ref --format='%(refname:short)' 'refs/heads/sluice/promote/api-prod-*')
# Alice's signed merge of a promotion branch into main.
alice_merges() {
  GIT_COMMITTER_NAME="Alice Release" GIT_COMMITTER_EMAIL=alice@example.com \
    git -C "$demo/work" -c gpg.format=ssh -c user.signingkey="$demo/alice_key" \
    merge -q --no-ff -S -m "$2" "$1"
}
echo "The gate preview says it: approval blocks until a release manager approves."
echo "Dana does not wait for a review and fast-forwards main to her branch:"
git -C "$demo/work" merge -q --ff-only "$branch" && push
pass

say "6. The proper way: a pull request, approved by Alice, merged with her signed merge"
git -C "$demo/work" revert --no-edit HEAD >/dev/null && push
echo "Dana promotes again (the same branch name: its old commit is on main, so nothing is lost)."
echo "With forge: in the controller's --config file, --open-pr would also open the pull request with this table:"
run "${promote[@]}" --push
echo "Before merging, Alice previews the pull request's branch with sluice plan, as of a"
echo "date inside prod's holiday freeze (exit code 3: blocked; 4 would be waiting):"
run "${S[@]}" plan "${common[@]}" --branch "$branch" --env prod \
  --at 2099-12-25T10:00:00+01:00 --log-level warn || true
alice_merges "$branch" "Merge: promote api 2.5.3 to prod (approved by Alice)"
push
pass

say "7. api 2.6.0: dev deploys it, staging takes it, Alice approves it for prod"
pin dev api "sha256:$(printf 'api 2.6.0' | sha256sum | cut -d' ' -f1)" 2.6.0
git -C "$demo/work" commit -q -am "dev: api 2.6.0" && push
pass
newest_branch() {
  git -C "$demo/work" for-each-ref --sort=-committerdate --count=1 --format='%(refname:short)' \
    "refs/heads/sluice/promote/api-$1-*"
}
run "${S[@]}" promote api --from dev --to staging --repo "$demo/work" --workdir "$demo/promote" \
  --log-level warn --controller-keys "$demo/controller/controller-key.pub" >/dev/null
git -C "$demo/work" merge -q --ff-only "$(newest_branch staging)" && push
pass
run "${promote[@]}" >/dev/null
alice_merges "$(newest_branch prod)" "Merge: promote api 2.6.0 to prod (approved by Alice)"
push
pass

say "   dev: then 2.6.1 deploys but fails verification"
pin dev api "sha256:$(printf 'api 2.6.1' | sha256sum | cut -d' ' -f1)" 2.6.1 \
'verification:
  checks:
    - http: { url: "http://127.0.0.1:9/health/ready", expect: 200, retries: 0 }'
git -C "$demo/work" commit -q -am "dev: api 2.6.1" && push
pass_failing

say "8. prod: 2.6.0 passed its checks, but customers report errors. Carol, on call, rolls"
say "   it back with one signed command (her signature is the approval prod's rollback rule asks)"
run "${S[@]}" rollback prod api --incident INC-42 --push --signing-key "$demo/carol_key" \
  "${common[@]}" --log-level warn --author "Carol Oncall <carol@example.com>"
pass
git -C "$demo/work" pull -q --no-rebase origin main
git -C "$demo/work" show origin/main:environments/prod/apps/api.yaml | grep -q '^  version: 2.5.3\b' \
  || { echo "expected prod back on 2.5.3" >&2; exit 1; }

say "9. dev: api 2.6.2 needs a database migration; deploy.dependsOn runs it first, same pass"
sed -e "s|^  digest: .*|  digest: sha256:$(printf 'migrate 2.6.2' | sha256sum | cut -d' ' -f1)|" \
  -e 's|^  image: .*|  image: registry.example.com/shop/migrate|' -e 's|^  version: .*|  version: 2.6.2|' \
  -e '/^verification:/,$d' "$demo/work/environments/dev/apps/api.yaml" \
  > "$demo/work/environments/dev/apps/migrate.yaml"
pin dev api "sha256:$(printf 'api 2.6.2' | sha256sum | cut -d' ' -f1)" 2.6.2
sed -i 's|^deploy:$|deploy:\n  dependsOn: [migrate]   # applied and verified before api|' \
  "$demo/work/environments/dev/apps/api.yaml"
git -C "$demo/work" add -A && git -C "$demo/work" commit -q -m "dev: api 2.6.2 with its migration" && push
run "${S[@]}" plan "${common[@]}" --env dev --log-level warn | grep -E '^dev/|after|dependsOn'
out=$(pass 2>&1) || { printf '%s\n' "$out"; exit 1; }
printf '%s\n' "$out"
# The pass handles changes in order: migrate verified before api started.
line_of() { printf '%s\n' "$out" | grep -n "^$1: verified" | cut -d: -f1; }
m=$(line_of dev/migrate) a=$(line_of dev/api)
[ -n "$m" ] && [ -n "$a" ] && [ "$m" -lt "$a" ] || { echo "expected migrate, then api" >&2; exit 1; }

say "10. dev: web 1.15.0 as a canary (10%, 50%, 100%); it fails verification at 10%,"
say "    and Sluice returns the traffic to 1.14.0 and rolls back by itself"
sed -i 's|^{}$|onFailure: rollback|' "$demo/work/environments/dev/environment.yaml"
git -C "$demo/work" commit -q -am "dev: roll back by itself on a failed verification" && push
pin dev web "sha256:$(printf 'web 1.15.0' | sha256sum | cut -d' ' -f1)" 1.15.0 \
'verification:
  checks:
    - http: { url: "http://127.0.0.1:9/health/ready", expect: 200, retries: 0 }'
sed -i 's|^deploy:$|deploy:\n  strategy:\n    canary:\n      steps: [{ weight: 10 }, { weight: 50 }, { weight: 100 }]|' \
  "$demo/work/environments/dev/apps/web.yaml"
git -C "$demo/work" commit -q -am "dev: web 1.15.0 as a canary" && push
pass_failing
echo "what the deploy script ran for web (SLUICE_WEIGHT 10, then 0: the traffic back on 1.14.0):"
grep -h ' web ' "$demo/state/deploys.log" | tail -n 2
tail -n 2 "$demo/state/deploys.log" | grep -q 'weight 10$' || { echo "expected weight 10 first" >&2; exit 1; }
tail -n 1 "$demo/state/deploys.log" | grep -q 'weight 0$' || { echo "expected weight 0 last" >&2; exit 1; }
git -C "$demo/work" pull -q --no-rebase origin main
[ "$(git -C "$demo/work" log -1 --format=%an)" = "Sluice controller" ] \
  || { echo "expected the controller's rollback commit on main" >&2; exit 1; }
run git -C "$demo/work" log -1 --format='%h %an: %s'
run "${S[@]}" status "${common[@]}" --env dev --app web --log-level warn

say "11. sluice status: what runs where, since when, who approved it, the last-known-good"
run "${S[@]}" status "${common[@]}" --log-level warn

say "12. The record in Git: any clone can read it"
git -C "$demo/work" fetch -q origin 'refs/notes/*:refs/notes/*' '+refs/sluice/*:refs/sluice/*'
run git -C "$demo/work" log --notes=sluice --format='%h %s%n%N' -1 origin/main
run "${S[@]}" audit "${common[@]}" --env prod --log-level warn

say "Done. The repository is in $demo/srv, the controller's cache in $demo/controller."
