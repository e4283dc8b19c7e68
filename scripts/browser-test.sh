#!/usr/bin/env bash
# The portal's tests: its pure modules under `node --test`, then what a new user does in real Chromium against a
# private `trellis serve` on 127.0.0.1 (stopped by PID afterwards). Screenshots land in .build-screenshots/.
#   TRELLIS_BIN_DIR=… scripts/browser-test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
node --test Tests/Portal/

BIN=${TRELLIS_BIN_DIR:-$(swift build --show-bin-path)}
PYTHON=$(scripts/test-venv.sh)

DIR=$(mktemp -d /tmp/trellis-browser.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export TRELLIS_ADMIN_PASSWORD=browser-admin-password
"$BIN/trellis" serve --port "$PORT" --data-dir "$DIR/data" > "$DIR/serve.log" 2>&1 &
SERVER=$!
stop() {
  kill -TERM "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  rm -rf "$DIR"
}
trap stop EXIT
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
TRELLIS_URL="http://127.0.0.1:$PORT" TRELLIS_SCREENSHOTS=.build-screenshots "$PYTHON" Tests/Browser/portal_test.py \
  || { echo "browser-test: the server's log:" >&2; tail -50 "$DIR/serve.log" >&2; exit 1; }
