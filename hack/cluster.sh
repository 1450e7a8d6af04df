#!/usr/bin/env bash
# The embedded local cluster: etcd + kube-apiserver on loopback, no kubelet, no controllers.
#   hack/cluster.sh up      start (idempotent) and write .cluster/kubeconfig
#   hack/cluster.sh down    stop and remove the data
#   hack/cluster.sh status  say whether it runs
# The binaries come from hack/build-test-binaries.sh (built from the Go module proxy when missing).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLUSTER_DIR="${CONNTRACK_CLUSTER_DIR:-$ROOT/.cluster}"
API_PORT="${CONNTRACK_API_PORT:-16443}"
ETCD_PORT="${CONNTRACK_ETCD_PORT:-23790}"
ETCD_PEER_PORT=$((ETCD_PORT + 10))
PKI="$CLUSTER_DIR/pki"
LOGS="$CLUSTER_DIR/logs"

log() { echo "[cluster] $*" >&2; }

# shellcheck source=hack/lib/pidfile.sh
source "$ROOT/hack/lib/pidfile.sh"

make_pki() {
  [[ -f "$PKI/admin.crt" ]] && return 0
  command -v openssl >/dev/null || { log "openssl is required"; exit 1; }
  mkdir -p "$PKI"
  (
    cd "$PKI"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 365 -subj "/CN=conntrack-local-ca" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=kube-apiserver" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n' > server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 365 -extfile server.ext 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr -subj "/O=system:masters/CN=conntrack-admin" 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' > admin.ext
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out admin.crt -days 365 -extfile admin.ext 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    rm -f ./*.csr ./*.ext
  )
}

write_kubeconfig() {
  local b64="base64 -w0"
  cat > "$CLUSTER_DIR/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: conntrack-local
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $($b64 < "$PKI/ca.crt")
users:
- name: conntrack-admin
  user:
    client-certificate-data: $($b64 < "$PKI/admin.crt")
    client-key-data: $($b64 < "$PKI/admin.key")
contexts:
- name: conntrack-local
  context: {cluster: conntrack-local, user: conntrack-admin}
current-context: conntrack-local
EOF
}

up() {
  local bindir
  bindir="$("$ROOT/hack/build-test-binaries.sh" | tail -n 1)"
  mkdir -p "$CLUSTER_DIR" "$LOGS"
  make_pki
  if ! pid_alive "$CLUSTER_DIR/etcd.pid"; then
    log "starting etcd on 127.0.0.1:$ETCD_PORT"
    nohup "$bindir/etcd" --name local --data-dir "$CLUSTER_DIR/etcd-data" \
      --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
      --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
      --initial-cluster "local=http://127.0.0.1:$ETCD_PEER_PORT" --log-level warn \
      > "$LOGS/etcd.log" 2>&1 &
    echo $! > "$CLUSTER_DIR/etcd.pid"
  fi
  if ! pid_alive "$CLUSTER_DIR/apiserver.pid"; then
    log "starting kube-apiserver on https://127.0.0.1:$API_PORT"
    nohup "$bindir/kube-apiserver" --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
      --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
      --tls-cert-file "$PKI/server.crt" --tls-private-key-file "$PKI/server.key" \
      --client-ca-file "$PKI/ca.crt" --authorization-mode RBAC --allow-privileged \
      --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$PKI/sa.pub" \
      --service-account-signing-key-file "$PKI/sa.key" --service-cluster-ip-range 10.0.0.0/24 \
      --disable-admission-plugins ServiceAccount --cert-dir "$CLUSTER_DIR/apiserver-certs" \
      > "$LOGS/apiserver.log" 2>&1 &
    echo $! > "$CLUSTER_DIR/apiserver.pid"
  fi
  write_kubeconfig
  for _ in $(seq 1 120); do
    if curl -sf --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
        "https://127.0.0.1:$API_PORT/readyz" >/dev/null 2>&1; then
      log "ready: export KUBECONFIG=$CLUSTER_DIR/kubeconfig"
      return 0
    fi
    pid_alive "$CLUSTER_DIR/apiserver.pid" || { log "kube-apiserver exited; see $LOGS/apiserver.log"; tail -20 "$LOGS/apiserver.log" >&2; exit 1; }
    sleep 0.5
  done
  log "kube-apiserver not ready after 60 s; see $LOGS/apiserver.log"
  exit 1
}

down() {
  stop_pidfile "$CLUSTER_DIR/apiserver.pid"
  stop_pidfile "$CLUSTER_DIR/etcd.pid"
  rm -rf "$CLUSTER_DIR"
  log "stopped and removed $CLUSTER_DIR"
}

status() {
  if pid_alive "$CLUSTER_DIR/apiserver.pid" && pid_alive "$CLUSTER_DIR/etcd.pid"; then
    echo "running: KUBECONFIG=$CLUSTER_DIR/kubeconfig (https://127.0.0.1:$API_PORT)"
  else
    echo "not running"
    return 1
  fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
