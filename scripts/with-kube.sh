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
. "$(dirname "$0")/ports.sh"
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
# Client certificates too: a CA the API server trusts (its --client-ca-file) and a certificate of the system:masters
# group signed by it.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=trellis-test-client-ca" \
  -keyout "$D/client-ca.key" -out "$D/client-ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=trellis-test" -keyout "$D/client.key" -out "$D/client.csr" 2>/dev/null
openssl x509 -req -in "$D/client.csr" -CA "$D/client-ca.crt" -CAkey "$D/client-ca.key" -CAcreateserial -days 2 \
  -out "$D/client.crt" 2>/dev/null
openssl genrsa -out "$D/sa.key" 2048 2>/dev/null
echo "$TOKEN,trellis-test,1,\"system:masters\"" > "$D/tokens.csv"

# etcd and the API server as ../shared/recipes/kube-apiserver-start.sh starts them, plus the client CA, each start
# checked: a port taken (75) is tried again elsewhere, any other failure shows the log.
failed() { # NAME LOG; 75 when the port was taken
  grep -q "address already in use" "$2" && return 75
  echo "with-kube: $1 did not start:" >&2
  tail -n 30 "$2" >&2
  return 1
}
start() { # PORT: the API server; etcd's client and peer ports are PORT+1 and PORT+2
  local ap=$1 ep=$(($1 + 1)) pp=$(($1 + 2))
  rm -rf "$D/etcd"
  etcd --name ci --data-dir "$D/etcd" --listen-client-urls "http://127.0.0.1:$ep" --advertise-client-urls "http://127.0.0.1:$ep" \
    --listen-peer-urls "http://127.0.0.1:$pp" --initial-advertise-peer-urls "http://127.0.0.1:$pp" \
    --initial-cluster "ci=http://127.0.0.1:$pp" > "$D/etcd.log" 2>&1 &
  echo $! > "$D/etcd.pid"
  for attempt in $(seq 301); do
    ETCDCTL_API=3 etcdctl --endpoints="127.0.0.1:$ep" endpoint health >/dev/null 2>&1 && break
    kill -0 "$(cat "$D/etcd.pid")" 2>/dev/null || { failed etcd "$D/etcd.log"; return; }
    [ "$attempt" -lt 301 ] || { echo "with-kube: etcd was not healthy within 30 s" >&2; tail -n 30 "$D/etcd.log" >&2; return 1; }
    sleep 0.1
  done
  "$KAPI" --client-ca-file="$D/client-ca.crt" --etcd-servers="http://127.0.0.1:$ep" --bind-address=127.0.0.1 --secure-port="$ap" \
    --advertise-address=127.0.0.1 --cert-dir="$D/certs" --token-auth-file="$D/tokens.csv" --authorization-mode=RBAC \
    --service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$D/sa.key" \
    --service-account-signing-key-file="$D/sa.key" --service-cluster-ip-range=10.96.0.0/16 \
    --disable-admission-plugins=ServiceAccount --enable-priority-and-fairness=false > "$D/apiserver.log" 2>&1 &
  echo $! > "$D/apiserver.pid"
  for _ in $(seq 240); do
    curl -sk -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:$ap/readyz" 2>/dev/null | grep -q '^ok$' && { PORT=$ap; return 0; }
    if ! kill -0 "$(cat "$D/apiserver.pid")" 2>/dev/null; then
      kill -TERM "$(cat "$D/etcd.pid")" 2>/dev/null || true
      wait 2>/dev/null || true
      failed kube-apiserver "$D/apiserver.log"
      return
    fi
    sleep 0.5
  done
  echo "with-kube: kube-apiserver was not ready within 2 minutes:" >&2
  tail -n 30 "$D/apiserver.log" >&2
  return 1
}
on_free_port KUBE start
URL="https://127.0.0.1:$PORT"
# Argo's CRDs, and the training operator's and KubeRay's that Workflows' resource steps create.
for crd in "$SHARED"/data/argo-workflows/crds-minimal/*.yaml "$SHARED"/data/kubeflow-training/crds-minimal/*.yaml \
  "$SHARED"/data/kuberay/crds-minimal/*.yaml; do
  curl -fsS --cacert "$D/certs/apiserver.crt" -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/yaml" \
    --data-binary @"$crd" "$URL/apis/apiextensions.k8s.io/v1/customresourcedefinitions" >/dev/null
done
for api in argoproj.io/v1alpha1/workflows kubeflow.org/v1/pytorchjobs kubeflow.org/v1/xgboostjobs; do
  for _ in $(seq 100); do
    curl -fsS --cacert "$D/certs/apiserver.crt" -H "Authorization: Bearer $TOKEN" "$URL/apis/$api" >/dev/null 2>&1 && break
    sleep 0.1
  done
done
export TRELLIS_TEST_KUBE_URL=$URL TRELLIS_TEST_KUBE_TOKEN=$TOKEN TRELLIS_TEST_KUBE_CA=$D/certs/apiserver.crt
export TRELLIS_TEST_KUBE_CLIENT_CERT=$D/client.crt TRELLIS_TEST_KUBE_CLIENT_KEY=$D/client.key
echo "with-kube: kube-apiserver on $URL (pid $(cat "$D/apiserver.pid")), etcd (pid $(cat "$D/etcd.pid"))" >&2
"$@"
