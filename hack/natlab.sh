#!/usr/bin/env bash
# The classic NAT table-full case as a lab on this machine, built only from network namespaces
# this script creates (nothing is NATed in the machine's own namespace):
#
#   ct-client (10.200.1.2) --veth-- ct-router (10.200.1.1 | 10.200.2.1) --veth-- ct-server (10.200.2.2, nginx :80)
#                                   DNAT 10.200.0.80:8080 -> 10.200.2.2:80 (like docker run -p 8080:80)
#
#   hack/natlab.sh up [--max N]      build it (installs nginx-light, apache2-utils, nftables, conntrack);
#                                    --max sets nf_conntrack_max (saved first, restored by down)
#   hack/natlab.sh load [-c C] [-n N] [-s S] [-t T]
#                                    ApacheBench from the client: ab -c C -n N -r -s S, bounded by T seconds
#   hack/natlab.sh router-pid        a pid inside the router namespace (its /proc/<pid>/net/stat/nf_conntrack)
#   hack/natlab.sh flush             delete the lab's conntrack entries (TIME_WAIT of the last run)
#   hack/natlab.sh down              remove namespaces and rules, delete the lab's conntrack entries,
#                                    restore every sysctl it saved (idempotent; also run by a trap on failure)
#
# Service mode, for a Kubernetes Service on the real node (hack/cluster.sh up --node), whose DNAT
# is kube-proxy's own in the machine's namespace:
#
#   ct-client (10.244.250.2) --veth-- this machine (10.244.250.1; kube-proxy DNAT SERVICE -> pods on the node's bridge)
#
#   hack/natlab.sh up --service IP:PORT --track CIDR[,CIDR...] --services CIDR [--max N]
#                                    only the client namespace, routed through this machine. While the
#                                    lab is up, the machine's own traffic is not tracked (an nftables
#                                    notrack table), except to and from the --track and --services
#                                    ranges (pods, this client, Services), so a tiny nf_conntrack_max
#                                    only hits the lab's traffic. The client's address lies in the
#                                    first --track range (kube-proxy's --cluster-cidr), so kube-proxy
#                                    does not masquerade it. load, flush and down as above; router-pid
#                                    prints 1 (the machine's own table is the one that fills).
set -euo pipefail

STATE="${CONNTRACK_NATLAB_STATE:-/run/conntrack-natlab}"
NS_CLIENT=ct-client
NS_ROUTER=ct-router
NS_SERVER=ct-server
VIP=10.200.0.80
NETFILTER=/proc/sys/net/netfilter
# Service mode: the client's /30, routed through this machine.
SVC_HOST_IP=10.244.250.1
SVC_CLIENT_IP=10.244.250.2
NOTRACK_TABLE=ctlab_notrack

log() { echo "[natlab] $*" >&2; }
in_ns() { local ns="$1"; shift; ip netns exec "$ns" "$@"; }

need_root() { [[ $(id -u) -eq 0 ]] || { log "must run as root (network namespaces, sysctls)"; exit 1; }; }

