#!/usr/bin/env bash
# Installs the system packages `make run` and `make test` need, from Debian's registry, when they are missing.
#   scripts/install-deps.sh run|test|bench
set -euo pipefail
need=()
command -v swift >/dev/null || { echo "install-deps: the Swift toolchain (6.2 or later) is required and not on PATH" >&2; exit 1; }
command -v curl >/dev/null || need+=(curl)
[ -f /usr/include/ldap.h ] || need+=(libldap2-dev)   # the identity service's directory logins link libldap
command -v bwrap >/dev/null || need+=(bubblewrap)     # every local task runs in a bubblewrap sandbox
if [ "${1:-run}" = test ]; then
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
  [ -x /usr/sbin/slapd ] || need+=(slapd ldap-utils)   # a private test directory (scripts/with-ldap.sh)
  command -v openssl >/dev/null || need+=(openssl)        # its TLS certificate
  command -v etcd >/dev/null || need+=(etcd-server etcd-client)   # under the test kube-apiserver (scripts/with-kube.sh)
  command -v prometheus >/dev/null || need+=(prometheus)   # pods' resource use (scripts/with-prometheus.sh)
  # The portal's tests (scripts/browser-test.sh): node --test, and Chromium driven by selenium from PyPI.
  command -v node >/dev/null || need+=(nodejs)
  [ -x /usr/bin/chromium ] || need+=(chromium)
  # Chinese text in the portal's Chinese screenshots (a small CJK font; without one, Chromium draws empty boxes).
  [ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
  # The mpi template's test: Open MPI's launcher and mpi4py for the system python.
  command -v mpirun >/dev/null || need+=(openmpi-bin)
  [ -d /usr/lib/python3/dist-packages/mpi4py ] || need+=(python3-mpi4py)
  [ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
  python3 -c "import ensurepip" 2>/dev/null || need+=(python3-venv)
  command -v gdb >/dev/null || need+=(gdb)   # where a phase that did not end was stuck (scripts/bounded.sh)
fi
if [ "${1:-run}" = bench ]; then
  command -v wrk >/dev/null || need+=(wrk)   # benchmarks/api-load.sh
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)   # its split mode
fi
[ ${#need[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${need[*]}"
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
# slapd is only started by the tests, on a private configuration: no system directory.
echo "slapd slapd/no_configuration boolean true" | $sudo debconf-set-selections
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${need[@]}" >/dev/null
