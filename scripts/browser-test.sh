#!/usr/bin/env bash
# The portal's tests: its pure modules under `node --test`, then what a new user does in real Chromium against a
# private `trellis serve` on 127.0.0.1, then a shorter pass against split mode (every service its own process on a
# private PostgreSQL, behind the gateway); every server is stopped by PID afterwards. Screenshots land in
# .build-screenshots/.
#   TRELLIS_BIN_DIR=… scripts/browser-test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ports.sh
BIN=${TRELLIS_BIN_DIR:-$(swift build --show-bin-path)}
PYTHON=$(scripts/test-venv.sh)
export TRELLIS_ADMIN_PASSWORD=browser-admin-password

# Split mode: run inside scripts/with-postgres.sh by the embedded pass below.
if [ "${1:-}" = --split ]; then
  DIR=$(mktemp -d /tmp/trellis-browser-split.XXXXXX)
  stop() {
    deploy/local/trellis-local stop --state-dir "$DIR/state" >/dev/null 2>&1 || true
    rm -rf "$DIR"
  }
  trap stop EXIT
  psql -q "$TRELLIS_TEST_POSTGRES_URL" -c "CREATE DATABASE portal" >/dev/null
  URL=${TRELLIS_TEST_POSTGRES_URL%/postgres}/portal
  start() { # BASE-PORT (the gateway; the services above it); 75 when a port was taken
    deploy/local/trellis-local start --database-url "$URL" --base-port "$1" --bin-dir "$BIN" --state-dir "$DIR/state" \
      > "$DIR/launcher.log" 2>&1 && { PORT=$1; return 0; }
    grep -qs "Address already in use" "$DIR"/state/*.log && { deploy/local/trellis-local stop --state-dir "$DIR/state" >/dev/null; return 75; }
    cat "$DIR/launcher.log" >&2
    return 1
  }
  on_free_port PORTAL_SPLIT start
  TRELLIS_URL="http://127.0.0.1:$PORT" TRELLIS_PORTAL_PASS=split TRELLIS_SCREENSHOTS=.build-screenshots/split \
    timeout 300 "$PYTHON" Tests/Browser/portal_test.py \
    || { echo "browser-test: the services' logs end:" >&2; tail -n 20 "$DIR"/state/*.log >&2; exit 1; }
  exit 0
fi

node --test Tests/Portal/

DIR=$(mktemp -d /tmp/trellis-browser.XXXXXX)
# A folder the tasks share with the test (gates it opens, so that "still running" is certain, not a race).
chmod 0711 "$DIR"
mkdir -m 0777 "$DIR/shared"
trap 'rm -rf "$DIR"' EXIT
# Alerts' webhooks: two tries, soon after each other (the portal test waits for a dead delivery).
TRELLIS_ALERTS_ATTEMPTS=2 TRELLIS_ALERTS_BACKOFF=200ms TRELLIS_BIN_DIR=$BIN TRELLIS_SHARED="$DIR/shared" \
  TRELLIS_SCREENSHOTS=.build-screenshots scripts/with-serve.sh timeout 600 "$PYTHON" Tests/Browser/portal_test.py

TRELLIS_BIN_DIR=$BIN scripts/with-postgres.sh "$0" --split
