#!/usr/bin/env bash
# The authenticated read API under load (wrk, loopback only, bounded in time), embedded and split mode.
#   benchmarks/api-load.sh [embedded|split|both] [--bin-dir DIR] [--duration 10s] [--connections 32]
# Embedded: a private `trellis serve --demo` (SQLite). Split: every service its own process behind the gateway
# (deploy/local/trellis-local) on a private PostgreSQL (scripts/with-postgres.sh). Each logs in as the admin and reads,
# with its token, GET /api/v1/projects, then GET /api/v1/projects/demo/pipelines (embedded: the demo project's; split:
# /api/v1/users and a new project's pipelines, a read that crosses from the pipeline service to the identity service)
# with wrk's 2 threads and the connections given, and prints requests a second and the latency percentiles.
set -euo pipefail
cd "$(dirname "$0")/.."
# Inside a running platform at $TRELLIS_URL: log in, then load each path.
if [ "${LOAD_INSIDE:-}" = 1 ]; then
  TOKEN=$(curl -fsS -X POST -H 'Content-Type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$TRELLIS_ADMIN_PASSWORD\"}" "$TRELLIS_URL/api/v1/auth/login" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
  if [ -n "${LOAD_PROJECT:-}" ]; then
    curl -fsS -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
      -d "{\"name\":\"$LOAD_PROJECT\"}" "$TRELLIS_URL/api/v1/projects"
  fi
  for path in "$@"; do
    curl -fsS -o /dev/null -H "Authorization: Bearer $TOKEN" "$TRELLIS_URL$path"
    out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $TOKEN" "$TRELLIS_URL$path")
    if echo "$out" | grep -q "Non-2xx"; then echo "$out" >&2; echo "api-load: $path answered errors" >&2; exit 1; fi
    printf '%-8s GET %-40s %8s req/s  p50 %-8s p90 %-8s p99 %s\n' "$LOAD_MODE" "$path" \
      "$(echo "$out" | awk '/Requests\/sec/ {print $2}')" "$(echo "$out" | awk '$1 == "50%" {print $2}')" \
      "$(echo "$out" | awk '$1 == "90%" {print $2}')" "$(echo "$out" | awk '$1 == "99%" {print $2}')"
  done
  exit 0
fi

MODE=both BIN=.build/release DURATION=10s CONNECTIONS=32
while [ $# -gt 0 ]; do
  case "$1" in
    embedded | split | both) MODE=$1 ;;
    --bin-dir) BIN=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --connections) CONNECTIONS=$2; shift ;;
    *) echo "api-load: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
scripts/install-deps.sh bench
export BIN DURATION CONNECTIONS TRELLIS_LOG_LEVEL=warning TRELLIS_ADMIN_PASSWORD=load-admin-password

echo "api-load: $(nproc) cores, wrk -t2 -c$CONNECTIONS -d$DURATION, $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1 /proc/loadavg)"
if [ "$MODE" != split ]; then
  TRELLIS_BIN_DIR=$BIN LOAD_INSIDE=1 LOAD_MODE=embedded scripts/with-serve.sh "$0" /api/v1/projects /api/v1/projects/demo/pipelines
fi
if [ "$MODE" != embedded ]; then
  TRELLIS_BIN_DIR=$BIN scripts/with-postgres.sh bash -c '
    set -euo pipefail
    . scripts/ports.sh
    DIR=$(mktemp -d /tmp/trellis-load-split.XXXXXX)
    trap "deploy/local/trellis-local stop --state-dir $DIR/state >/dev/null 2>&1 || true; rm -rf $DIR" EXIT
    psql -q "$TRELLIS_TEST_POSTGRES_URL" -c "CREATE DATABASE load" >/dev/null
    start() {
      deploy/local/trellis-local start --database-url "${TRELLIS_TEST_POSTGRES_URL%/postgres}/load" --base-port "$1" \
        --bin-dir "$BIN" --state-dir "$DIR/state" > "$DIR/launcher.log" 2>&1 && { PORT=$1; return 0; }
      grep -qs "Address already in use" "$DIR"/state/*.log && { deploy/local/trellis-local stop --state-dir "$DIR/state" >/dev/null; return 75; }
      cat "$DIR/launcher.log" >&2
      return 1
    }
    on_free_port LOAD_SPLIT start
    TRELLIS_URL=http://127.0.0.1:$PORT LOAD_INSIDE=1 LOAD_MODE=split LOAD_PROJECT=load benchmarks/api-load.sh /api/v1/projects \
      /api/v1/users /api/v1/projects/load/pipelines
  '
fi
