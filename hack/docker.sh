#!/usr/bin/env bash
# A Docker engine of our own for the k3s tier (Testcontainers), when none runs (root):
#
#   hack/docker.sh up       start dockerd (Debian's docker.io) with its own data root, exec root and
#                           socket, no iptables, forwarding or masquerade changes to the host; prints
#                           the DOCKER_HOST to use
#   hack/docker.sh down     stop it and everything it ran, remove its bridge, cgroups and state,
#                           restore the sysctls its containers' kubelets write
#   hack/docker.sh host     print the DOCKER_HOST (unix socket) of the running engine
#
# Docker's --privileged asks runc for every capability the kernel knows; root on these machines
# lacks CAP_SYS_RESOURCE, so every privileged container would fail ("unable to apply caps"). The
# engine's default runtime is therefore hack/k3s/runc-held-caps, which drops from a container's
# configuration the capabilities this process does not hold and then runs runc. Published ports
# (docker-proxy, no iptables) listen on loopback only (--ip 127.0.0.1).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${CONNTRACK_DOCKER_DIR:-/var/lib/conntrack-docker}"
RUN="${CONNTRACK_DOCKER_RUN:-/run/conntrack-docker}"
SOCK="$RUN/docker.sock"
BRIDGE=ct-docker0
# What a k3s server's kubelet writes on the host (global sysctls, not namespaced).
SYSCTLS=(kernel/panic kernel/panic_on_oops vm/overcommit_memory)
# The cgroups its containers make in the host's tree: the engine's, and k3s's (cgroupns=host).
CGROUPS=(/sys/fs/cgroup/*/docker /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/*/k3s)

log() { echo "[docker] $*" >&2; }

# shellcheck source=hack/lib/pidfile.sh
source "$ROOT/hack/lib/pidfile.sh"

up() {
  [[ $(id -u) -eq 0 ]] || { log "needs root"; exit 1; }
  command -v dockerd >/dev/null || { log "dockerd is required: hack/install-deps.sh --k3s"; exit 1; }
  mkdir -p "$STATE" "$RUN"
  if pid_alive "$RUN/dockerd.pid"; then echo "unix://$SOCK"; return 0; fi
  if [[ ! -f "$STATE/host-values" ]]; then
    local s
    for s in "${SYSCTLS[@]}"; do echo "$s $(cat "/proc/sys/$s")"; done > "$STATE/host-values"
    for s in "${CGROUPS[@]}"; do [[ -d "$s" ]] && echo "$s"; done > "$STATE/host-cgroups" || true
  fi
  ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge
  ip addr replace 172.31.250.1/24 dev "$BRIDGE"
  ip link set "$BRIDGE" up
  log "starting dockerd ($SOCK, data root $STATE/data)"
  (
    for fd in /proc/$BASHPID/fd/*; do fd="${fd##*/}"; ((fd > 2)) && eval "exec $fd>&-"; done
    exec dockerd --host "unix://$SOCK" --data-root "$STATE/data" --exec-root "$RUN/exec" --pidfile "$RUN/dockerd.pid.own" \
      --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false --bridge "$BRIDGE" \
      --add-runtime held-caps="$ROOT/hack/k3s/runc-held-caps" --default-runtime held-caps \
      --userland-proxy=true --ip 127.0.0.1 --log-level warn
  ) > "$STATE/dockerd.log" 2>&1 < /dev/null &
  echo $! > "$RUN/dockerd.pid"
  for _ in $(seq 1 100); do
    DOCKER_HOST="unix://$SOCK" docker version >/dev/null 2>&1 && { echo "unix://$SOCK"; return 0; }
    pid_alive "$RUN/dockerd.pid" || break
    sleep 0.3
  done
  log "dockerd did not start; see $STATE/dockerd.log"
  tail -20 "$STATE/dockerd.log" >&2
  down
  exit 1
}

down() {
  # Nothing of ours (never started, or already down): leave any other engine's state alone.
  [[ -d "$STATE" || -d "$RUN" ]] || return 0
  set +e
  if pid_alive "$RUN/dockerd.pid"; then
    local ids
    ids="$(DOCKER_HOST="unix://$SOCK" docker ps -aq 2>/dev/null)"
    [[ -z "$ids" ]] || DOCKER_HOST="unix://$SOCK" docker rm -f $ids >/dev/null 2>&1
    stop_pidfile "$RUN/dockerd.pid" 150
  fi
  # Whatever the engine left mounted (container root file systems, its own data root).
  awk -v a="$STATE/" -v b="$RUN/" 'index($5, a) == 1 || index($5, b) == 1 {print $5}' /proc/self/mountinfo | sort -r | \
    while IFS= read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
  ip link del "$BRIDGE" 2>/dev/null
  # k3s in a container with cgroupns=host leaves its own, kubepods and docker cgroups behind.
  local d
  for d in "${CGROUPS[@]}"; do
    [[ -d "$d" && -f "$STATE/host-cgroups" ]] || continue
    grep -qxF "$d" "$STATE/host-cgroups" && continue
    find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  if [[ -f "$STATE/host-values" ]]; then
    local s v
    while read -r s v; do
      [[ "$(cat "/proc/sys/$s")" == "$v" ]] || { echo "$v" > "/proc/sys/$s" && log "restored $s=$v"; }
    done < "$STATE/host-values"
  fi
  rm -rf "$STATE" "$RUN"
  log "engine down; host restored"
  set -e
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  host) echo "unix://$SOCK" ;;
  *) sed -n '2,15p' "$0" >&2; exit 2 ;;
esac
