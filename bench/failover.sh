#!/usr/bin/env bash
# Operator failover: two operator processes (the built jar, as in their pods: the chart's service
# account, RBAC and a token) behind leader election on a real kube-apiserver, NODES Node objects
# (default 50; no agents: only the operator's own work is timed), TRIALS trials (default 3) each of:
#
#   kill -9 of the leader, then a policy created at once: time until the other one holds the Lease,
#   and until every node's spec carries the policy (the new leader reconciling);
#   SIGTERM of the leader, the same: the Lease is handed over on the way out, not left to expire.
#
# The killed or stopped operator is started again (it follows) before the next trial. Default
# leader election timings (lease 15 s, renew deadline 10 s, retry 2 s), as the chart runs them.
# Prints a table and writes the "Operator failover" section of bench/RESULTS.md (FAILOVER_NO_RESULTS=1
# to leave it). Everything it starts is stopped on exit, its cluster removed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CONNTRACK_CLUSTER_DIR="${CONNTRACK_CLUSTER_DIR:-/tmp/failover-cluster}"
export CONNTRACK_API_PORT="${CONNTRACK_API_PORT:-46443}"
export CONNTRACK_ETCD_PORT="${CONNTRACK_ETCD_PORT:-53790}"
NODES="${NODES:-50}"
TRIALS="${TRIALS:-3}"
WORK="${FAILOVER_WORK_DIR:-/tmp/failover-bench}"
OPERATOR_JAVA_OPTS="${OPERATOR_JAVA_OPTS:--Xmx192m -XX:+UseSerialGC}"
NS=conntrack-system

log() { echo "[failover] $*" >&2; }

declare -A PIDS=()
cleanup() {
  local rc=$?
  for name in "${!PIDS[@]}"; do
    kill "${PIDS[$name]}" 2>/dev/null || true
    wait "${PIDS[$name]}" 2>/dev/null || true
  done
  "$ROOT/hack/cluster.sh" down >/dev/null 2>&1 || true
  exit $rc
}
trap cleanup EXIT INT TERM

mkdir -p "$WORK"
log "building the jar"
./mvnw -B -q package -DskipTests
KUBECTL="$("$ROOT/hack/build-test-binaries.sh" | tail -n 1)/kubectl"
HELM="${KUBE_API_TEST_DIR:-$HOME/.kubeapitest}/bin/helm"
export KUBECONFIG="$CONNTRACK_CLUSTER_DIR/kubeconfig"
k() { "$KUBECTL" "$@"; }

"$ROOT/hack/cluster.sh" down >/dev/null 2>&1 || true
"$ROOT/hack/cluster.sh" up
k apply --server-side -f crds/ >/dev/null
k wait --for condition=Established crd --all --timeout=60s >/dev/null
k create namespace "$NS" >/dev/null
"$HELM" template conntrack-operator helm/conntrack-operator --namespace "$NS" --skip-crds \
  --show-only templates/operator-rbac.yaml | k apply -f - >/dev/null
TOKEN="$(k create token conntrack-operator -n "$NS" --duration=24h)"
for i in $(seq 1 "$NODES"); do
  printf 'apiVersion: v1\nkind: Node\nmetadata: {name: failover-%03d, labels: {bench: failover}}\n---\n' "$i"
done | k apply -f - >/dev/null

