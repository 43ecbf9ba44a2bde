#!/usr/bin/env bash
# Stop the Phoenix that start.sh started for this state dir, by its saved pid.
# Idempotent: exits 0 when nothing runs. SIGTERM, then SIGKILL after
# PHOENIX_BACKEND_STOP_TIMEOUT seconds (default 30). The stored spans are kept.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

say() { echo "phoenix/stop.sh: $*" >&2; }
die() { echo "phoenix/stop.sh: error: $*" >&2; exit 1; }

phx_uint "$PHX_STOP_TIMEOUT" || die "PHOENIX_BACKEND_STOP_TIMEOUT must be a whole number, got '$PHX_STOP_TIMEOUT'"
if [[ ! -f "$PHX_PIDFILE" ]]; then
    say "not running (no $PHX_PIDFILE)"
    exit 0
fi
exec 9>"$PHX_STATE/.lock"
flock -w 60 9 || die "another start.sh or stop.sh holds $PHX_STATE/.lock"

pid="$(cat "$PHX_PIDFILE" 2>/dev/null || true)"
if ! phx_is_ours "$pid"; then
    # Exited, or the pid now belongs to an unrelated process: never signal that one.
    say "not running (stale pid file '$pid'); removing it"
    rm -f "$PHX_PIDFILE"
    exit 0
fi

kill -TERM "$pid" 2>/dev/null || true
deadline=$((SECONDS + PHX_STOP_TIMEOUT))
while phx_alive "$pid"; do
    if ((SECONDS >= deadline)); then
        say "pid $pid still runs after ${PHX_STOP_TIMEOUT}s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do phx_alive "$pid" || break; sleep 0.1; done
        ! phx_alive "$pid" || die "pid $pid survived SIGKILL"
        break
    fi
    sleep 0.2
done
rm -f "$PHX_PIDFILE"
say "stopped pid $pid"
