#!/usr/bin/env bash
# Start Arize Phoenix on 127.0.0.1 as the OTLP trace backend of the end-to-end tests.
#
#   eval "$(tests/backends/phoenix/start.sh)"
#
# Installs Phoenix from PyPI into a virtualenv on first use (pinned version and
# constraints.txt; about 1.5 min and 850 MB), starts it in the background with embedded
# SQLite and no network access of its own, and waits until both OTLP listeners answer.
# Idempotent: when this state dir's server already runs, it only reports it.
#
# Stdout carries only `NAME=value` lines to eval (PHOENIX_BASE_URL,
# PHOENIX_OTLP_HTTP_ENDPOINT, PHOENIX_OTLP_GRPC_ENDPOINT, PHOENIX_PID); progress and
# errors go to stderr. Settings (environment, defaults in common.sh): PHOENIX_HOST,
# PHOENIX_PORT, PHOENIX_GRPC_PORT, PHOENIX_BACKEND_DIR, PHOENIX_BACKEND_VENV,
# PHOENIX_BACKEND_PYTHON, PHOENIX_BACKEND_TIMEOUT, PHOENIX_BACKEND_FRESH=1 (wipe data).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

say() { echo "phoenix/start.sh: $*" >&2; }
die() { echo "phoenix/start.sh: error: $*" >&2; exit 1; }
show_log() { echo "----- last lines of $PHX_LOG -----" >&2; tail -n 40 "$PHX_LOG" >&2 || true; }

phx_uint "$PHX_PORT" || die "PHOENIX_PORT must be a port number, got '$PHX_PORT'"
phx_uint "$PHX_GRPC_PORT" || die "PHOENIX_GRPC_PORT must be a port number, got '$PHX_GRPC_PORT'"
phx_uint "$PHX_START_TIMEOUT" || die "PHOENIX_BACKEND_TIMEOUT must be a number of seconds, got '$PHX_START_TIMEOUT'"
[[ "$PHX_PORT" != "$PHX_GRPC_PORT" ]] || die "PHOENIX_PORT and PHOENIX_GRPC_PORT must differ"
command -v flock >/dev/null 2>&1 || die "flock is required (Debian package util-linux)"

endpoints() {
    printf 'PHOENIX_BASE_URL=%s\n' "$PHX_BASE_URL"
    printf 'PHOENIX_OTLP_HTTP_ENDPOINT=%s/v1/traces\n' "$PHX_BASE_URL"
    printf 'PHOENIX_OTLP_GRPC_ENDPOINT=http://%s:%s\n' "$PHX_HOST" "$PHX_GRPC_PORT"
    printf 'PHOENIX_PID=%s\n' "$1"
}

# Ready = the HTTP side answers its health check and the gRPC port accepts connections.
ready() {
    "$PHX_VENV/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
        "$PHX_BASE_URL/healthz" >/dev/null 2>&1 && phx_port_open "$PHX_HOST" "$PHX_GRPC_PORT"
}

mkdir -p "$PHX_STATE" || die "cannot create the state dir $PHX_STATE"
# One start or stop at a time per state dir: parallel test runs may all call start.sh.
exec 9>"$PHX_STATE/.lock"
flock -w "$PHX_START_TIMEOUT" 9 || die "another start.sh or stop.sh holds $PHX_STATE/.lock"

# --- already running? ---------------------------------------------------------------
if [[ -f "$PHX_PIDFILE" ]]; then
    pid="$(cat "$PHX_PIDFILE" 2>/dev/null || true)"
    if phx_is_ours "$pid"; then
        [[ "${PHOENIX_BACKEND_FRESH:-0}" != 1 ]] ||
            die "PHOENIX_BACKEND_FRESH=1 cannot wipe the data of a running server (pid $pid); run stop.sh first"
        tr '\0' '\n' <"/proc/$pid/environ" | grep -qxF "PHOENIX_PORT=$PHX_PORT" &&
            tr '\0' '\n' <"/proc/$pid/environ" | grep -qxF "PHOENIX_GRPC_PORT=$PHX_GRPC_PORT" ||
            die "Phoenix (pid $pid) already runs for $PHX_STATE on other ports; run stop.sh first"
        deadline=$((SECONDS + PHX_START_TIMEOUT))
        until ready; do
            phx_is_ours "$pid" || die "Phoenix (pid $pid) exited while starting; see $PHX_LOG"
            ((SECONDS < deadline)) || die "Phoenix (pid $pid) runs but is not ready after ${PHX_START_TIMEOUT}s; see $PHX_LOG"
            sleep 0.5
        done
        say "already running (pid $pid) at $PHX_BASE_URL"
        endpoints "$pid"
        exit 0
    fi
    rm -f "$PHX_PIDFILE"
fi

