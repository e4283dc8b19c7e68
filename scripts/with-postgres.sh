#!/usr/bin/env bash
# Runs a command with a private PostgreSQL on 127.0.0.1, then stops it by PID.
#   scripts/with-postgres.sh COMMAND...
# The command sees TRELLIS_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:PORT/postgres (trust auth, throwaway data)
# and TRELLIS_TEST_POSTGRES_CA, the CA of the server's TLS certificate (for localhost and 127.0.0.1).
set -euo pipefail
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$PGBIN/initdb" ] || { echo "with-postgres: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
. "$(dirname "$0")/ports.sh"
DATA=$(mktemp -d /tmp/trellis-pg.XXXXXX)
chmod 755 "$DATA"
as_postgres() { if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$DATA"; runuser -u postgres -- "$@"; else "$@"; fi; }

stop() {
  if [ -f "$DATA/postmaster.pid" ]; then
    pid=$(head -n 1 "$DATA/postmaster.pid")
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$DATA"
}
trap stop EXIT

as_postgres "$PGBIN/initdb" -D "$DATA/db" -U postgres -A trust --no-sync -E UTF8 >"$DATA/initdb.log" 2>&1 \
  || { cat "$DATA/initdb.log" >&2; exit 1; }
# TLS too (ssl=on; plain connections stay allowed): a CA made here and a server certificate for localhost and
# 127.0.0.1 signed by it, the CA in TRELLIS_TEST_POSTGRES_CA.
. "$(dirname "$0")/test-certificates.sh"
server_certificate "$DATA" localhost DNS:localhost,IP:127.0.0.1
# max_connections: the Swift tests hold at most 280 at once (TestDatabases.postgresConnections), beside the 3 reserved
# for superusers.
start() { # PORT; 75 when it is taken
  : > "$DATA/server.log"
  as_postgres "$PGBIN/pg_ctl" -D "$DATA/db" -l "$DATA/server.log" -w \
    -o "-p $1 -k $DATA -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300 -c ssl=on \
    -c ssl_cert_file=$DATA/server.pem -c ssl_key_file=$DATA/server.key" start >/dev/null && return 0
  grep -q "Address already in use" "$DATA/server.log" && return 75
  cat "$DATA/server.log" >&2
  return 1
}
on_free_port POSTGRES start
PORT=$(sed -n 4p "$DATA/db/postmaster.pid")
cp "$DATA/db/postmaster.pid" "$DATA/postmaster.pid"
export TRELLIS_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PORT/postgres"
export TRELLIS_TEST_POSTGRES_CA="$DATA/ca.pem"
echo "with-postgres: PostgreSQL on 127.0.0.1:$PORT (pid $(head -n 1 "$DATA/postmaster.pid"))" >&2
"$@"
