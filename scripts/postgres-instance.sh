#!/usr/bin/env bash
# One private PostgreSQL kept in a folder, for the test scripts and for tests that stop and start their database.
#   scripts/postgres-instance.sh start DIR   first time: initdb, a TLS certificate, a free port; after a stop: the same
#                                            port again. Prints the port.
#   scripts/postgres-instance.sh stop DIR    fast shutdown (connections are cut), waits until it is down
# Trust auth on 127.0.0.1 only, throwaway data (fsync off); the CA of its TLS certificate is DIR/ca.pem.
set -euo pipefail
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$PGBIN/initdb" ] || { echo "postgres-instance: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
command=${1:-}; DATA=${2:-}
[ -n "$DATA" ] || { sed -n '2,6p' "$0" >&2; exit 2; }
as_postgres() { if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$DATA"; runuser -u postgres -- "$@"; else "$@"; fi; }

# max_connections: the Swift tests hold at most 280 at once (TestDatabases.postgresConnections), beside the 3 reserved
# for superusers.
start_on() { # PORT; 75 when it is taken
  : > "$DATA/server.log"
  as_postgres "$PGBIN/pg_ctl" -D "$DATA/db" -l "$DATA/server.log" -w \
    -o "-p $1 -k $DATA -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300 -c ssl=on \
    -c ssl_cert_file=$DATA/server.pem -c ssl_key_file=$DATA/server.key" start >/dev/null && { echo "$1" > "$DATA/port"; return 0; }
  grep -q "Address already in use" "$DATA/server.log" && return 75
  cat "$DATA/server.log" >&2
  return 1
}

case "$command" in
  start)
    mkdir -p "$DATA"
    chmod 755 "$DATA"
    if [ ! -d "$DATA/db" ]; then
      as_postgres "$PGBIN/initdb" -D "$DATA/db" -U postgres -A trust --no-sync -E UTF8 >"$DATA/initdb.log" 2>&1 \
        || { cat "$DATA/initdb.log" >&2; exit 1; }
      # TLS too (ssl=on; plain connections stay allowed): a CA made here and a server certificate for localhost and
      # 127.0.0.1 signed by it.
      . "$here/test-certificates.sh"
      server_certificate "$DATA" localhost DNS:localhost,IP:127.0.0.1
    fi
    if [ -f "$DATA/port" ]; then
      start_on "$(cat "$DATA/port")"
    else
      . "$here/ports.sh"
      on_free_port POSTGRES start_on
    fi
    cp "$DATA/db/postmaster.pid" "$DATA/postmaster.pid"
    cat "$DATA/port"
    ;;
  stop)
    [ -f "$DATA/db/postmaster.pid" ] || exit 0
    as_postgres "$PGBIN/pg_ctl" -D "$DATA/db" -m fast -w stop >/dev/null
    ;;
  *) sed -n '2,6p' "$0" >&2; exit 2 ;;
esac
