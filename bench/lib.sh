# Shared by the kill -9 trial scripts (sourced, not run).

# start_git_daemon SRV LOG: serves every repository under SRV (fetch and
# push) with `git daemon` on a free loopback port, tried up to 8 times; sets
# `port` and `daemon_pid` once `git ls-remote` answers for SRV/env.git,
# returns 1 (daemon_pid empty) when it never does. Daemon errors go to LOG.
start_git_daemon() {
  local srv="$1" log="$2" attempt
  for attempt in 1 2 3 4 5 6 7 8; do
    port=$((20000 + RANDOM % 20000))
    git daemon --reuseaddr --base-path="$srv" --export-all --enable=receive-pack \
      --listen=127.0.0.1 --port="$port" "$srv" 2>>"$log" &
    daemon_pid=$!
    for _ in $(seq 50); do
      git ls-remote "git://127.0.0.1:$port/env.git" >/dev/null 2>&1 && return 0
      kill -0 "$daemon_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=""
  done
  return 1
}

# commit_trial_adapter CLONE: commits the trial adapter script the caller
# wrote to CLONE/scripts/trial.sh (made executable) and pushes it to main.
commit_trial_adapter() {
  local clone="$1"
  chmod +x "$clone/scripts/trial.sh"
  git -C "$clone" add scripts/trial.sh
  git -C "$clone" commit -q -m "trial adapter"
  git -C "$clone" push -q origin HEAD:main
}

# serve_env_repo SRV LOG NAME: start_git_daemon, or exit naming the script
# NAME and LOG; sets `url` to the served SRV/env.git.
serve_env_repo() {
  start_git_daemon "$1" "$2" || true
  [ -n "$daemon_pid" ] || { echo "$3: git daemon did not start; see $2" >&2; exit 1; }
  url="git://127.0.0.1:$port/env.git"
}
