#!/usr/bin/env bash
# Installs the Debian packages the tests and the quick start use, when missing (needs root).
#   hack/install-deps.sh          the light cluster, the kernel and end-to-end tiers
#   hack/install-deps.sh --node   also the real node (hack/cluster.sh up --node) and its images
#                                 (hack/image.sh): containerd, runc, the CNI plugins, buildah,
#                                 debootstrap, and gcc for the pause image and k3s
#   hack/install-deps.sh --node --k3s   also Debian's Docker engine (docker.io) for the k3s tier
set -euo pipefail
need=()
if [[ " $* " == *" --k3s "* ]]; then
  command -v dockerd >/dev/null || need+=(docker.io)
  command -v python3 >/dev/null || need+=(python3)
fi
if [[ " $* " == *" --node "* ]]; then
  command -v containerd >/dev/null || need+=(containerd)
  command -v runc >/dev/null || need+=(runc)
  [[ -x /usr/lib/cni/bridge ]] || need+=(containernetworking-plugins)
  command -v buildah >/dev/null || need+=(buildah)
  command -v debootstrap >/dev/null || need+=(debootstrap)
  command -v gcc >/dev/null || need+=(gcc libc6-dev)
  [[ -f /usr/lib/x86_64-linux-gnu/libc.a ]] || need+=(libc6-dev)
fi
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
command -v ip >/dev/null || need+=(iproute2)
# Kernel tests and bench/: lab namespaces track only with an nftables rule; conntrack -L/-C is
# the peer and the netlink fallback; flock serialises global sysctl changes between runs.
command -v nft >/dev/null || need+=(nftables)
command -v conntrack >/dev/null || need+=(conntrack)
command -v flock >/dev/null || need+=(util-linux)
# The NAT end-to-end test and bench/nat.sh: nginx behind DNAT, loaded with ApacheBench.
command -v nginx >/dev/null || need+=(nginx-light)
command -v ab >/dev/null || need+=(apache2-utils)
command -v go >/dev/null || need+=(golang-go)
command -v java >/dev/null || need+=(openjdk-17-jdk-headless)
# The chart tests run the Argo CD health check of docs/gitops.md (Lua) with a real Lua interpreter.
command -v lua5.4 >/dev/null || need+=(lua5.4)
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "[install-deps] missing: ${need[*]} (run as root or install them)" >&2
    exit 1
  fi
  echo "[install-deps] installing ${need[*]}" >&2
  apt-get update -qq >/dev/null
  # No package's service is started (docker.io, containerd and nginx ship init scripts): the tests
  # run daemons of their own, with their own sockets and no iptables changes, and a system dockerd
  # would answer in place of ours. Machines made from a container image already have this rule.
  rc_policy=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    rc_policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' > "$rc_policy" && chmod +x "$rc_policy"
    trap 'rm -f "$rc_policy"' EXIT
  fi
  # --no-install-recommends: containerd and buildah would otherwise bring a lot more.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
