#!/usr/bin/env bash
# Builds the test cluster binaries (kube-apiserver, kubectl, etcd, helm) from the Go module proxy
# into the layout fabric8 kube-api-test expects:
#   $KUBE_API_TEST_DIR/k8s/<version>-linux-amd64/{etcd,kube-apiserver,kubectl}
# plus helm, promtool and flux-health in $KUBE_API_TEST_DIR/bin/ and the Prometheus Operator's
# CRDs in $KUBE_API_TEST_DIR/prometheus-operator-crd/v<version>/.
#   --node   also the real node's kubelet, kube-controller-manager, kube-scheduler and kube-proxy
#            (same folder; hack/cluster.sh up --node), compiled together in one go build.
#   --k3s    also (after the above) k3s from its module on the Go module proxy, into
#            $KUBE_API_TEST_DIR/k3s/<K3S_VERSION>/k3s (hack/image.sh k3s builds its image): 7-8
#            minutes and ~4 GB of Go cache cold.
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
K3S=false
for a in "$@"; do
  case "$a" in
    --node) NODE=true ;;
    --k3s) NODE=true; K3S=true ;;
    *) echo "usage: $0 [--node] [--k3s]" >&2; exit 2 ;;
  esac
done

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
# The chart's monitoring objects are checked with the real tools: promtool for the PrometheusRule's
# rules, Flux's own CEL health evaluator for the healthCheckExprs of docs/gitops.md, and the Prometheus
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
if $K3S && [[ ! -x "$TEST_DIR/k3s/$K3S_VERSION/k3s" ]]; then
  need_go
  command -v gcc >/dev/null || { log "gcc is required for k3s (sqlite): hack/install-deps.sh --node"; exit 1; }
  log "building k3s $K3S_VERSION from github.com/k3s-io/k3s@$K3S_MODULE_VERSION (7-8 minutes cold, done once)"
  # Its go.mod has the replace directives a dependent module would lose: build inside a writable
  # copy of the module itself. No staging (no_stage): the image brings runc and the CNI plugins.
  src="$(cd / && GOFLAGS= go mod download -json "github.com/k3s-io/k3s@$K3S_MODULE_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  work="$TEST_DIR/k3s/src"
  rm -rf "$work" && mkdir -p "$(dirname "$work")" && cp -r "$src" "$work" && chmod -R u+w "$work"
  k3s_minor="${K3S_VERSION#v*.}"; k3s_minor="${k3s_minor%%.*}"
  flags="-s -w -X github.com/k3s-io/k3s/pkg/version.Version=$K3S_VERSION -X github.com/k3s-io/k3s/pkg/version.UpstreamGolang=$(go env GOVERSION)"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $p.gitVersion=$K3S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$k3s_minor -X $p.gitTreeState=clean"
  done
  (cd "$work" && CGO_ENABLED=1 go build -trimpath \
    -tags "ctrd netcgo osusergo providerless urfave_cli_no_docs sqlite_omit_load_extension no_stage" \
    -ldflags "$flags" -o "$TEST_DIR/k3s/$K3S_VERSION/k3s.tmp" ./cmd/server)
  mv "$TEST_DIR/k3s/$K3S_VERSION/k3s.tmp" "$TEST_DIR/k3s/$K3S_VERSION/k3s"
fi
echo "$K8S_DIR"
