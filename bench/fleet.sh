#!/usr/bin/env bash
# Fleet scale benchmark: N simulated nodes on a real kube-apiserver, the operator as a process.
#
#   bench/fleet.sh                 N = 1000 and 5000 (FLEET_SIZES="200 1000" to choose)
#   FLEET_SIZES=5000 FLEET_PHASES=off,alone FLEET_IDLE_SECONDS=10 FLEET_NO_RESULTS=1 bench/fleet.sh
#                                  one size, only the edits named (off = batching off, alone =
#                                  agents paused, batches = 10%), results only printed and kept in
#                                  $FLEET_WORK_DIR/results.tsv, RESULTS.md untouched
#   FLEET_SIZES=5000 FLEET_PHASES=outage FLEET_IDLE_SECONDS=10 FLEET_NO_RESULTS=1 bench/fleet.sh
#                                  the API server outage (issue 15.4): every agent with its own spec
#                                  watch, the API server stopped for FLEET_OUTAGE_SECONDS (60) and
#                                  started again; agent requests/s idle (FLEET_OUTAGE_IDLE_SECONDS,
#                                  120) against the busiest 10 s of FLEET_RECOVERY_SECONDS (180) after
#                                  it, and each node's first status write and watch after it
#
# For each N: a fresh embedded cluster (hack/cluster.sh on its own ports), the built operator jar
# started like the chart does (-Xmx192m -XX:+UseSerialGC, OPERATOR_JAVA_OPTS to change), and
# dev.conntrack.fleet.FleetSimulator: N Node objects, N simulated agents in one JVM (the real
# NodeAgent code over per-node fake kernel trees, one shared client and informer), a policy edit
# with batching off and one with 10% batches. Prints one table and writes the "Fleet scale"
# section of bench/RESULTS.md. Everything it starts is stopped on exit (trap), the cluster removed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CONNTRACK_CLUSTER_DIR="${CONNTRACK_CLUSTER_DIR:-/tmp/fleet-cluster}"
export CONNTRACK_API_PORT="${CONNTRACK_API_PORT:-56443}"
export CONNTRACK_ETCD_PORT="${CONNTRACK_ETCD_PORT:-63790}"
SIZES="${FLEET_SIZES:-1000 5000}"
WORK="${FLEET_WORK_DIR:-/tmp/fleet-bench}"
OPERATOR_JAVA_OPTS="${OPERATOR_JAVA_OPTS:--Xmx192m -XX:+UseSerialGC}"
# A real agent keeps its six poll files open on its own node; N agents in one JVM would need 6 N
# descriptors, above the open file limit (20,000 here, and not raisable in a sandbox).
SIM_JAVA_OPTS="${SIM_JAVA_OPTS:--Xmx3g -XX:+UseParallelGC -Dconntrack.agent.keep-proc-files-open=false}"
IDLE_SECONDS="${FLEET_IDLE_SECONDS:-60}"
PHASES="${FLEET_PHASES:-off,alone,batches}"
RUN_TIMEOUT="${FLEET_RUN_TIMEOUT:-2400}"   # seconds per size, simulator included
RESULTS="$ROOT/bench/RESULTS.md"
TSV="$WORK/results.tsv"

OUTAGE_SECONDS="${FLEET_OUTAGE_SECONDS:-60}"
OUTAGE_IDLE_SECONDS="${FLEET_OUTAGE_IDLE_SECONDS:-120}"
RECOVERY_SECONDS="${FLEET_RECOVERY_SECONDS:-180}"

log() { echo "[fleet] $*" >&2; }

# The operator as in its pod: the chart's service account and RBAC, a service account token and the
# cluster CA (no kubeconfig, no admin certificate), so the API server authorizes and queues (API
# Priority and Fairness) its requests like a real deployment's. JVM options from JDK_JAVA_OPTIONS like
# the chart; the DaemonSet is not needed (no kubelet). Its pid goes to $WORK/operator.pid.
start_operator() {
  env -u KUBECONFIG KUBERNETES_MASTER="https://127.0.0.1:$CONNTRACK_API_PORT" KUBERNETES_AUTH_TOKEN="$OPERATOR_TOKEN" \
    KUBERNETES_CERTS_CA_FILE="$CONNTRACK_CLUSTER_DIR/pki/ca.crt" KUBERNETES_AUTH_TRYKUBECONFIG=false \
    KUBERNETES_AUTH_TRYSERVICEACCOUNT=false \
    JDK_JAVA_OPTIONS="$OPERATOR_JAVA_OPTS" CONNTRACK_ROLE=operator CONNTRACK_AGENT_MANAGE_DAEMON_SET=false \
    QUARKUS_HTTP_PORT=0 java -jar target/quarkus-app/quarkus-run.jar >> "$WORK/operator-$N.log" 2>&1 &
  echo $! > "$WORK/operator.pid"
}

# What the kubelet does for the operator's pod: an operator that exits is started again, after 10 s
# doubling to 5 minutes (reset once it ran 10 minutes). The operator stops at once when it loses its
# leader election Lease, which an API server outage longer than the renew deadline (10 s) causes.
keep_operator() {
  local delay=10 started=$SECONDS pid sleeper=""
  trap '[[ -n "$sleeper" ]] && kill "$sleeper" 2>/dev/null; exit 0' TERM
  pause() { sleep "$1" & sleeper=$!; wait "$sleeper"; sleeper=""; }
  while pause 1; do
    pid="$(cat "$WORK/operator.pid")"
    kill -0 "$pid" 2>/dev/null && continue
    (( SECONDS - started >= 600 )) && delay=10
    log "operator $pid exited; starting it again in $delay s (as the kubelet restarts a pod)"
    pause "$delay"
    delay=$(( delay * 2 > 300 ? 300 : delay * 2 ))
    start_operator
    started=$SECONDS
  done
}

