#!/usr/bin/env bash
# Installs the Debian packages the tests and the quick start use, when missing (needs root).
set -euo pipefail
need=()
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
command -v ip >/dev/null || need+=(iproute2)
command -v go >/dev/null || need+=(golang-go)
command -v java >/dev/null || need+=(openjdk-17-jdk-headless)
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "[install-deps] missing: ${need[*]} (run as root or install them)" >&2
    exit 1
  fi
  echo "[install-deps] installing ${need[*]}" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
