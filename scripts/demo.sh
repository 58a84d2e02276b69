#!/usr/bin/env bash
# The Sluice walkthrough: installs what is missing, builds, and runs the
# controller against a local environments repository (a copy of
# environments/, served by a real `git daemon` on loopback) with the exec
# adapter. Everything it makes lives in ./demo-work and is removed on start.
#
#   scripts/demo.sh            # the whole story
#   KEEP=1 scripts/demo.sh     # leave the git daemon running at the end
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

say() { printf '\n\033[1;34m== %s\033[0m\n' "$*"; }
run() { printf '\033[2m$ %s\033[0m\n' "$*"; "$@"; }

say "1. Install dependencies and build sluice"
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target sluice
sluice="$root/build/controller/sluice"

demo="$root/demo-work"
if [ -f "$demo/daemon.pid" ]; then kill "$(cat "$demo/daemon.pid")" 2>/dev/null || true; fi
rm -rf "$demo"
mkdir -p "$demo/srv" "$demo/state"
export GIT_AUTHOR_NAME="Dana Developer" GIT_AUTHOR_EMAIL="dana@example.com"
export GIT_COMMITTER_NAME="Dana Developer" GIT_COMMITTER_EMAIL="dana@example.com"
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
# The example deploy script (environments/scripts/deploy.sh) records what it
# "deploys" here; SLUICE_PASS_ENV hands that one variable to exec deploys.
export SLUICE_DEMO_STATE="$demo/state" SLUICE_PASS_ENV=SLUICE_DEMO_STATE

say "2. An environments repository, served by git daemon on loopback"
git init -q --bare -b main "$demo/srv/environments.git"
cp -r environments "$demo/work"
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

say "3. Validate the repository: every problem would be printed as path:line: message"
run "${S[@]}" validate --repo "$demo/work"

say "4. One controller pass: dev deploys; staging and prod are held by their policy"
run "${S[@]}" reconcile --once "${common[@]}" --log-level warn
echo "what the deploy script ran:"; cat "$demo/state"/*.deployed

say "5. CI pins a new api build in dev (a commit), and the next pass applies it"
newdigest="sha256:$(printf 'api 2.6.0' | sha256sum | cut -d' ' -f1)"
sed -i -e "s|^  digest: .*|  digest: $newdigest|" -e "s|^  version: .*|  version: 2.6.0|" \
  "$demo/work/environments/dev/apps/api.yaml"
git -C "$demo/work" commit -q -am "dev: api 2.6.0" && git -C "$demo/work" push -q origin main
run "${S[@]}" reconcile --once "${common[@]}" --log-level warn
cat "$demo/state/dev-api.deployed"

say "6. A broken build: the deploy fails, and the failure is recorded with its exit code"
baddigest="sha256:$(printf 'api 2.6.1' | sha256sum | cut -d' ' -f1)"
echo "$baddigest" > "$demo/state/fail-digest"
sed -i -e "s|^  digest: .*|  digest: $baddigest|" -e "s|^  version: .*|  version: 2.6.1|" \
  "$demo/work/environments/dev/apps/api.yaml"
git -C "$demo/work" commit -q -am "dev: api 2.6.1" && git -C "$demo/work" push -q origin main
run "${S[@]}" reconcile --once "${common[@]}" --log-level warn

say "7. sluice status: what runs where, the last-known-good, and what is held and why"
run "${S[@]}" status "${common[@]}" --log-level warn

say "8. The record in Git: any clone can read it"
git -C "$demo/work" fetch -q origin 'refs/notes/*:refs/notes/*' 'refs/sluice/*:refs/sluice/*'
run git -C "$demo/work" log --notes=sluice --format='%h %s%n%N' -3 origin/main
run git -C "$demo/work" for-each-ref refs/sluice/

say "Done. The repository is in $demo/srv, the controller's cache in $demo/controller."
