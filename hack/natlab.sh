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
#   hack/natlab.sh down              remove namespaces and rules, delete the lab's conntrack entries,
#                                    restore every sysctl it saved (idempotent; also run by a trap on failure)
set -euo pipefail

STATE="${CONNTRACK_NATLAB_STATE:-/run/conntrack-natlab}"
NS_CLIENT=ct-client
NS_ROUTER=ct-router
NS_SERVER=ct-server
VIP=10.200.0.80
NETFILTER=/proc/sys/net/netfilter

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

restore_sysctls() {
  [[ -d "$STATE/saved" ]] || return 0
  for f in "$STATE/saved"/*; do
    [[ -f "$f" ]] || continue
    echo "$(cat "$f")" > "$NETFILTER/$(basename "$f")" && log "restored $(basename "$f")=$(cat "$f")"
    rm -f "$f"
  done
}

up() {
  need_root
  local max=""
  while (($#)); do
    case "$1" in
      --max) max="$2"; shift 2 ;;
      *) log "unknown option $1"; exit 2 ;;
    esac
  done
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
  for _ in $(seq 1 50); do
    in_ns $NS_CLIENT curl -s -m 2 -o /dev/null "http://$VIP:8080/" && break
    sleep 0.1
  done
  in_ns $NS_CLIENT curl -sf -m 2 -o /dev/null "http://$VIP:8080/" || { log "nginx not reachable through the DNAT"; down; exit 1; }
  log "up: http://$VIP:8080/ (client ns $NS_CLIENT, router ns $NS_ROUTER pid $(cat "$STATE/router.pid"), nf_conntrack_max $(cat $NETFILTER/nf_conntrack_max))"
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
  # Bounded in count (-n) and in time (timeout), always.
  ulimit -n "$(ulimit -Hn)"
  timeout --signal=INT --kill-after=10 "$t" ip netns exec $NS_CLIENT ab -c "$c" -n "$n" -r -s "$s" "http://$VIP:8080/" 2>&1 || true
}

router_pid() {
  cat "$STATE/router.pid"
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
  # The lab's addresses never reach the machine's own table; delete any entry that did anyway.
  conntrack -D -s 10.200.0.0/16 >/dev/null 2>&1
  conntrack -D -d 10.200.0.0/16 >/dev/null 2>&1
  restore_sysctls
  rm -rf "$STATE/nginx"
  set -e
  log "down"
}

case "${1:-}" in
  up) shift; up "$@" ;;
  load) shift; load "$@" ;;
  router-pid) router_pid ;;
  down) down ;;
  *) echo "usage: $0 up [--max N] | load [-c C] [-n N] [-s S] [-t T] | router-pid | down" >&2; exit 2 ;;
esac
