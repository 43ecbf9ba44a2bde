#!/usr/bin/env bash
# The W3C Trace Context conformance suite (tests/w3c/harness, vendored from
# github.com/w3c/trace-context at commit acab820, folder test/) against zdk-trace: the
# tool_server example's `POST /test` endpoint, built on the runtime's HTTP layer and middleware
# (`http::ServerTracing`, `http::ClientTracing`), which use the public propagation API.
#
#   bash tests/w3c/run.sh            # STRICT_LEVEL=2 SPEC_LEVEL=2 unless set
#
# Needs python3 with venv; installs the harness's one dependency (aiohttp, from PyPI) into
# .backends/w3c-venv on the first run. Exits non-zero when any case fails.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$PWD
venv=$root/.backends/w3c-venv

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import aiohttp' 2>/dev/null; then
    echo "installing the harness's dependency (aiohttp) into $venv"
    if ! python3 -m venv "$venv"; then
        echo "error: cannot create a Python venv at $venv: install python3 with the venv module (Debian: apt-get install python3-venv)" >&2
        exit 1
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'aiohttp>=3.9,<4'
fi

cargo build --quiet -p zdk-trace-examples --bin tool_server
out=$(mktemp)
log=$(mktemp)
# Traces go nowhere in particular: the console exporter, into the log.
env -u OTEL_EXPORTER_OTLP_ENDPOINT -u OTEL_EXPORTER_OTLP_TRACES_ENDPOINT \
    "$root/target/debug/tool_server" --port 0 >"$out" 2>"$log" &
server=$!
cleanup() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    rm -f "$out" "$log"
}
trap cleanup EXIT

address=
for _ in $(seq 1 100); do
    address=$(sed -n 's/^listening on //p' "$out" | head -n 1)
    [ -n "$address" ] && break
    if ! kill -0 "$server" 2>/dev/null; then
        echo "error: tool_server exited before listening:" >&2
        cat "$log" >&2
        exit 1
    fi
    sleep 0.1
done
if [ -z "$address" ]; then
    echo "error: tool_server did not say where it listens within 10 s" >&2
    exit 1
fi

# The harness listens on a port of its own for the callbacks; pick a free one.
port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export STRICT_LEVEL="${STRICT_LEVEL:-2}" SPEC_LEVEL="${SPEC_LEVEL:-2}" HARNESS_PORT="$port"
echo "W3C Trace Context suite (acab820), STRICT_LEVEL=$STRICT_LEVEL SPEC_LEVEL=$SPEC_LEVEL, against $address/test"
cd "$root/tests/w3c/harness"
rc=0
"$venv/bin/python" test.py "$address/test" || rc=$?
if [ $rc -ne 0 ]; then
    echo "error: $rc case(s) of the W3C suite failed (see above)" >&2
    echo "----- tool_server's stderr -----" >&2
    tail -n 20 "$log" >&2 || true
fi
exit $rc
