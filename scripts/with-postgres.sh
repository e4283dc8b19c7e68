#!/usr/bin/env bash
# Runs a command with a private PostgreSQL on 127.0.0.1 (scripts/postgres-instance.sh), then stops it by PID.
#   scripts/with-postgres.sh COMMAND...
# The command sees TRELLIS_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:PORT/postgres (trust auth, throwaway data)
# and TRELLIS_TEST_POSTGRES_CA, the CA of the server's TLS certificate (for localhost and 127.0.0.1).
set -euo pipefail
instance="$(dirname "$0")/postgres-instance.sh"
DATA=$(mktemp -d /tmp/trellis-pg.XXXXXX)

stop() {
  if [ -f "$DATA/postmaster.pid" ]; then
    pid=$(head -n 1 "$DATA/postmaster.pid")
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$DATA"
}
trap stop EXIT

PORT=$("$instance" start "$DATA")
export TRELLIS_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PORT/postgres"
export TRELLIS_TEST_POSTGRES_CA="$DATA/ca.pem"
echo "with-postgres: PostgreSQL on 127.0.0.1:$PORT (pid $(head -n 1 "$DATA/postmaster.pid"))" >&2
"$@"
