#!/usr/bin/env bash
# Starts a real Prometheus (Debian's `prometheus` package, installed with apt-get when
# missing) on 127.0.0.1, scraping the targets in ZDK_PROMETHEUS_TARGETS every second, with its
# data under .backends/prometheus/. Waits until it is ready, then prints
# PROMETHEUS_BASE_URL=... and PROMETHEUS_PID=... on stdout (messages on stderr).
#
#   ZDK_PROMETHEUS_TARGETS=127.0.0.1:19464 tests/backends/prometheus/start.sh
#
# Settings: ZDK_PROMETHEUS_PORT (19090: not 9090, which a developer's own Prometheus may
# hold), ZDK_PROMETHEUS_TARGETS (host:port list, comma separated), ZDK_PROMETHEUS_DIR.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
dir="${ZDK_PROMETHEUS_DIR:-$PWD/.backends/prometheus}"
port="${ZDK_PROMETHEUS_PORT:-19090}"
targets="${ZDK_PROMETHEUS_TARGETS:-127.0.0.1:19464}"

say() { echo "prometheus/start.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

if ! command -v prometheus >/dev/null 2>&1; then
    say "installing Debian's prometheus package (first time only)"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -qq >&2 || die "apt-get update failed"
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends prometheus >&2 ||
        die "apt-get install prometheus failed"
fi

mkdir -p "$dir"
if [ -f "$dir/prometheus.pid" ] && kill -0 "$(cat "$dir/prometheus.pid")" 2>/dev/null; then
    die "a Prometheus started by this script already runs (pid $(cat "$dir/prometheus.pid")); run stop.sh first"
fi
rm -rf "$dir/data"
list=""
IFS=',' read -r -a parts <<<"$targets"
for t in "${parts[@]}"; do
    [[ "$t" =~ ^[0-9a-zA-Z.:-]+:[0-9]+$ ]] || die "bad target '$t' in ZDK_PROMETHEUS_TARGETS (want host:port)"
    list="$list'$t',"
done
cat >"$dir/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: zdk
    static_configs:
      - targets: [${list%,}]
YML

prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
    --web.listen-address="127.0.0.1:$port" --enable-feature=exemplar-storage \
    >"$dir/prometheus.log" 2>&1 &
pid=$!
echo "$pid" >"$dir/prometheus.pid"
for _ in $(seq 1 300); do
    if ! kill -0 "$pid" 2>/dev/null; then
        tail -n 20 "$dir/prometheus.log" >&2
        die "Prometheus exited during start-up (port $port taken?); log in $dir/prometheus.log"
    fi
    if python3 -c 'import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
        "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1; then
        say "ready on http://127.0.0.1:$port (pid $pid), scraping $targets every 1s"
        echo "PROMETHEUS_BASE_URL=http://127.0.0.1:$port"
        echo "PROMETHEUS_PID=$pid"
        exit 0
    fi
    sleep 0.2
done
kill "$pid" 2>/dev/null || true
die "Prometheus was not ready within 60 s; log in $dir/prometheus.log"
