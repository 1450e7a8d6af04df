#!/usr/bin/env bash
# Uninstalls conntrack-operator without leaving nodes tuned:
#   1. deletes every ConntrackPolicy (the operator takes their settings out of the node specs and
#      then lets them go),
#   2. waits until no policy is left and every ConntrackNodeState has an empty status.originals
#      (each agent has written the kernel's original values back),
#   3. only then runs helm uninstall, and deletes the agent DaemonSet the operator had created
#      (it is not part of the Helm release).
# Operator and agents must still be running for steps 1 and 2: that is why this cannot be a Helm
# pre-delete hook. If some node does not restore in time, nothing is uninstalled and the script
# names the nodes.
#
# usage: hack/uninstall.sh [-n NAMESPACE] [-r RELEASE] [-t TIMEOUT_SECONDS]
#   defaults: -n conntrack-system -r conntrack-operator -t 300
# environment: KUBECTL (default kubectl), HELM (default helm), KUBECONFIG as usual.
set -euo pipefail

NAMESPACE=conntrack-system
RELEASE=conntrack-operator
TIMEOUT=300
KUBECTL="${KUBECTL:-kubectl}"
HELM="${HELM:-helm}"
POLL_SECONDS="${CONNTRACK_UNINSTALL_POLL_SECONDS:-2}"

usage() {
  sed -n 's/^# \{0,1\}//; /^usage:/,/^environment:/p' "$0" >&2
  exit 2
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    -n|--namespace) NAMESPACE="${2:?-n needs a namespace}"; shift 2 ;;
    -r|--release) RELEASE="${2:?-r needs a release name}"; shift 2 ;;
    -t|--timeout) TIMEOUT="${2:?-t needs seconds}"; shift 2 ;;
    -h|--help) usage ;;
    *) echo "uninstall: unknown argument: $1" >&2; usage ;;
  esac
done
[[ "$TIMEOUT" =~ ^[0-9]+$ ]] || { echo "uninstall: timeout must be whole seconds, got '$TIMEOUT'" >&2; exit 2; }

log() { echo "[uninstall] $*" >&2; }

# Node states whose agent still holds originals, as "node: key=value, ..." lines.
unrestored() {
  "$KUBECTL" get conntracknodestates.conntrack.dev \
    -o go-template='{{range .items}}{{if .status}}{{if .status.originals}}{{.metadata.name}}:{{range $k, $v := .status.originals}} {{$k}}={{$v}}{{end}}{{"\n"}}{{end}}{{end}}{{end}}'
}

remaining_policies() {
  "$KUBECTL" get conntrackpolicies.conntrack.dev -o go-template='{{range .items}}{{.metadata.name}} {{end}}'
}

if ! "$KUBECTL" get crd conntrackpolicies.conntrack.dev >/dev/null 2>&1; then
  log "no ConntrackPolicy CRD: nothing can be tuned by conntrack-operator here"
else
  log "deleting every ConntrackPolicy"
  "$KUBECTL" delete conntrackpolicies.conntrack.dev --all --wait=false >&2
  log "waiting up to ${TIMEOUT}s for the agents to restore the original kernel values"
  deadline=$((SECONDS + TIMEOUT))
  waited=""
  while :; do
    policies="$(remaining_policies)"
    nodes="$(unrestored)"
    if [[ -z "$policies" && -z "$nodes" ]]; then
      log "every node is back to its original conntrack settings"
      break
    fi
    # What is still awaited, said again each time it changes: progress, node by node.
    waiting="${policies:+policies: ${policies% }${nodes:+; }}${nodes:+nodes: $(cut -d: -f1 <<< "$nodes" | paste -sd' ')}"
    if [[ "$waiting" != "$waited" ]]; then
      log "waiting for $waiting"
      waited="$waiting"
    fi
    if (( SECONDS >= deadline )); then
      log "timed out after ${TIMEOUT}s; NOT uninstalling, so that the operator and agents can finish."
      if [[ -n "$policies" ]]; then
        log "policies still present (the operator removes them once no node spec lists them): $policies"
      fi
      if [[ -n "$nodes" ]]; then
        log "nodes that have not restored their original values (node: setting=original):"
        while IFS= read -r line; do echo "  $line" >&2; done <<< "$nodes"
      fi
      log "check that the operator and the agent on those nodes run (kubectl -n $NAMESPACE get pods -o wide),"
      log "that the agents are not observe-only (CONNTRACK_FORCE_OBSERVE_ONLY), then run this again;"
      log "or restore those values by hand and run: $HELM uninstall $RELEASE -n $NAMESPACE"
      exit 1
    fi
    sleep "$POLL_SECONDS"
  done
fi

log "helm uninstall $RELEASE -n $NAMESPACE"
# --wait: the operator must be gone before its agent DaemonSet is deleted, or it would put it back.
"$HELM" uninstall "$RELEASE" --namespace "$NAMESPACE" --wait --timeout 5m >&2
# The operator created the agent DaemonSet itself, so it is not part of the Helm release.
log "deleting the agent DaemonSet the operator created"
"$KUBECTL" delete daemonset conntrack-agent --namespace "$NAMESPACE" --ignore-not-found >&2
log "done. The CRDs (and with them the ConntrackNodeStates) stay; remove them with:"
log "  $KUBECTL delete crd conntrackpolicies.conntrack.dev conntracknodestates.conntrack.dev"