install_packages() {
  local need=()
  command -v nginx >/dev/null || need+=(nginx-light)
  command -v ab >/dev/null || need+=(apache2-utils)
  command -v nft >/dev/null || need+=(nftables)
  command -v conntrack >/dev/null || need+=(conntrack)
  command -v ip >/dev/null || need+=(iproute2)
  if ((${#need[@]})); then
    log "installing ${need[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
}

# save NAME: remember a global sysctl's value once, so down can put it back.
save_sysctl() {
  local name="$1"
  mkdir -p "$STATE/saved"
  [[ -f "$STATE/saved/$name" ]] || cat "$NETFILTER/$name" > "$STATE/saved/$name"
}

# save_proc_sys PATH: the same for any /proc/sys path (slashes kept as %).
save_proc_sys() {
  mkdir -p "$STATE/saved-sys"
  local key="${1//\//%}"
  [[ -f "$STATE/saved-sys/$key" ]] || cat "/proc/sys/$1" > "$STATE/saved-sys/$key"
}

restore_sysctls() {
  local f path
  if [[ -d "$STATE/saved-sys" ]]; then
    for f in "$STATE/saved-sys"/*; do
      [[ -f "$f" ]] || continue
      path="/proc/sys/$(basename "$f" | tr '%' '/')"
      echo "$(cat "$f")" > "$path" && log "restored $path=$(cat "$f")"
      rm -f "$f"
    done
  fi
  [[ -d "$STATE/saved" ]] || return 0
  for f in "$STATE/saved"/*; do
    [[ -f "$f" ]] || continue
    echo "$(cat "$f")" > "$NETFILTER/$(basename "$f")" && log "restored $(basename "$f")=$(cat "$f")"
    rm -f "$f"
  done
}

up() {
  need_root
  local max="" service="" track="" services=""
  while (($#)); do
    case "$1" in
      --max) max="$2"; shift 2 ;;
      --service) service="$2"; shift 2 ;;
      --track) track="$2"; shift 2 ;;
      --services) services="$2"; shift 2 ;;
      *) log "unknown option $1"; exit 2 ;;
    esac
  done
  if [[ -n "$service" ]]; then
    up_service "$service" "$track" "$services" "$max"
    return
  fi
  install_packages
  modprobe nf_conntrack 2>/dev/null || true
  mkdir -p "$STATE"
  trap 'log "up failed: cleaning up"; down' ERR

  local tracked
  tracked="$(cat "$NETFILTER/nf_conntrack_count" 2>/dev/null || echo 0)"
  if [[ -n "$max" && "$tracked" -gt $((max / 2)) ]]; then
    log "the machine's own namespace tracks $tracked connections: lowering nf_conntrack_max to $max could cut them; refusing"
    exit 1
  fi

  for ns in $NS_CLIENT $NS_ROUTER $NS_SERVER; do
    ip netns list | grep -qw "$ns" || ip netns add "$ns"
    in_ns "$ns" ip link set lo up
  done
  if ! in_ns $NS_ROUTER ip link show r-client >/dev/null 2>&1; then
    ip link add c-router type veth peer name r-client
    ip link set c-router netns $NS_CLIENT
    ip link set r-client netns $NS_ROUTER
    ip link add s-router type veth peer name r-server
    ip link set s-router netns $NS_SERVER
    ip link set r-server netns $NS_ROUTER
  fi
  in_ns $NS_CLIENT ip addr replace 10.200.1.2/24 dev c-router
  in_ns $NS_CLIENT ip link set c-router up
  in_ns $NS_CLIENT ip route replace default via 10.200.1.1
  in_ns $NS_ROUTER ip addr replace 10.200.1.1/24 dev r-client
  in_ns $NS_ROUTER ip addr replace 10.200.2.1/24 dev r-server
  in_ns $NS_ROUTER ip link set r-client up
  in_ns $NS_ROUTER ip link set r-server up
  in_ns $NS_ROUTER sysctl -qw net.ipv4.ip_forward=1
  in_ns $NS_SERVER ip addr replace 10.200.2.2/24 dev s-router
  in_ns $NS_SERVER ip link set s-router up
  in_ns $NS_SERVER ip route replace default via 10.200.2.1
  # The client and server reuse ports and close fast, as a load generator and a web server do.
  in_ns $NS_CLIENT sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1
  in_ns $NS_SERVER sysctl -qw net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535

  # DNAT in the router namespace only: its conntrack table is the one that fills.
  in_ns $NS_ROUTER nft -f - <<EOF
table ip ctlab
delete table ip ctlab
table ip ctlab {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr $VIP tcp dport 8080 dnat to 10.200.2.2:80
  }
}
EOF

  mkdir -p "$STATE/nginx"
  cat > "$STATE/nginx/nginx.conf" <<EOF
worker_processes 2;
worker_rlimit_nofile 16384;
pid $STATE/nginx/nginx.pid;
error_log $STATE/nginx/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_timeout 0;
  server {
    listen 10.200.2.2:80 backlog=65535 reuseport;
    location / { return 200 "ok\n"; }
  }
}
EOF
  if ! { [[ -f "$STATE/nginx/nginx.pid" ]] && kill -0 "$(cat "$STATE/nginx/nginx.pid")" 2>/dev/null; }; then
    in_ns $NS_SERVER nginx -c "$STATE/nginx/nginx.conf"
  fi
  # A process that lives in the router namespace: the agent reads that namespace's counters
  # through /proc/<pid>/net/stat/nf_conntrack.
  if ! { [[ -f "$STATE/router.pid" ]] && kill -0 "$(cat "$STATE/router.pid")" 2>/dev/null; }; then
    ip netns exec $NS_ROUTER sleep infinity > /dev/null 2>&1 &
    echo $! > "$STATE/router.pid"
  fi
  if [[ -n "$max" ]]; then
    save_sysctl nf_conntrack_max
    echo "$max" > "$NETFILTER/nf_conntrack_max"
  fi
  trap - ERR
  await_reachable "$VIP:8080" "nginx not reachable through the DNAT"
  echo "$VIP:8080" > "$STATE/target"
  log "up: http://$VIP:8080/ (client ns $NS_CLIENT, router ns $NS_ROUTER pid $(cat "$STATE/router.pid"), nf_conntrack_max $(cat $NETFILTER/nf_conntrack_max))"
}

# await_reachable TARGET MESSAGE: HTTP from the client namespace works within ~10 s, or down and fail.
await_reachable() {
  for _ in $(seq 1 50); do
    in_ns $NS_CLIENT curl -s -m 2 -o /dev/null "http://$1/" && return 0
    sleep 0.2
  done
  log "$2"
  down
  exit 1
}

# up_service TARGET TRACK SERVICES MAX: the client namespace routed through this machine, and the
# notrack table that keeps the machine's own traffic out of the table while the lab is up.
up_service() {
  local target="$1" track="$2" services="$3" max="$4"
  [[ -n "$track" && -n "$services" ]] || { log "--service needs --track and --services"; exit 2; }
  install_packages
  modprobe nf_conntrack 2>/dev/null || true
  mkdir -p "$STATE"
  trap 'log "up failed: cleaning up"; down' ERR
  ip netns list | grep -qw $NS_CLIENT || ip netns add $NS_CLIENT
  in_ns $NS_CLIENT ip link set lo up
  if ! ip link show h-client >/dev/null 2>&1; then
    ip link add h-client type veth peer name c-host
    ip link set c-host netns $NS_CLIENT
  fi
  ip addr replace $SVC_HOST_IP/30 dev h-client
  ip link set h-client up
  in_ns $NS_CLIENT ip addr replace $SVC_CLIENT_IP/30 dev c-host
  in_ns $NS_CLIENT ip link set c-host up
  in_ns $NS_CLIENT ip route replace default via $SVC_HOST_IP
  in_ns $NS_CLIENT sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1
  # The machine forwards between the client and the pods' bridge. The node's CNI bridge has
  # usually turned forwarding on already (and the node restores it): saved only when changed here.
  if [[ "$(cat /proc/sys/net/ipv4/ip_forward)" != 1 ]]; then
    save_proc_sys net/ipv4/ip_forward
    echo 1 > /proc/sys/net/ipv4/ip_forward
  fi
  # Before the conntrack hook (priority raw): the machine's own traffic (loopback, its real
  # interfaces) is not tracked; pods, the client, Services and the node's own addresses are
  # (kube-proxy's DNAT needs it). Loopback packets to a Service keep the entry their output hook
  # made. Their replies must be tracked too: the API server on the node's address answers a
  # hostNetwork pod (the agent) that reached it through the kubernetes Service over loopback, and
  # an untracked reply is not translated back (its source stays the endpoint, not the Service),
  # so the pod's connection dies. Hence `ip saddr @tracked` before `oif lo`: the node's
  # components talk to each other over loopback tracked both ways, as on any node.
  nft -f - <<RULES
table inet $NOTRACK_TABLE
delete table inet $NOTRACK_TABLE
table inet $NOTRACK_TABLE {
  set tracked { type ipv4_addr; flags interval; elements = { ${track//,/, } } }
  set services { type ipv4_addr; flags interval; elements = { ${services//,/, } } }
  chain prerouting {
    type filter hook prerouting priority raw; policy accept;
    iif lo accept
    ip saddr @tracked accept
    ip daddr @tracked accept
    ip daddr @services accept
    notrack
  }
  chain output {
    type filter hook output priority raw; policy accept;
    ip daddr @services accept
    ip saddr @tracked accept
    oif lo notrack
    ip daddr @tracked accept
    notrack
  }
}
RULES
  local tracked
  tracked="$(cat "$NETFILTER/nf_conntrack_count" 2>/dev/null || echo 0)"
  if [[ -n "$max" && "$tracked" -gt $((max / 2)) ]]; then
    log "the machine's own namespace tracks $tracked connections: lowering nf_conntrack_max to $max could cut them; refusing"
    down
    exit 1
  fi
  if [[ -n "$max" ]]; then
    save_sysctl nf_conntrack_max
    echo "$max" > "$NETFILTER/nf_conntrack_max"
  fi
  echo "$target" > "$STATE/target"
  echo 1 > "$STATE/router.pid.service"
  trap - ERR
  await_reachable "$target" "the Service http://$target/ is not reachable from $NS_CLIENT"
  log "up: http://$target/ from $NS_CLIENT ($SVC_CLIENT_IP), DNAT by kube-proxy in this machine's namespace, nf_conntrack_max $(cat $NETFILTER/nf_conntrack_max)"
}

flush() {
  need_root
  if ip netns list 2>/dev/null | grep -qw $NS_ROUTER; then
    in_ns $NS_ROUTER conntrack -F >/dev/null 2>&1 || true
  fi
  conntrack -D -s $SVC_CLIENT_IP >/dev/null 2>&1 || true
  conntrack -D -d $SVC_CLIENT_IP >/dev/null 2>&1 || true
}

load() {
  need_root
  local c=5000 n=10000 s=30 t=120
  while (($#)); do
    case "$1" in
      -c) c="$2"; shift 2 ;;
      -n) n="$2"; shift 2 ;;
      -s) s="$2"; shift 2 ;;
      -t) t="$2"; shift 2 ;;
      *) log "unknown option $1"; exit 2 ;;
    esac
  done
  ip netns list | grep -qw $NS_CLIENT || { log "the lab is not up: hack/natlab.sh up"; exit 1; }
  local target="$VIP:8080"
  [[ -f "$STATE/target" ]] && target="$(cat "$STATE/target")"
  # Bounded in count (-n) and in time (timeout), always.
  ulimit -n "$(ulimit -Hn)"
  timeout --signal=INT --kill-after=10 "$t" ip netns exec $NS_CLIENT ab -c "$c" -n "$n" -r -s "$s" "http://$target/" 2>&1 || true
}

router_pid() {
  if [[ -f "$STATE/router.pid.service" ]]; then cat "$STATE/router.pid.service"; else cat "$STATE/router.pid"; fi
}

down() {
  need_root
  set +e
  if [[ -f "$STATE/nginx/nginx.pid" ]]; then
    kill "$(cat "$STATE/nginx/nginx.pid")" 2>/dev/null
  fi
  if [[ -f "$STATE/router.pid" ]]; then
    kill "$(cat "$STATE/router.pid")" 2>/dev/null
    rm -f "$STATE/router.pid"
  fi
  if ip netns list 2>/dev/null | grep -qw $NS_ROUTER; then
    # Deleting a namespace frees its table; flush first so nothing lingers while it goes.
    in_ns $NS_ROUTER conntrack -F >/dev/null 2>&1
    in_ns $NS_ROUTER nft delete table ip ctlab 2>/dev/null
  fi
  for ns in $NS_CLIENT $NS_ROUTER $NS_SERVER; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
  # Service mode: the host end of the client's link goes with its namespace; the notrack table
  # stays until deleted here.
  ip link del h-client 2>/dev/null
  nft delete table inet $NOTRACK_TABLE 2>/dev/null
  # The lab's addresses never reach the machine's own table; delete any entry that did anyway.
  conntrack -D -s 10.200.0.0/16 >/dev/null 2>&1
  conntrack -D -d 10.200.0.0/16 >/dev/null 2>&1
  conntrack -D -s $SVC_CLIENT_IP >/dev/null 2>&1
  conntrack -D -d $SVC_CLIENT_IP >/dev/null 2>&1
  restore_sysctls
  rm -f "$STATE/target" "$STATE/router.pid.service"
  rm -rf "$STATE/nginx"
  set -e
  log "down"
}

case "${1:-}" in
  up) shift; up "$@" ;;
  load) shift; load "$@" ;;
  router-pid) router_pid ;;
  flush) flush ;;
  down) down ;;
  *) echo "usage: $0 up [--max N] [--service IP:PORT --track CIDRS --services CIDRS] | load [-c C] [-n N] [-s S] [-t T] | router-pid | flush | down" >&2; exit 2 ;;
esac