OPERATOR_PID=""
KEEPER_PID=""
SIM_PID=""
stop_operator() {
  if [[ -n "$KEEPER_PID" ]]; then
    kill "$KEEPER_PID" 2>/dev/null || true
    wait "$KEEPER_PID" 2>/dev/null || true
    KEEPER_PID=""
  fi
  # The keeper may have started it again: the pid file names the running one.
  [[ -f "$WORK/operator.pid" ]] && OPERATOR_PID="$(cat "$WORK/operator.pid")"
  if [[ -n "$OPERATOR_PID" ]]; then
    kill "$OPERATOR_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$OPERATOR_PID" 2>/dev/null || break; sleep 0.1; done
    OPERATOR_PID=""
  fi
  rm -f "$WORK/operator.pid"
}
cleanup() {
  local rc=$?
  [[ -n "$SIM_PID" ]] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null || true
  stop_operator
  "$ROOT/hack/cluster.sh" down >/dev/null 2>&1 || true
  rm -rf "$WORK/hosts"
  exit $rc
}
trap cleanup EXIT INT TERM

mkdir -p "$WORK"
rm -f "$TSV"
log "building the jar and the test classes"
./mvnw -B -q package -DskipTests
./mvnw -B -q dependency:build-classpath -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=test >/dev/null
CLASSPATH_SIM="target/test-classes:target/classes:$(cat target/classpath.txt)"
KUBECTL="$("$ROOT/hack/build-test-binaries.sh" | tail -n 1)/kubectl"
HELM="${KUBE_API_TEST_DIR:-$HOME/.kubeapitest}/bin/helm"
# shellcheck source=hack/versions.env
source "$ROOT/hack/versions.env"
export KUBECONFIG="$CONNTRACK_CLUSTER_DIR/kubeconfig"

for N in $SIZES; do
  log "=== $N nodes ==="
  "$ROOT/hack/cluster.sh" down >/dev/null 2>&1 || true
  "$ROOT/hack/cluster.sh" up
  "$KUBECTL" apply --server-side -f crds/ >/dev/null
  "$KUBECTL" wait --for condition=Established crd --all --timeout=60s >/dev/null

  "$KUBECTL" create namespace conntrack-system >/dev/null
  "$HELM" template conntrack-operator helm/conntrack-operator --namespace conntrack-system --skip-crds \
    --kube-version "$KUBERNETES_VERSION" \
    --show-only templates/operator-rbac.yaml --show-only templates/agent-rbac.yaml | "$KUBECTL" apply -f - >/dev/null
  OPERATOR_TOKEN="$("$KUBECTL" create token conntrack-operator -n conntrack-system --duration=24h)"
  : > "$WORK/operator-$N.log"
  start_operator
  OPERATOR_PID="$(cat "$WORK/operator.pid")"
  keep_operator &
  KEEPER_PID=$!
  for _ in $(seq 1 120); do
    grep -q "'conntrackpolicy' controller started" "$WORK/operator-$N.log" && break
    kill -0 "$OPERATOR_PID" 2>/dev/null || { tail -30 "$WORK/operator-$N.log" >&2; exit 1; }
    sleep 0.5
  done

  # Agents poll at the spec's interval but at most every MIN_POLL seconds (the simulator's CPU).
  MIN_POLL=$(( N >= 5000 ? 10 : 5 ))
  rm -rf "$WORK/hosts"
  # The simulator stands in for N other machines: at the lowest CPU priority it takes only what the
  # API server, etcd and the operator (the control plane being measured) leave. What its agents
  # send still costs the API server in full.
  # shellcheck disable=SC2086
  timeout "$RUN_TIMEOUT" nice -n "${SIM_NICE:-19}" java $SIM_JAVA_OPTS -cp "$CLASSPATH_SIM" dev.conntrack.fleet.FleetSimulator \
    --nodes="$N" --apiserver-pid="$(cat "$CONNTRACK_CLUSTER_DIR/apiserver.pid")" \
    --etcd-pid="$(cat "$CONNTRACK_CLUSTER_DIR/etcd.pid")" --dir="$WORK/hosts" --min-poll-seconds="$MIN_POLL" \
    --idle-seconds="$IDLE_SECONDS" --phases="$PHASES" --threads=8 --out="$TSV" \
    --apiserver-pid-file="$CONNTRACK_CLUSTER_DIR/apiserver.pid" --operator-pid-file="$WORK/operator.pid" \
    --outage-seconds="$OUTAGE_SECONDS" --outage-idle-seconds="$OUTAGE_IDLE_SECONDS" --recovery-seconds="$RECOVERY_SECONDS" \
    2> "$WORK/simulator-$N.log" &
  SIM_PID=$!
  if ! wait "$SIM_PID"; then
    SIM_PID=""
    log "simulator for $N nodes failed; last lines:"; tail -20 "$WORK/simulator-$N.log" >&2
    echo -e "nodes=$N\tphase=failed\tsee=$WORK/simulator-$N.log" >> "$TSV"
  fi
  SIM_PID=""
  grep -E "OutOfMemory|Exception in thread" "$WORK/operator-$N.log" | head -3 >&2 || true
  stop_operator
  rm -rf "$WORK/hosts"
done

if [[ -n "${FLEET_NO_RESULTS:-}" ]]; then
  cat "$TSV"
  exit 0
fi
cp "$TSV" "$ROOT/bench/fleet-results.tsv"
python3 "$ROOT/bench/fleet_table.py" "$TSV" "$RESULTS" "$OPERATOR_JAVA_OPTS" "$IDLE_SECONDS"
