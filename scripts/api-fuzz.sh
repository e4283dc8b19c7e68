#!/usr/bin/env bash
# Schemathesis (PyPI) against a private `trellis serve` on 127.0.0.1: every operation of docs/openapi.yaml (the
# internal ones and the two that end the session aside), a fixed seed and a bounded number of examples, called as a
# project's owner (not an admin); fails on any 5xx and any answer the document does not describe. The server is
# stopped by PID afterwards.
#   TRELLIS_BIN_DIR=… scripts/api-fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ports.sh
BIN=${TRELLIS_BIN_DIR:-$(swift build --show-bin-path)}
PYTHON=$(scripts/test-venv.sh)
export TRELLIS_ADMIN_PASSWORD=fuzz-admin-password
DIR=$(mktemp -d /tmp/trellis-fuzz.XXXXXX)
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
  echo "api-fuzz: trellis serve did not start:" >&2
  tail -n 30 "$DIR/serve.log" >&2
  return 1
}
on_free_port FUZZ start
BASE="http://127.0.0.1:$PORT"
call() { # METHOD PATH TOKEN [BODY]
  curl -fsS -X "$1" "$BASE$2" -H "Content-Type: application/json" ${3:+-H "Authorization: Bearer $3"} ${4:+-d "$4"}
}
token() { call POST /api/v1/auth/login "" "{\"username\": \"$1\", \"password\": \"$2\"}" | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["token"])'; }
ADMIN=$(token admin "$TRELLIS_ADMIN_PASSWORD")
call POST /api/v1/users "$ADMIN" '{"username": "owen", "password": "owen-password"}' >/dev/null
call POST /api/v1/projects/demo/members "$ADMIN" '{"username": "owen", "role": "owner"}' >/dev/null
OWNER=$(token owen owen-password)
"$(dirname "$PYTHON")/schemathesis" run "$BASE/api/v1/openapi.yaml" -H "Authorization: Bearer $OWNER" \
  --seed 1 --max-examples 10 --phases examples,coverage,fuzzing --workers 1 \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --exclude-tag internal --exclude-path /api/v1/auth/logout --exclude-path /api/v1/auth/refresh \
  --warnings off --no-color \
  || { echo "api-fuzz: the server's log ends:" >&2; tail -n 30 "$DIR/serve.log" >&2; exit 1; }
