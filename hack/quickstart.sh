#!/usr/bin/env bash
# The quick start on the embedded local cluster:
#   hack/quickstart.sh [--enforce]          cluster up, CRDs, operator, one agent for this machine, the example policy
#   hack/quickstart.sh --node [--enforce]   the same as a user installs it: a real one-node cluster on this
#                                           machine (hack/cluster.sh up --node: kubelet, containerd, kube-proxy),
#                                           the image built from the Dockerfile (hack/image.sh), helm install
#                                           of the chart; the operator and the agent run as pods
#   hack/quickstart.sh down                 delete the policies (the agent restores the original values), stop everything
#
# Without --enforce the agent only observes: it reports what it would change and writes nothing to
# this machine's kernel (with --node: the example policy is applied in ObserveOnly mode). With
# --enforce it applies examples/policy.yaml to this machine for real.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CLUSTER_DIR="${CONNTRACK_CLUSTER_DIR:-$ROOT/.cluster}"
NODE="$(hostname)"
NAMESPACE=conntrack-system
JAR="$ROOT/target/quarkus-app/quarkus-run.jar"
AGENT_METRICS_PORT="${CONNTRACK_METRICS_PORT:-9402}"

log() { echo "[quickstart] $*" >&2; }
kubectl_() { "$KUBECTL" --kubeconfig "$CLUSTER_DIR/kubeconfig" "$@"; }
# shellcheck source=hack/lib/pidfile.sh
source "$ROOT/hack/lib/pidfile.sh"

NODE_DIR="${CONNTRACK_NODE_CLUSTER_DIR:-$ROOT/.cluster-node}"

down() {
  if [[ -f "$NODE_DIR/kubeconfig" ]]; then
    if hack/cluster.sh status --node >/dev/null 2>&1; then
      log "uninstalling the chart (hack/uninstall.sh: the agent pod restores the original values first)"
      KUBECONFIG="$NODE_DIR/kubeconfig" KUBECTL="$(hack/build-test-binaries.sh | tail -n 1)/kubectl" \
        HELM="${KUBE_API_TEST_DIR:-$HOME/.kubeapitest}/bin/helm" hack/uninstall.sh -t 120 || true
    fi
    hack/cluster.sh down --node
  fi
  if [[ -f "$CLUSTER_DIR/kubeconfig" ]] && hack/cluster.sh status >/dev/null 2>&1; then
    KUBECTL="$(dirname "$(hack/build-test-binaries.sh | tail -n 1)/x")/kubectl"
    if pid_alive "$CLUSTER_DIR/agent.pid"; then
      log "deleting policies so the agent restores this machine's original values"
      kubectl_ delete conntrackpolicies --all --wait=true --timeout=60s >/dev/null 2>&1 || true
      # The agent restores when the keys leave its node spec: give it a few polls.
      for _ in $(seq 1 20); do
        originals="$(kubectl_ get conntracknodestate "$NODE" -o jsonpath='{.status.originals}' 2>/dev/null || true)"
        [[ -z "$originals" || "$originals" == "{}" ]] && break
        sleep 0.5
      done
    fi
  fi
  stop_pidfile "$CLUSTER_DIR/agent.pid" 100
  stop_pidfile "$CLUSTER_DIR/operator.pid" 100
  [[ -d "$CLUSTER_DIR" ]] && hack/cluster.sh down
  return 0
}

build_jar() {
  if [[ ! -f "$JAR" || -n "$(find src pom.xml -newer "$JAR" -type f 2>/dev/null | head -n 1)" ]]; then
    log "building the artifact (./mvnw package)"
    ./mvnw -B -q package -DskipTests
  fi
}

