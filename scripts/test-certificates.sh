# A throwaway CA and a server certificate signed by it, for the test servers that speak TLS; sourced by them.

# server_certificate DIR CN SAN: DIR/ca.pem (and ca.key), DIR/server.pem and DIR/server.key (0600) for the subject
# CN with the subjectAltName SAN (such as "DNS:localhost,IP:127.0.0.1"), valid two days.
server_certificate() {
  local dir=$1 name=$2 san=$3
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Trellis test CA for $name" \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
  printf 'subjectAltName=%s\n' "$san" > "$dir/san.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
    -extfile "$dir/san.ext" -out "$dir/server.pem" 2>/dev/null
  chmod 600 "$dir/server.key"
  chmod 644 "$dir/ca.pem"
}
