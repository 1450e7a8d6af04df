#!/usr/bin/env bash
# Builds the test cluster binaries (kube-apiserver, kubectl, etcd, helm) from the Go module proxy
# into the layout fabric8 kube-api-test expects:
#   $KUBE_API_TEST_DIR/k8s/<version>-linux-amd64/{etcd,kube-apiserver,kubectl}
# plus helm in $KUBE_API_TEST_DIR/bin/helm.
#   --node   also the real node's kubelet, kube-controller-manager, kube-scheduler and kube-proxy
#            (same folder; hack/cluster.sh up --node), compiled together in one go build.
# Idempotent: with every binary present it only checks them and exits (well under a second).
# Prints the directory holding the Kubernetes binaries on its last line.
set -euo pipefail

HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/versions.env
source "$HACK_DIR/versions.env"
TEST_DIR="${KUBE_API_TEST_DIR:-$HOME/.kubeapitest}"
K8S_DIR="$TEST_DIR/k8s/${KUBERNETES_VERSION}-linux-amd64"
BIN_DIR="$TEST_DIR/bin"

NODE=false
[[ "${1:-}" == "--node" ]] && NODE=true

log() { echo "[build-test-binaries] $*" >&2; }

need_go() {
  command -v go >/dev/null 2>&1 || { log "Go is required to build the test cluster binaries"; exit 1; }
}

# build <module dir> <package> <output>: compiles into a temp name, then renames, so an
# interrupted build never leaves a half-written binary that a later run takes as done.
build() {
  local module="$1" pkg="$2" out="$3"
  if [[ -x "$out" ]]; then return 0; fi
  need_go
  mkdir -p "$(dirname "$out")"
  log "building $(basename "$out") from $pkg (takes minutes on 2 cores, done once)"
  (cd "$HACK_DIR/tools/$module" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags="-s -w $VERSION_LDFLAGS" -o "$out.tmp" "$pkg")
  mv "$out.tmp" "$out"
}

# Without a stamped version the apiserver reports v0.0.0 and derives a wrong emulation version.
minor="${KUBERNETES_VERSION#*.}"; minor="${minor%%.*}"
VERSION_LDFLAGS=""
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  VERSION_LDFLAGS+=" -X $p.gitVersion=v$KUBERNETES_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
done
build k8s k8s.io/kubernetes/cmd/kube-apiserver "$K8S_DIR/kube-apiserver"
build k8s k8s.io/kubernetes/cmd/kubectl "$K8S_DIR/kubectl"
if $NODE; then
  # One go build for the four: they share most packages, and the linker runs in parallel.
  missing=()
  for cmd in kubelet kube-controller-manager kube-scheduler kube-proxy; do
    [[ -x "$K8S_DIR/$cmd" ]] || missing+=("k8s.io/kubernetes/cmd/$cmd")
  done
  if ((${#missing[@]})); then
    need_go
    log "building ${missing[*]##*/} (about 6 minutes cold on 2 cores, done once)"
    tmp="$K8S_DIR/.node-build.tmp"
    rm -rf "$tmp" && mkdir -p "$tmp"
    (cd "$HACK_DIR/tools/k8s" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags="-s -w $VERSION_LDFLAGS" -o "$tmp/" "${missing[@]}")
    mv "$tmp"/* "$K8S_DIR/"
    rm -rf "$tmp"
  fi
fi
VERSION_LDFLAGS=""
build etcd . "$K8S_DIR/etcd"
if [[ "${SKIP_HELM:-}" != "1" ]]; then
  build helm helm.sh/helm/v3/cmd/helm "$BIN_DIR/helm"
fi
echo "$K8S_DIR"