# The chart on a real node: what docs/install.md says, with the image built
# here instead of pushed to a registry.
up_node() {
  local enforce="$1" bindir kubeconfig="$NODE_DIR/kubeconfig"
  [[ "$(id -u)" -eq 0 ]] || { log "--node runs a kubelet, containerd and kube-proxy on this machine: run it as root"; exit 1; }
  hack/install-deps.sh --node
  bindir="$(hack/build-test-binaries.sh --node | tail -n 1)"
  KUBECTL="$bindir/kubectl"
  local helm="${KUBE_API_TEST_DIR:-$HOME/.kubeapitest}/bin/helm"
  build_jar
  hack/cluster.sh up --node
  log "building the image from the Dockerfile (hack/image.sh build) and loading it into the node"
  hack/image.sh build
  hack/cluster.sh import --node target/images/conntrack-operator.tar
  k() { "$KUBECTL" --kubeconfig "$kubeconfig" "$@"; }
  k create namespace "$NAMESPACE" --dry-run=client -o yaml | k apply -f - >/dev/null
  k label namespace "$NAMESPACE" --overwrite pod-security.kubernetes.io/enforce=privileged \
    pod-security.kubernetes.io/audit=privileged pod-security.kubernetes.io/warn=privileged >/dev/null
  if ! "$helm" status conntrack-operator -n "$NAMESPACE" --kubeconfig "$kubeconfig" >/dev/null 2>&1; then
    log "helm install conntrack-operator helm/conntrack-operator (image conntrack-operator:0.1.0, never pulled)"
    "$helm" install conntrack-operator helm/conntrack-operator -n "$NAMESPACE" --kubeconfig "$kubeconfig" \
      --set image.repository=conntrack-operator --set image.tag=0.1.0 --set image.pullPolicy=Never --wait --timeout 3m >/dev/null
  fi
  log "waiting for the agent pod the operator's DaemonSet starts"
  for _ in $(seq 1 120); do
    [[ "$(k -n "$NAMESPACE" get ds conntrack-agent -o jsonpath='{.status.numberReady}' 2>/dev/null)" == 1 ]] && break
    sleep 1
  done
  if $enforce; then
    log "applying examples/policy.yaml: the agent pod changes this machine's conntrack settings"
    k apply -f examples/policy.yaml >/dev/null
  else
    log "applying examples/policy.yaml as ObserveOnly (pass --enforce to let the agent change the kernel)"
    sed 's/^  mode: Enforce .*/  mode: ObserveOnly/' examples/policy.yaml | k apply -f - >/dev/null
  fi
  # Until the agent pod has reported the policy's generation of its node's spec.
  local node
  node="$(k get nodes -o jsonpath='{.items[0].metadata.name}')"
  for _ in $(seq 1 60); do
    [[ "$(k get ctns "$node" -o jsonpath='{.spec.policies}' 2>/dev/null)" == *baseline* &&
       "$(k get ctns "$node" -o jsonpath='{.metadata.generation}')" == "$(k get ctns "$node" -o jsonpath='{.status.observedGeneration}')" &&
       -n "$(k get ctp baseline -o jsonpath='{.status.nodes.selected}' 2>/dev/null)" ]] && break
    sleep 1
  done
  echo
  k -n "$NAMESPACE" get pods -o wide
  echo
  k get conntrackpolicies
  echo
  k get conntracknodestates
  cat <<EOT

The operator and the agent run as pods of the chart on a real node (this machine's kubelet).
  export KUBECONFIG=$kubeconfig KUBECTL=$KUBECTL
  \$KUBECTL -n $NAMESPACE get pods -o wide      # the operator and one agent pod
  \$KUBECTL -n $NAMESPACE logs ds/conntrack-agent
  \$KUBECTL get ctp,ctns -o wide
  \$KUBECTL get events -n default             # ConntrackApplied, ConntrackTableFull, ...
  curl -s $NODE_IP_HINT:9402/metrics | grep ^conntrack_
Stop everything (restores the kernel's values first): hack/quickstart.sh down
EOT
}

up() {
  local enforce=false
  [[ "${1:-}" == "--enforce" ]] && enforce=true
  [[ "$(id -u)" -eq 0 ]] || log "not root: the agent can read but not change kernel settings"

  hack/install-deps.sh
  local bindir
  bindir="$(hack/build-test-binaries.sh | tail -n 1)"
  KUBECTL="$bindir/kubectl"
  hack/cluster.sh up
  build_jar

  log "installing the CRDs"
  kubectl_ apply --server-side -f crds/ >/dev/null
  kubectl_ wait --for condition=established --timeout=60s crd/conntrackpolicies.conntrack.dev crd/conntracknodestates.conntrack.dev >/dev/null
  kubectl_ create namespace "$NAMESPACE" --dry-run=client -o yaml | kubectl_ apply -f - >/dev/null

  log "registering this machine as Node $NODE"
  cat <<EOF | kubectl_ apply -f - >/dev/null
apiVersion: v1
kind: Node
metadata:
  name: $NODE
  labels:
    kubernetes.io/hostname: $NODE
    kubernetes.io/os: linux
EOF
  kubectl_ patch node "$NODE" --subresource=status --type=merge \
    -p "{\"status\":{\"capacity\":{\"cpu\":\"$(nproc)\",\"memory\":\"$(awk '/MemTotal/{print $2}' /proc/meminfo)Ki\"}}}" >/dev/null

  mkdir -p "$CLUSTER_DIR/logs" "$CLUSTER_DIR/agent-state"
  if ! pid_alive "$CLUSTER_DIR/operator.pid"; then
    log "starting the operator (logs: $CLUSTER_DIR/logs/operator.log)"
    # Health endpoints on a free port: 8080 is often taken on a workstation.
    CONNTRACK_ROLE=operator KUBECONFIG="$CLUSTER_DIR/kubeconfig" CONNTRACK_AGENT_NAMESPACE="$NAMESPACE" \
      QUARKUS_HTTP_PORT="${CONNTRACK_OPERATOR_HTTP_PORT:-0}" \
      nohup java -Xmx128m -jar "$JAR" > "$CLUSTER_DIR/logs/operator.log" 2>&1 &
    echo $! > "$CLUSTER_DIR/operator.pid"
  fi
  if ! pid_alive "$CLUSTER_DIR/agent.pid"; then
    if $enforce; then log "starting the agent for $NODE in ENFORCE mode: it will change this machine's conntrack settings";
    else log "starting the agent for $NODE, observe-only (pass --enforce to let it change the kernel)"; fi
    CONNTRACK_ROLE=agent NODE_NAME="$NODE" KUBECONFIG="$CLUSTER_DIR/kubeconfig" \
      CONNTRACK_STATE_DIR="$CLUSTER_DIR/agent-state" CONNTRACK_METRICS_PORT="$AGENT_METRICS_PORT" \
      CONNTRACK_FORCE_OBSERVE_ONLY="$([[ $enforce == true ]] && echo false || echo true)" \
      nohup java -Xmx32m -Xss256k -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -jar "$JAR" \
      > "$CLUSTER_DIR/logs/agent.log" 2>&1 &
    echo $! > "$CLUSTER_DIR/agent.pid"
  fi

  log "applying examples/policy.yaml"
  kubectl_ apply -f examples/policy.yaml >/dev/null

  for _ in $(seq 1 60); do
    ready="$(kubectl_ get conntrackpolicy baseline -o jsonpath='{.status.nodes.selected}' 2>/dev/null || true)"
    heartbeat="$(kubectl_ get conntracknodestate "$NODE" -o jsonpath='{.status.heartbeatTime}' 2>/dev/null || true)"
    [[ -n "$ready" && -n "$heartbeat" ]] && break
    pid_alive "$CLUSTER_DIR/operator.pid" || { log "the operator exited; see $CLUSTER_DIR/logs/operator.log"; tail -20 "$CLUSTER_DIR/logs/operator.log" >&2; exit 1; }
    pid_alive "$CLUSTER_DIR/agent.pid" || { log "the agent exited; see $CLUSTER_DIR/logs/agent.log"; tail -20 "$CLUSTER_DIR/logs/agent.log" >&2; exit 1; }
    sleep 1
  done

  echo
  kubectl_ get conntrackpolicies
  echo
  kubectl_ get conntracknodestates
  echo
  kubectl_ get daemonset -n "$NAMESPACE"
  cat <<EOF

The operator resolved the policy into the node state above; the agent reports this machine's table.
  export KUBECONFIG=$CLUSTER_DIR/kubeconfig KUBECTL=$KUBECTL
  \$KUBECTL get ctp,ctns -o wide            # policies and node states
  \$KUBECTL get ctns $NODE -o yaml          # live values, originals, counters, conditions
  \$KUBECTL get events -n default           # ConntrackApplied, ConntrackTableFull, ...
  curl -s localhost:$AGENT_METRICS_PORT/metrics | grep ^conntrack_
(The DaemonSet has no pods here: this cluster has no kubelet, so the agent runs as a local process.)
Stop everything: hack/quickstart.sh down
EOF
}

NODE_IP_HINT="${CONNTRACK_NODE_IP:-10.244.0.1}"
node=false enforce=false
for a in "$@"; do
  case "$a" in
    down) down; exit 0 ;;
    --node) node=true ;;
    --enforce) enforce=true ;;
    *) echo "usage: $0 [--node] [--enforce] | down" >&2; exit 2 ;;
  esac
done
if $node; then up_node "$enforce"; else up "$($enforce && echo --enforce)"; fi
