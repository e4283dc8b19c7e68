#!/usr/bin/env bash
# Runs a command with a private etcd + kube-apiserver on 127.0.0.1 and Argo's Workflow CRDs applied, then stops them
# by PID. The API server is built once from Debian's `kubernetes` source package by
# ../shared/recipes/kube-apiserver-build.sh into /var/cache/kube-src (outside the clone: later runs skip the build).
#   scripts/with-kube.sh COMMAND...
# The command sees TRELLIS_TEST_KUBE_URL (https://127.0.0.1:PORT), TRELLIS_TEST_KUBE_TOKEN (a system:masters token),
# TRELLIS_TEST_KUBE_CA (the API server's self-signed certificate) and TRELLIS_TEST_KUBE_CLIENT_CERT/_KEY (a client
# certificate of the system:masters group).
set -euo pipefail
SHARED=$(cd "$(dirname "$0")/../../shared" && pwd)
KAPI=${KAPI:-/var/cache/kube-src/bin/kube-apiserver}
if [ ! -x "$KAPI" ]; then
  echo "with-kube: building kube-apiserver from Debian's source (about 8 minutes, once per machine)" >&2
  bash "$SHARED/recipes/kube-apiserver-build.sh" >&2
fi
command -v etcd >/dev/null || { echo "with-kube: etcd not found (apt-get install etcd-server etcd-client)" >&2; exit 1; }
PORT=${TRELLIS_TEST_KUBE_PORT:-26443}
TOKEN=trellis-test-token
D=$(mktemp -d /tmp/trellis-kube.XXXXXX)
stop() {
  for name in apiserver etcd; do
    [ -f "$D/$name.pid" ] && kill -TERM "$(cat "$D/$name.pid")" 2>/dev/null || true
  done
  for name in apiserver etcd; do
    [ -f "$D/$name.pid" ] || continue
    for _ in $(seq 50); do kill -0 "$(cat "$D/$name.pid")" 2>/dev/null || break; sleep 0.1; done
  done
  rm -rf "$D"
}
trap stop EXIT
# Client certificates too: a CA the API server trusts (through a wrapper adding --client-ca-file to the recipe's
# command) and a certificate of the system:masters group signed by it.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=trellis-test-client-ca" \
  -keyout "$D/client-ca.key" -out "$D/client-ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=trellis-test" -keyout "$D/client.key" -out "$D/client.csr" 2>/dev/null
openssl x509 -req -in "$D/client.csr" -CA "$D/client-ca.crt" -CAkey "$D/client-ca.key" -CAcreateserial -days 2 \
  -out "$D/client.crt" 2>/dev/null
printf '#!/bin/sh\nexec %s --client-ca-file=%s "$@"\n' "$KAPI" "$D/client-ca.crt" > "$D/kube-apiserver"
chmod +x "$D/kube-apiserver"
D=$D KAPI=$D/kube-apiserver AP=$PORT EP=$((PORT + 1)) PP=$((PORT + 2)) TOKEN=$TOKEN bash "$SHARED/recipes/kube-apiserver-start.sh" >/dev/null
URL="https://127.0.0.1:$PORT"
for crd in "$SHARED"/data/argo-workflows/crds-minimal/*.yaml; do
  curl -fsS --cacert "$D/certs/apiserver.crt" -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/yaml" \
    --data-binary @"$crd" "$URL/apis/apiextensions.k8s.io/v1/customresourcedefinitions" >/dev/null
done
for _ in $(seq 100); do
  curl -fsS --cacert "$D/certs/apiserver.crt" -H "Authorization: Bearer $TOKEN" "$URL/apis/argoproj.io/v1alpha1/workflows" >/dev/null 2>&1 && break
  sleep 0.1
done
export TRELLIS_TEST_KUBE_URL=$URL TRELLIS_TEST_KUBE_TOKEN=$TOKEN TRELLIS_TEST_KUBE_CA=$D/certs/apiserver.crt
export TRELLIS_TEST_KUBE_CLIENT_CERT=$D/client.crt TRELLIS_TEST_KUBE_CLIENT_KEY=$D/client.key
echo "with-kube: kube-apiserver on $URL (pid $(cat "$D/apiserver.pid")), etcd (pid $(cat "$D/etcd.pid"))" >&2
"$@"
