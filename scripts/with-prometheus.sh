#!/usr/bin/env bash
# Runs a command with a private Prometheus on 127.0.0.1 (Debian's `prometheus`), scraping every second whatever targets
# the tests list in TRELLIS_TEST_PROMETHEUS_TARGETS (file_sd: one JSON file per test's exporter), then stops it by PID.
#   scripts/with-prometheus.sh COMMAND...
# The command sees TRELLIS_TEST_PROMETHEUS_URL (http://127.0.0.1:PORT) and TRELLIS_TEST_PROMETHEUS_TARGETS (a folder).
set -euo pipefail
command -v prometheus >/dev/null || { echo "with-prometheus: prometheus not found (apt-get install prometheus)" >&2; exit 1; }
. "$(dirname "$0")/ports.sh"
D=$(mktemp -d /tmp/trellis-prometheus.XXXXXX)
stop() {
  if [ -f "$D/prometheus.pid" ]; then
    kill -TERM "$(cat "$D/prometheus.pid")" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$(cat "$D/prometheus.pid")" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$D"
}
trap stop EXIT
mkdir -p "$D/targets"
# honor_labels: the exporters' namespace, pod and container labels are the series' own (as the kubelet's cAdvisor
# endpoint's are when Prometheus scrapes it).
cat > "$D/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: trellis-test-pods
    honor_labels: true
    file_sd_configs:
      - files: ["$D/targets/*.json"]
        refresh_interval: 1s
YAML
start() { # PORT; 75 when it is taken
  prometheus --config.file="$D/prometheus.yml" --storage.tsdb.path="$D/data" --web.listen-address="127.0.0.1:$1" \
    > "$D/prometheus.log" 2>&1 &
  echo $! > "$D/prometheus.pid"
  for _ in $(seq 300); do
    curl -fs "http://127.0.0.1:$1/-/ready" >/dev/null 2>&1 && { PORT=$1; return 0; }
    if ! kill -0 "$(cat "$D/prometheus.pid")" 2>/dev/null; then
      grep -q "address already in use" "$D/prometheus.log" && return 75
      echo "with-prometheus: prometheus did not start:" >&2
      tail -n 20 "$D/prometheus.log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "with-prometheus: prometheus was not ready within 30 s" >&2
  tail -n 20 "$D/prometheus.log" >&2
  return 1
}
on_free_port PROMETHEUS start
export TRELLIS_TEST_PROMETHEUS_URL="http://127.0.0.1:$PORT"
export TRELLIS_TEST_PROMETHEUS_TARGETS="$D/targets"
echo "with-prometheus: prometheus on 127.0.0.1:$PORT (pid $(cat "$D/prometheus.pid"))" >&2
"$@"
