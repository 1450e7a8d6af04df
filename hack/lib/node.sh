# The real-node mode of hack/cluster.sh (sourced by it, after the shared PKI, etcd and API server
# functions): containerd, kubelet, CNI bridge, kube-proxy, controller-manager and scheduler on this
# machine, and the record of every host change they make, so that down can undo it.
# Facts behind the settings below (why each one): ../shared/REALNODE.md in the project's notes, and
# the comments here.

NODE_NAME="${CONNTRACK_NODE_NAME:-$(hostname | tr '[:upper:]' '[:lower:]')}"
BRIDGE=ct-br0
# The pods' subnet on the bridge. Its first address is the node's: kubelet, API server and the
# hostNetwork pods (the agent) use it, so pods reach the API server without leaving the machine.
POD_CIDR="${CONNTRACK_NODE_POD_CIDR:-10.244.0.0/24}"
NODE_IP="${CONNTRACK_NODE_IP:-10.244.0.1}"
SERVICE_CIDR="${CONNTRACK_NODE_SERVICE_CIDR:-10.96.0.0/16}"
# The kubernetes Service's ClusterIP: the first address of SERVICE_CIDR.
SERVICE_IP="${CONNTRACK_NODE_SERVICE_IP:-10.96.0.1}"
API_HOST="$NODE_IP"
API_SANS="IP:$NODE_IP,IP:127.0.0.1,IP:$SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
HOST_STATE="$CLUSTER_DIR/host"
CTR_DIR="$CLUSTER_DIR/containerd"
CTR_SOCK="$CTR_DIR/containerd.sock"
KUBELET_DIR="$CLUSTER_DIR/kubelet"
IMAGE_DIR="${CONNTRACK_IMAGE_DIR:-${KUBE_API_TEST_DIR:-$HOME/.kubeapitest}/images}"
PAUSE_IMAGE=localhost/conntrack-pause:1
# Host sysctls the node's processes write: the kubelet (vm.overcommit_memory, kernel.panic,
# kernel.panic_on_oops), the CNI bridge (forwarding), kube-proxy (route_localnet, and the conntrack
# sysctls under net/netfilter, recorded separately below, when its conntrack flags are not 0).
SYSCTLS=(kernel/panic kernel/panic_on_oops vm/overcommit_memory net/ipv4/ip_forward
  net/ipv4/conf/all/forwarding net/ipv4/conf/default/forwarding net/ipv4/conf/all/route_localnet
  net/ipv6/conf/all/forwarding net/bridge/bridge-nf-call-iptables net/bridge/bridge-nf-call-ip6tables)
# Paths the node may create on the host; down removes those that did not exist before up.
# (/run/netns is handled apart: other network namespaces live there too.)
HOST_PATHS=(/var/lib/conntrack-operator /var/log/pods /var/log/containers /run/containerd /var/lib/kubelet
  /etc/kubernetes /var/lib/cni /etc/cni /opt/cni)

