#!/usr/bin/env bash
# Local clusters, in two sizes:
#
#   hack/cluster.sh up      the light cluster: etcd + kube-apiserver on loopback, no kubelet, no
#                           controllers (tests and the quick start run the roles as processes);
#                           writes .cluster/kubeconfig
#   hack/cluster.sh down    stop it and remove its data
#   hack/cluster.sh status  say whether it runs
#
#   hack/cluster.sh up --node      a real one-node cluster on this machine (root): the same etcd and
#                                  kube-apiserver plus kube-controller-manager, kube-scheduler,
#                                  containerd (Debian's), a kubelet, a CNI bridge and kube-proxy
#                                  (nftables mode), as local processes with locally made
#                                  certificates; waits for the Node to be Ready; writes
#                                  .cluster-node/kubeconfig. Every host change is recorded first
#                                  and undone by down (a trap runs down when up fails).
#   hack/cluster.sh down --node    stop every process it started (pods included), restore the
#                                  sysctls the kubelet, the bridge and kube-proxy write, delete the
#                                  nftables tables, links, network namespaces, mounts, cgroups and
#                                  directories it made
#   hack/cluster.sh status --node
#   hack/cluster.sh import --node ARCHIVE...          load image archives (hack/image.sh) into the node
#   hack/cluster.sh restart --node kubelet|kube-proxy [ARGS...]
#                                  restart one node process; ARGS are added to its flags (kube-proxy:
#                                  e.g. its conntrack flags, which up sets to 0 so that it leaves the
#                                  conntrack sysctls alone)
#
# The binaries come from hack/build-test-binaries.sh (built from the Go module proxy when missing,
# with --node for the node's); the node's images from hack/image.sh. The two sizes use their own
# directories and ports and can run side by side. Node mode needs the host lock when others share
# the machine (see hack/test.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODE=light
args=()
for a in "$@"; do
  if [[ "$a" == "--node" ]]; then MODE=node; else args+=("$a"); fi
done
set -- "${args[@]+"${args[@]}"}"

if [[ $MODE == node ]]; then
  CLUSTER_DIR="${CONNTRACK_NODE_CLUSTER_DIR:-$ROOT/.cluster-node}"
  API_PORT="${CONNTRACK_NODE_API_PORT:-16444}"
  ETCD_PORT="${CONNTRACK_NODE_ETCD_PORT:-23820}"
else
  CLUSTER_DIR="${CONNTRACK_CLUSTER_DIR:-$ROOT/.cluster}"
  API_PORT="${CONNTRACK_API_PORT:-16443}"
  ETCD_PORT="${CONNTRACK_ETCD_PORT:-23790}"
fi
ETCD_PEER_PORT=$((ETCD_PORT + 10))
PKI="$CLUSTER_DIR/pki"
LOGS="$CLUSTER_DIR/logs"
# Where the API server listens and what its certificate names: loopback for the light cluster; the
# node's bridge address for the real node, so that pods reach it too (through the kubernetes
# Service and kube-proxy).
API_HOST=127.0.0.1
API_SANS="IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc"

log() { echo "[cluster] $*" >&2; }

# shellcheck source=hack/lib/pidfile.sh
source "$ROOT/hack/lib/pidfile.sh"

# issue_cert NAME SUBJECT EXTENSIONS: a key and a certificate signed by the cluster's CA.
issue_cert() {
  local name="$1" subject="$2" ext="$3"
  [[ -f "$PKI/$name.crt" ]] && return 0
  openssl req -newkey rsa:2048 -nodes -keyout "$PKI/$name.key" -out "$PKI/$name.csr" -subj "$subject" 2>/dev/null
  printf '%s\n' "$ext" > "$PKI/$name.ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -out "$PKI/$name.crt" -days 365 -extfile "$PKI/$name.ext" 2>/dev/null
  rm -f "$PKI/$name.csr" "$PKI/$name.ext"
}

make_pki() {
  command -v openssl >/dev/null || { log "openssl is required"; exit 1; }
  mkdir -p "$PKI"
  if [[ ! -f "$PKI/ca.crt" ]]; then
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -days 365 \
      -subj "/CN=conntrack-local-ca" 2>/dev/null
    openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
    openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  fi
  issue_cert server "/CN=kube-apiserver" "subjectAltName=$API_SANS
extendedKeyUsage=serverAuth"
  issue_cert admin "/O=system:masters/CN=conntrack-admin" "extendedKeyUsage=clientAuth"
}

