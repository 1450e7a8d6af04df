#!/usr/bin/env bash
# Builds the test cluster binaries (kube-apiserver, kubectl, etcd, helm) from the Go module proxy
# into the layout fabric8 kube-api-test expects:
#   $KUBE_API_TEST_DIR/k8s/<version>-linux-amd64/{etcd,kube-apiserver,kubectl}
# plus helm, promtool and flux-health in $KUBE_API_TEST_DIR/bin/ and the Prometheus Operator's
# CRDs in $KUBE_API_TEST_DIR/prometheus-operator-crd/v<version>/.
# Idempotent: with every binary present it only checks them and exits (well under a second).
# Prints the directory holding the Kubernetes binaries on its last line.
set -euo pipefail

HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/versions.env
source "$HACK_DIR/versions.env"
TEST_DIR="${KUBE_API_TEST_DIR:-$HOME/.kubeapitest}"
K8S_DIR="$TEST_DIR/k8s/${KUBERNETES_VERSION}-linux-amd64"
BIN_DIR="$TEST_DIR/bin"

log() { echo "[build-test-binaries] $*" >&2; }

need_go() {
  command -v go >/dev/null 2>&1 || { log "Go is required to build the test cluster binaries"; exit 1; }
}

# build <module dir> <package> <output> [build tags]: compiles into a temp name, then renames, so
# an interrupted build never leaves a half-written binary that a later run takes as done.
build() {
  local module="$1" pkg="$2" out="$3" tags="${4:-}"
  if [[ -x "$out" ]]; then return 0; fi
  need_go
  mkdir -p "$(dirname "$out")"
  log "building $(basename "$out") from $pkg (takes minutes on 2 cores, done once)"
  (cd "$HACK_DIR/tools/$module" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -tags "$tags" -ldflags="-s -w $VERSION_LDFLAGS" -o "$out.tmp" "$pkg")
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
VERSION_LDFLAGS=""
build etcd . "$K8S_DIR/etcd"
if [[ "${SKIP_HELM:-}" != "1" ]]; then
  build helm helm.sh/helm/v3/cmd/helm "$BIN_DIR/helm"
fi
# The chart's monitoring objects are checked with the real tools: promtool for the PrometheusRule's
# rules, Flux's own CEL health evaluator for the README's healthCheckExprs, and the Prometheus
# Operator's CRDs (from its Go module, example/prometheus-operator-crd) for the API server.
if [[ "${SKIP_MONITORING:-}" != "1" ]]; then
  # remove_all_sd: without the service discovery plugins (every cloud SDK), which `check rules`
  # does not need: a much smaller download and build on a fresh machine.
  build prometheus github.com/prometheus/prometheus/cmd/promtool "$BIN_DIR/promtool" remove_all_sd
  build flux-health . "$BIN_DIR/flux-health"
  crd_dir="$TEST_DIR/prometheus-operator-crd/v$PROMETHEUS_OPERATOR_VERSION"
  if [[ ! -f "$crd_dir/monitoring.coreos.com_prometheusrules.yaml" ]]; then
    need_go
    log "fetching the Prometheus Operator CRDs v$PROMETHEUS_OPERATOR_VERSION from the Go module proxy"
    module_dir="$(cd "$HACK_DIR/tools/prometheus" && GOFLAGS=-mod=mod go mod download -json \
      "github.com/prometheus-operator/prometheus-operator@v$PROMETHEUS_OPERATOR_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
    mkdir -p "$crd_dir.tmp"
    for kind in podmonitors servicemonitors prometheusrules; do
      cp "$module_dir/example/prometheus-operator-crd/monitoring.coreos.com_$kind.yaml" "$crd_dir.tmp/"
    done
    chmod -R u+w "$crd_dir.tmp"
    rm -rf "$crd_dir" && mv "$crd_dir.tmp" "$crd_dir"
  fi
fi
echo "$K8S_DIR"
