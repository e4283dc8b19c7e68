#!/usr/bin/env bash
# Runs a command with a private OpenLDAP slapd on 127.0.0.1 holding a small test directory, then stops it by PID.
#   scripts/with-ldap.sh COMMAND...
# The command sees TRELLIS_TEST_LDAP_URL=ldap://127.0.0.1:PORT (StartTLS offered), TRELLIS_TEST_LDAPS_URL=
# ldaps://127.0.0.1:PORT+1 and TRELLIS_TEST_LDAP_CA, the CA that signed the server's certificate (made here, for
# 127.0.0.1). The directory (dc=example,dc=org):
#   service account cn=reader,dc=example,dc=org / reader-pw
#   ou=people: alice / alice-pw (Alice Example), bob / bob-pw, carol / carol-pw
#   ou=groups (groupOfNames): trellis-admins {bob}, ml-developers {alice}, ml-viewers {carol}
# It allows unauthenticated binds (a DN with an empty password), as some servers do: a client that passes an empty
# password on would log anyone in, so the tests can show Trellis refuses it before binding.
set -euo pipefail
command -v slapd >/dev/null || PATH=$PATH:/usr/sbin
command -v slapd >/dev/null || { echo "with-ldap: slapd not found (apt-get install slapd ldap-utils)" >&2; exit 1; }
. "$(dirname "$0")/ports.sh"
DIR=$(mktemp -d /tmp/trellis-ldap.XXXXXX)
mkdir -p "$DIR/db"

stop() {
  if [ -f "$DIR/slapd.pid" ]; then
    pid=$(cat "$DIR/slapd.pid")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$DIR"
}
trap stop EXIT

# A CA and a server certificate for 127.0.0.1 signed by it.
. "$(dirname "$0")/test-certificates.sh"
server_certificate "$DIR" 127.0.0.1 IP:127.0.0.1

cat > "$DIR/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile $DIR/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
allow bind_anon_dn
TLSCACertificateFile $DIR/ca.pem
TLSCertificateFile $DIR/server.pem
TLSCertificateKeyFile $DIR/server.key
database mdb
maxsize 104857600
suffix "dc=example,dc=org"
rootdn "cn=admin,dc=example,dc=org"
rootpw $(slappasswd -s admin-pw)
directory $DIR/db
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
CONF
slaptest -u -f "$DIR/slapd.conf" >/dev/null 2>&1 || { slaptest -u -f "$DIR/slapd.conf" >&2; exit 1; }
start() { # PORT (ldap; ldaps on PORT+1); 75 when either is taken
  slapd -f "$DIR/slapd.conf" -h "ldap://127.0.0.1:$1/ ldaps://127.0.0.1:$(($1 + 1))/" 2>"$DIR/slapd.err" && { PORT=$1; return 0; }
  # slapd says nothing on stderr when it cannot bind: a port something answers on now was taken.
  listening "$1" || listening $(($1 + 1)) && return 75
  cat "$DIR/slapd.err" >&2
  return 1
}
on_free_port LDAP start
for _ in $(seq 100); do ldapsearch -x -H "ldap://127.0.0.1:$PORT" -b "" -s base >/dev/null 2>&1 && break; sleep 0.1; done

person() { # uid name password
  cat <<LDIF
dn: uid=$1,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: $1
cn: $2
sn: Example
mail: $1@example.org
userPassword: $(slappasswd -s "$3")

LDIF
}
group() { # name member-uid
  cat <<LDIF
dn: cn=$1,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: $1
member: uid=$2,ou=people,dc=example,dc=org

LDIF
}
{
  cat <<LDIF
dn: dc=example,dc=org
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: cn=reader,dc=example,dc=org
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: reader
userPassword: $(slappasswd -s reader-pw)

dn: ou=people,dc=example,dc=org
objectClass: organizationalUnit
ou: people

dn: ou=groups,dc=example,dc=org
objectClass: organizationalUnit
ou: groups

LDIF
  person alice "Alice Example" alice-pw
  person bob "Bob Example" bob-pw
  person carol "Carol Example" carol-pw
  group trellis-admins bob
  group ml-developers alice
  group ml-viewers carol
} | ldapadd -x -H "ldap://127.0.0.1:$PORT" -D "cn=admin,dc=example,dc=org" -w admin-pw >/dev/null

export TRELLIS_TEST_LDAP_URL="ldap://127.0.0.1:$PORT"
export TRELLIS_TEST_LDAPS_URL="ldaps://127.0.0.1:$((PORT + 1))"
export TRELLIS_TEST_LDAP_CA="$DIR/ca.pem"
echo "with-ldap: slapd on 127.0.0.1:$PORT and ldaps on $((PORT + 1)) (pid $(cat "$DIR/slapd.pid"))" >&2
"$@"