node_need() {
  [[ $(id -u) -eq 0 ]] || { log "the real node needs root (containerd, kubelet, network)"; exit 1; }
  local missing=()
  for c in containerd ctr runc containerd-shim-runc-v2 nft ip buildah; do
    command -v "$c" >/dev/null || missing+=("$c")
  done
  [[ -x /usr/lib/cni/bridge ]] || missing+=(containernetworking-plugins)
  ((${#missing[@]} == 0)) || { log "missing: ${missing[*]} (hack/install-deps.sh --node)"; exit 1; }
}

kubectl_node() { "$BINDIR/kubectl" --kubeconfig "$CLUSTER_DIR/kubeconfig" "$@"; }

# --- the record of the host, taken once before the first change -------------------------------

netfilter_files() {
  local f
  for f in /proc/sys/net/netfilter/nf_conntrack_* /sys/module/nf_conntrack/parameters/hashsize; do
    [[ -f "$f" && -w "$f" ]] && echo "$f"
  done
  return 0
}

record_host() {
  [[ -d "$HOST_STATE" ]] && return 0
  mkdir -p "$HOST_STATE/values"
  local s f p
  for s in "${SYSCTLS[@]}"; do
    f="/proc/sys/$s"
    [[ -f "$f" ]] && echo "$f $(cat "$f")" >> "$HOST_STATE/values/list"
  done
  while IFS= read -r f; do echo "$f $(cat "$f")" >> "$HOST_STATE/values/list"; done < <(netfilter_files)
  for p in "${HOST_PATHS[@]}" /run/netns; do [[ -e "$p" ]] && echo "$p"; done > "$HOST_STATE/paths"
  ip link show "$BRIDGE" >/dev/null 2>&1 && touch "$HOST_STATE/bridge-existed"
  nft list tables 2>/dev/null | sort > "$HOST_STATE/nft-tables"
  ls /run/netns 2>/dev/null | sort > "$HOST_STATE/netns"
  for p in /sys/fs/cgroup/*/kubepods; do [[ -d "$p" ]] && echo "$p"; done > "$HOST_STATE/cgroups"
  return 0
}

restore_values() {
  [[ -f "$HOST_STATE/values/list" ]] || return 0
  local f v
  while read -r f v; do
    [[ -f "$f" ]] || continue
    if [[ "$(cat "$f")" != "$v" ]]; then
      echo "$v" > "$f" 2>/dev/null && log "restored $f=$v" || log "could not restore $f=$v"
    fi
  done < "$HOST_STATE/values/list"
}

existed() { grep -qxF "$1" "$HOST_STATE/paths" 2>/dev/null; }

# unmount_under DIR: every mount below DIR (and DIR itself), deepest first.
unmount_under() {
  local m
  awk -v p="$1" '$5 == p || index($5, p "/") == 1 {print $5}' /proc/self/mountinfo | sort -r | while IFS= read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "could not unmount $m"
  done
}

# --- processes ----------------------------------------------------------------------------------

write_containerd_config() {
  mkdir -p "$CTR_DIR" "$CLUSTER_DIR/cni/net.d"
  # restrict_oom_score_adj: root here lacks CAP_SYS_RESOURCE, and runc fails on the sandboxes'
  # oom_score_adj -998 otherwise. cgroupfs (not systemd): PID 1 is not systemd on these machines.
  # Every directory is the node's own, except the shim sockets containerd 1.6 keeps in
  # /run/containerd/s (removed by down when up created /run/containerd).
  cat > "$CTR_DIR/config.toml" <<EOF
version = 2
root = "$CTR_DIR/root"
state = "$CTR_DIR/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$CTR_SOCK"
[debug]
  level = "warn"
[plugins."io.containerd.internal.v1.opt"]
  path = "$CTR_DIR/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$CTR_DIR/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$CLUSTER_DIR/cni/net.d"
    max_conf_num = 1
EOF
  # A plain bridge: no masquerade, no portmap, so the plugin adds no firewall rules. It turns on
  # IPv4 forwarding (recorded, restored by down).
  cat > "$CLUSTER_DIR/cni/net.d/10-conntrack-node.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "conntrack-node",
  "plugins": [{
    "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": false,
    "ipam": {"type": "host-local", "dataDir": "$CLUSTER_DIR/cni/ipam",
             "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$NODE_IP"}]], "routes": [{"dst": "0.0.0.0/0"}]}
  }]
}
EOF
}

write_kubelet_config() {
  mkdir -p "$KUBELET_DIR"
  # failCgroupV1: these machines run cgroup v1. makeIPTablesUtilChains: false keeps the kubelet's
  # KUBE-FIREWALL rules out of the host. Eviction thresholds low: the machine is shared with builds.
  cat > "$CLUSTER_DIR/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$CTR_SOCK
address: $NODE_IP
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: AlwaysAllow}
makeIPTablesUtilChains: false
failSwapOn: false
serializeImagePulls: false
imageGCHighThresholdPercent: 100
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
resolvConf: /etc/resolv.conf
EOF
}

start_kubelet() {
  start kubelet "$BINDIR/kubelet" --config "$CLUSTER_DIR/kubelet.yaml" --kubeconfig "$CLUSTER_DIR/kubelet.kubeconfig" \
    --root-dir "$KUBELET_DIR" --cert-dir "$KUBELET_DIR/pki" --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" \
    --v=1 "$@"
}

# kube-proxy leaves the conntrack sysctls alone only with every --conntrack-* flag at 0 (its
# defaults write nf_conntrack_max, hashsize and two TCP timeouts). Extra args come after, so
# `restart kube-proxy --conntrack-max-per-core=32768` brings its own sizing back.
start_kube_proxy() {
  start kube-proxy "$BINDIR/kube-proxy" --kubeconfig "$CLUSTER_DIR/kube-proxy.kubeconfig" --proxy-mode nftables \
    --cluster-cidr "$POD_CIDR" --hostname-override "$NODE_NAME" \
    --metrics-bind-address 127.0.0.1:10249 --healthz-bind-address 127.0.0.1:10256 \
    --conntrack-max-per-core=0 --conntrack-min=0 --conntrack-tcp-timeout-established=0s \
    --conntrack-tcp-timeout-close-wait=0s "$@"
}

wait_for() {
  local what="$1" seconds="$2"; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { log "$what not ready after ${seconds}s; logs in $LOGS"; return 1; }
    sleep 0.5
  done
}

node_ready() {
  [[ "$(kubectl_node get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}

node_import() {
  node_need
  local a
  for a in "$@"; do
    [[ -f "$a" ]] || { log "no image archive $a"; exit 1; }
    ctr --address "$CTR_SOCK" -n k8s.io images import --no-unpack=false "$a" >/dev/null
    log "imported $a"
  done
}

node_up() {
  node_need
  BINDIR="$("$ROOT/hack/build-test-binaries.sh" --node | tail -n 1)"
  if pid_alive "$CLUSTER_DIR/kubelet.pid" && pid_alive "$CLUSTER_DIR/kube-proxy.pid" && node_ready; then
    log "already running: export KUBECONFIG=$CLUSTER_DIR/kubeconfig"
    return 0
  fi
  [[ -f "$IMAGE_DIR/pause.tar" ]] || "$ROOT/hack/image.sh" pause "$IMAGE_DIR/pause.tar"
  mkdir -p "$CLUSTER_DIR" "$LOGS"
  trap 'rc=$?; if ((rc != 0)); then log "up failed (exit $rc): restoring the host"; node_down; fi' EXIT
  trap 'exit 130' INT TERM
  record_host
  modprobe nf_conntrack 2>/dev/null || true

  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
  fi
  ip addr replace "$NODE_IP/${POD_CIDR#*/}" dev "$BRIDGE"
  ip link set "$BRIDGE" up

  make_pki
  issue_cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" "extendedKeyUsage=clientAuth"
  issue_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "extendedKeyUsage=clientAuth"
  issue_cert controller-manager "/CN=system:kube-controller-manager" "extendedKeyUsage=clientAuth"
  issue_cert scheduler "/CN=system:kube-scheduler" "extendedKeyUsage=clientAuth"
  issue_cert kube-proxy "/CN=system:kube-proxy" "extendedKeyUsage=clientAuth"
  local c
  for c in kubelet controller-manager scheduler kube-proxy; do write_kubeconfig "$CLUSTER_DIR/$c.kubeconfig" "$c"; done

  # The API server of pods: real service accounts (ServiceAccount admission, node-bound projected
  # tokens), the Node authorizer and NodeRestriction for the kubelet, its logs and exec through
  # the kubelet's InternalIP (the node's name is not in DNS).
  start_control_plane "$BINDIR" --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
    --service-cluster-ip-range "$SERVICE_CIDR" --api-audiences https://kubernetes.default.svc \
    --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types InternalIP,Hostname
  log "starting kube-controller-manager and kube-scheduler"
  start controller-manager "$BINDIR/kube-controller-manager" --kubeconfig "$CLUSTER_DIR/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false --root-ca-file "$PKI/ca.crt" \
    --service-account-private-key-file "$PKI/sa.key" --use-service-account-credentials \
    --controllers '*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-persistentvolume-binder'
  start scheduler "$BINDIR/kube-scheduler" --kubeconfig "$CLUSTER_DIR/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false

  if ! pid_alive "$CLUSTER_DIR/containerd.pid"; then
    log "starting containerd ($CTR_SOCK)"
    write_containerd_config
    start containerd containerd --config "$CTR_DIR/config.toml"
    wait_for containerd 30 ctr --address "$CTR_SOCK" version
  fi
  node_import "$IMAGE_DIR/pause.tar"

  log "starting the kubelet and kube-proxy for node $NODE_NAME ($NODE_IP)"
  write_kubelet_config
  start_kubelet
  start_kube_proxy
  wait_for "node $NODE_NAME" 120 node_ready
  trap - EXIT INT TERM
  log "node $NODE_NAME Ready: export KUBECONFIG=$CLUSTER_DIR/kubeconfig"
}

node_status() {
  BINDIR="$("$ROOT/hack/build-test-binaries.sh" --node | tail -n 1)"
  local p down=()
  for p in etcd apiserver controller-manager scheduler containerd kubelet kube-proxy; do
    pid_alive "$CLUSTER_DIR/$p.pid" || down+=("$p")
  done
  if ((${#down[@]})); then
    echo "not running: ${down[*]}"
    return 1
  fi
  node_ready || { echo "running, node $NODE_NAME not Ready: KUBECONFIG=$CLUSTER_DIR/kubeconfig"; return 1; }
  echo "running: node $NODE_NAME Ready, KUBECONFIG=$CLUSTER_DIR/kubeconfig (https://$API_HOST:$API_PORT)"
}

node_restart() {
  node_need
  BINDIR="$("$ROOT/hack/build-test-binaries.sh" --node | tail -n 1)"
  local what="${1:-}"; shift || true
  case "$what" in
    kubelet) stop_pidfile "$CLUSTER_DIR/kubelet.pid"; start_kubelet "$@" ;;
    kube-proxy) stop_pidfile "$CLUSTER_DIR/kube-proxy.pid"; start_kube_proxy "$@" ;;
    *) log "restart kubelet|kube-proxy [ARGS...]"; exit 2 ;;
  esac
  log "restarted $what"
}

# Processes of this node that no pid file names: the pods' (every process in the kubepods cgroups)
# and containerd's shims (started with this node's socket).
node_orphans() {
  local f pid
  for f in $(find /sys/fs/cgroup/pids/kubepods /sys/fs/cgroup/memory/kubepods -name cgroup.procs 2>/dev/null); do
    cat "$f"
  done
  for f in /proc/[0-9]*/cmdline; do
    pid="${f#/proc/}"; pid="${pid%/cmdline}"
    { tr '\0' ' ' < "$f"; } 2>/dev/null | grep -qF -- "-address $CTR_SOCK" && echo "$pid"
  done
  return 0
}

node_down() {
  set +e
  [[ -d "$CLUSTER_DIR" ]] || { log "no node in $CLUSTER_DIR"; return 0; }
  stop_pidfile "$CLUSTER_DIR/kube-proxy.pid"
  stop_pidfile "$CLUSTER_DIR/kubelet.pid"
  # The pods: killed, not drained (a real node that loses power does the same; the agent restores
  # nothing on exit, and the host's original values are put back below anyway).
  local pids
  pids="$(node_orphans | sort -u)"
  [[ -z "$pids" ]] || kill -9 $pids 2>/dev/null
  stop_pidfile "$CLUSTER_DIR/containerd.pid"
  stop_pidfile "$CLUSTER_DIR/controller-manager.pid"
  stop_pidfile "$CLUSTER_DIR/scheduler.pid"
  stop_pidfile "$CLUSTER_DIR/apiserver.pid"
  stop_pidfile "$CLUSTER_DIR/etcd.pid"
  pids="$(node_orphans | sort -u)"
  [[ -z "$pids" ]] || { sleep 0.5; kill -9 $pids 2>/dev/null; }

  unmount_under "$CLUSTER_DIR"
  existed /run/containerd || unmount_under /run/containerd
  # The pods' network namespaces: only those up did not find (others' live there too).
  local ns
  for ns in $(ls /run/netns 2>/dev/null); do
    grep -qxF "$ns" "$HOST_STATE/netns" 2>/dev/null && continue
    [[ "$ns" == cni-* ]] || continue
    umount "/run/netns/$ns" 2>/dev/null; rm -f "/run/netns/$ns"
  done
  if ! existed /run/netns && [[ -d /run/netns && -z "$(ls -A /run/netns)" ]]; then
    unmount_under /run/netns; rmdir /run/netns
  fi
  [[ -f "$HOST_STATE/bridge-existed" ]] || ip link del "$BRIDGE" 2>/dev/null
  # kube-proxy's tables (and any other this node added): those up did not find.
  local t
  nft list tables 2>/dev/null | sort | comm -13 "$HOST_STATE/nft-tables" - | while read -r _ family name; do
    nft delete table "$family" "$name" && log "deleted nftables table $family $name"
  done
  for t in /sys/fs/cgroup/*/kubepods; do
    [[ -d "$t" ]] || continue
    grep -qxF "$t" "$HOST_STATE/cgroups" 2>/dev/null && continue
    find "$t" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  # Conntrack entries of the pods and services: they would linger until their timeouts.
  conntrack -D -s "$POD_CIDR" >/dev/null 2>&1
  conntrack -D -d "$POD_CIDR" >/dev/null 2>&1
  conntrack -D -d "$SERVICE_CIDR" >/dev/null 2>&1
  restore_values
  local p
  for p in "${HOST_PATHS[@]}"; do
    [[ -e "$p" ]] && ! existed "$p" && rm -rf "$p" && log "removed $p"
  done
  rm -rf "$CLUSTER_DIR"
  log "node down; host restored (stopped and removed $CLUSTER_DIR)"
  set -e
  return 0
}