# --- install, once per venv and version ---------------------------------------------------
stamp="$PHX_VENV/.zdk-installed-arize-phoenix-$PHX_VERSION"
if [[ ! -f "$stamp" ]]; then
    if [[ ! -x "$PHX_VENV/bin/python" ]]; then
        command -v "$PHX_PYTHON" >/dev/null 2>&1 ||
            die "no Python interpreter '$PHX_PYTHON' (install python3 and python3-venv, or set PHOENIX_BACKEND_PYTHON)"
        say "creating the virtualenv $PHX_VENV"
        mkdir -p "$(dirname "$PHX_VENV")"
        "$PHX_PYTHON" -m venv "$PHX_VENV" ||
            die "cannot create a virtualenv with '$PHX_PYTHON -m venv' (on Debian: apt-get install python3-venv)"
    fi
    pins=()
    if grep -qxF "arize-phoenix==$PHX_VERSION" "$PHX_HERE/constraints.txt"; then
        pins=(-c "$PHX_HERE/constraints.txt")
    else
        say "warning: constraints.txt pins another arize-phoenix version; installing $PHX_VERSION unpinned"
    fi
    say "installing arize-phoenix==$PHX_VERSION into $PHX_VENV (first time only: about 1.5 min, 850 MB)"
    pip_log="$PHX_VENV/pip-install.log"
    if ! "$PHX_VENV/bin/python" -m pip install --disable-pip-version-check --no-input \
        "${pins[@]}" "arize-phoenix==$PHX_VERSION" >"$pip_log" 2>&1; then
        tail -n 30 "$pip_log" >&2 || true
        die "pip could not install arize-phoenix==$PHX_VERSION; full log in $pip_log"
    fi
    rm -f "$PHX_VENV"/.zdk-installed-arize-phoenix-*
    touch "$stamp"
fi

# --- the ports must be free ---------------------------------------------------------------
for port in "$PHX_PORT" "$PHX_GRPC_PORT"; do
    ! phx_port_open "$PHX_HOST" "$port" ||
        die "port $port on $PHX_HOST is taken by another process; stop it or choose PHOENIX_PORT / PHOENIX_GRPC_PORT"
done

# --- launch -------------------------------------------------------------------------------
if [[ "${PHOENIX_BACKEND_FRESH:-0}" == 1 ]]; then
    say "PHOENIX_BACKEND_FRESH=1: wiping $PHX_DATA"
    rm -rf "$PHX_DATA"
fi
mkdir -p "$PHX_DATA" "$PHX_STATE/home" "$PHX_STATE/tmp"
[[ ! -f "$PHX_LOG" ]] || mv -f "$PHX_LOG" "$PHX_LOG.prev"

t0=$SECONDS
# `env -i`: none of the caller's variables (OTEL_*, PHOENIX_SQL_DATABASE_URL, ...) reach the
# server, and HOME/TMPDIR keep every file it writes under the state dir. setsid detaches it
# from the caller's terminal and process group, so a Ctrl-C in the test run does not kill it.
setsid env -i \
    PATH="$PHX_VENV/bin:/usr/local/bin:/usr/bin:/bin" \
    HOME="$PHX_STATE/home" TMPDIR="$PHX_STATE/tmp" LANG=C.UTF-8 PYTHONUNBUFFERED=1 \
    PHOENIX_WORKING_DIR="$PHX_DATA" \
    PHOENIX_HOST="$PHX_HOST" PHOENIX_PORT="$PHX_PORT" PHOENIX_GRPC_PORT="$PHX_GRPC_PORT" \
    PHOENIX_TELEMETRY_ENABLED=false PHOENIX_ALLOW_EXTERNAL_RESOURCES=false \
    PHOENIX_DISABLE_AGENT_ASSISTANT=true PHOENIX_AGENTS_DISABLE_BASH=true \
    PHOENIX_ENABLE_MCP_SERVER=false PHOENIX_ENABLE_AUTH=false PHOENIX_LOG_MIGRATIONS=false \
    "$PHX_VENV/bin/python" "$PHX_HERE/launch.py" </dev/null >"$PHX_LOG" 2>&1 9>&- &
pid=$!
echo "$pid" >"$PHX_PIDFILE"
say "started pid $pid (log $PHX_LOG); waiting up to ${PHX_START_TIMEOUT}s until it is ready"

until ready; do
    if ! phx_alive "$pid"; then
        rc=0
        wait "$pid" || rc=$?
        rm -f "$PHX_PIDFILE"
        show_log
        die "Phoenix exited while starting (exit code $rc)"
    fi
    if ((SECONDS - t0 >= PHX_START_TIMEOUT)); then
        show_log
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 20); do phx_alive "$pid" || break; sleep 0.5; done
        kill -KILL "$pid" 2>/dev/null || true
        rm -f "$PHX_PIDFILE"
        die "Phoenix was not ready after ${PHX_START_TIMEOUT}s and was stopped (raise PHOENIX_BACKEND_TIMEOUT?)"
    fi
    sleep 0.5
done
say "ready after $((SECONDS - t0))s: REST and OTLP/HTTP on $PHX_BASE_URL, OTLP/gRPC on $PHX_HOST:$PHX_GRPC_PORT"
endpoints "$pid"