# write_kubeconfig FILE CERT_NAME: a kubeconfig for the API server with a client certificate.
write_kubeconfig() {
  local file="$1" user="$2" b64="base64 -w0"
  cat > "$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: conntrack-local
  cluster:
    server: https://$API_HOST:$API_PORT
    certificate-authority-data: $($b64 < "$PKI/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $($b64 < "$PKI/$user.crt")
    client-key-data: $($b64 < "$PKI/$user.key")
contexts:
- name: conntrack-local
  context: {cluster: conntrack-local, user: $user}
current-context: conntrack-local
EOF
}

# start NAME COMMAND...: runs a process in the background unless its pid file names a live one.
# Descriptors other than stdin/out/err are closed first: a caller's `flock LOCK hack/cluster.sh up`
# must not leave the lock held by the cluster's daemons after the script returns.
start() {
  local name="$1"; shift
  pid_alive "$CLUSTER_DIR/$name.pid" && return 0
  (
    for fd in /proc/$BASHPID/fd/*; do
      fd="${fd##*/}"
      ((fd > 2)) && eval "exec $fd>&-"
    done
    exec nohup "$@"
  ) > "$LOGS/$name.log" 2>&1 < /dev/null &
  echo $! > "$CLUSTER_DIR/$name.pid"
}

start_control_plane() {
  local bindir="$1"; shift
  if ! pid_alive "$CLUSTER_DIR/etcd.pid"; then
    log "starting etcd on 127.0.0.1:$ETCD_PORT"
    start etcd "$bindir/etcd" --name local --data-dir "$CLUSTER_DIR/etcd-data" \
      --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
      --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
      --initial-cluster "local=http://127.0.0.1:$ETCD_PEER_PORT" --log-level warn
  fi
  if ! pid_alive "$CLUSTER_DIR/apiserver.pid"; then
    log "starting kube-apiserver on https://$API_HOST:$API_PORT"
    start apiserver "$bindir/kube-apiserver" --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
      --bind-address "$API_HOST" --advertise-address "$API_HOST" --secure-port "$API_PORT" \
      --tls-cert-file "$PKI/server.crt" --tls-private-key-file "$PKI/server.key" \
      --client-ca-file "$PKI/ca.crt" --allow-privileged \
      --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$PKI/sa.pub" \
      --service-account-signing-key-file "$PKI/sa.key" --cert-dir "$CLUSTER_DIR/apiserver-certs" "$@"
  fi
  write_kubeconfig "$CLUSTER_DIR/kubeconfig" admin
  for _ in $(seq 1 120); do
    if curl -sf --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
        "https://$API_HOST:$API_PORT/readyz" >/dev/null 2>&1; then
      return 0
    fi
    pid_alive "$CLUSTER_DIR/apiserver.pid" || { log "kube-apiserver exited; see $LOGS/apiserver.log"; tail -20 "$LOGS/apiserver.log" >&2; exit 1; }
    sleep 0.5
  done
  log "kube-apiserver not ready after 60 s; see $LOGS/apiserver.log"
  exit 1
}

up() {
  local bindir
  bindir="$("$ROOT/hack/build-test-binaries.sh" | tail -n 1)"
  mkdir -p "$CLUSTER_DIR" "$LOGS"
  make_pki
  start_control_plane "$bindir" --authorization-mode RBAC --service-cluster-ip-range 10.0.0.0/24 \
    --disable-admission-plugins ServiceAccount
  log "ready: export KUBECONFIG=$CLUSTER_DIR/kubeconfig"
}

down() {
  stop_pidfile "$CLUSTER_DIR/apiserver.pid"
  stop_pidfile "$CLUSTER_DIR/etcd.pid"
  rm -rf "$CLUSTER_DIR"
  log "stopped and removed $CLUSTER_DIR"
}

status() {
  if pid_alive "$CLUSTER_DIR/apiserver.pid" && pid_alive "$CLUSTER_DIR/etcd.pid"; then
    echo "running: KUBECONFIG=$CLUSTER_DIR/kubeconfig (https://$API_HOST:$API_PORT)"
  else
    echo "not running"
    return 1
  fi
}

if [[ $MODE == node ]]; then
  # shellcheck source=hack/lib/node.sh
  source "$ROOT/hack/lib/node.sh"
  case "${1:-}" in
    up) node_up ;;
    down) node_down ;;
    status) node_status ;;
    import) shift; node_import "$@" ;;
    restart) shift; node_restart "$@" ;;
    *) echo "usage: $0 up|down|status|import ARCHIVE...|restart kubelet|kube-proxy [ARGS...] --node" >&2; exit 2 ;;
  esac
else
  case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    *) echo "usage: $0 up|down|status [--node]" >&2; exit 2 ;;
  esac
fi