start_operator() { # NAME
  env -u KUBECONFIG KUBERNETES_MASTER="https://127.0.0.1:$CONNTRACK_API_PORT" KUBERNETES_AUTH_TOKEN="$TOKEN" \
    KUBERNETES_CERTS_CA_FILE="$CONNTRACK_CLUSTER_DIR/pki/ca.crt" KUBERNETES_AUTH_TRYKUBECONFIG=false \
    KUBERNETES_AUTH_TRYSERVICEACCOUNT=false HOSTNAME="$1" \
    JDK_JAVA_OPTIONS="$OPERATOR_JAVA_OPTS" CONNTRACK_ROLE=operator CONNTRACK_AGENT_MANAGE_DAEMON_SET=false \
    QUARKUS_HTTP_PORT=0 java -jar target/quarkus-app/quarkus-run.jar >> "$WORK/operator-$1.log" 2>&1 &
  PIDS[$1]=$!
}
holder() { k get lease conntrack-operator -n "$NS" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null || true; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
# Seconds until every node's spec carries generation 1 of POLICY (bounded: 120 s).
carried_by_all() { # POLICY
  k get ctns -o jsonpath="{range .items[*]}{.spec.policyGenerations.$1}{\"\\n\"}{end}" 2>/dev/null | grep -c '^1$' || true
}

rm -f "$WORK"/operator-*.log
start_operator op-a
sleep 2
start_operator op-b
for _ in $(seq 1 120); do [[ "$(holder)" == op-* ]] && break; sleep 0.5; done
[[ "$(holder)" == op-* ]] || { log "no operator took the Lease"; tail -20 "$WORK"/operator-op-a.log >&2; exit 1; }

ROWS=()
for trial in $(seq 1 "$TRIALS"); do
  for signal in KILL TERM; do
    leader="$(holder)"; leader="${leader%-*}"
    follower=$([[ "$leader" == op-a ]] && echo op-b || echo op-a)
    policy="failover-$trial-$(tr A-Z a-z <<< "$signal")"
    log "trial $trial: SIG$signal to $leader"
    t0=$(now)
    kill -s "$signal" "${PIDS[$leader]}"
    k apply -f - >/dev/null <<EOF
apiVersion: conntrack.dev/v1alpha1
kind: ConntrackPolicy
metadata: {name: $policy}
spec:
  nodeSelector: {matchLabels: {bench: failover}}
  conntrack: {tcpTimeWait: 45s}
  rollout: {maxUnavailable: "100%"}
EOF
    lease="" specs=""
    for _ in $(seq 1 1200); do
      h="$(holder)"
      [[ -z "$lease" && "$h" == "$follower"-* ]] && lease=$(elapsed "$t0" "$(now)")
      if [[ -n "$lease" && "$(carried_by_all "$policy")" -ge "$NODES" ]]; then specs=$(elapsed "$t0" "$(now)"); break; fi
      sleep 0.1
    done
    wait "${PIDS[$leader]}" 2>/dev/null || true
    log "trial $trial SIG$signal: Lease after ${lease:-?} s, every spec after ${specs:-?} s"
    ROWS+=("| $trial | SIG$signal | ${lease:-timeout} | ${specs:-timeout} |")
    start_operator "$leader"
    sleep 5
  done
done

TABLE="| Trial | Leader got | Other holds the Lease after (s) | Every node spec carries a policy created at the kill after (s) |
|---|---|---|---|
$(printf '%s\n' "${ROWS[@]}")"
echo "$TABLE"
[[ -n "${FAILOVER_NO_RESULTS:-}" ]] && exit 0
SECTION=$(cat <<EOT
## Operator failover

\`bench/failover.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores, kernel $(uname -r) (shared machine): two operator
processes from the built jar (the chart's RBAC and a service account token, \`$OPERATOR_JAVA_OPTS\`), leader
election with the defaults (lease 15 s, renew deadline 10 s, retry 2 s), $NODES Node objects, no agents. Each trial
signals the leader and creates a policy (batching off) right after: the time until the other replica holds the
Lease, and until every node's spec carries the policy. SIGKILL leaves the Lease to expire (a crash, a lost node);
SIGTERM (a rolling update, a drain) hands it over on the way out. The signalled one is started again as a
follower before the next trial. The real-node measurement (leader pod deleted) is separate.

$TABLE
EOT
)
. "$ROOT/bench/results-section.sh"
write_section "Operator failover" "$SECTION"
log "wrote bench/RESULTS.md"
