#!/usr/bin/env bash
# Stops the Prometheus that start.sh started (SIGTERM, then SIGKILL after 20 s).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
dir="${ZDK_PROMETHEUS_DIR:-$PWD/.backends/prometheus}"
[ -f "$dir/prometheus.pid" ] || exit 0
pid="$(cat "$dir/prometheus.pid")"
rm -f "$dir/prometheus.pid"
kill "$pid" 2>/dev/null || exit 0
for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || { echo "prometheus/stop.sh: stopped pid $pid" >&2; exit 0; }
    sleep 0.2
done
kill -9 "$pid" 2>/dev/null || true
echo "prometheus/stop.sh: killed pid $pid" >&2
