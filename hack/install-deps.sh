#!/usr/bin/env bash
# Installs the Debian packages the tests and the quick start use, when missing (needs root).
set -euo pipefail
need=()
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
# The chart tests run the README's Argo CD health check (Lua) with a real Lua interpreter.
command -v lua5.4 >/dev/null || need+=(lua5.4)
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "[install-deps] missing: ${need[*]} (run as root or install them)" >&2
    exit 1
  fi
  echo "[install-deps] installing ${need[*]}" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
