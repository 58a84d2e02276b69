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
