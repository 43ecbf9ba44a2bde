# Settings shared by start.sh and stop.sh; sourced, not run.
#
# Every value can be overridden from the environment. The defaults keep all state under
# `.backends/` at the repository root (gitignored), whatever the caller's directory is, so
# the test crate, `.ci/run` and a developer's shell all find the same server.

PHX_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PHX_REPO="$(cd "$PHX_HERE/../../.." && pwd)"

_phx_abs() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$PWD" "$1" ;; esac; }

PHX_VERSION="${PHOENIX_BACKEND_VERSION:-20.26.1}"
PHX_VENV="$(_phx_abs "${PHOENIX_BACKEND_VENV:-$PHX_REPO/.backends/phoenix-venv}")"
PHX_STATE="$(_phx_abs "${PHOENIX_BACKEND_DIR:-$PHX_REPO/.backends/phoenix}")"
PHX_PYTHON="${PHOENIX_BACKEND_PYTHON:-python3}"
PHX_HOST="${PHOENIX_HOST:-127.0.0.1}"
PHX_PORT="${PHOENIX_PORT:-6006}"
PHX_GRPC_PORT="${PHOENIX_GRPC_PORT:-4317}"
PHX_START_TIMEOUT="${PHOENIX_BACKEND_TIMEOUT:-180}"
PHX_STOP_TIMEOUT="${PHOENIX_BACKEND_STOP_TIMEOUT:-30}"
PHX_PIDFILE="$PHX_STATE/phoenix.pid"
PHX_LOG="$PHX_STATE/phoenix.log"
PHX_DATA="$PHX_STATE/data"
PHX_BASE_URL="http://$PHX_HOST:$PHX_PORT"

phx_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }

# Process $1 exists and has not exited (a zombie that nobody reaped counts as exited).
phx_alive() {
    phx_uint "$1" || return 1
    kill -0 "$1" 2>/dev/null || return 1
    local state
    state="$(awk '{ sub(/^.*\) /, ""); print substr($0, 1, 1) }' "/proc/$1/stat" 2>/dev/null)" || return 1
    [[ "$state" != Z && "$state" != X ]]
}

# Process $1 is the server start.sh launched for this state dir: checked before signalling a
# pid read from a file, because the pid may have been reused by an unrelated process.
phx_is_ours() {
    phx_alive "$1" || return 1
    tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | grep -qxF -- "$PHX_HERE/launch.py" || return 1
    tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null | grep -qxF -- "PHOENIX_WORKING_DIR=$PHX_DATA"
}

# Something accepts TCP connections on $1:$2.
phx_port_open() {
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
}
