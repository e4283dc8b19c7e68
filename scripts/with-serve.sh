#!/usr/bin/env bash
# Runs COMMAND with a private `trellis serve --demo` on 127.0.0.1 (a throwaway data folder), its URL in TRELLIS_URL
# and the admin's password in TRELLIS_ADMIN_PASSWORD; stops it by PID afterwards, and shows its log's end when the
# command fails.
#   TRELLIS_BIN_DIR=… scripts/with-serve.sh COMMAND…
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ports.sh
BIN=${TRELLIS_BIN_DIR:-$(swift build --show-bin-path)}
export TRELLIS_ADMIN_PASSWORD=${TRELLIS_ADMIN_PASSWORD:-serve-admin-password}
DIR=$(mktemp -d /tmp/trellis-serve.XXXXXX)
SERVER=
stop() {
  [ -z "$SERVER" ] || { kill -TERM "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }
  rm -rf "$DIR"
}
trap stop EXIT
start() { # PORT; 75 when it is taken
  "$BIN/trellis" serve --demo --port "$1" --data-dir "$DIR/data" > "$DIR/serve.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 300); do
    curl -fsS "http://127.0.0.1:$1/healthz" >/dev/null 2>&1 && kill -0 "$SERVER" 2>/dev/null && { PORT=$1; return 0; }
    if ! kill -0 "$SERVER" 2>/dev/null; then
      wait "$SERVER" 2>/dev/null || true
      SERVER=
      grep -q "Address already in use" "$DIR/serve.log" && { rm -rf "$DIR/data"; return 75; }
      break
    fi
    sleep 0.1
  done
  echo "with-serve: trellis serve did not start:" >&2
  tail -n 30 "$DIR/serve.log" >&2
  return 1
}
on_free_port SERVE start
export TRELLIS_URL="http://127.0.0.1:$PORT"
"$@" || { status=$?; echo "with-serve: '$*' failed; the server's log ends:" >&2; tail -n 30 "$DIR/serve.log" >&2; exit $status; }
